"""The graph builders of fsttopo before they were vectorized, kept as the references the vectorized
ones are tested equal to (tests/test_graph_builders.py)."""

from __future__ import annotations

from typing import Sequence

from fsttopo.fsa import Fsa, FsaVec
from fsttopo.topology import AnyLabels, _check_labels, _check_special


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
