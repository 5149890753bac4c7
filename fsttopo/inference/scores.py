"""Emission scores for alignment and decoding: a model's log-probabilities with the alignment-time
blank/silence penalty, label prior and posterior scale (paper Eq. 6 and Table 14).

The label prior is the model's **fixed** prior, estimated once on its training data and stored in
the model file (:func:`fsttopo.training.estimate_log_prior`), so one recording's scores, and so its
alignment, do not depend on the other recordings it is batched with, nor on how much silence it
holds. A model file without a prior falls back to each utterance's own average posterior (still
independent of the batch, but pulled by long silences: a warning says so once).
"""

from __future__ import annotations

import warnings
from typing import Sequence

import torch

from ..criteria import apply_blank_penalty, apply_prior, posterior_log_prior

__all__ = ["utterance_log_prior", "emission_scores"]


def utterance_log_prior(log_probs: torch.Tensor, lengths: torch.Tensor | Sequence[int],
                        fixed: torch.Tensor | None) -> torch.Tensor:
    """The label prior to divide by: ``fixed`` (``[V]``, the model's) when given, else each
    utterance's own average posterior (``[B, V]``)."""
    if fixed is not None:
        V = log_probs.shape[-1]
        if fixed.shape != (V,):
            raise ValueError(f"the model's log prior has shape {tuple(fixed.shape)}, its outputs have {V} labels")
        return fixed.to(log_probs)
    warnings.warn("the model file has no label prior (fsttopo.training.estimate_log_prior): using each "
                  "utterance's average posterior, which long silences distort", stacklevel=3)
    return posterior_log_prior(log_probs, lengths, per_sequence=True)


def emission_scores(log_probs: torch.Tensor, lengths: torch.Tensor | Sequence[int], *,
                    blank_penalty: float = 0.0, prior_scale: float = 0.0, posterior_scale: float = 1.0,
                    log_prior: torch.Tensor | None = None, blank: int = 0) -> torch.Tensor:
    """``posterior_scale * (log p(y|x) - blank_penalty * [y == blank]) - prior_scale * log p(y)``.

    Args:
        log_probs: ``[B, T, V]`` the model's log-probabilities.
        lengths: ``[B]`` valid frames.
        blank_penalty: nats subtracted from the blank/silence log-prob (before the posterior scale).
        prior_scale: exponent of the prior (0: none).
        posterior_scale: scales the log-probs (> 0).
        log_prior: the model's fixed ``[V]`` log prior (see :func:`utterance_log_prior`).
        blank: blank/silence label.

    Returns:
        ``[B, T, V]`` scores to give the engine without further scales; every utterance's scores
        depend on its own frames only.
    """
    scores = apply_blank_penalty(log_probs, blank_penalty, blank) if blank_penalty else log_probs
    if prior_scale:
        return apply_prior(scores, utterance_log_prior(log_probs, lengths, log_prior), prior_scale,
                           posterior_scale=posterior_scale)
    return posterior_scale * scores if posterior_scale != 1.0 else scores
