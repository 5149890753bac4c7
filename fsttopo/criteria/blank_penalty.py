"""Blank penalty for alignment (paper A.6, Table 14).

CTC models put blank on most frames, so a forced alignment (Viterbi) places labels late and
briefly. Two alignment-time corrections counter this and can be combined (best in Table 14: blank
logit shift -10 with prior scale 1):

- a **blank penalty**: lower blank's score by a constant on every frame (:func:`apply_blank_penalty`);
- a **prior**: divide by ``p(y)^beta``, i.e. ``fsttopo.viterbi(..., log_prior=..., prior_scale=beta)``.

Shifting the blank *logit* by ``-c`` before ``log_softmax`` and subtracting ``c`` from the blank
*log-probability* after it differ only by a per-frame constant, the same for every path, so they
give the same Viterbi path and the same soft alignment.
"""

from __future__ import annotations

import math

import torch

from ._checks import check_float, check_label

__all__ = ["apply_blank_penalty"]


def apply_blank_penalty(log_probs: torch.Tensor, penalty: float, blank: int = 0) -> torch.Tensor:
    """Subtract ``penalty`` from the blank log-probability of every frame.

    The paper's "blank logit shift" ``s`` (Table 14, e.g. ``-10``) is ``penalty = -s``. Typical
    use::

        lp = apply_blank_penalty(log_probs, 10.0)
        ali = fsttopo.viterbi(lp, lengths, graphs, log_prior=log_prior, prior_scale=1.0)

    Args:
        log_probs: ``[..., V]`` float32/float64 log-probabilities (or logits).
        penalty: constant in nats; positive makes blank less likely, negative favours it.
        blank: blank index.

    Returns:
        A new tensor like ``log_probs`` (no longer normalized); differentiable.
    """
    check_float(log_probs, "log_probs")
    if log_probs.ndim < 1:
        raise ValueError("log_probs must have a class dimension [..., V]")
    check_label(blank, "blank", log_probs.shape[-1])
    if not math.isfinite(penalty):
        raise ValueError(f"penalty must be finite, got {penalty}")
    shift = torch.zeros(log_probs.shape[-1], dtype=log_probs.dtype, device=log_probs.device)
    shift[blank] = penalty
    return log_probs - shift
