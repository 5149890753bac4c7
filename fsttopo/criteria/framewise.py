"""Framewise cross-entropy against a fixed alignment (paper Eq. 12-14).

``L = - sum_t log p(ybar_t | h_t)`` for a given frame labelling ``ybar`` (e.g. a Viterbi
alignment, ``fsttopo.viterbi(...).labels``). Its gradient w.r.t. the logits is ``p - onehot(ybar)``
(Eq. 13-14): the one-hot alignment plays the role of the soft alignment ``v`` of full-sum
training, and its average over the training data is the classical count-based prior
(:func:`fsttopo.criteria.label_counts` + :func:`fsttopo.criteria.log_prior_from_counts`).
"""

from __future__ import annotations

from typing import Literal, Sequence

import torch

from ._checks import check_alignment, check_float, check_lengths, check_reduction, valid_mask

__all__ = ["framewise_ce"]


def reduce_frames(frame_loss: torch.Tensor, valid: torch.Tensor, reduction: str) -> torch.Tensor:
    """``[B, T]`` per-frame losses (0 on padding) -> ``[B, T]`` / sum / mean over valid frames."""
    if reduction == "none":
        return frame_loss
    total = frame_loss.sum()
    if reduction == "sum":
        return total
    return total / valid.sum().clamp(min=1).to(frame_loss.dtype)


def framewise_ce(
    log_probs: torch.Tensor,
    alignment: torch.Tensor,
    lengths: torch.Tensor | Sequence[int] | None = None,
    *,
    reduction: Literal["none", "sum", "mean"] = "mean",
) -> torch.Tensor:
    """Cross-entropy of per-frame log-probabilities against a fixed alignment (Eq. 12).

    Args:
        log_probs: ``[B, T, V]`` float32/float64 log-probabilities (any normalized output, e.g.
            ``log_softmax`` or :func:`fsttopo.criteria.blank_separated_log_softmax`).
        alignment: ``[B, T]`` integer target label per frame; ids on valid frames must be in
            ``[0, V)``, padding frames may hold anything (e.g. Viterbi's ``-1``).
        lengths: ``[B]`` valid frames per sequence; ``None`` means all ``T``.
        reduction: ``"none"``: ``[B, T]`` per-frame losses (0 on padding frames); ``"sum"``: Eq. 12
            summed over the batch; ``"mean"``: that sum divided by the number of valid frames.

    Returns:
        Loss in nats, dtype of ``log_probs``.
    """
    check_float(log_probs, "log_probs", 3, "[B, T, V]")
    check_reduction(reduction)
    B, T, V = log_probs.shape
    valid = valid_mask(check_lengths(lengths, B, T, log_probs.device), T)
    alignment = check_alignment(alignment, B, T, V, valid)
    target = torch.where(valid, alignment, 0)
    nll = -log_probs.gather(-1, target[..., None])[..., 0]
    return reduce_frames(torch.where(valid, nll, 0.0), valid, reduction)
