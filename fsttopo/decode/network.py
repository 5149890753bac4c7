"""Lexicon networks: the word loop of a label topology over a whole vocabulary.

Every word has its own chain of states (its pronunciation expanded with the topology), so a
state knows its word, and the LM probability ``P(w | previous word)`` can be applied when a word is
entered: the Viterbi search over the network is then exact for unigram and bigram LMs. Every word
path scores exactly like that word sequence's alignment graph from
:func:`fsttopo.topology.hmm_graph` / :func:`~fsttopo.topology.ctc_graph` (tested against them).

The network is kept in a compact form instead of an :class:`~fsttopo.fsa.FsaVec` because the word
loop joins every word end to every word start: as arcs that is ``vocabulary^2`` arcs, which the
dense engine's padded tables cannot hold. Here the join is a non-emitting *root* that the decoder
evaluates once per frame: word ends (*exits*, each with the word it completes as the LM history)
lead into it, and it leads to the first state of every word.

Layout: every state emits one label per frame. A state is entered by its self-loop, from at most
two predecessor states (``pred``), or, for a word's first state, from the root.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ..names import TOPOLOGIES
from ..topology import Transitions

__all__ = ["LexiconNetwork", "lexicon_network", "pronunciations_of"]


@dataclass(frozen=True)
class LexiconNetwork:
    """Arrays over the ``S`` states and ``W`` words of a lexicon network (numpy, for the decoder).

    Attributes:
        words: the vocabulary (sorted); word ids index it.
        topology: one of :data:`fsttopo.names.TOPOLOGIES`.
        label: ``[S]`` int64 label each state emits.
        loop: ``[S]`` float64 self-loop transition weight (log domain, before ``transition_scale``).
        pred: ``[S, 2]`` int64 predecessor states, ``-1`` for none.
        pred_weight: ``[S, 2]`` float64 transition weights of those arcs.
        word: ``[S]`` int64 word of each state, ``-1`` for the leading silence/blank.
        first_state: ``[W]`` int64 the state that starts each word (entered from the root).
        exit_state: ``[X]`` int64 states that may leave into the root.
        exit_history: ``[X]`` int64 the word an exit completes (the next word's LM history), ``W``
            for the leading silence/blank (sentence start).
        exit_transition: ``[X]`` float64 transition weight of the arc into the root.
        exit_restricts: ``[X]`` bool, CTC with forced blank: the exit's label may not start the next
            word (it needs a blank between).
        initial: ``[S]`` bool, may emit the first frame (word starts and the leading silence/blank).
    """

    words: tuple[str, ...]
    topology: str
    label: np.ndarray
    loop: np.ndarray
    pred: np.ndarray
    pred_weight: np.ndarray
    word: np.ndarray
    first_state: np.ndarray
    exit_state: np.ndarray
    exit_history: np.ndarray
    exit_transition: np.ndarray
    exit_restricts: np.ndarray
    initial: np.ndarray

    @property
    def num_states(self) -> int:
        return int(self.label.shape[0])

    @property
    def max_label(self) -> int:
        return int(self.label.max())


def pronunciations_of(encoder, words: Sequence[str]) -> dict[str, list[int]]:
    """Token ids of each word from a word encoder (:class:`~fsttopo.data.lexicon.Lexicon` or
    :class:`~fsttopo.data.lexicon.SubwordUnits`); ValueError naming a word it cannot encode."""
    out = {}
    for word in words:
        pieces = encoder.encode_words(word)
        if len(pieces) != 1:
            raise ValueError(f"word {word!r} does not encode to exactly one word")
        out[word] = [int(t) for t in pieces[0]]
    return out


class _Builder:
    def __init__(self) -> None:
        self.label: list[int] = []
        self.loop: list[float] = []
        self.pred: list[list[int]] = []
        self.pred_weight: list[list[float]] = []
        self.word: list[int] = []
        self.exits: list[tuple[int, int, float, bool]] = []

    def state(self, label: int, loop: float, word: int, *preds: tuple[int, float]) -> int:
        self.label.append(label)
        self.loop.append(loop)
        self.word.append(word)
        self.pred.append([p for p, _ in preds] + [-1] * (2 - len(preds)))
        self.pred_weight.append([w for _, w in preds] + [0.0] * (2 - len(preds)))
        return len(self.label) - 1

    def exit(self, state: int, history: int, transition: float, restricts: bool = False) -> None:
        self.exits.append((state, history, transition, restricts))


def lexicon_network(
    pronunciations: Mapping[str, Sequence[int]],
    topology: str,
    blank: int = 0,
    transitions: Transitions | None = None,
    num_classes: int | None = None,
) -> LexiconNetwork:
    """The word loop over the words of ``pronunciations`` in a label topology.

    ``hmm``: per word one state per label (self-loop ``speech_loop``, into the next label
    ``speech_forward``) and its own trailing silence state (label ``blank``), plus a leading silence:
    silence is optional before, between and after words; leaving a word or silence costs that state's
    forward weight, as in :func:`~fsttopo.topology.hmm_graph`. ``ctc`` / ``ctc-no-forced-blank``: per
    word a label state and the blank state after it for every label, plus a leading blank; with
    forced blanks a word may not start with the label the previous word ended on unless a blank lies
    between them, as in :func:`~fsttopo.topology.ctc_graph`. Homophones are separate words.

    Args:
        pronunciations: word -> non-empty list of token ids (no blank); its keys are the vocabulary.
        topology: one of :data:`~fsttopo.names.TOPOLOGIES`.
        blank: blank (CTC) / silence (HMM) label id.
        transitions: HMM loop/forward probabilities; None means all weights 0 (ignored for CTC).
        num_classes: when given, every label id is checked against it.
    """
    if topology not in TOPOLOGIES:
        raise ValueError(f"topology must be one of {TOPOLOGIES}, got {topology!r}")
    if blank < 0 or (num_classes is not None and blank >= num_classes):
        raise ValueError(f"blank id {blank} out of range for {num_classes} classes")
    words = tuple(sorted(pronunciations))
    if not words:
        raise ValueError("lexicon_network needs at least one word")
    W = len(words)
    b = _Builder()
    first = []
    if topology == "hmm":
        sl, sf, il, if_ = transitions.log() if transitions is not None else (0.0,) * 4
        b.exit(b.state(blank, il, -1), W, if_)
    else:
        forced = topology == "ctc"
        b.exit(b.state(blank, 0.0, -1), W, 0.0)
    for w, word in enumerate(words):
        pron = [int(t) for t in pronunciations[word]]
        if not pron:
            raise ValueError(f"word {word!r} has an empty pronunciation")
        bad = [t for t in pron if t < 0 or t == blank or (num_classes is not None and t >= num_classes)]
        if bad:
            raise ValueError(f"word {word!r}: label id {bad[0]} is negative, the blank, or out of range "
                             f"for {num_classes} classes")
        if topology == "hmm":
            state = b.state(pron[0], sl, w)
            first.append(state)
            for lab in pron[1:]:
                state = b.state(lab, sl, w, (state, sf))
            silence = b.state(blank, il, w, (state, sf))
            b.exit(state, w, sf)
            b.exit(silence, w, if_)
        else:
            state = b.state(pron[0], 0.0, w)
            first.append(state)
            after = b.state(blank, 0.0, w, (state, 0.0))
            for prev, lab in zip(pron, pron[1:]):
                preds = [(after, 0.0)] + ([(state, 0.0)] if not forced or lab != prev else [])
                state = b.state(lab, 0.0, w, *preds)
                after = b.state(blank, 0.0, w, (state, 0.0))
            b.exit(state, w, 0.0, restricts=forced)
            b.exit(after, w, 0.0)
    exit_state, exit_history, exit_transition, exit_restricts = zip(*b.exits)
    first_state = np.array(first, dtype=np.int64)
    initial = np.zeros(len(b.label), dtype=bool)
    initial[first_state] = True
    initial[0] = True
    return LexiconNetwork(
        words=words, topology=topology, label=np.array(b.label, dtype=np.int64),
        loop=np.array(b.loop, dtype=np.float64), pred=np.array(b.pred, dtype=np.int64),
        pred_weight=np.array(b.pred_weight, dtype=np.float64), word=np.array(b.word, dtype=np.int64),
        first_state=first_state, exit_state=np.array(exit_state, dtype=np.int64),
        exit_history=np.array(exit_history, dtype=np.int64),
        exit_transition=np.array(exit_transition, dtype=np.float64),
        exit_restricts=np.array(exit_restricts, dtype=bool), initial=initial)
