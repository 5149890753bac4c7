"""Transcript -> words -> per-word token ids, with a policy for words outside the lexicon.

:func:`pronounce_transcript` normalizes a transcript (:mod:`fsttopo.data.normalize`), looks each
word up in the lexicon and, for a word it lacks, follows ``oov``:

- ``"g2p"`` (default): the phones the G2P guesses (:class:`fsttopo.data.g2p.EspeakG2P`); its phones
  are ARPAbet's, so for other token tables (a pronunciation dictionary's phones, graphemes) an
  unknown word is a ValueError naming it, as with ``"error"``;
- ``"phone-loop"``: any sequence of phones (:class:`~fsttopo.topology.AnyLabels`, up to the word's
  number of letters + 2, at most :data:`PHONE_LOOP_MAX_LABELS`);
- ``"error"``: ValueError naming every such word.

The result is a sequence of per-word token ids (what :func:`fsttopo.topology.build_graphs` takes)
that also tells, for every word, which pronunciation was used and where it came from. With
``variants=True`` it also keeps every pronunciation the lexicon has for a word, for alignment to
choose among (:mod:`fsttopo.inference.pronunciation_choice`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple, Protocol

from ..names import OOV_MODES
from ..topology import Alternatives, AnyLabels
from .alignment import Pronunciation
from .lexicon import BLANK, PHONES

__all__ = ["OOV_MODES", "PHONE_LOOP_MAX_LABELS", "Variant", "WordPronunciation", "PronouncedTranscript",
           "normalize_transcript", "pronounce_transcript", "g2p_applies"]

PHONE_LOOP_MAX_LABELS = 10
"""Most phone segments of a phone-loop word: its graph has ``39 * max_labels`` states and
``39**2 * (max_labels - 1)`` arcs between them, so a bound keeps long words affordable (a segment
may then span several real phones)."""


class WordEncoder(Protocol):
    def encode_words(self, text: str) -> list[list[int]]: ...


class Variant(NamedTuple):
    """One of a word's lexicon pronunciations: its token ids, phones and probability (a
    dictionary's, in (0, 1]; 1.0 where the lexicon gives none)."""

    tokens: tuple[int, ...]
    phones: tuple[str, ...]
    probability: float = 1.0


@dataclass(frozen=True)
class WordPronunciation:
    """One word of a transcript: its token ids (or :class:`AnyLabels` for a phone loop), its phones
    (empty for a phone loop, and for token tables that are not phones) and their source
    (``"lexicon"``, ``"g2p"`` or ``"phone-loop"``); ``variants``: when asked for and the lexicon
    has several, every pronunciation of the word (``tokens``/``phones`` among them), else empty."""

    word: str
    tokens: list[int] | AnyLabels
    phones: tuple[str, ...]
    source: str
    variants: tuple[Variant, ...] = ()


class PronouncedTranscript(Sequence):
    """The words of a transcript with their pronunciations; as a sequence, the per-word token ids."""

    def __init__(self, words: Sequence[WordPronunciation]) -> None:
        if not words:
            raise ValueError("text has no words")
        self.words = list(words)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [w.tokens for w in self.words[index]]
        return self.words[index].tokens

    def __len__(self) -> int:
        return len(self.words)

    def __iter__(self) -> Iterator[list[int] | AnyLabels]:
        return (w.tokens for w in self.words)

    @property
    def has_variants(self) -> bool:
        """Whether some word has several pronunciations to choose among."""
        return any(w.variants for w in self.words)

    def variant_costs(self, penalty: float) -> list[tuple[float, ...]]:
        """Per word with variants, the cost (nats) of each: ``penalty`` for each but the word's own
        pronunciation (:attr:`WordPronunciation.tokens`, the lexicon's most probable), plus
        ``-log(probability / the best probability)``; words without variants are left out."""
        out = []
        for w in self.words:
            if w.variants:
                best = max(v.probability for v in w.variants)
                out.append(tuple((0.0 if list(v.tokens) == list(w.tokens) else penalty) - math.log(v.probability / best)
                                 for v in w.variants))
        return out

    def variant_words(self) -> list[list[int] | AnyLabels | Alternatives]:
        """The per-word token ids with every word that has variants as an :class:`Alternatives` of
        them (the words of a graph that chooses among them)."""
        return [Alternatives(tuple(v.tokens for v in w.variants)) if w.variants else w.tokens for w in self.words]

    def with_choices(self, choices: Sequence[int]) -> PronouncedTranscript:
        """A copy whose words are pronounced as ``choices`` says: per word the index of its variant
        (0 for a word without variants), the variants dropped. ValueError for a wrong count or index."""
        if len(choices) != len(self.words):
            raise ValueError(f"{len(choices)} choices for {len(self.words)} words")
        out = []
        for w, c in zip(self.words, choices):
            if not 0 <= c < max(len(w.variants), 1):
                raise ValueError(f"word {w.word!r} has no variant {c} (it has {len(w.variants) or 1})")
            chosen = w.variants[c] if w.variants else None
            out.append(replace(w, variants=()) if chosen is None else
                       replace(w, tokens=list(chosen.tokens), phones=chosen.phones, variants=()))
        return PronouncedTranscript(out)

    @property
    def text(self) -> str:
        """The normalized transcript: its words separated by single spaces."""
        return " ".join(w.word for w in self.words)

    @property
    def pronunciations(self) -> dict[str, Pronunciation]:
        """The words not pronounced from the lexicon, with how they were (what
        :attr:`fsttopo.data.alignment.UtteranceAlignment.pronunciations` carries)."""
        return {w.word: Pronunciation(w.source, w.phones) for w in self.words if w.source != "lexicon"}


