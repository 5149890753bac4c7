"""Compiled CPU kernel for :func:`fsttopo.align.dtw_path` (same recursion and tie rule as the torch one)."""

from __future__ import annotations

import math

import numba
import numpy as np

from ..engine.numba_threads import start_numba_pool

__all__ = ["dtw_numba"]

start_numba_pool()


@numba.njit(parallel=True, cache=True)
def _dtw_kernel(sim, t_len, s_len, scores, tokens):
    """Fill ``scores [B]`` and ``tokens [B, T]`` from ``sim [B, T, S]`` and lengths ``[B]`` (in place)."""
    B, T, S = sim.shape
    for b in numba.prange(B):
        L, K = t_len[b], s_len[b]
        D = np.full(K, -math.inf)
        diag_step = np.zeros((L, K), dtype=np.bool_)
        D[0] = sim[b, 0, 0]
        for t in range(1, L):
            # token s is reachable at frame t only if s <= t and the remaining tokens fit in the frames left
            lo = max(0, K - (L - t))
            row = sim[b, t]
            step = diag_step[t]
            for s in range(min(t, K - 1), max(lo, 1) - 1, -1):  # descending: D[s - 1] still holds frame t - 1
                stay = D[s]
                diag = D[s - 1]
                take = diag > stay
                step[s] = take
                D[s] = row[s] + (diag if take else stay)
            if lo == 0:
                D[0] += row[0]
        scores[b] = D[K - 1]
        s = K - 1
        for t in range(L - 1, -1, -1):
            tokens[b, t] = s
            if diag_step[t, s]:
                s -= 1
        for t in range(L, T):
            tokens[b, t] = -1


def dtw_numba(sim: np.ndarray, t_len: np.ndarray, s_len: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``sim [B, T, S]`` float32/64, lengths ``[B]`` int64 -> (scores ``[B]``, tokens ``[B, T]`` int64)."""
    B, T, _ = sim.shape
    scores = np.empty(B, dtype=sim.dtype)
    tokens = np.empty((B, T), dtype=np.int64)
    _dtw_kernel(sim, t_len.astype(np.int64), s_len.astype(np.int64), scores, tokens)
    return scores, tokens
