"""Image-folder datasets: one sub-folder of pictures per class, resized to one size, scaled to [0, 1].

The classes are the sub-folders' names in sorted order; hidden entries (``.DS_Store``, ``.ipynb_checkpoints``)
and files that are not images by their suffix are ignored, as are folders nested inside a class folder.
Pillow reads each picture (EXIF rotation applied), converts it to grey or RGB and resizes it to
``size [height, width]`` with bilinear filtering. ``x`` is ``[n, 1, h, w]`` grey or ``[n, 3, h, w]`` colour.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .dataset import CLASSIFICATION, Dataset, split_indices, to_dataset
from .errors import SILENT, DataError, Progress
from .options import MAX_SAMPLES, is_whole, flag_of, path_of, seed_of, validation_split_of

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
DEFAULT_SIZE = (32, 32)
MAX_SIDE = 1024
MAX_BYTES = 4 << 30  # the decoded float32 images must fit comfortably in memory


def _size_of(spec: dict) -> tuple[int, int]:
    value = spec.get("size", list(DEFAULT_SIZE))
    if value is None:
        return DEFAULT_SIZE
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(is_whole(side) and 1 <= side <= MAX_SIDE for side in value)):
        raise DataError(f"dataset field 'size' must be [height, width] in pixels, each from 1 to {MAX_SIDE}, "
                        f"not {value!r}")
    return int(value[0]), int(value[1])


def _visible(entry: Path) -> bool:
    return not entry.name.startswith(".")


def class_folders(spec: dict, base_dir: Path | str | None) -> tuple[Path, str, list[tuple[str, list[Path]]]]:
    """The folder, how the user wrote it, and each class with its image files (both sorted by name)."""
    folder, shown = path_of(spec, base_dir, "image folder")
    if not folder.exists():
        raise DataError(f"image folder {shown!r} not found (looked for {folder})")
    if not folder.is_dir():
        raise DataError(f"image path {shown!r} is a file; it must be a folder holding one sub-folder per class")
    try:
        classes = sorted((e for e in folder.iterdir() if e.is_dir() and _visible(e)), key=lambda e: e.name)
        found = []
        for entry in classes:
            files = sorted((f for f in entry.iterdir()
                            if f.is_file() and _visible(f) and f.suffix.lower() in IMAGE_SUFFIXES),
                           key=lambda f: f.name)
            found.append((entry.name, files))
    except OSError as exc:
        raise DataError(f"cannot read image folder {shown!r}: {exc.strerror or exc}") from None
    if len(found) < 2:
        names = f" (found only {found[0][0]!r})" if found else ""
        raise DataError(f"image folder {shown!r} needs at least two sub-folders, one per class, each holding "
                        f"that class's images{names}")
    for name, files in found:
        if not files:
            raise DataError(f"class folder {name!r} in {shown!r} holds no images "
                            f"({', '.join(sorted(IMAGE_SUFFIXES))})")
    total = sum(len(files) for _, files in found)
    if total > MAX_SAMPLES:
        raise DataError(f"image folder {shown!r} holds {total:,} images, more than NN Designer trains on "
                        f"({MAX_SAMPLES:,}); use a sample of them")
    return folder, shown, found


def _pixels(image, grayscale: bool, height: int, width: int) -> np.ndarray:
    """One picture as ``[height, width, channels]`` floats in [0, 1]."""
    from PIL import Image

    if image.mode.startswith("I") or image.mode == "F":
        # 16-bit and float pictures: converting to 8-bit would clip everything above 255 to white, so
        # scale to [0, 1] first (16-bit range for integers, as-is for floats) and resize the grey values.
        grey = np.asarray(image, dtype=np.float32) / (65535.0 if image.mode.startswith("I") else 1.0)
        grey = Image.fromarray(np.clip(grey, 0.0, 1.0))  # float32 array: mode "F"
        resized = np.asarray(grey.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)
        return np.repeat(np.clip(resized, 0.0, 1.0)[:, :, None], 1 if grayscale else 3, axis=2)
    if image.mode in ("P", "PA"):  # via RGBA, or Pillow warns about palette transparency
        image = image.convert("RGBA")
    pixels = image.convert("L" if grayscale else "RGB").resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(pixels, dtype=np.float32).reshape(height, width, -1) / np.float32(255)


def load_images(spec: dict, base_dir: Path | str | None, progress: Progress = SILENT) -> Dataset:
    """Load an ``images`` dataset block, stratified into training and validation by class."""
    from PIL import Image, ImageOps  # only image datasets pay for Pillow

    height, width = _size_of(spec)
    grayscale = flag_of(spec, "grayscale", False)
    split = validation_split_of(spec)
    seed = seed_of(spec)
    folder, shown, found = class_folders(spec, base_dir)
    channels = 1 if grayscale else 3
    count = sum(len(files) for _, files in found)
    needed = count * channels * height * width * 4
    if needed > MAX_BYTES:
        raise DataError(f"image folder {shown!r}: {count:,} images of {channels}x{height}x{width} need "
                        f"{needed / 2**30:.1f} GiB; choose a smaller 'size' or fewer images")
    x = np.empty((count, height, width, channels), dtype=np.float32)
    y = np.empty(count, dtype=np.int64)
    row = 0
    for label, (name, files) in enumerate(found):
        for file in files:
            try:
                with Image.open(file) as image:
                    x[row] = _pixels(ImageOps.exif_transpose(image), grayscale, height, width)
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
                raise DataError(f"cannot read image {str(Path(shown) / name / file.name)!r}: {exc}") from None
            y[row] = label
            row += 1
    x = x.transpose(0, 3, 1, 2)
    train, val = split_indices(count, split, np.random.default_rng(seed), y)
    return to_dataset(x, y, train, val, task=CLASSIFICATION, class_names=[name for name, _ in found],
                      feature_names=[], input_shape=(channels, height, width), is_sequence=False,
                      name=folder.name)


def describe_images(spec: dict, base_dir: Path | str | None) -> str:
    """"images flowers: 120 images, 3 classes, 3x32x32 inputs", from a listing of the folders."""
    height, width = _size_of(spec)
    channels = 1 if flag_of(spec, "grayscale", False) else 3
    folder, _, found = class_folders(spec, base_dir)
    count = sum(len(files) for _, files in found)
    return (f"images {folder.name}: {count} images, {len(found)} classes, {channels}x{height}x{width} inputs, "
            f"{round(validation_split_of(spec) * 100)}% for validation")
