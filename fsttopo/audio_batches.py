"""Batches of audio files by duration, for aligning or decoding many files without padding them all
into one batch."""

from __future__ import annotations

from pathlib import Path
from typing import Hashable, Mapping, TypeVar

__all__ = ["audio_duration", "duration_batches"]

Item = TypeVar("Item", bound=Hashable)


def audio_duration(path: str | Path) -> float:
    """Duration of an audio file in seconds (from its header); ValueError naming an unreadable file."""
    import soundfile

    try:
        return float(soundfile.info(str(path)).duration)
    except (soundfile.LibsndfileError, RuntimeError) as err:
        raise ValueError(f"cannot read audio file {str(path)!r}: {err}") from err


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
