"""Render the application icon (resources/icons/app/nn-designer.svg) into the sizes each platform wants.

Writes, next to the SVG: ``nn-designer-<size>.png`` for 16..512 px (Linux hicolor theme, the window icon),
``nn-designer.ico`` (Windows: the executable, the installer and the .nnd file type) and
``nn-designer.icns`` (macOS: the .app bundle and the document type).
The outputs are committed, so a build never needs this script; rerun it after editing the SVG:

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/make_icons.py
"""
from __future__ import annotations

import io
import os
import sys
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QBuffer, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICON_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons" / "app"
SVG = ICON_DIR / "nn-designer.svg"
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)  # 1024 is the 512@2x Retina slot


def render(renderer: QSvgRenderer, size: int) -> QImage:
    """Draw the vector icon straight at ``size`` px: sharper than scaling a large bitmap down."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def to_pillow(image: QImage) -> Image.Image:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGBA")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (QImage/QPainter need it)
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        print(f"make_icons: {SVG} is not a valid SVG", file=sys.stderr)
        return 1
    images = {size: to_pillow(render(renderer, size)) for size in sorted(set(PNG_SIZES + ICO_SIZES + ICNS_SIZES))}
    for size in PNG_SIZES:
        images[size].save(ICON_DIR / f"nn-designer-{size}.png", optimize=True)
    # Pillow writes every requested size into one .ico/.icns; give it the largest drawing and let it pick
    # the hand-rendered smaller ones through append_images where the format supports that.
    largest_ico = images[max(ICO_SIZES)]
    largest_ico.save(ICON_DIR / "nn-designer.ico", sizes=[(s, s) for s in ICO_SIZES],
                     append_images=[images[s] for s in ICO_SIZES if s != max(ICO_SIZES)])
    images[max(ICNS_SIZES)].save(ICON_DIR / "nn-designer.icns",
                                 append_images=[images[s] for s in ICNS_SIZES if s != max(ICNS_SIZES)])
    written = sorted(p.name for p in ICON_DIR.iterdir() if p.suffix in {".png", ".ico", ".icns"})
    print(f"make_icons: wrote {len(written)} files to {ICON_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
