"""The acoustic model over a long recording in overlapping windows, stitched on model-frame boundaries.

The encoder's full self-attention costs memory and time quadratic in the frames, so a recording
longer than a window is encoded window by window: window ``i`` keeps the model frames
``[i C, (i + 1) C)`` (its *core*) and sees ``L`` more model frames of *context* on each side. Every
window starts on a multiple of the model's downsampling ``S`` in feature frames, so its output
frame ``j`` is the global output frame ``start / S + j`` (the frontend's strided convolutions put
output frame ``t`` on input frame ``S t``); only the window edges see the zeros a lone utterance
sees past its ends, and those lie in the context that is thrown away.

With full self-attention the result is not exact: every frame attends to the whole input. The
attention to frames more than a few seconds away is small, so the difference falls with the
context (measured in ``docs/alignment.md``, "Long recordings").
"""

from __future__ import annotations

import torch

from ..models import AlignmentModel
from ..data.features import pad_features

__all__ = ["encode_chunked", "window_plan"]


def window_plan(num_out: int, core: int, context: int, active: torch.Tensor | None = None, min_active: int = 0,
                max_span: int | None = None) -> torch.Tensor:
    """Windows over ``num_out`` model frames: ``[W, 4]`` int64 rows ``(lo, core_start, core_end, hi)``
    in model frames; window ``w`` is encoded over ``[lo, hi)`` and keeps ``[core_start, core_end)``.

    Every window spans ``core + 2 context`` frames where the recording allows: at the ends the
    context the edge takes away is added on the other side. A short last core would otherwise see
    only its left context, and a window of silence alone is outside what the models were trained
    on (the robust model put a word 5 s into 60 s of trailing silence from 24 such frames). So, given
    ``active`` (``[num_out]`` bool, e.g. frames with sound), a window holding fewer than
    ``min_active`` of them grows on both sides until it holds that many, spans ``max_span`` frames
    (default: the whole recording) or covers the recording; the cores stay as they are."""
    if core < 1 or context < 0:
        raise ValueError(f"core must be >= 1 and context >= 0 model frames, got {core}, {context}")
    span = core + 2 * context
    starts = torch.arange(0, max(num_out, 1), core)
    ends = (starts + core).clamp(max=num_out)
    lo = torch.minimum((starts - context).clamp(min=0), torch.full_like(starts, max(num_out - span, 0)))
    hi = torch.maximum(ends + context, lo + span).clamp(max=num_out)
    plan = torch.stack([lo, starts, ends, hi], dim=1)
    if active is not None and min_active > 0:
        if active.shape != (num_out,):
            raise ValueError(f"active must be [{num_out}] (one flag per model frame), got {tuple(active.shape)}")
        _grow_to_activity(plan, active, min_active, num_out if max_span is None else max_span)
    return plan


def _grow_to_activity(plan: torch.Tensor, active: torch.Tensor, min_active: int, max_span: int) -> None:
    """Widen in place each window of ``plan`` holding fewer than ``min_active`` active frames by the
    least ``e`` frames on each side (what an edge takes away goes to the other side) that gives it
    that many, within ``max_span`` frames; a binary search per window (a few dozen windows an hour)."""
    num_out = active.shape[0]
    counts = torch.cat([torch.zeros(1, dtype=torch.int64), active.to(torch.int64).cumsum(0)]).tolist()

    def widened(lo: int, hi: int, e: int) -> tuple[int, int]:
        lo, hi = lo - e, hi + e
        if lo < 0:
            lo, hi = 0, hi - lo
        if hi > num_out:
            lo, hi = max(lo - (hi - num_out), 0), num_out
        return lo, hi

    for row in plan:
        lo, hi = int(row[0]), int(row[3])
        if counts[hi] - counts[lo] >= min_active or hi - lo >= max_span:
            continue
        low, high = 0, max((max_span - (hi - lo)) // 2, 0)  # the answer lies in [low, high]
        while low < high:
            mid = (low + high) // 2
            a, b = widened(lo, hi, mid)
            if counts[b] - counts[a] >= min_active:
                high = mid
            else:
                low = mid + 1
        row[0], row[3] = widened(lo, hi, low)


@torch.no_grad()
def encode_chunked(model: AlignmentModel, features: torch.Tensor, core: int = 750, context: int = 125,
                   batch_size: int = 8, active: torch.Tensor | None = None, min_active: int = 0,
                   max_span: int | None = None) -> torch.Tensor:
    """Log-probabilities of one utterance, encoded in overlapping windows.

    Args:
        model: the acoustic model (eval mode).
        features: ``[T', F]`` features of one utterance (10 ms frames).
        core: model frames each window keeps (750 = 30 s at 40 ms).
        context: model frames of context on each side of a window's core (125 = 5 s).
        batch_size: windows encoded at once (bounds the memory: each costs ``(core + 2 context)^2``
            attention weights per head).
        active, min_active, max_span: windows with too little activity grow (:func:`window_plan`;
            ``active`` is ``[T]`` bool per model frame).

    Returns:
        ``[T, V]`` float32 log-probabilities on the CPU, ``T = ceil(T' / S)`` model frames, equal
        to ``model`` over the whole utterance when it fits in one window.
    """
    if features.ndim != 2:
        raise ValueError(f"features must be [T', F], got shape {tuple(features.shape)}")
    S = model.config.subsampling
    num_out = int(model.frontend.output_lengths(torch.tensor([features.shape[0]]))[0])
    plan = window_plan(num_out, core, context, active, min_active, max_span)
    device = next(model.parameters()).device
    pieces: list[torch.Tensor | None] = [None] * plan.shape[0]
    order = torch.argsort(plan[:, 3] - plan[:, 0], stable=True)  # windows grown over silence batch together
    for index in order.split(batch_size):
        rows = plan[index]
        chunks = [features[S * int(lo): S * int(hi)] for lo, _, _, hi in rows]
        x, lengths = pad_features(chunks)
        out = model(x.to(device), lengths.to(device))
        log_probs = out.log_probs.float().cpu()
        for b, (w, (lo, start, end, _)) in enumerate(zip(index.tolist(), rows.tolist())):
            pieces[w] = log_probs[b, start - lo: end - lo]
    return torch.cat(pieces)
