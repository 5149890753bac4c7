"""Lexicon-constrained Viterbi decoding: the best word sequence through a lexicon network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..engine import scaled_emissions
from . import _numba
from .network import LexiconNetwork

__all__ = ["WordHypothesis", "decode_words"]


@dataclass(frozen=True)
class WordHypothesis:
    """Best path of one utterance.

    Attributes:
        words: the decoded words.
        word_ids: their indices into ``LexiconNetwork.words``.
        score: path score: scaled emissions + transitions (as :func:`fsttopo.viterbi`) +
            ``lm_scale * log P(word) + word_penalty`` per word.
    """

    words: list[str]
    word_ids: list[int]
    score: float

    @property
    def text(self) -> str:
        return " ".join(self.words)


def decode_words(
    log_probs: torch.Tensor,
    lengths: torch.Tensor | Sequence[int],
    network: LexiconNetwork,
    *,
    posterior_scale: float = 1.0,
    log_prior: torch.Tensor | None = None,
    prior_scale: float = 0.0,
    transition_scale: float = 1.0,
    lm_scale: float = 1.0,
    word_penalty: float = 0.0,
) -> list[WordHypothesis]:
    """Exact Viterbi search (no beam) for the best word sequence of each utterance.

    A word sequence scores what :func:`fsttopo.viterbi` gives its graph in the network's topology
    (same scales), plus ``lm_scale * log P(w) + word_penalty`` for every word ``w``. Runs on the
    CPU (compiled, one thread per utterance) in ``O(frames x states)`` time and keeps one byte
    of back-pointer per frame and network state.

    Args:
        log_probs: ``[B, T, V]`` float32/float64 per-frame log-probabilities (any device).
        lengths: ``[B]`` valid frames per utterance; an utterance with 0 frames decodes to no words.
        network: from :func:`~fsttopo.decode.network.lexicon_network`.
        posterior_scale, log_prior, prior_scale, transition_scale: as :func:`fsttopo.viterbi`.
        lm_scale: weight of the LM log-probabilities.
        word_penalty: added per word (negative values favour fewer words).

    Returns:
        One :class:`WordHypothesis` per utterance.
    """
    if not isinstance(network, LexiconNetwork):
        raise TypeError(f"network must be a LexiconNetwork, got {type(network).__name__}")
    lengths, emissions = scaled_emissions(log_probs, lengths, posterior_scale, log_prior, prior_scale)
    if network.max_label >= log_probs.shape[2]:
        raise ValueError(f"network label id {network.max_label} out of range for log_probs with "
                         f"V={log_probs.shape[2]} classes")
    for name, value in (("lm_scale", lm_scale), ("word_penalty", word_penalty), ("transition_scale", transition_scale)):
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    em = emissions.detach().to(device="cpu", dtype=torch.float64).numpy()
    lens = lengths.cpu().numpy()
    is_word = network.exit_word >= 0
    word_gain = np.where(is_word, lm_scale * network.exit_lm + word_penalty, 0.0)
    has_exit = np.isfinite(network.exit_transition)
    exit_gain = np.where(has_exit, transition_scale * np.where(has_exit, network.exit_transition, 0.0) + word_gain,
                         -np.inf)
    final_gain = np.where(network.final, word_gain, -np.inf)
    words, scores = _numba.decode(em, lens, network, transition_scale * network.loop,
                                  transition_scale * network.pred_weight, exit_gain, final_gain)
    out = []
    for b in range(len(lens)):
        ids = [int(i) for i in words[b] if i >= 0]
        out.append(WordHypothesis([network.words[i] for i in ids], ids, float(scores[b])))
    return out
