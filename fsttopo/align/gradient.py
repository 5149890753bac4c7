"""Gradient log-norms of per-label scores w.r.t. input frames (paper Eqs. 22, 49, 50).

``G[b, s, t] = log || d log p(a_s | a_<s, x) / d x_t ||_p`` for every label ``s`` of every utterance
``b``. The ``S`` gradients are vector-Jacobian products of the same graph, computed together with
``torch.autograd.grad(..., is_grads_batched=True)`` (vmap over the one-hot ``grad_outputs``)
instead of ``S`` backward passes.

Per-label score functions (``x [B, T, ...] -> [B, S]``): :func:`ctc_label_scores_fn` (CTC prefix
scores, Eq. 23, optional blank-gradient masking, Eq. 49), :func:`aligner_label_scores_fn` (an
Aligner-Encoder's teacher-forced token outputs), any attention encoder-decoder callable
returning teacher-forced ``log p(a_s | a_<s, x)`` (without EOS), and :func:`hybrid_label_scores_fn`
(Eq. 50). The score function must treat the utterances of the batch independently (no batch
statistics, e.g. BatchNorm in training mode): the gradient of ``sum_b score[b, s]`` w.r.t.
``x[b]`` is taken as the gradient of ``score[b, s]``.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

from ._checks import int_vector
from .prefix_scores import ctc_prefix_scores, pad_targets

__all__ = ["gradient_log_norms", "mask_blank_gradient", "ctc_label_scores_fn", "aligner_label_scores_fn",
           "hybrid_label_scores_fn"]

ScoreFn = Callable[[torch.Tensor], torch.Tensor]


def mask_blank_gradient(logits: torch.Tensor, blank: int = 0) -> torch.Tensor:
    """Identity on ``logits [..., V]`` whose backward zeroes the blank logit's gradient (Eq. 49)."""
    is_blank = torch.arange(logits.shape[-1], device=logits.device) == blank
    return torch.where(is_blank, logits.detach(), logits)


def ctc_label_scores_fn(
    logits_fn: Callable[[torch.Tensor], torch.Tensor],
    out_lengths: torch.Tensor | Sequence[int],
    targets: Sequence[Sequence[int]],
    *,
    blank: int = 0,
    forced_blank: bool = True,
    mask_blank_grad: bool = True,
) -> ScoreFn:
    """Score function ``x -> [B, S]`` of CTC prefix scores ``log p_CTC(a_s | a_<s, x)`` (Eq. 23).

    Args:
        logits_fn: the CTC model, ``x [B, T, ...] -> logits [B, T', V]`` (before log-softmax).
        out_lengths: ``[B]`` valid output frames ``T'`` per utterance.
        targets: ``B`` label sequences.
        blank: blank label id.
        forced_blank: standard CTC topology when True.
        mask_blank_grad: zero the gradient of the blank logit (Eq. 49; the paper's default).
    """
    def score(x: torch.Tensor) -> torch.Tensor:
        logits = logits_fn(x)
        if mask_blank_grad:
            logits = mask_blank_gradient(logits, blank)
        log_probs = logits.log_softmax(-1)
        return ctc_prefix_scores(log_probs, out_lengths, targets, blank=blank, forced_blank=forced_blank).labels

    return score


def aligner_label_scores_fn(
    log_probs_fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
    targets: Sequence[Sequence[int]],
    *,
    eos: int = 0,
) -> ScoreFn:
    """Score function ``x -> [B, S]`` of an Aligner-Encoder's teacher-forced token log-probs
    ``log p(a_s | h_s, a_<s)`` (EOS excluded: it marks no token's frames).

    Args:
        log_probs_fn: ``(x [B, T, ...], targets [B, S] int64 padded with eos, target_lengths [B])
            -> [B, S + 1, V]`` teacher-forced log-probs (the encoder and its
            :class:`~fsttopo.models.aligner_decoder.AlignerDecoder`).
        targets: ``B`` token sequences (no EOS among them).
        eos: the EOS id (our aligner models: the blank id 0).
    """
    def score(x: torch.Tensor) -> torch.Tensor:
        tgt, tgt_len = pad_targets(targets, None, eos, x.device)
        log_probs = log_probs_fn(x, tgt, tgt_len)
        picked = log_probs[:, : tgt.shape[1]].gather(-1, tgt[..., None])[..., 0]
        return picked.masked_fill(torch.arange(tgt.shape[1], device=x.device)[None] >= tgt_len[:, None], 0.0)

    return score


