"""The engine's kernels start at most one Numba thread per utterance and leave the setting as it was,
and starting Numba's pool leaves torch's thread count as it was."""

import os
import subprocess
import sys

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


_TORCH_THREADS_AFTER_KERNELS = """
import torch
torch.set_num_threads(1)
from fsttopo.engine import viterbi
from fsttopo.topology import ctc_graph
log_probs = torch.randn(2, 30, 5).log_softmax(-1)
viterbi(log_probs, [30, 30], ctc_graph([[1, 2], [3]], num_classes=5), backend="numba")
print(torch.get_num_threads())
"""


def test_numba_pool_leaves_torch_threads_as_they_were():
    # a fresh process: Numba's pool starts once per process, and only its start changed torch's count
    env = {**os.environ, "NUMBA_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", _TORCH_THREADS_AFTER_KERNELS], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["1"]


def test_set_threads_sets_torch_threads_even_when_it_starts_the_numba_pool():
    code = "import torch\nfrom fsttopo.threads import set_threads\nset_threads(1)\nprint(torch.get_num_threads())"
    env = {**os.environ, "NUMBA_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1"]
