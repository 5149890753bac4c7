"""A warning for recordings that look noisy: the shipped default model has heard only clean
synthesized speech and places words hundreds of ms off under noise (white noise at 10 dB SNR:
584 ms mean word-boundary error, against 22.9 ms with ``--model robust``; docs/results.md), and
an alignment that looks like any other is the worst way to find that out.

The measure is :func:`fsttopo.data.features.dynamic_range_db` (the 95th minus the 10th percentile
of the frame energies). The threshold, :data:`NOISY_BELOW_DB`, lies below every clean recording of
the training and dev voices (minimum 18.0 dB over 604 training utterances, 30.6 dB over the 324 dev
ones), so clean speech is not flagged; white noise at 10 dB SNR measures 2-9 dB.
"""

from __future__ import annotations

import torch

from ..data.features import dynamic_range_db

__all__ = ["NOISY_BELOW_DB", "ADVICE", "NoisyRecordingWarning", "noisy_range_db", "noise_warning"]

NOISY_BELOW_DB = 15.0
"""Recordings whose dynamic range (dB) is below this look noisy."""

ADVICE = ("a model trained on clean speech, as the shipped default is, can place words hundreds of ms off in "
          "noise; --model robust is trained for it")
"""What the warnings about noisy recordings (one file or a corpus) tell the user to do."""


class NoisyRecordingWarning(UserWarning):
    """A recording looks noisy (its dynamic range is below :data:`NOISY_BELOW_DB`)."""


def noisy_range_db(features: torch.Tensor) -> float | None:
    """The dynamic range of ``[T, 80]`` log-mel features, in dB rounded to 0.1 (as it is reported),
    when it is below :data:`NOISY_BELOW_DB`, else None (also for a recording without frames)."""
    if features.ndim != 2 or features.shape[0] == 0:
        return None
    level = dynamic_range_db(features)
    return round(level, 1) if level < NOISY_BELOW_DB else None


def noise_warning(features: torch.Tensor, name: str) -> str | None:
    """The warning for recording ``name`` from its ``[T, 80]`` log-mel features, or None when it
    does not look noisy (:func:`noisy_range_db`)."""
    level = noisy_range_db(features)
    if level is None:
        return None
    return (f"{name} looks noisy: its loud frames stand only {level:.1f} dB above its quiet ones (clean "
            f"recordings: 18 dB or more): {ADVICE}")

