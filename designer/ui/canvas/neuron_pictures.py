"""Neuron pictures on the canvas: the worker's :class:`designer.insight.NeuronPictures` payload drawn per neuron.

Three kinds, as the engine computes them:

- ``plane`` (2-D data): each neuron's value over the input plane, coloured on the scale of the output map in
  "What the network learned" (:mod:`designer.ui.training.learned_view`): for classification the two class
  colours of the boundary map (class 0 below the middle of the neuron's range, class 1 above it, paler towards
  the middle, exactly as the map pales where the model is unsure), so a sigmoid output unit's picture *is*
  the output map; each unit of a several-class output in its own class's colour (its probability); for
  regression the map's viridis scale. The range is the activation's own (tanh, sign: -1 to 1; sigmoid,
  step, softmax: 0 to 1); an unbounded one (relu, linear, ...) is normalised per layer, symmetric around 0,
  to the largest ``|value|`` of the layer's pictures (the tooltip says so).
  Row ``i`` of the engine's array is ``y[i]`` counting upwards, as the output map draws it: the image is
  flipped so that y grows upwards on the canvas too.
- ``images``: each neuron's incoming weights on its source's grid, blue negative, orange positive (the
  links' colours), white at 0, symmetric around 0 per neuron (to its largest ``|w|``); places without a link
  (outside a local neuron's window) are transparent.
- ``sequence``: a sparkline of the neuron's value over the steps of a validation sequence.

Plain numpy and QtGui: nothing here imports pyqtgraph at import time (the canvas paints before it is loaded);
the regression scale reads pyqtgraph's viridis when first needed.
"""
from __future__ import annotations

import base64
import functools
from typing import Any

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF
from PySide6.QtGui import QColor, QImage, QPainterPath

from designer.ui import style

#: the fixed ranges of the bounded activations (an lstm/gru unit's value is a tanh)
RANGES = {"tanh": (-1.0, 1.0), "sign": (-1.0, 1.0), "softsign": (-1.0, 1.0), "lstm": (-1.0, 1.0),
          "gru": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "hard_sigmoid": (0.0, 1.0), "step": (0.0, 1.0),
          "softmax": (0.0, 1.0)}
#: the boundary map's strengths (learned_view.SURE_STRENGTH, UNSURE_STRENGTH), repeated so that the canvas
#: need not import pyqtgraph; tests check that they agree
SURE_STRENGTH = 0.6
UNSURE_STRENGTH = 0.12
#: the dataset panel's class colours (learned_view.class_colours), repeated for the same reason
CLASS_COLOURS = ("#3E6FD8", "#E8590C", "#12B76A", "#C11574", "#7A5AF8", "#F79009")
#: the strongest-activating images shown on hover, and their side in pixels
STRONGEST_SHOWN = 6
STRONGEST_SIDE = 44

_VIRIDIS: np.ndarray | None = None


def class_colours(count: int) -> np.ndarray:
    """``[count, 3]`` RGB floats 0..1 (as ``learned_view.class_colours``)."""
    return _class_colours(max(int(count), 1)).copy()


@functools.lru_cache(maxsize=16)
def _class_colours(count: int) -> np.ndarray:
    colours = []
    for i in range(max(count, 1)):
        c = QColor(CLASS_COLOURS[i]) if i < len(CLASS_COLOURS) else QColor.fromHsvF((i * 0.618) % 1.0, 0.65, 0.85)
        colours.append((c.redF(), c.greenF(), c.blueF()))
    return np.array(colours, dtype=np.float32)


def viridis() -> np.ndarray:
    """The output map's regression colours: pyqtgraph's viridis, 256 entries of RGB uint8."""
    global _VIRIDIS
    if _VIRIDIS is None:
        try:
            import pyqtgraph as pg

            _VIRIDIS = np.asarray(pg.colormap.get("viridis").getLookupTable(nPts=256), dtype=np.uint8)[:, :3]
        except Exception:  # pragma: no cover - pyqtgraph ships with the app; a plain ramp otherwise
            ramp = np.linspace(0, 255, 256)
            _VIRIDIS = np.stack([ramp * 0.99, ramp * 0.9, 84 + ramp * 0 - ramp * 0.2], 1).clip(0, 255).astype(np.uint8)
    return _VIRIDIS


def activation_of(layer) -> str:
    """What a layer's values are the output of: its activation, or ``lstm``/``gru`` for a gated layer."""
    return layer.activation if layer.kind == "neurons" else layer.kind


