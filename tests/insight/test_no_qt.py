"""designer.insight is engine: it runs on the training worker and on a server, without Qt."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_insight_imports_no_qt():
    code = ("import sys, designer.insight;"
            "bad = [m for m in ('PySide6', 'pyqtgraph', 'designer.ui') if m in sys.modules];"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
