"""How fast the canvas draws and drags a big design.

A generated design of 50 layers with 5,000 neurons in all (sizes from 2 to about 250, so some
neighbours are drawn neuron to neuron and most as bands), each layer densely connected to the
next. Measured off-screen, medians of repeats:

- a full repaint: the view rendered into a QImage, with the whole design in view (fit, low
  detail) and at 100 % (full detail), against the same view with an empty design (the baseline:
  background only) measured in the same process;
- moving a layer: one real mouse-move event on the viewport during a drag, including the
  repaint it causes, against the budget of one frame at 60 Hz (16 ms).

Run: ``.venv/bin/python benchmarks/bench_canvas.py`` (prints a table; nothing is asserted).
"""
from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtGui import QImage, QPainter, QUndoStack  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from designer.graph import Graph, Layer  # noqa: E402
from designer.ui.canvas import CanvasView  # noqa: E402
from timing import median_seconds  # noqa: E402

LAYERS, NEURONS = 50, 5000
REPAINT_BUDGET_MS, MOVE_BUDGET_MS = 30.0, 16.0


def links_design() -> Graph:
    """The worst case for neuron-to-neuron drawing: 50 grids of 4 x 5, every connection 400 drawn links."""
    graph = Graph()
    for i in range(LAYERS):
        row, col = divmod(i, 10)
        x = col * 240 if row % 2 == 0 else (9 - col) * 240
        graph.add_layer(Layer(f"l{i}", "input" if i == 0 else "neurons", (4, 5), activation="tanh",
                              position=(x, row * 300)))
    for i in range(LAYERS - 1):
        graph.connect(f"l{i}", f"l{i + 1}")
    return graph


def generated_design(seed: int = 0) -> Graph:
    rng = np.random.default_rng(seed)
    raw = rng.uniform(0.0, 1.0, LAYERS) ** 2
    sizes = np.maximum(2, np.round(raw / raw.sum() * NEURONS)).astype(int)
    sizes[-1] += NEURONS - sizes.sum()  # exactly 5,000 in all
    if sizes[-1] < 2:
        sizes[np.argmax(sizes)] -= 2 - sizes[-1]
        sizes[-1] = 2
    graph = Graph()
    for i, units in enumerate(sizes):
        row, col = divmod(i, 10)
        x = col * 240 if row % 2 == 0 else (9 - col) * 240  # a serpentine, so neighbours stay close
        graph.add_layer(Layer(f"l{i}", "input" if i == 0 else "neurons", (int(units),),
                              activation="relu", position=(x, row * 420)))
    for i in range(LAYERS - 1):
        graph.connect(f"l{i}", f"l{i + 1}")
    assert sum(layer.units for layer in graph.layers.values()) == NEURONS
    return graph


def median_ms(fn, repeats: int) -> float:
    fn()  # warm caches and fonts
    return median_seconds(fn, repeats) * 1000


def render_ms(view: CanvasView, repeats: int = 15, cold: bool = False) -> float:
    """Median time to render the view into an image; ``cold`` first changes the zoom by 0.01 %, which
    throws away every item's cached pixmap (what a zoom step costs), else caches are warm (a scroll)."""
    image = QImage(view.viewport().size(), QImage.Format.Format_ARGB32_Premultiplied)
    flip = [1.0001]

    def render():
        if cold:
            view.scale(flip[0], flip[0])
            flip[0] = 1 / flip[0]
        painter = QPainter(image)
        view.render(painter)
        painter.end()
    return median_ms(render, repeats)


