"""Training losses of the boundary detector (:class:`fsttopo.models.boundary.BoundaryDetector`)
from reference boundary times in seconds.

Reference boundaries become fractional feature-frame positions ``u = b / 0.01 - 0.5``
(:func:`~fsttopo.models.boundary.seconds_to_frames`); ``u`` lies between the frames
``f = floor(u)`` and ``f + 1``.

``window``: a softmax over the ``2 K + 2`` frames ``f - K .. f + 1 + K`` around each reference
boundary (what refinement uses, :mod:`fsttopo.align.refine`), against the *two-hot* target
``(1 - (u - f))`` on ``f`` and ``u - f`` on ``f + 1``, so that its expected frame equals ``u``
(sub-frame precision)::

    loss_j = - sum_{t in window} target_j(t) * log_softmax_{window}(logits)(t)

Frames outside the utterance leave the softmax; with ``exclude_others`` so do frames that are
another boundary's target (nearby phone boundaries do not compete). The loss is the mean over
boundaries.

``bce``: per-frame binary cross-entropy against ``y(t) = max_j max(0, 1 - |t - u_j| / 2)``
(1 on a boundary frame, 1/2 one frame away, 0 from two frames on: smoothed over +-1 frame),
mean over valid frames, positives weighted by ``pos_weight``.
"""

from __future__ import annotations

from typing import Sequence

import torch

from ..models.boundary import length_mask, seconds_to_frames

__all__ = ["pad_boundaries", "boundary_window_loss", "boundary_bce_loss", "boundary_loss"]


