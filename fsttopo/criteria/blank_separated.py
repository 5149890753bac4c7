"""Blank-separated output layer: a sigmoid for blank, a softmax over the other labels (paper sec. 4).

Eq. 15-17 (Eq. 29 in log space)::

    log p'(blank | h) = log sigmoid(z_blank)
    log p'(a | h)     = log sigmoid(-z_blank) + log_softmax(z_labels)_a      (a != blank)

The result is an ordinary normalized ``[..., V]`` log-distribution, so it works with every topology
and loss (``fsttopo.full_sum``, :func:`fsttopo.criteria.framewise_ce`, the normalized-gradient
loss, ...). For a soft target ``v`` the gradient of ``sum_i v_i log p'_i`` w.r.t. the logits is
(Eq. 21/41) ``v_blank - sigmoid(z_blank)`` for blank and
``(v_a / (1 - v_blank) - softmax(z_labels)_a) * (1 - v_blank)`` for a label.

Because blank is decided first, work can be skipped (paper A.6, Table 15): greedy decoding computes
the blank logit of every frame and the ``V - 1`` label logits (the big matmul) only on frames with
``p(blank) <= 0.5``; framewise CE training computes the label logits and their softmax only on
frames whose reference label is not blank. :class:`BlankSeparatedOutput` owns the final linear
layer so that these fast paths really skip the work.
"""

from __future__ import annotations

from typing import Literal, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_alignment, check_float, check_label, check_lengths, check_reduction, valid_mask
from .framewise import framewise_ce, reduce_frames

__all__ = ["blank_separated_log_softmax", "BlankSeparatedOutput"]


def blank_separated_log_softmax(logits: torch.Tensor, blank: int = 0) -> torch.Tensor:
    """Eq. 29: ``[..., V]`` logits -> ``[..., V]`` log-probabilities (each frame sums to 1).

    Args:
        logits: ``[..., V]`` float32/float64, ``V >= 2``; entry ``blank`` is the blank logit, the
            others are the label logits.
        blank: blank index.

    Returns:
        ``[..., V]`` log-probabilities, dtype of ``logits``.
    """
    check_float(logits, "logits")
    if logits.ndim < 1 or logits.shape[-1] < 2:
        raise ValueError(f"logits must have shape [..., V] with V >= 2, got {tuple(logits.shape)}")
    V = logits.shape[-1]
    check_label(blank, "blank", V)
    z_blank = logits[..., blank:blank + 1]
    is_blank = torch.arange(V, device=logits.device) == blank
    labels = logits.masked_fill(is_blank, float("-inf")).log_softmax(dim=-1)
    return torch.where(is_blank, F.logsigmoid(z_blank), F.logsigmoid(-z_blank) + labels)


