"""Save and load trained aligners: weights + every configuration needed to use them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..align.refine import BoundaryRefiner
from ..data.units import CMUDICT
from ..models import AlignmentModel, ModelConfig
from .objective import ObjectiveConfig

__all__ = ["ModelFile", "save_model", "read_model_file", "load_model", "add_boundary_refiner"]


@dataclass
class ModelFile:
    """The contents of a model file.

    Attributes:
        model: the acoustic model, in eval mode.
        objective: its training objective (topology, scales, transitions).
        tokens: token symbols, index = id.
        align_options: alignment-time defaults tuned for this model, keyword arguments of
            :meth:`fsttopo.aligner.Aligner.align` (``blank_penalty``, ``prior_scale``); empty if none.
        log_prior: ``[V]`` label prior estimated on the training data (:func:`estimate_log_prior`),
            the prior of alignment and decoding; ``None`` in files written without one.
        confidence_threshold: utterances aligned with a lower relative confidence are flagged as likely
            transcript mismatches (calibrated on held-out data, ``recipes/tts/calibrate_confidence.py``);
            ``None`` when not calibrated.
        confidence_adjustment: the dict of a
            :class:`~fsttopo.inference.confidence_conditions.ConditionAdjustment` (the confidence a right
            transcript is expected to lose to its recording's noise or reverberation, added back
            before the threshold), calibrated with it; ``None`` when not calibrated so.
        boundary_refiner: the optional boundary detector with its refinement settings
            (:class:`~fsttopo.align.refine.BoundaryRefiner`, entry ``boundary_detector``), used by
            the ``refine_boundaries`` alignment option; ``None`` in files without one.
        units: how text becomes the tokens (:mod:`fsttopo.data.units`: ``{"kind": "cmudict"}``,
            a pronunciation dictionary, graphemes or SentencePiece); files written without the
            entry were trained on CMUdict.
    """

    model: AlignmentModel
    objective: ObjectiveConfig
    tokens: list[str]
    align_options: dict = field(default_factory=dict)
    log_prior: torch.Tensor | None = None
    confidence_threshold: float | None = None
    boundary_refiner: BoundaryRefiner | None = None
    units: dict = field(default_factory=lambda: dict(CMUDICT))
    confidence_adjustment: dict | None = None


def save_model(path: str | Path, model: AlignmentModel, objective_config: ObjectiveConfig,
               tokens: list[str], half: bool = False, extra: dict | None = None,
               align_options: dict | None = None, log_prior: torch.Tensor | None = None,
               boundary_refiner: BoundaryRefiner | None = None, units: dict | None = None) -> None:
    """Write a self-contained model file (``half`` stores float16 weights, for shipping;
    ``align_options`` the alignment-time defaults, ``log_prior`` the ``[V]`` label prior,
    ``boundary_refiner`` an optional boundary detector, ``units`` the dict of
    :func:`fsttopo.data.units.units_to_dict` (default: none stored, which reads as CMUdict), see
    :class:`ModelFile`; the prior stays float32 because its small entries matter)."""
    if log_prior is not None:
        log_prior = _checked_prior(log_prior, len(tokens), str(path))
    state = {k: (v.half() if half and v.is_floating_point() else v) for k, v in model.state_dict().items()}
    torch.save({"model_config": model.config.to_dict(), "objective_config": objective_config.to_dict(),
                "tokens": list(tokens), "model": state, "align_options": dict(align_options or {}),
                **({"log_prior": log_prior} if log_prior is not None else {}),
                **({"boundary_detector": boundary_refiner.to_dict()} if boundary_refiner is not None else {}),
                **({"units": dict(units)} if units is not None else {}),
                **(extra or {})}, path)


def _checked_prior(log_prior, num_tokens: int, where: str) -> torch.Tensor:
    log_prior = torch.as_tensor(log_prior, dtype=torch.float32).detach().cpu()
    if log_prior.shape != (num_tokens,) or not bool(torch.isfinite(log_prior).all()):
        raise ValueError(f"{where}: the label prior must be {num_tokens} finite log-probabilities, got shape "
                         f"{tuple(log_prior.shape)}")
    return log_prior


def read_model_file(path: str | Path, device: str | torch.device = "cpu") -> ModelFile:
    """Load a file written by :func:`save_model` or a training checkpoint."""
    try:
        blob = torch.load(path, map_location=device, weights_only=False)
    except FileNotFoundError:
        raise ValueError(f"model file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"model file {str(path)!r} is a directory") from None
    except Exception as err:  # torch raises many kinds (UnpicklingError, RuntimeError, EOFError) for non-models
        raise ValueError(f"{path} is not an fsttopo model file ({type(err).__name__}: {err})") from err
    if not isinstance(blob, dict):
        raise ValueError(f"{path} is not an fsttopo model file")
    for key in ("model_config", "objective_config", "tokens", "model"):
        if key not in blob:
            raise ValueError(f"{path} is not an fsttopo model file (missing {key!r})")
    model = AlignmentModel(ModelConfig(**blob["model_config"]))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["model"].items()})
    prior = blob.get("log_prior")
    refiner = blob.get("boundary_detector")
    units = blob.get("units", CMUDICT)
    if not isinstance(units, dict) or "kind" not in units:
        raise ValueError(f"{path}: the 'units' entry must be a dict with a 'kind', got {type(units).__name__}")
    return ModelFile(model.to(device).eval(), ObjectiveConfig(**blob["objective_config"]), blob["tokens"],
                     dict(blob.get("align_options", {})),
                     None if prior is None else _checked_prior(prior, len(blob["tokens"]), str(path)).to(device),
                     blob.get("calibration", {}).get("confidence_threshold"),
                     None if refiner is None else BoundaryRefiner.from_dict(refiner, f"{path}: boundary_detector"),
                     dict(units), blob.get("calibration", {}).get("condition_adjustment"))


def load_model(path: str | Path, device: str | torch.device = "cpu"
               ) -> tuple[AlignmentModel, ObjectiveConfig, list[str]]:
    """``(model, objective, tokens)`` of :func:`read_model_file`."""
    f = read_model_file(path, device)
    return f.model, f.objective, f.tokens


def add_boundary_refiner(path: str | Path, refiner: BoundaryRefiner, out: str | Path,
                         default: bool = False) -> None:
    """Copy the model file ``path`` to ``out`` with ``refiner`` as its ``boundary_detector`` (any
    trained aligner takes any detector: it sees only the features); ``default`` stores
    ``refine_boundaries=True`` in its alignment defaults (else the option is left out)."""
    read_model_file(path)  # a model file, or a ValueError naming it
    blob = torch.load(path, map_location="cpu", weights_only=False)
    options = {k: v for k, v in dict(blob.get("align_options", {})).items() if k != "refine_boundaries"}
    blob["align_options"] = {**options, **({"refine_boundaries": True} if default else {})}
    blob["boundary_detector"] = refiner.to_dict()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")  # a failed write leaves no half model file
    torch.save(blob, partial)
    partial.replace(out)
