"""The label prior variants of the synthetic experiments (paper Eq. 6, Tables 10-13), in one place.

A prior enters the training score as ``alpha * log p(y|x) - beta * log p(y)``. Variants:

- ``"none"``: no prior (``beta`` must be 0);
- ``"posterior"``: the average of ``p(y | x_t)`` over the valid frames of the whole mini-batch
  (``scope="batch"``, one ``[V]`` prior) or of each sequence (``scope="sequence"``), with or
  without stop-gradient (``stop_grad``);
- ``"static"``: fixed before training, from label counts of reference alignments
  (the classical count-based prior, Eqs. 12-14), see :func:`static_log_prior`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..criteria import label_counts, log_prior_from_counts, posterior_log_prior
from .data import DataConfig, generate_batch

__all__ = ["PriorConfig", "log_prior", "static_log_prior"]


@dataclass(frozen=True)
class PriorConfig:
    """Which prior, see the module docstring."""

    kind: str = "posterior"
    scope: str = "batch"
    stop_grad: bool = True

    def __post_init__(self) -> None:
        if self.kind not in ("none", "posterior", "static"):
            raise ValueError(f"prior kind must be 'none', 'posterior' or 'static', got {self.kind!r}")
        if self.scope not in ("batch", "sequence"):
            raise ValueError(f"prior scope must be 'batch' or 'sequence', got {self.scope!r}")


def static_log_prior(data: DataConfig, num_sequences: int, generator: torch.Generator) -> torch.Tensor:
    """``[V]`` log relative frequency of each label in the reference alignments of
    ``num_sequences`` sampled sequences (labels never seen get frequency 1e-10)."""
    batch = generate_batch(data, num_sequences, generator)
    counts = label_counts(batch.alignment, data.num_classes, batch.lengths)
    return log_prior_from_counts(counts, smoothing=1e-10 * float(counts.sum()))


def log_prior(config: PriorConfig, log_probs: torch.Tensor, lengths: torch.Tensor,
              static: torch.Tensor | None = None) -> torch.Tensor | None:
    """Log prior for one training step.

    Args:
        config: the variant.
        log_probs: ``[B, T, V]`` model log-posteriors.
        lengths: ``[B]`` valid frames.
        static: ``[V]`` static log prior (needed for ``kind="static"``).

    Returns:
        ``None`` (no prior), or a log prior broadcastable to ``[B, T, V]``: ``[1, 1, V]`` for a
        batch/static prior, ``[B, 1, V]`` for a per-sequence prior.
    """
    if config.kind == "none":
        return None
    if config.kind == "static":
        if static is None:
            raise ValueError("a static prior needs the static log prior")
        return static.view(1, 1, -1)
    prior = posterior_log_prior(log_probs, lengths, per_sequence=config.scope == "sequence")
    prior = prior.view(1, 1, -1) if config.scope == "batch" else prior.unsqueeze(1)
    return prior.detach() if config.stop_grad else prior
