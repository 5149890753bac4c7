"""A warning for recordings that look reverberant: speech in a room whose echo trails every word.
The shipped default model has heard only dry speech; the held-out test voices in rooms of RT60
0.5 s came out 54.3 ms mean word-boundary error with it, against 27.6 ms with ``--model robust``,
which was trained with reverberant copies and moves word onsets earlier by the measured decay
(docs/results.md, docs/boundaries.md "Reverberant onsets").

The measure is :func:`fsttopo.data.features.decay_asymmetry` (how much more slowly the energy falls
than it rises: a room's tail slows every fall and no onset). The threshold,
:data:`REVERBERANT_ABOVE`, lies above the clean (2.23 at most) and telephone-band (2.30) test
copies and above all but 6 of the 7,302 training and dev recordings (99.9th percentile 2.22);
70 % of the 200 reverberant test copies (RT60 0.5 s; 1.78-4.60, median 2.70) are above it, and no
noisy, babble, quiet or silence-padded copy (docs/robustness.md).
"""

from __future__ import annotations

import torch

from ..data.features import decay_asymmetry

__all__ = ["REVERBERANT_ABOVE", "REVERB_ADVICE", "ReverberantRecordingWarning", "reverb_asymmetry", "reverb_warning"]

REVERBERANT_ABOVE = 2.4
"""Recordings whose energy falls more than this many times more slowly than it rises look reverberant."""

REVERB_ADVICE = ("a model trained on dry speech, as the shipped default is, places words late in reverberant audio; "
                 "--model robust is trained for it")
"""What the warnings about reverberant recordings (one file or a corpus) tell the user to do."""


class ReverberantRecordingWarning(UserWarning):
    """A recording looks reverberant (:func:`reverb_asymmetry` is not None)."""


def reverb_asymmetry(features: torch.Tensor) -> float | None:
    """The decay asymmetry of ``[T, 80]`` log-mel features (:func:`decay_asymmetry`, rounded to 0.01
    as it is reported) when it is above :data:`REVERBERANT_ABOVE`, else None (also for a recording
    without frames)."""
    if features.ndim != 2 or features.shape[0] == 0:
        return None
    asymmetry = decay_asymmetry(features)
    return round(asymmetry, 2) if asymmetry > REVERBERANT_ABOVE else None


def reverb_warning(features: torch.Tensor, name: str) -> str | None:
    """The warning for recording ``name`` from its ``[T, 80]`` log-mel features, or None when it
    does not look reverberant (:func:`reverb_asymmetry`)."""
    asymmetry = reverb_asymmetry(features)
    if asymmetry is None:
        return None
    return (f"{name} looks reverberant (a room's echo): its energy falls {asymmetry:.2f} times more slowly than it "
            f"rises (dry speech: {REVERBERANT_ABOVE:g} at most): {REVERB_ADVICE}")
