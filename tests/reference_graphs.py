"""The graph builders of fsttopo before they were vectorized, kept as the references the vectorized
ones are tested equal to (tests/test_graph_builders.py)."""

from __future__ import annotations

from typing import Sequence

from fsttopo.fsa import Fsa, FsaVec
from fsttopo.topology import AnyLabels, Transitions, _check_labels, _check_special


def loop_ctc_graph(
    targets: Sequence[Sequence[int | AnyLabels]],
    blank: int = 0,
    forced_blank: bool = True,
    num_classes: int | None = None,
) -> FsaVec:
    """The per-state CTC builder fsttopo.ctc_graph replaced (the reference its vectorized build is tested against)."""
    _check_special(blank, "blank", num_classes)
    fsas = []
    for b, seq in enumerate(targets):
        seq = list(seq)
        _check_labels([x for x in seq if not isinstance(x, AnyLabels)], f"targets[{b}]", blank, "blank",
                      num_classes)
        for x in seq:
            if isinstance(x, AnyLabels):
                _check_labels(list(x.labels), f"targets[{b}]", blank, "blank", num_classes)
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
        for j, x in enumerate(seq):
            if isinstance(x, AnyLabels):
                slots = [[add(int(lab), j) for lab in x.labels]]
                for _ in range(1, x.max_labels):
                    inner = add(blank, -1)
                    slot = [add(int(lab), j) for lab in x.labels]
                    for e in slots[-1]:
                        out[e].append(inner)
                    out[inner].extend(slot)
                    link(slots[-1], slot)
                    slots.append(slot)
                entries.append([e for slot in slots for e in slot])
                exits.append(slots[-1])
            else:
                state = add(int(x), j)
                entries.append([state])
                exits.append([state])
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
        fsas.append(Fsa.from_arcs(arcs, num_states=final + 1, aux={"token": tok}).sorted_by_source())
    return FsaVec(fsas)


def loop_hmm_graph(
    words: Sequence[Sequence[Sequence[int]]],
    silence: int,
    transitions: Transitions | None = None,
    num_classes: int | None = None,
) -> FsaVec:
    """The per-state HMM builder fsttopo.hmm_graph replaced (the reference its vectorized build is tested against)."""
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
            return [e for slot in slots_of[w] for e in slot] if w in slots_of else [first[w]]

        def ends_of(w: int) -> list[int]:
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
