"""Packaging checks that need no bundle build: the spec, the entry script, icons, desktop entry, MIME type,
the Linux installer and the Windows installer script.

The build itself takes minutes and is checked by `packaging/build.sh` followed by the bundle's own
`--self-test` (see packaging/README.md), not here.
"""
import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

import designer
from designer.project import MIMETYPE, Project, write_project

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "nn-designer.spec"
ENTRY = PACKAGING / "nn_designer_main.py"
ICONS = ROOT / "resources" / "icons" / "app"
DESKTOP = PACKAGING / "linux" / "nn-designer.desktop"
MIME_XML = PACKAGING / "linux" / "nn-designer-mime.xml"
INSTALL = PACKAGING / "linux" / "install.sh"
ISS = PACKAGING / "windows" / "nn-designer.iss"
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def clean_env(**extra: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("XDG_", "PYTEST"))}
    env.update(QT_QPA_PLATFORM="offscreen", **extra)
    return env


# --- the PyInstaller spec and its entry script ---------------------------------------------------------

def test_spec_is_python():
    compile(SPEC.read_text(), str(SPEC), "exec")


class _Recorded:
    """Records how the spec calls one of PyInstaller's build steps (which would take minutes to run)."""

    calls: dict = {}

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.datas, self.binaries, self.pure, self.scripts = [], [], [], []
        _Recorded.calls[type(self).__name__] = self


def test_spec_builds_the_nn_designer_executable_from_the_cli_entry_with_the_resources(tmp_path):
    pytest.importorskip("PyInstaller", reason="the spec imports PyInstaller's helpers (pip install '.[package]')")
    steps = {name: type(name, (_Recorded,), {}) for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}
    _Recorded.calls = {}
    exec(compile(SPEC.read_text(), str(SPEC), "exec"), {"SPECPATH": str(PACKAGING), "workpath": str(tmp_path), **steps})
    analysis, exe, collect = (_Recorded.calls[name] for name in ("Analysis", "EXE", "COLLECT"))

    assert [Path(script) for script in analysis.args[0]] == [ENTRY]
    bundled = {target: Path(source) for source, target in analysis.kwargs["datas"]}
    assert bundled["resources/icons"] == ROOT / "resources" / "icons"
    examples = ROOT / "resources" / "examples"
    if any(examples.iterdir()):
        assert bundled["resources/examples"] == examples
    assert "designer.cli" in analysis.kwargs["hiddenimports"]
    assert exe.kwargs["name"] == collect.kwargs["name"] == "nn-designer"
    assert exe.kwargs["upx"] is False and collect.kwargs["upx"] is False
    icon = exe.kwargs["icon"]  # Windows and macOS only: PyInstaller ignores it elsewhere
    assert icon is None if sys.platform.startswith("linux") else Path(icon).is_file()


