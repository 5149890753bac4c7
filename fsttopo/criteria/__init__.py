"""Training criteria for any PyTorch training loop (paper sec. 2-4, A.2, A.6).

- label priors: static (from counts or transcriptions), posterior averages per sequence / batch,
  running average; with or without stop-gradient (:mod:`.priors`);
- normalized-gradient full-sum loss, Eq. 11 (:mod:`.normalized_gradient`);
- blank-separated output layer, Eq. 15-17, with fast greedy decoding and framewise CE
  (:mod:`.blank_separated`);
- framewise cross-entropy against a fixed alignment, Eq. 12 (:mod:`.framewise`);
- blank penalty for forced alignment, Table 14 (:mod:`.blank_penalty`);
- Aligner-Encoder / InterAligner cross-entropy of token ``u`` at encoder position ``u``, EOS after
  the last (:mod:`.aligner`, issue 16).

See ``docs/criteria.md`` for equations and examples.
"""

from .aligner import aligner_loss, aligner_targets, pad_token_sequences
from .blank_penalty import apply_blank_penalty
from .blank_separated import BlankSeparatedOutput, blank_separated_log_softmax
from .framewise import framewise_ce
from .normalized_gradient import normalized_gradient_loss, normalized_gradient_scale
from .priors import (
    PosteriorPrior,
    RunningPrior,
    StaticPrior,
    apply_prior,
    label_counts,
    log_prior_from_counts,
    posterior_log_prior,
    transcription_counts,
)

__all__ = [
    "label_counts", "transcription_counts", "log_prior_from_counts", "posterior_log_prior",
    "apply_prior", "StaticPrior", "PosteriorPrior", "RunningPrior",
    "normalized_gradient_loss", "normalized_gradient_scale",
    "blank_separated_log_softmax", "BlankSeparatedOutput",
    "framewise_ce",
    "apply_blank_penalty",
    "aligner_loss", "aligner_targets", "pad_token_sequences",
]
