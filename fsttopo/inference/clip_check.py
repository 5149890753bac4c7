"""A warning for recordings that look clipped: speech recorded with too much input gain, cut flat
at full scale. Clipping adds harmonics and flattens the loud vowels, and alignments of it drift:
the shipped example clipped 20 dB over full scale came out 39.1 ms mean word-boundary error with
the default model and 30.0 ms with ``--model robust``, against 13.2 ms unclipped; 100 held-out test
utterances clipped 10 dB over full scale 19.5 ms (robust 16.9), 20 dB over 60.5 ms (28.7), against
14.0 ms (docs/robustness.md).

The measure is :func:`fsttopo.data.clipping.clipped_percent` (the share of the loud samples that
sit on plateaus at the peak magnitude), read from the samples before resampling. The threshold,
:data:`CLIPPED_ABOVE_PERCENT`, is ten times the highest of the 7,853 training and dev recordings
(0.10 %; 95 % of them measure 0) and lies where clipping starts to cost: the test utterances
clipped 3 dB over full scale measure 0.69 % (median) and align as the originals (14.3 ms), 6 dB
over 2.8 % (0.9-10.4 %; 15.5 ms), 10 dB over 9.5 % (4.0-23 %), 20 dB over 36 % (20-56 %).
"""

from __future__ import annotations

import numpy as np

from ..data.clipping import clipped_percent

__all__ = ["CLIPPED_ABOVE_PERCENT", "CLIP_ADVICE", "ClippedRecordingWarning", "clipped_share", "clip_warning"]

CLIPPED_ABOVE_PERCENT = 1.0
"""Recordings with more than this percentage of their loud samples on the peak level look clipped."""

CLIP_ADVICE = ("clipped speech is distorted and its words are placed less precisely; record with less input gain "
               "where you can, and --model robust, trained with clipped copies, is less affected")
"""What the warnings about clipped recordings (one file or a corpus) tell the user."""


class ClippedRecordingWarning(UserWarning):
    """A recording looks clipped (:func:`clipped_share` is not None)."""


def clipped_share(samples: np.ndarray) -> float | None:
    """:func:`clipped_percent` of mono samples ``[N]``, rounded to 0.1 % as it is reported, when it
    is above :data:`CLIPPED_ABOVE_PERCENT`, else None."""
    share = clipped_percent(samples)
    return round(share, 1) if share > CLIPPED_ABOVE_PERCENT else None


def clip_warning(samples: np.ndarray, name: str) -> str | None:
    """The warning for recording ``name`` from its mono samples ``[N]``, or None when it does not
    look clipped (:func:`clipped_share`)."""
    share = clipped_share(samples)
    if share is None:
        return None
    return (f"{name} looks clipped: {share:.1f} % of its loud samples sit flat on its peak level (unclipped "
            f"speech: {CLIPPED_ABOVE_PERCENT:g} % at most): {CLIP_ADVICE}")