def test_spec_excludes_no_module_that_the_app_loads(tmp_path):
    # Leaving out a module the app imports breaks only the bundle, minutes of build later: check it here by
    # running the self-test from source (the whole app: window, engine warm-up, one epoch, save, About) and,
    # where the onnx extra is installed, an ONNX export (onnx, onnxscript and what they load).
    pytest.importorskip("PyInstaller", reason="the spec imports PyInstaller's helpers (pip install '.[package]')")
    steps = {name: type(name, (_Recorded,), {}) for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}
    exec(compile(SPEC.read_text(), str(SPEC), "exec"), {"SPECPATH": str(PACKAGING), "workpath": str(tmp_path), **steps})
    excluded = _Recorded.calls["Analysis"].kwargs["excludes"]
    shutil.copy(ROOT / "resources" / "examples" / "xor.nnd", tmp_path / "xor.nnd")
    code = ("import importlib.util, json, sys\n"
            "from designer.selftest import run_self_test\n"
            "status = run_self_test()\n"
            "if not status and all(importlib.util.find_spec(name) for name in ('onnx', 'onnxscript')):\n"
            "    from designer.cli import main\n"
            "    status = main(['export', 'xor.nnd', '--to', 'onnx', '-o', 'xor.onnx'])\n"
            "print(json.dumps(sorted(sys.modules)))\n"
            "sys.exit(status)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240,
                            env=clean_env(XDG_CONFIG_HOME=str(tmp_path / "config")), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    loaded = json.loads(result.stdout.splitlines()[-1])
    wrongly_excluded = [name for name in loaded for ex in excluded if name == ex or name.startswith(ex + ".")]
    assert not wrongly_excluded


def test_entry_script_runs_the_nn_designer_command():
    result = subprocess.run([sys.executable, str(ENTRY), "--version"], capture_output=True, text=True,
                            timeout=120, env=clean_env(), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert designer.__version__ in result.stdout


@pytest.mark.parametrize("script", [PACKAGING / "build.sh", INSTALL])
def test_shell_scripts_parse(script):
    assert os.access(script, os.X_OK), f"{script} is not executable"
    subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)


# --- icons ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", ICON_SIZES)
def test_png_icons_are_drawn_at_their_size(size):
    with Image.open(ICONS / f"nn-designer-{size}.png") as image:
        assert image.size == (size, size)
        assert image.mode == "RGBA"
        # Transparent corners (the rounded tile), opaque middle: an icon, not a blank square.
        assert image.getpixel((0, 0))[3] == 0
        assert image.getpixel((size // 2, size // 2))[3] == 255


def test_windows_and_macos_icons_hold_several_sizes():
    with Image.open(ICONS / "nn-designer.ico") as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    with Image.open(ICONS / "nn-designer.icns") as icns:
        assert icns.size == (1024, 1024)  # drawn at 1024, not scaled up from 512


# --- Linux desktop integration ------------------------------------------------------------------------

def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_opens_nnd_files_with_the_app():
    entry = _desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "NN Designer"
    assert entry["Exec"].split() == ["nn-designer", "%f"]
    assert entry["Icon"] == "nn-designer"
    assert entry["Terminal"] == "false"
    assert MIMETYPE.decode() in entry["MimeType"].split(";")
    assert entry["Categories"].endswith(";")


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None,
                    reason="desktop-file-validate is not installed (Debian: desktop-file-utils)")
def test_desktop_entry_passes_desktop_file_validate():
    result = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower() and "warning" not in result.stdout.lower(), result.stdout


def _magic_chain() -> list[tuple[int, bytes]]:
    """The nested <match> elements of the MIME type's magic, outermost first, as (offset, bytes)."""
    mime_type = ET.parse(MIME_XML).getroot().find(f"{MIME_NS}mime-type")
    chain, node = [], mime_type.find(f"{MIME_NS}magic")
    while (node := node.find(f"{MIME_NS}match")) is not None:
        assert node.get("type") == "string"
        value = re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1), 8)), node.get("value"))
        chain.append((int(node.get("offset")), value.encode("latin-1")))
    return chain


def test_mime_type_names_the_nnd_glob_and_the_spec_mime_type():
    mime_type = ET.parse(MIME_XML).getroot().find(f"{MIME_NS}mime-type")
    assert mime_type.get("type") == MIMETYPE.decode()
    assert [glob.get("pattern") for glob in mime_type.findall(f"{MIME_NS}glob")] == ["*.nnd"]
    assert mime_type.find(f"{MIME_NS}sub-class-of").get("type") == "application/zip"


def test_mime_magic_matches_a_project_file_written_by_designer(tmp_path):
    path = tmp_path / "xor.nnd"
    write_project(Project.new("XOR"), path)
    head = path.read_bytes()[:128]

    chain = _magic_chain()
    assert chain[-1] == (38, MIMETYPE), "the innermost match is the mimetype entry's content"
    for offset, value in chain:
        assert head[offset:offset + len(value)] == value, f"no {value!r} at byte {offset} of a real .nnd"


_DETECT = """
import sys
from PySide6.QtCore import QCoreApplication, QMimeDatabase
app = QCoreApplication([])
print(QMimeDatabase().mimeTypeForFile(sys.argv[1], QMimeDatabase.MatchMode.MatchContent).name())
"""


