"""Where a recording has sound: energy-based speech activity, the reference-free check of where an
alignment puts its pauses (:mod:`fsttopo.tuning`).

The frame energy (25 ms windows every 10 ms, dB relative to full scale) is compared with a
threshold ``range_db`` below the loud end of the recording (its 99th percentile frame), raised to
``floor_margin_db`` above its quiet end (5th percentile) when the recording is noisy. Runs of quiet
frames of at least ``min_pause`` seconds are pauses; what lies between them is activity. A word
that starts after a pause starts near the pause's end: the tts-corpus notes measured 10-19 ms
median distance between synthesizers' pause edges and a -40 dB energy crossing, so this is a check
of pause placement, not of every boundary.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .features import log_mel_energy_db
from .runs import true_runs

__all__ = ["Pause", "frame_energy_db", "activity_threshold_db", "find_pauses", "active_feature_frames"]

WINDOW = 0.025  # seconds
HOP = 0.01      # seconds


def frame_energy_db(samples: np.ndarray, sampling_rate: int) -> np.ndarray:
    """``[frames]`` RMS energy in dBFS of 25 ms windows every 10 ms (frame ``i`` starts at
    ``i * 0.01`` s; digital silence is -120 dB). ``samples``: mono ``[N]`` floats in [-1, 1]."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"samples must be mono [N], got shape {x.shape}")
    win, hop = round(WINDOW * sampling_rate), round(HOP * sampling_rate)
    if x.size < win:
        x = np.pad(x, (0, win - x.size))
    frames = 1 + (x.size - win) // hop
    power = np.lib.stride_tricks.sliding_window_view(x ** 2, win)[::hop][:frames].mean(axis=1)
    return 10 * np.log10(np.maximum(power, 1e-12))


def activity_threshold_db(energy: np.ndarray, range_db: float = 40.0, floor_margin_db: float = 10.0) -> float:
    """The dB level above which a frame of ``energy`` ``[frames]`` (dB) is activity: ``range_db``
    below its 99th percentile, raised to ``floor_margin_db`` above its 5th (a noisy recording)."""
    return float(max(np.percentile(energy, 99) - range_db, np.percentile(energy, 5) + floor_margin_db))


class Pause(NamedTuple):
    """A pause, in seconds from the start of the recording."""

    start: float
    end: float


def find_pauses(samples: np.ndarray, sampling_rate: int, min_pause: float = 0.15, range_db: float = 40.0,
                floor_margin_db: float = 10.0) -> list[Pause]:
    """The pauses of a recording, in order: runs of at least ``min_pause`` seconds whose frame
    energy is below the threshold (see the module docstring). A leading pause starts at 0 and a
    trailing one ends at the end of the audio. A recording without any frame above the threshold
    is one pause."""
    energy = frame_energy_db(samples, sampling_rate)
    duration = len(samples) / sampling_rate
    threshold = activity_threshold_db(energy, range_db, floor_margin_db)
    starts, ends = true_runs(energy < threshold)
    pauses = []
    for s, e in zip(starts, ends):  # a quiet window holds no sound: the pause spans the quiet windows
        start = 0.0 if s == 0 else float(s * HOP)
        end = duration if e == len(energy) else float(min((e - 1) * HOP + WINDOW, duration))
        if end - start >= min_pause:
            pauses.append(Pause(start, end))
    return pauses


def active_feature_frames(features: torch.Tensor, range_db: float = 40.0, floor_margin_db: float = 10.0) -> torch.Tensor:
    """``[T]`` bool: which frames of ``[T, num_mel]`` log-mel features are activity (their energy
    ``10 log10(sum_mel exp(feature))`` above :func:`activity_threshold_db`); the same rule as
    :func:`find_pauses` on the audio, for code that holds only features (the windowed encoder)."""
    energy = log_mel_energy_db(features)
    return energy > activity_threshold_db(energy.numpy(), range_db, floor_margin_db)
