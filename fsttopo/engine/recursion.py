"""Forward, backward and Viterbi recursions over padded arc tables (plain torch, any device).

This is the reference backend (the Numba one in :mod:`fsttopo.engine.numba_kernels` has the same
contract). Notation: ``B`` utterances, ``T`` frames, ``V`` labels, ``N`` states, ``M`` incoming arc
slots per state. Inputs are ``emissions`` ``[B, T, V]`` (scaled per-frame label scores; frames past
an utterance's length are ignored) and ``weights`` ``[B, N, M]`` (scaled transition weight of each
incoming arc slot, ``-inf`` on padding slots). ``alpha[:, t]`` is the forward score after ``t``
frames; an utterance's alpha is frozen after its last frame so ``alpha[:, T]`` holds every
utterance's end scores.
"""

from __future__ import annotations

import numpy as np
import torch

from .dense_graph import DenseGraph

__all__ = ["forward", "final_scores", "end_weights", "backward_occupancy", "state_occupancy", "viterbi_path"]


def arc_scores(emissions: torch.Tensor, weights: torch.Tensor, graph: DenseGraph) -> torch.Tensor:
    """``[B, T, N*M]``: ``emissions[b, t, in_label] + weights`` (differentiable).

    Args:
        emissions: ``[B, T, V]`` scaled per-frame label scores.
        weights: ``[B, N, M]`` scaled transition weights, ``-inf`` on padding.
    """
    B, T, _ = emissions.shape
    idx = graph.in_label.reshape(B, 1, -1).expand(B, T, -1)
    return emissions.gather(2, idx) + weights.reshape(B, 1, -1)


def forward(emissions: torch.Tensor, weights: torch.Tensor, graph: DenseGraph,
            lengths: torch.Tensor) -> torch.Tensor:
    """Forward (alpha) recursion in the log semiring. Returns ``alpha`` ``[B, T+1, N]``."""
    scores = arc_scores(emissions, weights, graph)
    B, T, NM = scores.shape
    N = graph.num_states
    M = NM // N
    alpha = scores.new_full((B, T + 1, N), float("-inf"))
    alpha[:, 0, 0] = 0.0
    src = graph.in_src.reshape(B, NM)
    active = (torch.arange(T, device=scores.device)[None, :] < lengths[:, None]).unsqueeze(-1)
    for t in range(T):
        prev = alpha[:, t]
        cand = prev.gather(1, src).add_(scores[:, t]).view(B, N, M)
        alpha[:, t + 1] = torch.where(active[:, t], torch.logsumexp(cand, dim=2), prev)
    return alpha


def final_scores(alpha_end: torch.Tensor, final_weights: torch.Tensor, graph: DenseGraph) -> torch.Tensor:
    """``[B, F]`` end-state alpha plus final-arc weight (``-inf`` on padding)."""
    return alpha_end.gather(1, graph.final_src) + final_weights


def end_weights(final_weights: torch.Tensor, graph: DenseGraph) -> torch.Tensor:
    """``[B, N]`` log-sum of the weights of the final arcs leaving each state (``-inf`` if none)."""
    B = final_weights.shape[0]
    end = final_weights.new_full((B, graph.num_states), float("-inf"))
    fw = torch.where(graph.final_mask, final_weights, final_weights.new_full((), float("-inf")))
    return _scatter_logsumexp(end, graph.final_src, fw)


