"""Finite-state acceptors in k2's conventions: :class:`Fsa` (one graph) and :class:`FsaVec` (a batch).

Conventions (the same as k2's):

- states are numbered ``0 .. N-1``; state 0 is the start state and state ``N-1`` the single final
  state;
- an arc is ``(src, dst, label, score)``; every arc into the final state has label ``-1`` and no
  other arc has a negative label; the final state has no leaving arcs;
- scores are log-domain weights (``float``). They carry only the *transition* part of a path's
  weight; the emission part comes from the per-frame log-probabilities indexed by the arc label, so
  posterior, prior and transition scales can be applied at run time (see :mod:`fsttopo.engine`).

Per-arc integer attributes (k2 calls them tensor attributes, e.g. ``aux_labels``) live in
``Fsa.aux``; the topology builders set ``token`` (position of the emitted token in the transcript,
``-1`` for blank/silence/final arcs) and, for word-level graphs, ``word``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import torch

__all__ = ["Fsa", "FsaVec", "k2_available"]


def k2_available() -> bool:
    """True when the optional ``k2`` package can be imported."""
    try:
        import k2  # noqa: F401
    except Exception:  # k2 wheels often fail with undefined symbols, not only ImportError
        return False
    return True


@dataclass
class Fsa:
    """One acceptor.

    Attributes:
        arcs: ``[A, 3]`` int64 tensor of ``(src, dst, label)``.
        scores: ``[A]`` floating tensor of log-domain arc weights; may require grad.
        aux: per-arc int64 attributes, each ``[A]``.
        num_states: number of states ``N``; the final state is ``N - 1``.
    """

    arcs: torch.Tensor
    scores: torch.Tensor
    num_states: int
    aux: dict[str, torch.Tensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.arcs = torch.as_tensor(self.arcs, dtype=torch.int64)
        if not torch.is_tensor(self.scores) or not self.scores.is_floating_point():
            self.scores = torch.as_tensor(self.scores, dtype=torch.float32)
        self.aux = {k: torch.as_tensor(v, dtype=torch.int64) for k, v in self.aux.items()}
        _check_fsa(self.arcs, self.scores, self.num_states, self.aux)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arcs(
        cls,
        arcs: Sequence[tuple[int, int, int, float]],
        num_states: int | None = None,
        aux: Mapping[str, Sequence[int]] | None = None,
    ) -> "Fsa":
        """Build from a list of ``(src, dst, label, score)`` tuples."""
        if len(arcs) == 0:
            raise ValueError("an Fsa needs at least one arc (into the final state)")
        ints = torch.tensor([a[:3] for a in arcs], dtype=torch.int64)
        scores = torch.tensor([float(a[3]) for a in arcs], dtype=torch.float32)
        n = int(ints[:, :2].max()) + 1 if num_states is None else num_states
        return cls(ints, scores, n, {k: torch.tensor(list(v)) for k, v in (aux or {}).items()})

    @classmethod
    def from_str(cls, text: str) -> "Fsa":
        """Parse k2's acceptor text format: ``src dst label score`` per arc, last line the final state."""
        lines = [ln.split() for ln in text.strip().splitlines() if ln.strip()]
        if not lines or len(lines[-1]) != 1:
            raise ValueError("k2 text format: the last line must hold the final state id alone")
        final = int(lines[-1][0])
        arcs = []
        for i, parts in enumerate(lines[:-1]):
            if len(parts) not in (3, 4):
                raise ValueError(f"k2 text format, line {i + 1}: expected 'src dst label [score]', got {parts}")
            score = float(parts[3]) if len(parts) == 4 else 0.0
            arcs.append((int(parts[0]), int(parts[1]), int(parts[2]), score))
        return cls.from_arcs(arcs, num_states=final + 1)

    # ------------------------------------------------------------------ views
    @property
    def num_arcs(self) -> int:
        return int(self.arcs.shape[0])

    @property
    def final_state(self) -> int:
        return self.num_states - 1

    def to_str(self) -> str:
        """k2's acceptor text format (what ``k2.Fsa.from_str`` reads)."""
        rows = [
            f"{s} {d} {l} {_fmt(w)}"
            for (s, d, l), w in zip(self.arcs.tolist(), self.scores.detach().double().tolist())
        ]
        return "\n".join(rows + [str(self.final_state)]) + "\n"

    def to_dot(
        self,
        symbols: Mapping[int, str] | None = None,
        title: str | None = None,
        show_scores: bool = True,
        rankdir: str = "LR",
    ) -> str:
        """Graphviz DOT source; ``symbols`` maps label ids to names (e.g. ``{0: "<b>", 1: "f"}``).

        Render with ``dot -Tpdf graph.dot -o graph.pdf``.
        """
        out = ["digraph FSA {", f"  rankdir = {rankdir};"]
        if title:
            out.append(f'  label = "{_dot_escape(title)}"; labelloc = "t";')
        out.append("  node [shape = circle];")
        out.append(f"  {self.final_state} [shape = doublecircle];")
        out.append("  0 [style = bold];")
        for (s, d, lab), w in zip(self.arcs.tolist(), self.scores.detach().double().tolist()):
            name = "-1" if lab == -1 else (symbols.get(lab, str(lab)) if symbols else str(lab))
            text = f"{name}/{_fmt(w)}" if show_scores and w != 0.0 else name
            out.append(f'  {s} -> {d} [label = "{_dot_escape(text)}"];')
        out.append("}")
        return "\n".join(out) + "\n"

    def sorted_by_source(self) -> "Fsa":
        """The same Fsa with its arcs stably sorted by source state (k2 stores arcs that way)."""
        order = torch.argsort(self.arcs[:, 0], stable=True)
        return Fsa(self.arcs[order], self.scores[order], self.num_states,
                   {k: v[order] for k, v in self.aux.items()})

    def to(self, device: torch.device | str) -> "Fsa":
        return Fsa(self.arcs.to(device), self.scores.to(device), self.num_states,
                   {k: v.to(device) for k, v in self.aux.items()})

    # ------------------------------------------------------------------ k2 interop
    def to_k2(self):
        """Convert to a ``k2.Fsa`` (scores and ``aux`` attributes carried over; arcs sorted by
        source state as k2 requires). Needs k2."""
        import k2

        ordered = self.sorted_by_source()
        fsa = k2.Fsa.from_str(ordered.to_str(), acceptor=True)
        fsa.scores = ordered.scores.detach().clone().to(torch.float32)
        for name, value in ordered.aux.items():
            setattr(fsa, name, value.to(torch.int32))
        return fsa

    @classmethod
    def from_k2(cls, fsa) -> "Fsa":
        """Build from a single ``k2.Fsa`` (integer tensor attributes are copied into ``aux``)."""
        values = fsa.arcs.values()
        arcs = values[:, :3].to(torch.int64).cpu()
        aux = {}
        for name, value in fsa.named_tensor_attr(include_scores=False):
            if torch.is_tensor(value) and not value.is_floating_point() and value.shape[0] == arcs.shape[0]:
                aux[name] = value.to(torch.int64).cpu()
        num_states = int(fsa.shape[0])
        return cls(arcs, fsa.scores.detach().cpu().clone(), num_states, aux)


