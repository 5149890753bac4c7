"""A small boundary detector over the 10 ms log-mel features (seed 000's boundary branch).

It sees the features, not the aligner's encoder, so it works with any trained aligner: the aligner
places each word boundary on its (coarse) model-frame grid and :mod:`fsttopo.align.refine` moves it
to the detector's peak nearby, on the 10 ms feature grid or between two feature frames.

Time convention: feature frame ``t`` stands for the time ``(t + 0.5) * FEATURE_SHIFT`` seconds (the
middle of its 10 ms hop); a boundary at ``b`` seconds sits at the fractional frame
``b / FEATURE_SHIFT - 0.5`` (:func:`seconds_to_frames`). Training targets and refinement use the
same convention, so any constant offset of the features' analysis windows is learnt.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..data.features import FEATURE_SHIFT

__all__ = ["BoundaryConfig", "BoundaryDetector", "seconds_to_frames", "frames_to_seconds", "length_mask",
           "detector_to_dict", "detector_from_dict"]


def seconds_to_frames(seconds: torch.Tensor) -> torch.Tensor:
    """Boundary times (seconds, any shape) -> fractional feature-frame positions (same shape)."""
    return seconds / FEATURE_SHIFT - 0.5


def frames_to_seconds(frames: torch.Tensor) -> torch.Tensor:
    """Fractional feature-frame positions -> seconds (inverse of :func:`seconds_to_frames`)."""
    return (frames + 0.5) * FEATURE_SHIFT


def length_mask(lengths: torch.Tensor, num_frames: int) -> torch.Tensor:
    """``[B]`` lengths -> ``[B, num_frames]`` bool, True on valid frames."""
    return torch.arange(num_frames, device=lengths.device)[None, :] < lengths[:, None]


@dataclass(frozen=True)
class BoundaryConfig:
    """Shape of a :class:`BoundaryDetector`.

    Attributes:
        num_features: input feature dimension (80 log-mel bins).
        channels: width of every convolution.
        input_kernel: kernel (frames) of the first convolution.
        dilations: one residual block (kernel 3) per entry; receptive field
            ``input_kernel + 2 * sum(dilations)`` frames.
        dropout: inside the residual blocks, training only.
    """

    num_features: int = 80
    channels: int = 64
    input_kernel: int = 5
    dilations: tuple[int, ...] = (1, 2, 4, 8, 1)
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.num_features < 1 or self.channels < 1:
            raise ValueError(f"num_features and channels must be positive, got {self.num_features}, {self.channels}")
        if self.input_kernel < 1 or self.input_kernel % 2 == 0:
            raise ValueError(f"input_kernel must be a positive odd number of frames, got {self.input_kernel}")
        if not self.dilations or any(int(d) < 1 for d in self.dilations):
            raise ValueError(f"dilations must be positive integers, got {self.dilations}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        object.__setattr__(self, "dilations", tuple(int(d) for d in self.dilations))

    def to_dict(self) -> dict:
        return {**asdict(self), "dilations": list(self.dilations)}


class _Block(nn.Module):
    """Residual block: dilated conv (kernel 3) -> GELU -> pointwise conv, added to the input."""

    def __init__(self, channels: int, dilation: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.point = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.point(self.dropout(nn.functional.gelu(self.conv(x))))
        return (x + h) * mask


class BoundaryDetector(nn.Module):
    """Per 10 ms feature frame, the logit that a word or phone boundary lies in that frame.

    The input is mean-normalized per utterance and mel bin over its valid frames (a gain change is
    a constant offset of log-mel features, so the logits do not depend on the level), then goes
    through a stack of 1-D convolutions; padded frames are zeroed before every convolution, so a
    padded utterance gets the same logits as alone.
    """

    def __init__(self, config: BoundaryConfig | None = None):
        super().__init__()
        self.config = config or BoundaryConfig()
        c = self.config
        self.input = nn.Conv1d(c.num_features, c.channels, c.input_kernel, padding=c.input_kernel // 2)
        self.blocks = nn.ModuleList(_Block(c.channels, d, c.dropout) for d in c.dilations)
        self.output = nn.Conv1d(c.channels, 1, 1)

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``features [B, T, F]`` float, ``lengths [B]`` valid frames -> logits ``[B, T]`` float
        (``-inf`` on padded frames)."""
        if features.ndim != 3 or features.shape[-1] != self.config.num_features:
            raise ValueError(f"features must be [B, T, {self.config.num_features}], got {tuple(features.shape)}")
        if lengths.ndim != 1 or lengths.shape[0] != features.shape[0]:
            raise ValueError(f"lengths must be [B={features.shape[0]}], got {tuple(lengths.shape)}")
        if bool((lengths < 1).any()) or bool((lengths > features.shape[1]).any()):
            raise ValueError(f"lengths must be in [1, T={features.shape[1]}], got {lengths.tolist()}")
        valid = length_mask(lengths.to(features.device), features.shape[1])    # [B, T]
        mask = valid[:, None, :].to(features.dtype)                           # [B, 1, T]
        x = features.transpose(1, 2) * mask                                   # [B, F, T]
        mean = x.sum(-1, keepdim=True) / lengths.to(x)[:, None, None]
        x = (x - mean) * mask
        h = nn.functional.gelu(self.input(x)) * mask
        for block in self.blocks:
            h = block(h, mask)
        logits = self.output(h)[:, 0]                                          # [B, T]
        return logits.masked_fill(~valid, float("-inf"))


def detector_to_dict(detector: BoundaryDetector, half: bool = True) -> dict:
    """``{"config", "state"}`` of a detector, the form model files and detector files carry
    (``half``: float16 weights, half the size; the logits change by about 1e-3)."""
    state = {k: (v.half() if half and v.is_floating_point() else v) for k, v in detector.state_dict().items()}
    return {"config": detector.config.to_dict(), "state": state}


def detector_from_dict(blob: dict, where: str = "boundary detector") -> BoundaryDetector:
    """The detector (eval mode, float32) of :func:`detector_to_dict`'s dict; ValueError naming
    ``where`` if it is not one."""
    if not isinstance(blob, dict) or "config" not in blob or "state" not in blob:
        raise ValueError(f"{where}: not a boundary detector (needs 'config' and 'state')")
    try:
        detector = BoundaryDetector(BoundaryConfig(**blob["config"]))
        detector.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state"].items()})
    except (TypeError, RuntimeError) as err:
        raise ValueError(f"{where}: the detector's configuration and weights do not match ({err})") from err
    return detector.eval()
