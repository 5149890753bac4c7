"""Alignment confidence: how much the acoustic model agrees with an alignment.

The confidence of an utterance is the mean over its frames of the model's posterior probability
``p(y_t | x)`` of the label the alignment puts on frame ``t`` (for posterior-mean alignments, the
expectation under the state posteriors). A transcript that does not match the audio forces labels
the model does not believe in and scores low; use it to find bad transcripts in a corpus.
"""

from __future__ import annotations

from typing import Sequence

import torch

from ..fsa import FsaVec

__all__ = ["path_confidence", "posterior_confidence"]


def _valid(lengths: torch.Tensor | Sequence[int], B: int, T: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.as_tensor(lengths, device=device)
    if lengths.shape != (B,) or bool((lengths < 1).any()) or bool((lengths > T).any()):
        raise ValueError(f"lengths must be [B={B}] frame counts in [1, {T}], got {lengths.tolist()}")
    return lengths, torch.arange(T, device=device)[None, :] < lengths[:, None]


def path_confidence(log_probs: torch.Tensor, lengths: torch.Tensor | Sequence[int],
                    labels: torch.Tensor) -> torch.Tensor:
    """Mean posterior of a best path's labels.

    Args:
        log_probs: ``[B, T, V]`` the model's per-frame log-probabilities.
        lengths: ``[B]`` valid frames (>= 1).
        labels: ``[B, T]`` label per frame (e.g. :attr:`fsttopo.ViterbiResult.labels`; padding ignored).

    Returns:
        ``[B]`` float64 confidences in ``[0, 1]``.
    """
    B, T, _ = log_probs.shape
    if labels.shape != (B, T):
        raise ValueError(f"labels must have shape [{B}, {T}], got {tuple(labels.shape)}")
    lengths, valid = _valid(lengths, B, T, log_probs.device)
    p = log_probs.detach().double().gather(2, labels.to(log_probs.device).clamp(min=0)[..., None]).squeeze(2).exp()
    return torch.where(valid, p, torch.zeros_like(p)).sum(1) / lengths


def posterior_confidence(log_probs: torch.Tensor, lengths: torch.Tensor | Sequence[int], occupancy: torch.Tensor,
                         graphs: FsaVec) -> torch.Tensor:
    """Expected posterior of the aligned label under state posteriors.

    Args:
        log_probs: ``[B, T, V]`` the model's per-frame log-probabilities.
        lengths: ``[B]`` valid frames (>= 1).
        occupancy: ``[B, T, N]`` state posteriors (:func:`fsttopo.state_posteriors`) on ``graphs``.
        graphs: the graphs (every state's incoming frame-consuming arcs carry its label).

    Returns:
        ``[B]`` float64 confidences in ``[0, 1]``.
    """
    B, T, _ = log_probs.shape
    if occupancy.ndim != 3 or occupancy.shape[:2] != (B, T):
        raise ValueError(f"occupancy must have shape [{B}, {T}, N], got {tuple(occupancy.shape)}")
    N = occupancy.shape[2]
    lengths, valid = _valid(lengths, B, T, log_probs.device)
    src_dst_label = graphs.arcs
    emitting = src_dst_label[:, 2] >= 0
    state_label = torch.zeros(B, N, dtype=torch.int64)
    flat = graphs.arc_batch[emitting] * N + src_dst_label[emitting, 1]
    state_label.view(-1).scatter_(0, flat, src_dst_label[emitting, 2])
    p = log_probs.detach().double().exp()
    expected = (occupancy.to(p) * p.gather(2, state_label.to(p.device)[:, None, :].expand(B, T, N))).sum(2)
    return torch.where(valid, expected, torch.zeros_like(expected)).sum(1) / lengths
