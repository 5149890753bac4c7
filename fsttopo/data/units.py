"""How text becomes tokens, as a plain dict that travels in model files.

:func:`units_to_dict` describes a word encoder, :func:`units_from_dict` rebuilds it; the dict holds
only str, list, dict, float and bytes (``torch.save`` stores it, and it reads as JSON but for the
SentencePiece model)::

    {"kind": "cmudict"}                                     # CMUdict, the 39 ARPAbet phones
    {"kind": "cmudict", "extra": {word: [phones...]}}       # ... with words added or replaced
    {"kind": "dictionary", "phones": [...], "language": "it" or None,
     "pronunciations": {word: [[[phones...], prob], ...]}}  # every pronunciation, in file order
    {"kind": "graphemes", "characters": [...], "language": "ru" or None}
    {"kind": "sentencepiece", "model_proto": bytes}

A dictionary's silence probabilities are not kept (nothing uses them yet). A model file without
units was trained on CMUdict (:data:`CMUDICT`).
"""

from __future__ import annotations

from typing import Any, Union

from .dictionary import DictionaryEntry
from .graphemes import GraphemeUnits
from .lexicon import Lexicon, SubwordUnits, _cmudict_first_pronunciations

__all__ = ["UNIT_KINDS", "CMUDICT", "Units", "units_to_dict", "units_from_dict"]

UNIT_KINDS = ("cmudict", "dictionary", "graphemes", "sentencepiece")
CMUDICT: dict[str, Any] = {"kind": "cmudict"}
Units = Union[Lexicon, GraphemeUnits, SubwordUnits]


def units_to_dict(units: Units) -> dict[str, Any]:
    """The dict of a :class:`Lexicon` (CMUdict's or a dictionary's), :class:`GraphemeUnits` or
    :class:`SubwordUnits` (module docstring); ValueError for another encoder."""
    if isinstance(units, Lexicon) and units.cmudict:
        cmudict = _cmudict_first_pronunciations()
        extra = {w: list(p) for w in units.words if cmudict.get(w) != (p := tuple(units.pronounce(w)))}
        return {"kind": "cmudict", **({"extra": extra} if extra else {})}
    if isinstance(units, Lexicon):
        return {"kind": "dictionary", "phones": list(units.phones), "language": units.language,
                "pronunciations": {w: [[list(e.phones), e.probability] for e in units.pronunciations(w)]
                                   for w in units.words}}
    if isinstance(units, GraphemeUnits):
        return {"kind": "graphemes", "characters": list(units.characters), "language": units.language}
    if isinstance(units, SubwordUnits):
        return {"kind": "sentencepiece", "model_proto": bytes(units.model_proto)}
    raise ValueError(f"cannot describe units of type {type(units).__name__} (Lexicon, GraphemeUnits or SubwordUnits)")


def units_from_dict(d: dict[str, Any], where: str = "units") -> Units:
    """The word encoder a dict of :func:`units_to_dict` describes; ValueError naming ``where``
    (e.g. the model file) for an unknown kind or a malformed entry."""
    kind = d.get("kind") if isinstance(d, dict) else None
    try:
        if kind == "cmudict":
            return Lexicon.from_cmudict(d.get("extra"))
        if kind == "dictionary":
            entries = {w: [DictionaryEntry(tuple(phones), float(prob)) for phones, prob in prons]
                       for w, prons in d["pronunciations"].items()}
            return Lexicon.from_entries(entries, d["phones"], d.get("language"))
        if kind == "graphemes":
            return GraphemeUnits(d["characters"], d.get("language"))
        if kind == "sentencepiece":
            return SubwordUnits(d["model_proto"])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{where}: malformed {kind!r} units ({type(err).__name__}: {err})") from err
    raise ValueError(f"{where}: unknown kind of units {kind!r} (one of {UNIT_KINDS})")
