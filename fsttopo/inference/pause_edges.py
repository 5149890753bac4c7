"""Word edges at pauses on the energy step: a word that starts after a pause (or ends before one)
starts where the frame energy first rises above a threshold (ends where it last falls below it).

A model with 40 ms frames places a pause edge on its own convention, learned from whatever voices
it was trained on; two synthesizers that mark pause edges differently (festival's unit-selection
voice with decaying tails, espeak-ng on the energy step) leave it 30-37 ms off on each, in opposite
directions (docs/own-corpus.md). The energy step is where a listener hears the word begin or end:
the threshold is ``range_db`` below the recording's loud end (the 99th percentile of the frame
energies of its log-mel features), the search stays within ``window`` seconds of the model's edge
and inside the pause and the word, and the crossing is interpolated between the centres of the
10 ms frames' 25 ms windows.
An edge without a crossing in reach stays where it is. Phones follow their word
(:func:`fsttopo.align.refine.move_word_boundaries`).

``range_db`` is an alignment option (``pause_edges_db``) that ``fsttopo train-align`` tunes on its
dev speakers; off by default.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from ..align.refine import move_word_boundaries
from ..data.alignment import UtteranceAlignment
from ..data.features import FEATURE_SHIFT, log_mel_energy_db

__all__ = ["PAUSE_EDGE_WINDOW", "MIN_PAUSE_GAP", "WINDOW_CENTRE", "check_pause_edges_db", "snap_pause_edges",
           "snap_to_energy"]

PAUSE_EDGE_WINDOW = 0.1
"""Seconds on each side of the model's edge that the snapped edge may move."""

MIN_PAUSE_GAP = 0.05
"""Seconds between two words that make a pause (shorter gaps are word junctions and stay)."""

WINDOW_CENTRE = 0.005
"""Seconds from ``i * 10 ms`` to the centre of feature frame ``i``'s 25 ms window, the time its
energy is put at (Lhotse's features do not snip the edges: frame ``i`` is centred on ``(i + 0.5)
* 10 ms``)."""


def check_pause_edges_db(value) -> float | None:
    """``value`` as the ``pause_edges_db`` option: None or 0 (off), else dB in (0, 80]."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 80:
        raise ValueError(f"pause_edges_db must be null or 0 (off) or a number of dB up to 80, got {value!r}")
    return float(value) or None


def _crossing(energy: np.ndarray, threshold: float, lo: float, hi: float, rising: bool) -> float | None:
    """Seconds where ``energy`` (``[T]`` dB per 10 ms frame) first rises above ``threshold``
    (``rising``) or last falls below it, among the frames whose centres lie in ``[lo, hi]``; None
    if it does not cross there."""
    first = max(math.ceil((lo - WINDOW_CENTRE) / FEATURE_SHIFT), 0)
    last = min(math.floor((hi - WINDOW_CENTRE) / FEATURE_SHIFT), energy.shape[0] - 1)
    if last - first < 1:
        return None
    above = energy[first: last + 1] >= threshold
    steps = np.flatnonzero(above[1:] != above[:-1])  # frame k -> k + 1 crosses
    steps = steps[above[steps + 1]] if rising else steps[~above[steps + 1]]
    if steps.size == 0:
        return None
    k = first + int(steps[0] if rising else steps[-1])
    e0, e1 = energy[k], energy[k + 1]
    return WINDOW_CENTRE + FEATURE_SHIFT * (k + (threshold - e0) / (e1 - e0))


def snap_pause_edges(alignments: Sequence[UtteranceAlignment], features: Sequence[torch.Tensor], range_db: float,
                     window: float = PAUSE_EDGE_WINDOW, min_gap: float = MIN_PAUSE_GAP) -> list[UtteranceAlignment]:
    """Copies of ``alignments`` (``alignments[i]`` of ``features[i]`` ``[T, F]`` log-mel, 10 ms
    frames, starting at its ``start``) with word edges at pauses moved to the energy crossing
    ``range_db`` below the loud end (module docstring): :func:`snap_to_energy` of the features'
    frame energies."""
    if len(alignments) != len(features):
        raise ValueError(f"got {len(features)} feature tensors for {len(alignments)} alignments")
    return snap_to_energy(alignments, [log_mel_energy_db(f).numpy() for f in features], range_db, window, min_gap)


def snap_to_energy(alignments: Sequence[UtteranceAlignment], energies: Sequence[np.ndarray], range_db: float,
                   window: float = PAUSE_EDGE_WINDOW, min_gap: float = MIN_PAUSE_GAP) -> list[UtteranceAlignment]:
    """:func:`snap_pause_edges` from ``energies[i]``, the ``[T]`` frame energies (dB, 10 ms frames,
    :func:`~fsttopo.data.features.log_mel_energy_db`) of ``alignments[i]``'s recording: for callers
    that snap the same recordings at several ``range_db`` (tuning). A pause is a gap of at least
    ``min_gap`` seconds between words, or the recording's edge; a loop over words, not frames."""
    if len(alignments) != len(energies):
        raise ValueError(f"got {len(energies)} energy arrays for {len(alignments)} alignments")
    out = []
    for ali, energy in zip(alignments, energies):
        if not ali.words:
            out.append(ali)
            continue
        threshold = float(np.percentile(energy, 99)) - range_db
        times = np.array([x - ali.start for w in ali.words for x in (w.start, w.end)])
        starts, ends = times[0::2], times[1::2]
        new = times.copy()
        end_of_audio = energy.shape[0] * FEATURE_SHIFT
        for i in range(len(starts)):
            before = 0.0 if i == 0 else ends[i - 1]
            after = end_of_audio if i == len(starts) - 1 else starts[i + 1]
            if (i == 0 or starts[i] - before >= min_gap) and not ali.untranscribed_between(ali.start + before,
                                                                                            ali.start + starts[i]):
                t = _crossing(energy, threshold, max(starts[i] - window, before), min(starts[i] + window, ends[i]), True)
                if t is not None:
                    new[2 * i] = t
            if (i == len(starts) - 1 or after - ends[i] >= min_gap) and not ali.untranscribed_between(
                    ali.start + ends[i], ali.start + after):
                t = _crossing(energy, threshold, max(ends[i] - window, starts[i]), min(ends[i] + window, after), False)
                if t is not None:
                    new[2 * i + 1] = t
        # Each search stays inside its pause and its word, so edges can only cross within one pause
        # (a click inside it: the end before it found after the start after it); that pair keeps
        # the model's edges, the other pauses keep theirs snapped.
        crossed = np.flatnonzero(new[1:-1:2] > new[2::2])
        new[2 * crossed + 1], new[2 * crossed + 2] = ends[crossed], starts[crossed + 1]
        bad = new[1::2] <= new[0::2]  # a word left no time keeps its edges
        new[0::2][bad], new[1::2][bad] = starts[bad], ends[bad]
        bounds = np.concatenate([[0.0], new, [max(end_of_audio, times[-1])]])
        if np.array_equal(new, times) or np.any(np.diff(bounds) < 0):
            out.append(ali)
            continue
        out.append(move_word_boundaries(ali, new))
    return out
