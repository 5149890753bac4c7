"""Pronunciation dictionaries in Montreal Forced Aligner's format, for any phone set.

One pronunciation per line: the word, optional probability columns, then the phones separated by
spaces. MFA (since 2.0.5) separates the columns by tabs; older dictionaries use spaces throughout,
and both are read::

    hello	h ə l oʊ                       # word, phones
    hello	0.8	h ɛ l oʊ                   # word, pronunciation probability, phones
    hello	0.99	0.05	1.0	1.0	h ə l oʊ     # word, pronunciation probability, probability of
                                            # silence after the word, correction factors of
                                            # silence and of non-silence before it, phones

With spaces only, one number after the word is its pronunciation probability and four numbers
are the probability columns; a phone set with numbers for phones (X-SAMPA ``2``, ``9``) needs tabs.
MFA sets the most probable pronunciation of a word to 1.0, so a word's probabilities need not sum
to 1. A word may have several lines, one per pronunciation (an identical repeat is dropped). Words
are matched case-insensitively: keys are NFC-normalized and case-folded (:func:`word_key`); phones
are kept as written (NFC).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DictionaryEntry", "read_dictionary", "word_key", "best_pronunciation"]

_PROBABILITY_COLUMNS = 4  # pronunciation, silence after, silence-before and non-silence-before corrections


@dataclass(frozen=True)
class DictionaryEntry:
    """One pronunciation of a word.

    Attributes:
        phones: the phone symbols, in order.
        probability: pronunciation probability in (0, 1] (1.0 when the file gives none).
        silence_probability: probability of silence after the word, in [0, 1] (``None``: not given).
        silence_correction: MFA's correction factor of silence before the word (> 0, or ``None``).
        non_silence_correction: MFA's correction factor of non-silence before the word (> 0, or ``None``).
    """

    phones: tuple[str, ...]
    probability: float = 1.0
    silence_probability: float | None = None
    silence_correction: float | None = None
    non_silence_correction: float | None = None


def word_key(word: str) -> str:
    """The dictionary key of a word: NFC-normalized and case-folded (``"Straße"`` -> ``"strasse"``)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", word).casefold())


def _number(field: str) -> float | None:
    try:
        return float(field)
    except ValueError:
        return None


def _split(line: str) -> tuple[str, list[str], list[str]]:
    """``(word, probability fields, phones)`` of a non-empty line (module docstring)."""
    if "\t" in line:
        columns = [c.strip() for c in line.split("\t") if c.strip()]
        return columns[0], columns[1:-1], columns[-1].split() if len(columns) > 1 else []
    fields = line.split()
    numbers = 0
    while numbers < _PROBABILITY_COLUMNS and 1 + numbers < len(fields) and _number(fields[1 + numbers]) is not None:
        numbers += 1
    return fields[0], fields[1:1 + numbers], fields[1 + numbers:]


def _entry(probabilities: list[str], phones: list[str], where: str) -> DictionaryEntry:
    if not phones:
        raise ValueError(f"{where}: the word has no phones")
    if len(probabilities) not in (0, 1, _PROBABILITY_COLUMNS):
        raise ValueError(f"{where}: expected 0, 1 or {_PROBABILITY_COLUMNS} probability columns before the phones, "
                         f"got {len(probabilities)} ({' '.join(probabilities)!r}; a phone set with numbers for phones needs "
                         "tab-separated columns)")
    values = [_number(p) for p in probabilities]
    if None in values:
        raise ValueError(f"{where}: {probabilities[values.index(None)]!r} is not a number (probability column)")
    if values and not 0 < values[0] <= 1:
        raise ValueError(f"{where}: pronunciation probability {probabilities[0]} is not in (0, 1] (a phone set "
                         "with numbers for phones needs tab-separated columns)")
    if len(values) == _PROBABILITY_COLUMNS:
        if not 0 <= values[1] <= 1:
            raise ValueError(f"{where}: silence probability {probabilities[1]} is not in [0, 1]")
        if not (values[2] > 0 and values[3] > 0):
            raise ValueError(f"{where}: silence correction factors must be > 0, got {probabilities[2]} "
                             f"{probabilities[3]}")
    phones_nfc = tuple(unicodedata.normalize("NFC", p) for p in phones)
    return DictionaryEntry(phones_nfc, *values)


def read_dictionary(path: str | Path) -> dict[str, list[DictionaryEntry]]:
    """Pronunciations of an MFA dictionary file (module docstring), in file order.

    Returns:
        word key (:func:`word_key`) -> its pronunciations in the order of the file.

    Raises:
        ValueError: naming ``file:line`` for a line without phones, a probability out of range or
            a column that is not a number; naming the file when it is missing or not UTF-8 (with
            the line of the first undecodable byte).
    """
    try:
        data = Path(path).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        raise ValueError(f"dictionary file {str(path)!r} does not exist") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not UTF-8 text (byte {err.start} of the file)") from None
    out: dict[str, list[DictionaryEntry]] = {}
    for num, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        word, probabilities, phones = _split(line)
        entry = _entry(probabilities, phones, f"{path}:{num}: word {word!r}")
        entries = out.setdefault(word_key(word), [])
        if all(e.phones != entry.phones for e in entries):
            entries.append(entry)
    if not out:
        raise ValueError(f"dictionary file {str(path)!r} has no pronunciations")
    return out


def best_pronunciation(entries: list[DictionaryEntry]) -> tuple[str, ...]:
    """Phones of the most probable pronunciation (the first of equally probable ones)."""
    return max(entries, key=lambda e: e.probability).phones  # max keeps the first of ties
