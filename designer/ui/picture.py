"""A picture of a design, drawn by the canvas's own items: SVG (vector) or PNG.

``render_picture`` builds the canvas scene for a graph off-screen, so the picture has exactly the
cards, neurons, links, bands and loops the window shows (trained weights colour the links), and
leaves out what belongs to editing: the dot grid, selection, hover and problem outlines.

PNG is painted on an image whose device pixel ratio is ``scale``, like a high-density screen: the
items draw as at 100 % zoom (same level of detail, one-pixel links stay one logical pixel) with
``scale`` times the pixels. Items are drawn without their pixmap caches, so SVG gets vector paths
and text, not embedded bitmaps.

``neurons=True`` draws every neuron as the window does with View › Neuron Pictures on: what it computes,
from the project's trained weights and data (:class:`designer.insight.NeuronPictures`, for the neurons the
card shows). The pictures of 2-D data and weights are bitmaps (embedded in an SVG as images); a sequence's
sparklines stay vector paths.
"""
from __future__ import annotations

import math
import os
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize
from PySide6.QtGui import QColor, QFont, QFontInfo, QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QApplication, QGraphicsItem

from designer.graph import Graph
from designer.project.archive import atomic_file

from .canvas.scene import CanvasScene

FORMATS = ("svg", "png")
MARGIN = 16.0  # scene units around the drawing (items' bounds already hold their shadows and labels)
MAX_SIDE = 16_384  # pixels: what image viewers and PNG encoders take without trouble
MAX_PIXELS = 64_000_000  # about 256 MB while painting; a bigger design lowers the scale to fit

_app: QApplication | None = None  # the application this module made, kept alive for later pictures


class PictureError(ValueError):
    """A picture that cannot be made as asked: unknown format, bad scale, an unwritable place, an empty design."""


def render_picture(project_or_graph: Any, path: str | os.PathLike, weights: dict[str, np.ndarray] | None = None,
                   *, scale: float = 2.0, format: str | None = None,  # noqa: A002 - the user's word
                   background: QColor | str | None = "white", neurons: bool = False) -> None:
    """Write a picture of a design to ``path``, as the canvas draws it.

    ``project_or_graph``: a :class:`~designer.project.Project` (its trained weights colour the links
    unless ``weights`` is given) or a :class:`~designer.graph.Graph`. ``format``: ``"svg"`` or
    ``"png"``, by default from the file name's suffix. ``scale``: pixels per scene unit of a PNG
    (lowered for a design too big for ``MAX_SIDE``/``MAX_PIXELS``). ``background``: a colour, or
    None for a transparent one. ``neurons``: draw each neuron's picture (a Project with trained weights
    that fit its design, and data the pictures can be drawn from). The file is replaced atomically;
    raises :class:`PictureError`.
    """
    graph, weights, title = _design(project_or_graph, weights)
    path = Path(path)
    kind = _format(path, format)
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise PictureError(f"scale {scale!r}: give a number above 0 (2 draws a PNG at twice the canvas's size)")
    _check_writable(path)
    if not graph.layers:
        raise PictureError(f"{title or 'the design'} has no layers: there is nothing to draw")
    _ensure_application()
    payload = neuron_pictures(project_or_graph, weights) if neurons else None
    scene = CanvasScene(graph)
    try:
        if weights:
            scene.set_weights(weights)
        if neurons:
            scene.set_pictures_mode(True)
            scene.set_pictures(payload)
        for item in scene.items():
            # a cached item paints a bitmap of itself: in an SVG that would be an <image>, not paths
            item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
        bounds = scene.itemsBoundingRect().adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
        # whole logical pixels, so the scene is not stretched by a fraction to fit the page
        source = QRectF(bounds.left(), bounds.top(), math.ceil(bounds.width()), math.ceil(bounds.height()))
        fill = None if background is None else QColor(background)
        data = (_svg(scene, source, fill, title) if kind == "svg" else _png(scene, source, fill, scale))
    finally:
        scene.detach()  # the graph outlives the picture: stop following its events (the scene goes with `scene`)
    _write_atomically(path, data)


