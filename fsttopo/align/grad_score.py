"""Alignment from gradient log-norms: GradScore (paper Eqs. 24-25) and GradScoreExt (Eqs. 43-48).

Both score every frame of a path through the states ``(blank, a_1, blank, ..., a_S, blank)`` (the
CTC topology without forced blank: any number of blanks between labels, each label one or more
frames, equal labels may follow directly; the path starts in the first blank or ``a_1`` and ends
in ``a_S`` or the last blank) and search the best path with :func:`fsttopo.viterbi`. The searched
matrix has one column per *token position*, so equal labels keep their own scores: column 0 is
blank, column ``s + 1`` is token ``s``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from ..engine import viterbi
from ..topology import ctc_graph
from ._checks import int_vector
from .gradient import ScoreFn, gradient_log_norms
from .prefix_scores import pad_targets
from .segments import Segment, path_segments

__all__ = ["FrameAlignment", "grad_score", "grad_score_ext", "align_frame_scores", "gradient_alignment"]


@dataclass
class FrameAlignment:
    """Best path over token positions.

    Attributes:
        labels: ``[B, T]`` int64 label id per frame (the blank id on blank frames), ``-1`` on padding
            (like :attr:`fsttopo.ViterbiResult.labels`).
        tokens: ``[B, T]`` int64 token position per frame, ``-1`` on blank and padding frames.
        segments: per utterance, one :class:`Segment` per token in frames (like
            :func:`fsttopo.path_segments`).
        scores: ``[B]`` score of the best path (sum of the chosen matrix entries).
        lengths: ``[B]`` int64 frames per utterance.
    """

    labels: torch.Tensor
    tokens: torch.Tensor
    segments: list[list[Segment]]
    scores: torch.Tensor
    lengths: torch.Tensor


def _check_G(G: torch.Tensor, lengths: torch.Tensor | Sequence[int], label_lengths: torch.Tensor | Sequence[int]
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Validate ``G [B, S, T]``; return (label mask [B, S, 1], frame mask [B, 1, T], label counts [B])."""
    if not torch.is_tensor(G) or G.ndim != 3 or not G.is_floating_point():
        got = tuple(G.shape) if torch.is_tensor(G) else type(G).__name__
        raise ValueError(f"G must be a floating tensor [B, S, T], got {got}")
    B, S, T = G.shape
    lengths = int_vector(lengths, B, "lengths", upper=T).to(G.device)
    label_lengths = int_vector(label_lengths, B, "label_lengths", upper=S).to(G.device)
    lab_ok = (torch.arange(S, device=G.device)[None, :] < label_lengths[:, None])[:, :, None]
    frm_ok = (torch.arange(T, device=G.device)[None, :] < lengths[:, None])[:, None, :]
    if bool(torch.isnan(G).any()) or bool((G == float("inf")).any()):
        raise ValueError("G contains NaN or +inf")
    return lab_ok, frm_ok, label_lengths


def _log_softmax_time(G: torch.Tensor, lab_ok: torch.Tensor, frm_ok: torch.Tensor) -> torch.Tensor:
    """``log softmax_t G`` over each utterance's valid frames (``-inf`` elsewhere).

    A label whose gradient is zero on every frame (all ``-inf``) gets the uniform distribution.
    """
    g = G.masked_fill(~frm_ok, float("-inf"))
    dead = ~torch.isfinite(g).any(dim=2, keepdim=True)
    g = torch.where(dead & frm_ok, g.new_zeros(()), g)
    out = g.log_softmax(dim=2)
    return out.masked_fill(~(lab_ok & frm_ok), float("-inf"))


def grad_score(G: torch.Tensor, lengths: torch.Tensor | Sequence[int],
               label_lengths: torch.Tensor | Sequence[int], *, blank_score: float = -6.0) -> torch.Tensor:
    """GradScore frame scores (Eq. 25): ``log softmax_t G`` for tokens, a constant for blank.

    Args:
        G: ``[B, S, T]`` gradient log-norms (:func:`gradient_log_norms`).
        lengths: ``[B]`` valid frames.
        label_lengths: ``[B]`` labels per utterance.
        blank_score: ``gamma_eps``, the score of a blank frame (paper: -6).

    Returns:
        ``[B, T, S + 1]``: column 0 blank, column ``s + 1`` token ``s``; ``-inf`` on padding.
    """
    lab_ok, frm_ok, _ = _check_G(G, lengths, label_lengths)
    tokens = _log_softmax_time(G, lab_ok, frm_ok)
    blank = G.new_full((G.shape[0], 1, G.shape[2]), blank_score).masked_fill(~frm_ok, float("-inf"))
    return torch.cat([blank, tokens], dim=1).transpose(1, 2)


