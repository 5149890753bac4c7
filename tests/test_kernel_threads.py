"""The engine's kernels start at most one Numba thread per utterance and leave the setting as it was."""

import numba
import torch

from fsttopo.engine import numba_kernels, viterbi
from fsttopo.topology import ctc_graph


def test_threads_for_caps_at_the_batch_and_restores():
    before = numba.get_num_threads()
    with numba_kernels._threads_for(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with numba_kernels._threads_for(10_000):
        assert numba.get_num_threads() == before  # never more than were set


def test_single_utterance_path_is_the_same_inside_a_batch():
    torch.manual_seed(0)
    log_probs = torch.randn(3, 40, 6).log_softmax(-1)
    targets = [[1, 2, 3], [4, 4], [5, 1, 2, 3]]
    batched = viterbi(log_probs, [40, 40, 40], ctc_graph(targets, num_classes=6), backend="numba")
    threads = numba.get_num_threads()
    for b, target in enumerate(targets):
        alone = viterbi(log_probs[b:b + 1], [40], ctc_graph([target], num_classes=6), backend="numba")
        assert torch.equal(alone.labels[0], batched.labels[b])
        assert numba.get_num_threads() == threads
