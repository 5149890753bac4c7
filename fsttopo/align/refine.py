"""Boundary refinement below the model frame: move aligned boundaries to a boundary detector's peak.

Any aligner places a boundary at ``a`` seconds (on its model-frame grid, or between frames for the
posterior method); the boundary detector (:class:`fsttopo.models.boundary.BoundaryDetector`) gives
per 10 ms feature frame a logit ``l(t)``. Within ``|t - a| <= window`` the refined boundary takes::

    score(t) = l(t) / temperature + log N(t; a, sigma) / temperature

``mode="soft"``: the soft-argmax ``a + E_p[t] - E_q[t]`` with ``p = softmax(score)`` and ``q`` the
same softmax with flat logits, so that flat logits leave ``a`` exactly where it was (``E_q[t]``
differs from ``a`` only by the window's truncation to whole frames). Differentiable w.r.t. the
logits and ``a`` (composes with :func:`fsttopo.align.soft_dp_align`'s expected boundaries).

``mode="hard"``: the argmax frame ``k`` plus the vertex of the parabola through ``score(k - 1),
score(k), score(k + 1)`` (within half a frame), a sub-frame position.

**Pause edges.** A word start after a pause (or at the utterance start) and a word end before a
pause (or at the utterance end) can get their own ``pause_window`` and ``pause_sigma``, and then
move *into* the pause (at most the pause's length; a negative offset moves it into the word) by an
offset that depends on the utterance's dynamic range
(:func:`fsttopo.data.features.dynamic_range_db`): the faint decays at pauses are what noise hides,
so aligners put word ends before pauses early in noisy audio, by more the noisier it is
(docs/boundaries.md, "Pause edges"); the offset is added after the search, since what the
detector sees of a masked decay is its audible part. The offsets are a table over dynamic-range knots, fitted on
dev copies through the training augmentation and interpolated linearly between the knots. A pause
is a gap between the aligned words.

**Reverberant onsets.** A room's reverberant tail runs on into the next sound, so aligners put
word onsets late in reverberant audio (the robust model: word junctions 35 ms late at RT60
0.5 s), and not the ends of words before pauses, which the tail only prolongs. Every word start
and every junction (not a word end before a pause) can therefore move by an onset shift that
depends on the utterance's decay asymmetry (:func:`fsttopo.data.features.decay_asymmetry`: about
1 for dry speech with or without noise, 2-4 under reverberation), a table over asymmetry knots
fitted on the augmented dev copies, interpolated linearly and added after the search.

Refined boundaries then keep the words' order (:func:`enforce_order`): every boundary at or after
the previous one and every word at least ``min_word`` seconds long. Frames and seconds map by
:func:`~fsttopo.models.boundary.seconds_to_frames`. Everything is vectorized over boundaries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import torch

from ..criteria.boundary import check_boundary_shapes
from ..data.alignment import TimedToken, UtteranceAlignment
from ..data.features import FEATURE_SHIFT, decay_asymmetry, dynamic_range_db
from ..models.boundary import (BoundaryDetector, detector_from_dict, detector_to_dict, frames_to_seconds,
                               seconds_to_frames)

__all__ = ["REFINE_MODES", "RefineOptions", "refine_times", "enforce_order", "word_boundaries", "pause_edges",
           "refine_word_times", "refine_alignments", "move_word_boundaries", "speech_span", "BoundaryRefiner"]

REFINE_MODES = ("soft", "hard")


@dataclass(frozen=True)
class RefineOptions:
    """Refinement settings (tuned on a dev set).

    Attributes:
        window: seconds on each side of the aligned boundary that the refined one may move.
        sigma: seconds, standard deviation of the Gaussian prior around the aligned boundary.
        mode: ``"soft"`` or ``"hard"`` (module docstring).
        temperature: divides the scores before the softmax (``soft``; < 1 is closer to the argmax).
        min_word: seconds, the shortest a refined word may be (one feature frame).
        shift: seconds added to every refined boundary (a latency calibrated on dev, at most 50 ms).
        pause_window, pause_sigma: ``window`` and ``sigma`` of the pause edges (module docstring);
            ``None``: the same as the others.
        pause_knots_db: increasing dynamic ranges (dB) at which the pause offsets are given.
        pause_start_offsets, pause_end_offsets: seconds in [-0.05, 0.2], one per knot: how far a
            refined word start after a pause / word end before a pause moves into the pause (at most
            the pause's length), at that dynamic range.
        reverb_knots: increasing decay asymmetries at which the onset shifts are given.
        reverb_onset_shifts: seconds in [-0.1, 0.05], one per knot, added to every refined word
            start and junction (not to word ends before pauses) at that decay asymmetry (module
            docstring); constant beyond the outer knots.
    """

    window: float = 0.03
    sigma: float = 0.02
    mode: str = "soft"
    temperature: float = 1.0
    min_word: float = FEATURE_SHIFT
    shift: float = 0.0
    pause_window: float | None = None
    pause_sigma: float | None = None
    pause_knots_db: tuple[float, ...] = (0.0,)
    pause_start_offsets: tuple[float, ...] = (0.0,)
    pause_end_offsets: tuple[float, ...] = (0.0,)
    reverb_knots: tuple[float, ...] = (1.0,)
    reverb_onset_shifts: tuple[float, ...] = (0.0,)

    def __post_init__(self) -> None:
        if isinstance(self.shift, bool) or not isinstance(self.shift, (int, float)) or not abs(self.shift) <= 0.05:
            raise ValueError(f"refinement shift must be a number of seconds in [-0.05, 0.05], got {self.shift!r}")
        for name in ("pause_knots_db", "pause_start_offsets", "pause_end_offsets", "reverb_knots",
                     "reverb_onset_shifts"):
            value = getattr(self, name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = (value,)
            value = tuple(value)
            if not value or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
                                for v in value):
                raise ValueError(f"refinement {name} must be a non-empty sequence of finite numbers, got {value!r}")
            object.__setattr__(self, name, tuple(float(v) for v in value))
        for name in ("pause_knots_db", "reverb_knots"):
            knots = getattr(self, name)
            if any(b <= a for a, b in zip(knots, knots[1:])):
                raise ValueError(f"refinement {name} must increase, got {knots}")
        if len(self.reverb_onset_shifts) != len(self.reverb_knots) or not all(
                -0.1 <= v <= 0.05 for v in self.reverb_onset_shifts):
            raise ValueError(f"refinement reverb_onset_shifts must be {len(self.reverb_knots)} seconds in [-0.1, 0.05] "
                             f"(one per reverb_knots), got {self.reverb_onset_shifts}")
        for name in ("pause_start_offsets", "pause_end_offsets"):
            value = getattr(self, name)
            if len(value) != len(self.pause_knots_db) or not all(-0.05 <= v <= 0.2 for v in value):
                raise ValueError(f"refinement {name} must be {len(self.pause_knots_db)} seconds in [-0.05, 0.2] "
                                 f"(one per pause_knots_db), got {value}")
        for name in ("window", "sigma", "temperature", "pause_window", "pause_sigma"):
            value = getattr(self, name)
            if value is None and name.startswith("pause_"):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"refinement {name} must be a positive finite number, got {value!r}")
        if not 0 <= self.min_word <= 1:
            raise ValueError(f"min_word must be in [0, 1] seconds, got {self.min_word!r}")
        if self.mode not in REFINE_MODES:
            raise ValueError(f"refinement mode must be one of {REFINE_MODES}, got {self.mode!r}")

    def to_dict(self) -> dict:
        return {"window": self.window, "sigma": self.sigma, "mode": self.mode, "temperature": self.temperature,
                "min_word": self.min_word, "shift": self.shift, "pause_window": self.pause_window,
                "pause_sigma": self.pause_sigma, "pause_knots_db": list(self.pause_knots_db),
                "pause_start_offsets": list(self.pause_start_offsets), "pause_end_offsets": list(self.pause_end_offsets),
                "reverb_knots": list(self.reverb_knots), "reverb_onset_shifts": list(self.reverb_onset_shifts)}

    @property
    def has_pause_settings(self) -> bool:
        """Whether pause edges are refined differently from the other boundaries."""
        return (self.pause_window is not None or self.pause_sigma is not None
                or any(v != 0 for v in self.pause_start_offsets + self.pause_end_offsets))

    @property
    def has_reverb_settings(self) -> bool:
        """Whether word onsets move with the decay asymmetry."""
        return any(v != 0 for v in self.reverb_onset_shifts)

    def onset_shifts(self, asymmetries: torch.Tensor | None, batch: int) -> torch.Tensor:
        """``[B]`` seconds by which the word starts and junctions of utterances with decay
        asymmetries ``asymmetries`` ``[B]`` move (``None``: allowed only when the shifts do not
        depend on it)."""
        return _at_knots(self.reverb_knots, self.reverb_onset_shifts, asymmetries, batch, "asymmetries",
                         "onset shifts depend on the decay asymmetry")

    def pause_offsets(self, side: torch.Tensor, ranges_db: torch.Tensor | None) -> torch.Tensor:
        """``[B, N]`` seconds into the pause for the boundaries of ``side`` (:func:`pause_edges`; 0
        where it is 0) of utterances with dynamic ranges ``ranges_db`` ``[B]`` dB (``None``: allowed
        only when the offsets do not depend on it)."""
        at = {s: _at_knots(self.pause_knots_db, v, ranges_db, side.shape[0], "ranges_db",
                           "pause offsets depend on the dynamic range")[:, None].to(side.device)
              for s, v in ((-1, self.pause_start_offsets), (1, self.pause_end_offsets))}
        return torch.where(side < 0, at[-1], at[1]).masked_fill(side == 0, 0.0)


def _at_knots(knots: Sequence[float], values: Sequence[float], at: torch.Tensor | None, batch: int, name: str,
              depends: str) -> torch.Tensor:
    """``[B]`` float64: the table ``values`` over ``knots`` interpolated linearly at ``at`` ``[B]``
    (constant beyond the outer knots); ``at=None`` only for a constant table (else a ValueError
    saying what it ``depends`` on and to pass ``name``)."""
    table = np.asarray(values, dtype=np.float64)
    if at is None:
        if np.ptp(table) > 0:
            raise ValueError(f"these refinement options' {depends}: pass {name}")
        return torch.full((batch,), float(table[0]), dtype=torch.float64)
    if at.shape != (batch,):
        raise ValueError(f"{name} must be [B] = [{batch}], got {tuple(at.shape)}")
    return torch.from_numpy(np.interp(at.detach().cpu().double().numpy(), knots, table))


def _check(logits: torch.Tensor, lengths: torch.Tensor, times: torch.Tensor, valid: torch.Tensor) -> None:
    check_boundary_shapes(logits, lengths, times, valid)
    if bool((lengths < 1).any()) or bool((lengths > logits.shape[1]).any()):
        raise ValueError(f"lengths must be in [1, T={logits.shape[1]}], got {lengths.tolist()}")


def pause_edges(times: torch.Tensor, valid: torch.Tensor, durations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Which word boundaries border a pause, and how long it is.

    Args:
        times: ``[B, N]`` seconds ``s_0, e_0, s_1, e_1, ...`` (:func:`word_boundaries`).
        valid: ``[B, N]`` bool, the real boundaries (a prefix of each row).
        durations: ``[B]`` seconds, the utterances' lengths.

    Returns:
        ``(side [B, N] int64, room [B, N] float64 seconds)``: ``side`` is -1 for a word start after a
        pause (or the first start), +1 for a word end before a pause (or the last end), 0 otherwise;
        ``room`` is that pause's length (from the utterance's edge for the first start and last end).
    """
    t = times.to(torch.float64)
    n = valid.sum(-1)                                                              # [B]
    cols = torch.arange(t.shape[1], device=t.device)
    prev = torch.cat([torch.zeros_like(t[:, :1]), t[:, :-1]], 1)                   # the boundary before, 0 first
    nxt = torch.cat([t[:, 1:], t[:, -1:]], 1)
    last = cols[None] == (n - 1)[:, None]
    nxt = torch.where(last, durations.to(t)[:, None].expand_as(t), nxt)            # the utterance's end after the last
    start = (cols % 2 == 0)[None].expand_as(valid)
    room = torch.where(start, t - prev, nxt - t).clamp(min=0.0)
    edge = (cols[None] == 0) | last
    side = torch.where(start, -1, 1) * ((room > 0) | edge).long()
    side = side.masked_fill(~valid, 0)
    return side, room.masked_fill(side == 0, 0.0)


def refine_times(logits: torch.Tensor, lengths: torch.Tensor, times: torch.Tensor, valid: torch.Tensor,
                 options: RefineOptions = RefineOptions(), pause_side: torch.Tensor | None = None,
                 pause_room: torch.Tensor | None = None, pause_offset: torch.Tensor | None = None) -> torch.Tensor:
    """Move each boundary to the detector's peak near it (module docstring); no ordering.

    Args:
        logits: ``[B, T]`` boundary logits per feature frame (padding ignored).
        lengths: ``[B]`` valid feature frames.
        times: ``[B, N]`` aligned boundaries, seconds from the utterance start.
        valid: ``[B, N]`` bool, the real boundaries (others are returned unchanged).
        options: :class:`RefineOptions`.
        pause_side, pause_room: ``[B, N]`` of :func:`pause_edges`: the boundaries that take the
            options' pause settings (-1 / +1: the pause is before / after), and the pauses' lengths
            in seconds; ``None``: no boundary is a pause edge.
        pause_offset: ``[B, N]`` seconds by which each refined pause edge then moves into its pause
            (at most ``pause_room``), e.g. :meth:`RefineOptions.pause_offsets`; ``None``: 0.

    Returns:
        ``[B, N]`` refined times in seconds, dtype of ``times`` (differentiable in ``soft`` mode).
    """
    _check(logits, lengths, times, valid)
    lengths = lengths.to(logits.device)
    dtype = torch.promote_types(logits.dtype, times.dtype)
    u = seconds_to_frames(times.to(device=logits.device, dtype=dtype))                    # [B, N] frames
    window = torch.full_like(u, options.window / FEATURE_SHIFT)
    sigma = torch.full_like(u, options.sigma / FEATURE_SHIFT)
    if pause_side is not None:
        shapes = [None if x is None else tuple(x.shape) for x in (pause_side, pause_room, pause_offset)]
        if shapes[0] != tuple(times.shape) or shapes[1] != tuple(times.shape) or shapes[2] not in (None, shapes[0]):
            raise ValueError(f"pause_side, pause_room (and pause_offset) must be [B, N] = {tuple(times.shape)}, "
                             f"got {shapes}")
        side = pause_side.to(device=u.device)
        edge = side != 0
        window = torch.where(edge, (options.pause_window or options.window) / FEATURE_SHIFT, window)
        sigma = torch.where(edge, (options.pause_sigma or options.sigma) / FEATURE_SHIFT, sigma)
        offset = (torch.zeros_like(u) if pause_offset is None else
                  pause_offset.to(device=u.device, dtype=dtype).masked_fill(~edge, 0.0))
        into = torch.minimum(pause_room.to(device=u.device, dtype=dtype), offset)
        moved = side.to(dtype) * into                                                      # seconds
    else:
        moved = torch.zeros_like(u)
    radius = max(1, math.ceil(float(window.max()) if window.numel() else 1))
    offsets = torch.arange(-radius, radius + 1, device=logits.device)
    idx = u.detach().round().long()[..., None] + offsets                                   # [B, N, W]
    pos = idx.to(dtype)
    inside = (idx >= 0) & (idx < lengths[:, None, None]) & ((pos - u[..., None]).abs() <= window[..., None])
    # the aligned boundary's own frame is always a candidate (also when the window is under half a frame)
    nearest = u.detach().round().clamp(min=0)[..., None].long()
    nearest = torch.minimum(nearest, (lengths - 1)[:, None, None])
    inside = inside | (idx == nearest)
    safe = idx.clamp(0, logits.shape[1] - 1)
    l = torch.gather(logits.to(dtype).masked_fill(~torch.isfinite(logits), 0.0), 1, safe.flatten(1)).view(idx.shape)
    prior = -((pos - u[..., None]) ** 2) / (2 * sigma[..., None] ** 2)
    if options.mode == "soft":
        p = torch.softmax(((l + prior) / options.temperature).masked_fill(~inside, float("-inf")), -1)
        q = torch.softmax((prior / options.temperature).masked_fill(~inside, float("-inf")), -1)
        refined = u + (p * pos).sum(-1) - (q * pos).sum(-1)
    else:
        refined = _parabolic_argmax((l + prior).masked_fill(~inside, float("-inf")), pos)
    out = (frames_to_seconds(refined) + options.shift + moved).to(times.dtype)
    return torch.where(valid.to(out.device), out, times.to(out.device))


def _parabolic_argmax(scores: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """``[..., W]`` scores (``-inf`` off the window) at frame positions ``pos`` -> ``[...]`` the
    argmax position plus the parabola vertex offset through its two neighbours (0 at a window edge)."""
    k = scores.argmax(-1, keepdim=True)
    width = scores.shape[-1]
    s0 = scores.gather(-1, k)
    left = scores.gather(-1, (k - 1).clamp(min=0)).masked_fill(k == 0, float("-inf"))
    right = scores.gather(-1, (k + 1).clamp(max=width - 1)).masked_fill(k == width - 1, float("-inf"))
    curvature = left - 2 * s0 + right
    ok = torch.isfinite(left) & torch.isfinite(right) & (curvature < 0)
    delta = torch.where(ok, 0.5 * (left - right) / torch.where(ok, curvature, torch.ones_like(curvature)),
                        torch.zeros_like(s0)).clamp(-0.5, 0.5)
    return (pos.gather(-1, k) + delta)[..., 0]


def enforce_order(times: torch.Tensor, valid: torch.Tensor, min_gaps: torch.Tensor,
                  durations: torch.Tensor) -> torch.Tensor:
    """The closest-from-below ordered times: ``t_k >= t_{k-1} + min_gaps_k`` (a forward cumulative
    max), then every time in ``[0, duration]`` with room for the gaps after it.

    Args:
        times: ``[B, N]`` seconds; ``valid`` ``[B, N]`` bool (invalid entries are returned unchanged
            and impose nothing).
        min_gaps: ``[B, N]`` seconds >= 0 required between the previous valid time and this one
            (that of the first is ignored).
        durations: ``[B]`` seconds.

    Returns:
        ``[B, N]`` seconds, differentiable almost everywhere.
    """
    if times.ndim != 2 or valid.shape != times.shape or min_gaps.shape != times.shape:
        raise ValueError(f"times, valid and min_gaps must be [B, N], got {tuple(times.shape)}, "
                         f"{tuple(valid.shape)}, {tuple(min_gaps.shape)}")
    if bool((min_gaps < 0).any()):
        raise ValueError("min_gaps must be >= 0 seconds")
    first = torch.cumsum(valid.long(), -1) == 1
    gaps = min_gaps.masked_fill(~valid | (first & valid), 0.0).to(times.dtype)
    g = torch.cumsum(gaps, -1)                                                      # [B, N]
    x = (times - g).masked_fill(~valid, float("-inf"))
    x = torch.cummax(x, -1).values
    top = durations.to(times)[:, None] - g.amax(-1, keepdim=True)
    x = torch.minimum(x.clamp(min=0.0), top.clamp(min=0.0))
    return torch.where(valid, x + g, times)


def word_boundaries(alignments: Sequence[UtteranceAlignment]) -> tuple[torch.Tensor, torch.Tensor]:
    """Word starts and ends of each alignment, relative to its start, as ``(times [B, 2W] float64
    seconds s_0, e_0, s_1, e_1, ..., valid [B, 2W] bool)`` (padded)."""
    n = max(1, max(2 * len(a.words) for a in alignments))
    times = torch.zeros(len(alignments), n, dtype=torch.float64)
    valid = torch.zeros(len(alignments), n, dtype=torch.bool)
    for i, a in enumerate(alignments):
        flat = [x - a.start for w in a.words for x in (w.start, w.end)]
        times[i, : len(flat)] = torch.tensor(flat, dtype=torch.float64)
        valid[i, : len(flat)] = True
    return times, valid


def refine_word_times(alignments: Sequence[UtteranceAlignment], logits: torch.Tensor, lengths: torch.Tensor,
                      options: RefineOptions = RefineOptions(), ranges_db: torch.Tensor | None = None,
                      asymmetries: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The word boundaries of :func:`word_boundaries` (``times [B, 2W]`` seconds from each
    alignment's start), refined (:func:`refine_times`, pause edges by :func:`pause_edges` and the
    options' pause settings at the utterances' dynamic ranges ``ranges_db [B]`` dB, then the
    onset shifts at their decay asymmetries ``asymmetries [B]``) and ordered
    (:func:`enforce_order`, words at least ``options.min_word`` long): ``(times, refined, valid)``,
    float64, no gradient."""
    if len(alignments) != logits.shape[0]:
        raise ValueError(f"got {len(alignments)} alignments for {logits.shape[0]} utterances of logits")
    times, valid = word_boundaries(alignments)
    durations = torch.tensor([a.duration for a in alignments], dtype=torch.float64)
    with torch.no_grad():
        pause, reverb = options.has_pause_settings, options.has_reverb_settings
        side, room = pause_edges(times, valid, durations) if pause or reverb else (None, None)
        if side is not None:  # a gap that holds untranscribed speech is no pause
            speech = _untranscribed_gaps(alignments, times, valid, durations)
            side, room = side.masked_fill(speech, 0), room.masked_fill(speech, 0.0)
        refined = refine_times(logits.detach().cpu(), lengths.cpu(), times, valid, options,
                               *((side, room, options.pause_offsets(side, ranges_db)) if pause else ()))
        if reverb:
            onset = valid & (side != 1)                        # word starts and junctions
            refined = refined + options.onset_shifts(asymmetries, len(alignments))[:, None] * onset
        gaps = torch.zeros_like(times)
        gaps[:, 1::2] = options.min_word                       # a word's end after its start
        refined = enforce_order(refined, valid, gaps, durations)
    return times, refined, valid


def _untranscribed_gaps(alignments: Sequence[UtteranceAlignment], times: torch.Tensor, valid: torch.Tensor,
                        durations: torch.Tensor) -> torch.Tensor:
    """``[B, N]`` bool: the word boundaries (:func:`word_boundaries`) whose gap, before a start or
    after an end, overlaps one of the alignment's untranscribed spans."""
    out = torch.zeros_like(valid)
    for i, a in enumerate(alignments):
        if not a.untranscribed:
            continue
        t = [a.start + float(x) for x in times[i, valid[i]]]
        bounds = [a.start, *t, a.start + float(durations[i])]
        for j in range(len(t)):
            lo, hi = (bounds[j], bounds[j + 1]) if j % 2 == 0 else (bounds[j + 1], bounds[j + 2])
            out[i, j] = a.untranscribed_between(lo, hi)
    return out


def _moved(tokens: Sequence[TimedToken], old: np.ndarray, new: np.ndarray) -> list[TimedToken]:
    return [replace(t, start=float(np.interp(t.start, old, new)), end=float(np.interp(t.end, old, new)))
            for t in tokens]


def refine_alignments(alignments: Sequence[UtteranceAlignment], logits: torch.Tensor, lengths: torch.Tensor,
                      options: RefineOptions = RefineOptions(), ranges_db: torch.Tensor | None = None,
                      asymmetries: torch.Tensor | None = None) -> list[UtteranceAlignment]:
    """Refined copies of ``alignments`` (each utterance ``i`` has ``logits[i, :lengths[i]]``, from
    features that start at ``alignments[i].start``): word starts and ends by :func:`refine_times`
    kept in order by :func:`enforce_order`; phone boundaries follow the words piecewise linearly
    (so phones stay inside their words and in order). Confidences are kept."""
    times, refined, valid = refine_word_times(alignments, logits, lengths, options, ranges_db, asymmetries)
    return [move_word_boundaries(a, refined[i, : 2 * len(a.words)].numpy()) for i, a in enumerate(alignments)]


def move_word_boundaries(alignment: UtteranceAlignment, new_times: np.ndarray) -> UtteranceAlignment:
    """A copy of ``alignment`` whose word starts and ends are ``new_times`` (``[2W]`` seconds from
    its start: ``s_0, e_0, s_1, e_1, ...``, in order); phone boundaries follow the words piecewise
    linearly (so phones stay inside their words and in order). Confidences are kept."""
    a = alignment
    times = np.array([x - a.start for w in a.words for x in (w.start, w.end)], dtype=np.float64)
    if np.shape(new_times) != times.shape:
        raise ValueError(f"got {np.shape(new_times)} boundary times for {len(a.words)} words")
    last = max([a.duration, *times.tolist()])
    old = np.concatenate([[0.0], times, [last]])
    new = np.concatenate([[0.0], np.asarray(new_times, dtype=np.float64), [last]])
    keep = np.concatenate([[True], np.diff(old) > 0])      # np.interp needs increasing knots
    old, new = old[keep] + a.start, np.maximum.accumulate(new[keep]) + a.start
    return replace(a, words=_moved(a.words, old, new), phones=_moved(a.phones, old, new))


DETECTOR_CONTEXT = 1.0
"""Seconds of features on each side of an utterance's aligned words that :class:`BoundaryRefiner`
gives its detector: far more than the search around a boundary (the shipped settings' windows are
at most 0.16 s)."""
OUTSIDE_LOGIT = -30.0


def speech_span(alignment: UtteranceAlignment, num_frames: int, context: float = DETECTOR_CONTEXT) -> tuple[int, int]:
    """Feature frames ``[start, end)`` of ``alignment``'s words (times relative to its recording,
    features from its ``start``) with ``context`` seconds on each side, within ``[0, num_frames)``;
    all frames when it has no words."""
    if not alignment.words:
        return 0, num_frames
    first = alignment.words[0].start - alignment.start - context
    last = alignment.words[-1].end - alignment.start + context
    return (max(0, math.floor(first / FEATURE_SHIFT)),
            max(1, min(num_frames, math.ceil(last / FEATURE_SHIFT))))


@dataclass
class BoundaryRefiner:
    """A trained :class:`~fsttopo.models.boundary.BoundaryDetector` with its dev-tuned
    :class:`RefineOptions`: what a model file carries (``boundary_detector``) so that
    :class:`~fsttopo.aligner.Aligner` can refine its word boundaries (``refine_boundaries``)."""

    detector: BoundaryDetector
    options: RefineOptions = RefineOptions()

    def logits(self, features: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-utterance ``[T_i, 80]`` features -> (logits ``[B, T]`` float32, lengths ``[B]``), on the CPU."""
        lengths = torch.tensor([f.shape[0] for f in features])
        x = torch.nn.utils.rnn.pad_sequence([f.detach().float().cpu() for f in features], batch_first=True)
        with torch.no_grad():
            return self.detector.eval()(x, lengths), lengths

    def inputs(self, alignments: Sequence[UtteranceAlignment], features: Sequence[torch.Tensor],
               signals: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """What :func:`refine_alignments` takes for ``alignments[i]`` (times relative to its
        recording, features ``features[i]`` from its ``start``): ``(logits [B, T] float32, lengths
        [B], dynamic ranges [B] dB, decay asymmetries [B])``, float64 for the last two, which are
        ``None`` with ``signals=False`` (settings without pause or reverb tables do not read them).

        The detector, the dynamic range and the decay asymmetry see the aligned words with
        :data:`DETECTOR_CONTEXT` seconds on each side (:func:`speech_span`), not the whole
        recording: the detector normalizes its input by the mean over what it sees, and a minute of
        room noise around a sentence moved that mean and pulled a pause edge 115 ms into the noise
        (tests/test_silence.py). Training and tuning cuts have at most 0.53 s before or after
        their words, so for them this is the whole cut."""
        if len(alignments) != len(features):
            raise ValueError(f"got {len(features)} feature tensors for {len(alignments)} alignments")
        spans = [speech_span(a, f.shape[0]) for a, f in zip(alignments, features)]
        crops = [f[s:e] for f, (s, e) in zip(features, spans)]
        ranges = torch.tensor([dynamic_range_db(f) for f in crops], dtype=torch.float64) if signals else None
        asymmetries = torch.tensor([decay_asymmetry(f) for f in crops], dtype=torch.float64) if signals else None
        cropped, _ = self.logits(crops)
        lengths = torch.tensor([f.shape[0] for f in features])
        # out of every search window (the context is wider than any), so the value does not matter
        logits = torch.full((len(features), int(lengths.max())), OUTSIDE_LOGIT)
        for i, (s, e) in enumerate(spans):
            logits[i, s:e] = cropped[i, : e - s]
        return logits, lengths, ranges, asymmetries

    def __call__(self, alignments: Sequence[UtteranceAlignment], features: Sequence[torch.Tensor]
                 ) -> list[UtteranceAlignment]:
        """``alignments[i]`` (times relative to its recording, features from its ``start``) refined
        with the detector's logits of ``features[i]`` (:meth:`inputs`, :func:`refine_alignments`)."""
        signals = self.options.has_pause_settings or self.options.has_reverb_settings
        logits, lengths, ranges, asymmetries = self.inputs(alignments, features, signals)
        return refine_alignments(alignments, logits, lengths, self.options, ranges, asymmetries)

    def to_dict(self) -> dict:
        """``{"config", "state", "refine"}`` (float16 weights), the model file's ``boundary_detector``."""
        return {**detector_to_dict(self.detector), "refine": self.options.to_dict()}

    @classmethod
    def from_dict(cls, blob: dict, where: str = "boundary detector") -> "BoundaryRefiner":
        """Inverse of :meth:`to_dict` (``refine`` optional: :class:`RefineOptions` defaults)."""
        refine = blob.get("refine", {}) if isinstance(blob, dict) else {}
        try:
            options = RefineOptions(**refine)
        except TypeError as err:
            raise ValueError(f"{where}: bad refinement options {refine!r} ({err})") from err
        return cls(detector_from_dict(blob, where), options)
