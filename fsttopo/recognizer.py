"""Word recognition with a trained aligner: its model and lexicon, a unigram or bigram word LM, exact
Viterbi search through the lexicon network in the model's own topology (:mod:`fsttopo.decode`).

A :class:`Recognizer` saves to a decoder file (JSON, gzipped when the name ends in ``.gz``: the LM
and the tuned decoding options) that sits beside the model it was tuned for, e.g.
``fsttopo/assets/model/decoder.json.gz`` for the shipped model.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import torch

from .aligner import Aligner
from .inference import emission_scores
from .decode import BOS, EOS, WordHypothesis, WordLM, compile_lm, decode_words, lexicon_network, pronunciations_of
from .topology import Transitions

__all__ = ["DECODE_OPTIONS", "Recognizer", "load_recognizer", "transcribe_cuts", "transcribe_audio_files"]

DECODE_OPTIONS = {"lm_scale": 1.0, "word_penalty": 0.0, "blank_penalty": 0.0, "prior_scale": 0.0}
"""Decoding options and their defaults: LM weight, per-word score (negative: fewer words),
blank/silence penalty subtracted from the blank log-probs, prior scale (the model's label prior, as for
alignment)."""


def _check_options(options: Mapping) -> dict:
    unknown = sorted(set(options) - set(DECODE_OPTIONS))
    if unknown:
        raise ValueError(f"unknown decoding options {unknown}; known: {sorted(DECODE_OPTIONS)}")
    out = {**DECODE_OPTIONS}
    for key, value in options.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"decoding option {key} must be a finite number, got {value!r}")
        out[key] = float(value)
    if out["lm_scale"] < 0:
        raise ValueError(f"lm_scale must be >= 0, got {out['lm_scale']}")
    return out


class Recognizer:
    """Decodes words with an :class:`~fsttopo.aligner.Aligner`'s model.

    Args:
        aligner: model, lexicon (word -> tokens) and training topology.
        lm: vocabulary and word log-probabilities; every word must be in the aligner's lexicon.
        options: defaults for :data:`DECODE_OPTIONS` (None keeps the built-in default).
    """

    def __init__(self, aligner: Aligner, lm: WordLM, **options) -> None:
        if aligner.model.config.aligner:
            raise ValueError("an Aligner-Encoder model has no frame posteriors to decode with a lexicon network; "
                             "its greedy decoder is AlignerDecoder.greedy_decode (docs/aligner_encoder.md)")
        self.aligner = aligner
        self.lm = lm
        self.options = _check_options(options)
        objective = aligner.objective
        hmm_weights = objective.topology == "hmm" and objective.transition_scale != 0.0
        self.transition_scale = objective.transition_scale if hmm_weights else 0.0
        self.network = lexicon_network(
            pronunciations_of(aligner.lexicon, lm.words), objective.topology,
            transitions=Transitions(*objective.transitions) if hmm_weights else None,
            num_classes=len(aligner.tokens))
        self.compiled_lm = compile_lm(lm, self.network)  # once, not per decoded batch

    @classmethod
    def from_texts(cls, aligner: Aligner, texts: Iterable[str], order: int = 2, **options) -> "Recognizer":
        """Unigram (``order=1``) or bigram (``order=2``, :meth:`WordLM.bigram_from_texts`) LM from
        ``texts`` (normalised as for alignment: punctuation around words dropped) over the words the
        aligner's lexicon can pronounce."""
        if order not in (1, 2):
            raise ValueError(f"order must be 1 (unigram) or 2 (bigram), got {order}")
        texts = aligner.normalize(list(texts))
        lexicon = aligner.lexicon
        vocabulary = {w for t in texts for w in t.split()}
        if hasattr(lexicon, "__contains__"):
            vocabulary = {w for w in vocabulary if w in lexicon}
        estimate = WordLM.unigram_from_texts if order == 1 else WordLM.bigram_from_texts
        return cls(aligner, estimate(texts, vocabulary), **options)

    @classmethod
    def from_arpa(cls, aligner: Aligner, path: str | Path, **options) -> "Recognizer":
        """A unigram or bigram ARPA LM (e.g. KenLM's ``lmplz -o 2``), its words restricted to those
        the aligner's lexicon can pronounce (the others can never be decoded)."""
        lm = WordLM.from_arpa(path)
        lexicon = aligner.lexicon
        if hasattr(lexicon, "__contains__"):
            keep = {w for w in lm.words if w in lexicon}
            if not keep:
                raise ValueError(f"none of the {len(lm)} words of {path} is in the lexicon")
            lm = WordLM({w: lp for w, lp in lm.unigram.items() if w in keep or w == EOS},
                        {(h, w): lp for (h, w), lp in lm.bigram.items()
                         if (h in keep or h == BOS) and (w in keep or w == EOS)},
                        {h: b for h, b in lm.backoff.items() if h in keep or h == BOS})
        return cls(aligner, lm, **options)

    @classmethod
    def load(cls, aligner: Aligner, path: str | Path, **options) -> "Recognizer":
        """From a decoder file written by :meth:`save`; ``options`` override the stored ones."""
        path = Path(path)
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or "lm" not in data or "options" not in data:
            raise ValueError(f"{path} is not a decoder file (needs 'lm' and 'options')")
        stored = {k: v for k, v in data["options"].items()}
        return cls(aligner, WordLM.from_dict(data["lm"]),
                   **{**stored, **{k: v for k, v in options.items() if v is not None}})

    def save(self, path: str | Path) -> None:
        """Write the LM and the decoding options as JSON (gzipped when ``path`` ends in ``.gz``)."""
        path = Path(path)
        raw = json.dumps({"options": self.options, "lm": self.lm.to_dict()}).encode("utf-8")
        path.write_bytes(gzip.compress(raw, mtime=0) if path.suffix == ".gz" else raw)

    def decode(self, log_probs: torch.Tensor, lengths: torch.Tensor | Sequence[int], **options) -> list[WordHypothesis]:
        """Best word sequences of model outputs ``[B, T, V]`` with ``[B]`` valid frames (e.g. from
        :meth:`Aligner.posteriors`); ``options`` override :attr:`options` for this call."""
        o = _check_options({**self.options, **options})
        scores = emission_scores(log_probs, lengths, blank_penalty=o["blank_penalty"], prior_scale=o["prior_scale"],
                                 log_prior=self.aligner.log_prior)
        return decode_words(scores, lengths, self.network, self.compiled_lm, transition_scale=self.transition_scale,
                            lm_scale=o["lm_scale"],
                            word_penalty=o["word_penalty"])

    def transcribe(self, features: list[torch.Tensor], **options) -> list[WordHypothesis]:
        """Words of ``[T_i, F]`` feature tensors (as :meth:`Aligner.posteriors` takes)."""
        return self.decode(*self.aligner.posteriors(features), **options)


