"""TIMIT's 61 phones -> the 39 CMUdict ARPAbet phones without stress (``fsttopo.data.PHONES``).

- A stop closure and the release after it are one phone (``tcl t`` -> ``t``, from the closure's
  start to the release's end); a closure before an affricate joins it (``tcl ch`` -> ``ch``,
  ``dcl jh`` -> ``jh``); a closure without a release is its stop (``kcl`` -> ``k``).
- Reduced and syllabic variants: ``ax``, ``ax-h`` -> ``ah``; ``axr`` -> ``er``; ``ix`` -> ``ih``;
  ``ux`` -> ``uw``; ``el``/``em``/``en``/``eng`` -> ``l``/``m``/``n``/``ng``; ``nx`` -> ``n``;
  ``hv`` -> ``hh``; ``dx`` (flap) -> ``t``.
- Pauses (``h#``, ``pau``, ``epi``) and the glottal stop ``q`` are dropped: gaps.
"""

from __future__ import annotations

from collections.abc import Iterable

from fsttopo.data import PHONES

__all__ = ["CLOSURES", "TIMIT_TO_ARPABET", "DROPPED", "timit_to_arpabet"]

CLOSURES = {"bcl": "b", "dcl": "d", "gcl": "g", "pcl": "p", "tcl": "t", "kcl": "k"}
_JOINS = {"bcl": {"b"}, "dcl": {"d", "jh"}, "gcl": {"g"}, "pcl": {"p"}, "tcl": {"t", "ch"}, "kcl": {"k"}}
DROPPED = frozenset({"h#", "pau", "epi", "q"})
TIMIT_TO_ARPABET: dict[str, str] = {
    **{phone: phone for phone in PHONES},
    "ax": "ah", "ax-h": "ah", "axr": "er", "ix": "ih", "ux": "uw",
    "el": "l", "em": "m", "en": "n", "eng": "ng", "nx": "n", "hv": "hh", "dx": "t",
}


def timit_to_arpabet(spans: Iterable[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """TIMIT ``(phone, start, end)`` spans (seconds) -> ARPAbet spans; ValueError on an unknown phone."""
    spans = list(spans)
    mapped: list[tuple[str, float, float]] = []
    k = 0
    while k < len(spans):
        phone, start, end = spans[k]
        k += 1
        if phone in DROPPED:
            continue
        if phone in CLOSURES:
            if k < len(spans) and spans[k][0] in _JOINS[phone]:
                phone, _, end = spans[k]
                k += 1
            else:
                phone = CLOSURES[phone]
        arpabet = TIMIT_TO_ARPABET.get(phone)
        if arpabet is None:
            raise ValueError(f"phone {phone!r} is not a TIMIT phone")
        mapped.append((arpabet, start, end))
    return mapped
