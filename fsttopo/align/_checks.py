"""Input validation shared by the alignment modules."""

from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["int_vector"]


def int_vector(values: torch.Tensor | Sequence[int], B: int, name: str, lower: int = 0,
               upper: int | None = None) -> torch.Tensor:
    """Validate ``B`` integers in ``[lower, upper]`` (e.g. lengths in frames); return CPU int64 ``[B]``."""
    v = torch.as_tensor(values)
    if v.shape != (B,) or v.is_floating_point() or v.dtype == torch.bool:
        raise ValueError(f"{name} must be {B} integers, got {v.dtype} {tuple(v.shape)}")
    v = v.to("cpu", torch.int64)
    if bool((v < lower).any()) or (upper is not None and bool((v > upper).any())):
        raise ValueError(f"{name} must lie in [{lower}, {upper if upper is not None else 'inf'}], got {v.tolist()}")
    return v
