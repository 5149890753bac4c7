"""Lexicon networks: a prefix tree of word pronunciations expanded with a label topology.

The network is the word loop of :func:`fsttopo.topology.hmm_graph` / :func:`~fsttopo.topology.ctc_graph`
over a whole vocabulary: every word path through it scores exactly like that word sequence's
alignment graph (tested against them). It is kept in a compact form instead of an
:class:`~fsttopo.fsa.FsaVec` because the word loop joins every word end to every word start: as
arcs that is ``vocabulary x first labels`` arcs and an in-degree of the vocabulary size, which the
dense engine's padded tables cannot hold. Here the join is a non-emitting *root* that the decoder
evaluates once per frame.

Layout: every state emits one label per frame. A state is entered by its self-loop, from at most
two predecessor states (``pred``), or from the root (``entry``); ``exit_*`` describe the arcs from a
word's last state (or from silence) into the root. The root remembers the label of the state it was
entered from, so that CTC can forbid ``a -> root -> a`` without a blank (``forbid_same``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ..names import TOPOLOGIES
from ..topology import Transitions
from .language_model import UnigramLM

__all__ = ["LexiconNetwork", "lexicon_network", "pronunciations_of"]


@dataclass(frozen=True)
class LexiconNetwork:
    """Arrays over the ``S`` states of a lexicon network (numpy, for the compiled decoder).

    Attributes:
        words: the vocabulary; word ids index it.
        topology: one of :data:`fsttopo.names.TOPOLOGIES`.
        label: ``[S]`` int64 label each state emits.
        loop: ``[S]`` float64 self-loop transition weight (log domain, before ``transition_scale``).
        pred: ``[S, 2]`` int64 predecessor states, ``-1`` for none.
        pred_weight: ``[S, 2]`` float64 transition weights of those arcs.
        entry: ``[S]`` bool, may be entered from the root (a word start, or silence).
        forbid_same: ``[S]`` bool, not from a root entered from a state with the same label.
        initial: ``[S]`` bool, may emit the first frame.
        exit_transition: ``[S]`` float64 transition weight of the arc into the root, ``-inf`` where
            there is none.
        exit_word: ``[S]`` int64 word id that ends on leaving the state, ``-1`` for none (silence).
        exit_lm: ``[S]`` float64 LM log-probability of ``exit_word`` (0 where none).
        final: ``[S]`` bool, may emit the last frame.
    """

    words: tuple[str, ...]
    topology: str
    label: np.ndarray
    loop: np.ndarray
    pred: np.ndarray
    pred_weight: np.ndarray
    entry: np.ndarray
    forbid_same: np.ndarray
    initial: np.ndarray
    exit_transition: np.ndarray
    exit_word: np.ndarray
    exit_lm: np.ndarray
    final: np.ndarray

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
        self.rows: list[dict] = []

    def add(self, label: int, loop: float, **kw) -> int:
        row = dict(label=label, loop=loop, pred=[-1, -1], pred_weight=[0.0, 0.0], entry=False,
                   forbid_same=False, initial=False, exit_transition=-np.inf, exit_word=-1, exit_lm=0.0,
                   final=False)
        row.update(kw)
        self.rows.append(row)
        return len(self.rows) - 1

    def set_pred(self, state: int, k: int, src: int, weight: float) -> None:
        self.rows[state]["pred"][k] = src
        self.rows[state]["pred_weight"][k] = weight

    def network(self, words: tuple[str, ...], topology: str) -> LexiconNetwork:
        def col(name, dtype):
            return np.array([r[name] for r in self.rows], dtype=dtype)

        return LexiconNetwork(
            words=words, topology=topology, label=col("label", np.int64), loop=col("loop", np.float64),
            pred=col("pred", np.int64), pred_weight=col("pred_weight", np.float64), entry=col("entry", bool),
            forbid_same=col("forbid_same", bool), initial=col("initial", bool),
            exit_transition=col("exit_transition", np.float64), exit_word=col("exit_word", np.int64),
            exit_lm=col("exit_lm", np.float64), final=col("final", bool))


def _prefix_tree(prons: Sequence[Sequence[int]]) -> tuple[list[int], list[int], list[list[int]]]:
    """Nodes of the pronunciation prefix tree: parent (-1 = root) and label per node, and the
    indices of the pronunciations ending at each node."""
    parent, label, ends, child = [], [], [], {}
    for i, pron in enumerate(prons):
        node = -1
        for lab in pron:
            key = (node, lab)
            if key not in child:
                child[key] = len(parent)
                parent.append(node)
                label.append(lab)
                ends.append([])
            node = child[key]
        ends[node].append(i)
    return parent, label, ends


def lexicon_network(
    pronunciations: Mapping[str, Sequence[int]],
    lm: UnigramLM,
    topology: str,
    blank: int = 0,
    transitions: Transitions | None = None,
    num_classes: int | None = None,
) -> LexiconNetwork:
    """The word loop over ``lm``'s vocabulary in a label topology.

    ``hmm``: one state per tree node (self-loop ``speech_loop``, into the next label
    ``speech_forward``), one silence state (label ``blank``) allowed before, between and after words
    but not twice in a row; leaving a word or silence costs that state's forward weight, as in
    :func:`~fsttopo.topology.hmm_graph`. ``ctc`` / ``ctc-no-forced-blank``: per tree node a label
    state and the blank state after it, and a leading blank; with forced blanks a word may not start
    with the label the previous word ended on unless a blank lies between them, as in
    :func:`~fsttopo.topology.ctc_graph`. Homophones share their states; the decoder outputs the one
    with the highest LM probability.

    Args:
        pronunciations: word -> non-empty list of token ids (no blank); must cover ``lm``'s words.
        lm: the vocabulary and its log-probabilities.
        topology: one of :data:`~fsttopo.names.TOPOLOGIES`.
        blank: blank (CTC) / silence (HMM) label id.
        transitions: HMM loop/forward probabilities; None means all weights 0 (ignored for CTC).
        num_classes: when given, every label id is checked against it.
    """
    if topology not in TOPOLOGIES:
        raise ValueError(f"topology must be one of {TOPOLOGIES}, got {topology!r}")
    if blank < 0 or (num_classes is not None and blank >= num_classes):
        raise ValueError(f"blank id {blank} out of range for {num_classes} classes")
    words = tuple(sorted(lm.log_probs))
    missing = [w for w in words if w not in pronunciations]
    if missing:
        raise ValueError(f"{len(missing)} LM words have no pronunciation, e.g. {missing[:5]}")
    prons = []
    for w in words:
        pron = [int(t) for t in pronunciations[w]]
        if not pron:
            raise ValueError(f"word {w!r} has an empty pronunciation")
        bad = [t for t in pron if t < 0 or t == blank or (num_classes is not None and t >= num_classes)]
        if bad:
            raise ValueError(f"word {w!r}: label id {bad[0]} is negative, the blank, or out of range "
                             f"for {num_classes} classes")
        prons.append(pron)
    parent, label, ends = _prefix_tree(prons)
    best_word = [max(e, key=lambda i: lm.log_probs[words[i]]) if e else -1 for e in ends]
    b = _Builder()
    if topology == "hmm":
        sl, sf, il, if_ = transitions.log() if transitions is not None else (0.0,) * 4
        nodes = [b.add(lab, sl) for lab in label]
        b.add(blank, il, entry=True, forbid_same=True, initial=True, exit_transition=if_, final=True)
        for n, p in enumerate(parent):
            if p < 0:
                b.rows[n].update(entry=True, initial=True)
            else:
                b.set_pred(n, 0, nodes[p], sf)
        exits = [(nodes[n], n, sf) for n in range(len(label))]
    else:
        forced = topology == "ctc"
        nodes = [b.add(lab, 0.0) for lab in label]
        blanks = [b.add(blank, 0.0) for _ in label]
        lead = b.add(blank, 0.0, initial=True, final=True)
        for n, p in enumerate(parent):
            b.set_pred(blanks[n], 0, nodes[n], 0.0)
            if p < 0:
                b.rows[n].update(entry=True, initial=True, forbid_same=forced)
                b.set_pred(n, 1, lead, 0.0)
            else:
                if not forced or label[p] != label[n]:
                    b.set_pred(n, 0, nodes[p], 0.0)
                b.set_pred(n, 1, blanks[p], 0.0)
        exits = [(s, n, 0.0) for n in range(len(label)) for s in (nodes[n], blanks[n])]
    for state, n, weight in exits:
        if best_word[n] >= 0:
            b.rows[state].update(exit_transition=weight, exit_word=best_word[n],
                                 exit_lm=lm.log_probs[words[best_word[n]]], final=True)
    return b.network(words, topology)
