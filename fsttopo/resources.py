"""Files shipped inside the package (found with :mod:`importlib.resources`, so they work from a
wheel installed anywhere, not only from a checkout): the trained aligner with its decoder, and an
example recording of a voice held out of its training, with its transcript and reference alignment."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["ASSETS_DIR", "MODEL_DIR", "ROBUST_MODEL_DIR", "ROUTING_FILE", "EXAMPLE_DIR", "SHIPPED_MODELS",
           "AUTO_MODEL", "default_model_path", "model_path", "example_paths"]

ASSETS_DIR = Path(str(files("fsttopo") / "assets"))
MODEL_DIR = ASSETS_DIR / "model"
ROBUST_MODEL_DIR = ASSETS_DIR / "model_robust"
ROUTING_FILE = ASSETS_DIR / "routing.json"
"""Which shipped model ``--model auto`` gives a recording (:mod:`fsttopo.inference.model_routing`)."""
EXAMPLE_DIR = ASSETS_DIR / "example"
EXAMPLE_NAME = "flite-rms-s13372"


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise ValueError(f"{path} is missing from this installation of fsttopo (reinstall the package)")
    return path


SHIPPED_MODELS = {  # name -> directory; docs/augmentation.md says how each was made
    "default": MODEL_DIR,        # trained on clean synthesized speech
    "robust": ROBUST_MODEL_DIR,  # fine-tuned on noisy, reverberant, telephone and quiet copies
}


AUTO_MODEL = "auto"
"""The model name that picks a shipped model per recording (:data:`ROUTING_FILE`)."""


def default_model_path() -> Path:
    """The shipped default model file (``model.pt``; its decoder ``decoder.json.gz`` lies beside it)."""
    return Path(model_path("default"))


def model_path(model: str | Path) -> str:
    """A shipped model's name (``"default"``, ``"robust"``: :data:`SHIPPED_MODELS`) -> its
    ``model.pt``; anything else is taken as a model file path and returned as it is."""
    if str(model) in SHIPPED_MODELS:
        return str(_existing(SHIPPED_MODELS[str(model)] / "model.pt"))
    return str(model)


def example_paths() -> tuple[Path, Path, Path]:
    """The shipped example: ``(audio .wav, transcript .txt, reference alignment .json)``."""
    return tuple(_existing(EXAMPLE_DIR / f"{EXAMPLE_NAME}{suffix}") for suffix in (".wav", ".txt", ".json"))