def grad_score_ext(G: torch.Tensor, lengths: torch.Tensor | Sequence[int],
                   label_lengths: torch.Tensor | Sequence[int], *, percentile: float = 60.0) -> torch.Tensor:
    """GradScoreExt frame scores (Eqs. 43-48).

    ``G' = log softmax_t G``; non-blank score ``g_t = log (1/S) sum_s exp G'_{s,t}``; flip point
    ``l`` = the ``percentile``-th percentile of ``g`` over the utterance's frames (linear
    interpolation, as ``numpy.percentile``); blank score ``g'_t = 2 l - g_t``; then a log-softmax
    over the ``S`` tokens and blank at every frame.

    Args:
        G: ``[B, S, T]`` gradient log-norms; lengths, label_lengths: ``[B]`` as in :func:`grad_score`.
        percentile: ``gamma_percentile`` in ``[0, 100]`` (paper: 60).

    Returns:
        ``[B, T, S + 1]``: column 0 blank, column ``s + 1`` token ``s``; ``-inf`` on padding.
    """
    if not 0.0 <= percentile <= 100.0:
        raise ValueError(f"percentile must lie in [0, 100], got {percentile}")
    lab_ok, frm_ok, label_lengths = _check_G(G, lengths, label_lengths)
    if bool((label_lengths == 0).any()):
        raise ValueError("GradScoreExt needs at least one label per utterance (the mean over labels)")
    tokens = _log_softmax_time(G, lab_ok, frm_ok)  # G' [B, S, T]
    log_s = label_lengths.to(G.dtype).log()[:, None]
    g = torch.logsumexp(tokens, dim=1) - log_s  # [B, T]
    flip = torch.nanquantile(g.masked_fill(~frm_ok[:, 0], float("nan")), percentile / 100.0, dim=1)
    blank = 2.0 * flip[:, None] - g
    joint = torch.cat([blank[:, None, :], tokens], dim=1).log_softmax(dim=1)  # [B, S + 1, T]
    return joint.masked_fill(~frm_ok, float("-inf")).transpose(1, 2)


def align_frame_scores(frame_scores: torch.Tensor, lengths: torch.Tensor | Sequence[int],
                       targets: Sequence[Sequence[int]], *, blank: int = 0) -> FrameAlignment:
    """Best path (Eq. 24: the sum of frame scores) through the GradScore topology.

    Args:
        frame_scores: ``[B, T, S + 1]`` float32/float64 (column 0 blank, column ``s + 1`` token ``s``),
            e.g. from :func:`grad_score` or :func:`grad_score_ext`.
        lengths: ``[B]`` valid frames (each utterance needs at least as many frames as labels).
        targets: ``B`` label sequences (the label ids reported in the result).
        blank: blank label id reported on blank frames.

    Returns:
        :class:`FrameAlignment` (CPU tensors except ``scores``).
    """
    if not torch.is_tensor(frame_scores) or frame_scores.ndim != 3:
        raise ValueError(f"frame_scores must be [B, T, S + 1], got {getattr(frame_scores, 'shape', frame_scores)}")
    B, T, S1 = frame_scores.shape
    if len(targets) != B:
        raise ValueError(f"got {len(targets)} label sequences for a batch of {B} utterances")
    tgt, tgt_len = pad_targets(targets, None, blank, torch.device("cpu"))
    if int(tgt_len.max()) > S1 - 1:
        raise ValueError(f"frame_scores has {S1 - 1} token columns, fewer than the longest label sequence")
    graphs = ctc_graph([list(range(1, int(n) + 1)) for n in tgt_len], blank=0, forced_blank=False)
    path = viterbi(frame_scores, lengths, graphs)
    arcs = path.arcs.clamp(min=0)
    tokens = torch.where(path.arcs >= 0, graphs.aux["token"][arcs], -1)
    tgt = torch.cat([tgt, torch.full((B, 1), blank)], dim=1)  # keeps the gather valid when S = 0
    labels = torch.where(tokens >= 0, tgt.gather(1, tokens.clamp(min=0)), blank)
    labels = torch.where(path.arcs >= 0, labels, -1)
    segments = [[Segment(seg.index, int(tgt[b, seg.index]), seg.start, seg.end) for seg in utt]
                for b, utt in enumerate(path_segments(path, graphs))]
    return FrameAlignment(labels=labels, tokens=tokens, segments=segments, scores=path.scores,
                          lengths=path.lengths)


def gradient_alignment(
    score_fn: ScoreFn,
    x: torch.Tensor,
    lengths: torch.Tensor | Sequence[int],
    targets: Sequence[Sequence[int]],
    *,
    variant: str = "GradScoreExt",
    p: float = 0.1,
    blank: int = 0,
    blank_score: float = -6.0,
    percentile: float = 60.0,
    batched: bool = True,
    chunk_size: int | None = None,
) -> FrameAlignment:
    """Align ``targets`` to the frames of ``x`` with GradScore or GradScoreExt (paper sec. 5).

    ``x``: ``[B, T, ...]`` model input frames; ``score_fn``: ``x -> [B, S]``
    ``log p(a_s | a_<s, x)`` (e.g. :func:`ctc_label_scores_fn`). ``variant`` is ``"GradScore"``
    (uses ``blank_score``) or ``"GradScoreExt"`` (uses ``percentile``); ``p``, ``batched`` and
    ``chunk_size`` go to :func:`gradient_log_norms`. Segments are in frames of ``x``.
    """
    if variant not in ("GradScore", "GradScoreExt"):
        raise ValueError(f"variant must be 'GradScore' or 'GradScoreExt', got {variant!r}")
    label_lengths = [len(t) for t in targets]
    G = gradient_log_norms(score_fn, x, lengths, label_lengths, p=p, batched=batched, chunk_size=chunk_size)
    if variant == "GradScore":
        scores = grad_score(G, lengths, label_lengths, blank_score=blank_score)
    else:
        scores = grad_score_ext(G, lengths, label_lengths, percentile=percentile)
    return align_frame_scores(scores, lengths, targets, blank=blank)