class BlankSeparatedOutput(nn.Module):
    """Final linear layer + blank-separated log-softmax, with the fast paths of paper A.6.

    Args:
        in_features: ``D``, the encoder output dimension.
        num_classes: ``V`` (blank included), ``>= 2``.
        blank: blank index in ``[0, V)``.
        bias: whether the linear layer has a bias.

    Attributes:
        linear: the ``nn.Linear(D, V)``; row ``blank`` of its weight produces the blank logit.
    """

    def __init__(self, in_features: int, num_classes: int, blank: int = 0, bias: bool = True,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2 (blank and at least one label), got {num_classes}")
        self.blank = check_label(blank, "blank", num_classes)
        self.linear = nn.Linear(in_features, num_classes, bias=bias, device=device, dtype=dtype)

    @property
    def num_classes(self) -> int:
        return self.linear.out_features

    def extra_repr(self) -> str:
        return f"blank={self.blank}"

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``[..., D]`` features -> ``[..., V]`` log-probabilities (Eq. 15-17), all frames."""
        return blank_separated_log_softmax(self.linear(h), self.blank)

    # ---------------------------------------------------------------- fast paths (paper A.6)
    def _check_features(self, h: torch.Tensor) -> None:
        check_float(h, "h", 3, f"[B, T, D={self.linear.in_features}]")
        if h.shape[-1] != self.linear.in_features:
            raise ValueError(f"h must have shape [B, T, D={self.linear.in_features}], got {tuple(h.shape)}")

    def _blank_logit(self, h: torch.Tensor) -> torch.Tensor:
        """``[B, T, D]`` -> ``[B, T]`` blank logits (one dot product per frame)."""
        z = h @ self.linear.weight[self.blank]
        return z if self.linear.bias is None else z + self.linear.bias[self.blank]

    def _label_logits(self, h: torch.Tensor) -> torch.Tensor:
        """``[M, D]`` -> ``[M, V-1]`` label logits, columns in class order with blank left out."""
        bias = self.linear.bias
        return F.linear(h, self._drop_blank(self.linear.weight), None if bias is None else self._drop_blank(bias))

    def _drop_blank(self, x: torch.Tensor) -> torch.Tensor:
        """Rows of ``x`` (``[V, ...]``) without the blank row; a view when blank is first or last."""
        k = self.blank
        if k == 0:
            return x[1:]
        if k == x.shape[0] - 1:
            return x[:-1]
        return torch.cat([x[:k], x[k + 1:]])

    @torch.no_grad()
    def greedy_decode(
        self,
        h: torch.Tensor,
        lengths: torch.Tensor | Sequence[int] | None = None,
        *,
        with_log_probs: bool = False,
        fast: bool = True,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Best label per frame, ``argmax_y log p'(y | h_t)`` (no collapsing of repeats/blanks).

        With ``fast=True`` the label logits are computed only for frames with
        ``p(blank) <= 0.5`` (``z_blank <= 0``); every other frame is blank, since the labels share
        less than half of the mass. ``fast=False`` computes all ``V`` outputs of every frame; both
        give the same result. The padding frames of ``h`` must be finite (their result is ignored).

        Args:
            h: ``[B, T, D]`` features.
            lengths: ``[B]`` valid frames; ``None`` means all ``T``.
            with_log_probs: also return ``log p'`` of the chosen label.
            fast: use the blank-first fast path.

        Returns:
            ``[B, T]`` int64 labels (``-1`` on padding frames), and with ``with_log_probs`` a
            ``[B, T]`` tensor (dtype of ``h``) of their log-probabilities (0 on padding frames).
        """
        self._check_features(h)
        B, T, _ = h.shape
        valid = valid_mask(check_lengths(lengths, B, T, h.device), T)
        if fast:
            labels, log_probs = self._greedy_fast(h, valid)
        else:
            log_probs, labels = self(h).max(dim=-1)
            labels = torch.where(valid, labels, -1)
            log_probs = torch.where(valid, log_probs, 0.0)
        return (labels, log_probs) if with_log_probs else labels

    def _greedy_fast(self, h: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z_blank = self._blank_logit(h)
        labels = torch.where(valid, self.blank, -1)
        log_probs = torch.where(valid, F.logsigmoid(z_blank), 0.0)
        idx = torch.nonzero(valid & (z_blank <= 0), as_tuple=True)  # p(blank) <= 0.5
        z_labels = self._label_logits(h[idx])
        best, col = z_labels.max(dim=-1)
        label_lp = F.logsigmoid(-z_blank[idx]) + (best - z_labels.logsumexp(dim=-1))
        is_label = label_lp > log_probs[idx]
        labels[idx] = torch.where(is_label, col + (col >= self.blank).to(col.dtype), self.blank)
        log_probs[idx] = torch.where(is_label, label_lp, log_probs[idx])
        return labels, log_probs

    def framewise_ce(
        self,
        h: torch.Tensor,
        alignment: torch.Tensor,
        lengths: torch.Tensor | Sequence[int] | None = None,
        *,
        reduction: Literal["none", "sum", "mean"] = "mean",
        fast: bool = True,
    ) -> torch.Tensor:
        """Framewise CE (Eq. 18) of the blank-separated output against a fixed alignment.

        With ``fast=True`` a blank frame costs one dot product (``-log sigmoid(z_blank)``); the
        label logits and their softmax are computed only for frames whose target is a label
        (``-log sigmoid(-z_blank) - log_softmax(z_labels)_a``). ``fast=False`` is
        ``framewise_ce(self(h), alignment, lengths)``; both give the same value and gradients.
        The padding frames of ``h`` must be finite.

        Args:
            h: ``[B, T, D]`` features.
            alignment: ``[B, T]`` integer target per frame (ids in ``[0, V)`` on valid frames).
            lengths: ``[B]`` valid frames; ``None`` means all ``T``.
            reduction: as in :func:`fsttopo.criteria.framewise_ce`.
            fast: skip the label computation on blank frames.

        Returns:
            Loss in nats (``[B, T]`` for ``reduction="none"``), differentiable w.r.t. ``h`` and the
            layer's parameters.
        """
        self._check_features(h)
        check_reduction(reduction)
        if not fast:
            return framewise_ce(self(h), alignment, lengths, reduction=reduction)
        B, T, _ = h.shape
        valid = valid_mask(check_lengths(lengths, B, T, h.device), T)
        alignment = check_alignment(alignment, B, T, self.num_classes, valid)
        z_blank = self._blank_logit(h)
        is_blank = alignment == self.blank
        # -log sigmoid(z) on blank frames, -log sigmoid(-z) on label frames
        frame_loss = torch.where(valid, -F.logsigmoid(torch.where(is_blank, z_blank, -z_blank)), 0.0)
        idx = torch.nonzero(valid & ~is_blank, as_tuple=True)
        target = alignment[idx]
        label_ce = F.cross_entropy(self._label_logits(h[idx]), target - (target > self.blank).to(target.dtype),
                                   reduction="none")
        frame_loss = frame_loss.index_put(idx, label_ce, accumulate=True)
        return reduce_frames(frame_loss, valid, reduction)
