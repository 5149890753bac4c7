"""B=1 Viterbi on the CPU, the case of `fsttopo align` on one file, against torchaudio's forced_align.

Run it on an idle machine and again next to a busy process (e.g. a training job on every core):
the engine's kernels start one Numba thread per utterance at most, so a single utterance never
waits for a second core (docs/benchmarks.md, "A busy machine").

    .venv/bin/python benchmarks/small_batch.py
"""

from __future__ import annotations

import time

import numba
import torch
import torchaudio.functional as AF

from fsttopo.engine import viterbi
from fsttopo.topology import ctc_graph


def _times(fn, repeats: int = 50) -> tuple[float, float]:
    fn()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    out.sort()
    return 1000 * out[len(out) // 2], 1000 * out[int(0.9 * len(out))]


def main() -> None:
    torch.manual_seed(0)
    T, V, S = 150, 40, 30  # 6 s at 40 ms frames, 30 phones
    log_probs = torch.randn(1, T, V).log_softmax(-1)
    labels = torch.randint(1, V, (1, S))
    graph = ctc_graph(labels.tolist(), num_classes=V)
    ours = _times(lambda: viterbi(log_probs, [T], graph))
    peer = _times(lambda: AF.forced_align(log_probs, labels, torch.tensor([T]), torch.tensor([S]), blank=0))
    print(f"numba threads {numba.get_num_threads()} ({numba.threading_layer()} layer), T={T}, S={S}")
    print(f"fsttopo viterbi      median {ours[0]:.2f} ms, p90 {ours[1]:.2f} ms")
    print(f"torchaudio forced_align median {peer[0]:.2f} ms, p90 {peer[1]:.2f} ms")
    print(f"ratio (median) {ours[0] / peer[0]:.2f}x")


if __name__ == "__main__":
    main()