class FsaVec:
    """A batch of :class:`Fsa` stored flat, like ``k2.FsaVec``.

    Attributes:
        arcs: ``[A_total, 3]`` int64 ``(src, dst, label)``; state ids are local to each FSA.
        scores: ``[A_total]`` floating log weights (set ``requires_grad`` to learn them).
        aux: per-arc int64 attributes, each ``[A_total]``.
        arc_splits: ``[B + 1]`` int64; FSA ``b`` owns arcs ``arc_splits[b]:arc_splits[b+1]``.
        num_states: ``[B]`` int64.
    """

    def __init__(self, fsas: Iterable[Fsa]):
        fsas = list(fsas)
        if not fsas:
            raise ValueError("an FsaVec needs at least one Fsa")
        names = set(fsas[0].aux)
        if any(set(f.aux) != names for f in fsas):
            raise ValueError("all FSAs of an FsaVec must carry the same aux attributes")
        self._set(torch.cat([f.arcs for f in fsas]), torch.cat([f.scores for f in fsas]),
                  {k: torch.cat([f.aux[k] for f in fsas]) for k in sorted(names)},
                  torch.tensor([f.num_arcs for f in fsas], dtype=torch.int64),
                  torch.tensor([f.num_states for f in fsas], dtype=torch.int64))

    def _set(self, arcs: torch.Tensor, scores: torch.Tensor, aux: dict[str, torch.Tensor], arc_counts: torch.Tensor,
             num_states: torch.Tensor) -> None:
        self.arcs = arcs
        self.scores = scores
        self.aux = aux
        self.arc_splits = torch.cat([torch.zeros(1, dtype=torch.int64), arc_counts.cumsum(0)])
        self.num_states = num_states
        self._compiled: dict = {}

    @classmethod
    def from_tensors(cls, arcs: torch.Tensor, scores: torch.Tensor, aux: dict[str, torch.Tensor],
                     arc_counts: torch.Tensor, num_states: torch.Tensor) -> "FsaVec":
        """A batch from its flat tensors (the attributes above; ``arc_counts`` ``[B]`` int64 arcs per
        FSA, in order) as a vectorized graph builder makes them. Unlike :class:`Fsa` they are not
        checked: the builder guarantees a valid layout (its tests compare it with per-FSA builds)."""
        out = cls.__new__(cls)
        out._set(arcs, scores, {k: aux[k] for k in sorted(aux)}, arc_counts, num_states)
        return out

    def __len__(self) -> int:
        return int(self.num_states.shape[0])

    def __getitem__(self, b: int) -> Fsa:
        if not -len(self) <= b < len(self):
            raise IndexError(f"FsaVec index {b} out of range for batch of {len(self)}")
        b = b % len(self)
        lo, hi = int(self.arc_splits[b]), int(self.arc_splits[b + 1])
        return Fsa(self.arcs[lo:hi], self.scores[lo:hi], int(self.num_states[b]),
                   {k: v[lo:hi] for k, v in self.aux.items()})

    def __iter__(self):
        return (self[b] for b in range(len(self)))

    @property
    def arc_batch(self) -> torch.Tensor:
        """``[A_total]`` int64: index of the FSA each arc belongs to."""
        return torch.repeat_interleave(
            torch.arange(len(self)), self.arc_splits[1:] - self.arc_splits[:-1]
        )

    def to_str(self) -> str:
        return "\n".join(f.to_str() for f in self)

    def to_k2(self):
        """Convert to a ``k2.FsaVec``. Needs k2."""
        import k2

        return k2.create_fsa_vec([f.to_k2() for f in self])

    @classmethod
    def from_k2(cls, fsa_vec) -> "FsaVec":
        """Build from a ``k2.FsaVec``."""
        return cls(Fsa.from_k2(fsa_vec[i]) for i in range(fsa_vec.shape[0]))

    def __repr__(self) -> str:
        return f"FsaVec(batch={len(self)}, arcs={self.arcs.shape[0]}, states={self.num_states.tolist()})"


