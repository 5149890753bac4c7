"""Turn a best path (or state posteriors) into segments: one per token (or word) occurrence, in frames."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..engine.intersect import NoPathError, ViterbiResult
from ..fsa import FsaVec

__all__ = ["Segment", "path_segments", "expected_segments", "group_segments"]


@dataclass(frozen=True)
class Segment:
    """A token or word occupying frames ``start <= t < end`` (end exclusive; frames, not seconds).

    Boundaries are frame indices, whole for a path (:func:`path_segments`) and fractional for
    posterior expectations (:func:`expected_segments`).

    Attributes:
        index: position of the token (or word) in the utterance's transcript, 0-based.
        label: label id of the token (for words: of the word's first token).
        start: first frame.
        end: one past the last frame.
        start_sd, end_sd: standard deviation of ``start`` / ``end`` under the posterior over all
            paths (frames; :func:`expected_segments`), ``None`` where there is no posterior (a path).
    """

    index: int
    label: int
    start: float
    end: float
    start_sd: float | None = None
    end_sd: float | None = None

    @property
    def num_frames(self) -> float:
        return self.end - self.start

    def to_seconds(self, frame_shift: float) -> tuple[float, float]:
        """``(start, end)`` in seconds for a frame shift in seconds (e.g. 0.04)."""
        return self.start * frame_shift, self.end * frame_shift


def path_segments(result: ViterbiResult, graphs: FsaVec, level: str = "token") -> list[list[Segment]]:
    """Group the frames of each best path by the arc attribute ``level`` (``"token"`` or ``"word"``).

    Frames whose arc has attribute ``-1`` (blank, silence) belong to no segment. Consecutive frames
    with the same index form one segment, so two equal tokens that follow each other directly
    (CTC without forced blank) still give two segments.

    Args:
        result: output of :func:`fsttopo.viterbi` for ``graphs``.
        graphs: the graphs passed to :func:`fsttopo.viterbi`.
        level: name of a per-arc attribute in ``graphs.aux``.

    Returns:
        Per utterance, its segments in time order.
    """
    if level not in graphs.aux:
        raise ValueError(f"graphs carry no per-arc attribute {level!r}; available: {sorted(graphs.aux)}")
    arcs = result.arcs
    idx = torch.where(arcs >= 0, graphs.aux[level][arcs.clamp(min=0)], -1)
    # first label of each word: the label of its first frame on the path
    out: list[list[Segment]] = []
    for b in range(arcs.shape[0]):
        row = idx[b, : int(result.lengths[b])]
        labs = result.labels[b]
        if row.numel() == 0:
            out.append([])
            continue
        change = torch.ones_like(row, dtype=torch.bool)
        change[1:] = row[1:] != row[:-1]
        starts = torch.nonzero(change).flatten()
        ends = torch.cat([starts[1:], torch.tensor([row.numel()])])
        out.append([
            Segment(int(row[s]), int(labs[s]), int(s), int(e))
            for s, e in zip(starts.tolist(), ends.tolist()) if int(row[s]) >= 0
        ])
    return out


def expected_segments(occupancy: torch.Tensor, graphs: FsaVec, level: str = "token") -> list[list[Segment]]:
    """Segments whose boundaries are their expectations under the posterior over all paths.

    On a graph whose arcs never go back to a lower state id (every graph of
    :mod:`fsttopo.topology`), the frames before a segment are exactly the frames spent in states
    below its first state, so its expected start is the expected number of such frames, and its
    expected end the expected number of frames in states up to its last one. Unlike a best path,
    this resolves a boundary between frames when the model is unsure on which side of it a frame
    lies.

    Args:
        occupancy: ``[B, T, N]`` state posteriors (:func:`fsttopo.engine.state_posteriors`).
        graphs: the graphs ``occupancy`` was computed on.
        level: per-arc attribute in ``graphs.aux`` that numbers the segments (``"token"`` or
            ``"word"``); each index must occupy consecutive states, in increasing order.

    The boundary's spread comes the same way: the number ``X`` of frames in states up to ``n`` is
    above ``t`` exactly when frame ``t`` is in such a state, so ``P(X > t)`` is that frame's
    occupancy of those states, ``E[X] = sum_t P(X > t)`` and ``E[X^2] = sum_t (2t + 1) P(X > t)``.
    ``start_sd`` and ``end_sd`` are its standard deviations: how unsure the model is where the
    boundary lies (a boundary with a wide spread is more often far off: docs/alignment.md).

    Returns:
        Per utterance, one :class:`Segment` per index in index order, with fractional ``start``
        and ``end`` (frames) and their spreads ``start_sd`` and ``end_sd`` (frames). ``label`` is
        the label of the arcs into the segment's first state.

    Raises:
        ValueError: for an utterance whose posteriors are all zero (no path fits its frames).
    """
    if level not in graphs.aux:
        raise ValueError(f"graphs carry no per-arc attribute {level!r}; available: {sorted(graphs.aux)}")
    if occupancy.ndim != 3 or occupancy.shape[0] != len(graphs):
        raise ValueError(f"occupancy must have shape [B={len(graphs)}, T, N], got {tuple(occupancy.shape)}")
    occ = occupancy.detach().cpu().double()
    empty = torch.nonzero(occ.sum((1, 2)) == 0).flatten().tolist()
    if empty:  # state_posteriors gives zeros where no path fits: segments would be silently wrong
        raise NoPathError(empty, f"no path through the graph of utterance(s) {empty} in their number of frames "
                                 "(all-zero state posteriors): e.g. more labels than frames")
    # each valid frame's posteriors sum to 1 up to rounding, which would add up over the frames
    per_frame = occ.sum(2, keepdim=True)
    occ = occ / torch.where(per_frame > 0, per_frame, torch.ones_like(per_frame))
    frames_upto = occ.sum(1).cumsum(1)  # [B, N]: expected number of frames in states <= n
    odd = 2.0 * torch.arange(occ.shape[1], dtype=occ.dtype) + 1.0
    second_upto = (occ * odd[None, :, None]).sum(1).cumsum(1)  # [B, N]: E[X^2] for states <= n
    sd_upto = (second_upto - frames_upto * frames_upto).clamp(min=0.0).sqrt()
    out: list[list[Segment]] = []
    for b in range(len(graphs)):
        fsa = graphs[b]
        src, dst, label = fsa.arcs[:, 0], fsa.arcs[:, 1], fsa.arcs[:, 2]
        if fsa.num_states > occupancy.shape[2]:
            raise ValueError(f"graph {b} has {fsa.num_states} states, occupancy only {occupancy.shape[2]}")
        if bool((dst < src).any()):
            raise ValueError(f"graph {b} has arcs to lower state ids: expected segments need a left-to-right graph")
        index = fsa.aux[level]
        emitting = (index >= 0) & (label >= 0)
        idx, states, labels = index[emitting], dst[emitting], label[emitting]
        if idx.numel() == 0:
            out.append([])
            continue
        num = int(idx.max()) + 1
        first = torch.full((num,), fsa.num_states, dtype=torch.int64).scatter_reduce(0, idx, states, "amin")
        last = torch.full((num,), -1, dtype=torch.int64).scatter_reduce(0, idx, states, "amax")
        if bool((last < 0).any()) or bool((first[1:] <= last[:-1]).any()):
            raise ValueError(f"graph {b}: the states of each {level} index must follow those of the previous one")
        into_first = states == first[idx]
        first_label = torch.zeros(num, dtype=torch.int64).scatter_(0, idx[into_first], labels[into_first])
        upto, sd = frames_upto[b], sd_upto[b]
        before = (first - 1).clamp(min=0)
        zero = torch.zeros((), dtype=upto.dtype)
        starts = torch.where(first > 0, upto[before], zero)
        start_sds = torch.where(first > 0, sd[before], zero)
        out.append([Segment(k, lab, start, end, start_sd, end_sd) for k, (lab, start, end, start_sd, end_sd) in
                    enumerate(zip(first_label.tolist(), starts.tolist(), upto[last].tolist(), start_sds.tolist(),
                                  sd[last].tolist()))])
    return out


def group_segments(token_segments: list[Segment], group_sizes: list[int]) -> list[Segment]:
    """Merge token segments into word segments, for graphs without a ``word`` attribute (CTC).

    Args:
        token_segments: one utterance's token segments from :func:`path_segments` (``index`` =
            token position; a token may have several segments).
        group_sizes: number of tokens of each word, in order.

    Returns:
        One :class:`Segment` per word: ``index`` = word position, ``label`` = label of its first
        segment, from the first frame of its tokens to one past the last (blank frames inside a
        word belong to the word).
    """
    if any(n <= 0 for n in group_sizes):
        raise ValueError(f"group sizes must be positive, got {group_sizes}")
    num_tokens = max((s.index for s in token_segments), default=-1) + 1
    if num_tokens != sum(group_sizes):
        raise ValueError(f"group sizes {group_sizes} do not match the {num_tokens} tokens of the segments")
    out, first = [], 0
    for w, n in enumerate(group_sizes):
        mine = [s for s in token_segments if first <= s.index < first + n]
        if not mine:
            raise ValueError(f"no segment for tokens {first}..{first + n - 1} (word {w}): group sizes "
                             f"{group_sizes} do not match the token segments")
        start = min(mine, key=lambda s: s.start)
        end = max(mine, key=lambda s: s.end)
        out.append(Segment(w, start.label, start.start, end.end, start.start_sd, end.end_sd))
        first += n
    return out
