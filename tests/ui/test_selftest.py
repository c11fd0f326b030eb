"""`nn-designer --self-test` passes from source, leaves the user's settings alone, and fails loudly when stuck."""
import os
import subprocess
import sys

import designer


def _env(tmp_path, **extra):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("QT_", "XDG_", "PYTEST"))}
    # The user's settings folder, to prove the self-test writes nothing there.
    env.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "config"), **extra)
    return env


def test_self_test_opens_the_window_trains_one_epoch_and_passes(tmp_path):
    result = subprocess.run([sys.executable, "-m", "designer.cli", "--self-test"], capture_output=True, text=True,
                            timeout=240, env=_env(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"NN Designer {designer.__version__} self-test (source, Qt platform offscreen)")
    assert not [line for line in lines if "FAIL" in line]
    report = "\n".join(lines)
    for shown in ("window painted", "trained 1 epoch on the worker thread", "loss plot shows",
                  "saved the trained project and read it back", "torch", "read weather.csv and its Parquet copy",
                  "no thread left running"):
        assert shown in report
    assert lines[-1].startswith("self-test passed")
    assert "Traceback" not in result.stderr
    # Recent files and window layout of the self-test's window went to a temporary folder.
    assert not (tmp_path / "config").exists() and not (tmp_path / "home" / ".config").exists()


def test_a_stuck_self_test_ends_with_a_message_and_a_failure_status(tmp_path):
    # Far too little time for anything: the watchdog must end the process and say where it was stuck.
    code = "import sys; from designer.selftest import run_self_test; sys.exit(run_self_test(timeout=0.01))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env=_env(tmp_path))

    assert result.returncode == 1
    assert "FAIL  no result after" in result.stdout
    assert "stuck at:" in result.stdout
    assert "self-test FAILED" in result.stdout
