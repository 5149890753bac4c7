"""Engine phone sets -> the 39 CMUdict ARPAbet phones without stress (``fsttopo.data.PHONES``).

festival's US voices (kal, ked, slt HTS) and flite's (awb, rms, slt) use the same "radio" phone
set: lowercase ARPAbet plus reduced and syllabic variants, mapped one phone to one phone:
``ax -> ah`` (CMUdict writes schwa AH0), ``axr -> er``, ``hv -> hh``, ``dx -> t`` (flap),
``nx -> n``, ``el/em/en -> l/m/n`` (a syllabic consonant becomes its consonant; CMUdict writes
AH0 + consonant, so such a word's reference has one phone fewer than its lexicon entry).
Pauses (``pau``, ``h#``, ``brth``) map to None: they are gaps in the alignment.

espeak-ng's phoneme mnemonics have no one-to-one map to ARPAbet (diphthong + r units such as
``aI@``, syllabic ``n-``, British and American variants): espeak-ng utterances get word
alignments only.
"""

from __future__ import annotations

from collections.abc import Iterable

from fsttopo.data import PHONES

__all__ = ["RADIO_TO_ARPABET", "RADIO_PAUSES", "radio_to_arpabet", "map_phone_spans"]

RADIO_PAUSES = frozenset({"pau", "h#", "brth"})
RADIO_TO_ARPABET: dict[str, str] = {
    **{phone: phone for phone in PHONES},
    "ax": "ah",
    "axr": "er",
    "hv": "hh",
    "dx": "t",
    "nx": "n",
    "el": "l",
    "em": "m",
    "en": "n",
}


def radio_to_arpabet(phone: str) -> str | None:
    """ARPAbet phone of a festival/flite phone, None for a pause; ValueError if unknown."""
    if phone in RADIO_PAUSES:
        return None
    mapped = RADIO_TO_ARPABET.get(phone)
    if mapped is None:
        raise ValueError(f"phone {phone!r} is not in the festival/flite phone set")
    return mapped


def map_phone_spans(spans: Iterable[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """festival/flite ``(phone, start, end)`` spans -> ARPAbet spans, pauses dropped (seconds)."""
    mapped = []
    for phone, start, end in spans:
        arpabet = radio_to_arpabet(phone)
        if arpabet is not None:
            mapped.append((arpabet, start, end))
    return mapped
