"""Alignment confidence: how much the acoustic model agrees with an alignment.

The confidence of an utterance is the mean over its frames of the model's posterior probability
``p(y_t | x)`` of the label the alignment puts on frame ``t`` (for posterior-mean alignments, the
expectation under the state posteriors). A transcript that does not match the audio forces labels
the model does not believe in and scores low; use it to find bad transcripts in a corpus. A word's
or phone's confidence is the same mean over the frames it covers (:func:`segment_confidences`;
fractional boundaries weigh the frames they cut by the covered part).
"""

from __future__ import annotations

from typing import Sequence

import torch

from ..fsa import FsaVec

__all__ = ["path_confidence", "posterior_confidence", "path_frame_confidence", "posterior_frame_confidence",
           "segment_confidences"]


def _valid(lengths: torch.Tensor | Sequence[int], B: int, T: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.as_tensor(lengths, device=device)
    if lengths.shape != (B,) or bool((lengths < 1).any()) or bool((lengths > T).any()):
        raise ValueError(f"lengths must be [B={B}] frame counts in [1, {T}], got {lengths.tolist()}")
    return lengths, torch.arange(T, device=device)[None, :] < lengths[:, None]


def path_frame_confidence(log_probs: torch.Tensor, lengths: torch.Tensor | Sequence[int],
                          labels: torch.Tensor) -> torch.Tensor:
    """Posterior of a best path's label on each frame.

    Args:
        log_probs: ``[B, T, V]`` the model's per-frame log-probabilities.
        lengths: ``[B]`` valid frames (>= 1).
        labels: ``[B, T]`` label per frame (e.g. :attr:`fsttopo.ViterbiResult.labels`; padding ignored).

    Returns:
        ``[B, T]`` float64 in ``[0, 1]``, 0 on padding frames.
    """
    B, T, _ = log_probs.shape
    if labels.shape != (B, T):
        raise ValueError(f"labels must have shape [{B}, {T}], got {tuple(labels.shape)}")
    _, valid = _valid(lengths, B, T, log_probs.device)
    p = log_probs.detach().double().gather(2, labels.to(log_probs.device).clamp(min=0)[..., None]).squeeze(2).exp()
    return torch.where(valid, p, torch.zeros_like(p))


def path_confidence(log_probs: torch.Tensor, lengths: torch.Tensor | Sequence[int],
                    labels: torch.Tensor) -> torch.Tensor:
    """Mean posterior of a best path's labels: ``[B]`` float64 in ``[0, 1]`` (arguments as
    :func:`path_frame_confidence`)."""
    B, T, _ = log_probs.shape
    lengths, _ = _valid(lengths, B, T, log_probs.device)
    return path_frame_confidence(log_probs, lengths, labels).sum(1) / lengths


def posterior_confidence(log_probs: torch.Tensor, lengths: torch.Tensor | Sequence[int], occupancy: torch.Tensor,
                         graphs: FsaVec) -> torch.Tensor:
    """Mean over frames of :func:`posterior_frame_confidence`: ``[B]`` float64 in ``[0, 1]``."""
    B, T, _ = log_probs.shape
    lengths, _ = _valid(lengths, B, T, log_probs.device)
    return posterior_frame_confidence(log_probs, lengths, occupancy, graphs).sum(1) / lengths


def posterior_frame_confidence(log_probs: torch.Tensor, lengths: torch.Tensor | Sequence[int],
                               occupancy: torch.Tensor, graphs: FsaVec) -> torch.Tensor:
    """Expected posterior of the aligned label on each frame, under state posteriors.

    Args:
        log_probs: ``[B, T, V]`` the model's per-frame log-probabilities.
        lengths: ``[B]`` valid frames (>= 1).
        occupancy: ``[B, T, N]`` state posteriors (:func:`fsttopo.state_posteriors`) on ``graphs``.
        graphs: the graphs (every state's incoming frame-consuming arcs carry its label).

    Returns:
        ``[B, T]`` float64 in ``[0, 1]``, 0 on padding frames.
    """
    B, T, _ = log_probs.shape
    if occupancy.ndim != 3 or occupancy.shape[:2] != (B, T):
        raise ValueError(f"occupancy must have shape [{B}, {T}, N], got {tuple(occupancy.shape)}")
    N = occupancy.shape[2]
    _, valid = _valid(lengths, B, T, log_probs.device)
    src_dst_label = graphs.arcs
    emitting = src_dst_label[:, 2] >= 0
    state_label = torch.zeros(B, N, dtype=torch.int64)
    flat = graphs.arc_batch[emitting] * N + src_dst_label[emitting, 1]
    state_label.view(-1).scatter_(0, flat, src_dst_label[emitting, 2])
    p = log_probs.detach().double().exp()
    expected = (occupancy.to(p) * p.gather(2, state_label.to(p.device)[:, None, :].expand(B, T, N))).sum(2)
    return torch.where(valid, expected, torch.zeros_like(expected))


def segment_confidences(frame_confidence: torch.Tensor, length: int,
                        bounds: Sequence[tuple[float, float]]) -> list[float]:
    """Mean of one utterance's frame confidences over each segment ``[start, end)`` (in frames,
    fractional allowed: a cut frame counts by its covered part; a zero-length segment takes the
    frame it sits in).

    Args:
        frame_confidence: ``[T]`` per-frame confidence (a row of :func:`path_frame_confidence`).
        length: valid frames of the utterance.
        bounds: ``(start, end)`` frame positions per segment, within ``[0, length]``.

    Returns:
        One float in ``[0, 1]`` per segment.
    """
    if not bounds:
        return []
    c = frame_confidence[:length].double()
    cumulative = torch.cat([c.new_zeros(1), c.cumsum(0)])  # integral up to each frame boundary
    edges = c.new_tensor(bounds).clamp(0, length)           # [S, 2]
    frame = edges.floor().clamp(max=length - 1)

    def integral(x: torch.Tensor) -> torch.Tensor:
        i = x.floor().long().clamp(max=length)
        return cumulative[i] + (x - i) * c[i.clamp(max=length - 1)]

    width = edges[:, 1] - edges[:, 0]
    mean = (integral(edges[:, 1]) - integral(edges[:, 0])) / width.clamp(min=1e-12)
    return torch.where(width > 1e-9, mean, c[frame[:, 0].long()]).clamp(0, 1).tolist()
