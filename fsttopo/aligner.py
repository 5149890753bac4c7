"""Forced alignment of audio with a trained model: features -> posteriors -> graph -> segments in seconds.

Methods: ``viterbi`` on the model's training topology (or another one), with an alignment-time
blank penalty and prior (paper Table 14), and the gradient-based ``gradscore`` /
``gradscore-ext`` (paper sec. 5) for CTC-trained models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from .align import group_segments, path_segments
from .align.gradient import ctc_label_scores_fn
from .align.grad_score import gradient_alignment
from .criteria import apply_blank_penalty, posterior_log_prior
from .data.alignment import UtteranceAlignment
from .engine import viterbi
from .models import AlignmentModel
from .names import METHODS, TOPOLOGIES
from .training.checkpoint import read_model_file
from .training.data import WordEncoder, pad_features
from .training.objective import ObjectiveConfig
from .topology import Transitions, build_graphs

__all__ = ["METHODS", "ALIGN_OPTIONS", "AlignerOutput", "Aligner", "compute_features", "SAMPLE_RATE", "FEATURE_SHIFT"]

ALIGN_OPTIONS = {"blank_penalty": 0.0, "prior_scale": 0.0}
"""Alignment-time options a model file may carry as defaults, with the values used without them."""
SAMPLE_RATE = 16000
FEATURE_SHIFT = 0.01  # seconds per feature frame (Lhotse Fbank default)


def compute_features(audio: np.ndarray | str | Path, sampling_rate: int | None = None) -> torch.Tensor:
    """80-dim log-mel filterbank ``[T', 80]`` float32 at 10 ms, as the recipes' Lhotse ``Fbank``.

    ``audio``: a file path (any format soundfile reads) or mono samples ``[N]`` at ``sampling_rate``.
    Audio at other rates is resampled to 16 kHz; multi-channel files are averaged.
    """
    import soundfile
    from lhotse import Fbank, FbankConfig

    if isinstance(audio, (str, Path)):
        samples, sampling_rate = soundfile.read(str(audio), dtype="float32", always_2d=True)
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
        align_options: defaults for :meth:`align`'s ``blank_penalty`` and ``prior_scale`` (e.g.
            tuned on a dev set and stored in the model file); unset ones default to 0.
    """

    def __init__(self, model: AlignmentModel, objective: ObjectiveConfig, tokens: Sequence[str],
                 lexicon: WordEncoder, align_options: Mapping[str, float] | None = None):
        self.model = model.eval()
        self.objective = objective
        self.tokens = list(tokens)
        self.lexicon = lexicon
        options = dict(align_options or {})
        unknown = sorted(set(options) - set(ALIGN_OPTIONS))
        if unknown:
            raise ValueError(f"unknown alignment options {unknown}; known: {list(ALIGN_OPTIONS)}")
        bad = {k: v for k, v in options.items() if not (isinstance(v, (int, float)) and math.isfinite(v))}
        if bad:
            raise ValueError(f"alignment options must be finite numbers, got {bad}")
        self.align_options = {**ALIGN_OPTIONS, **{k: float(v) for k, v in options.items()}}

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

    @torch.no_grad()
    def posteriors(self, features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """``[T'_i, F]`` feature tensors -> (log-probs ``[B, T, V]``, lengths ``[B]``)."""
        x, lengths = pad_features(features)
        out = self.model(x, lengths)
        return out.log_probs, out.lengths

    def align(
        self,
        features: list[torch.Tensor],
        texts: Sequence[str],
        utterance_ids: Sequence[str] | None = None,
        *,
        method: str = "viterbi",
        topology: str | None = None,
        blank_penalty: float | None = None,
        prior_scale: float | None = None,
        transition_scale: float | None = None,
        offsets: Sequence[float] | None = None,
    ) -> AlignerOutput:
        """Align a batch of utterances.

        Args:
            features: per utterance ``[T'_i, 80]`` features (see :func:`compute_features`).
            texts: transcripts (words separated by spaces; every word must be in the lexicon).
            utterance_ids: names for the outputs (default ``utt0, utt1, ...``).
            method: ``"viterbi"``, ``"gradscore"`` or ``"gradscore-ext"``.
            topology: graph topology for Viterbi (default: the one the model was trained with).
            blank_penalty: subtracted from the blank/silence log-prob before Viterbi (Table 14);
                default: ``align_options["blank_penalty"]``.
            prior_scale: divide by the average posterior of the batch to this power (Table 14);
                default: ``align_options["prior_scale"]``.
            transition_scale: HMM transition scale (default: the training one).
            offsets: start of each utterance in its recording, seconds (default 0).

        Returns:
            :class:`AlignerOutput` with word and phone segments in seconds.
        """
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if blank_penalty is None:
            blank_penalty = self.align_options["blank_penalty"]
        if prior_scale is None:
            prior_scale = self.align_options["prior_scale"]
        if len(features) != len(texts) or not texts:
            raise ValueError(f"got {len(features)} feature tensors for {len(texts)} transcripts")
        ids = list(utterance_ids) if utterance_ids is not None else [f"utt{i}" for i in range(len(texts))]
        offsets = list(offsets) if offsets is not None else [0.0] * len(texts)
        words = [self.lexicon.encode_words(t) for t in texts]
        topology = topology or self.objective.topology
        if topology not in TOPOLOGIES:
            raise ValueError(f"topology must be one of {TOPOLOGIES}, got {topology!r}")
        log_probs, lengths = self.posteriors(features)
        if method == "viterbi":
            token_segs, word_segs = self._viterbi(log_probs, lengths, words, topology, blank_penalty,
                                                  prior_scale, transition_scale)
        else:
            token_segs, word_segs = self._gradient(features, words, method)
        out = []
        for i, text in enumerate(texts):
            flat = [t for w in words[i] for t in w]
            out.append(UtteranceAlignment.from_segments(
                ids[i], text, features[i].shape[0] * FEATURE_SHIFT, word_segs[i], token_segs[i],
                text.split(), [self.tokens[t] for t in flat], self.frame_shift, offset=offsets[i],
                frame_offset=self.frame_offset))
        return AlignerOutput(out, log_probs, lengths)

    def _viterbi(self, log_probs, lengths, words, topology, blank_penalty, prior_scale, transition_scale):
        scale = self.objective.transition_scale if transition_scale is None else transition_scale
        transitions = Transitions(*self.objective.transitions) if topology == "hmm" and scale else None
        graphs = build_graphs(words, topology, len(self.tokens), transitions)
        scores = apply_blank_penalty(log_probs, blank_penalty) if blank_penalty else log_probs
        log_prior = posterior_log_prior(log_probs, lengths) if prior_scale else None
        result = viterbi(scores, lengths, graphs, log_prior=log_prior, prior_scale=prior_scale,
                         transition_scale=scale if transitions is not None else 0.0)
        token_segs = path_segments(result, graphs, level="token")
        if topology == "hmm":
            word_segs = path_segments(result, graphs, level="word")
        else:
            word_segs = [group_segments(t, [len(w) for w in ws]) for t, ws in zip(token_segs, words)]
        return token_segs, word_segs

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
