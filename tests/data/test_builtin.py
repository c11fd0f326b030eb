"""The built-in datasets have the documented shapes, classes and geometry, and are reproducible by seed."""
import math

import numpy as np
import pytest
import torch

from designer.data import BUILTIN_DATASETS, DataError, Dataset, load_dataset

# name: (task, classes, per-sample input shape, is_sequence, default samples), as documented in the report
DOCUMENTED = {
    "gate_and": ("classification", ["0", "1"], (2,), False, 64),
    "gate_or": ("classification", ["0", "1"], (2,), False, 64),
    "gate_xor": ("classification", ["0", "1"], (2,), False, 64),
    "circle": ("classification", ["outside", "inside"], (2,), False, 400),
    "xor": ("classification", ["0", "1"], (2,), False, 400),
    "gaussians": ("classification", ["0", "1"], (2,), False, 400),
    "spiral": ("classification", ["0", "1"], (2,), False, 400),
    "moons": ("classification", ["0", "1"], (2,), False, 400),
    "plane": ("regression", [], (2,), False, 400),
    "bumps": ("regression", [], (2,), False, 400),
    "shapes": ("classification", ["circle", "square", "triangle", "cross"], (16, 16), False, 1000),
    "sine": ("regression", [], (1,), True, 500),
}
SPEC_NAMES = ["gate_and", "gate_or", "gate_xor", "circle", "xor", "gaussians", "spiral", "moons", "plane",
              "bumps", "shapes", "sine"]
TRUTH = {"gate_and": lambda a, b: a and b, "gate_or": lambda a, b: a or b, "gate_xor": lambda a, b: a != b}


def builtin(name: str, **fields) -> Dataset:
    return load_dataset({"kind": "builtin", "name": name, **fields})


