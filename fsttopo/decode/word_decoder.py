"""Lexicon-constrained Viterbi decoding: the best word sequence through a lexicon network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..engine import scaled_emissions
from . import _numba
from .language_model import BOS, EOS, WordLM
from .network import LexiconNetwork

__all__ = ["WordHypothesis", "CompiledLM", "compile_lm", "decode_words"]


@dataclass(frozen=True)
class WordHypothesis:
    """Best path of one utterance.

    Attributes:
        words: the decoded words.
        word_ids: their indices into ``LexiconNetwork.words``.
        score: path score: scaled emissions + transitions (as :func:`fsttopo.viterbi`) +
            ``lm_scale * log P(word | previous word) + word_penalty`` per word
            (+ ``lm_scale * log P(</s> | last word)`` when the LM has a sentence end).
    """

    words: list[str]
    word_ids: list[int]
    score: float

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass(frozen=True)
class CompiledLM:
    """A :class:`WordLM` as arrays over one network's word ids (history ``W`` = sentence start), for
    :func:`decode_words`; built by :func:`compile_lm` once and reused for every batch.

    Attributes:
        words: the network's vocabulary the ids refer to.
        unigram: ``[W]``; backoff, end: ``[W + 1]`` (``end`` = ``log P(</s> | h)``).
        pair_start: ``[W + 2]`` CSR offsets of the seen pairs grouped by history; pair_word,
            pair_lp: their words and log-probabilities.
        boost: ``[W + 1]`` each history's largest ``bigram - unigram`` (``-inf`` without pairs).
    """

    words: tuple[str, ...]
    unigram: np.ndarray
    backoff: np.ndarray
    end: np.ndarray
    pair_start: np.ndarray
    pair_word: np.ndarray
    pair_lp: np.ndarray
    boost: np.ndarray


def compile_lm(lm: WordLM, network: LexiconNetwork) -> CompiledLM:
    """``lm`` over ``network``'s words; ValueError naming network words the LM lacks."""
    words = network.words
    missing = [w for w in words if w not in lm.unigram]
    if missing:
        raise ValueError(f"{len(missing)} network words are not in the LM, e.g. {missing[:5]}")
    W = len(words)
    ids = {w: i for i, w in enumerate(words)}
    histories = [*words, BOS]
    uni = np.array([lm.unigram[w] for w in words], dtype=np.float64)
    backoff = np.array([lm.backoff.get(h, 0.0) for h in histories], dtype=np.float64)
    end = np.array([lm.log_prob(EOS, h) for h in histories], dtype=np.float64)
    hist_ids = {**ids, BOS: W}
    pairs = sorted((hist_ids[h], ids[w], lp) for (h, w), lp in lm.bigram.items() if h in hist_ids and w in ids)
    pair_history = np.array([p[0] for p in pairs], dtype=np.int64)
    pair_word = np.array([p[1] for p in pairs], dtype=np.int64)
    pair_lp = np.array([p[2] for p in pairs], dtype=np.float64)
    pair_start = np.concatenate([[0], np.cumsum(np.bincount(pair_history, minlength=W + 1))]).astype(np.int64)
    boost = np.full(W + 1, -np.inf)
    np.maximum.at(boost, pair_history, pair_lp - uni[pair_word])
    return CompiledLM(words, uni, backoff, end, pair_start, pair_word, pair_lp, boost)


def decode_words(
    log_probs: torch.Tensor,
    lengths: torch.Tensor | Sequence[int],
    network: LexiconNetwork,
    lm: WordLM | CompiledLM,
    *,
    posterior_scale: float = 1.0,
    log_prior: torch.Tensor | None = None,
    prior_scale: float = 0.0,
    transition_scale: float = 1.0,
    lm_scale: float = 1.0,
    word_penalty: float = 0.0,
) -> list[WordHypothesis]:
    """Viterbi search (no beam) for the best word sequence of each utterance.

    A word sequence scores what :func:`fsttopo.viterbi` gives its graph in the network's topology
    (same scales), plus ``lm_scale * log P(w | h) + word_penalty`` for every word ``w`` after
    ``h`` (the sentence start for the first word), plus ``lm_scale * log P(</s> | last word)`` when
    the LM has a sentence end. The search is exact for unigram LMs and for bigram LMs whose seen
    pairs are at least as likely as their backoff estimate (always so for
    :meth:`WordLM.bigram_from_texts`). Runs on the CPU (compiled, one thread per utterance) in
    ``O(frames x (states + words + bigrams))`` time and keeps one byte of back-pointer per frame and
    state and one int32 per frame and word.

    Args:
        log_probs: ``[B, T, V]`` float32/float64 per-frame log-probabilities (any device).
        lengths: ``[B]`` valid frames per utterance; an utterance with 0 frames decodes to no words.
        network: from :func:`~fsttopo.decode.network.lexicon_network`.
        lm: word LM; must cover the network's words. Pass it through :func:`compile_lm` once
            when decoding many batches with the same LM and network.
        posterior_scale, log_prior, prior_scale, transition_scale: as :func:`fsttopo.viterbi`.
        lm_scale: weight of the LM log-probabilities.
        word_penalty: added per word (negative values favour fewer words).

    Returns:
        One :class:`WordHypothesis` per utterance.
    """
    if not isinstance(network, LexiconNetwork):
        raise TypeError(f"network must be a LexiconNetwork, got {type(network).__name__}")
    if not isinstance(lm, (WordLM, CompiledLM)):
        raise TypeError(f"lm must be a WordLM or a CompiledLM, got {type(lm).__name__}")
    lengths, emissions = scaled_emissions(log_probs, lengths, posterior_scale, log_prior, prior_scale)
    if network.max_label >= log_probs.shape[2]:
        raise ValueError(f"network label id {network.max_label} out of range for log_probs with "
                         f"V={log_probs.shape[2]} classes")
    for name, value in (("lm_scale", lm_scale), ("word_penalty", word_penalty), ("transition_scale", transition_scale)):
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    if lm_scale < 0:
        raise ValueError(f"lm_scale must be >= 0, got {lm_scale}")
    compiled = compile_lm(lm, network) if isinstance(lm, WordLM) else lm
    if compiled.words != network.words:
        raise ValueError("the CompiledLM was compiled for another network (its words differ)")
    em = emissions.detach().to(device="cpu", dtype=torch.float64).numpy()
    lens = lengths.cpu().numpy()
    B, T, _ = em.shape
    out_words = np.full((B, max(T, 1)), -1, dtype=np.int64)
    out_scores = np.empty(B, dtype=np.float64)
    _numba.decode_kernel(em, lens, network.label, transition_scale * network.loop, network.pred,
                         transition_scale * network.pred_weight, network.word, network.first_state,
                         network.exit_state, network.exit_history, transition_scale * network.exit_transition,
                         network.exit_restricts, compiled.unigram, compiled.backoff, compiled.end,
                         compiled.pair_start, compiled.pair_word, compiled.pair_lp, compiled.boost, float(lm_scale),
                         float(word_penalty), out_words, out_scores)
    out = []
    for b in range(B):
        ids = [int(i) for i in out_words[b] if i >= 0]
        out.append(WordHypothesis([network.words[i] for i in ids], ids, float(out_scores[b])))
    return out
