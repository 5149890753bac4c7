"""Soft dynamic programming: a differentiable relaxation of Viterbi on any graph (seed 000).

With path score ``w(r)`` (the score of :func:`fsttopo.full_sum`: scaled log-probs, prior and
transition weights) and temperature ``tau > 0``::

    value     = tau * log sum_r exp(w(r) / tau)          (a smooth maximum over paths)
    q(r)      = exp((w(r) - value) / tau)                (a Gibbs distribution over paths)
    occupancy = E_q[1(path is in state n at frame t)]

``tau = 1`` is the full sum (``value == full_sum``, label occupancy == ``soft_alignment``);
``tau -> 0`` concentrates ``q`` on the Viterbi path (``value -> `` the Viterbi score).

The forward and backward recursions are written in plain differentiable torch (not the engine's
first-order custom autograd), so the occupancies and the expected token boundaries derived from
them have gradients w.r.t. ``log_probs``, ``log_prior`` and ``graphs.scores``: an aligner can be
trained end to end with a loss on expected boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from ..engine.dense_graph import DenseGraph
from ..engine import prepare_inputs
from ..engine.recursion import arc_scores
from ..fsa import FsaVec
from ._logspace import logsumexp

__all__ = ["SoftAlignment", "soft_dp_align"]


@dataclass
class SoftAlignment:
    """Expected alignment under the temperature-``tau`` path distribution (all differentiable).

    Attributes:
        value: ``[B]`` ``tau * log sum_r exp(w(r) / tau)``; ``-inf`` when the graph has no path.
        state_occupancy: ``[B, T, N]`` probability of being in graph state ``n`` at frame ``t``.
        label_occupancy: ``[B, T, V]`` probability of emitting label ``v`` at frame ``t``.
        token_occupancy: ``[B, T, S]`` probability that frame ``t`` belongs to token (or word)
            ``s`` (the graph's per-arc attribute ``level``); blank/silence frames belong to none.
        token_start: ``[B, S]`` expected first frame of each token (float frames).
        token_end: ``[B, S]`` expected end frame (exclusive): ``token_start`` plus the expected
            number of frames. Exact for graphs in which each token occupies one contiguous run of
            frames (all :mod:`fsttopo.topology` graphs).
        num_tokens: ``[B]`` int64 tokens per utterance; ``token_*`` are 0 past it.

    Occupancies are 0 on padding frames and for utterances without a path.
    """

    value: torch.Tensor
    state_occupancy: torch.Tensor
    label_occupancy: torch.Tensor
    token_occupancy: torch.Tensor
    token_start: torch.Tensor
    token_end: torch.Tensor
    num_tokens: torch.Tensor


def _forward(arc: list[torch.Tensor], graph: DenseGraph, start: torch.Tensor,
             active: list[torch.Tensor]) -> list[torch.Tensor]:
    """``alpha[t]`` ``[B, N]`` before frame ``t`` for ``t = 0..T`` (frozen after each length)."""
    B, N = start.shape
    src = graph.in_src.reshape(B, -1)
    out = [start]
    for t, scores in enumerate(arc):
        prev = out[-1]
        new = logsumexp((prev.gather(1, src) + scores).view(B, N, -1), 2)
        out.append(torch.where(active[t], new, prev))
    return out


def _backward(arc: list[torch.Tensor], graph: DenseGraph, end: torch.Tensor,
              active: list[torch.Tensor]) -> list[torch.Tensor]:
    """``beta[t]`` ``[B, N]`` for ``t = 0..T``; ``beta[t] == end`` for ``t >= lengths``."""
    B, N, K = graph.out_slot.shape
    slot = graph.out_slot.reshape(B, N * K)
    dst = graph.out_dst.reshape(B, N * K)
    pad = torch.zeros(B, N * K, dtype=end.dtype, device=end.device).masked_fill(
        ~graph.out_mask.reshape(B, N * K), float("-inf"))
    out = [end]
    for t in range(len(arc) - 1, -1, -1):
        cand = arc[t].gather(1, slot) + out[-1].gather(1, dst) + pad
        out.append(torch.where(active[t], logsumexp(cand.view(B, N, K), 2), end))
    return out[::-1]


def _token_tables(graphs: FsaVec, graph: DenseGraph, level: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Token of each in-arc slot ``[B, N*M]``, whether the slot enters a new token, tokens ``[B]``."""
    if level not in graphs.aux:
        raise ValueError(f"graphs carry no per-arc attribute {level!r}; available: {sorted(graphs.aux)}")
    device = graph.in_arc.device
    aux = graphs.aux[level].to(device)
    B, N, M = graph.in_arc.shape
    slot_tok = torch.where(graph.in_mask, aux[graph.in_arc.clamp(min=0)], -1)  # [B, N, M]
    state_tok = slot_tok.amax(2)  # a state's token (-1: none)
    src_tok = state_tok.gather(1, graph.in_src.reshape(B, -1)).view(B, N, M)
    enters = (slot_tok >= 0) & (slot_tok != src_tok) & graph.in_mask
    per_arc = graphs.aux[level]
    num = torch.full((B,), -1, dtype=torch.int64).scatter_reduce(0, graphs.arc_batch, per_arc, "amax") + 1
    return slot_tok.reshape(B, N * M), enters.reshape(B, N * M), num.to(device)


def soft_dp_align(
    log_probs: torch.Tensor,
    lengths: torch.Tensor | Sequence[int],
    graphs: FsaVec,
    *,
    tau: float = 1.0,
    posterior_scale: float = 1.0,
    log_prior: torch.Tensor | None = None,
    prior_scale: float = 0.0,
    transition_scale: float = 1.0,
    level: str = "token",
) -> SoftAlignment:
    """Soft-DP alignment of ``graphs`` to the frames of ``log_probs`` at temperature ``tau``.

    Args:
        log_probs: ``[B, T, V]`` float32/float64 per-frame scores (log-probs, or any scores with the
            relabelling trick of :mod:`fsttopo.align.grad_score`).
        lengths: ``[B]`` valid frames.
        graphs: ``B`` graphs carrying the per-arc attribute ``level``.
        tau: temperature ``> 0`` (1: full sum; towards 0: Viterbi).
        posterior_scale, log_prior, prior_scale, transition_scale: as in :func:`fsttopo.full_sum`.
        level: per-arc attribute that numbers tokens (``"token"``, or ``"word"`` for HMM graphs).

    Returns:
        :class:`SoftAlignment`; cost O(T) differentiable torch steps on ``[B, N * M]`` tensors.
    """
    if not tau > 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    graph, lengths, emissions, weights, final = prepare_inputs(
        log_probs, lengths, graphs, posterior_scale / tau, log_prior, prior_scale / tau, transition_scale / tau)
    slot_tok, enters, num_tokens = _token_tables(graphs, graph, level)
    B, T, V = log_probs.shape
    N, M = graph.num_states, graph.in_src.shape[2]
    scores = arc_scores(emissions, weights, graph)  # [B, T, N*M], already divided by tau
    arc = list(scores.unbind(1))
    active = list((torch.arange(T, device=log_probs.device)[None, :] < lengths[:, None])[:, :, None].unbind(1))

    start = emissions.new_full((B, N), float("-inf"))
    start[:, 0] = 0.0
    alpha = _forward(arc, graph, start, active)
    states = torch.arange(N, device=log_probs.device)
    at_state = (graph.final_src[:, None, :] == states[None, :, None]) & graph.final_mask[:, None, :]
    end = logsumexp(torch.where(at_state, final[:, None, :], final.new_full((), float("-inf"))), 2)  # [B, N]
    total = logsumexp(alpha[-1] + end, 1)
    beta = _backward(arc, graph, end, active)

    ok = torch.isfinite(total)
    safe_total = torch.where(ok, total, total.new_zeros(()))
    alpha_t = torch.stack(alpha[:-1], 1).gather(2, graph.in_src.reshape(B, 1, N * M).expand(B, T, N * M))
    beta_t = torch.stack(beta[1:], 1).repeat_interleave(M, dim=2)
    valid = (torch.stack(active, 1) & ok[:, None, None]).expand(B, T, N * M)
    log_occ = alpha_t + scores + beta_t - safe_total[:, None, None]
    occ = torch.where(valid, log_occ, log_occ.new_full((), float("-inf"))).exp()  # [B, T, N*M]

    S = int(num_tokens.max())
    tok_idx = torch.where(slot_tok >= 0, slot_tok, S)[:, None, :].expand(B, T, N * M)
    token_occ = occ.new_zeros(B, T, S + 1).scatter_add(2, tok_idx, occ)[:, :, :S]
    start_prob = occ.new_zeros(B, T, S + 1).scatter_add(2, tok_idx, occ * enters[:, None, :])[:, :, :S]
    frames = torch.arange(T, device=log_probs.device, dtype=occ.dtype)
    token_start = (start_prob * frames[None, :, None]).sum(1)
    token_end = token_start + token_occ.sum(1)
    label_occ = occ.new_zeros(B, T, V).scatter_add(2, graph.in_label.reshape(B, 1, N * M).expand(B, T, N * M), occ)
    return SoftAlignment(
        value=tau * total,
        state_occupancy=occ.view(B, T, N, M).sum(3),
        label_occupancy=label_occ,
        token_occupancy=token_occ,
        token_start=token_start,
        token_end=token_end,
        num_tokens=num_tokens,
    )
