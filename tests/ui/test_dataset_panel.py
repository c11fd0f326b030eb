"""The "Data and training" dock at the screenshot's size: every setting in sight without scrolling."""
from pathlib import Path

from PySide6.QtCore import QRect, Qt
from PySide6.QtTest import QTest

from designer.project import read_project
from designer.ui.main_window import MainWindow

SPIRAL = Path(__file__).resolve().parents[2] / "resources" / "examples" / "spiral.nnd"


def in_sight(page, widget) -> bool:
    """Whether the widget is shown whole inside its tab page's visible part, as the page is scrolled now."""
    top_left = widget.mapTo(page.viewport(), widget.rect().topLeft())
    return widget.isVisible() and page.viewport().rect().contains(QRect(top_left, widget.size()))


def test_data_and_training_settings_are_each_one_click_away_at_1600_by_1000(qtbot):
    window = MainWindow(read_project(SPIRAL))
    qtbot.addWidget(window, before_close_func=lambda w: w.undo_stack.setClean())
    window.resize(1600, 1000)
    window.show()
    qtbot.waitExposed(window)
    panel = window.dataset_panel
    tabs = panel.tabBar()
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Data", "Training"]
    data, training = panel.data_page, panel.training_page
    assert panel.currentWidget() is data
    settings = (panel.source, panel.dataset_name, panel.samples, panel.noise, panel.validation_split,
                panel.data_seed)
    qtbot.waitUntil(lambda: in_sight(data, panel.source), timeout=2000)  # the docks' layout has settled
    for widget in settings:
        assert in_sight(data, widget), widget.objectName()
    assert data.verticalScrollBar().value() == 0
    QTest.mouseClick(tabs, Qt.MouseButton.LeftButton, pos=tabs.tabRect(1).center())
    assert panel.currentWidget() is training
    for widget in (panel.loss, panel.optimizer, panel.learning_rate, panel.momentum, panel.batch_size,
                   panel.epochs, panel.l1, panel.l2, panel.training_seed, panel.device):
        assert in_sight(training, widget), widget.objectName()
    assert training.verticalScrollBar().value() == 0
    panel.learning_rate.setFocus()
    panel.learning_rate.selectAll()
    qtbot.keyClicks(panel.learning_rate, "0.05")
    qtbot.keyClick(panel.learning_rate, Qt.Key.Key_Return)
    assert window.project.training["learning_rate"] == 0.05