def whole(ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation joined, as numpy arrays."""
    return (torch.cat([ds.x_train, ds.x_val]).numpy(), torch.cat([ds.y_train, ds.y_val]).numpy())


def test_the_catalogue_is_the_specs_list():
    assert list(BUILTIN_DATASETS) == SPEC_NAMES


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_builtin_has_the_documented_shapes_dtypes_and_classes(name):
    task, classes, input_shape, is_sequence, samples = DOCUMENTED[name]
    ds = builtin(name)
    assert (ds.name, ds.task, ds.class_names, ds.input_shape, ds.is_sequence) == (
        name, task, classes, input_shape, is_sequence)
    assert ds.num_classes == len(classes)
    assert len(ds.x_train) + len(ds.x_val) == samples
    assert len(ds.x_val) == round(samples * 0.2)
    steps = (20,) if is_sequence else ()
    for x, y in ((ds.x_train, ds.y_train), (ds.x_val, ds.y_val)):
        assert x.dtype == torch.float32 and tuple(x.shape) == (len(x), *steps, *input_shape)
        assert len(y) == len(x)
        if task == "classification":
            assert y.dtype == torch.int64 and y.dim() == 1
            assert 0 <= int(y.min()) and int(y.max()) < len(classes)
        else:
            assert y.dtype == torch.float32 and tuple(y.shape) == (len(x), 1)
        assert torch.isfinite(x).all() and torch.isfinite(y.float()).all()
    if task == "classification":  # every class is there to learn from
        assert set(ds.y_train.tolist()) == set(range(len(classes)))
    assert len(ds.feature_names) == (0 if name == "shapes" else math.prod(input_shape))


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_same_seed_gives_identical_data_and_split_another_seed_differs(name):
    first, again, other = builtin(name, seed=7), builtin(name, seed=7), builtin(name, seed=8)
    for field in ("x_train", "y_train", "x_val", "y_val"):
        assert torch.equal(getattr(first, field), getattr(again, field)), field
    assert not torch.equal(first.x_train, other.x_train)


@pytest.mark.parametrize("name", ["spiral", "plane", "shapes", "sine"])
def test_changing_the_split_keeps_the_samples(name):
    def rows(ds):
        x, _ = whole(ds)
        return sorted(map(tuple, x.reshape(len(x), -1).round(6).tolist()))

    assert rows(builtin(name, validation_split=0.1)) == rows(builtin(name, validation_split=0.5))


@pytest.mark.parametrize("name", ["gate_and", "gate_or", "gate_xor"])
def test_gates_with_no_noise_are_the_truth_table(name):
    ds = builtin(name, samples=64, noise=0)
    x, y = whole(ds)
    assert set(np.unique(x)) == {0.0, 1.0}
    for (a, b), label in zip(x.astype(int), y):
        assert label == int(TRUTH[name](a, b))
    rows = [tuple(r) for r in x.astype(int)]
    assert {r: rows.count(r) for r in set(rows)} == {(0, 0): 16, (0, 1): 16, (1, 0): 16, (1, 1): 16}
    assert builtin(name).x_train.unique().tolist() == [0.0, 1.0]  # noise 0 is the default for gates


def test_noisy_gates_jitter_the_inputs_but_keep_the_labels_of_the_clean_rows():
    x, y = whole(builtin("gate_xor", noise=0.1, samples=200))
    assert not np.isin(x, [0.0, 1.0]).all()
    clean = np.round(x).astype(int)
    assert (y == (clean[:, 0] != clean[:, 1])).all()


@pytest.mark.parametrize("name", ["circle", "xor", "spiral", "moons", "plane", "bumps"])
def test_points_without_noise_lie_in_the_documented_square(name):
    x, _ = whole(builtin(name, noise=0))
    assert np.abs(x).max() <= 1.0 + 1e-6
    assert np.abs(x).max() > 0.8  # and fill it, not a corner of it


def test_circle_inside_and_outside_are_rings_with_a_gap():
    x, y = whole(builtin("circle", noise=0))
    radius = np.hypot(x[:, 0], x[:, 1])
    assert radius[y == 1].max() <= 0.5 + 1e-6
    assert radius[y == 0].min() >= 0.7 - 1e-6
    assert (y == 1).sum() == (y == 0).sum() == 200


def test_xor_classes_are_the_quadrants():
    x, y = whole(builtin("xor", noise=0))
    assert (y == ((x[:, 0] > 0) != (x[:, 1] > 0))).all()
    assert len({(a > 0, b > 0) for a, b in x}) == 4


def test_gaussians_are_two_blobs_around_plus_and_minus_a_half():
    x, y = whole(builtin("gaussians", noise=0, samples=4000))
    assert np.allclose(x[y == 0].mean(axis=0), [-0.5, -0.5], atol=0.03)
    assert np.allclose(x[y == 1].mean(axis=0), [0.5, 0.5], atol=0.03)
    assert np.allclose(x[y == 1].std(axis=0), 0.25, atol=0.03)


def test_spiral_arms_are_point_mirrors_of_each_other():
    x, y = whole(builtin("spiral", noise=0, samples=2000))
    radius, angle = np.hypot(x[:, 0], x[:, 1]), np.arctan2(x[:, 1], x[:, 0])
    # On an arm the angle grows with the radius: the angle at a given radius tells the arms apart by pi.
    expected = 2 * np.pi * 1.75 * (radius - 0.05) / 0.95 + np.pi * y
    assert np.allclose(np.cos(angle - expected), 1.0, atol=1e-6)


def test_noise_moves_points_by_about_its_size():
    clean, _ = whole(builtin("moons", noise=0, seed=3))
    noisy, _ = whole(builtin("moons", noise=0.1, seed=3))
    assert 0.08 < float(np.std(noisy - clean)) < 0.12


def test_plane_is_the_mean_of_the_inputs():
    x, y = whole(builtin("plane", noise=0))
    assert np.allclose(y[:, 0], x.mean(axis=1), atol=1e-6)
    _, noisy = whole(builtin("plane", noise=0.2))
    assert 0.17 < float(np.std(noisy[:, 0] - x.mean(axis=1))) < 0.23


def test_bumps_rise_and_fall_where_documented():
    x, y = whole(builtin("bumps", noise=0, samples=4000))
    near_hill = np.hypot(*(x - [-0.4, -0.4]).T) < 0.1
    near_dip = np.hypot(*(x - [0.4, 0.4]).T) < 0.1
    far = np.hypot(*(x - [0.8, -0.8]).T) < 0.1
    assert y[near_hill].min() > 0.9 and y[near_dip].max() < -0.9 and np.abs(y[far]).max() < 0.05
    assert -1.0 <= y.min() and y.max() <= 1.0


def _bounding_box(image: np.ndarray) -> np.ndarray:
    lit = image > 0
    rows, cols = np.flatnonzero(lit.any(axis=1)), np.flatnonzero(lit.any(axis=0))
    return lit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def test_shapes_images_show_the_shape_their_label_names():
    ds = builtin("shapes", noise=0, samples=800)
    x, y = whole(ds)
    assert x.min() == 0.0 and x.max() <= 1.0
    fill, top_heavy = {}, {}
    for label, name in enumerate(ds.class_names):
        boxes = [_bounding_box(image) for image in x[y == label]]
        assert len(boxes) == 200 and all(box.sum() >= 9 for box in boxes)  # one visible shape each
        fill[name] = np.mean([box.mean() for box in boxes])
        top_heavy[name] = np.mean([box[: len(box) // 2].sum() / box[len(box) - len(box) // 2:].sum()
                                   for box in boxes])
    assert fill["square"] == 1.0
    assert 0.7 < fill["circle"] < 0.9
    assert fill["triangle"] < 0.65 and fill["cross"] < 0.65
    assert top_heavy["triangle"] < 0.5  # the apex points up
    assert 0.9 < top_heavy["circle"] < 1.1 and 0.9 < top_heavy["cross"] < 1.1
    # places and sizes vary
    assert len({box.shape for box in map(_bounding_box, x)}) > 10
    assert len({tuple(np.argwhere(image > 0)[0]) for image in x}) > 50


def test_shapes_noise_stays_in_zero_to_one():
    x, _ = whole(builtin("shapes", noise=0.3, samples=100))
    assert x.min() == 0.0 and x.max() == 1.0
    assert 0.0 < (x[x < 0.5]).mean()  # the background is speckled


def test_sine_target_is_the_next_value_of_the_wave():
    ds = builtin("sine", noise=0)
    x, y = whole(ds)
    x = x[:, :, 0].astype(np.float64)
    # A sampled sine obeys s[t+1] = 2 cos(w) s[t] - s[t-1]; fit cos(w) per sequence and extrapolate one step.
    cos_w = ((x[:, 2:] + x[:, :-2]) * x[:, 1:-1]).sum(axis=1) / (2 * (x[:, 1:-1] ** 2).sum(axis=1))
    assert np.allclose(np.abs(x).max(axis=1), 1.0, atol=0.1)  # amplitude 1
    predicted = 2 * cos_w * x[:, -1] - x[:, -2]
    assert np.allclose(predicted, y[:, 0], atol=1e-4)
    frequency = np.arccos(np.clip(cos_w, -1, 1)) / (2 * np.pi)
    assert 0.02 - 1e-3 <= frequency.min() and frequency.max() <= 0.15 + 1e-3 and frequency.std() > 0.02


def test_sine_noise_is_on_the_inputs_only():
    clean, noisy = builtin("sine", noise=0, seed=5), builtin("sine", noise=0.1, seed=5)
    assert torch.equal(clean.y_train, noisy.y_train)
    assert 0.08 < float((noisy.x_train - clean.x_train).std()) < 0.12


@pytest.mark.parametrize("split", [0.0, 0.1, 0.5, 0.9])
def test_validation_split_is_stratified_and_keeps_every_class_in_training(split):
    ds = builtin("shapes", samples=400, validation_split=split)
    assert len(ds.x_val) == round(400 * split)
    assert tuple(ds.x_val.shape[1:]) == (16, 16)
    assert torch.bincount(ds.y_train, minlength=4).tolist() == [round(100 * (1 - split))] * 4
    if split:
        assert torch.bincount(ds.y_val, minlength=4).tolist() == [round(100 * split)] * 4


def test_a_tiny_gate_still_trains_on_every_class():
    ds = builtin("gate_and", samples=4, validation_split=0.9)
    assert sorted(ds.y_train.tolist()) == [0, 1] and len(ds.x_val) == 2


@pytest.mark.parametrize("fields, field", [
    ({"samples": 0}, "samples"), ({"samples": -5}, "samples"), ({"samples": 1_000_001}, "samples"),
    ({"samples": 2.5}, "samples"), ({"samples": True}, "samples"), ({"samples": "400"}, "samples"),
    ({"noise": -0.1}, "noise"), ({"noise": float("nan")}, "noise"), ({"noise": 100}, "noise"),
    ({"validation_split": 0.95}, "validation_split"), ({"validation_split": -0.1}, "validation_split"),
    ({"validation_split": "0.2"}, "validation_split"), ({"seed": -1}, "seed"), ({"seed": "one"}, "seed"),
])
def test_absurd_fields_are_refused_by_name(fields, field):
    with pytest.raises(DataError, match=f"'{field}'"):
        builtin("spiral", **fields)


def test_whole_floats_from_json_are_accepted():
    assert len(builtin("xor", samples=100.0, seed=3.0).x_train) == 80


def test_unknown_builtin_lists_the_valid_names():
    with pytest.raises(DataError) as error:
        builtin("spirals")
    assert "'spirals'" in str(error.value)
    assert all(name in str(error.value) for name in SPEC_NAMES)
