"""Sentences in Italian or Russian from Debian's ``fortunes-it`` / ``fortunes-ru``.

A sentence is kept when it has 4-20 words, no digits, only the letters of its language and common
punctuation, and no all-caps word of two or more letters (acronyms, which festival spells). The
Italian fortunes are ASCII and write accents as an apostrophe after the vowel (``e'``, ``citta'``):
such a word-final apostrophe becomes the accented letter (``è``, ``città``) before anything else,
as the Italian voices read it that way anyway (festival says ``é`` for ``e'``). The text keeps its
punctuation (it shapes the pauses and goes into the ``.lab``); the transcript is the lowercase
words without edge punctuation, apostrophes and hyphens inside words kept (``l'uomo``, ``что-то``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from recipes.tts.text import FORTUNES_DIR, Sentence, fortunes, split_sentences

__all__ = ["Language", "LANGUAGES", "clean", "transcript", "word_positions", "select_sentences", "fortune_sentences"]

_PUNCTUATION = "\"'()[],.;:!?«»„“”…"
_DASHES = frozenset({"-", "--", "—", "–"})
_GRAVE = {"a": "à", "e": "è", "i": "ì", "o": "ò", "u": "ù", "A": "À", "E": "È", "I": "Ì", "O": "Ò", "U": "Ù"}
_STANDALONE_DASH = re.compile(r"(?<!\S)(?:--|[-—–])(?!\S)")
_DASH_AFTER_WORD = re.compile(r"(?<=[^\s\"'(),.;:!?«»…])\s+(?:--|[-—–])(?!\S)")
_ACCENT_APOSTROPHE = re.compile(r"([aeiouAEIOU])'(?=$|[\s\"),.;:!?])")


@dataclass(frozen=True)
class Language:
    """Letters and fortune directory of one language.

    Attributes:
        code: ``"it"`` or ``"ru"``.
        letters: the letters a word may contain (both cases).
        fortunes: the directory of the fortune files.
        accent_apostrophes: whether a word-final ``vowel'`` is an accent (Italian ASCII spelling).
        spoken_dashes: whether festival reads a standalone dash aloud (Italian: "meno"; a comma
            opening a sentence too), so that :meth:`engine_text` takes it out.
    """

    code: str
    letters: str
    fortunes: Path
    accent_apostrophes: bool = False
    spoken_dashes: bool = False

    def engine_text(self, text: str) -> str:
        """The text the synthesizer reads: ``text`` without standalone dashes if they are spoken.

        A dash after a word becomes a comma on that word (``hard - Duri`` -> ``hard, Duri``: the same
        pause); others (a dialogue dash opening the sentence, a dash after punctuation) go.
        """
        if not self.spoken_dashes:
            return text
        text = _DASH_AFTER_WORD.sub(",", text)
        return " ".join(_STANDALONE_DASH.sub(" ", text).split())

    @property
    def word(self) -> re.Pattern[str]:
        """A word: letters, joined by single inner apostrophes or hyphens."""
        letters = re.escape(self.letters)
        return re.compile(rf"[{letters}]+(?:['-][{letters}]+)*")


_IT_LETTERS = "abcdefghijklmnopqrstuvwxyzàèéìíòóùú"
_RU_LETTERS = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
LANGUAGES: dict[str, Language] = {
    "it": Language("it", _IT_LETTERS + _IT_LETTERS.upper(), FORTUNES_DIR / "it", accent_apostrophes=True,
                   spoken_dashes=True),
    "ru": Language("ru", _RU_LETTERS + _RU_LETTERS.upper(), FORTUNES_DIR / "ru"),
}


def clean(sentence: str, language: Language) -> str:
    """``sentence`` with typographic quotes made plain and, for Italian, ``vowel'`` accents made letters."""
    text = sentence.replace("’", "'").replace("`", "'")
    if language.accent_apostrophes:
        text = _ACCENT_APOSTROPHE.sub(lambda m: _GRAVE[m.group(1)], text)
    return " ".join(text.split())


def transcript(sentence: str, language: Language) -> list[str] | None:
    """Lowercase words of a cleaned ``sentence``, or None when a token is not a plain word.

    Tokens are whitespace-separated; punctuation at their edges is dropped; a standalone dash is
    skipped. A digit anywhere, any other character, or an all-caps token of two or more letters
    (an acronym) gives None.
    """
    words = []
    for token in sentence.split():
        if token in _DASHES:
            continue
        core = token.strip(_PUNCTUATION)
        if not language.word.fullmatch(core) or (len(core) > 1 and core.isupper()):
            return None
        words.append(core.lower())
    return words


def word_positions(sentence: str) -> list[tuple[int, int]]:
    """Character spans ``[start, end)`` in ``sentence`` of the tokens :func:`transcript` makes words of."""
    return [(m.start(), m.end()) for m in re.finditer(r"\S+", sentence)
            if m.group() not in _DASHES and m.group().strip(_PUNCTUATION)]


def select_sentences(
    texts: Iterable[str], language: Language, min_words: int = 4, max_words: int = 20
) -> list[Sentence]:
    """Distinct cleaned sentences of ``texts`` with ``min_words..max_words`` plain words.

    Ids are ``s00000``, ``s00001``, ... in order of first occurrence; two sentences with the same
    transcript count once.
    """
    if not 1 <= min_words <= max_words:
        raise ValueError(f"need 1 <= min_words <= max_words, got {min_words}, {max_words}")
    selected: list[Sentence] = []
    seen: set[str] = set()
    for raw in texts:
        text = clean(raw, language)
        words = transcript(text, language)
        if words is None or not min_words <= len(words) <= max_words:
            continue
        key = " ".join(words)
        if key not in seen:
            seen.add(key)
            selected.append(Sentence(id=f"s{len(selected):05d}", text=text, words=key))
    return selected


def fortune_sentences(language: Language) -> Iterator[str]:
    """Every sentence of the language's fortune files (``split_sentences`` of each fortune)."""
    for fortune in fortunes(language.fortunes):
        yield from split_sentences(fortune)
