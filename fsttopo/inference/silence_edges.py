"""No word boundary inside digital silence: a word that ends (or starts) in a run of exact zeros is
cut back to where the sound stops (or starts).

A model with 40 ms frames, and a boundary detector that has not heard a recording stop dead, put the
end of a word that is followed by digital silence up to 30 ms into the zeros (three words in two
minutes of silence: tests/test_silence.py). Exact zeros hold no speech, so wherever a run of them
is long enough not to be a stop's closure, a boundary inside it is moved to its edge; phones follow
their word (:func:`fsttopo.align.refine.move_word_boundaries`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..align.refine import move_word_boundaries
from ..data.alignment import UtteranceAlignment
from ..data.features import FEATURE_SHIFT
from .silence_trim import digital_silence_runs

__all__ = ["MIN_SILENCE_RUN", "digital_silence_spans", "keep_words_out_of_digital_silence"]

MIN_SILENCE_RUN = 0.2
"""Seconds of digital silence that count as a pause (a stop closure is shorter)."""

EDGE = 0.0125
"""Seconds from a silent run's outer frames to where the sound stops: frame ``i``'s 25 ms window
is centred on ``(i + 0.5) * 10 ms``, so the sound stops between the last sounding frame's window end
and the first silent one's, ``12.5 ms`` (+-5 ms) before the first silent frame's start (and starts
as far after the last silent frame's end)."""


def digital_silence_spans(features: torch.Tensor, min_run: float = MIN_SILENCE_RUN) -> np.ndarray:
    """``[N, 2]`` seconds from the features' start: the spans of digital silence in ``[T, F]``
    log-mel features (runs of frames with mean log-mel below
    :data:`~fsttopo.inference.silence_trim.SILENT_LOG_MEL`, at least ``min_run`` seconds long), each
    ending where the sound stops and starts (:data:`EDGE`); a run at the recording's edge reaches it."""
    starts, ends = (x.numpy() for x in digital_silence_runs(features))
    long = (ends - starts) * FEATURE_SHIFT >= min_run
    starts, ends = starts[long], ends[long]
    t = int(features.shape[0])
    lo = np.where(starts == 0, 0.0, starts * FEATURE_SHIFT - EDGE)
    hi = np.where(ends == t, t * FEATURE_SHIFT, ends * FEATURE_SHIFT + EDGE)
    return np.stack([lo, hi], axis=1) if len(lo) else np.zeros((0, 2))


def keep_words_out_of_digital_silence(alignments: Sequence[UtteranceAlignment], features: Sequence[torch.Tensor],
                                      min_run: float = MIN_SILENCE_RUN) -> list[UtteranceAlignment]:
    """Copies of ``alignments`` (``alignments[i]`` of ``features[i]`` ``[T, F]``, which start at its
    ``start``) where every word end inside a span of :func:`digital_silence_spans` is moved to the
    span's start and every word start to its end, unless that would leave the word no time (a word
    wholly inside the silence stays where it is)."""
    if len(alignments) != len(features):
        raise ValueError(f"got {len(features)} feature tensors for {len(alignments)} alignments")
    out = []
    for ali, feats in zip(alignments, features):
        spans = digital_silence_spans(feats, min_run)
        if not len(spans) or not ali.words:
            out.append(ali)
            continue
        starts = np.array([w.start for w in ali.words]) - ali.start
        ends = np.array([w.end for w in ali.words]) - ali.start
        inside_end = (spans[None, :, 0] < ends[:, None]) & (ends[:, None] <= spans[None, :, 1])      # [W, N]
        inside_start = (spans[None, :, 0] <= starts[:, None]) & (starts[:, None] < spans[None, :, 1])
        new_ends = np.where(inside_end.any(1), np.where(inside_end, spans[None, :, 0], np.inf).min(1), ends)
        new_starts = np.where(inside_start.any(1), np.where(inside_start, spans[None, :, 1], -np.inf).max(1), starts)
        new_ends = np.where(new_ends > starts, new_ends, ends)
        new_starts = np.where(new_starts < np.minimum(ends, new_ends), new_starts, starts)
        if np.array_equal(new_starts, starts) and np.array_equal(new_ends, ends):
            out.append(ali)
            continue
        out.append(move_word_boundaries(ali, np.stack([new_starts, new_ends], axis=1).reshape(-1)))
    return out
