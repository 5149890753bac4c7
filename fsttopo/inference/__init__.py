"""Alignment decisions, between the engine (graphs, recursions) and the aligner that runs a model:
the alignment-time options and their validation, and the emission scores they make of a model's
log-probabilities (blank/silence penalty, label prior, posterior scale)."""

from .options import ALIGN_OPTIONS, GRADIENT_METHODS, check_align_options
from .scores import emission_scores, utterance_log_prior

__all__ = ["ALIGN_OPTIONS", "GRADIENT_METHODS", "check_align_options", "emission_scores", "utterance_log_prior"]
