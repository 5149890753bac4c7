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


def window_plan(num_out: int, core: int, context: int) -> torch.Tensor:
    """Windows over ``num_out`` model frames: ``[W, 4]`` int64 rows ``(lo, core_start, core_end, hi)``
    in model frames; window ``w`` is encoded over ``[lo, hi)`` and keeps ``[core_start, core_end)``.

    Every window spans ``core + 2 context`` frames where the recording allows: at the ends the
    context the edge takes away is added on the other side. A short last core would otherwise see
    only its left context, and a window of silence alone is outside what the models were trained
    on (the robust model put a word 5 s into 60 s of trailing silence from 24 such frames)."""
    if core < 1 or context < 0:
        raise ValueError(f"core must be >= 1 and context >= 0 model frames, got {core}, {context}")
    span = core + 2 * context
    starts = torch.arange(0, max(num_out, 1), core)
    ends = (starts + core).clamp(max=num_out)
    lo = torch.minimum((starts - context).clamp(min=0), torch.full_like(starts, max(num_out - span, 0)))
    hi = torch.maximum(ends + context, lo + span).clamp(max=num_out)
    return torch.stack([lo, starts, ends, hi], dim=1)


@torch.no_grad()
def encode_chunked(model: AlignmentModel, features: torch.Tensor, core: int = 750, context: int = 125,
                   batch_size: int = 8) -> torch.Tensor:
    """Log-probabilities of one utterance, encoded in overlapping windows.

    Args:
        model: the acoustic model (eval mode).
        features: ``[T', F]`` features of one utterance (10 ms frames).
        core: model frames each window keeps (750 = 30 s at 40 ms).
        context: model frames of context on each side of a window's core (125 = 5 s).
        batch_size: windows encoded at once (bounds the memory: each costs ``(core + 2 context)^2``
            attention weights per head).

    Returns:
        ``[T, V]`` float32 log-probabilities on the CPU, ``T = ceil(T' / S)`` model frames, equal
        to ``model`` over the whole utterance when it fits in one window.
    """
    if features.ndim != 2:
        raise ValueError(f"features must be [T', F], got shape {tuple(features.shape)}")
    S = model.config.subsampling
    num_out = int(model.frontend.output_lengths(torch.tensor([features.shape[0]]))[0])
    plan = window_plan(num_out, core, context)
    device = next(model.parameters()).device
    pieces = []
    for rows in plan.split(batch_size):
        chunks = [features[S * int(lo): S * int(hi)] for lo, _, _, hi in rows]
        x, lengths = pad_features(chunks)
        out = model(x.to(device), lengths.to(device))
        log_probs = out.log_probs.float().cpu()
        for b, (lo, start, end, _) in enumerate(rows.tolist()):
            pieces.append(log_probs[b, start - lo: end - lo])
    return torch.cat(pieces)
