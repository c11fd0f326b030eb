"""How an epoch orders a big training set: a seeded permutation that reads memory one window at a time.

Up to ``LOCAL_SHUFFLE_FROM`` bytes of rows the order is ``torch.randperm``, as always; above it, random
blocks of consecutive rows shuffled within windows, so that a dataset streamed from a memory-mapped cache
touches one window of the file at a time. The rule depends only on the data's size, so a streamed run and
an in-memory run of the same data see the same batches.
"""
import numpy as np
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from designer.training import loop
from designer.training.loop import epoch_order, shuffle_window


def _order(n, row_bytes, seed=0):
    return epoch_order(n, row_bytes, torch.Generator().manual_seed(seed))


def test_a_small_training_set_is_shuffled_by_a_full_permutation():
    assert torch.equal(_order(1000, 80, seed=5), torch.randperm(1000, generator=torch.Generator().manual_seed(5)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # the same
# patched sizes for every example
@given(n=st.integers(1, 5000), row_bytes=st.sampled_from([4, 12, 80, 3000]), seed=st.integers(0, 2**31))
def test_every_row_is_visited_once_per_epoch_in_an_order_the_seed_repeats(monkeypatch, n, row_bytes, seed):
    monkeypatch.setattr(loop, "LOCAL_SHUFFLE_FROM", 1024)
    monkeypatch.setattr(loop, "BLOCK_BYTES", 256)
    monkeypatch.setattr(loop, "WINDOW_BYTES", 4096)
    order = _order(n, row_bytes, seed)
    assert torch.equal(order.sort().values, torch.arange(n))
    assert torch.equal(order, _order(n, row_bytes, seed))


def test_a_big_training_set_is_read_one_window_at_a_time_and_still_well_mixed(monkeypatch):
    monkeypatch.setattr(loop, "LOCAL_SHUFFLE_FROM", 1 << 16)
    monkeypatch.setattr(loop, "BLOCK_BYTES", 1 << 10)
    monkeypatch.setattr(loop, "WINDOW_BYTES", 1 << 14)
    n, row_bytes = 100_000, 8
    window = shuffle_window(n, row_bytes)
    block = (1 << 10) // row_bytes
    assert window == (1 << 14) // row_bytes
    order = _order(n, row_bytes).numpy()
    for start in range(0, n, window):  # a window of rows comes from window/block blocks of the file
        # (+1: the one short block at the end of the file shifts the windows after it by part of a block)
        assert len(np.unique(order[start:start + window] // block)) <= window // block + 1
    # and the epoch is not the file's order: consecutive rows of a batch are far apart, both epochs differ
    assert np.median(np.abs(np.diff(order[:window]))) > block / 4
    generator = torch.Generator().manual_seed(0)
    first, second = epoch_order(n, row_bytes, generator), epoch_order(n, row_bytes, generator)
    assert not torch.equal(first, second)


def test_streamed_and_in_memory_runs_of_a_big_table_see_the_same_batches(tmp_path, monkeypatch, csv_losses):
    monkeypatch.setattr(loop, "LOCAL_SHUFFLE_FROM", 4096)  # 600 rows x 12 bytes: the windowed order
    monkeypatch.setattr(loop, "BLOCK_BYTES", 120)
    monkeypatch.setattr(loop, "WINDOW_BYTES", 1200)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 3))
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(int)
    lines = ["a,b,c,label"] + [f"{a:.6f},{b:.6f},{c:.6f},{t}" for (a, b, c), t in zip(x, y)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")

    in_memory, streamed = csv_losses(tmp_path / "t.csv", 2, 16, "1G"), csv_losses(tmp_path / "t.csv", 2, 16, "1")
    assert len(in_memory[0]) == 2 * 30
    assert in_memory == streamed
