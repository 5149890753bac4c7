"""Sentences for the corpus from Debian's ``fortunes`` package, filtered to CMUdict words.

A sentence is kept when it has 5-25 words, only ASCII, and every word is plain (letters with at most
one inner apostrophe, not an all-caps acronym that engines might spell) and in CMUdict. The text the
engines read keeps its punctuation (it shapes the pauses); the transcript is the lowercase words.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FORTUNES_DIR", "Sentence", "fortunes", "split_sentences", "transcript", "select_sentences", "split_pools",
    "pool_transcripts",
]

FORTUNES_DIR = Path("/usr/share/games/fortunes")
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+")
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_EDGE_PUNCTUATION = "\"'()[],.;:!?"
_ALLOWED = re.compile(r"[A-Za-z'\",.;:!?()\[\] -]+")


@dataclass(frozen=True)
class Sentence:
    """A corpus sentence: ``text`` is what the engines read, ``words`` the lowercase transcript."""

    id: str
    text: str
    words: str


def fortunes(directory: Path = FORTUNES_DIR) -> Iterator[str]:
    """Every fortune (``%``-separated entry) of the fortune files in ``directory``, in file order.

    A fortune file is one with a ``<name>.dat`` index beside it (names may contain dots, as the
    Russian ``2001.03``); the ``.u8`` copies are skipped.
    """
    files = sorted(p for p in directory.iterdir()
                   if p.suffix not in (".dat", ".u8") and p.with_name(p.name + ".dat").exists())
    if not files:
        raise ValueError(f"no fortune files in {directory} (install the Debian package 'fortunes')")
    for path in files:
        for entry in path.read_text(encoding="utf-8", errors="replace").split("\n%\n"):
            yield entry


def split_sentences(fortune: str) -> list[str]:
    """Sentences of one fortune, whitespace collapsed; attribution lines (``-- Author``) dropped."""
    lines = [line for line in fortune.splitlines() if not line.strip().startswith("--")]
    flat = " ".join(" ".join(lines).split())
    return [s.strip() for s in _SENTENCE_END.split(flat) if s.strip()]


def transcript(sentence: str) -> list[str] | None:
    """Lowercase words of ``sentence``, or None when a token is not a plain word.

    Tokens are whitespace-separated; punctuation at their edges is dropped; a standalone ``--`` is
    skipped. All-caps tokens of two or more letters are rejected (acronyms).
    """
    if not _ALLOWED.fullmatch(sentence):
        return None
    words = []
    for token in sentence.split():
        if token == "--":
            continue
        core = token.strip(_EDGE_PUNCTUATION)
        if not _WORD.fullmatch(core) or (len(core) > 1 and core.isupper()):
            return None
        words.append(core.lower())
    return words


def select_sentences(
    texts: Iterable[str],
    known: Callable[[str], bool],
    min_words: int = 5,
    max_words: int = 25,
) -> list[Sentence]:
    """Distinct sentences of ``texts`` with ``min_words..max_words`` plain words all ``known``.

    Ids are ``s00000``, ``s00001``, ... in order of first occurrence.
    """
    if not 1 <= min_words <= max_words:
        raise ValueError(f"need 1 <= min_words <= max_words, got {min_words}, {max_words}")
    selected: list[Sentence] = []
    seen: set[str] = set()
    for text in texts:
        words = transcript(text)
        if words is None or not min_words <= len(words) <= max_words or not all(map(known, words)):
            continue
        key = " ".join(words)
        if key in seen:
            continue
        seen.add(key)
        selected.append(Sentence(id=f"s{len(selected):05d}", text=text, words=key))
    return selected


def split_pools(sentences: list[Sentence], fractions: dict[str, float], seed: int) -> dict[str, list[Sentence]]:
    """Disjoint sentence pools per split, shuffled with ``seed``; ``fractions`` must sum to 1."""
    if abs(sum(fractions.values()) - 1.0) > 1e-9 or min(fractions.values()) <= 0:
        raise ValueError(f"split fractions must be positive and sum to 1, got {fractions}")
    order = list(sentences)
    random.Random(seed).shuffle(order)
    pools, begin = {}, 0
    names = list(fractions)
    for i, name in enumerate(names):
        end = len(order) if i == len(names) - 1 else begin + round(fractions[name] * len(order))
        pools[name] = order[begin:end]
        begin = end
    return pools


def pool_transcripts(path: Path) -> list[str]:
    """The transcripts (``words``) of a sentence pool written by ``prepare.py`` (``text/{split}.jsonl``)."""
    import json

    return [json.loads(line)["words"] for line in Path(path).read_text().splitlines() if line]
