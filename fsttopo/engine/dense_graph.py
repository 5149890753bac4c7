"""Compile an :class:`~fsttopo.fsa.FsaVec` into padded per-state arc tables for the recursions.

The engine never looks at topologies: it sees, for every state, its incoming frame-consuming arcs
(``in_*``, ``[B, N, M]`` with ``M`` the largest in-degree), its leaving frame-consuming arcs
(``out_*``, ``[B, N, K]``) for the backward recursion, and the arcs into the final state
(``final_*``, ``[B, F]``). Padding slots point at state 0 / label 0 and are masked out.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..fsa import FsaVec

__all__ = ["DenseGraph", "compile_graph"]


@dataclass
class DenseGraph:
    num_states: int          # N: largest number of states in the batch (padded)
    in_src: torch.Tensor     # [B, N, M] int64, source state of each incoming arc
    in_label: torch.Tensor   # [B, N, M] int64, label of each incoming arc
    in_arc: torch.Tensor     # [B, N, M] int64, global arc index into FsaVec.arcs, -1 for padding
    out_slot: torch.Tensor   # [B, N, K] int64, flat in-table slot (dst * M + m) of each leaving arc
    out_dst: torch.Tensor    # [B, N, K] int64, destination state of each leaving arc
    out_mask: torch.Tensor   # [B, N, K] bool
    final_src: torch.Tensor  # [B, F] int64, source state of each arc into the final state
    final_arc: torch.Tensor  # [B, F] int64, global arc index, -1 for padding
    max_label: int           # largest frame-consuming label (-1 when none)

    @property
    def in_mask(self) -> torch.Tensor:
        return self.in_arc >= 0

    @property
    def final_mask(self) -> torch.Tensor:
        return self.final_arc >= 0


def _ranks(keys: torch.Tensor, num_keys: int) -> tuple[torch.Tensor, int]:
    """Rank of each element among the elements with the same key (stable), and the largest count."""
    if keys.numel() == 0:
        return keys.clone(), 1
    order = torch.argsort(keys, stable=True)
    counts = torch.bincount(keys, minlength=num_keys)
    starts = counts.cumsum(0) - counts
    ranks = torch.empty_like(keys).scatter_(0, order, torch.arange(keys.numel()) - starts[keys[order]])
    return ranks, max(int(counts.max()), 1)


def _table(shape: tuple[int, ...], fill, dtype: torch.dtype, flat_index: torch.Tensor,
           values: torch.Tensor) -> torch.Tensor:
    """A ``shape`` tensor filled with ``fill`` and ``values`` written at ``flat_index``.

    ``scatter_`` rather than advanced-index assignment: the latter is orders of magnitude slower
    on a busy multi-core CPU (parallel index_put contends for threads).
    """
    out = torch.full((int(torch.tensor(shape).prod()),), fill, dtype=dtype)
    return out.scatter_(0, flat_index, values.to(dtype)).view(shape)


def compile_graph(graphs: FsaVec, device: torch.device) -> DenseGraph:
    """Padded arc tables of ``graphs`` on ``device`` (cached on the FsaVec per device)."""
    key = str(device)
    cached = graphs._compiled.get(key)
    if cached is not None:
        return cached
    B = len(graphs)
    N = int(graphs.num_states.max())
    arcs = graphs.arcs
    batch = graphs.arc_batch
    src, dst, lab = arcs.unbind(1)
    arc_ids = torch.arange(arcs.shape[0])

    emit = lab >= 0
    e_b, e_src, e_dst, e_lab, e_id = batch[emit], src[emit], dst[emit], lab[emit], arc_ids[emit]
    m, M = _ranks(e_b * N + e_dst, B * N)
    at = (e_b * N + e_dst) * M + m
    in_src = _table((B, N, M), 0, torch.int64, at, e_src)
    in_label = _table((B, N, M), 0, torch.int64, at, e_lab)
    in_arc = _table((B, N, M), -1, torch.int64, at, e_id)

    k, K = _ranks(e_b * N + e_src, B * N)
    at = (e_b * N + e_src) * K + k
    out_slot = _table((B, N, K), 0, torch.int64, at, e_dst * M + m)
    out_dst = _table((B, N, K), 0, torch.int64, at, e_dst)
    out_mask = _table((B, N, K), False, torch.bool, at, torch.ones_like(e_dst))

    fin = ~emit
    f_b = batch[fin]
    f, F = _ranks(f_b, B)
    at = f_b * F + f
    final_src = _table((B, F), 0, torch.int64, at, src[fin])
    final_arc = _table((B, F), -1, torch.int64, at, arc_ids[fin])

    dense = DenseGraph(
        num_states=N,
        in_src=in_src.to(device),
        in_label=in_label.to(device),
        in_arc=in_arc.to(device),
        out_slot=out_slot.to(device),
        out_dst=out_dst.to(device),
        out_mask=out_mask.to(device),
        final_src=final_src.to(device),
        final_arc=final_arc.to(device),
        max_label=int(e_lab.max()) if e_lab.numel() else -1,
    )
    graphs._compiled[key] = dense
    return dense
