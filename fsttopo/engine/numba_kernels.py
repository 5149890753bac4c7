"""Compiled CPU backend (Numba) with the same contract as :mod:`fsttopo.engine.recursion`.

Tested equal to the torch reference in ``tests/test_engine_brute.py``. The frame loop runs in machine
code with one thread per utterance, arc scores are gathered from the emissions on the fly (no
``[B, T, N*M]`` intermediate), and the backward pass accumulates the occupancies straight into the
gradients while it runs the beta recursion.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import numba
import numpy as np
import torch

from .dense_graph import DenseGraph
from .numba_threads import start_numba_pool

__all__ = ["forward", "backward_occupancy", "state_occupancy", "viterbi_path"]

_NEG_INF = -math.inf
start_numba_pool()


@numba.njit(parallel=True, cache=True)
def _forward_kernel(em, in_label, weights, in_src, lengths, N, M, alpha):
    B = em.shape[0]
    for b in numba.prange(B):
        L = lengths[b]
        alpha[b, 0, 0] = 0.0
        cand = np.empty(M, dtype=em.dtype)
        for t in range(L):
            for n in range(N):
                mx = _NEG_INF
                for m in range(M):
                    j = n * M + m
                    v = alpha[b, t, in_src[b, j]] + em[b, t, in_label[b, j]] + weights[b, j]
                    cand[m] = v
                    if v > mx:
                        mx = v
                if mx == _NEG_INF:
                    continue
                acc = 0.0
                for m in range(M):
                    if cand[m] > _NEG_INF:  # padding slots and unreachable sources cost no exp
                        acc += math.exp(cand[m] - mx)
                alpha[b, t + 1, n] = mx + math.log(acc)
        for t in range(L, alpha.shape[1] - 1):
            for n in range(N):
                alpha[b, t + 1, n] = alpha[b, L, n]


@numba.njit(cache=True)
def _beta_step(em, in_label, weights, out_slot, out_dst, out_mask, b, t, N, K, beta_next, beta, cand):
    """One backward step in place: ``beta_next`` (frame t + 1) becomes frame t's beta."""
    for n in range(N):
        mx = _NEG_INF
        for k in range(K):
            i = n * K + k
            v = _NEG_INF
            if out_mask[b, i]:
                s = out_slot[b, i]
                v = em[b, t, in_label[b, s]] + weights[b, s] + beta_next[out_dst[b, i]]
            cand[k] = v
            if v > mx:
                mx = v
        if mx == _NEG_INF:
            beta[n] = _NEG_INF
            continue
        acc = 0.0
        for k in range(K):
            if cand[k] > _NEG_INF:
                acc += math.exp(cand[k] - mx)
        beta[n] = mx + math.log(acc)
    beta_next[:] = beta


@numba.njit(cache=True)
def _backward_buffers(em, end, b, N, K):
    """Utterance ``b``'s beta at its last frame and the scratch arrays of :func:`_beta_step`."""
    return end[b].copy(), np.empty(N, dtype=em.dtype), np.empty(K, dtype=em.dtype)


@numba.njit(parallel=True, cache=True)
def _backward_kernel(em, in_label, weights, in_src, out_slot, out_dst, out_mask, alpha, end, total,
                     lengths, N, M, K, occ_em, occ_w):
    B = em.shape[0]
    for b in numba.prange(B):
        L = lengths[b]
        tot = total[b]
        if not math.isfinite(tot):
            continue
        beta_next, beta, cand = _backward_buffers(em, end, b, N, K)
        for t in range(L - 1, -1, -1):
            # occupancy of frame t: alpha[t][src] + score + beta[t+1][dst] - total
            for n in range(N):
                bn = beta_next[n]
                if bn == _NEG_INF:
                    continue
                for m in range(M):
                    j = n * M + m
                    lo = alpha[b, t, in_src[b, j]] + em[b, t, in_label[b, j]] + weights[b, j] + bn - tot
                    if lo > _NEG_INF:
                        o = math.exp(lo)
                        occ_em[b, t, in_label[b, j]] += o
                        occ_w[b, j] += o
            _beta_step(em, in_label, weights, out_slot, out_dst, out_mask, b, t, N, K, beta_next, beta, cand)


@numba.njit(parallel=True, cache=True)
def _state_occupancy_kernel(em, in_label, weights, out_slot, out_dst, out_mask, alpha, end, total, lengths,
                            N, K, occ):
    B = em.shape[0]
    for b in numba.prange(B):
        L = lengths[b]
        tot = total[b]
        if not math.isfinite(tot):
            continue
        beta_next, beta, cand = _backward_buffers(em, end, b, N, K)
        for t in range(L - 1, -1, -1):
            # the arc taken at frame t enters state n: alpha[t + 1][n] + beta[t + 1][n] - total
            for n in range(N):
                lo = alpha[b, t + 1, n] + beta_next[n] - tot
                if lo > _NEG_INF:
                    occ[b, t, n] = math.exp(lo)
            if t == 0:
                break
            _beta_step(em, in_label, weights, out_slot, out_dst, out_mask, b, t, N, K, beta_next, beta, cand)


