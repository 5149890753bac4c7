"""One-cycle learning-rate schedule of the paper (A.4.5/A.4.6)."""

from __future__ import annotations

import torch

__all__ = ["one_cycle_factor", "one_cycle_scheduler"]


def one_cycle_factor(step: int, total_steps: int, peak: float, final: float = 1e-6,
                     start_fraction: float = 0.1) -> float:
    """Learning rate at ``step`` of ``total_steps``: linear from ``start_fraction * peak`` up to
    ``peak`` over the first 45% of steps, back down over the next 45% (together the "one cycle over
    90% of training"), then linearly to ``final`` over the last 10%."""
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    x = min(max(step / total_steps, 0.0), 1.0)
    low = start_fraction * peak
    if x < 0.45:
        return low + (peak - low) * x / 0.45
    if x < 0.9:
        return peak - (peak - low) * (x - 0.45) / 0.45
    return low + (final - low) * (x - 0.9) / 0.1


def one_cycle_scheduler(optimizer: torch.optim.Optimizer, total_steps: int, peak: float,
                        final: float = 1e-6) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` following :func:`one_cycle_factor`; the optimizer's lr must be ``peak``."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: one_cycle_factor(step, total_steps, peak, final) / peak)
