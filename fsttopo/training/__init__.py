"""Training: objective (topology + scales + priors), Lhotse batches, schedule, trainer, checkpoints."""

import importlib

_SUBMODULE_OF = {
    "ModelFile": "checkpoint", "load_model": "checkpoint", "read_model_file": "checkpoint", "save_model": "checkpoint",
    "estimate_log_prior": "label_prior",
    "AugmentedCutBatches": "data", "CutBatches": "data", "make_sampler": "data", "pad_features": "data",
    "TOPOLOGIES": "objective", "Objective": "objective", "ObjectiveConfig": "objective", "build_graphs": "objective",
    "one_cycle_factor": "schedule", "one_cycle_scheduler": "schedule",
    "SpecAugment": "trainer", "TrainConfig": "trainer", "train": "trainer", "train_step": "trainer",
}

__all__ = [
    "Objective", "ObjectiveConfig", "TOPOLOGIES", "build_graphs",
    "CutBatches", "AugmentedCutBatches", "make_sampler", "pad_features",
    "one_cycle_factor", "one_cycle_scheduler",
    "SpecAugment", "TrainConfig", "train", "train_step",
    "ModelFile", "save_model", "read_model_file", "load_model", "estimate_log_prior",
]


def __getattr__(name: str):
    # loading a model file needs only the checkpoint and objective modules, not Lhotse's batches
    # and the trainer (importing them all took 0.4-0.6 s of `fsttopo align`)
    if name in _SUBMODULE_OF:
        return getattr(importlib.import_module(f".{_SUBMODULE_OF[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
