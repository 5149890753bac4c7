"""Input validation shared by the criteria: shapes, lengths, label ids (all raise ``ValueError``)."""

from __future__ import annotations

from typing import Sequence

import torch

REDUCTIONS = ("none", "sum", "mean")


def check_float(x: torch.Tensor, name: str, ndim: int | None = None, shape_hint: str = "") -> None:
    """``x`` is a float32/float64 tensor (of ``ndim`` dimensions when given)."""
    if not torch.is_tensor(x):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape_hint}, got {tuple(x.shape)}")
    if x.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"{name} must be float32 or float64, got {x.dtype}")


def check_lengths(lengths: torch.Tensor | Sequence[int] | None, B: int, T: int,
                  device: torch.device) -> torch.Tensor:
    """``[B]`` int64 valid frames per sequence on ``device``; ``None`` means all ``T`` frames."""
    if lengths is None:
        return torch.full((B,), T, dtype=torch.int64, device=device)
    lengths = torch.as_tensor(lengths)
    if lengths.ndim != 1 or lengths.shape[0] != B:
        raise ValueError(f"lengths must have shape [{B}], got {tuple(lengths.shape)}")
    if lengths.is_floating_point() or lengths.dtype == torch.bool:
        raise ValueError(f"lengths must be integers (frames), got {lengths.dtype}")
    cpu = lengths.cpu()
    bad = (cpu < 0) | (cpu > T)
    if bool(bad.any()):
        b = int(torch.nonzero(bad)[0])
        raise ValueError(f"lengths[{b}] = {int(cpu[b])} is outside [0, T={T}]")
    return lengths.to(device=device, dtype=torch.int64)


def valid_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """``[B, T]`` bool, True on frames ``t < lengths[b]``."""
    return torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]


def check_label(value: int, name: str, V: int) -> int:
    """A single class id in ``[0, V)``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int class id, got {value!r}")
    if not 0 <= value < V:
        raise ValueError(f"{name} = {value} out of range for {V} classes")
    return value


def check_alignment(alignment: torch.Tensor, B: int, T: int, V: int, valid: torch.Tensor) -> torch.Tensor:
    """``[B, T]`` integer frame labels, every valid frame's id in ``[0, V)``; returned as int64."""
    if not torch.is_tensor(alignment):
        raise TypeError(f"alignment must be a torch.Tensor, got {type(alignment).__name__}")
    if alignment.shape != (B, T):
        raise ValueError(f"alignment must have shape [B={B}, T={T}], got {tuple(alignment.shape)}")
    if alignment.is_floating_point() or alignment.dtype == torch.bool:
        raise ValueError(f"alignment must hold integer label ids, got {alignment.dtype}")
    alignment = alignment.to(device=valid.device, dtype=torch.int64)
    bad = valid & ((alignment < 0) | (alignment >= V))
    if bool(bad.any()):
        b, t = (int(i) for i in torch.nonzero(bad)[0])
        raise ValueError(f"alignment[{b}, {t}] = {int(alignment[b, t])} is not a label id in [0, {V})")
    return alignment


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
