"""A warning for recordings whose band stops near 4 kHz: telephone calls, narrowband codecs and
anything that passed through 8 kHz sampling, upsampled or not. The shipped default model has
heard only wideband 16 kHz speech; the shipped example through 8 kHz sampling came out 23.0 ms
mean word-boundary error (max 179 ms) with it, against 14.6 ms (max 65 ms) with ``--model
robust``, which was trained with telephone-band copies (docs/robustness.md).

The measure is :func:`fsttopo.data.features.high_band_db` (how strong the band above 5 kHz gets
against the 0.3-3.4 kHz band in the loud frames). The threshold, :data:`BAND_LIMITED_BELOW_DB`, lies
halfway between the lowest of the 7,302 training and dev recordings (-6.3 dB; median 30 dB) and
the highest of the 200 telephone-band test copies (-26.4 dB; median -36 dB). Checked after it was
set: the 551 clean test recordings measure -11.6 dB or more, and no noisy, reverberant, quiet or
silence-padded copy is flagged (docs/robustness.md).
"""

from __future__ import annotations

import torch

from ..data.features import high_band_db

__all__ = ["BAND_LIMITED_BELOW_DB", "BAND_ADVICE", "BandLimitedRecordingWarning", "band_limited_db", "band_warning"]

BAND_LIMITED_BELOW_DB = -16.0
"""Recordings whose band above 5 kHz is weaker than this (dB against 0.3-3.4 kHz) look band-limited."""

BAND_ADVICE = ("a model trained on wideband speech, as the shipped default is, places words less precisely in "
               "telephone-band audio; --model robust is trained for it")
"""What the warnings about band-limited recordings (one file or a corpus) tell the user to do."""


class BandLimitedRecordingWarning(UserWarning):
    """A recording looks band-limited (:func:`band_limited_db` is not None)."""


def band_limited_db(features: torch.Tensor) -> float | None:
    """The upper band's level of ``[T, 80]`` log-mel features (:func:`high_band_db`, dB rounded to
    0.1 as it is reported) when it is below :data:`BAND_LIMITED_BELOW_DB`, else None (also for a
    recording without frames)."""
    if features.ndim != 2 or features.shape[0] == 0:
        return None
    level = high_band_db(features)
    return round(level, 1) if level < BAND_LIMITED_BELOW_DB else None


def band_warning(features: torch.Tensor, name: str) -> str | None:
    """The warning for recording ``name`` from its ``[T, 80]`` log-mel features, or None when it
    does not look band-limited (:func:`band_limited_db`)."""
    level = band_limited_db(features)
    if level is None:
        return None
    return (f"{name} looks band-limited (telephone or 8 kHz audio): its band above 5 kHz peaks {-level:.1f} dB "
            f"below its 0.3-3.4 kHz band (wideband speech: 6 dB below at most): {BAND_ADVICE}")

