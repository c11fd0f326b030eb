"""``nn-designer export --to svg|png``: a picture of the network as the canvas draws it.

Real example files, real rendering (off-screen Qt), the real command in a subprocess for what a
user types; the pictures are read back with QImage and an XML parser and checked for what a
person looking at them would see: each layer in its colour and place, its name as text, links
orange and blue once trained.
"""
import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from designer.graph import Graph
from designer.project import read_project, write_project

ROOT = Path(__file__).resolve().parent.parent
XOR = ROOT / "resources" / "examples" / "xor.nnd"
SVG = "{http://www.w3.org/2000/svg}"
TIMEOUT = 120

# what the canvas draws each xor layer with (designer.ui.style): the outline of its neurons
INPUT_GREEN, HIDDEN_BLUE, OUTPUT_ORANGE = (0x12, 0xB7, 0x6A), (0x3E, 0x6F, 0xD8), (0xE8, 0x59, 0x0C)


def _over_canvas(colour: tuple[int, int, int], alpha: float = 230 / 255) -> tuple[int, ...]:
    # the canvas draws a few links opaque, pre-blended at 90 % over its background (see connection_item)
    return tuple(round(c * alpha + b * (1 - alpha)) for c, b in zip(colour, (0xF6, 0xF7, 0xF9)))


# links by the sign of their weight: orange when positive, blue when negative
POSITIVE, NEGATIVE = _over_canvas((0xF7, 0x90, 0x09)), _over_canvas((0x2E, 0x90, 0xFA))


def nnd(*args):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "designer.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=TIMEOUT, env=env, cwd=ROOT)


def pixels(path: Path) -> np.ndarray:
    """The picture as ``[height, width, 4]`` RGBA bytes, read with QImage."""
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    assert not image.isNull(), f"{path} is not an image Qt can read"
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, :image.width() * 4].reshape(image.height(), image.width(), 4).copy()


def near(rgba: np.ndarray, colour: tuple[int, int, int], tolerance: float = 24.0) -> np.ndarray:
    """Where the picture shows ``colour`` (anti-aliasing blends edges, so within ``tolerance``)."""
    distance = np.linalg.norm(rgba[..., :3].astype(float) - np.array(colour, float), axis=-1)
    return (distance <= tolerance) & (rgba[..., 3] > 200)


def columns(mask: np.ndarray) -> np.ndarray:
    return np.nonzero(mask.any(axis=0))[0]


def trained_xor(tmp_path: Path, first: float, second: float) -> Path:
    """xor.nnd with weights: every input→h link ``first``, every h→out link ``second``, biases 0."""
    project = read_project(XOR)
    project.weights = {"x-h.weight": np.full((4, 2), first, np.float32), "h.bias": np.zeros(4, np.float32),
                       "h-out.weight": np.full((1, 4), second, np.float32), "out.bias": np.zeros(1, np.float32)}
    path = tmp_path / "trained.nnd"
    write_project(project, path)
    return path


# ---------------------------------------------------------------- the command
def test_png_of_xor_shows_each_layer_in_its_colour_left_to_right(tmp_path):
    out = tmp_path / "xor.png"
    result = nnd("export", XOR, "--to", "png", "-o", out)
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stderr
    assert "no trained weights" in result.stderr  # and so the links are plain
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rgba = pixels(out)
    height, width = rgba.shape[:2]
    # the layers sit 440 scene units apart, drawn at twice the canvas's size
    assert width > 2 * 440 and height > 2 * 100
    white = (rgba[..., :3] >= 250).all(axis=-1)
    assert white[0, 0] and white[-1, -1]  # a white background, no dot grid: the corners are plain
    assert white.mean() < 0.95  # and yet something is drawn
    x, h, out_layer = (columns(near(rgba, colour)) for colour in (INPUT_GREEN, HIDDEN_BLUE, OUTPUT_ORANGE))
    assert len(x) and len(h) and len(out_layer), "a layer is missing from the picture"
    # placed as in the design: inputs left of h, h left of out
    assert x.mean() < h.mean() < out_layer.mean()
    assert x.max() < h.min() and h.max() < out_layer.min()


def test_svg_of_xor_is_vector_drawing_naming_its_layers(tmp_path):
    out = tmp_path / "xor.svg"
    result = nnd("export", XOR, "--to", "svg", "-o", out)
    assert result.returncode == 0, result.stderr
    root = ET.parse(out).getroot()  # well-formed XML
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == "XOR"
    tags = {element.tag.removeprefix(SVG) for element in root.iter()}
    assert {"path", "polyline", "text"} <= tags  # cards, links and labels drawn as vectors
    assert "image" not in tags  # not bitmaps of cached items
    texts = [element.text.strip() for element in root.iter(f"{SVG}text") if element.text]
    for label in ("inputs", "h", "out", "tanh · 4", "sigmoid · 1"):
        assert label in texts, texts
    # a browser shows the labels in a sans-serif face, not its serif fallback for an unknown family
    families = {element.get("font-family") for element in root.iter(f"{SVG}text")}
    assert families and all(family.endswith("sans-serif") for family in families), families


