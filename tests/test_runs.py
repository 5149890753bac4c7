"""fsttopo.data.runs: runs of set flags, against a plain loop over the flags."""

import numpy as np
import pytest
import torch

from fsttopo.data.runs import long_runs, true_runs


def loop_runs(flags):
    runs, start = [], None
    for i, f in enumerate(list(flags) + [False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            runs.append((start, i))
            start = None
    return runs


@pytest.mark.parametrize("seed", range(20))
def test_true_runs_and_long_runs_equal_a_loop(seed):
    rng = np.random.default_rng(seed)
    flags = rng.random(int(rng.integers(0, 40))) < rng.uniform(0.2, 0.9)
    starts, ends = true_runs(flags)
    assert list(zip(starts.tolist(), ends.tolist())) == loop_runs(flags)
    assert starts.dtype == np.int64
    starts_t, _ = true_runs(torch.from_numpy(flags))
    assert starts_t.tolist() == starts.tolist()
    for min_length in (1, 2, 3, 5):
        expected = np.zeros(len(flags), dtype=bool)
        for s, e in loop_runs(flags):
            if e - s >= min_length:
                expected[s:e] = True
        assert long_runs(flags, min_length).tolist() == expected.tolist()


def test_edges_and_errors():
    assert [r.tolist() for r in true_runs(np.array([True, True]))] == [[0], [2]]
    assert [r.tolist() for r in true_runs(np.zeros(0, dtype=bool))] == [[], []]
    with pytest.raises(ValueError, match="1-D"):
        true_runs(np.zeros((2, 2), dtype=bool))
