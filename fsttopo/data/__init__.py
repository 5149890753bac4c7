"""Data preparation shared by the recipes: pronunciation lexicon, manifests with alignments, features."""

from .dictionary import read_dictionary
from .graphemes import GraphemeUnits
from .lexicon import BLANK, PHONES, Lexicon, SubwordUnits

_MANIFEST_NAMES = ("alignment_items", "compute_fbank", "cut_alignment", "cuts_from_manifests", "item_spans",
                   "make_supervision", "write_cuts")

__all__ = [
    "BLANK", "PHONES", "Lexicon", "SubwordUnits", "GraphemeUnits", "read_dictionary", *_MANIFEST_NAMES,
]


def __getattr__(name: str):
    # the manifest helpers import Lhotse (0.4-0.6 s), which aligning a file does not need
    if name in _MANIFEST_NAMES:
        from . import manifests

        return getattr(manifests, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
