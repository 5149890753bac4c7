"""The dense-intersection engine: graphs x per-frame log-probs -> full-sum, soft alignment, Viterbi."""

from .intersect import ViterbiResult, full_sum, prepare_inputs, soft_alignment, viterbi

__all__ = ["ViterbiResult", "full_sum", "soft_alignment", "viterbi", "prepare_inputs"]
