"""The acoustic model: frontend + Conformer encoder + output head (paper Eqs. 1-4, 15-17), with
optional intermediate CTC layers and self-conditioning (seed 002)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torchaudio.models import Conformer

from ..criteria import BlankSeparatedOutput
from .frontend import ConvFrontend

__all__ = ["ModelConfig", "AlignmentModel", "ModelOutput"]


@dataclass
class ModelConfig:
    """Architecture of :class:`AlignmentModel` (all sizes in units, durations in frames)."""

    num_tokens: int
    num_features: int = 80
    subsampling: int = 4
    frontend_channels: int = 64
    d_model: int = 144
    num_layers: int = 6
    num_heads: int = 4
    ffn_dim: int = 576
    conv_kernel: int = 15
    dropout: float = 0.1
    blank_separated: bool = False
    blank: int = 0
    inter_layers: tuple[int, ...] = field(default_factory=tuple)
    self_condition: bool = True

    def __post_init__(self) -> None:
        self.inter_layers = tuple(self.inter_layers)
        for k in self.inter_layers:
            if not 1 <= k < self.num_layers:
                raise ValueError(f"inter_layers must lie in [1, {self.num_layers - 1}], got {k}")
        if self.num_tokens < 2:
            raise ValueError(f"num_tokens must be >= 2, got {self.num_tokens}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ModelOutput:
    log_probs: torch.Tensor                 # [B, T, V] final-layer log-probabilities
    lengths: torch.Tensor                   # [B] output frames
    inter_log_probs: list[torch.Tensor]     # per intermediate layer, [B, T, V]


class AlignmentModel(nn.Module):
    """``features [B, T', F] -> log p(y | x)`` ``[B, T, V]`` at ``T = ceil(T' / subsampling)``.

    The output head is a linear layer + log-softmax, or the blank-separated layer of Eq. 15-17.
    Intermediate layers listed in ``inter_layers`` (1-based, after that many Conformer layers) get
    their own log-probs through the same head; with ``self_condition`` their posteriors are
    projected back (``Linear(V, d)``) and added to the layer output (self-conditioned CTC).
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config
        self.frontend = ConvFrontend(c.num_features, c.d_model, c.subsampling, c.frontend_channels)
        self.dropout = nn.Dropout(c.dropout)
        self.encoder = Conformer(input_dim=c.d_model, num_heads=c.num_heads, ffn_dim=c.ffn_dim,
                                 num_layers=c.num_layers, depthwise_conv_kernel_size=c.conv_kernel,
                                 dropout=c.dropout)
        if c.blank_separated:
            self.head = BlankSeparatedOutput(c.d_model, c.num_tokens, blank=c.blank)
        else:
            self.head = nn.Linear(c.d_model, c.num_tokens)
        self.condition = nn.ModuleDict({
            str(k): nn.Linear(c.num_tokens, c.d_model) for k in c.inter_layers
        }) if c.self_condition else nn.ModuleDict()
        # torchaudio's convolution module convolves over padding frames as if they were speech, so
        # an utterance's outputs near its end would depend on how much padding its batch adds: the
        # depthwise convolution sees zeros there instead, as it does past the end of a lone utterance
        self._padding: torch.Tensor | None = None
        for layer in self.encoder.conformer_layers:
            layer.conv_module.sequential[2].register_forward_pre_hook(self._zero_padding)

    def _zero_padding(self, module: nn.Module, args: tuple[torch.Tensor]) -> tuple[torch.Tensor] | None:
        if self._padding is None:
            return None
        return (args[0].masked_fill(self._padding[:, None, :], 0.0),)  # [B, C, T]

    @property
    def frame_shift_factor(self) -> int:
        return self.config.subsampling

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Head logits ``[B, T, V]`` (plain head only; what normalized-gradient training needs)."""
        if self.config.blank_separated:
            raise ValueError("the blank-separated head has no plain softmax logits")
        return self.head(hidden)

    def log_probs_from_hidden(self, hidden: torch.Tensor) -> torch.Tensor:
        if self.config.blank_separated:
            return self.head(hidden)
        return self.head(hidden).log_softmax(-1)

    def encode(self, features: torch.Tensor, lengths: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Hidden states ``[B, T, d]``, output lengths and intermediate log-probs."""
        x, out_lengths = self.frontend(features, lengths)
        hidden, inter = self.encode_frames(self.dropout(x), out_lengths)
        return hidden, out_lengths, inter

    def encode_frames(self, x: torch.Tensor, out_lengths: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The encoder on frontend output ``x`` ``[B, T, d]`` (paper's ``x_1^T``, Eq. 1-2): hidden
        states ``[B, T, d]`` and intermediate log-probs. Gradient alignment differentiates this."""
        pad = torch.arange(x.shape[1], device=x.device)[None] >= out_lengths[:, None]
        x = x.transpose(0, 1)  # torchaudio's Conformer layers take [T, B, d]
        inter = []
        self._padding = pad if bool(pad.any()) else None
        try:
            for i, layer in enumerate(self.encoder.conformer_layers, start=1):
                x = layer(x, pad)
                if i in self.config.inter_layers:
                    lp = self.log_probs_from_hidden(x.transpose(0, 1))
                    inter.append(lp)
                    if str(i) in self.condition:
                        x = x + self.condition[str(i)](lp.exp()).transpose(0, 1)
        finally:
            self._padding = None
        return x.transpose(0, 1), inter

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> ModelOutput:
        """``features`` ``[B, T', F]`` float32, ``lengths`` ``[B]`` input frames."""
        hidden, out_lengths, inter = self.encode(features, lengths)
        return ModelOutput(self.log_probs_from_hidden(hidden), out_lengths, inter)
