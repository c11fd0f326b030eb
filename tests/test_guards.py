"""The shared guards in tests/conftest.py really fail a test that leaves a QThread or QTimer running."""
from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py").read_text()


def _run(pytester, body: str):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_leaky=body)
    return pytester.runpytest_subprocess("-q")


def test_a_test_that_leaves_a_qtimer_running_fails(pytester):
    result = _run(pytester, """
from PySide6.QtCore import QTimer

def test_leaves_a_timer(qtbot):
    global timer
    timer = QTimer()
    timer.setObjectName("forgotten_timer")
    timer.start(1000)

def test_stops_its_timer(qtbot):
    timer = QTimer()
    timer.start(1000)
    timer.stop()
""")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*the test left QTimer(s) running*", "*forgotten_timer*"])


def test_a_test_that_leaves_a_qthread_running_fails(pytester):
    result = _run(pytester, """
from PySide6.QtCore import QThread

threads = []

def test_leaves_a_thread(qtbot):
    thread = QThread()
    threads.append(thread)
    thread.start()

def test_joins_its_thread(qtbot):
    thread = QThread()
    thread.start()
    thread.quit()
    thread.wait()

def test_last(qtbot):
    for thread in threads:
        thread.quit()
        thread.wait()
""")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*left QThread(s) running*"])
