"""Benchmarks for the alignment methods of :mod:`fsttopo.align` (CPU; about a minute).

1. DTW alignment, batch 32, T = 1000 frames, S = 200 tokens, D = 256: the vectorized torch
   recursion and the Numba kernel against a straightforward per-cell Python loop. The loop is timed
   on ONE utterance and multiplied by 32 (extrapolated, not measured on the batch).
2. Gradient log-norms for GradScore on a small convolutional CTC model: the S vector-Jacobian
   products batched in one vmapped backward pass against one backward pass per label.

Everything runs on one thread (torch and Numba), like the Python loop it is compared with, and
because multi-threaded timings on a shared 2-core CPU mostly measure the neighbours. Times are the
best of 5 runs after a warm-up run.

Run: ``.venv/bin/python benchmarks/dtw.py``
"""

from __future__ import annotations

import time

import numba
import torch

from fsttopo.align import cosine_similarity_matrix, ctc_label_scores_fn, dtw_align, dtw_path, gradient_log_norms


def timeit(fn, repeats: int = 5) -> float:
    """Best wall time in seconds of ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def dtw_python_loop(sim: list[list[float]]) -> list[int]:
    """Reference DTW on one utterance: a Python loop over every (frame, token) cell."""
    T, S = len(sim), len(sim[0])
    neg = float("-inf")
    D = [[neg] * S for _ in range(T)]
    back = [[False] * S for _ in range(T)]
    D[0][0] = sim[0][0]
    for t in range(1, T):
        for s in range(S):
            stay = D[t - 1][s]
            diag = D[t - 1][s - 1] if s > 0 else neg
            back[t][s] = diag > stay
            D[t][s] = sim[t][s] + max(stay, diag)
    tokens, s = [0] * T, S - 1
    for t in range(T - 1, -1, -1):
        tokens[t] = s
        s -= back[t][s]
    return tokens


def bench_dtw() -> None:
    B, T, S, D = 32, 1000, 200, 256
    torch.manual_seed(0)
    speech, text = torch.randn(B, T, D), torch.randn(B, S, D)
    lengths_t, lengths_s = [T] * B, [S] * B
    sim = cosine_similarity_matrix(speech, text)
    t_sim = timeit(lambda: cosine_similarity_matrix(speech, text))
    t_torch = timeit(lambda: dtw_path(sim, lengths_t, lengths_s, backend="torch"))
    t_numba = timeit(lambda: dtw_path(sim, lengths_t, lengths_s, backend="numba"))
    t_full = timeit(lambda: dtw_align(speech, text, lengths_t, lengths_s))
    one = sim[0].double().tolist()
    t0 = time.perf_counter()
    ref = dtw_python_loop(one)
    t_loop = (time.perf_counter() - t0) * B
    got = dtw_path(sim[:1].double(), [T], [S]).tokens[0].tolist()
    assert got == ref, "vectorized DTW disagrees with the Python loop"

    print(f"## DTW alignment, B={B}, T={T}, S={S}, D={D} (CPU, 1 thread)")
    print("| DP + backtrace on a given similarity matrix | time per batch | speed-up vs Python loop |")
    print("| --- | --- | --- |")
    print(f"| per-cell Python loop (1 utterance timed, x {B}: extrapolated) | {t_loop:.2f} s | 1x |")
    print(f"| torch, frame recursion vectorized over batch and tokens | {t_torch * 1e3:.0f} ms | {t_loop / t_torch:.0f}x |")
    print(f"| numba kernel (compiled DP per utterance) | {t_numba * 1e3:.1f} ms | {t_loop / t_numba:.0f}x |")
    print(f"cosine-similarity matrix: {t_sim * 1e3:.0f} ms; dtw_align end to end (default backend): "
          f"{t_full * 1e3:.0f} ms")
    print()


def bench_grad_vjp() -> None:
    B, T, F, H, V, S = 4, 200, 40, 128, 50, 30
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv1d(F, H, 5, padding=2), torch.nn.ReLU(),
                              torch.nn.Conv1d(H, H, 5, padding=2), torch.nn.ReLU(), torch.nn.Conv1d(H, V, 1))
    x = torch.randn(B, T, F)
    targets = [torch.randint(1, V, (S,)).tolist() for _ in range(B)]
    lengths = [T] * B
    fn = ctc_label_scores_fn(lambda z: net(z.transpose(1, 2)).transpose(1, 2), lengths, targets)
    t_loop = timeit(lambda: gradient_log_norms(fn, x, lengths, [S] * B, batched=False))
    t_batched = timeit(lambda: gradient_log_norms(fn, x, lengths, [S] * B))
    t_chunk = timeit(lambda: gradient_log_norms(fn, x, lengths, [S] * B, chunk_size=10))
    a = gradient_log_norms(fn, x, lengths, [S] * B)
    b = gradient_log_norms(fn, x, lengths, [S] * B, batched=False)
    fin = torch.isfinite(a)
    assert torch.equal(fin, torch.isfinite(b))
    err = (a[fin] - b[fin]).abs().max().item()

    print(f"## GradScore gradient log-norms, conv CTC model ({F}->{H}->{H}->{V}), B={B}, T={T}, S={S} labels")
    print("| implementation | time (forward + S gradients) | speed-up |")
    print("| --- | --- | --- |")
    print(f"| one backward pass per label (S = {S} passes) | {t_loop * 1e3:.0f} ms | 1x |")
    print(f"| batched VJPs, chunk_size=10 (3 vmapped passes) | {t_chunk * 1e3:.0f} ms | {t_loop / t_chunk:.1f}x |")
    print(f"| batched VJPs, all labels in one vmapped pass | {t_batched * 1e3:.0f} ms | {t_loop / t_batched:.1f}x |")
    print(f"(max |G_batched - G_loop| = {err:.1e})")


if __name__ == "__main__":
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    bench_dtw()
    bench_grad_vjp()
