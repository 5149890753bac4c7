"""The dense-intersection engine: graphs x per-frame log-probs -> full-sum, soft alignment, Viterbi."""

from .intersect import (NoPathError, ViterbiResult, full_sum, prepare_inputs, scaled_emissions, soft_alignment,
                        state_posteriors, viterbi)

__all__ = ["NoPathError", "ViterbiResult", "full_sum", "soft_alignment", "state_posteriors", "viterbi",
           "prepare_inputs", "scaled_emissions"]
