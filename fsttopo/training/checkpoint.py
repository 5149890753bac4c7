"""Save and load trained aligners: weights + every configuration needed to use them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..models import AlignmentModel, ModelConfig
from .objective import ObjectiveConfig

__all__ = ["ModelFile", "save_model", "read_model_file", "load_model"]


@dataclass
class ModelFile:
    """The contents of a model file.

    Attributes:
        model: the acoustic model, in eval mode.
        objective: its training objective (topology, scales, transitions).
        tokens: token symbols, index = id.
        align_options: alignment-time defaults tuned for this model, keyword arguments of
            :meth:`fsttopo.aligner.Aligner.align` (``blank_penalty``, ``prior_scale``); empty if none.
    """

    model: AlignmentModel
    objective: ObjectiveConfig
    tokens: list[str]
    align_options: dict = field(default_factory=dict)


def save_model(path: str | Path, model: AlignmentModel, objective_config: ObjectiveConfig,
               tokens: list[str], half: bool = False, extra: dict | None = None,
               align_options: dict | None = None) -> None:
    """Write a self-contained model file (``half`` stores float16 weights, for shipping;
    ``align_options`` the alignment-time defaults, see :class:`ModelFile`)."""
    state = {k: (v.half() if half and v.is_floating_point() else v) for k, v in model.state_dict().items()}
    torch.save({"model_config": model.config.to_dict(), "objective_config": objective_config.to_dict(),
                "tokens": list(tokens), "model": state, "align_options": dict(align_options or {}),
                **(extra or {})}, path)


def read_model_file(path: str | Path, device: str | torch.device = "cpu") -> ModelFile:
    """Load a file written by :func:`save_model` or a training checkpoint."""
    blob = torch.load(path, map_location=device, weights_only=False)
    for key in ("model_config", "objective_config", "tokens", "model"):
        if key not in blob:
            raise ValueError(f"{path} is not an fsttopo model file (missing {key!r})")
    model = AlignmentModel(ModelConfig(**blob["model_config"]))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["model"].items()})
    return ModelFile(model.to(device).eval(), ObjectiveConfig(**blob["objective_config"]), blob["tokens"],
                     dict(blob.get("align_options", {})))


def load_model(path: str | Path, device: str | torch.device = "cpu"
               ) -> tuple[AlignmentModel, ObjectiveConfig, list[str]]:
    """``(model, objective, tokens)`` of :func:`read_model_file`."""
    f = read_model_file(path, device)
    return f.model, f.objective, f.tokens
