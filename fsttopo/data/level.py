"""Input level normalization: every recording is scaled to one speech level before its features.

Log-mel features move with the recording level, and below Kaldi's energy floor (float32 epsilon
on samples in [-1, 1]) they stop moving at all: 40 dB quieter speech puts a third of the
feature cells of a synthesized utterance on the floor instead of 2 %, and the quiet parts that
mark word edges are what it loses. Scaling the samples first gives the model the level it was
trained at (the recipes' voices lie between -19 and -11 dBFS by this measure) whatever the
microphone gain, before anything is floored.
"""

from __future__ import annotations

import numpy as np

from .runs import long_runs

__all__ = ["TARGET_LEVEL_DB", "speech_level_db", "normalize_level"]

TARGET_LEVEL_DB = -15.0
"""The speech level (:func:`speech_level_db`, dBFS) every recording is scaled to."""

LEVEL_FRAME = 0.025
"""Seconds per RMS frame of :func:`speech_level_db` (non-overlapping)."""

LEVEL_PERCENTILE = 95.0
"""The frame-RMS percentile taken as the speech level: the loud frames of speech, not one click."""

SILENT_RMS = 1e-6
"""Frames with an RMS below this (-120 dBFS: digital silence) do not count: a recording padded
with minutes of zeros has the level of its speech."""

QUIET_BELOW_PEAK_DB = 30.0
"""Frames this far below the recording's loud end (the 99.9th percentile of frame RMS) are quiet."""

QUIET_RUN = 2.0
"""Seconds of quiet (or digitally silent) frames in a row that do not count either: room noise
around a short sentence is no speech, and with 95 % of the frames noise the percentile would be
the noise's level (a 5.6-s sentence in 2 min of -60 dBFS room noise was raised 45 dB, the noise to
speech level, and no word landed on the speech). Pauses within speech are shorter, so recordings
without such runs measure as they did."""

MAX_GAIN_DB = 60.0
"""The largest boost or cut applied: a recording of dither alone is not raised to speech level."""


def speech_level_db(samples: np.ndarray, sampling_rate: int) -> float | None:
    """The speech level of ``samples`` (``[N]`` or ``[C, N]`` float, full scale 1.0) in dBFS: the
    95th percentile of the RMS of 25 ms frames that are neither digital silence nor part of a run of
    at least :data:`QUIET_RUN` seconds of quiet frames (:data:`QUIET_BELOW_PEAK_DB`); None when every
    frame is digital silence (nothing to measure)."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=0)
    if x.ndim != 1:
        raise ValueError(f"samples must be [N] or [C, N], got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("audio samples contain NaN or infinite values")
    frame = max(1, round(LEVEL_FRAME * sampling_rate))
    n = len(x) // frame
    rms = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)) if n else np.sqrt(np.mean(x ** 2, keepdims=True))
    sounding = rms >= SILENT_RMS
    if not sounding.any():
        return None
    rms_db = 20.0 * np.log10(np.maximum(rms, SILENT_RMS))
    quiet = ~sounding | (rms_db < np.percentile(rms_db[sounding], 99.9) - QUIET_BELOW_PEAK_DB)
    counted = sounding & ~long_runs(quiet, max(1, round(QUIET_RUN / LEVEL_FRAME)))
    return float(20.0 * np.log10(np.percentile(rms[counted], LEVEL_PERCENTILE)))


def normalize_level(samples: np.ndarray, sampling_rate: int, target_db: float = TARGET_LEVEL_DB
                    ) -> tuple[np.ndarray, float]:
    """``samples`` scaled so that :func:`speech_level_db` is ``target_db`` (the gain limited to
    +-:data:`MAX_GAIN_DB`), and the gain applied in dB (0 for digital silence). Float32 out; values
    beyond full scale are kept (features are computed from floats, nothing clips)."""
    level = speech_level_db(samples, sampling_rate)
    gain_db = 0.0 if level is None else float(np.clip(target_db - level, -MAX_GAIN_DB, MAX_GAIN_DB))
    scaled = np.asarray(samples, dtype=np.float32) * np.float32(10.0 ** (gain_db / 20.0))
    return scaled, gain_db
