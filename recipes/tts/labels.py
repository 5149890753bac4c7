"""Engine labels -> reference alignments of the transcript (all times in seconds)."""

from __future__ import annotations

from collections.abc import Sequence

from .engines import RawUtterance
from .phones import map_phone_spans

__all__ = ["MAX_END_MISMATCH", "merge_clitics", "match_words", "reference_labels", "scale_spans", "clip_spans"]

Span = tuple[str, float, float]

MAX_END_MISMATCH = 0.05
"""Largest accepted distance (seconds) between the last label end and the end of the wav."""


def merge_clitics(words: Sequence[Span]) -> list[Span]:
    """Join tokens that start with an apostrophe (``'s``) to the previous word.

    festival and flite split ``world's`` into ``world`` + ``'s``; festival gives the clitic no
    segments (times 0, 0), flite gives it its own. The merged word spans both.
    """
    merged: list[Span] = []
    for name, start, end in words:
        if name.startswith("'") and merged:
            prev_name, prev_start, prev_end = merged[-1]
            merged[-1] = (prev_name + name, prev_start, max(prev_end, end))
        else:
            merged.append((name, start, end))
    return merged


def _normalize(word: str) -> str:
    return word.lower().replace("'", "").lstrip("_")


def match_words(engine_words: Sequence[Span], transcript: Sequence[str]) -> list[Span] | None:
    """Transcript words with the engine's word times, or None where the word lists differ.

    Words compare case-insensitively without apostrophes (flite says ``dont`` for ``don't``) and
    leading underscores (flite's ``_a`` for a sentence-initial "A"). A word without a positive
    duration also gives None.
    """
    merged = merge_clitics(engine_words)
    if [_normalize(w) for w, _, _ in merged] != [_normalize(w) for w in transcript]:
        return None
    if any(not 0 <= start < end for _, start, end in merged):
        return None
    return [(word, start, end) for word, (_, start, end) in zip(transcript, merged)]


def reference_labels(raw: RawUtterance, transcript: Sequence[str]) -> tuple[list[Span], list[Span] | None] | None:
    """``(words, phones)`` reference of one utterance, or None where it is dropped.

    Dropped: the last label end and the wav end differ by more than :data:`MAX_END_MISMATCH`, or
    the engine's words differ from the transcript. Phones are mapped to ARPAbet without pauses;
    None for engines without a phone mapping (espeak-ng).
    """
    if abs(raw.label_end - raw.duration) > MAX_END_MISMATCH:
        return None
    words = match_words(raw.words, transcript)
    if words is None:
        return None
    phones = None if raw.phones is None else map_phone_spans(raw.phones)
    return words, phones


def scale_spans(spans: Sequence[Span], speed: float) -> list[Span]:
    """Spans of audio played ``speed`` times faster (sox ``speed``): every time divided by ``speed``."""
    if not speed > 0:
        raise ValueError(f"speed must be positive, got {speed}")
    return [(symbol, start / speed, end / speed) for symbol, start, end in spans]


def clip_spans(spans: Sequence[Span], duration: float) -> list[Span]:
    """Spans with their ends clipped to ``duration`` (seconds); ValueError if one starts after it.

    Engines' labels may end a few milliseconds after their wav (flite: up to 5 ms), and
    resampling rounds the length to whole samples.
    """
    clipped = []
    for symbol, start, end in spans:
        if start >= duration:
            raise ValueError(f"span {symbol!r} starts at {start} s, at or after the end of the audio ({duration} s)")
        clipped.append((symbol, start, min(end, duration)))
    return clipped
