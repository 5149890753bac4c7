"""Viterbi over one long utterance in memory linear in frames + states: a beam over a band of states.

The exact Viterbi of :func:`fsttopo.engine.viterbi` keeps a backpointer for every frame and state
(``T x N`` bytes: 9 GB for an hour of speech with 10,000 words). On a left-to-right graph (every
graph of :mod:`fsttopo.topology`: arcs never go to a lower state id) the states within ``beam``
of the best one at a frame form a narrow band, so this search keeps, per frame, only the band
``[lo_t, hi_t]`` of states whose score is within ``beam`` of that frame's best (at most
``max_width`` states around the best), and backpointers for those. It equals the exact Viterbi
whenever the best path never leaves the beam (tested in ``tests/test_long_form.py``); the frame
loop runs in compiled code.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch

from ..engine import NoPathError
from ..engine.intersect import prepare_inputs
from ..fsa import FsaVec

__all__ = ["beam_viterbi_arcs"]

_NEG_INF = -math.inf


@numba.njit(cache=True)
def _beam_viterbi_kernel(em, in_label, weights, in_src, in_arc, final_src, final_w, N, M, J, beam, max_width,
                         arcs):
    """``em`` ``[T, V]``; flat ``[N * M]`` arc tables; ``J`` the largest state jump of an arc.
    Writes the arc taken at each frame into ``arcs`` ``[T]``; returns the best score."""
    T = em.shape[0]
    delta = np.full(N, _NEG_INF, dtype=em.dtype)
    new = np.full(N, _NEG_INF, dtype=em.dtype)
    arg = np.zeros(N, dtype=np.uint8)
    delta[0] = 0.0
    lo, hi = 0, 0
    band_lo = np.empty(T, dtype=np.int64)
    offset = np.zeros(T + 1, dtype=np.int64)
    bp = np.empty(max(T * 64, 1024), dtype=np.uint8)
    for t in range(T):
        a, b = lo, min(N - 1, hi + J)
        best, at = _NEG_INF, a
        for n in range(a, b + 1):
            mx, k = _NEG_INF, 0
            for m in range(M):
                j = n * M + m
                s = in_src[j]
                if s < lo or s > hi:
                    continue
                v = delta[s] + em[t, in_label[j]] + weights[j]
                if v > mx:
                    mx, k = v, m
            new[n] = mx
            arg[n] = k
            if mx > best:
                best, at = mx, n
        if best == _NEG_INF:
            return _NEG_INF
        nlo, nhi = at, at
        for n in range(a, at):
            if new[n] >= best - beam:
                nlo = n
                break
        for n in range(b, at, -1):
            if new[n] >= best - beam:
                nhi = n
                break
        if nhi - nlo + 1 > max_width:
            nlo = max(nlo, at - max_width // 2)
            nhi = min(nhi, nlo + max_width - 1)
        width = nhi - nlo + 1
        if offset[t] + width > bp.shape[0]:
            grown = np.empty(2 * bp.shape[0] + width, dtype=np.uint8)
            grown[: offset[t]] = bp[: offset[t]]
            bp = grown
        bp[offset[t]: offset[t] + width] = arg[nlo: nhi + 1]
        band_lo[t] = nlo
        offset[t + 1] = offset[t] + width
        delta[lo: hi + 1] = _NEG_INF
        delta[nlo: nhi + 1] = new[nlo: nhi + 1]
        new[a: b + 1] = _NEG_INF
        lo, hi = nlo, nhi
    top, state = _NEG_INF, -1
    for f in range(final_src.shape[0]):
        s = final_src[f]
        if lo <= s <= hi and delta[s] + final_w[f] > top:
            top, state = delta[s] + final_w[f], s
    if state < 0:
        return _NEG_INF
    for t in range(T - 1, -1, -1):
        slot = state * M + bp[offset[t] + state - band_lo[t]]
        arcs[t] = in_arc[slot]
        state = in_src[slot]
    return top


def beam_viterbi_arcs(scores: torch.Tensor, graphs: FsaVec, *, transition_scale: float = 0.0,
                      beam: float = 30.0, max_width: int = 4000) -> torch.Tensor:
    """Best path of one utterance with a beam (see the module docstring).

    Args:
        scores: ``[T, V]`` emission scores (:func:`fsttopo.inference.emission_scores` of one
            utterance; model frames).
        graphs: an FsaVec holding the utterance's one left-to-right graph.
        transition_scale: scale of the graph's arc scores (as :func:`fsttopo.engine.viterbi`).
        beam: nats below a frame's best score that a state may lie and stay in the search.
        max_width: most states kept per frame.

    Returns:
        ``[T]`` int64 arc index (into ``graphs.arcs``) taken at each frame.

    Raises:
        NoPathError: when no path ends in the final state (too few frames, or pruned away).
    """
    if scores.ndim != 2 or len(graphs) != 1:
        raise ValueError(f"expected [T, V] scores and one graph, got shape {tuple(scores.shape)} and "
                         f"{len(graphs)} graphs")
    graph, _, emissions, weights, final = prepare_inputs(scores[None], [scores.shape[0]], graphs, 1.0, None, 0.0,
                                                         transition_scale)
    if graph.in_src.shape[2] > 255:
        raise ValueError(f"beam Viterbi supports at most 255 incoming arcs per state, got {graph.in_src.shape[2]}")
    N, M = graph.num_states, graph.in_src.shape[2]
    in_src = graph.in_src[0].reshape(-1)
    jumps = torch.arange(N).repeat_interleave(M) - in_src
    J = int(jumps[graph.in_mask[0].reshape(-1)].max())
    if int(jumps[graph.in_mask[0].reshape(-1)].min()) < 0:
        raise ValueError("beam Viterbi needs a left-to-right graph (no arc to a lower state id)")
    arcs = np.full(scores.shape[0], -1, dtype=np.int64)

    def np_(x: torch.Tensor) -> np.ndarray:
        return x.detach().contiguous().numpy()

    best = _beam_viterbi_kernel(np_(emissions[0]), np_(graph.in_label[0].reshape(-1)), np_(weights[0].reshape(-1)),
                                np_(in_src), np_(graph.in_arc[0].reshape(-1)), np_(graph.final_src[0]),
                                np_(final[0]), N, M, J, float(beam), int(max_width), arcs)
    if not math.isfinite(best):
        raise NoPathError([0], f"no path through the graph in {scores.shape[0]} frames within a beam of {beam} "
                               "nats: more labels than frames, or the transcript does not match the audio")
    return torch.from_numpy(arcs)
