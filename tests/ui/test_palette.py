"""The palette: its seven items, their drawn icons and tooltips, and the drag data they carry."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from designer.ui.canvas import PALETTE_MIME
from designer.ui.palette import ITEMS, KINDS, Palette, draw_icon


@pytest.fixture
def palette(qtbot):
    widget = Palette()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_the_palette_offers_the_seven_kinds_in_the_users_words(palette):
    titles = [palette.list.item(i).text() for i in range(palette.list.count())]
    assert titles == ["Input layer", "Neuron layer", "Output layer", "Single neuron", "LSTM", "GRU", "Max pooling"]
    assert KINDS == ("input", "neurons", "output", "neuron", "lstm", "gru", "pool")
    for i in range(palette.list.count()):
        item = palette.list.item(i)
        assert "Drag onto the canvas" in item.toolTip()
        assert not item.icon().isNull()


def test_each_drag_carries_the_canvas_mime_type_and_the_kind(palette):
    for kind in KINDS:
        data = palette.mimeData(kind)
        assert data.formats() == [PALETTE_MIME]
        assert bytes(data.data(PALETTE_MIME).data()).decode() == kind
    with pytest.raises(ValueError, match="no item 'conv'"):
        palette.mimeData("conv")


def test_the_icons_are_drawn_and_tell_the_kinds_apart(qtbot):
    images = {}
    for item in ITEMS:
        pixmap = draw_icon(item.kind, 48)
        assert pixmap.width() == 48 and not pixmap.isNull()
        image = pixmap.toImage()
        opaque = sum(1 for x in range(48) for y in range(48) if image.pixelColor(x, y).alpha() > 0)
        assert opaque > 48 * 48 // 3, item.kind  # a drawing, not an empty square
        images[item.kind] = image
    assert len({img.cacheKey() for img in images.values()}) == len(ITEMS)
    kinds = list(images)
    for a in range(len(kinds)):
        for b in range(a + 1, len(kinds)):
            assert images[kinds[a]] != images[kinds[b]], (kinds[a], kinds[b])


def test_enter_on_an_item_asks_to_add_it(qtbot, palette):
    palette.list.setCurrentRow(4)
    palette.list.setFocus()
    with qtbot.waitSignal(palette.item_activated) as signal:
        qtbot.keyClick(palette.list, Qt.Key.Key_Return)
    assert signal.args == ["lstm"]
