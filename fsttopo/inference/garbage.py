"""Audio the transcript does not cover: a garbage ("filler") label, and the untranscribed segments it takes.

With the ``untranscribed`` align option the alignment graphs get optional garbage segments at the
start and at the end (``"edges"``) or also between words (``"anywhere"``, at least
:data:`GARBAGE_MIN_INNER_FRAMES`) (:func:`fsttopo.topology.with_garbage`), and the emission
scores one more column, the garbage label (:func:`garbage_scores`): per frame, the score of the
best non-blank label minus :data:`GARBAGE_PENALTY` nats. A filler model: audio that some phone
explains better than the transcript's phones by more than the penalty per frame (speech, music the
transcript does not mention) goes to garbage; audio the transcript explains stays with it. The
frames on garbage become :attr:`~fsttopo.data.alignment.UtteranceAlignment.untranscribed` segments
(seconds); words are never placed on them.

Compared with the others:

- torchaudio's multilingual forced alignment (``torchaudio.pipelines.MMS_FA``, ``with_star=True``)
  appends a ``<star>`` column too, but of zeros after the log-softmax (probability 1) everywhere,
  and the user wraps the transcript in ``<star>`` tokens, so it is a free wildcard that competes
  with the words on every frame; here the garbage score follows the model's own best label on each
  frame minus a calibrated penalty, so a frame goes to garbage only where the transcript explains
  it that much worse than the best phone does, and silence stays silence (the best non-blank label
  scores low there).
- ctc-segmentation finds utterances in a long recording with a CTC trellis in which the text may
  begin at any frame, so audio before (and between) the utterances stays unaligned, and judges each
  utterance afterwards by a confidence score. Here the untranscribed audio has its own label in the
  graph of either topology (CTC, HMM), which the ordinary Viterbi and posterior recursions run on,
  so it is reported as spans; it may only sit before the first word, after the last one or
  (``"anywhere"``) between two words, never inside one.

Between words it is weaker: where the untranscribed speech holds words of the transcript (``the``),
the transcript's words may hop onto it, since garbage then covers their true place at about the
same cost (docs/alignment.md); ``"edges"``, the default mode, is reliable.

Frames are model frames; times in seconds are as in
:meth:`fsttopo.data.alignment.UtteranceAlignment.from_segments`.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from ..data.runs import true_runs
from ..fsa import FsaVec
from ..names import GARBAGE_PENALTY, UNTRANSCRIBED_MODES
from ..topology import AnyLabels, with_garbage, word_start_tokens

__all__ = ["GARBAGE_PENALTY", "GARBAGE_MIN_INNER_FRAMES", "check_garbage_penalty", "garbage_scores", "garbage_graphs",
           "garbage_state_mask", "frame_runs", "runs_to_seconds", "confidence_log_probs", "path_garbage_frames",
           "posterior_garbage_frames", "untranscribed_seconds"]

GARBAGE_MIN_INNER_FRAMES = 50
"""Fewest model frames of untranscribed audio between two words (2 s at 40 ms frames): shorter gaps
let the words hop over untranscribed speech to the places in it that fit them (measured in
docs/alignment.md), and a missing sentence is longer."""


def check_garbage_penalty(value: object) -> float:
    """``value`` as a float, ValueError unless it is a finite number >= 0 (nats per model frame)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"garbage_penalty must be a finite number of nats per frame >= 0, got {value!r}")
    return float(value)


def garbage_scores(scores: torch.Tensor, penalty: float = GARBAGE_PENALTY, blank: int = 0) -> torch.Tensor:
    """The emission scores with the garbage label appended as column ``V``.

    Args:
        scores: ``[B, T, V]`` emission scores (:func:`fsttopo.inference.emission_scores`).
        penalty: nats per frame subtracted from the best non-blank score (>= 0).
        blank: blank/silence label, which the garbage score ignores.

    Returns:
        ``[B, T, V + 1]``: ``scores``, then ``max_{v != blank} scores[..., v] - penalty``.
    """
    penalty = check_garbage_penalty(penalty)
    if scores.ndim != 3 or scores.shape[-1] < 2:
        raise ValueError(f"scores must be [B, T, V] with V >= 2, got {tuple(scores.shape)}")
    speech = torch.cat([scores[..., :blank], scores[..., blank + 1:]], -1)
    return torch.cat([scores, speech.amax(-1, keepdim=True) - penalty], -1)


