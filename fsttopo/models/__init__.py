"""Acoustic models: downsampling frontend, Conformer encoder, output heads."""

from .encoder import AlignmentModel, ModelConfig, ModelOutput
from .frontend import ConvFrontend

__all__ = ["AlignmentModel", "ModelConfig", "ModelOutput", "ConvFrontend"]
