"""Forced alignment of audio with a trained model: features -> posteriors -> graph -> segments in seconds.

Methods: ``viterbi`` (the best path) and ``posterior`` (every boundary at its expectation over
all paths, between frames where the model is unsure) on the model's training topology (or another
one), with an alignment-time blank penalty and prior (paper Table 14); the gradient-based
``gradscore`` / ``gradscore-ext`` (paper sec. 5) for CTC-trained models. A model with ``S``-fold
downsampling sees boundaries on a grid of ``S`` feature frames; ``phases=S`` runs it on the input
shifted by 0..S-1 feature frames and averages the boundaries, which puts them on the feature grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from .align import expected_segments, group_segments, path_segments
from .align.confidence import path_confidence, posterior_confidence
from .align.gradient import ctc_label_scores_fn
from .align.grad_score import gradient_alignment
from .criteria import apply_blank_penalty, posterior_log_prior
from .data.alignment import UtteranceAlignment, mean_alignment
from .data.pronounce import PronouncedTranscript, normalize_transcript, pronounce_transcript
from .engine import state_posteriors, viterbi
from .models import AlignmentModel
from .names import METHODS, OOV_MODES, TOPOLOGIES
from .training.checkpoint import read_model_file
from .training.data import WordEncoder, pad_features
from .training.objective import ObjectiveConfig
from .topology import AnyLabels, Transitions, build_graphs

__all__ = ["METHODS", "ALIGN_OPTIONS", "AlignerOutput", "Aligner", "compute_features", "SAMPLE_RATE", "FEATURE_SHIFT",
           "UNKNOWN_PHONE", "align_audio_file", "align_cuts"]

ALIGN_OPTIONS = {"method": "viterbi", "blank_penalty": 0.0, "prior_scale": 0.0, "posterior_scale": 1.0,
                 "phases": 1, "time_shift": 0.0}
"""Alignment-time options (keyword arguments of :meth:`Aligner.align`) a model file may carry as
defaults, with the values used without them."""
GRADIENT_METHODS = ("gradscore", "gradscore-ext")
SAMPLE_RATE = 16000
FEATURE_SHIFT = 0.01  # seconds per feature frame (Lhotse Fbank default)
UNKNOWN_PHONE = "spn"  # the phone segment of a word aligned with oov="phone-loop" (MFA's spoken noise)


def compute_features(audio: np.ndarray | str | Path, sampling_rate: int | None = None) -> torch.Tensor:
    """80-dim log-mel filterbank ``[T', 80]`` float32 at 10 ms, as the recipes' Lhotse ``Fbank``.

    ``audio``: a file path (any format soundfile reads) or mono samples ``[N]`` at ``sampling_rate``.
    Audio at other rates is resampled to 16 kHz; multi-channel files are averaged.
    """
    import soundfile
    from lhotse import Fbank, FbankConfig

    if isinstance(audio, (str, Path)):
        try:
            samples, sampling_rate = soundfile.read(str(audio), dtype="float32", always_2d=True)
        except (soundfile.LibsndfileError, RuntimeError) as err:  # unreadable, truncated, unknown format
            raise ValueError(f"cannot read audio file {str(audio)!r}: {err}") from err
        samples = samples.mean(axis=1)
    else:
        if sampling_rate is None:
            raise ValueError("sampling_rate is required for raw samples")
        samples = np.asarray(audio, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"audio samples must be mono [N], got shape {samples.shape}")
    if samples.size == 0:
        raise ValueError("audio is empty")
    if sampling_rate != SAMPLE_RATE:
        import torchaudio.functional as AF

        samples = AF.resample(torch.from_numpy(samples), sampling_rate, SAMPLE_RATE).numpy()
    feats = Fbank(FbankConfig(num_mel_bins=80)).extract(samples, SAMPLE_RATE)
    return torch.from_numpy(np.asarray(feats, dtype=np.float32))


@dataclass
class AlignerOutput:
    alignments: list[UtteranceAlignment]
    log_probs: torch.Tensor      # [B, T, V] model log-probabilities
    lengths: torch.Tensor        # [B] model frames


class Aligner:
    """A trained :class:`~fsttopo.models.AlignmentModel` with its token table and lexicon.

    Args:
        model: the acoustic model (eval mode is set).
        objective: the training objective configuration (topology and transitions).
        tokens: token symbols, index = id (0 = blank/silence).
        lexicon: text -> per-word token ids (e.g. :class:`fsttopo.data.lexicon.Lexicon`).
        align_options: defaults for :meth:`align`'s options (keys of :data:`ALIGN_OPTIONS`, e.g.
            tuned on a dev set and stored in the model file); unset ones take :data:`ALIGN_OPTIONS`.
    """

    def __init__(self, model: AlignmentModel, objective: ObjectiveConfig, tokens: Sequence[str],
                 lexicon: WordEncoder, align_options: Mapping[str, float | int | str] | None = None):
        self.model = model.eval()
        self.objective = objective
        self.tokens = list(tokens)
        self.lexicon = lexicon
        self.align_options = self._check_options({**ALIGN_OPTIONS, **dict(align_options or {})})

    @classmethod
    def from_file(cls, path: str | Path, lexicon: WordEncoder | None = None) -> "Aligner":
        """Load a model file (with its alignment-time defaults, if it has any); the lexicon defaults
        to CMUdict over the model's token table."""
        f = read_model_file(path)
        model, objective, tokens = f.model, f.objective, f.tokens
        if lexicon is None:
            from .data.lexicon import Lexicon

            lexicon = Lexicon.from_cmudict()
            if list(lexicon.tokens) != tokens:
                raise ValueError(f"{path}: the model's token table differs from the CMUdict lexicon's")
        return cls(model, objective, tokens, lexicon, f.align_options)

    @property
    def frame_shift(self) -> float:
        """Seconds per model output frame."""
        return FEATURE_SHIFT * self.model.config.subsampling

    @property
    def frame_offset(self) -> float:
        """Seconds from the start of the audio to the start of model frame 0 (negative: frame
        ``t`` is centred on feature frame ``subsampling * t``, see
        :attr:`fsttopo.models.ConvFrontend.frame_offset`)."""
        return FEATURE_SHIFT * self.model.frontend.frame_offset

    def _check_options(self, options: Mapping) -> dict:
        """``options`` (every key of :data:`ALIGN_OPTIONS`) validated, numbers as floats (phases int)."""
        unknown = sorted(set(options) - set(ALIGN_OPTIONS))
        if unknown:
            raise ValueError(f"unknown alignment options {unknown}; known: {list(ALIGN_OPTIONS)}")
        if options["method"] not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {options['method']!r}")
        out = {"method": options["method"]}
        for key in ("blank_penalty", "prior_scale", "posterior_scale", "time_shift"):
            value = options[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"alignment option {key} must be a finite number, got {value!r}")
            out[key] = float(value)
        if out["posterior_scale"] <= 0:
            raise ValueError(f"posterior_scale must be > 0, got {out['posterior_scale']}")
        phases, subsampling = options["phases"], self.model.config.subsampling
        if isinstance(phases, float) and phases.is_integer():
            phases = int(phases)
        if isinstance(phases, bool) or not isinstance(phases, int) or not 1 <= phases <= subsampling:
            raise ValueError(f"phases must be an integer from 1 to the model's downsampling {subsampling}, got {phases!r}")
        if phases > 1 and out["method"] in GRADIENT_METHODS:
            raise ValueError(f"method {out['method']!r} aligns one phase only, got phases={phases}")
        out["phases"] = phases
        return out

    @torch.no_grad()
    def posteriors(self, features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """``[T'_i, F]`` feature tensors -> (log-probs ``[B, T, V]``, lengths ``[B]``)."""
        x, lengths = pad_features(features)
        out = self.model(x, lengths)
        return out.log_probs, out.lengths

    def encode(self, features: list[torch.Tensor], phases: int = 1) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """:meth:`posteriors` of the features without their first ``p`` frames, for ``p < phases``
        (the model frame grid shifted by ``p`` feature frames; see :meth:`align_encoded`)."""
        short = [i for i, f in enumerate(features) if f.shape[0] <= phases]
        if short:
            raise ValueError(f"utterance {short[0]} has {features[short[0]].shape[0]} feature frames, too few "
                             f"for {phases} phases")
        return [self.posteriors([f[p:] for f in features]) for p in range(phases)]

    def align(
        self,
        features: list[torch.Tensor],
        texts: Sequence[str],
        utterance_ids: Sequence[str] | None = None,
        *,
        method: str | None = None,
        topology: str | None = None,
        blank_penalty: float | None = None,
        prior_scale: float | None = None,
        posterior_scale: float | None = None,
        phases: int | None = None,
        time_shift: float | None = None,
        transition_scale: float | None = None,
        offsets: Sequence[float] | None = None,
        oov: str | None = None,
    ) -> AlignerOutput:
        """Align a batch of utterances. Options left at ``None`` take the model's stored defaults
        (:attr:`align_options`, else :data:`ALIGN_OPTIONS`).

        Args:
            features: per utterance ``[T'_i, 80]`` features (see :func:`compute_features`).
            texts: transcripts (words separated by spaces; every word must be in the lexicon; punctuation
                around words is dropped, :meth:`normalize`).
            utterance_ids: names for the outputs (default ``utt0, utt1, ...``).
            method: ``"viterbi"``, ``"posterior"``, ``"gradscore"`` or ``"gradscore-ext"``.
            topology: graph topology for Viterbi/posterior (default: the one the model was trained with).
            blank_penalty: subtracted from the blank/silence log-prob (Table 14).
            prior_scale: divide by the average posterior of the batch to this power (Table 14).
            posterior_scale: scales the log-probs (paper Eq. 6 alpha; < 1 flattens the posterior).
            phases: align the input shifted by 0..phases-1 feature frames and average the
                boundaries (1 to the model's downsampling factor).
            time_shift: seconds added to every boundary (a latency calibrated on held-out data).
            transition_scale: HMM transition scale (default: the training one).
            offsets: start of each utterance in its recording, seconds (default 0).
            oov: words outside the lexicon (:func:`fsttopo.data.pronounce.pronounce_transcript`):
                ``"g2p"`` (default) aligns the phones the offline G2P guesses for them; ``"error"``
                names them; ``"phone-loop"`` aligns each as any sequence of phones
                (:class:`~fsttopo.topology.AnyLabels`, up to its number of letters + 2, at most 10;
                viterbi and posterior methods), its phone segment labelled :data:`UNKNOWN_PHONE`.
                The alignments' ``pronunciations`` name the words not taken from the lexicon.

        Returns:
            :class:`AlignerOutput` with word and phone segments in seconds.
        """
        given = {"method": method, "blank_penalty": blank_penalty, "prior_scale": prior_scale,
                 "posterior_scale": posterior_scale, "phases": phases, "time_shift": time_shift}
        options = self._check_options({**self.align_options, **{k: v for k, v in given.items() if v is not None}})
        if oov not in (None, *OOV_MODES):  # before the model runs
            raise ValueError(f"oov must be one of {OOV_MODES}, got {oov!r}")
        texts = self.normalize(texts)
        if len(features) != len(texts) or not texts:
            raise ValueError(f"got {len(features)} feature tensors for {len(texts)} transcripts")
        durations = [f.shape[0] * FEATURE_SHIFT for f in features]
        if options["method"] in GRADIENT_METHODS:
            if oov == "phone-loop":
                raise ValueError(f"oov='phone-loop' works with the viterbi and posterior methods, not {options['method']!r}")
            words = self._encode_texts(texts, oov)
            token_segs, word_segs = self._gradient(features, words, options["method"])
            alis = self._to_seconds(token_segs, word_segs, words, texts, durations, utterance_ids, offsets,
                                    options["time_shift"])
            log_probs, lengths = self.posteriors(features)
            return AlignerOutput(alis, log_probs, lengths)
        encoded = self.encode(features, options["phases"])
        return self.align_encoded(encoded, texts, durations, utterance_ids, topology=topology,
                                  transition_scale=transition_scale, offsets=offsets, oov=oov, **options)

    def align_encoded(
        self,
        encoded: list[tuple[torch.Tensor, torch.Tensor]],
        texts: Sequence[str],
        durations: Sequence[float],
        utterance_ids: Sequence[str] | None = None,
        *,
        method: str = "viterbi",
        topology: str | None = None,
        blank_penalty: float = 0.0,
        prior_scale: float = 0.0,
        posterior_scale: float = 1.0,
        phases: int | None = None,
        time_shift: float = 0.0,
        transition_scale: float | None = None,
        offsets: Sequence[float] | None = None,
        oov: str | None = None,
    ) -> AlignerOutput:
        """:meth:`align` from model outputs: ``encoded`` from :meth:`encode` (its first ``phases``
        entries are used, default all), ``durations`` of the utterances in seconds. Only the
        ``viterbi`` and ``posterior`` methods; options have no stored defaults here. Lets one
        encoding serve many option settings (e.g. tuning them on a dev set)."""
        if method not in ("viterbi", "posterior"):
            raise ValueError(f"align_encoded takes method 'viterbi' or 'posterior', got {method!r}")
        texts = self.normalize(texts)
        phases = len(encoded) if phases is None else phases
        if not 1 <= phases <= len(encoded):
            raise ValueError(f"phases must be from 1 to the {len(encoded)} encoded phases, got {phases}")
        topology = topology or self.objective.topology
        if topology not in TOPOLOGIES:
            raise ValueError(f"topology must be one of {TOPOLOGIES}, got {topology!r}")
        if len(durations) != len(texts) or encoded[0][0].shape[0] != len(texts):
            raise ValueError(f"got {encoded[0][0].shape[0]} encoded utterances and {len(durations)} durations "
                             f"for {len(texts)} transcripts")
        words = self._encode_texts(texts, oov)
        scale = self.objective.transition_scale if transition_scale is None else transition_scale
        transitions = Transitions(*self.objective.transitions) if topology == "hmm" and scale else None
        graphs = build_graphs(words, topology, len(self.tokens), transitions)
        per_phase = []
        for p, (log_probs, lengths) in enumerate(encoded[:phases]):
            scores = apply_blank_penalty(log_probs, blank_penalty) if blank_penalty else log_probs
            engine_options = dict(posterior_scale=posterior_scale, prior_scale=prior_scale,
                                  log_prior=posterior_log_prior(log_probs, lengths) if prior_scale else None,
                                  transition_scale=scale if transitions is not None else 0.0)
            if method == "viterbi":
                path = viterbi(scores, lengths, graphs, **engine_options)
                token_segs = path_segments(path, graphs, level="token")
                word_segs = path_segments(path, graphs, level="word") if topology == "hmm" else None
                confidence = path_confidence(log_probs, lengths, path.labels)
            else:
                occupancy = state_posteriors(scores, lengths, graphs, **engine_options)
                token_segs = expected_segments(occupancy, graphs, level="token")
                word_segs = expected_segments(occupancy, graphs, level="word") if topology == "hmm" else None
                confidence = posterior_confidence(log_probs, lengths, occupancy, graphs)
            if word_segs is None:  # an unknown word (AnyLabels) is one token
                word_segs = [group_segments(t, [1 if isinstance(w, AnyLabels) else len(w) for w in ws])
                             for t, ws in zip(token_segs, words)]
            per_phase.append(self._to_seconds(token_segs, word_segs, words, texts, durations, utterance_ids,
                                              offsets, time_shift + p * FEATURE_SHIFT, confidence.tolist()))
        alis = [mean_alignment(list(utt)) for utt in zip(*per_phase)]
        return AlignerOutput(alis, *encoded[0])

    def normalize(self, texts: Sequence[str]) -> list[str]:
        """Transcripts as the lexicon spells them (numbers and abbreviations written out, punctuation
        around words removed; see :func:`fsttopo.data.normalize.normalize_tokens`); the alignments
        carry these words."""
        return [normalize_transcript(self.lexicon, t) for t in texts]

    def _encode_texts(self, texts: Sequence[str], oov: str | None = None) -> list[PronouncedTranscript]:
        """Token ids per word of each transcript, with the pronunciations used (``oov`` default
        ``"g2p"``; see :func:`fsttopo.data.pronounce.pronounce_transcript`)."""
        return [pronounce_transcript(self.lexicon, t, oov or "g2p") for t in texts]

    def _to_seconds(self, token_segs, word_segs, words, texts, durations, utterance_ids, offsets,
                    shift: float, confidences: Sequence[float] | None = None) -> list[UtteranceAlignment]:
        ids = list(utterance_ids) if utterance_ids is not None else [f"utt{i}" for i in range(len(texts))]
        offsets = list(offsets) if offsets is not None else [0.0] * len(texts)
        out = []
        for i, text in enumerate(texts):
            symbols = [s for w in words[i] for s in
                       ([UNKNOWN_PHONE] if isinstance(w, AnyLabels) else [self.tokens[t] for t in w])]
            out.append(UtteranceAlignment.from_segments(
                ids[i], text, durations[i], word_segs[i], token_segs[i], text.split(),
                symbols, self.frame_shift, offset=offsets[i],
                frame_offset=self.frame_offset + shift,
                confidence=min(1.0, confidences[i]) if confidences is not None else None,
                pronunciations=words[i].pronunciations))
        return out

    def _gradient(self, features, words, method):
        x, lengths = pad_features(features)
        with torch.no_grad():
            frames, out_lengths = self.model.frontend(x, lengths)
        targets = [[t for w in ws for t in w] for ws in words]
        score_fn = ctc_label_scores_fn(lambda h: self.model.log_probs_from_hidden(
            self.model.encode_frames(h, out_lengths)[0]), out_lengths, targets,
            forced_blank=self.objective.topology == "ctc")
        variant = "GradScore" if method == "gradscore" else "GradScoreExt"
        result = gradient_alignment(score_fn, frames.detach(), out_lengths, targets, variant=variant)
        token_segs = result.segments
        word_segs = [group_segments(t, [len(w) for w in ws]) for t, ws in zip(token_segs, words)]
        return token_segs, word_segs


def align_audio_file(aligner: Aligner, audio: str | Path, transcript: str, out_dir: str | Path,
                     name: str | None = None, plot: bool = True, **options) -> UtteranceAlignment:
    """Align one recording and write ``NAME.json``, ``NAME.TextGrid``, ``NAME.ctm`` (words) and
    ``NAME.png`` (features, posteriors, segments) into ``out_dir``. ``options`` go to
    :meth:`Aligner.align`. Returns the alignment (seconds)."""
    from .data.export import write_ctm, write_json, write_textgrid
    from .data.plot import plot_alignment

    name = name or Path(audio).stem
    feats = compute_features(audio)
    result = aligner.align([feats], [transcript], [name], **options)
    ali = result.alignments[0]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(ali, out / f"{name}.json")
    write_textgrid(ali, out / f"{name}.TextGrid")
    write_ctm([ali], out / f"{name}.ctm")
    if plot:
        plot_alignment(feats, result.log_probs[0, : result.lengths[0]], ali, out / f"{name}.png",
                       aligner.tokens, aligner.frame_shift, frame_offset=aligner.frame_offset)
    return ali


def align_cuts(aligner: Aligner, cuts, max_duration: float = 200.0, **options) -> list[UtteranceAlignment]:
    """Align every cut of a Lhotse CutSet (features attached, one supervision each) in batches of
    up to ``max_duration`` seconds, with a progress bar. Times are relative to the recordings."""
    from tqdm import tqdm

    from .training.data import make_sampler

    out: list[UtteranceAlignment] = []
    sampler = make_sampler(cuts, max_duration, shuffle=False)
    for batch in tqdm(sampler, desc="aligning", unit="batch"):
        batch = list(batch)
        feats = [torch.from_numpy(c.load_features()).float() for c in batch]
        sups = [c.supervisions[0] for c in batch]
        result = aligner.align(feats, [s.text for s in sups], [s.id for s in sups],
                               offsets=[c.start for c in batch], **options)
        out.extend(result.alignments)
    return out
