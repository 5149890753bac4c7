"""The acoustic model: frontend + Conformer encoder + output head (paper Eqs. 1-4, 15-17), with
optional intermediate CTC layers and self-conditioning (seed 002), or an Aligner-Encoder decoder
with optional InterAligner layers (issue 16, docs/aligner_encoder.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torchaudio.models import Conformer

from ..criteria import BlankSeparatedOutput
from .aligner_decoder import AlignerDecoder
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
    aligner: bool = False                  # Aligner-Encoder decoder instead of the final CTC output
    aligner_layers: tuple[int, ...] = field(default_factory=tuple)  # InterAligner layers (aligner only)
    aligner_embed_dim: int = 128
    aligner_lstm_dim: int = 256
    aligner_joint_dim: int = 256

    def __post_init__(self) -> None:
        self.inter_layers = tuple(self.inter_layers)
        self.aligner_layers = tuple(self.aligner_layers)
        for name, layers in (("inter_layers", self.inter_layers), ("aligner_layers", self.aligner_layers)):
            for k in layers:
                if not 1 <= k < self.num_layers:
                    raise ValueError(f"{name} must lie in [1, {self.num_layers - 1}], got {k}")
            if len(set(layers)) != len(layers):
                raise ValueError(f"{name} lists a layer twice: {layers}")
        if self.aligner_layers and not self.aligner:
            raise ValueError("aligner_layers (InterAligner) need aligner=True")
        if self.aligner and self.blank_separated:
            raise ValueError("an aligner model has no blank: blank_separated must be False")
        if min(self.aligner_embed_dim, self.aligner_lstm_dim, self.aligner_joint_dim) < 1:
            raise ValueError("aligner_embed_dim, aligner_lstm_dim and aligner_joint_dim must be >= 1")
        if self.num_tokens < 2:
            raise ValueError(f"num_tokens must be >= 2, got {self.num_tokens}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ModelOutput:
    log_probs: torch.Tensor | None          # [B, T, V] final-layer log-probabilities (None: aligner model)
    lengths: torch.Tensor                   # [B] output frames
    inter_log_probs: list[torch.Tensor]     # per intermediate CTC layer, [B, T, V]
    hidden: torch.Tensor | None = None      # [B, T, d] final hidden states (aligner models)
    aligner_hidden: list[torch.Tensor] = field(default_factory=list)  # per InterAligner layer, [B, T, d]


class AlignmentModel(nn.Module):
    """``features [B, T', F] -> log p(y | x)`` ``[B, T, V]`` at ``T = ceil(T' / subsampling)``.

    The output head is a linear layer + log-softmax, or the blank-separated layer of Eq. 15-17.
    Intermediate layers listed in ``inter_layers`` (1-based, after that many Conformer layers) get
    their own log-probs through the same head; with ``self_condition`` their posteriors are
    projected back (``Linear(V, d)``) and added to the layer output (self-conditioned CTC).

    With ``aligner`` the final layer feeds an :class:`AlignerDecoder` (``aligner_decoder``; EOS and
    start symbol = the blank id) instead of the head: ``forward`` returns no ``log_probs`` but the
    final ``hidden`` states and those of the ``aligner_layers`` (InterAligner, the same decoder);
    the head then serves the InterCTC layers only.
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
        elif c.aligner and not c.inter_layers:
            self.head = None  # an aligner model reads the head only on its InterCTC layers
        else:
            self.head = nn.Linear(c.d_model, c.num_tokens)
        self.condition = nn.ModuleDict({
            str(k): nn.Linear(c.num_tokens, c.d_model) for k in c.inter_layers
        }) if c.self_condition else nn.ModuleDict()
        self.aligner_decoder = AlignerDecoder(c.d_model, c.num_tokens, c.aligner_embed_dim, c.aligner_lstm_dim,
                                              c.aligner_joint_dim, eos=c.blank) if c.aligner else None
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
        if self.head is None:
            raise ValueError("this aligner model has no CTC head (no inter_layers)")
        return self.head(hidden)

    def log_probs_from_hidden(self, hidden: torch.Tensor) -> torch.Tensor:
        if self.config.blank_separated:
            return self.head(hidden)
        return self.head(hidden).log_softmax(-1)

    def encode(self, features: torch.Tensor, lengths: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Hidden states ``[B, T, d]``, output lengths and intermediate log-probs."""
        x, out_lengths = self.frontend(features, lengths)
        hidden, inter, _ = self.encode_frames(self.dropout(x), out_lengths)
        return hidden, out_lengths, inter

    def encode_frames(self, x: torch.Tensor, out_lengths: torch.Tensor
                      ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """The encoder on frontend output ``x`` ``[B, T, d]`` (paper's ``x_1^T``, Eq. 1-2): hidden
        states ``[B, T, d]``, intermediate CTC log-probs and the hidden states ``[B, T, d]`` of the
        InterAligner layers. Gradient alignment differentiates this."""
        pad = torch.arange(x.shape[1], device=x.device)[None] >= out_lengths[:, None]
        x = x.transpose(0, 1)  # torchaudio's Conformer layers take [T, B, d]
        inter, aligner_hidden = [], []
        self._padding = pad if bool(pad.any()) else None
        # no mask without padding: torch's check of a key padding mask imports sympy (0.8 s at start-up)
        mask = self._padding
        try:
            for i, layer in enumerate(self.encoder.conformer_layers, start=1):
                x = layer(x, mask)
                if i in self.config.aligner_layers:
                    aligner_hidden.append(x.transpose(0, 1))
                if i in self.config.inter_layers:
                    lp = self.log_probs_from_hidden(x.transpose(0, 1))
                    inter.append(lp)
                    if str(i) in self.condition:
                        x = x + self.condition[str(i)](lp.exp()).transpose(0, 1)
        finally:
            self._padding = None
        return x.transpose(0, 1), inter, aligner_hidden

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> ModelOutput:
        """``features`` ``[B, T', F]`` float32, ``lengths`` ``[B]`` input frames."""
        x, out_lengths = self.frontend(features, lengths)
        hidden, inter, aligner_hidden = self.encode_frames(self.dropout(x), out_lengths)
        if self.config.aligner:
            return ModelOutput(None, out_lengths, inter, hidden, aligner_hidden)
        return ModelOutput(self.log_probs_from_hidden(hidden), out_lengths, inter)
