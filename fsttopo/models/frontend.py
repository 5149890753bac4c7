"""Convolutional downsampling frontend (paper Eq. 1): ``T = ceil(T' / F)`` for ``F`` in {2, 4, 6}."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ConvFrontend"]

_STRIDES = {2: (2, 1), 4: (2, 2), 6: (2, 3)}


class ConvFrontend(nn.Module):
    """Two 2-D convolutions over (time, feature) with time strides giving ``factor``, then a linear
    projection to ``d_model``.

    Args:
        num_features: input feature dimension ``F_in`` (e.g. 80 fbank bins).
        d_model: output dimension.
        factor: time downsampling factor, 2, 4 or 6 (paper: 4 or 6; 2 for finer time stamps).
        channels: convolution channels.
    """

    def __init__(self, num_features: int, d_model: int, factor: int = 4, channels: int = 64):
        super().__init__()
        if factor not in _STRIDES:
            raise ValueError(f"factor must be one of {sorted(_STRIDES)}, got {factor}")
        self.factor = factor
        s1, s2 = _STRIDES[factor]
        # padding 1 with kernel 3: each conv maps T to ceil(T / stride)
        self.conv = nn.Sequential(
            nn.Conv2d(1, channels, 3, stride=(s1, 2), padding=1), nn.SiLU(),
            nn.Conv2d(channels, channels, 3, stride=(s2, 2), padding=1), nn.SiLU(),
        )
        freq = -(-(-(-num_features // 2)) // 2)
        self.proj = nn.Linear(channels * freq, d_model)
        self._strides = (s1, s2)

    @property
    def frame_offset(self) -> float:
        """Where output frame ``t`` starts, relative to input frame ``factor * t``, in input frames:
        ``-(factor - 1) / 2``.

        Each kernel-3, padding-1 convolution centres output frame ``i`` on its input frame
        ``stride * i``, so output frame ``t`` is centred on input frame ``factor * t``; giving it
        the ``factor`` input frames around that centre puts its start ``(factor - 1) / 2`` input
        frames earlier. (Reading frame ``t`` as input frames ``[factor t, factor (t+1))`` instead
        would put every time stamp ``(factor - 1) / 2`` input frames late: 15 ms at 4x.)
        """
        return -(self.factor - 1) / 2

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """``[B]`` frames after downsampling: ``ceil(ceil(T' / s1) / s2)`` = ``ceil(T' / factor)``."""
        s1, s2 = self._strides
        return torch.div(torch.div(lengths + s1 - 1, s1, rounding_mode="floor") + s2 - 1, s2,
                         rounding_mode="floor")

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``features`` ``[B, T', F_in]`` -> ``([B, T, d_model], lengths [B])``."""
        x = self.conv[1](self.conv[0](features.unsqueeze(1)))  # [B, C, T1, F']
        # the second convolution must see zeros past an utterance's end, as it does without padding
        s1 = self._strides[0]
        valid = torch.arange(x.shape[2], device=x.device)[None, :] < torch.div(
            lengths.to(x.device) + s1 - 1, s1, rounding_mode="floor")[:, None]
        x = self.conv[3](self.conv[2](x * valid[:, None, :, None]))  # [B, C, T, F']
        B, C, T, Fq = x.shape
        x = self.proj(x.permute(0, 2, 1, 3).reshape(B, T, C * Fq))
        return x, self.output_lengths(lengths)
