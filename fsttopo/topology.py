"""Label topologies: build per-utterance graphs (an :class:`~fsttopo.fsa.FsaVec`) from transcripts.

All graphs share one layout (arcs sorted by source state, as k2 stores them): state 0 is a non-emitting start state, every other arc consumes one
frame and emits its label into its destination state (so each state has one label), and arcs
labelled ``-1`` lead from the allowed end states into the final state. The first frame carries
no transition weight (arcs leaving the start state score 0), and neither does the final arc.

Per-arc attribute ``token`` is the position (0-based) of the emitted token in the utterance's
label sequence, ``-1`` for blank/silence and final arcs; HMM graphs also carry ``word``.
:func:`with_garbage` adds optional garbage segments (untranscribed audio) to such graphs; their
arcs carry ``-1`` in every attribute and are told apart by their label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch

from .fsa import Fsa, FsaVec
from .names import TOPOLOGIES

__all__ = ["TOPOLOGIES", "Transitions", "AnyLabels", "Alternatives", "word_size", "ctc_graph", "hmm_graph", "build_graphs", "with_garbage",
           "word_start_tokens"]


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
    """A word of unknown pronunciation (out of the lexicon) in :func:`hmm_graph` and :func:`ctc_graph`:
    any sequence of 1 to ``max_labels`` of ``labels`` (a garbage model, as forced aligners use for
    unknown words). It is one token: all its label frames carry the same ``token`` position.

    Built as ``max_labels`` slots of one state per label (self-loop; every state of slot ``i`` leads
    to every state of slot ``i + 1``), so the graph stays left-to-right. A sequence of ``n`` labels
    enters at slot ``max_labels - n`` (any slot may start the word) and leaves from the last slot
    (only it ends the word): each label sequence has one path, and the wide fan sits on the arcs
    *leaving* the state before the word. The engine's tables that grow with the frames are sized by
    the largest number of arcs *entering* a state, which stays about ``2 * len(labels)``; letting
    every slot end the word instead would give the state after it ``max_labels * len(labels)``
    entering arcs (the memory the aligner's phone loop once ran out of).
    """

    labels: tuple[int, ...]
    max_labels: int

    def __post_init__(self) -> None:
        if not self.labels or self.max_labels < 1:
            raise ValueError(f"AnyLabels needs labels and max_labels >= 1, got {self.labels!r}, {self.max_labels}")


@dataclass(frozen=True)
class Alternatives:
    """A word with several pronunciations in :func:`hmm_graph` and :func:`ctc_graph`: any one of
    ``sequences`` (each a non-empty tuple of label ids), side by side between the word's neighbours.

    Its tokens number the labels of every sequence in turn (the first sequence's, then the
    second's, ...), so the tokens a path visits tell which sequence it took
    (:meth:`taken`). A graph with such words is for choosing among them: the graphs built from
    the chosen sequences are the ones whose token positions the alignment reports.
    """

    sequences: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        if not self.sequences or any(len(seq) == 0 for seq in self.sequences):
            raise ValueError(f"Alternatives needs non-empty label sequences, got {self.sequences!r}")

    @property
    def size(self) -> int:
        """Token positions the word takes: the labels of all its sequences."""
        return sum(len(seq) for seq in self.sequences)

    def taken(self, token: int) -> int:
        """Index of the sequence that token position ``token`` (counted from the word's first)
        belongs to; ValueError outside ``[0, size)``."""
        if not 0 <= token < self.size:
            raise ValueError(f"token {token} is outside the word's {self.size} positions")
        for index, seq in enumerate(self.sequences):
            if token < len(seq):
                return index
            token -= len(seq)
        raise AssertionError("unreachable")


def word_size(word: Sequence[int] | AnyLabels | Alternatives) -> int:
    """Token positions a word takes in a graph: one for :class:`AnyLabels`, the labels of every
    sequence for :class:`Alternatives`, else its labels."""
    if isinstance(word, AnyLabels):
        return 1
    if isinstance(word, Alternatives):
        return word.size
    return len(word)


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
    targets: Sequence[Sequence[int | AnyLabels]],
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

    A target given as :class:`AnyLabels` (a word of unknown pronunciation) is any sequence of 1 to
    ``max_labels`` of its labels, as CTC would emit it: slots of one state per label, a blank state
    between consecutive slots, the same forced-blank rule between equal labels; entered at any slot,
    left from the last one (as in :func:`hmm_graph`); all its label states carry its position as
    ``token``. A target given as :class:`Alternatives` (a word's pronunciations) is any one of its
    sequences, each as CTC would emit it, with blanks and the forced-blank rule inside.

    Args:
        targets: ``B`` label sequences (ints, no blank inside; or :class:`AnyLabels` /
            :class:`Alternatives` words).
        blank: blank label id.
        forced_blank: standard CTC when True.
        num_classes: emission size ``V``; when given, every id is checked against it.

    Returns:
        FsaVec of ``B`` graphs; with integer targets only ``2 S + 3`` states each (start, ``2S+1``
        emitting, final).
    """
    _check_special(blank, "blank", num_classes)
    seqs = [seq if torch.is_tensor(seq) else list(seq) for seq in targets]
    unknown = [not torch.is_tensor(seq) and any(isinstance(x, (AnyLabels, Alternatives)) for x in seq)
               for seq in seqs]
    plain = _plain_ctc_graphs([_label_tensor(seq, f"targets[{b}]", blank, "blank", num_classes)
                               for b, (seq, u) in enumerate(zip(seqs, unknown)) if not u], blank, forced_blank)
    if not any(unknown):
        return plain
    plain_fsas = iter(plain) if plain is not None else iter(())
    return FsaVec([_ctc_fsa_with_unknown_words(seq, b, blank, forced_blank, num_classes) if u else next(plain_fsas)
                   for b, (seq, u) in enumerate(zip(seqs, unknown))])


def _label_tensor(seq: Sequence[int], what: str, forbidden: int, forbidden_name: str,
                  num_classes: int | None) -> torch.Tensor:
    """``[S]`` int64 ids of a label sequence, checked as :func:`_check_labels` does (which names the
    culprit when the vectorized check fails)."""
    try:
        ids = seq if torch.is_tensor(seq) else torch.tensor(seq, dtype=None if len(seq) else torch.int64)
    except (TypeError, ValueError, RuntimeError):
        ids = None
    if ids is None or ids.ndim != 1 or ids.is_floating_point() or ids.is_complex():
        _check_labels(seq, what, forbidden, forbidden_name, num_classes)
        raise ValueError(f"{what}: label ids must be a sequence of integers, got {seq!r}")
    ids = ids.to(torch.int64)
    bad = (ids < 0) | (ids == forbidden)
    if num_classes is not None:
        bad |= ids >= num_classes
    if bool(bad.any()):
        _check_labels(ids.tolist(), what, forbidden, forbidden_name, num_classes)
    return ids


def _plain_ctc_graphs(targets: list[torch.Tensor], blank: int, forced_blank: bool) -> FsaVec | None:
    """:func:`ctc_graph` of ``B`` checked ``[S_b]`` int64 label sequences, built for the whole batch at
    once (``None`` for none): the Python loop over labels took 1 s at B=16, S=800.

    Utterance ``b``'s emitting states are FSA states ``1 .. 2 S_b + 1`` (blank ``2j + 1`` before label
    ``j``, label ``j`` at ``2j + 2``), the final state ``2 S_b + 2``. Arcs, sorted by source: the two
    out of the start state (into blank 0 and label 0), per label position ``j`` six slots (the blank
    before it: loop, into label ``j``; label ``j``: loop, into the next blank, into label ``j + 1``
    where allowed, into the final state for the last label), and the last blank's loop and final arc.
    """
    if not targets:
        return None
    B = len(targets)
    S = torch.tensor([t.numel() for t in targets], dtype=torch.int64)
    s_max = int(S.max())
    a = torch.full((B, s_max + 1), blank, dtype=torch.int64)  # one padding column: label j + 1 of the last j
    if s_max:
        a[:, :s_max] = torch.nn.utils.rnn.pad_sequence(targets, batch_first=True, padding_value=blank)
    j = torch.arange(s_max).expand(B, s_max)
    here, following = a[:, :s_max], a[:, 1:]
    blank_state, label_state = 2 * j + 1, 2 * j + 2
    final = (2 * S + 2)[:, None].expand(B, s_max)
    blanks, no = torch.full_like(j, blank), torch.full_like(j, -1)
    inside = j < S[:, None]
    skip = (j + 1 < S[:, None]) & ((here != following) if forced_blank else torch.ones_like(inside))
    # [B, s_max, 6]: the six slots of each label position
    src = torch.stack([blank_state, blank_state, label_state, label_state, label_state, label_state], -1)
    dst = torch.stack([blank_state, label_state, label_state, label_state + 1, label_state + 2, final], -1)
    lab = torch.stack([blanks, here, here, blanks, following, no], -1)
    tok = torch.stack([no, j, j, no, j + 1, no], -1)
    valid = torch.stack([inside, inside, inside, inside, skip, j == S[:, None] - 1], -1)
    ones, zeros = torch.ones(B, dtype=torch.int64), torch.zeros(B, dtype=torch.int64)
    last_blank = 2 * S + 1
    start = [torch.stack([zeros, zeros], 1), torch.stack([ones, 2 * ones], 1),
             torch.stack([blank * ones, a[:, 0]], 1), torch.stack([-ones, zeros], 1),
             torch.stack([ones.bool(), S > 0], 1)]
    end = [torch.stack([last_blank, last_blank], 1), torch.stack([last_blank, last_blank + 1], 1),
           torch.stack([blank * ones, -ones], 1), torch.stack([-ones, -ones], 1), torch.ones(B, 2, dtype=torch.bool)]
    fields = [torch.cat([first, middle.reshape(B, -1), last], 1)
              for first, middle, last in zip(start, (src, dst, lab, tok, valid), end)]
    keep = fields[4]
    arcs = torch.stack([f[keep] for f in fields[:3]], 1)
    return FsaVec.from_tensors(arcs, torch.zeros(arcs.shape[0]), {"token": fields[3][keep]}, keep.sum(1),
                               2 * S + 3)


def _ctc_fsa_with_unknown_words(seq: list, b: int, blank: int, forced_blank: bool, num_classes: int | None) -> Fsa:
    """:func:`ctc_graph` of one label sequence with :class:`AnyLabels` or :class:`Alternatives` in
    it (the per-state builder)."""
    seq = list(seq)
    _check_labels([x for x in seq if not isinstance(x, (AnyLabels, Alternatives))], f"targets[{b}]", blank,
                  "blank", num_classes)
    for x in seq:
        if isinstance(x, AnyLabels):
            _check_labels(list(x.labels), f"targets[{b}]", blank, "blank", num_classes)
        elif isinstance(x, Alternatives):
            for alt in x.sequences:
                _check_labels(list(alt), f"targets[{b}]", blank, "blank", num_classes)
    labels, tokens, out = [], [], []  # per emitting state (FSA state = index + 1)

    def add(label: int, token: int) -> int:
        labels.append(label)
        tokens.append(token)
        out.append([])
        return len(labels) - 1

    def link(sources: list[int], targets_: list[int]) -> None:
        """Direct label-to-label moves, without the ones forced blanks forbid."""
        for e in sources:
            out[e].extend(d for d in targets_ if not forced_blank or labels[e] != labels[d])

    blanks, entries, exits = [add(blank, -1)], [], []
    pos = 0  # token position of the next label
    for x in seq:
        if isinstance(x, AnyLabels):
            slots = [[add(int(lab), pos) for lab in x.labels]]
            for _ in range(1, x.max_labels):
                inner = add(blank, -1)
                slot = [add(int(lab), pos) for lab in x.labels]
                for e in slots[-1]:
                    out[e].append(inner)
                out[inner].extend(slot)
                link(slots[-1], slot)
                slots.append(slot)
            entries.append([e for slot in slots for e in slot])
            exits.append(slots[-1])
        elif isinstance(x, Alternatives):
            heads, tails = [], []
            for alt in x.sequences:
                chain = [add(int(alt[0]), pos)]
                for j, lab in enumerate(alt[1:], 1):
                    inner = add(blank, -1)
                    state = add(int(lab), pos + j)
                    out[chain[-1]].append(inner)
                    out[inner].append(state)
                    link([chain[-1]], [state])
                    chain.append(state)
                heads.append(chain[0])
                tails.append(chain[-1])
                pos += len(alt)
            entries.append(heads)
            exits.append(tails)
            blanks.append(add(blank, -1))
            continue
        else:
            entries.append([add(int(x), pos)])
            exits.append(entries[-1])
        pos += 1
        blanks.append(add(blank, -1))
    for j in range(len(seq)):
        out[blanks[j]].extend(entries[j])
        for e in exits[j]:
            out[e].append(blanks[j + 1])
        if j + 1 < len(seq):
            link(exits[j], entries[j + 1])
    arcs, tok = [], []

    def arc(src: int, dst: int) -> None:
        arcs.append((src, dst + 1, labels[dst], 0.0))
        tok.append(tokens[dst])

    for d in [blanks[0]] + (entries[0] if seq else []):
        arc(0, d)
    for e in range(len(labels)):
        arc(e + 1, e)
        for d in out[e]:
            arc(e + 1, d)
    final = len(labels) + 1
    for e in [blanks[-1]] + (exits[-1] if seq else []):
        arcs.append((e + 1, final, -1, 0.0))
        tok.append(-1)
    return Fsa.from_arcs(arcs, num_states=final + 1, aux={"token": tok}).sorted_by_source()


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
    same speech loop/forward weights; a word given as :class:`Alternatives` (several
    pronunciations) is any one of its label sequences, each a chain like a plain word's.

    Args:
        words: per utterance a list of words, each a non-empty list of label ids, an
            :class:`AnyLabels` or an :class:`Alternatives`.
        silence: silence label id (must not occur inside words).
        transitions: loop/forward probabilities, or None.
        num_classes: emission size ``V``; when given, every id is checked against it.

    Returns:
        FsaVec; arcs carry ``token`` (position in the flattened label sequence) and ``word``.
    """
    _check_special(silence, "silence", num_classes)
    weights = transitions.log() if transitions is not None else (0.0,) * 4
    utts = [list(utt) for utt in words]
    unknown = [any(isinstance(word, (AnyLabels, Alternatives)) for word in utt) for utt in utts]
    plain = _plain_hmm_graphs([utt for utt, u in zip(utts, unknown) if not u],
                              [b for b, u in enumerate(unknown) if not u], silence, weights, num_classes)
    if not any(unknown):
        return plain
    plain_fsas = iter(plain) if plain is not None else iter(())
    return FsaVec([_hmm_fsa_with_unknown_words(utt, b, silence, weights, num_classes) if u else next(plain_fsas)
                   for b, (utt, u) in enumerate(zip(utts, unknown))])


def _plain_hmm_graphs(utts: list[list[Sequence[int]]], numbers: list[int], silence: int,
                      weights: tuple[float, float, float, float], num_classes: int | None) -> FsaVec | None:
    """:func:`hmm_graph` of utterances without :class:`AnyLabels` (``numbers``: their indices in the
    batch, for error messages), built for the whole batch at once (``None`` for none).

    Emitting states in order ``sil_0, labels of word 1, sil_1, ..., sil_K`` (emitting state ``e`` is
    FSA state ``e + 1``). Arcs sorted by source: two out of the start state (into ``sil_0`` and the
    first label), then four slots per emitting state: its loop, into state ``e + 1`` (the next label
    of its word, the following silence, or from a silence the next word's first label), into
    ``e + 2`` (a word's last label into the next word's first, skipping the silence) and into the
    final state (``sil_K`` and the last word's last label).
    """
    if not utts:
        return None
    sl, sf, il, if_ = weights
    ids, lens = [], []
    for b, utt in zip(numbers, utts):
        for w, word in enumerate(utt):
            if len(word) == 0:
                raise ValueError(f"words[{b}][{w}] is empty: every word needs at least one label")
        flat = [lab for word in utt for lab in word]
        try:
            ids.append(_label_tensor(flat, f"words[{b}]", silence, "silence", num_classes))
        except ValueError:  # name the word, as the per-word check does
            for w, word in enumerate(utt):
                _check_labels(list(word), f"words[{b}][{w}]", silence, "silence", num_classes)
            raise
        lens.append(torch.tensor([len(word) for word in utt], dtype=torch.int64))
    B = len(utts)
    K = torch.tensor([len(n) for n in lens], dtype=torch.int64)  # words per utterance
    P = torch.tensor([t.numel() for t in ids], dtype=torch.int64)  # labels per utterance
    N = P + K + 1  # emitting states per utterance
    # flat over the batch: one row per utterance's start state, then one per emitting state
    rows = N + 1
    row_utt = torch.repeat_interleave(torch.arange(B), rows)
    first_row = torch.cumsum(rows, 0) - rows
    e = torch.arange(int(rows.sum())) - first_row[row_utt] - 1  # emitting index, -1 for the start row
    sil_rank = torch.cat([torch.cat([torch.zeros(1, dtype=torch.int64), n.cumsum(0)]) + torch.arange(len(n) + 1)
                          for n in lens])  # emitting index of each sil_k, per utterance
    sil_row = torch.repeat_interleave(first_row + 1, K + 1) + sil_rank
    is_sil = torch.zeros(len(e), dtype=torch.bool)
    is_sil[sil_row] = True
    start = e < 0
    is_label = ~is_sil & ~start
    label = torch.full((len(e),), silence, dtype=torch.int64)
    label[is_label] = torch.cat(ids) if ids else torch.zeros(0, dtype=torch.int64)
    token = torch.full((len(e),), -1, dtype=torch.int64)
    token[is_label] = torch.cat([torch.arange(int(p)) for p in P])
    word = torch.full((len(e),), -1, dtype=torch.int64)
    word[is_label] = torch.cat([torch.repeat_interleave(torch.arange(len(n)), n) for n in lens])
    sil_k = torch.cumsum(is_sil.long(), 0) - 1 - torch.repeat_interleave(torch.cat([torch.zeros(1, dtype=torch.int64),
                                                                                   (K + 1).cumsum(0)[:-1]]), rows)
    pad = torch.zeros(2, dtype=torch.int64)
    nxt_sil = torch.cat([is_sil, torch.zeros(2, dtype=torch.bool)])
    last = is_label & nxt_sil[1:len(e) + 1]  # a word's last label: a silence follows
    Kr, Nr = K[row_utt], N[row_utt]
    last_word = last & (word == Kr - 1)
    final_sil = is_sil & (sil_k == Kr)

    def of(field: torch.Tensor, shift: int) -> torch.Tensor:  # attribute of the state ``shift`` rows on
        return torch.cat([field, pad.to(field.dtype)])[shift:shift + len(e)]

    fin = Nr + 1
    # [rows, 4] slots; the start row uses slots 1 and 2 (into e + 1 = sil_0, e + 2 = the first label)
    src = (e + 1)[:, None].expand(-1, 4)
    dst = torch.stack([e + 1, e + 2, e + 3, fin], 1)
    lab = torch.stack([label, of(label, 1), of(label, 2), torch.full_like(e, -1)], 1)
    tok = torch.stack([token, of(token, 1), of(token, 2), torch.full_like(e, -1)], 1)
    wrd = torch.stack([word, of(word, 1), of(word, 2), torch.full_like(e, -1)], 1)
    loop_w = torch.where(is_sil, il, sl)
    step_w = torch.where(start, 0.0, torch.where(is_sil, if_, sf))
    score = torch.stack([loop_w, step_w, torch.where(start, 0.0, sf), torch.zeros(len(e))], 1)
    valid = torch.stack([~start, ~final_sil, (start & (Kr > 0)) | (last & ~last_word), final_sil | last_word], 1)
    arcs = torch.stack([src[valid], dst[valid], lab[valid]], 1)
    counts = torch.zeros(B, dtype=torch.int64).index_add_(0, row_utt, valid.sum(1))
    return FsaVec.from_tensors(arcs, score[valid].float(), {"token": tok[valid], "word": wrd[valid]}, counts, N + 2)


def _hmm_fsa_with_unknown_words(utt: list, b: int, silence: int, weights: tuple[float, float, float, float],
                                num_classes: int | None) -> Fsa:
    """:func:`hmm_graph` of one utterance with :class:`AnyLabels` or :class:`Alternatives` words
    (the per-state builder)."""
    sl, sf, il, if_ = weights
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
    chains_of: dict[int, list[list[int]]] = {}  # Alternatives word -> the states of each sequence
    for w, word in enumerate(utt):
        if isinstance(word, Alternatives):
            chains = []
            for seq in word.sequences:
                _check_labels(list(seq), f"words[{b}][{w}]", silence, "silence", num_classes)
                chains.append([add_state(int(lab), pos + j, w, False) for j, lab in enumerate(seq)])
                pos += len(seq)
            chains_of[w] = chains
            first.append(chains[0][0])
            last.append(chains[0][-1])
            sil_states.append(add_state(silence, -1, -1, True))
            continue
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
        if w in chains_of:
            return [chain[0] for chain in chains_of[w]]
        return [e for slot in slots_of[w] for e in slot] if w in slots_of else [first[w]]

    def ends_of(w: int) -> list[int]:
        if w in chains_of:
            return [chain[-1] for chain in chains_of[w]]
        return slots_of[w][-1] if w in slots_of else [last[w]]

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
        elif w in chains_of:
            for chain in chains_of[w]:
                for e, d in zip(chain, chain[1:]):
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
    return Fsa.from_arcs(arcs, num_states=final + 1, aux={"token": tok, "word": wrd}).sorted_by_source()


def build_graphs(words: list[list[list[int]]], topology: str, num_classes: int,
                 transitions: Transitions | None = None, blank: int = 0) -> FsaVec:
    """Graphs for a batch of transcripts given as per-utterance lists of words of token ids.

    ``hmm`` uses ``blank`` as the silence state between words (and ``transitions``); the CTC
    topologies flatten the words and use ``blank`` as blank.
    """
    if topology == "hmm":
        return hmm_graph(words, silence=blank, transitions=transitions, num_classes=num_classes)
    if topology in ("ctc", "ctc-no-forced-blank"):
        flat = [[t for w in utt for t in ([w] if isinstance(w, (AnyLabels, Alternatives)) else w)] for utt in words]
        return ctc_graph(flat, blank=blank, forced_blank=topology == "ctc", num_classes=num_classes)
    raise ValueError(f"topology must be one of {TOPOLOGIES}, got {topology!r}")


def word_start_tokens(words: Sequence[Sequence[Sequence[int] | AnyLabels | Alternatives]]) -> list[list[int]]:
    """Per utterance, the ``token`` position of the first label of each word after the first (the
    positions :func:`build_graphs` gives, :func:`word_size` per word), for
    :func:`with_garbage`'s ``before_tokens``."""
    out = []
    for utt in words:
        sizes = [word_size(w) for w in utt]
        out.append([sum(sizes[:k]) for k in range(1, len(sizes))])
    return out


def with_garbage(graphs: FsaVec, garbage_label: int, before_tokens: Sequence[Sequence[int]] | None = None,
                 min_inner_frames: int = 1) -> FsaVec:
    """The graphs with optional garbage segments: untranscribed audio at the start, at the end and,
    with ``before_tokens``, before the given tokens (e.g. between words: a missing sentence).

    A garbage segment goes next to a blank/silence state ``z`` of :func:`ctc_graph` or
    :func:`hmm_graph` (the first one, the last one, and the one right before each token of
    ``before_tokens``): a chain of garbage states ``g_1 .. g_m`` (label ``garbage_label``, ``g_m``
    loops) and a copy ``z'`` of ``z``, so that a path may go ``z? g_1 .. g_m+ z'?`` where it went
    ``z?``: silence, at least ``m`` frames of untranscribed audio, silence. ``m`` is 1 at the start
    and end, ``min_inner_frames`` between tokens (so that a frame the model is unsure about between
    two words does not become untranscribed audio). ``g_1`` is entered from ``z`` and from wherever
    ``z`` is; ``g_m`` and ``z'`` leave to wherever ``z`` does (the final state included, with the
    same weights), ``z'`` loops with ``z``'s weight. Entering and staying on garbage carry weight 0:
    the garbage frames pay their penalty in the emission scores
    (:func:`fsttopo.inference.garbage.garbage_scores`). Paths without garbage are those of the
    input graph, with the same weights.

    The invariants of the module hold: the new states are numbered right after ``z`` (arcs still
    never go to a lower state, as :func:`fsttopo.align.expected_segments` needs), arcs stay sorted by
    source, the final arcs are labelled ``-1``. Arcs into garbage states carry ``-1`` in every
    attribute (``token``, ``word``), arcs into ``z'`` those of the arcs into ``z``.

    Args:
        graphs: ``B`` graphs of :func:`build_graphs` (or :func:`ctc_graph`, :func:`hmm_graph`).
        garbage_label: the emission column of the garbage label (usually ``V``, a column appended
            to the ``[B, T, V]`` scores).
        before_tokens: per utterance, ``token`` positions before which garbage may occur too
            (:func:`word_start_tokens`: between words); None: only at the start and end.
        min_inner_frames: fewest frames of garbage before a token of ``before_tokens`` (>= 1).

    Returns:
        FsaVec of ``B`` graphs with ``m + 1`` more states per garbage segment.
    """
    if garbage_label < 0:
        raise ValueError(f"garbage_label must be >= 0, got {garbage_label}")
    if isinstance(min_inner_frames, bool) or not isinstance(min_inner_frames, int) or min_inner_frames < 1:
        raise ValueError(f"min_inner_frames must be an integer >= 1, got {min_inner_frames!r}")
    if before_tokens is not None and len(before_tokens) != len(graphs):
        raise ValueError(f"before_tokens has {len(before_tokens)} entries for {len(graphs)} graphs")
    if "token" not in graphs.aux:
        raise ValueError("with_garbage needs graphs whose arcs carry 'token' (those of build_graphs)")
    fsas = []
    for b in range(len(graphs)):
        fsa = graphs[b]
        if bool((fsa.arcs[:, 2] == garbage_label).any()):
            raise ValueError(f"graph {b} already has arcs with the garbage label {garbage_label}")
        edges, inner = _garbage_sites(fsa, set(before_tokens[b]) if before_tokens is not None else set())
        fsas.append(_garbage_fsa(fsa, garbage_label, {**{z: min_inner_frames for z in inner},
                                                       **{z: 1 for z in edges}}))
    return FsaVec(fsas)


def _garbage_sites(fsa: Fsa, before: set[int]) -> tuple[set[int], set[int]]:
    """Blank/silence states next to which :func:`with_garbage` puts garbage: the first and the last
    emitting state, and each state with token ``-1`` between tokens ``< k`` and ``k`` for ``k`` in
    ``before`` (those two sets)."""
    src, dst = fsa.arcs[:, 0].tolist(), fsa.arcs[:, 1].tolist()
    token = fsa.aux["token"].tolist()
    final = fsa.final_state
    state_token = {d: t for d, t in zip(dst, token) if d != final}
    edges, inner = {1, final - 1}, set()
    if any(state_token.get(z, 0) != -1 for z in edges):
        raise ValueError("with_garbage needs graphs whose first and last emitting states are blank/silence "
                         "(those of build_graphs)")
    if before:
        preds: dict[int, set[int]] = {}
        succs: dict[int, set[int]] = {}
        for s, d in zip(src, dst):
            if s != d and d != final:
                preds.setdefault(d, set()).add(state_token.get(s, -1))
                succs.setdefault(s, set()).add(state_token[d])
        for z, t in state_token.items():
            if t == -1 and z not in edges and any(max(preds.get(z, {-1})) < k for k in succs.get(z, set()) & before):
                inner.add(z)
    return edges, inner


def _garbage_fsa(fsa: Fsa, garbage_label: int, sites: dict[int, int]) -> Fsa:
    """:func:`with_garbage` of one graph: ``sites`` maps each blank/silence state to its minimum
    number of garbage frames."""
    shift = torch.zeros(fsa.num_states, dtype=torch.int64)
    for z, m in sites.items():
        shift[z + 1:] += m + 1
    new_id = torch.arange(fsa.num_states) + shift
    src, dst, lab = fsa.arcs[:, 0], fsa.arcs[:, 1], fsa.arcs[:, 2]
    parts_arcs = [torch.stack([new_id[src], new_id[dst], lab], 1)]
    parts_scores = [fsa.scores.detach()]
    parts_aux = {k: [v] for k, v in fsa.aux.items()}

    def add(a: torch.Tensor, scores: torch.Tensor, aux: dict[str, torch.Tensor] | None = None) -> None:
        parts_arcs.append(a)
        parts_scores.append(scores.to(fsa.scores.dtype))
        for k in parts_aux:
            parts_aux[k].append(aux[k] if aux is not None else torch.full((len(a),), -1, dtype=torch.int64))

    for z, m in sorted(sites.items()):
        first, last, z2 = int(new_id[z]) + 1, int(new_id[z]) + m, int(new_id[z]) + m + 1
        into = torch.nonzero((dst == z) & (src != z)).flatten()   # arcs p -> z
        loop = int(torch.nonzero((dst == z) & (src == z)).flatten()[0])  # z -> z
        out = torch.nonzero((src == z) & (dst != z)).flatten()    # z -> d
        chain = torch.arange(first, last + 1)
        garbage_src = torch.cat([new_id[src[into]], torch.tensor([new_id[z]]), chain])  # p, z, g_1 .. g_m
        garbage_dst = torch.cat([torch.full((len(into) + 1,), first), chain[1:], torch.tensor([last])])
        add(torch.stack([garbage_src, garbage_dst, torch.full_like(garbage_src, garbage_label)], 1),
            torch.zeros(len(garbage_src)))                        # into g_1, g_i -> g_i+1, g_m -> g_m
        add(torch.tensor([[last, z2, int(lab[loop])], [z2, z2, int(lab[loop])]]),
            torch.stack([torch.zeros(()), fsa.scores[loop].detach()]),
            {k: v[loop].repeat(2) for k, v in fsa.aux.items()})    # g_m -> z', z' -> z'
        for copy_src in (last, z2):                               # g_m -> d, z' -> d
            add(torch.stack([torch.full((len(out),), copy_src), new_id[dst[out]], lab[out]], 1),
                fsa.scores[out].detach(), {k: v[out] for k, v in fsa.aux.items()})
    num_states = fsa.num_states + sum(m + 1 for m in sites.values())
    return Fsa(torch.cat(parts_arcs), torch.cat(parts_scores), num_states,
               {k: torch.cat(v) for k, v in parts_aux.items()}).sorted_by_source()
