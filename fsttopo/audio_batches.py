"""Batches of audio files by duration, for aligning or decoding many files without padding them all
into one batch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Hashable, Mapping, TypeVar

__all__ = ["AudioInfo", "audio_info", "audio_duration", "duration_batches"]

Item = TypeVar("Item", bound=Hashable)


@dataclass(frozen=True)
class AudioInfo:
    """An audio file's header: duration in seconds, sample rate in Hz, channels."""

    duration: float
    sample_rate: int
    channels: int


def audio_info(path: str | Path) -> AudioInfo:
    """The header of an audio file; ValueError naming the file when soundfile cannot read it."""
    import soundfile

    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError) as err:
        raise ValueError(f"cannot read audio file {str(path)!r}: {err}") from err
    return AudioInfo(float(info.duration), int(info.samplerate), int(info.channels))


def audio_duration(path: str | Path) -> float:
    """Duration of an audio file in seconds (from its header); ValueError naming an unreadable file."""
    return audio_info(path).duration


def duration_batches(durations: Mapping[Item, float], max_duration: float) -> list[list[Item]]:
    """Items grouped, longest first, into batches of at most ``max_duration`` seconds in total (an
    item longer than that is a batch of its own)."""
    if not max_duration > 0:
        raise ValueError(f"max_duration must be > 0 seconds, got {max_duration}")
    batches: list[list[Item]] = []
    current: list[Item] = []
    seconds = 0.0
    for item in sorted(durations, key=lambda i: -durations[i]):
        if current and seconds + durations[item] > max_duration:
            batches.append(current)
            current, seconds = [], 0.0
        current.append(item)
        seconds += durations[item]
    if current:
        batches.append(current)
    return batches