def value_range(activation: str, values: np.ndarray | None) -> tuple[float, float, bool]:
    """``(low, high, normalised)``: the activation's own range, or (unbounded) ``±`` the largest ``|value|``
    of ``values`` (the whole layer's pictures), ``normalised`` True."""
    if activation in RANGES:
        low, high = RANGES[activation]
        return low, high, False
    biggest = float(np.nanmax(np.abs(values))) if values is not None and np.size(values) else 0.0
    if not np.isfinite(biggest) or biggest <= 0:
        biggest = 1.0
    return -biggest, biggest, True


def signed_position(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Where values lie in ``[low, high]``, as -1 (low) .. 1 (high), clipped; NaN stays NaN."""
    mid, half = (low + high) / 2, max((high - low) / 2, 1e-12)
    return np.clip((np.asarray(values, dtype=np.float64) - mid) / half, -1.0, 1.0)


def plane_rgba(values: np.ndarray, low: float, high: float, *, classification: bool = True,
               class_index: int | None = None, classes: int = 2) -> np.ndarray:
    """RGBA uint8 ``[..., 4]`` of neuron values on the output map's colour scale (see the module's notes).

    ``class_index``: the neuron is output unit ``class_index`` of a several-class output: its class's colour,
    as strong as its value (a probability) is high.
    """
    v = np.asarray(values, dtype=np.float32)
    rgba = np.empty(v.shape + (4,), dtype=np.uint8)
    rgba[..., 3] = 255
    span = max(float(high) - float(low), 1e-12)
    # where each value lies on the scale, 0 (low) .. 1 (high), looked up in a table of STEPS + 1 colours
    share = np.nan_to_num((v - np.float32(low)) * np.float32(1 / span), nan=0.5, posinf=1.0, neginf=0.0)
    if not classification:
        index = (np.clip(share, 0, 1) * 255).astype(np.intp)
        rgba[..., :3] = viridis()[index]
        return rgba
    index = np.rint(np.clip(share, 0, 1) * STEPS).astype(np.intp)
    if class_index is not None:
        rgba[..., :3] = _class_table(max(classes, class_index + 1), class_index)[index]
    else:
        rgba[..., :3] = _diverging_table(max(classes, 2))[index]
    return rgba


#: the colour tables' steps: 2048 (a step moves a colour channel by a tenth of a unit at most)
STEPS = 2048


@functools.lru_cache(maxsize=16)
def _diverging_table(classes: int) -> np.ndarray:
    """The boundary map's colours for a share 0..1 of the scale: class 0's below the middle, class 1's above,
    paler towards the middle (as ``learned_view.boundary_image`` for two classes)."""
    colours = _class_colours(classes)
    t = np.linspace(-1.0, 1.0, STEPS + 1)
    strength = (UNSURE_STRENGTH + (SURE_STRENGTH - UNSURE_STRENGTH) * np.abs(t))[:, None]
    colour = np.where((t > 0)[:, None], colours[1], colours[0])
    return np.round((colour * strength + (1 - strength)) * 255).astype(np.uint8)


@functools.lru_cache(maxsize=64)
def _class_table(classes: int, index: int) -> np.ndarray:
    """One class's colour, as strong as the share 0..1 (a probability) is high."""
    colour = _class_colours(classes)[index]
    strength = (SURE_STRENGTH * np.linspace(0.0, 1.0, STEPS + 1))[:, None]
    return np.round((colour * strength + (1 - strength)) * 255).astype(np.uint8)


