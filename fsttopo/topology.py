"""Label topologies: build per-utterance graphs (an :class:`~fsttopo.fsa.FsaVec`) from transcripts.

All graphs share one layout (arcs sorted by source state, as k2 stores them): state 0 is a non-emitting start state, every other arc consumes one
frame and emits its label into its destination state (so each state has one label), and arcs
labelled ``-1`` lead from the allowed end states into the final state. The first frame carries
no transition weight (arcs leaving the start state score 0), and neither does the final arc.

Per-arc attribute ``token`` is the position (0-based) of the emitted token in the utterance's
label sequence, ``-1`` for blank/silence and final arcs; HMM graphs also carry ``word``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch

from .fsa import Fsa, FsaVec
from .names import TOPOLOGIES

__all__ = ["TOPOLOGIES", "Transitions", "AnyLabels", "ctc_graph", "hmm_graph", "build_graphs"]


@dataclass(frozen=True)
class Transitions:
    """Loop/forward probabilities of speech and silence states (paper sec. 2, Eq. 6).

    The paper uses 0.5/0.5 for speech at 40 ms frames and about 0.96/0.04 for silence.
    """

    speech_loop: float = 0.5
    speech_forward: float = 0.5
    silence_loop: float = 0.96
    silence_forward: float = 0.04

    def __post_init__(self) -> None:
        for name in ("speech_loop", "speech_forward", "silence_loop", "silence_forward"):
            p = getattr(self, name)
            if not 0.0 < p <= 1.0:
                raise ValueError(f"Transitions.{name} must be a probability in (0, 1], got {p}")

    def log(self) -> tuple[float, float, float, float]:
        """``(log speech_loop, log speech_forward, log silence_loop, log silence_forward)``."""
        return tuple(math.log(p) for p in
                     (self.speech_loop, self.speech_forward, self.silence_loop, self.silence_forward))


@dataclass(frozen=True)
class AnyLabels:
    """A word of unknown pronunciation (out of the lexicon) in :func:`hmm_graph`: any sequence of 1 to
    ``max_labels`` of ``labels`` (a garbage model, as forced aligners use for unknown words). It is
    one token: all its frames carry the same ``token`` position.

    Built as ``max_labels`` slots of one state per label (self-loop; every state of slot ``i`` leads
    to every state of slot ``i + 1``, and each may end the word), so the graph stays left-to-right.
    """

    labels: tuple[int, ...]
    max_labels: int

    def __post_init__(self) -> None:
        if not self.labels or self.max_labels < 1:
            raise ValueError(f"AnyLabels needs labels and max_labels >= 1, got {self.labels!r}, {self.max_labels}")


def _check_labels(seq: Sequence[int], what: str, forbidden: int, forbidden_name: str,
                  num_classes: int | None) -> None:
    for lab in seq:
        if not isinstance(lab, (int,)) and not (torch.is_tensor(lab) and lab.ndim == 0):
            raise ValueError(f"{what}: label ids must be integers, got {lab!r}")
        lab = int(lab)
        if lab < 0:
            raise ValueError(f"{what}: negative label id {lab}")
        if lab == forbidden:
            raise ValueError(f"{what}: contains the {forbidden_name} id {forbidden}")
        if num_classes is not None and lab >= num_classes:
            raise ValueError(f"{what}: label id {lab} out of range for {num_classes} classes")


def _check_special(value: int, name: str, num_classes: int | None) -> None:
    if value < 0 or (num_classes is not None and value >= num_classes):
        bound = f"[0, {num_classes})" if num_classes is not None else ">= 0"
        raise ValueError(f"{name} id {value} out of range: must be {bound}")


def ctc_graph(
    targets: Sequence[Sequence[int]],
    blank: int = 0,
    forced_blank: bool = True,
    num_classes: int | None = None,
) -> FsaVec:
    """CTC label topology per utterance.

    Emitting states are ``(blank, a_1, blank, a_2, ..., a_S, blank)``; each loops, blank moves to
    the next label, a label moves to the next blank or directly to the next label. With
    ``forced_blank=True`` (standard CTC, the alignments of ``torch.nn.functional.ctc_loss``) the
    direct move is missing when ``a_s == a_{s+1}``; with ``forced_blank=False`` (the paper's "CTC
    without forced blank", k2's ``modified`` topology in spirit) it is always there, so two equal
    labels may follow each other directly. All weights are 0.

    Args:
        targets: ``B`` label sequences (ints, no blank inside).
        blank: blank label id.
        forced_blank: standard CTC when True.
        num_classes: emission size ``V``; when given, every id is checked against it.

    Returns:
        FsaVec of ``B`` graphs with ``2 S + 3`` states each (start, ``2S+1`` emitting, final).
    """
    _check_special(blank, "blank", num_classes)
    fsas = []
    for b, seq in enumerate(targets):
        seq = list(seq)
        _check_labels(seq, f"targets[{b}]", blank, "blank", num_classes)
        seq = [int(x) for x in seq]
        S = len(seq)
        # emitting state e (0..2S) is FSA state e+1; even e = blank, odd e = label a_{(e+1)/2}
        labels = [blank if e % 2 == 0 else seq[e // 2] for e in range(2 * S + 1)]
        tokens = [-1 if e % 2 == 0 else e // 2 for e in range(2 * S + 1)]
        arcs, tok = [], []

        def arc(src_e: int, dst_e: int) -> None:
            src = 0 if src_e < 0 else src_e + 1
            arcs.append((src, dst_e + 1, labels[dst_e], 0.0))
            tok.append(tokens[dst_e])

        arc(-1, 0)
        if S > 0:
            arc(-1, 1)
        for e in range(2 * S + 1):
            arc(e, e)
            if e + 1 <= 2 * S:
                arc(e, e + 1)
            if e % 2 == 1 and e + 2 <= 2 * S and (not forced_blank or labels[e] != labels[e + 2]):
                arc(e, e + 2)
        final = 2 * S + 2
        for e in ([2 * S, 2 * S - 1] if S > 0 else [0]):
            arcs.append((e + 1, final, -1, 0.0))
            tok.append(-1)
        fsas.append(Fsa.from_arcs(arcs, num_states=final + 1, aux={"token": tok}).sorted_by_source())
    return FsaVec(fsas)


def hmm_graph(
    words: Sequence[Sequence[Sequence[int]]],
    silence: int,
    transitions: Transitions | None = None,
    num_classes: int | None = None,
) -> FsaVec:
    """HMM label topology with optional silence between words (paper sec. 2, Figure 3).

    One zero-order HMM state per label; each emits for one or more consecutive frames. A single
    silence state may occur before the first word, between words and after the last word, for any
    number of frames including none, and never inside a word.

    Transition weights (log domain): an arc that stays in a state carries ``log(loop)`` of that
    state's kind (speech or silence); an arc that leaves a state carries ``log(forward)`` of the
    source state's kind, including the arc that skips an optional silence. Arcs out of the start
    state and into the final state carry 0. ``transitions=None`` sets every weight to 0.

    A word given as :class:`AnyLabels` (an unknown word) is any sequence of its labels, with the
    same speech loop/forward weights.

    Args:
        words: per utterance a list of words, each a non-empty list of label ids or an
            :class:`AnyLabels`.
        silence: silence label id (must not occur inside words).
        transitions: loop/forward probabilities, or None.
        num_classes: emission size ``V``; when given, every id is checked against it.

    Returns:
        FsaVec; arcs carry ``token`` (position in the flattened label sequence) and ``word``.
    """
    _check_special(silence, "silence", num_classes)
    sl, sf, il, if_ = transitions.log() if transitions is not None else (0.0,) * 4
    fsas = []
    for b, utt in enumerate(words):
        # emitting states in order: sil_0, w_1 labels, sil_1, ..., w_K labels, sil_K
        labels, tokens, word_of, is_sil = [], [], [], []
        first, last = [], []  # per word: emitting index of its first / last label state
        sil_states = []
        pos = 0

        def add_state(lab: int, tok: int, word: int, sil: bool) -> int:
            labels.append(lab)
            tokens.append(tok)
            word_of.append(word)
            is_sil.append(sil)
            return len(labels) - 1

        sil_states.append(add_state(silence, -1, -1, True))
        slots_of: dict[int, list[list[int]]] = {}  # AnyLabels word -> its slots of states
        for w, word in enumerate(utt):
            if isinstance(word, AnyLabels):
                _check_labels(list(word.labels), f"words[{b}][{w}]", silence, "silence", num_classes)
                slots = [[add_state(int(lab), pos, w, False) for lab in word.labels] for _ in range(word.max_labels)]
                slots_of[w] = slots
                pos += 1
                first.append(slots[0][0])
                last.append(slots[-1][-1])
                sil_states.append(add_state(silence, -1, -1, True))
                continue
            word = list(word)
            if len(word) == 0:
                raise ValueError(f"words[{b}][{w}] is empty: every word needs at least one label")
            _check_labels(word, f"words[{b}][{w}]", silence, "silence", num_classes)
            idx = [add_state(int(lab), pos + j, w, False) for j, lab in enumerate(word)]
            pos += len(word)
            first.append(idx[0])
            last.append(idx[-1])
            sil_states.append(add_state(silence, -1, -1, True))

        arcs, tok, wrd = [], [], []

        def arc(src_e: int, dst_e: int, weight: float) -> None:
            arcs.append((0 if src_e < 0 else src_e + 1, dst_e + 1, labels[dst_e], weight))
            tok.append(tokens[dst_e])
            wrd.append(word_of[dst_e])

        def leave(e: int) -> float:
            return if_ if is_sil[e] else sf

        def starts(w: int) -> list[int]:
            return slots_of[w][0] if w in slots_of else [first[w]]

        def ends_of(w: int) -> list[int]:
            return [e for slot in slots_of[w] for e in slot] if w in slots_of else [last[w]]

        for e in range(len(labels)):
            arc(e, e, il if is_sil[e] else sl)
        arc(-1, sil_states[0], 0.0)
        K = len(first)
        if K > 0:
            for e in starts(0):
                arc(-1, e, 0.0)
        for w in range(K):
            if w in slots_of:
                for slot, following in zip(slots_of[w], slots_of[w][1:]):
                    for e in slot:
                        for d in following:
                            arc(e, d, sf)
            else:
                for e in range(first[w], last[w]):
                    arc(e, e + 1, sf)
            for d in starts(w):
                arc(sil_states[w], d, leave(sil_states[w]))
            for e in ends_of(w):
                arc(e, sil_states[w + 1], leave(e))
                if w + 1 < K:
                    for d in starts(w + 1):
                        arc(e, d, leave(e))
        final = len(labels) + 1
        ends = [sil_states[-1]] + (ends_of(K - 1) if K > 0 else [])
        for e in ends:
            arcs.append((e + 1, final, -1, 0.0))
            tok.append(-1)
            wrd.append(-1)
        fsas.append(Fsa.from_arcs(arcs, num_states=final + 1, aux={"token": tok, "word": wrd}).sorted_by_source())
    return FsaVec(fsas)


def build_graphs(words: list[list[list[int]]], topology: str, num_classes: int,
                 transitions: Transitions | None = None, blank: int = 0) -> FsaVec:
    """Graphs for a batch of transcripts given as per-utterance lists of words of token ids.

    ``hmm`` uses ``blank`` as the silence state between words (and ``transitions``); the CTC
    topologies flatten the words and use ``blank`` as blank.
    """
    if topology == "hmm":
        return hmm_graph(words, silence=blank, transitions=transitions, num_classes=num_classes)
    if topology in ("ctc", "ctc-no-forced-blank"):
        if any(isinstance(w, AnyLabels) for utt in words for w in utt):
            raise ValueError(f"words of unknown pronunciation (AnyLabels) need the hmm topology, not {topology!r}")
        flat = [[t for w in utt for t in w] for utt in words]
        return ctc_graph(flat, blank=blank, forced_blank=topology == "ctc", num_classes=num_classes)
    raise ValueError(f"topology must be one of {TOPOLOGIES}, got {topology!r}")
