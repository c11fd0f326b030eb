"""Test configuration shared by every test: off-screen Qt, and no thread or timer left running."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _no_dangling_qthreads(request):
    """Fail a test that leaves a QThread running (as napari's ``_dangling_qthreads``)."""
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        yield
        return
    from PySide6.QtCore import QThread
    from PySide6.QtWidgets import QApplication

    yield
    app = QApplication.instance()
    if app is None:
        return
    running = [t for t in app.findChildren(QThread) if t.isRunning()]
    import gc
    running += [o for o in gc.get_objects() if isinstance(o, QThread) and _alive(o) and o.isRunning()
                and o is not QThread.currentThread() and o not in running]
    if running:
        pytest.fail(f"the test left {len(running)} QThread(s) running: {running}")


@pytest.fixture(autouse=True)
def _no_dangling_qtimers(request):
    """Fail a test that leaves an active QTimer behind (a live plot or probe still ticking)."""
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        yield
        return
    from PySide6.QtCore import QTimer

    yield
    import gc
    active = [o for o in gc.get_objects() if isinstance(o, QTimer) and _alive(o) and o.isActive()]
    if active:
        for timer in active:
            timer.stop()
        pytest.fail(f"the test left {len(active)} QTimer(s) running: {[t.objectName() or t for t in active]}")


def _alive(obj) -> bool:
    try:
        import shiboken6
        return shiboken6.isValid(obj)
    except Exception:
        return False