def test_trained_links_are_orange_where_positive_and_blue_where_negative(tmp_path):
    trained = trained_xor(tmp_path, first=1.5, second=-1.5)
    out = tmp_path / "trained.png"
    result = nnd("export", trained, "--to", "png", "-o", out)
    assert result.returncode == 0, result.stderr
    assert "no trained weights" not in result.stderr
    rgba = pixels(out)
    orange, blue = near(rgba, POSITIVE), near(rgba, NEGATIVE)
    assert orange.sum() > 200 and blue.sum() > 200, (orange.sum(), blue.sum())
    # the positive links run from the inputs to h, the negative ones from h to the output
    h = columns(near(rgba, HIDDEN_BLUE))
    assert np.median(columns(orange)) < h.mean() < np.median(columns(blue))
    plain = tmp_path / "plain.png"
    assert nnd("export", XOR, "--to", "png", "-o", plain).returncode == 0
    untrained = pixels(plain)
    assert near(untrained, POSITIVE).sum() < 10 and near(untrained, NEGATIVE).sum() < 10


def test_a_missing_folder_or_a_wrong_name_exits_2_with_the_reason(tmp_path):
    for out, words in ((tmp_path / "no-such-folder" / "net.png", ("no-such-folder", "does not exist")),
                       (tmp_path / "net.svg", ("--to png", ".png")),
                       (tmp_path, ("folder",))):
        result = nnd("export", XOR, "--to", "png", "-o", out)
        output = result.stdout + result.stderr
        assert result.returncode == 2, output
        assert "Traceback" not in output, output
        for word in words:
            assert word in output, output
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary file
    (tmp_path / "a-file").write_text("not a folder")
    result = nnd("export", XOR, "--to", "svg", "-o", tmp_path / "a-file" / "net.svg")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr


def test_the_command_line_module_does_not_load_qt_until_a_picture_is_asked_for():
    code = "import sys, designer.cli; sys.exit(1 if any(m.startswith('PySide6') for m in sys.modules) else 0)"
    assert subprocess.run([sys.executable, "-c", code], timeout=TIMEOUT).returncode == 0


# ---------------------------------------------------------------- render_picture
def test_svg_and_png_frame_the_same_drawing(qapp, tmp_path):
    from designer.ui.picture import render_picture

    project = read_project(XOR)
    render_picture(project, tmp_path / "one.png", scale=1.0)
    render_picture(project, tmp_path / "two.png", scale=2.0)
    render_picture(project, tmp_path / "net.svg")
    view_box = [float(v) for v in ET.parse(tmp_path / "net.svg").getroot().get("viewBox").split()]
    one, two = pixels(tmp_path / "one.png"), pixels(tmp_path / "two.png")
    assert one.shape[:2] == (math.ceil(view_box[3]), math.ceil(view_box[2]))
    assert two.shape[:2] == (2 * one.shape[0], 2 * one.shape[1])  # sharper, the same picture


def test_transparent_background_and_errors_a_caller_can_meet(qapp, tmp_path):
    from designer.ui.picture import PictureError, render_picture

    graph = read_project(XOR).graph
    render_picture(graph, tmp_path / "clear.png", background=None)
    rgba = pixels(tmp_path / "clear.png")
    assert rgba[0, 0, 3] == 0 and (rgba[..., 3] == 255).any()
    with pytest.raises(PictureError, match="no layers"):
        render_picture(Graph(), tmp_path / "empty.png")
    with pytest.raises(PictureError, match=r"\.svg or \.png"):
        render_picture(graph, tmp_path / "net.gif")
    with pytest.raises(PictureError, match="scale"):
        render_picture(graph, tmp_path / "net.png", scale=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clear.png"]


def test_a_picture_leaves_the_design_free_to_change(qapp, tmp_path):
    """The scene drawn for a picture stops following the graph, which lives on (in the window, say)."""
    import gc

    from designer.graph import Layer
    from designer.ui.canvas.scene import CanvasScene
    from designer.ui.picture import render_picture

    def scenes() -> int:
        gc.collect()
        # type(), not isinstance(): isinstance reads __class__, which torch's deprecated aliases warn about
        return sum(type(o) is CanvasScene for o in gc.get_objects())

    graph = read_project(XOR).graph
    before = scenes()
    render_picture(graph, tmp_path / "net.svg")
    assert scenes() == before  # the graph holds no scene alive through its events
    graph.add_layer(Layer(id="extra", kind="neurons", shape=(3,), position=(660.0, 0.0)))
    graph.connect("out", "extra")
    render_picture(graph, tmp_path / "net.svg")
    texts = [e.text.strip() for e in ET.parse(tmp_path / "net.svg").getroot().iter(f"{SVG}text") if e.text]
    assert "extra" in texts