def load_recognizer(aligner: Aligner, model_path: str | Path, decoder: str | Path | None = None,
                    lm_text: str | Path | None = None, lm_arpa: str | Path | None = None,
                    **options) -> Recognizer:
    """A recognizer for ``aligner`` (loaded from ``model_path``) from at most one LM source: a text
    file (one sentence per line; a bigram LM is estimated), an ARPA file, or a decoder file (default:
    ``decoder.json.gz`` or ``decoder.json`` beside the model). ``options`` override stored ones."""
    if sum(x is not None for x in (decoder, lm_text, lm_arpa)) > 1:
        raise ValueError("give one of a decoder file, an LM text (--lm-text) or an ARPA LM (--lm-arpa), not both")
    if lm_text is not None:
        return Recognizer.from_texts(aligner, Path(lm_text).read_text(encoding="utf-8").splitlines(), **options)
    if lm_arpa is not None:
        return Recognizer.from_arpa(aligner, lm_arpa, **options)
    beside = [Path(model_path).with_name(n) for n in ("decoder.json.gz", "decoder.json")]
    path = Path(decoder) if decoder is not None else next((p for p in beside if p.is_file()), beside[0])
    if not path.is_file():
        raise ValueError(f"no decoder file {path}: give --decoder, --lm-text or --lm-arpa")
    return Recognizer.load(aligner, path, **options)


def transcribe_cuts(recognizer: Recognizer, cuts, max_duration: float = 200.0, **options) -> dict[str, str]:
    """Decoded text per supervision id of every cut of a Lhotse CutSet (one supervision each; its
    stored features, else those of its audio: :func:`~fsttopo.data.features.cut_features`), in
    batches of up to ``max_duration`` seconds, with a progress bar."""
    from tqdm import tqdm

    from .data.features import cut_features
    from .training.data import make_sampler

    out: dict[str, str] = {}
    for batch in tqdm(make_sampler(cuts, max_duration, shuffle=False), desc="decoding", unit="batch"):
        batch = list(batch)
        hyps = recognizer.transcribe([cut_features(c) for c in batch], **options)
        out.update({c.supervisions[0].id: h.text for c, h in zip(batch, hyps)})
    return out


def transcribe_audio_files(recognizer: Recognizer, paths, max_duration: float = 200.0, **options) -> dict[str, str]:
    """Decoded text per audio file (keyed by the path as given), in batches of up to
    ``max_duration`` seconds of audio (longest first), with a progress bar. A recording that looks
    noisy, band-limited, reverberant or clipped gets its warning, as in alignment
    (:func:`~fsttopo.inference.recording_check.warn_about_recording`): the decoder suffers from it more."""
    from tqdm import tqdm

    from .audio_batches import audio_duration, duration_batches
    from .inference.recording_check import checked_features

    paths = [str(p) for p in paths]
    out: dict[str, str] = {}
    for batch in tqdm(duration_batches({p: audio_duration(p) for p in paths}, max_duration), desc="decoding",
                      unit="batch"):
        hyps = recognizer.transcribe([checked_features(p, Path(p).stem) for p in batch], **options)
        out.update({p: h.text for p, h in zip(batch, hyps)})
    return {p: out[p] for p in paths}
