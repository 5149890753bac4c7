"""Runs of set flags in a 1-D sequence (quiet frames, silent frames, garbage frames): the one place
that turns per-frame flags into ``[start, end)`` spans."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["true_runs", "long_runs"]


def true_runs(flags: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The runs of True in ``[n]`` bool ``flags``: ``(starts, ends)`` int64 arrays of equal length,
    ``[start, end)`` per run, in order (both empty when no flag is set)."""
    if isinstance(flags, torch.Tensor):
        flags = flags.detach().cpu().numpy()
    flags = np.asarray(flags, dtype=bool)
    if flags.ndim != 1:
        raise ValueError(f"flags must be 1-D, got shape {flags.shape}")
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return edges[0::2].astype(np.int64), edges[1::2].astype(np.int64)


def long_runs(flags: np.ndarray, min_length: int) -> np.ndarray:
    """``[n]`` bool: the ``flags`` that lie in runs of at least ``min_length`` set flags in a row."""
    starts, ends = true_runs(flags)
    keep = ends - starts >= min_length
    marks = np.zeros(len(flags) + 1, dtype=np.int64)  # +1 where a kept run starts, -1 where it ends
    np.add.at(marks, starts[keep], 1)
    np.add.at(marks, ends[keep], -1)
    return np.cumsum(marks[:-1]) > 0
