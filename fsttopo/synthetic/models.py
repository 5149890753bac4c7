"""Posterior models for the synthetic data: the FFNN of Eq. 28 and a 2-layer BLSTM."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..criteria import blank_separated_log_softmax

__all__ = ["OUTPUTS", "ModelConfig", "FFNN", "BLSTM", "build_model"]

OUTPUTS = ("softmax", "blank-separated")


@dataclass(frozen=True)
class ModelConfig:
    """Posterior model ``p(y | x)``.

    Attributes:
        kind: ``"ffnn"`` (Eq. 28: ``softmax(x W + b)``) or ``"blstm"`` (2-layer bidirectional
            LSTM, ``hidden`` units per direction, then a linear output layer).
        hidden: BLSTM units per direction (ignored by the FFNN).
        perfect_init: FFNN only: ``W = 1`` (identity), ``b = 0`` (paper sec. 3 / App. A.5), which
            aligns noise-free data perfectly.
        output: ``"softmax"`` (Eq. 4) or ``"blank-separated"`` (sigmoid blank + softmax over the
            labels, Eqs. 15-17; silence/blank is label 0).
    """

    kind: str = "ffnn"
    hidden: int = 20
    perfect_init: bool = False
    output: str = "softmax"

    def __post_init__(self) -> None:
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {self.output!r}")
        if self.kind not in ("ffnn", "blstm"):
            raise ValueError(f"model kind must be 'ffnn' or 'blstm', got {self.kind!r}")
        if self.hidden < 1:
            raise ValueError(f"hidden must be >= 1, got {self.hidden}")
        if self.perfect_init and self.kind != "ffnn":
            raise ValueError("perfect_init is implemented for the FFNN only")


class _Posterior(nn.Module):
    """``forward`` = the output layer's normalization of :meth:`logits` (``[B, T, V]`` log-probs)."""

    output = "softmax"

    def logits(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        z = self.logits(features, lengths)
        return blank_separated_log_softmax(z, blank=0) if self.output == "blank-separated" else z.log_softmax(-1)


class FFNN(_Posterior):
    """``log softmax(x W + b)`` with ``W`` ``[D, V]`` (Eq. 28). Input ``[B, T, D]``, output ``[B, T, V]``."""

    def __init__(self, dim: int, num_classes: int, perfect_init: bool = False) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, num_classes)
        if perfect_init:
            if dim != num_classes:
                raise ValueError(f"perfect_init needs D == V, got D={dim}, V={num_classes}")
            with torch.no_grad():
                self.linear.weight.copy_(torch.eye(num_classes))
                self.linear.bias.zero_()

    def logits(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.linear(features)


class BLSTM(_Posterior):
    """2-layer BLSTM (``hidden`` per direction) + linear + log-softmax; padding-aware (packed)."""

    def __init__(self, dim: int, num_classes: int, hidden: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(dim, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.out = nn.Linear(2 * hidden, num_classes)

    def logits(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = nn.utils.rnn.pack_padded_sequence(features, lengths.cpu(), batch_first=True, enforce_sorted=False)
        hidden, _ = self.lstm(packed)
        hidden, _ = nn.utils.rnn.pad_packed_sequence(hidden, batch_first=True, total_length=features.shape[1])
        return self.out(hidden)


def build_model(config: ModelConfig, dim: int, num_classes: int) -> nn.Module:
    """The model of ``config`` for ``dim`` input features and ``num_classes`` outputs (random init
    from the current torch seed unless ``perfect_init``)."""
    model = FFNN(dim, num_classes, config.perfect_init) if config.kind == "ffnn" else BLSTM(dim, num_classes, config.hidden)
    model.output = config.output
    return model