def drag_ms(app: QApplication, view: CanvasView, layer_id: str, moves: int = 75) -> tuple[float, int]:
    item = view.canvas_scene.layer_items[layer_id]
    vp = view.viewport()
    start = view.mapFromScene(item.mapToScene(item.frame.topLeft() + QPointF(30, 10)))
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    app.processEvents()
    times = []
    origin = view.mapToScene(start)
    for i in range(1, moves + 1):
        # one grid step (20 px in the scene) per event, back and forth, so that every event moves the layer
        step = i % 20 if (i // 20) % 2 == 0 else 20 - i % 20
        pos = view.mapFromScene(origin + QPointF(20.0 * step, 20.0 * (step % 3)))
        t0 = time.perf_counter()
        QTest.mouseMove(vp, pos)
        app.processEvents()  # the repaint the move causes
        times.append((time.perf_counter() - t0) * 1000)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    app.processEvents()
    return statistics.median(times[5:]), view.undo_stack.count()


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    stack = QUndoStack()
    empty = CanvasView(Graph(), stack)
    empty.resize(1280, 800)
    empty.show()
    app.processEvents()
    baseline = render_ms(empty)

    graph = generated_design()
    view = CanvasView(graph, stack)
    view.resize(1280, 800)
    view.show()
    app.processEvents()
    modes = [item.mode for item in view.canvas_scene.connection_items.values()]
    print(f"design: {len(graph.layers)} layers, {sum(lr.units for lr in graph.layers.values()):,} neurons, "
          f"{len(graph.connections)} dense connections ({modes.count('links')} drawn neuron to neuron, "
          f"{modes.count('band')} as bands)")
    print(f"baseline (empty canvas, same view size): {baseline:6.2f} ms")

    view.fit()
    app.processEvents()
    fit_zoom = view.zoom()
    fit_cold, fit_warm = render_ms(view, cold=True), render_ms(view)
    # at 100 %, centred on a layer whose incoming connection is drawn neuron to neuron
    linked = next((item.target_item.item_id for item in view.canvas_scene.connection_items.values()
                   if item.mode == "links"), "l4")
    view.set_zoom(1.0)
    view.centerOn(view.canvas_scene.layer_items[linked].sceneBoundingRect().center())
    app.processEvents()
    full_cold, full_warm = render_ms(view, cold=True), render_ms(view)
    for what, cold, warm in ((f"whole design in view ({fit_zoom:.2f}x after fit)", fit_cold, fit_warm),
                             ("at 100 %", full_cold, full_warm)):
        print(f"full repaint, {what}: {cold:6.2f} ms after a zoom step (cold caches) = {cold / baseline:4.1f}x "
              f"baseline, {cold / REPAINT_BUDGET_MS:4.2f} of the {REPAINT_BUDGET_MS:.0f} ms budget; "
              f"{warm:6.2f} ms with warm caches")

    move_100, steps = drag_ms(app, view, linked)
    view.fit()
    app.processEvents()
    move_fit, steps2 = drag_ms(app, view, "l25")
    print(f"moving a layer at 100 %, per mouse-move event (with repaint): {move_100:6.2f} ms "
          f"= {move_100 / MOVE_BUDGET_MS:4.2f} of the {MOVE_BUDGET_MS:.0f} ms budget")
    print(f"moving a layer, whole design in view:                         {move_fit:6.2f} ms "
          f"= {move_fit / MOVE_BUDGET_MS:4.2f} of the budget")
    print(f"undo steps after two drags: {steps2} (one per drag)")

    # live training sends the weights several times a second
    rng = np.random.default_rng(1)
    weights = {f"{c.id}.weight": rng.normal(size=(graph.layer(c.target).units, graph.layer(c.source).units))
               .astype(np.float32) for c in graph.connections.values()}
    weights.update({f"{lid}.bias": rng.normal(size=layer.units).astype(np.float32)
                    for lid, layer in graph.layers.items()})
    image = QImage(view.viewport().size(), QImage.Format.Format_ARGB32_Premultiplied)

    def show_weights():
        view.set_weights(weights)
        painter = QPainter(image)
        view.render(painter)
        painter.end()
    weights_ms = median_ms(show_weights, 9)
    print(f"showing new weights of the whole design (set_weights + repaint, whole design in view): "
          f"{weights_ms:6.2f} ms")
    view.close()

    worst = CanvasView(links_design(), stack)
    worst.resize(1280, 800)
    worst.show()
    app.processEvents()
    links = sum(len(item.links) for item in worst.canvas_scene.connection_items.values())
    worst.fit()
    app.processEvents()
    worst_fit = render_ms(worst, cold=True)
    worst_fit_zoom = worst.zoom()
    worst.set_zoom(1.0)
    worst.centerOn(worst.canvas_scene.layer_items["l4"].sceneBoundingRect().center())
    app.processEvents()
    worst_full = render_ms(worst, cold=True)
    worst_move, _ = drag_ms(app, worst, "l4")
    print(f"worst case for links: 50 layers of 4 x 5 neurons, {links:,} links drawn one by one")
    print(f"  full repaint after a zoom step (cold caches), whole design in view ({worst_fit_zoom:.2f}x): "
          f"{worst_fit:6.2f} ms; at 100 %: {worst_full:6.2f} ms ({worst_full / REPAINT_BUDGET_MS:4.2f} of the budget)")
    print(f"  moving a layer with 800 links attached, per mouse-move event: {worst_move:6.2f} ms "
          f"({worst_move / MOVE_BUDGET_MS:4.2f} of the budget)")
    worst.close()
    empty.close()
    stack.clear()
    return 0


if __name__ == "__main__":
    sys.exit(main())