def weights_rgba(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RGBA uint8 ``[n, h, w, 4]`` of weight pictures ``[n, h, w]``, and each picture's scale ``[n]``.

    Blue (negative) through white (0) to orange (positive), each picture to its own largest ``|w|``;
    NaN (no link there) transparent.
    """
    w = np.asarray(weights, dtype=np.float64)
    flat = np.abs(w).reshape(len(w), -1)
    with np.errstate(invalid="ignore"):
        scale = np.nanmax(np.where(np.isnan(flat), -np.inf, flat), axis=1) if flat.size else np.zeros(len(w))
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    t = np.clip(w / scale.reshape(-1, *([1] * (w.ndim - 1))), -1, 1)
    positive = np.array(style.WEIGHT_POSITIVE.getRgbF()[:3])
    negative = np.array(style.WEIGHT_NEGATIVE.getRgbF()[:3])
    a = np.abs(np.nan_to_num(t))[..., None]
    colour = np.where((np.nan_to_num(t) >= 0)[..., None], positive, negative)
    rgba = np.empty(w.shape + (4,), dtype=np.uint8)
    rgba[..., :3] = np.round((colour * a + (1 - a)) * 255)
    rgba[..., 3] = np.where(np.isnan(w), 0, 255)
    return rgba, scale


def qimage(rgba: np.ndarray) -> QImage:
    """An RGBA uint8 ``[h, w, 4]`` array as a QImage (its own copy of the pixels)."""
    data = np.ascontiguousarray(rgba)
    h, w = data.shape[:2]
    return QImage(data.data, w, h, data.strides[0], QImage.Format.Format_RGBA8888).copy()


def sparkline(values: np.ndarray, low: float, high: float, rect: QRectF) -> QPainterPath:
    """The values over the steps as a line across ``rect`` (low at its bottom, high at its top)."""
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64), nan=(low + high) / 2), low, high)
    path = QPainterPath()
    n = len(v)
    if n == 0:
        return path
    xs = np.linspace(rect.left(), rect.right(), n) if n > 1 else np.array([rect.center().x()])
    ys = rect.bottom() - (v - low) / max(high - low, 1e-12) * rect.height()
    path.moveTo(QPointF(xs[0], ys[0]))
    for x, y in zip(xs[1:], ys[1:]):
        path.lineTo(QPointF(x, y))
    return path


def value_colour(value: float, low: float, high: float) -> QColor:
    """A followed sample's value as a fill: blue below the middle of the range, orange above, paler near it."""
    t = float(signed_position(np.array([value]), low, high)[0]) if np.isfinite(value) else 0.0
    colour = style.WEIGHT_POSITIVE if t >= 0 else style.WEIGHT_NEGATIVE
    a = 0.1 + 0.8 * abs(t)
    return QColor(round(colour.red() * a + 255 * (1 - a)), round(colour.green() * a + 255 * (1 - a)),
                  round(colour.blue() * a + 255 * (1 - a)))


def image_html(image: np.ndarray, side: int = STRONGEST_SIDE) -> str:
    """An ``<img>`` holding a grey (``[h, w]``) or colour (``[h, w, 3]``) image scaled to its range, for a tooltip."""
    a = np.asarray(image, dtype=np.float64)
    low, high = float(np.nanmin(a)), float(np.nanmax(a))
    scaled = np.clip((a - low) / (high - low if high > low else 1.0) * 255, 0, 255).astype(np.uint8)
    if scaled.ndim == 2:
        data = np.ascontiguousarray(scaled)
        q = QImage(data.data, data.shape[1], data.shape[0], data.strides[0], QImage.Format.Format_Grayscale8).copy()
    else:
        data = np.ascontiguousarray(scaled[..., :3])
        q = QImage(data.data, data.shape[1], data.shape[0], data.strides[0], QImage.Format.Format_RGB888).copy()
    h, w = data.shape[:2]
    scale = side / max(h, w)
    return _png_html(q, round(w * scale), round(h * scale))


def _png_html(image: QImage, width: int, height: int) -> str:
    raw = QByteArray()
    buffer = QBuffer(raw)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    encoded = base64.b64encode(bytes(raw)).decode("ascii")
    return f'<img src="data:image/png;base64,{encoded}" width="{width}" height="{height}">'


def window_html(weights: np.ndarray, side: int = 56) -> str:
    """A weight picture's window (the part that is not NaN), enlarged with crisp taps, for a tooltip; "" when
    the picture has no empty part (a dense neuron's: the slot shows it whole)."""
    w = np.asarray(weights, dtype=np.float64)
    present = ~np.isnan(w)
    if w.ndim != 2 or present.all() or not present.any():
        return ""
    rows, cols = np.nonzero(present.any(axis=1))[0], np.nonzero(present.any(axis=0))[0]
    crop = w[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    rgba, _ = weights_rgba(crop[None])
    h, wd = crop.shape
    tap = max(4, side // max(h, wd))
    image = qimage(rgba[0]).scaled(wd * tap, h * tap)  # nearest: each tap a crisp square
    return _png_html(image, wd * tap, h * tap)


def layer_pictures(payload: dict[str, Any], layer_id: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``(neurons, pictures)`` of one layer in a payload, or None when it has none."""
    pictures = (payload.get("layers") or {}).get(layer_id)
    neurons = (payload.get("neurons") or {}).get(layer_id)
    if pictures is None or neurons is None:
        return None
    neurons = np.asarray(neurons, dtype=np.int64)
    pictures = np.asarray(pictures)
    if len(neurons) != len(pictures):
        return None
    return neurons, pictures


__all__ = ["RANGES", "activation_of", "class_colours", "image_html", "layer_pictures", "plane_rgba", "qimage",
           "signed_position", "sparkline", "value_colour", "value_range", "viridis", "weights_rgba", "window_html"]