@numba.njit(parallel=True, cache=True)
def _viterbi_kernel(em, in_label, weights, in_src, in_arc, final_src, final_w, lengths, N, M, best, arcs):
    B = em.shape[0]
    for b in numba.prange(B):
        L = lengths[b]
        delta = np.full(N, _NEG_INF, dtype=em.dtype)
        nxt = np.empty(N, dtype=em.dtype)
        bp = np.zeros((L, N), dtype=np.uint8)
        delta[0] = 0.0
        for t in range(L):
            for n in range(N):
                mx = _NEG_INF
                arg = 0
                for m in range(M):
                    j = n * M + m
                    v = delta[in_src[b, j]] + em[b, t, in_label[b, j]] + weights[b, j]
                    if v > mx:
                        mx = v
                        arg = m
                nxt[n] = mx
                bp[t, n] = arg
            delta[:] = nxt
        top = _NEG_INF
        state = -1
        for f in range(final_src.shape[1]):
            v = delta[final_src[b, f]] + final_w[b, f]
            if v > top:
                top = v
                state = final_src[b, f]
        best[b] = top
        if top == _NEG_INF:
            continue
        for t in range(L - 1, -1, -1):
            slot = state * M + bp[t, state]
            arcs[b, t] = in_arc[b, slot]
            state = in_src[b, slot]


@contextmanager
def _threads_for(batch_size: int):
    """At most one Numba thread per utterance for the kernel calls inside: a parallel region waits
    for every thread it starts, and on a busy machine a worker with nothing to do still has to get
    a core before the region ends (B=1 Viterbi took 16-31 ms instead of 0.9 ms next to a training
    job). ``numba.set_num_threads`` is per calling thread, so this is safe under threads too."""
    current = numba.get_num_threads()
    wanted = max(1, min(batch_size, current))
    if wanted == current:
        yield
        return
    numba.set_num_threads(wanted)
    try:
        yield
    finally:
        numba.set_num_threads(current)


def _np(x: torch.Tensor) -> np.ndarray:
    return x.detach().contiguous().numpy()


def _flat(graph: DenseGraph, B: int) -> tuple[np.ndarray, np.ndarray, int]:
    M = graph.in_src.shape[2]
    return _np(graph.in_label.reshape(B, -1)), _np(graph.in_src.reshape(B, -1)), M


def forward(emissions: torch.Tensor, weights: torch.Tensor, graph: DenseGraph,
            lengths: torch.Tensor) -> torch.Tensor:
    B, T, _ = emissions.shape
    N = graph.num_states
    in_label, in_src, M = _flat(graph, B)
    alpha = torch.full((B, T + 1, N), _NEG_INF, dtype=emissions.dtype)
    with _threads_for(B):
        _forward_kernel(_np(emissions), in_label, _np(weights.reshape(B, -1)), in_src, _np(lengths), N, M,
                        alpha.numpy())
    return alpha


def backward_occupancy(emissions: torch.Tensor, weights: torch.Tensor, alpha: torch.Tensor, end: torch.Tensor,
                       total: torch.Tensor, graph: DenseGraph, lengths: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    B, T, V = emissions.shape
    N = graph.num_states
    K = graph.out_slot.shape[2]
    in_label, in_src, M = _flat(graph, B)
    occ_em = torch.zeros(B, T, V, dtype=emissions.dtype)
    occ_w = torch.zeros(B, N * M, dtype=emissions.dtype)
    with _threads_for(B):
        _backward_kernel(_np(emissions), in_label, _np(weights.reshape(B, -1)), in_src,
                         _np(graph.out_slot.reshape(B, -1)), _np(graph.out_dst.reshape(B, -1)),
                         _np(graph.out_mask.reshape(B, -1)), _np(alpha), _np(end), _np(total), _np(lengths),
                         N, M, K, occ_em.numpy(), occ_w.numpy())
    return occ_em, occ_w.view(B, N, M)


def state_occupancy(emissions: torch.Tensor, weights: torch.Tensor, alpha: torch.Tensor, end: torch.Tensor,
                    total: torch.Tensor, graph: DenseGraph, lengths: torch.Tensor) -> torch.Tensor:
    B, T, _ = emissions.shape
    N = graph.num_states
    K = graph.out_slot.shape[2]
    in_label, _, _ = _flat(graph, B)
    occ = torch.zeros(B, T, N, dtype=emissions.dtype)
    with _threads_for(B):
        _state_occupancy_kernel(_np(emissions), in_label, _np(weights.reshape(B, -1)),
                                _np(graph.out_slot.reshape(B, -1)), _np(graph.out_dst.reshape(B, -1)),
                                _np(graph.out_mask.reshape(B, -1)), _np(alpha), _np(end), _np(total), _np(lengths),
                                N, K, occ.numpy())
    return occ


def viterbi_path(emissions: torch.Tensor, weights: torch.Tensor, final_weights: torch.Tensor,
                 graph: DenseGraph, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    B, T, _ = emissions.shape
    N = graph.num_states
    in_label, in_src, M = _flat(graph, B)
    best = torch.empty(B, dtype=emissions.dtype)
    arcs = torch.full((B, T), -1, dtype=torch.int64)
    with _threads_for(B):
        _viterbi_kernel(_np(emissions), in_label, _np(weights.reshape(B, -1)), in_src,
                        _np(graph.in_arc.reshape(B, -1)), _np(graph.final_src), _np(final_weights), _np(lengths),
                        N, M, best.numpy(), arcs.numpy())
    return best, arcs
