"""What a recording looks like against the speech the shipped default model was trained on
(clean, wideband): noisy (:mod:`.noise_check`) or band-limited (:mod:`.band_check`). Both are
measured on the features the aligner computes anyway; corpus commands keep them in their
manifest rows under :data:`CONDITION_KEYS` and list each kind's recordings in a file of its own
(``noisy.tsv``, ``band_limited.tsv``)."""

from __future__ import annotations

import warnings

import torch

from .band_check import BandLimitedRecordingWarning, band_limited_db, band_warning
from .noise_check import NoisyRecordingWarning, noise_warning, noisy_range_db

__all__ = ["CONDITION_KEYS", "recording_conditions", "warn_about_recording"]

_MEASURES = {"noisy_db": noisy_range_db, "band_limited_db": band_limited_db}
CONDITION_KEYS = tuple(_MEASURES)
"""Manifest keys of the conditions: the dynamic range (dB) of a noisy recording, the upper band's
level (dB) of a band-limited one."""
_WARNINGS = ((noise_warning, NoisyRecordingWarning), (band_warning, BandLimitedRecordingWarning))


def recording_conditions(features: torch.Tensor) -> dict[str, float]:
    """The conditions a recording's ``[T', 80]`` log-mel features show, by :data:`CONDITION_KEYS`
    key with its measure in dB; empty for a recording like the training speech."""
    measured = {key: measure(features) for key, measure in _MEASURES.items()}
    return {key: value for key, value in measured.items() if value is not None}


def warn_about_recording(features: torch.Tensor, name: str) -> None:
    """A :class:`~.noise_check.NoisyRecordingWarning` and a
    :class:`~.band_check.BandLimitedRecordingWarning` for recording ``name``, where it looks so."""
    for message_of, category in _WARNINGS:
        message = message_of(features, name)
        if message is not None:
            warnings.warn(message, category, stacklevel=2)