def _check_fsa(arcs: torch.Tensor, scores: torch.Tensor, num_states: int, aux: dict) -> None:
    if arcs.ndim != 2 or arcs.shape[1] != 3:
        raise ValueError(f"arcs must have shape [A, 3] (src, dst, label), got {tuple(arcs.shape)}")
    if scores.shape != (arcs.shape[0],):
        raise ValueError(f"scores must have shape [{arcs.shape[0]}], got {tuple(scores.shape)}")
    for name, value in aux.items():
        if value.shape != (arcs.shape[0],):
            raise ValueError(f"aux attribute {name!r} must have shape [{arcs.shape[0]}], got {tuple(value.shape)}")
    if num_states < 2:
        raise ValueError(f"an Fsa needs a start and a final state, got num_states={num_states}")
    src, dst, lab = arcs.unbind(1)
    final = num_states - 1
    if arcs.numel() and (int(arcs[:, :2].min()) < 0 or int(arcs[:, :2].max()) > final):
        raise ValueError(f"arc states must lie in [0, {final}]")
    if bool((src == final).any()):
        raise ValueError(f"the final state {final} must have no leaving arcs")
    into_final = dst == final
    if bool((lab[into_final] != -1).any()):
        raise ValueError("arcs into the final state must carry label -1 (k2 convention)")
    if bool((lab[~into_final] < 0).any()):
        raise ValueError("only arcs into the final state may carry a negative label")
    if not bool(into_final.any()):
        raise ValueError("the Fsa has no arc into its final state")
    if bool(torch.isnan(scores.detach()).any()):
        raise ValueError("arc scores contain NaN")


def _fmt(w: float) -> str:
    return f"{w:.6g}"


def _dot_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')