def backward_occupancy(emissions: torch.Tensor, weights: torch.Tensor, alpha: torch.Tensor,
                       end: torch.Tensor, total: torch.Tensor, graph: DenseGraph, lengths: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior occupancy of labels ``[B, T, V]`` and of arc slots summed over frames ``[B, N, M]``.

    ``end`` ``[B, N]``: per-state final weights (:func:`end_weights`); ``total`` ``[B]``: the
    log-likelihood. Zero for padding frames and utterances whose ``total`` is not finite.
    """
    scores = arc_scores(emissions, weights, graph)
    beta = _backward(scores, end, graph, lengths)
    occ = _occupancy(scores, alpha, beta, total, graph, lengths)
    B, T, NM = occ.shape
    occ_em = occ.new_zeros(B, T, emissions.shape[2])
    occ_em.scatter_add_(2, graph.in_label.reshape(B, 1, NM).expand(B, T, NM), occ)
    return occ_em, occ.sum(1).view_as(weights)


def state_occupancy(emissions: torch.Tensor, weights: torch.Tensor, alpha: torch.Tensor, end: torch.Tensor,
                    total: torch.Tensor, graph: DenseGraph, lengths: torch.Tensor) -> torch.Tensor:
    """Posterior probability ``[B, T, N]`` that the arc taken at frame ``t`` enters state ``n``:
    ``alpha[t + 1, n] + beta[t + 1, n] - total`` (every frame-consuming arc ends in its state, so
    no per-arc table is needed). Zero for padding frames and utterances whose ``total`` is not finite."""
    beta = _backward(arc_scores(emissions, weights, graph), end, graph, lengths)
    T = emissions.shape[1]
    ok = torch.isfinite(total)
    occ = (alpha[:, 1:] + beta[:, 1:] - torch.where(ok, total, torch.zeros_like(total))[:, None, None]).exp()
    valid = (torch.arange(T, device=emissions.device)[None, :] < lengths[:, None]) & ok[:, None]
    return occ.masked_fill_(~valid[:, :, None], 0.0)


def _backward(scores: torch.Tensor, end: torch.Tensor, graph: DenseGraph,
              lengths: torch.Tensor) -> torch.Tensor:
    """Backward (beta) recursion from the per-state end weights ``end`` ``[B, N]``.

    Returns ``beta`` ``[B, T+1, N]``; ``beta[b, t]`` is valid for ``t <= lengths[b]``
    (``beta[b, lengths[b]] == end[b]``)."""
    B, T, NM = scores.shape
    N = graph.num_states
    K = graph.out_slot.shape[2]
    beta = scores.new_full((B, T + 1, N), float("-inf"))
    beta[:, T] = end
    slot = graph.out_slot.reshape(B, N * K)
    dst = graph.out_dst.reshape(B, N * K)
    pad = torch.zeros(B, N * K, dtype=scores.dtype, device=scores.device)
    pad.masked_fill_(~graph.out_mask.reshape(B, N * K), float("-inf"))
    active = (torch.arange(T, device=scores.device)[None, :] < lengths[:, None]).unsqueeze(-1)
    for t in range(T - 1, -1, -1):
        nxt = beta[:, t + 1]
        cand = scores[:, t].gather(1, slot).add_(nxt.gather(1, dst)).add_(pad).view(B, N, K)
        beta[:, t] = torch.where(active[:, t], torch.logsumexp(cand, dim=2), end)
    return beta


def _occupancy(scores: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor, total: torch.Tensor,
              graph: DenseGraph, lengths: torch.Tensor) -> torch.Tensor:
    """Posterior probability ``[B, T, N*M]`` of taking each arc slot at each frame.

    Zero for padding frames and for utterances whose ``total`` is not finite.
    """
    B, T, NM = scores.shape
    N = graph.num_states
    M = NM // N
    src = graph.in_src.reshape(B, 1, NM).expand(B, T, NM)
    ok = torch.isfinite(total)
    tot = torch.where(ok, total, torch.zeros_like(total))
    log_occ = alpha[:, :T].gather(2, src) + scores
    log_occ += beta[:, 1:].repeat_interleave(M, dim=2)
    log_occ -= tot[:, None, None]
    valid = (torch.arange(T, device=scores.device)[None, :] < lengths[:, None]) & ok[:, None]
    occ = log_occ.exp_()
    return occ.masked_fill_(~valid[:, :, None], 0.0)


def viterbi_path(emissions: torch.Tensor, weights: torch.Tensor, final_weights: torch.Tensor,
                 graph: DenseGraph, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Max-plus forward pass and backtrace.

    Returns the best score ``[B]`` (``-inf`` when no path) and the global arc index taken at each
    frame ``[B, T]`` (int64 on the CPU, ``-1`` on padding frames and for utterances without a path).
    """
    B, N, M = weights.shape
    if M > 255:
        raise ValueError(f"viterbi supports at most 255 incoming arcs per state, got {M}")
    scores = arc_scores(emissions, weights, graph)
    T, NM = scores.shape[1], N * M
    delta = scores.new_full((B, N), float("-inf"))
    delta[:, 0] = 0.0
    src = graph.in_src.reshape(B, NM)
    bp = torch.zeros(B, T, N, dtype=torch.uint8, device=scores.device)
    active = (torch.arange(T, device=scores.device)[None, :] < lengths[:, None]).unsqueeze(-1)
    for t in range(T):
        cand = delta.gather(1, src).add_(scores[:, t]).view(B, N, M)
        top, arg = cand.max(dim=2)
        bp[:, t] = arg
        delta = torch.where(active[:, t], top, delta)
    best, which = final_scores(delta, final_weights, graph).max(dim=1)
    end_state = graph.final_src.gather(1, which[:, None]).squeeze(1)
    arcs = _backtrace(bp, end_state, graph, lengths)
    arcs[~torch.isfinite(best).cpu()] = -1
    return best, arcs


def _backtrace(bp: torch.Tensor, end_state: torch.Tensor, graph: DenseGraph,
               lengths: torch.Tensor) -> torch.Tensor:
    # NumPy on the CPU (like torchaudio's forced_align): the walk is sequential in time and
    # touches only B entries per frame.
    B, T, N = bp.shape
    bp_np = bp.cpu().numpy()
    M = graph.in_src.shape[2]
    in_src = graph.in_src.reshape(B, N * M).cpu().numpy()
    in_arc = graph.in_arc.reshape(B, N * M).cpu().numpy()
    lens = lengths.cpu().numpy()
    state = end_state.cpu().numpy().astype(np.int64).copy()
    out = np.full((B, T), -1, dtype=np.int64)
    rows = np.arange(B)
    for t in range(T - 1, -1, -1):
        act = t < lens
        slot = state * M + bp_np[rows, t, state]
        out[:, t] = np.where(act, in_arc[rows, slot], -1)
        state = np.where(act, in_src[rows, slot], state)
    return torch.from_numpy(out)


def _scatter_logsumexp(base: torch.Tensor, index: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """``base[b, index[b, j]] = logsumexp(base[b, index[b, j]], values[b, j])`` over all ``j``."""
    mx = base.scatter_reduce(1, index, values, reduce="amax", include_self=True)
    safe = torch.where(torch.isfinite(mx), mx, torch.zeros_like(mx))
    acc = (base - safe).exp().scatter_add(1, index, (values - safe.gather(1, index)).exp())
    return acc.log() + safe
