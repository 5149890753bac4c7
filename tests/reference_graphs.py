"""References for the vectorized graph builders (tests/test_graph_builders.py): fsttopo's per-state
builders, which build the utterances with unknown words, applied to every utterance."""

from __future__ import annotations

from typing import Sequence

from fsttopo.fsa import FsaVec
from fsttopo.topology import (AnyLabels, Transitions, _check_special, _ctc_fsa_with_unknown_words,
                              _hmm_fsa_with_unknown_words)


def loop_ctc_graph(
    targets: Sequence[Sequence[int | AnyLabels]],
    blank: int = 0,
    forced_blank: bool = True,
    num_classes: int | None = None,
) -> FsaVec:
    """:func:`fsttopo.topology.ctc_graph` built one state at a time for every utterance."""
    _check_special(blank, "blank", num_classes)
    return FsaVec([_ctc_fsa_with_unknown_words(list(seq), b, blank, forced_blank, num_classes)
                   for b, seq in enumerate(targets)])


def loop_hmm_graph(
    words: Sequence[Sequence[Sequence[int]]],
    silence: int,
    transitions: Transitions | None = None,
    num_classes: int | None = None,
) -> FsaVec:
    """:func:`fsttopo.topology.hmm_graph` built one state at a time for every utterance."""
    _check_special(silence, "silence", num_classes)
    weights = transitions.log() if transitions is not None else (0.0,) * 4
    return FsaVec([_hmm_fsa_with_unknown_words(list(utt), b, silence, weights, num_classes)
                   for b, utt in enumerate(words)])
