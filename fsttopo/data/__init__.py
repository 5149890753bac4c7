"""Data preparation shared by the recipes: pronunciation lexicon, manifests with alignments, features."""

from .dictionary import read_dictionary
from .graphemes import GraphemeUnits
from .lexicon import BLANK, PHONES, Lexicon, SubwordUnits
from .manifests import (
    alignment_items,
    compute_fbank,
    cut_alignment,
    cuts_from_manifests,
    item_spans,
    make_supervision,
    write_cuts,
)

__all__ = [
    "BLANK", "PHONES", "Lexicon", "SubwordUnits", "GraphemeUnits", "read_dictionary",
    "alignment_items", "item_spans", "make_supervision", "cut_alignment", "cuts_from_manifests",
    "compute_fbank", "write_cuts",
]
