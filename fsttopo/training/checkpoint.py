"""Save and load trained aligners: weights + every configuration needed to use them."""

from __future__ import annotations

from pathlib import Path

import torch

from ..models import AlignmentModel, ModelConfig
from .objective import ObjectiveConfig

__all__ = ["save_model", "load_model"]


def save_model(path: str | Path, model: AlignmentModel, objective_config: ObjectiveConfig,
               tokens: list[str], half: bool = False, extra: dict | None = None) -> None:
    """Write a self-contained model file (``half`` stores float16 weights, for shipping)."""
    state = {k: (v.half() if half and v.is_floating_point() else v) for k, v in model.state_dict().items()}
    torch.save({"model_config": model.config.to_dict(), "objective_config": objective_config.to_dict(),
                "tokens": list(tokens), "model": state, **(extra or {})}, path)


def load_model(path: str | Path, device: str | torch.device = "cpu"
               ) -> tuple[AlignmentModel, ObjectiveConfig, list[str]]:
    """Load a file written by :func:`save_model` or a training checkpoint; model in eval mode."""
    blob = torch.load(path, map_location=device, weights_only=False)
    for key in ("model_config", "objective_config", "tokens", "model"):
        if key not in blob:
            raise ValueError(f"{path} is not an fsttopo model file (missing {key!r})")
    model = AlignmentModel(ModelConfig(**blob["model_config"]))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["model"].items()})
    return model.to(device).eval(), ObjectiveConfig(**blob["objective_config"]), blob["tokens"]
