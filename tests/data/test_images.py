"""Image-folder datasets: real PNG/JPEG files made with Pillow, loaded, resized and split; and their errors."""
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from designer.data import DataError, describe, load_dataset

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def picture(path, colour, size=(8, 6), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)


def make_folder(tmp_path):
    """pictures/red/ holds three red images, pictures/blue/ two blue ones of other sizes and formats, beside a
    text file, a hidden file and a hidden folder that are not images."""
    root = tmp_path / "pictures"
    for i in range(3):
        picture(root / "red" / f"r{i}.png", RED, size=(8 + i, 6))
    picture(root / "blue" / "b0.jpg", BLUE, size=(5, 5))
    picture(root / "blue" / "b1.bmp", BLUE, size=(12, 4))
    (root / "blue" / "notes.txt").write_text("not an image")
    (root / "blue" / ".DS_Store").write_bytes(b"\0\1junk")
    (root / ".hidden").mkdir()
    return root


@pytest.fixture
def folder(tmp_path):
    return make_folder(tmp_path)


def load(base, path="pictures", **fields):
    return load_dataset({"kind": "images", "path": path, **fields}, base_dir=base)


def test_colour_images_load_resized_in_zero_to_one_with_sorted_class_folders(tmp_path, folder):
    ds = load(tmp_path, size=[4, 3], validation_split=0.4, seed=1)
    assert (ds.name, ds.task, ds.class_names, ds.num_classes) == ("pictures", "classification", ["blue", "red"], 2)
    assert ds.input_shape == (3, 4, 3) and not ds.is_sequence and ds.feature_names == []
    x = torch.cat([ds.x_train, ds.x_val])
    y = torch.cat([ds.y_train, ds.y_val])
    assert x.dtype == torch.float32 and tuple(x.shape) == (5, 3, 4, 3) and y.dtype == torch.int64
    assert sorted(y.tolist()) == [0, 0, 1, 1, 1]
    # red pictures are red in channel 0, blue ones in channel 2 (JPEG may shift a value by a few levels)
    channel_means = x.mean(dim=(2, 3))
    assert torch.allclose(channel_means[y == 1], torch.tensor([1.0, 0.0, 0.0]), atol=0.02)
    assert torch.allclose(channel_means[y == 0], torch.tensor([0.0, 0.0, 1.0]), atol=0.05)
    assert len(ds.x_val) == 2 and sorted(ds.y_train.tolist()) == [0, 1, 1]


def test_grayscale_gives_one_channel(tmp_path, folder):
    picture(folder / "white" / "w.png", WHITE)
    ds = load(tmp_path, size=[2, 2], grayscale=True, validation_split=0)
    assert ds.input_shape == (1, 2, 2) and tuple(ds.x_train.shape) == (6, 1, 2, 2) and len(ds.x_val) == 0
    white = ds.x_train[ds.y_train == ds.class_names.index("white")]
    assert torch.allclose(white, torch.ones_like(white))
    assert (ds.x_train[ds.y_train != 2] < 0.5).all()  # pure red and blue are darker than mid grey


def test_the_default_size_is_32_by_32_colour(tmp_path, folder):
    assert load(tmp_path).input_shape == (3, 32, 32)


def test_palette_images_with_transparency_load_without_warnings(tmp_path, folder):
    image = Image.new("P", (4, 4), 0)
    image.putpalette([0, 255, 0] * 256)
    image.info["transparency"] = 0
    image.save(folder / "red" / "palette.png", transparency=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load(tmp_path, size=[4, 4])
    assert len(ds.x_train) + len(ds.x_val) == 6


def test_same_seed_same_split(tmp_path, folder):
    first, again = load(tmp_path, seed=3, size=[4, 4]), load(tmp_path, seed=3, size=[4, 4])
    assert torch.equal(first.x_val, again.x_val) and torch.equal(first.y_train, again.y_train)


def test_a_missing_folder_names_it(tmp_path):
    with pytest.raises(DataError, match=r"image folder 'photos' not found.*photos"):
        load(tmp_path, "photos")


def test_a_file_instead_of_a_folder(tmp_path):
    picture(tmp_path / "one.png", RED)
    with pytest.raises(DataError, match="'one.png' is a file"):
        load(tmp_path, "one.png")


def test_one_class_is_not_enough(tmp_path):
    picture(tmp_path / "pictures" / "red" / "r.png", RED)
    with pytest.raises(DataError, match=r"'pictures' needs at least two sub-folders.*'red'"):
        load(tmp_path)


def test_an_empty_class_is_named(tmp_path, folder):
    (folder / "green").mkdir()
    (folder / "green" / "readme.txt").write_text("nothing here")
    with pytest.raises(DataError, match="class folder 'green' in 'pictures' holds no images"):
        load(tmp_path)


def test_an_unreadable_image_is_named(tmp_path, folder):
    (folder / "red" / "broken.png").write_bytes(b"this is not a PNG")
    with pytest.raises(DataError) as error:
        load(tmp_path)
    assert "broken.png" in str(error.value) and "red" in str(error.value)


@pytest.mark.parametrize("size", [[0, 4], [4], [2000, 2000], "32", [4.5, 4]])
def test_a_bad_size_is_refused(tmp_path, folder, size):
    with pytest.raises(DataError, match="'size'"):
        load(tmp_path, size=size)


def test_describe_lists_without_decoding(tmp_path, folder):
    assert describe({"kind": "images", "path": "pictures", "size": [8, 8], "grayscale": True}, tmp_path) == (
        "images pictures: 5 images, 2 classes, 1x8x8 inputs, 20% for validation")


def test_real_pictures_keep_their_content_through_the_resize(tmp_path):
    # a left-dark, right-bright picture stays so after shrinking
    pixels = np.zeros((20, 40), dtype=np.uint8)
    pixels[:, 20:] = 255
    for cls in ("a", "b"):
        (tmp_path / "p" / cls).mkdir(parents=True)
        Image.fromarray(pixels).save(tmp_path / "p" / cls / "half.png")
    ds = load(tmp_path, "p", size=[2, 4], grayscale=True, validation_split=0)
    image = ds.x_train[0, 0]
    assert tuple(image.shape) == (2, 4)
    assert (image[:, :2] < 0.25).all() and (image[:, 2:] > 0.75).all()  # bilinear softens only the edge
    assert image[:, 0].max() == 0.0 and image[:, 3].min() == 1.0


def test_sixteen_bit_pictures_keep_their_grey_levels(tmp_path):
    levels = np.array([[0, 16384], [32768, 65535]], dtype=np.uint16)
    for cls in ("a", "b"):
        (tmp_path / "deep" / cls).mkdir(parents=True)
        Image.fromarray(levels).save(tmp_path / "deep" / cls / "levels.png")
    for grayscale, channels in ((True, 1), (False, 3)):
        ds = load(tmp_path, "deep", size=[2, 2], grayscale=grayscale, validation_split=0)
        expected = torch.tensor([[0.0, 0.25], [0.5, 1.0]]).expand(channels, 2, 2)
        assert torch.allclose(ds.x_train[0], expected, atol=0.01)