def normalize_transcript(lexicon: object, text: str) -> str:
    """``text`` normalized for ``lexicon`` (its ``normalize`` method, e.g.
    :meth:`fsttopo.data.lexicon.Lexicon.normalize`); unchanged for encoders without one (subword
    units spell any text)."""
    normalize = getattr(lexicon, "normalize", None)
    return normalize(text) if normalize is not None else text


def g2p_applies(lexicon: WordEncoder) -> bool:
    """Whether the G2P's ARPAbet phones are ``lexicon``'s tokens (CMUdict's ``<blk>`` + 39 phones)."""
    return list(getattr(lexicon, "tokens", [])) == [BLANK, *PHONES]


def _refuse_unknown(lexicon: WordEncoder, unknown: list[str], oov: str) -> None:
    """ValueError naming the unknown words of a lexicon that is not CMUdict's phones (its own
    message, e.g. the characters a grapheme table lacks), with what ``oov`` can do."""
    why = ("oov='g2p' guesses ARPAbet phones, for CMUdict models only; " if oov == "g2p" else "")
    try:
        lexicon.encode_words(" ".join(unknown))
    except ValueError as err:
        raise ValueError(f"{err}; {why}oov='phone-loop' aligns them as any token sequence") from None
    raise ValueError(f"words not in the lexicon: {', '.join(map(repr, unknown))}")  # an encoder inconsistent with `in`


def pronounce_transcript(lexicon: WordEncoder, text: str, oov: str = "g2p",
                         g2p: Callable[[str], list[str]] | None = None, variants: bool = False) -> PronouncedTranscript:
    """Normalize ``text`` and give every word its token ids.

    Args:
        lexicon: a :class:`fsttopo.data.lexicon.Lexicon` (or another object with ``__contains__``,
            ``pronounce``, ``token_id`` and ``num_tokens``); an encoder without ``pronounce`` (e.g.
            :class:`fsttopo.data.lexicon.SubwordUnits`) spells every word itself and ``oov`` is moot.
        text: the transcript as written.
        oov: ``"g2p"``, ``"phone-loop"`` or ``"error"`` (module docstring).
        g2p: word -> phones for ``oov="g2p"`` (default :func:`fsttopo.data.g2p.default_g2p`).
        variants: keep every pronunciation of a lexicon word that has several (its ``variants``;
            lexicons with a ``pronunciations`` method, e.g. :class:`fsttopo.data.lexicon.Lexicon`).

    Raises:
        ValueError: for an unknown ``oov``, a text without words, words outside the lexicon with
            ``oov="error"`` (all named), or with ``oov="g2p"`` when the token table is not CMUdict's
            39 phones, or a word the G2P cannot pronounce.
    """
    if oov not in OOV_MODES:
        raise ValueError(f"oov must be one of {OOV_MODES}, got {oov!r}")
    text = normalize_transcript(lexicon, text)
    words = text.split()
    if not words:
        raise ValueError("text has no words")
    if not hasattr(lexicon, "pronounce"):
        return PronouncedTranscript([WordPronunciation(w, ids, (), "lexicon")
                                     for w, ids in zip(words, lexicon.encode_words(text))])
    unknown = list(dict.fromkeys(w for w in words if w not in lexicon))
    if unknown and not g2p_applies(lexicon) and oov != "phone-loop":
        _refuse_unknown(lexicon, unknown, oov)
    if unknown and oov == "error":
        raise ValueError(f"{len(unknown)} word(s) not in the lexicon (CMUdict): {', '.join(map(repr, unknown))}; "
                         "respell them, add them with a lexicon file ('word PHONE ...' lines; --lexicon on the "
                         "command line), or let oov='g2p' guess their pronunciation")
    if unknown and oov == "g2p" and g2p is None:
        from .g2p import default_g2p

        g2p = default_g2p()
    phone_loop = tuple(range(1, lexicon.num_tokens))  # every token but the blank/silence (id 0)
    out = []
    for word in words:
        if word in lexicon:
            phones = tuple(lexicon.pronounce(word))
            entries = lexicon.pronunciations(word) if variants and hasattr(lexicon, "pronunciations") else []
            options = tuple(Variant(tuple(lexicon.token_id(p) for p in e.phones), tuple(e.phones), e.probability)
                            for e in entries)
            out.append(WordPronunciation(word, [lexicon.token_id(p) for p in phones], phones, "lexicon",
                                         options if len(options) > 1 else ()))
        elif oov == "g2p":
            phones = tuple(g2p(word))
            out.append(WordPronunciation(word, [lexicon.token_id(p) for p in phones], phones, "g2p"))
        else:
            letters = sum(c.isalpha() for c in word)
            out.append(WordPronunciation(word, AnyLabels(phone_loop, min(letters + 2, PHONE_LOOP_MAX_LABELS)),
                                         (), "phone-loop"))
    return PronouncedTranscript(out)