def hybrid_label_scores_fn(ctc_fn: ScoreFn, aed_fn: ScoreFn, *, ctc_weight: float = 0.5,
                           aed_weight: float = 0.5) -> ScoreFn:
    """``x -> ctc_weight * ctc_fn(x) + aed_weight * aed_fn(x)``: the joint label score of Eq. 50."""
    def score(x: torch.Tensor) -> torch.Tensor:
        return ctc_weight * ctc_fn(x) + aed_weight * aed_fn(x)

    return score


def _log_norm(grads: torch.Tensor, p: float) -> torch.Tensor:
    """``log ||g||_p`` over the feature dims of ``grads [k, B, T, F...]`` -> ``[k, B, T]``."""
    flat = grads.flatten(start_dim=3) if grads.ndim > 3 else grads.unsqueeze(-1)
    log_abs = flat.abs().log()
    if math.isinf(p):
        return log_abs.amax(-1)
    return torch.logsumexp(p * log_abs, dim=-1) / p


def gradient_log_norms(
    score_fn: ScoreFn,
    x: torch.Tensor,
    lengths: torch.Tensor | Sequence[int],
    label_lengths: torch.Tensor | Sequence[int],
    *,
    p: float = 0.1,
    batched: bool = True,
    chunk_size: int | None = None,
) -> torch.Tensor:
    """``G[b, s, t] = log || d score_fn(x)[b, s] / d x[b, t] ||_p`` (paper Eq. 22).

    Args:
        score_fn: ``x -> [B, S]`` per-label log-probabilities ``log p(a_s | a_<s, x)``, with
            ``S = max(label_lengths)``.
        x: ``[B, T, ...]`` float input frames (e.g. features ``[B, T, F]``); the norm runs over
            everything after the frame axis.
        lengths: ``[B]`` valid frames of ``x``.
        label_lengths: ``[B]`` labels per utterance.
        p: the norm's ``p`` (``> 0``, ``float("inf")`` for the max norm); the paper uses 0.1.
        batched: compute the ``S`` vector-Jacobian products in one vmapped backward pass
            (``is_grads_batched``); ``False`` runs one backward pass per label (same result).
        chunk_size: labels per batched backward pass (bounds memory to
            ``chunk_size * x.numel()``); all at once when None.

    Returns:
        ``[B, S, T]`` (dtype of ``x``, no grad), natural log; ``-inf`` on padding frames, padding
        labels and where the gradient is exactly zero.
    """
    if not torch.is_tensor(x) or x.ndim < 2 or not x.is_floating_point():
        got = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"x must be a floating tensor [B, T, ...], got {got}")
    if not p > 0:
        raise ValueError(f"p must be > 0 (or inf), got {p}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    B, T = x.shape[:2]
    lengths = int_vector(lengths, B, "lengths", upper=T)
    label_lengths = int_vector(label_lengths, B, "label_lengths")
    S = int(label_lengths.max()) if B else 0

    inp = x.detach().requires_grad_(True)
    with torch.enable_grad():
        scores = score_fn(inp)
    if not torch.is_tensor(scores) or scores.shape != (B, S):
        got = tuple(scores.shape) if torch.is_tensor(scores) else type(scores).__name__
        raise ValueError(f"score_fn must return [B={B}, S={S}] per-label scores, got {got}")

    rows = []
    if batched:
        eye = torch.eye(S, dtype=scores.dtype, device=scores.device)[:, None, :].expand(S, B, S)
        step = chunk_size or max(S, 1)
        for lo in range(0, S, step):
            (g,) = torch.autograd.grad(scores, inp, grad_outputs=eye[lo:lo + step], is_grads_batched=True,
                                       retain_graph=lo + step < S, allow_unused=True, materialize_grads=True)
            rows.append(_log_norm(g, p))  # [k, B, T]
    else:
        for s in range(S):
            (g,) = torch.autograd.grad(scores[:, s].sum(), inp, retain_graph=s + 1 < S,
                                       allow_unused=True, materialize_grads=True)
            rows.append(_log_norm(g[None], p))
    G = torch.cat(rows).transpose(0, 1) if rows else x.new_empty(B, 0, T)  # [B, S, T]
    valid = (torch.arange(S, device=x.device)[None, :, None] < label_lengths.to(x.device)[:, None, None]) \
        & (torch.arange(T, device=x.device)[None, None, :] < lengths.to(x.device)[:, None, None])
    return G.masked_fill(~valid, float("-inf")).detach()

