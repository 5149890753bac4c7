"""Training: objective (topology + scales + priors), Lhotse batches, schedule, trainer, checkpoints."""

from .checkpoint import ModelFile, load_model, read_model_file, save_model
from .label_prior import estimate_log_prior
from .data import AugmentedCutBatches, CutBatches, make_sampler, pad_features
from .objective import TOPOLOGIES, Objective, ObjectiveConfig, build_graphs
from .schedule import one_cycle_factor, one_cycle_scheduler
from .trainer import SpecAugment, TrainConfig, train, train_step

__all__ = [
    "Objective", "ObjectiveConfig", "TOPOLOGIES", "build_graphs",
    "CutBatches", "AugmentedCutBatches", "make_sampler", "pad_features",
    "one_cycle_factor", "one_cycle_scheduler",
    "SpecAugment", "TrainConfig", "train", "train_step",
    "ModelFile", "save_model", "read_model_file", "load_model", "estimate_log_prior",
]