def garbage_graphs(graphs: FsaVec, words: Sequence[Sequence[Sequence[int] | AnyLabels]], num_classes: int,
                   where: str = "edges", min_inner_frames: int = GARBAGE_MIN_INNER_FRAMES) -> FsaVec:
    """``graphs`` of ``words`` (:func:`fsttopo.topology.build_graphs`) with optional garbage at the
    start and at the end and, for ``where="anywhere"``, between words (at least
    ``min_inner_frames`` model frames), labelled ``num_classes`` (the column :func:`garbage_scores`
    appends to ``[B, T, num_classes]`` scores)."""
    if where not in UNTRANSCRIBED_MODES:
        raise ValueError(f"untranscribed audio goes to one of {UNTRANSCRIBED_MODES}, got {where!r}")
    if where == "edges":
        return with_garbage(graphs, num_classes)
    return with_garbage(graphs, num_classes, word_start_tokens(words), min_inner_frames)


def garbage_state_mask(graphs: FsaVec, garbage_label: int, num_states: int) -> torch.Tensor:
    """``[B, num_states]`` bool: the states of each graph entered by garbage arcs (states past a
    graph's own are False), to sum state posteriors ``[B, T, N]`` over."""
    mask = torch.zeros(len(graphs), num_states, dtype=torch.bool)
    batch = graphs.arc_batch
    is_garbage = graphs.arcs[:, 2] == garbage_label
    mask[batch[is_garbage], graphs.arcs[is_garbage, 1]] = True
    return mask


def frame_runs(mask: torch.Tensor, lengths: torch.Tensor | Sequence[int]) -> list[list[tuple[int, int]]]:
    """Runs of True frames: ``[B, T]`` bool and ``[B]`` valid frames -> per utterance the
    ``(start, end)`` frame spans (end exclusive) in time order."""
    lengths = torch.as_tensor(lengths).tolist()
    return [list(zip(*(r.tolist() for r in true_runs(row[:n].bool())))) for row, n in zip(mask, lengths)]


def runs_to_seconds(runs: Sequence[tuple[int, int]], frame_shift: float, frame_offset: float, duration: float,
                    offset: float = 0.0) -> list[tuple[float, float]]:
    """Frame spans -> ``(start, end)`` seconds in the recording: frame boundary ``f`` at
    ``offset + clip(frame_offset + f * frame_shift, 0, duration)``, as for words."""
    def seconds(frame: int) -> float:
        return offset + min(max(frame_offset + frame * frame_shift, 0.0), duration)

    return [(seconds(s), seconds(e)) for s, e in runs]


def confidence_log_probs(log_probs: torch.Tensor) -> torch.Tensor:
    """``[B, T, V]`` model log-probs -> ``[B, T, V + 1]`` with a ``-inf`` garbage column, for the
    confidences of :mod:`fsttopo.align.confidence` on paths with garbage: the transcript explains
    none of a garbage frame (confidence 0 there, so untranscribed audio lowers the utterance's)."""
    return torch.nn.functional.pad(log_probs, (0, 1), value=-math.inf)


def path_garbage_frames(labels: torch.Tensor, garbage_label: int) -> torch.Tensor:
    """``[B, T]`` best-path labels (:attr:`fsttopo.engine.ViterbiResult.labels`) -> ``[B, T]`` bool,
    True on garbage frames."""
    return labels == garbage_label


def posterior_garbage_frames(occupancy: torch.Tensor, graphs: FsaVec, garbage_label: int) -> torch.Tensor:
    """``[B, T, N]`` state posteriors on ``graphs`` -> ``[B, T]`` bool, True on frames more likely on
    garbage than not."""
    mask = garbage_state_mask(graphs, garbage_label, occupancy.shape[2]).to(occupancy.device)
    return (occupancy * mask[:, None, :]).sum(2) > 0.5


def untranscribed_seconds(garbage: torch.Tensor, lengths: torch.Tensor | Sequence[int], frame_shift: float,
                          frame_offset: float, durations: Sequence[float],
                          offsets: Sequence[float] | None = None) -> list[list[tuple[float, float]]]:
    """``[B, T]`` garbage frames (:func:`path_garbage_frames`, :func:`posterior_garbage_frames`) and
    ``[B]`` valid frames -> per utterance its untranscribed ``(start, end)`` spans in seconds of
    the recording (``offsets``: each utterance's start in it, default 0)."""
    offsets = list(offsets) if offsets is not None else [0.0] * garbage.shape[0]
    return [runs_to_seconds(runs, frame_shift, frame_offset, duration, offset)
            for runs, duration, offset in zip(frame_runs(garbage, lengths), durations, offsets)]
