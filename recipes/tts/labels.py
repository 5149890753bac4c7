"""Engine labels -> reference alignments of the transcript (all times in seconds)."""

from __future__ import annotations

from collections.abc import Sequence

from .engines import RawUtterance
from .phones import map_phone_spans

__all__ = [
    "MAX_END_MISMATCH", "merge_clitics", "match_words", "attach_between_word_phones", "reference_labels",
    "scale_spans", "clip_spans",
]

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


def attach_between_word_phones(words: Sequence[Span], phones: Sequence[Span]) -> list[Span] | None:
    """Words extended over the phones that lie between two words, or None if one cannot be placed.

    festival's diphone voices insert a linking ``r`` between a word ending in an r-coloured vowel
    and a vowel-initial word ("were afraid") that belongs to neither word. Such a phone joins the
    word that ends where it starts (else the word that starts where it ends), so words and phones
    stay contiguous where there is no pause.
    """
    words = list(words)
    for phone, start, end in phones:
        if any(w_start <= start and end <= w_end for _, w_start, w_end in words):
            continue
        before = [i for i, (_, _, w_end) in enumerate(words) if abs(w_end - start) < 1e-6]
        after = [i for i, (_, w_start, _) in enumerate(words) if abs(w_start - end) < 1e-6]
        if before:
            word, w_start, _ = words[before[0]]
            words[before[0]] = (word, w_start, end)
        elif after:
            word, _, w_end = words[after[0]]
            words[after[0]] = (word, start, w_end)
        else:
            return None
    return words


def reference_labels(raw: RawUtterance, transcript: Sequence[str]) -> tuple[list[Span], list[Span] | None] | None:
    """``(words, phones)`` reference of one utterance, or None where it is dropped.

    Dropped: the last label end and the wav end differ by more than :data:`MAX_END_MISMATCH`, the
    engine's words differ from the transcript, or a phone lies apart from every word. Phones are
    mapped to ARPAbet without pauses; None for engines without a phone mapping (espeak-ng).
    """
    if abs(raw.label_end - raw.duration) > MAX_END_MISMATCH:
        return None
    words = match_words(raw.words, transcript)
    if words is None or raw.phones is None:
        return None if words is None else (words, None)
    phones = map_phone_spans(raw.phones)
    words = attach_between_word_phones(words, phones)
    return None if words is None else (words, phones)


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
