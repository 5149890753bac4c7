"""Grapheme units: the characters of the words are the tokens, for a language without a lexicon.

The token table is ``<blk>`` (id 0) and the characters, sorted (code point order). Text is
NFC-normalized and case-folded, so ``"À"`` and ``"à"`` (one code point or ``a`` + combining grave)
are one token; punctuation and symbols around words are dropped, inside words they split them
unless the table has them (an apostrophe or hyphen seen inside words of the training texts);
numbers are written out in the units' language (:func:`fsttopo.data.normalize.normalize_words`).

Example::

    units = GraphemeUnits.from_texts(["L'uomo è qui."], language="it")
    units.tokens                   # ['<blk>', "'", 'i', 'l', 'm', 'o', 'q', 'u', 'è']
    units.normalize("L’uomo, qui!")  # "l'uomo qui"
    units.encode_words("qui")      # [[6, 7, 2]]
"""

from __future__ import annotations

from collections.abc import Iterable

from .dictionary import word_key
from .lexicon import BLANK
from .normalize import is_punctuation, normalize_words

__all__ = ["GraphemeUnits", "WORD_INTERNAL"]

WORD_INTERNAL = "'-"
"""Punctuation that :meth:`GraphemeUnits.from_texts` keeps inside words (a token when it occurs)."""


class GraphemeUnits:
    """Characters as tokens, with :class:`~fsttopo.data.lexicon.Lexicon`'s interface: every word
    whose characters are all in the table is "in the lexicon" and is pronounced as its characters.

    Args:
        characters: the table's characters (single code points, NFC and case-folded; order and
            repeats do not matter).
        language: num2words language code for numbers (``"it"``, ``"ru"``, ``"en"``); ``None``:
            numbers are not written out (a word with digits is then unknown).
    """

    def __init__(self, characters: Iterable[str], language: str | None = None) -> None:
        chars = sorted(set(characters))
        if not chars:
            raise ValueError("the grapheme table is empty")
        bad = [c for c in chars if len(c) != 1 or c.isspace() or word_key(c) != c]
        if bad:
            raise ValueError(f"grapheme characters must be single, non-space, case-folded NFC characters: got {bad}")
        self.characters: tuple[str, ...] = tuple(chars)
        self.language = language
        self.tokens: list[str] = [BLANK, *chars]
        self._ids = {token: i for i, token in enumerate(self.tokens)}
        self._keep = "".join(c for c in chars if is_punctuation(c))

    @classmethod
    def from_texts(cls, texts: Iterable[str], language: str | None = None,
                   word_internal: str = WORD_INTERNAL) -> GraphemeUnits:
        """The table of the characters of ``texts`` after normalization (punctuation around words
        dropped, numbers written out in ``language``; of the punctuation inside words only
        ``word_internal``'s is kept, and becomes a token)."""
        chars: set[str] = set()
        for text in texts:
            chars.update(normalize_words(text, lambda word: False, language, keep=word_internal).replace(" ", ""))
        if not chars:
            raise ValueError("the texts have no characters to build a grapheme table from")
        return cls(chars, language)

    @property
    def num_tokens(self) -> int:
        """Size of the token table, blank included."""
        return len(self.tokens)

    def __contains__(self, word: str) -> bool:
        key = word_key(word)  # a word-internal mark ("l'uomo") does not make "-" or "'tis'" a word
        return (bool(key) and not is_punctuation(key[0]) and not is_punctuation(key[-1])
                and all(c in self._ids for c in key))

    def token_id(self, char: str) -> int:
        """Id of a token (``"<blk>"`` -> 0); ValueError if it is not in the table."""
        token_id = self._ids.get(char)
        if token_id is None:
            raise ValueError(f"token {char!r} is not in the token table")
        return token_id

    def _missing(self, word: str) -> str:
        return "".join(dict.fromkeys(c for c in word_key(word) if c not in self._ids))

    def pronounce(self, word: str) -> list[str]:
        """The characters of ``word`` (case-folded, NFC); ValueError naming the word and the
        characters that are not in the table."""
        if word not in self:
            raise ValueError(f"word {word!r} has characters not in the grapheme table: {self._missing(word)!r}")
        return list(word_key(word))

    def normalize(self, text: str) -> str:
        """``text`` as the table spells it (module docstring); the words of the result are
        case-folded."""
        return normalize_words(text, self.__contains__, self.language, keep=self._keep)

    def encode_words(self, text: str) -> list[list[int]]:
        """Character ids per whitespace-separated word of ``text`` (normalized text: see :meth:`normalize`)."""
        words = text.split()
        if not words:
            raise ValueError("text has no words")
        unknown = list(dict.fromkeys(w for w in words if w not in self))
        if unknown:
            named = ", ".join(f"{w!r} ({self._missing(w)!r})" for w in unknown)
            digits = " (numbers are written out only with a language: GraphemeUnits(..., language=...), --language; " \
                     "and with num2words installed)" if any(c.isdigit() for w in unknown for c in w) else ""
            raise ValueError(f"{len(unknown)} word(s) with characters not in the grapheme table: {named}{digits}")
        return [[self._ids[c] for c in word_key(w)] for w in words]

    def encode(self, text: str) -> list[int]:
        """Character ids of ``text``, all words concatenated."""
        return [token for word in self.encode_words(text) for token in word]