def neuron_pictures(project: Any, weights: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Every shown neuron's picture from a project's trained weights (or ``weights``) and its data: the payload
    the canvas draws (as the training controller sends it). Raises :class:`PictureError` when it cannot."""
    from designer.graph import Graph as _Graph

    if isinstance(project, _Graph) or getattr(project, "dataset", None) is None:
        raise PictureError("neuron pictures need a project (its data and trained weights), not a design alone")
    if weights is None and not project.weights:
        raise PictureError("neuron pictures show what the trained neurons compute: the project has no trained "
                           "weights yet; train it first")
    from designer.insight import NeuronPictures
    from designer.training import TrainingError, prepare_project

    from .canvas.layout import shown_neurons

    if weights is not None:
        import copy

        project = copy.copy(project)
        project.weights = weights
    try:
        prepared = prepare_project(project, device="cpu")
    except (TrainingError, ValueError, OSError) as exc:
        raise PictureError(f"neuron pictures need the project's data and weights: {exc}") from None
    if prepared.initial_weights != "stored":
        raise PictureError("neuron pictures show what the trained neurons compute, and the project's weights do "
                           f"not fit its design ({prepared.weights_note or 'some layers have none'}); train it again")
    graph = project.graph
    shown = {lid: shown_neurons(layer.shape) for lid, layer in graph.layers.items() if layer.kind != "input"}
    pictures = NeuronPictures(prepared.module, graph, prepared.dataset, shown=shown)
    if pictures.kind is None:
        raise PictureError(f"the data {prepared.dataset.name!r} gives no neuron pictures: they are drawn for two "
                           f"inputs (a map over the plane), images (the incoming weights) and sequences")
    payload = pictures.compute()
    data = prepared.dataset
    payload.update(info=pictures.info(), classification=data.task == "classification",
                   num_classes=int(data.num_classes or 2))
    return payload


# ---------------------------------------------------------------- inputs
def _design(project_or_graph: Any, weights) -> tuple[Graph, dict | None, str]:
    if isinstance(project_or_graph, Graph):
        return project_or_graph, weights, ""
    graph = getattr(project_or_graph, "graph", None)
    if not isinstance(graph, Graph):
        raise TypeError(f"render_picture draws a Project or a Graph, not {type(project_or_graph).__name__}")
    if weights is None:
        weights = getattr(project_or_graph, "weights", None)
    return graph, weights, str(getattr(project_or_graph, "name", "") or "")


def _format(path: Path, format: str | None) -> str:  # noqa: A002
    kind = (format or path.suffix.lstrip(".")).lower()
    if kind not in FORMATS:
        if format is None:
            raise PictureError(f"{path}: say which picture to write with a name ending in .svg or .png")
        raise PictureError(f"format {format!r}: a picture is written as svg or png")
    return kind


def _check_writable(path: Path) -> None:
    """Say now, before any drawing, why the file could not be written."""
    if path.is_dir():
        raise PictureError(f"{path}: that is a folder; give a file name such as {path / ('network' + path.suffix)}")
    folder = path.resolve().parent
    if not folder.is_dir():
        raise PictureError(f"{path}: the folder {folder} does not exist; create it or choose another place")
    if not os.access(folder, os.W_OK):
        raise PictureError(f"{path}: the folder {folder} is not writable; choose another place")


def _ensure_application() -> None:
    """Items and fonts need a QApplication: use the running one, or start one that needs no screen."""
    global _app
    if QApplication.instance() is not None:
        if not isinstance(QApplication.instance(), QApplication):
            raise RuntimeError("render_picture needs a QApplication; this process runs a "
                               f"{type(QApplication.instance()).__name__}")
        return
    argv = ["nn-designer"]
    if "QT_QPA_PLATFORM" not in os.environ and not sys.platform.startswith(("darwin", "win")):
        # On Linux and the BSDs the off-screen platform has the same fonts (fontconfig) and needs no
        # display: a picture is drawn the same over ssh, in CI and on a desktop. Elsewhere the native
        # platform is the one whose fonts are sure to be there.
        argv += ["-platform", "offscreen"]
    _app = QApplication(argv)


# ---------------------------------------------------------------- drawing
def _screen_dpi() -> float:
    # Fonts are given in points: draw them at the resolution the items measured them with.
    screen = QGuiApplication.primaryScreen()
    return screen.logicalDotsPerInch() if screen is not None else 96.0


def _paint(painter: QPainter, scene: CanvasScene, source: QRectF, fill: QColor | None) -> None:
    painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
                           | QPainter.RenderHint.SmoothPixmapTransform)
    target = QRectF(0.0, 0.0, source.width(), source.height())
    if fill is not None:
        painter.fillRect(target, fill)
    scene.render(painter, target, source)


def _svg(scene: CanvasScene, source: QRectF, fill: QColor | None, title: str) -> bytes:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setResolution(round(_screen_dpi()))
    generator.setSize(QSize(int(source.width()), int(source.height())))
    generator.setViewBox(QRectF(0.0, 0.0, source.width(), source.height()))
    generator.setTitle(title or "Neural network")
    generator.setDescription("Drawn by NN Designer")
    painter = QPainter()
    if not painter.begin(generator):
        raise PictureError("the SVG could not be started (Qt's SVG generator refused the drawing)")
    try:
        _paint(painter, scene, source, fill)
    finally:
        painter.end()
    buffer.close()
    return _portable_fonts(bytes(buffer.data()))


def _portable_fonts(svg: bytes) -> bytes:
    """Name the fonts so that any SVG viewer finds them.

    Qt writes the family a font asked for, which for the interface font is its own generic name
    ("Sans Serif"): browsers know no such family and fall back to a serif face. Write the family
    Qt actually drew with, then CSS's generic ``sans-serif``.
    """
    def portable(match: re.Match) -> bytes:
        asked = match.group(1).decode("utf-8")
        drawn = QFontInfo(QFont(asked)).family()
        names = list(dict.fromkeys(n for n in (drawn, asked) if n and n.lower() not in ("sans serif", "sans-serif")))
        quoted = ", ".join("'" + n.replace("&", "&amp;").replace("'", "").replace('"', "&quot;")
                           .replace("<", "&lt;") + "'" for n in names)
        return f'font-family="{quoted + ", " if quoted else ""}sans-serif"'.encode("utf-8")

    return re.sub(rb'font-family="([^"]*)"', portable, svg)


def _png(scene: CanvasScene, source: QRectF, fill: QColor | None, scale: float) -> bytes:
    w, h = source.width(), source.height()
    scale = min(scale, MAX_SIDE / max(w, h), math.sqrt(MAX_PIXELS / (w * h)))
    image = QImage(max(1, math.ceil(w * scale)), max(1, math.ceil(h * scale)),
                   QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QColor(0, 0, 0, 0))
    dots_per_metre = round(_screen_dpi() / 0.0254)
    image.setDotsPerMeterX(dots_per_metre)
    image.setDotsPerMeterY(dots_per_metre)
    image.setDevicePixelRatio(scale)  # the painter works in logical (canvas) pixels
    painter = QPainter()
    if not painter.begin(image):
        raise PictureError(f"a {image.width()}×{image.height()} image could not be painted (out of memory?)")
    try:
        _paint(painter, scene, source, fill)
    finally:
        painter.end()
    # stored resolution: the picture prints at the canvas's size, with `scale` times the detail
    image.setDotsPerMeterX(round(dots_per_metre * scale))
    image.setDotsPerMeterY(round(dots_per_metre * scale))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise PictureError("the PNG could not be encoded")
    buffer.close()
    return bytes(data)


# ---------------------------------------------------------------- writing
def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as project files are saved; a failure leaves any previous file as it was."""
    try:
        with atomic_file(path) as handle:
            handle.write(data)
    except OSError as exc:
        raise PictureError(f"{path}: cannot write into {path.resolve().parent} ({exc.strerror or exc}); "
                           f"choose another place") from None


__all__ = ["FORMATS", "PictureError", "render_picture"]