def _detected_type(path: Path, data_home: Path) -> str:
    result = subprocess.run([sys.executable, "-c", _DETECT, str(path)], capture_output=True, text=True,
                            timeout=60, env=clean_env(XDG_DATA_HOME=str(data_home)))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_desktop_recognises_a_renamed_project_by_its_content_once_the_mime_type_is_installed(tmp_path):
    project = tmp_path / "saved-without-extension"
    write_project(Project.new("XOR"), project)
    without, with_type = tmp_path / "plain", tmp_path / "installed"
    (with_type / "mime" / "packages").mkdir(parents=True)
    without.mkdir()
    shutil.copy(MIME_XML, with_type / "mime" / "packages")

    assert _detected_type(project, without) == "application/zip"
    assert _detected_type(project, with_type) == MIMETYPE.decode()


def test_install_sh_puts_bundle_menu_entry_icons_and_mime_type_under_the_prefix(tmp_path):
    # A bundle-shaped folder: what install.sh copies is the folder as built, whatever it holds.
    bundle = tmp_path / "bundle"
    shutil.copytree(ICONS, bundle / "_internal" / "resources" / "icons" / "app")
    executable = bundle / "nn-designer"
    executable.write_text(f"#!/bin/sh\necho 'nn-designer {designer.__version__}'\n")
    executable.chmod(0o755)
    prefix, home = tmp_path / "prefix", tmp_path / "home"
    home.mkdir()
    env = clean_env(HOME=str(home))

    result = subprocess.run(["bash", str(INSTALL), "--prefix", str(prefix), str(bundle)], capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout + result.stderr

    installed = prefix / "lib" / "nn-designer" / "nn-designer"
    assert installed.is_file() and os.access(installed, os.X_OK)
    assert (prefix / "bin" / "nn-designer").resolve() == installed.resolve()
    desktop = (prefix / "share" / "applications" / "nn-designer.desktop").read_text()
    assert f"Exec={installed} %f" in desktop
    for size in ICON_SIZES:
        assert (prefix / f"share/icons/hicolor/{size}x{size}/apps/nn-designer.png").is_file()
        assert (prefix / f"share/icons/hicolor/{size}x{size}/mimetypes/application-vnd.nn-designer+zip.png").is_file()
    assert (prefix / "share/icons/hicolor/scalable/apps/nn-designer.svg").is_file()
    assert (prefix / "share/mime/packages/nn-designer-mime.xml").read_bytes() == MIME_XML.read_bytes()
    if shutil.which("update-mime-database"):
        assert MIMETYPE.decode() in (prefix / "share/mime/types").read_text()
    assert not (home / ".local").exists(), "an install under a prefix must not touch the user's home"

    result = subprocess.run(["bash", str(INSTALL), "--prefix", str(prefix), "--uninstall"], capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (prefix / "lib" / "nn-designer").exists()
    assert not (prefix / "bin" / "nn-designer").exists()
    assert not (prefix / "share/applications/nn-designer.desktop").exists()
    assert not list((prefix / "share/icons").rglob("*.png"))


def test_install_sh_refuses_a_folder_without_the_executable(tmp_path):
    result = subprocess.run(["bash", str(INSTALL), "--prefix", str(tmp_path / "p"), str(tmp_path)],
                            capture_output=True, text=True, timeout=60, env=clean_env(HOME=str(tmp_path)))
    assert result.returncode == 2
    assert "no bundle at" in result.stderr


# --- Windows installer script -------------------------------------------------------------------------

def test_inno_setup_script_installs_the_bundle_and_associates_nnd_files():
    text = ISS.read_text()
    defines = dict(re.findall(r'^#define (\w+) "([^"]*)"', text, flags=re.MULTILINE))
    assert defines["AppExe"] == "nn-designer.exe"
    root = (ISS.parent / defines["Root"].replace("\\", "/")).resolve()
    assert root == ROOT
    icon = re.search(r"^SetupIconFile=\{#Root\}\\(.+)$", text, flags=re.MULTILINE).group(1)
    assert (ROOT / icon.replace("\\", "/")).is_file()
    assert 'Source: "{#Root}\\dist\\nn-designer\\*"' in text
    assert 'Subkey: "Software\\Classes\\.nnd"' in text
    assert '""{app}\\{#AppExe}"" ""%1""' in text
    assert "ChangesAssociations=yes" in text
