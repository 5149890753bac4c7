"""What a recording looks like against the speech the shipped default model was trained on
(clean, wideband, dry, unclipped): noisy (:mod:`.noise_check`), band-limited (:mod:`.band_check`)
or reverberant (:mod:`.reverb_check`), measured on the features the aligner computes anyway, or
clipped (:mod:`.clip_check`), measured on the samples as they were read. Corpus commands keep them
in their manifest rows under :data:`CONDITION_KEYS` and list each kind's recordings in a file of
its own (``noisy.tsv``, ``band_limited.tsv``, ``reverberant.tsv``, ``clipped.tsv``)."""

from __future__ import annotations

import warnings

import numpy as np
import torch

from .band_check import BandLimitedRecordingWarning, band_limited_db, band_warning
from .clip_check import ClippedRecordingWarning, clip_warning, clipped_share
from .noise_check import NoisyRecordingWarning, noise_warning, noisy_range_db
from .reverb_check import ReverberantRecordingWarning, reverb_asymmetry, reverb_warning

__all__ = ["CLIPPED_KEY", "CONDITION_KEYS", "RECORDING_WARNINGS", "SPEECH_LEVEL_KEY", "recording_conditions",
           "sample_conditions", "sample_measures", "warn_about_recording", "checked_features"]

_FEATURE_MEASURES = {"noisy_db": noisy_range_db, "band_limited_db": band_limited_db,
                     "reverb_asymmetry": reverb_asymmetry}
CLIPPED_KEY = "clipped_percent"
"""The manifest key of a clipped recording's share of loud samples flat on the peak (%)."""
_SAMPLE_MEASURES = {CLIPPED_KEY: clipped_share}
CONDITION_KEYS = (*_FEATURE_MEASURES, *_SAMPLE_MEASURES)
"""Manifest keys of the conditions: measured on the features, the dynamic range (dB) of a noisy
recording, the upper band's level (dB) of a band-limited one, the decay asymmetry of a reverberant
one; measured on the samples, the clipped share (%) of a clipped one (cuts aligned from their
stored features, ``align-cuts``, are not checked for it)."""
_FEATURE_WARNINGS = ((noise_warning, NoisyRecordingWarning), (band_warning, BandLimitedRecordingWarning),
                     (reverb_warning, ReverberantRecordingWarning))
RECORDING_WARNINGS = (NoisyRecordingWarning, BandLimitedRecordingWarning, ReverberantRecordingWarning,
                      ClippedRecordingWarning)
"""The warning categories of :func:`warn_about_recording`."""


def recording_conditions(features: torch.Tensor) -> dict[str, float]:
    """The conditions a recording's ``[T', 80]`` log-mel features show (noisy, band-limited,
    reverberant), by :data:`CONDITION_KEYS` key with its measure; empty for a recording like the
    training speech."""
    return _present({key: measure(features) for key, measure in _FEATURE_MEASURES.items()})


def sample_conditions(samples: np.ndarray) -> dict[str, float]:
    """The conditions a recording's mono samples ``[N]`` (as read, before resampling) show (clipped),
    by :data:`CONDITION_KEYS` key with its measure; empty for an unclipped recording."""
    return _present({key: measure(samples) for key, measure in _SAMPLE_MEASURES.items()})


SPEECH_LEVEL_KEY = "speech_level_dbfs"
"""The key under which :func:`sample_measures` gives the samples' speech level: for choosing a
model (:mod:`.model_routing`), not a condition (nothing lists it)."""


def sample_measures(samples: np.ndarray, sampling_rate: int) -> dict[str, float]:
    """:func:`sample_conditions` of mono samples ``[N]`` as read, and their speech level (dBFS,
    :func:`fsttopo.data.level.speech_level_db`) under :data:`SPEECH_LEVEL_KEY` where there is one."""
    from ..data.level import speech_level_db

    level = speech_level_db(samples, sampling_rate)
    return {**sample_conditions(samples), **({} if level is None else {SPEECH_LEVEL_KEY: level})}


def _present(measured: dict[str, float | None]) -> dict[str, float]:
    return {key: value for key, value in measured.items() if value is not None}


def warn_about_recording(features: torch.Tensor, name: str, samples: np.ndarray | None = None,
                         feature_conditions: bool = True) -> None:
    """A :class:`~.noise_check.NoisyRecordingWarning`, a :class:`~.band_check.BandLimitedRecordingWarning`,
    a :class:`~.reverb_check.ReverberantRecordingWarning` and, given its ``samples``, a
    :class:`~.clip_check.ClippedRecordingWarning` for recording ``name``, where it looks so; without
    ``feature_conditions`` only the last (a recording the robust model aligns, trained for the others)."""
    messages = ([(message_of(features, name), category) for message_of, category in _FEATURE_WARNINGS]
                if feature_conditions else [])
    if samples is not None:
        messages.append((clip_warning(samples, name), ClippedRecordingWarning))
    for message, category in messages:
        if message is not None:
            warnings.warn(message, category, stacklevel=2)


def checked_features(audio, name: str, channel: int | None = None) -> torch.Tensor:
    """The ``[T', 80]`` features of an audio file (its ``channel``, or the mean of its channels;
    :func:`fsttopo.data.features.read_samples`), the recording warned about as ``name`` where it
    looks noisy, band-limited, reverberant or clipped (:func:`warn_about_recording`)."""
    from ..data.features import compute_features, read_samples

    samples, sampling_rate = read_samples(audio, channel)
    features = compute_features(samples, sampling_rate)
    warn_about_recording(features, name, samples)
    return features