def pad_boundaries(boundaries: Sequence[torch.Tensor | Sequence[float]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-utterance boundary times (seconds, 1-D) -> ``(times [B, N] float64, valid [B, N] bool)``,
    padded with 0 / False. ValueError for non-finite or negative times."""
    rows = [torch.as_tensor(b, dtype=torch.float64).reshape(-1) for b in boundaries]
    if not rows:
        raise ValueError("no utterances given")
    n = max(1, max(r.numel() for r in rows))
    times = torch.zeros(len(rows), n, dtype=torch.float64)
    valid = torch.zeros(len(rows), n, dtype=torch.bool)
    for i, r in enumerate(rows):
        if not bool(torch.isfinite(r).all()) or bool((r < 0).any()):
            raise ValueError(f"utterance {i}: boundary times must be finite seconds >= 0")
        times[i, : r.numel()] = r
        valid[i, : r.numel()] = True
    return times, valid


def check_boundary_shapes(logits: torch.Tensor, lengths: torch.Tensor, times: torch.Tensor,
                          valid: torch.Tensor) -> None:
    """ValueError unless ``logits [B, T]``, ``lengths [B]``, ``times`` and ``valid [B, N]``."""
    if logits.ndim != 2 or lengths.shape != (logits.shape[0],):
        raise ValueError(f"logits must be [B, T] with lengths [B], got {tuple(logits.shape)}, {tuple(lengths.shape)}")
    if times.ndim != 2 or times.shape[0] != logits.shape[0] or valid.shape != times.shape:
        raise ValueError(f"times and valid must be [B={logits.shape[0]}, N], got {tuple(times.shape)}, "
                         f"{tuple(valid.shape)}")


def _positions(times: torch.Tensor, valid: torch.Tensor, lengths: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(f [B, N] long, frac [B, N], valid [B, N])``: boundaries as frame ``f`` plus ``frac`` in
    ``[0, 1)``, clamped into ``[0, length - 1]``; boundaries outside the utterance are dropped."""
    last = (lengths - 1).to(times)[:, None]
    u = (seconds_to_frames(times) * 1e6).round().div(1e6).clamp(min=0.0)   # no float noise in seconds -> frames
    valid = valid & (u <= last + 0.5)   # up to half a frame past the last frame centre
    u = torch.minimum(u, last)
    f = u.floor()
    return f.long(), (u - f), valid


def _target_frames(f: torch.Tensor, frac: torch.Tensor, valid: torch.Tensor, num_frames: int) -> torch.Tensor:
    """``[B, T]`` bool: frames carrying target weight of some valid boundary."""
    hit = torch.zeros(f.shape[0], num_frames + 1, dtype=torch.bool, device=f.device)
    hit.scatter_(1, torch.where(valid, f, num_frames), True)
    hit.scatter_(1, torch.where(valid & (frac > 0), f + 1, num_frames), True)
    return hit[:, :num_frames]


def boundary_window_loss(logits: torch.Tensor, lengths: torch.Tensor, times: torch.Tensor, valid: torch.Tensor,
                         radius: int = 5, exclude_others: bool = True) -> torch.Tensor:
    """The ``window`` loss of the module docstring.

    Args:
        logits: ``[B, T]`` per-feature-frame boundary logits (padding may be ``-inf``).
        lengths: ``[B]`` valid feature frames.
        times: ``[B, N]`` reference boundaries in seconds from the utterance start (see
            :func:`pad_boundaries`); ``valid`` ``[B, N]`` marks the real ones.
        radius: ``K``, frames on each side of the boundary's two frames.
        exclude_others: drop other boundaries' target frames from each softmax.

    Returns:
        scalar: mean over valid boundaries (0 when there are none).
    """
    check_boundary_shapes(logits, lengths, times, valid)
    if radius < 0:
        raise ValueError(f"radius must be >= 0 frames, got {radius}")
    lengths = lengths.to(logits.device)
    f, frac, valid = _positions(times.to(logits.device), valid.to(logits.device), lengths)
    offsets = torch.arange(-radius, radius + 2, device=logits.device)              # [W]
    idx = f[..., None] + offsets                                                   # [B, N, W]
    inside = (idx >= 0) & (idx < lengths[:, None, None])
    safe = idx.clamp(0, logits.shape[1] - 1)
    scores = torch.gather(logits, 1, safe.flatten(1)).view(idx.shape)              # [B, N, W]
    frac = frac.to(logits.dtype)
    target = torch.zeros_like(scores)
    target[..., radius] = 1 - frac
    target[..., radius + 1] = frac
    keep = inside
    if exclude_others:
        others = torch.gather(_target_frames(f, frac, valid, logits.shape[1]), 1, safe.flatten(1)).view(idx.shape)
        keep = keep & (~others | (target > 0))
    log_p = torch.log_softmax(scores.masked_fill(~keep, float("-inf")), dim=-1)
    per_boundary = -(target * log_p.masked_fill(target == 0, 0.0)).sum(-1)          # [B, N]
    count = valid.sum()
    if count == 0:
        return logits.new_zeros(())
    return per_boundary.masked_fill(~valid, 0.0).sum() / count


def boundary_bce_loss(logits: torch.Tensor, lengths: torch.Tensor, times: torch.Tensor, valid: torch.Tensor,
                      pos_weight: float = 1.0) -> torch.Tensor:
    """The ``bce`` loss of the module docstring (arguments as :func:`boundary_window_loss`);
    scalar mean over valid frames."""
    check_boundary_shapes(logits, lengths, times, valid)
    lengths = lengths.to(logits.device)
    u = seconds_to_frames(times.to(logits.device)).to(logits.dtype)                # [B, N]
    t = torch.arange(logits.shape[1], device=logits.device, dtype=logits.dtype)
    tri = (1 - (t[None, None, :] - u[..., None]).abs() / 2).clamp(min=0)          # [B, N, T]
    y = tri.masked_fill(~valid.to(logits.device)[..., None], 0.0).amax(1) if times.shape[1] else \
        torch.zeros_like(logits)
    frames = length_mask(lengths, logits.shape[1])
    x = logits.masked_fill(~frames, 0.0)
    weight = torch.as_tensor(pos_weight, dtype=logits.dtype, device=logits.device)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(x, y, pos_weight=weight, reduction="none")
    return loss.masked_fill(~frames, 0.0).sum() / frames.sum()


def boundary_loss(kind: str, logits: torch.Tensor, lengths: torch.Tensor, times: torch.Tensor,
                  valid: torch.Tensor, **options) -> torch.Tensor:
    """``kind`` ``"window"`` (:func:`boundary_window_loss`), ``"bce"`` (:func:`boundary_bce_loss`) or
    ``"both"`` (their sum)."""
    if kind == "window":
        return boundary_window_loss(logits, lengths, times, valid, **options)
    if kind == "bce":
        return boundary_bce_loss(logits, lengths, times, valid, **options)
    if kind == "both":
        return boundary_window_loss(logits, lengths, times, valid) + boundary_bce_loss(logits, lengths, times, valid)
    raise ValueError(f"boundary loss kind must be 'window', 'bce' or 'both', got {kind!r}")
