"""Engine labels -> MFA-style corpus files: word/phone references, TextGrid, .lab, dictionary.

All times are seconds. The word tier holds the ``.lab``'s words (lowercase, edge punctuation
stripped); each takes the times of the festival word tokens it covers. Phones are festival's own
symbols without its pauses, which become empty intervals of the TextGrid.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

from fsttopo.data.alignment import TimedToken, UtteranceAlignment
from fsttopo.data.export import write_textgrid
from recipes.tts.labels import attach_between_word_phones

__all__ = ["FESTIVAL_PAUSES", "match_key", "match_lab_words", "espeak_spans", "word_phones",
           "utterance_alignment", "write_utterance", "write_dictionary"]

Span = tuple[str, float, float]

FESTIVAL_PAUSES = frozenset({"#", "pau", "sil", "_"})
"""Pause symbols of festival's Italian (``#``) and Russian (``pau``) voices."""

_TIME_EPS = 1e-6


def match_key(word: str) -> str:
    """What two spellings of a word share: lowercase, accents, apostrophes and hyphens removed.

    festival writes ``pó`` for ``po'``/``pò``, ``é`` for ``è``, and splits ``sarajevo-nicosia`` in two.
    """
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c) and c not in "'-")


def match_lab_words(engine_words: Sequence[Span], lab_words: Sequence[str]) -> list[Span] | None:
    """``lab_words`` with the times of the engine's word tokens, or None where they differ.

    Each lab word consumes the next engine tokens until their keys (:func:`match_key`) joined equal
    its key, so one lab word may span several tokens (``sarajevo-nicosia``). Silent tokens without
    letters (punctuation, no duration) are skipped. None when the tokens spell something else (a
    number read out, an acronym spelled), a token without letters is spoken (festival it reads a
    dash before a word as ``meno``), tokens are left over, or a word gets no positive duration.
    """
    if any(not match_key(name) and end > start for name, start, end in engine_words):
        return None
    engine_words = [w for w in engine_words if match_key(w[0])]
    out: list[Span] = []
    index = 0
    for word in lab_words:
        target, joined, start, end = match_key(word), "", None, None
        while index < len(engine_words) and len(joined) < len(target):
            name, token_start, token_end = engine_words[index]
            joined += match_key(name)
            start = token_start if start is None else start
            end = token_end
            index += 1
        if joined != target or start is None or end is None or not 0 <= start < end:
            return None
        out.append((word, start, end))
    return out if index == len(engine_words) else None


def espeak_spans(
    words: Sequence[tuple[int, int]], events: Sequence[tuple[str, int, int]], num_samples: int, sample_rate: int
) -> tuple[list[tuple[float, float]], list[Span]] | None:
    """Word times and phone spans (seconds, pauses left out) from espeak-ng phoneme events.

    ``words`` are the character spans of the transcript's words in the text espeak read (0-based),
    ``events`` ``(phone, sample, text position 1-based)``. A phone ends where the next event starts
    (the last at ``num_samples``); names starting with ``_`` are pauses. A phone belongs to the first
    word that ends after its text position: espeak gives a word's first phones the position of the
    punctuation before it (``- это``). None when a phone lies after the last word, the phones' words
    go backwards, or a word gets no phone.
    """
    bounds: list[list[int]] = [[] for _ in words]
    phones: list[Span] = []
    last = 0
    for k, (name, sample, position) in enumerate(events):
        if name.startswith("_"):
            continue
        end = events[k + 1][1] if k + 1 < len(events) else num_samples
        index = next((i for i, (_, word_end) in enumerate(words) if position - 1 < word_end), None)
        if index is None or index < last or end <= sample:
            return None
        last = index
        bounds[index].extend((sample, end))
        phones.append((name, sample / sample_rate, end / sample_rate))
    if any(not b for b in bounds):
        return None
    return [(min(b) / sample_rate, max(b) / sample_rate) for b in bounds], phones


def word_phones(words: Sequence[Span], phones: Sequence[Span]) -> list[tuple[str, ...]] | None:
    """The phones inside each word (pauses left out), or None if a word has none."""
    out = []
    for _, start, end in words:
        inside = tuple(p for p, p_start, p_end in phones
                       if p_start >= start - _TIME_EPS and p_end <= end + _TIME_EPS)
        if not inside:
            return None
        out.append(inside)
    return out


def utterance_alignment(
    utt_id: str, text: str, words: Sequence[Span], phones: Sequence[Span], duration: float
) -> UtteranceAlignment | None:
    """The reference of one utterance, or None when a phone lies apart from every word.

    ``phones`` are festival's segments with its pauses; the words stretch over the phones between
    two words (as in recipes/tts, :func:`attach_between_word_phones`).
    """
    spoken = [p for p in phones if p[0] not in FESTIVAL_PAUSES and p[2] - p[1] > 0]
    attached = attach_between_word_phones(words, spoken)
    if attached is None:
        return None

    def tokens(spans: Iterable[Span]) -> list[TimedToken]:
        return [TimedToken(s, start, min(end, duration)) for s, start, end in spans if start < duration]

    return UtteranceAlignment(utt_id, text, duration, tokens(attached), tokens(spoken))


def write_utterance(directory: Path, alignment: UtteranceAlignment) -> None:
    """``directory/<id>.lab`` (the text as written) and ``<id>.TextGrid`` (long format)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{alignment.utterance_id}.lab").write_text(alignment.text + "\n", encoding="utf-8")
    write_textgrid(alignment, directory / f"{alignment.utterance_id}.TextGrid")


def write_dictionary(path: Path, pronunciations: Iterable[tuple[str, Sequence[str]]]) -> int:
    """MFA dictionary ``word<TAB>phone phone ...``: one line per distinct pronunciation, sorted.

    Words are lowercased. Returns the number of lines.
    """
    lines = sorted({f"{word.lower()}\t{' '.join(phones)}" for word, phones in pronunciations if phones})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines)
