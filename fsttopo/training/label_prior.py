"""The label prior a model file carries: the model's average posterior over its training data.

Alignment divides the posteriors by this prior (``prior_scale``, paper Table 14). Estimating it once,
on training data, rather than on whatever is being aligned, makes one recording's alignment the same
in any batch and keeps silence-heavy recordings from pushing the silence prior up (which made the
words spread over the silence).
"""

from __future__ import annotations

import math

import torch
from lhotse import CutSet
from tqdm import tqdm

from ..data.features import cut_features
from ..models import AlignmentModel
from .data import make_sampler, pad_features

__all__ = ["estimate_log_prior"]


@torch.no_grad()
def estimate_log_prior(model: AlignmentModel, cuts: CutSet, max_hours: float | None = 1.0,
                       max_duration: float = 200.0, device: str | torch.device = "cpu") -> torch.Tensor:
    """``log`` of the average posterior ``p(y | x_t)`` over every model frame of ``cuts``.

    Args:
        model: the trained model (evaluated without dropout; its mode is restored).
        cuts: training cuts with features; taken in their stored order (deterministic).
        max_hours: stop after this much audio (``None``: all); the average settles long before.
        max_duration: seconds of audio per forward batch.
        device: where to run the model.

    Returns:
        ``[V]`` float32 log prior (sums to 1 in probability).
    """
    if model.config.aligner:
        raise ValueError("an Aligner-Encoder model has no frame posteriors to estimate a label prior from")
    if max_hours is not None and not max_hours > 0:
        raise ValueError(f"max_hours must be > 0, got {max_hours}")
    was_training = model.training
    model.eval()
    total, frames, seconds = None, 0, 0.0
    budget = math.inf if max_hours is None else 3600.0 * max_hours
    try:
        for batch in tqdm(make_sampler(cuts, max_duration, shuffle=False), desc="label prior", unit="batch"):
            if seconds >= budget:
                break
            batch = list(batch)
            x, lengths = pad_features([cut_features(c) for c in batch])
            out = model(x.to(device), lengths.to(device))
            valid = torch.arange(out.log_probs.shape[1], device=device)[None, :] < out.lengths[:, None]
            mass = out.log_probs.double().exp().masked_fill(~valid[..., None], 0.0).sum((0, 1))
            total = mass if total is None else total + mass
            frames += int(out.lengths.sum())
            seconds += sum(c.duration for c in batch)
    finally:
        model.train(was_training)
    if total is None or frames == 0:
        raise ValueError("no frames to estimate the label prior from (empty cut set?)")
    return (total / frames).log().float().cpu()
