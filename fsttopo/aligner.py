"""Forced alignment of audio with a trained model: features -> posteriors -> graph -> segments in seconds.

Methods: ``viterbi`` (the best path) and ``posterior`` (every boundary at its expectation over
all paths, between frames where the model is unsure) on the model's training topology (or another
one), with an alignment-time blank penalty and prior (paper Table 14); the gradient-based
``gradscore`` / ``gradscore-ext`` (paper sec. 5) for CTC-trained models. A model with ``S``-fold
downsampling sees boundaries on a grid of ``S`` feature frames; ``phases=S`` runs it on the input
shifted by 0..S-1 feature frames and averages the boundaries, which puts them on the feature grid.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Sequence

import torch

from .align import expected_segments, group_segments, path_segments
from .align.confidence import path_frame_confidence, posterior_frame_confidence, segment_confidences
from .align.gradient import aligner_label_scores_fn, ctc_label_scores_fn
from .align.grad_score import gradient_alignment
from .align.refine import BoundaryRefiner
from .criteria import pad_token_sequences
from .data.features import FEATURE_SHIFT, SAMPLE_RATE, compute_features, pad_features
from .data.alignment import UtteranceAlignment, close_short_pauses, mean_alignment
from .data.pronounce import PronouncedTranscript, normalize_transcript, pronounce_transcript
from .data.lexicon import WordEncoder
from .data.units import units_from_dict
from .engine import state_posteriors, viterbi
from .inference import ALIGN_OPTIONS, GRADIENT_METHODS, check_align_options, emission_scores, garbage, long_form
from .inference.confidence_conditions import ConditionAdjustment
from .inference.options import OPTIONAL_ALIGN_OPTIONS
from .inference.pause_edges import snap_pause_edges
from .inference.pronunciation_choice import VARIANT_PENALTY, choose_pronunciations
from .inference.silence_edges import keep_words_out_of_digital_silence
from .inference.silence_trim import check_not_all_silence, plan_trim, restore_frames
from .inference.transcript_check import check_transcripts
from .models import AlignmentModel
from .names import METHODS, OOV_MODES, PRECISIONS, TOPOLOGIES
from .training.checkpoint import ModelFile, read_model_file
from .training.objective import ObjectiveConfig
from .topology import AnyLabels, Transitions, build_graphs, word_size

__all__ = ["METHODS", "ALIGN_OPTIONS", "AlignerOutput", "Aligner", "compute_features", "SAMPLE_RATE", "FEATURE_SHIFT",
           "UNKNOWN_PHONE"]

UNKNOWN_PHONE = "spn"  # the phone segment of a word aligned with oov="phone-loop" (MFA's spoken noise)


def _preview(tokens: Sequence[str], count: int = 6) -> str:
    return " ".join(tokens[:count]) + (" ..." if len(tokens) > count else "")


@dataclass
class AlignerOutput:
    alignments: list[UtteranceAlignment]
    log_probs: torch.Tensor      # [B, T, V] model log-probabilities
    lengths: torch.Tensor        # [B] model frames
    transcripts: list[PronouncedTranscript] | None = None  # the pronunciations aligned (align_encoded's)


class Aligner:
    """A trained :class:`~fsttopo.models.AlignmentModel` with its token table and lexicon.

    Args:
        model: the acoustic model (eval mode is set).
        objective: the training objective configuration (topology and transitions).
        tokens: token symbols, index = id (0 = blank/silence).
        lexicon: text -> per-word token ids (e.g. :class:`fsttopo.data.lexicon.Lexicon`).
        align_options: defaults for :meth:`align`'s options (keys of :data:`ALIGN_OPTIONS`, e.g.
            tuned on a dev set and stored in the model file); unset ones take :data:`ALIGN_OPTIONS`.
        log_prior: the model's ``[V]`` label prior (estimated on its training data and stored in the
            model file), divided out with ``prior_scale``; without it each utterance's own average
            posterior is used (see :mod:`fsttopo.inference.scores`).
        confidence_threshold: alignments whose relative confidence is below it are marked
            :attr:`~fsttopo.data.alignment.UtteranceAlignment.low_confidence` (likely a transcript
            that does not match the audio); ``None``: not marked.
        boundary_refiner: a boundary detector for the ``refine_boundaries`` option (docs/boundaries.md).
        confidence_adjustment: with ``confidence_threshold``, :meth:`align` adds the confidence a
            right transcript is expected to lose to the recording's noise or reverberation before
            comparing (:mod:`fsttopo.inference.confidence_conditions`); ``None``: compared as it is.
    """

    def __init__(self, model: AlignmentModel, objective: ObjectiveConfig, tokens: Sequence[str],
                 lexicon: WordEncoder, align_options: Mapping[str, float | int | str] | None = None,
                 log_prior: torch.Tensor | None = None, confidence_threshold: float | None = None,
                 boundary_refiner: BoundaryRefiner | None = None,
                 confidence_adjustment: ConditionAdjustment | None = None):
        self.model = model.eval()
        self.precision = "float32"
        self.boundary_refiner = boundary_refiner
        self.objective = objective
        self.tokens = list(tokens)
        self.lexicon = lexicon
        self.align_options = self._check_options({**ALIGN_OPTIONS, **dict(align_options or {})})
        if log_prior is not None and tuple(log_prior.shape) != (len(self.tokens),):
            raise ValueError(f"log_prior must have shape [{len(self.tokens)}] (one per token), got "
                             f"{tuple(log_prior.shape)}")
        self.log_prior = log_prior
        if confidence_threshold is not None and not 0 <= confidence_threshold <= 1:
            raise ValueError(f"confidence_threshold must be in [0, 1], got {confidence_threshold}")
        self.confidence_threshold = confidence_threshold
        self.confidence_adjustment = confidence_adjustment
        if self.align_options.get("refine_boundaries") and boundary_refiner is None:
            raise ValueError("align option refine_boundaries needs a boundary detector (boundary_refiner)")

    @classmethod
    def from_file(cls, path: str | Path, lexicon: WordEncoder | None = None) -> "Aligner":
        """Load a model file (with its alignment-time defaults, if it has any); the lexicon defaults
        to the units the model was trained with (:attr:`ModelFile.units
        <fsttopo.training.checkpoint.ModelFile.units>`: CMUdict for files without them, a
        pronunciation dictionary, graphemes or SentencePiece). ValueError when the lexicon's token
        table is not the model's."""
        return cls.from_model_file(read_model_file(path), lexicon, str(path))

    @classmethod
    def from_model_file(cls, f: ModelFile, lexicon: WordEncoder | None = None, where: str = "model file"
                        ) -> "Aligner":
        """The aligner of a model file's contents (:func:`~fsttopo.training.checkpoint.read_model_file`),
        e.g. one with other weights swapped in; ``where`` names it in errors. As :meth:`from_file`."""
        if lexicon is None:
            lexicon = units_from_dict(f.units, f"{where}: units")
        tokens = list(getattr(lexicon, "tokens", f.tokens))
        if tokens != list(f.tokens):
            raise ValueError(f"{where}: the model's token table ({len(f.tokens)} tokens: {_preview(f.tokens)}) differs "
                             f"from the lexicon's ({len(tokens)}: {_preview(tokens)})")
        adjustment = (None if f.confidence_adjustment is None else
                      ConditionAdjustment.from_dict(f.confidence_adjustment, f"{where}: calibration"))
        return cls(f.model, f.objective, f.tokens, lexicon, f.align_options, f.log_prior, f.confidence_threshold,
                   f.boundary_refiner, adjustment)

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
        return check_align_options(options, self.model.config.subsampling)

    def check_features(self, features: Sequence[torch.Tensor], min_frames: int = 1) -> None:
        """ValueError naming the first utterance whose features the model cannot take: not a
        ``[T', F]`` float tensor with the model's ``F``, fewer than ``min_frames`` frames, NaN/inf."""
        if isinstance(features, torch.Tensor) or not isinstance(features, Sequence) or not features:
            raise ValueError("features must be a non-empty list of [T', F] tensors, one per utterance")
        num_features = self.model.config.num_features
        for i, f in enumerate(features):
            if not torch.is_tensor(f) or not f.is_floating_point() or f.ndim != 2 or f.shape[1] != num_features:
                shape = tuple(f.shape) if torch.is_tensor(f) else type(f).__name__
                raise ValueError(f"utterance {i}: features must be a float [T', {num_features}] tensor, got {shape}")
            if f.shape[0] < min_frames:
                raise ValueError(f"utterance {i} has {f.shape[0]} feature frames ({f.shape[0] * FEATURE_SHIFT:.2f} s "
                                 f"of audio); at least {min_frames} needed")
            if not bool(torch.isfinite(f).all()):
                raise ValueError(f"utterance {i}: features contain NaN or infinite values")

    def posteriors(self, features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """``[T'_i, F]`` feature tensors -> (log-probs ``[B, T, V]``, lengths ``[B]``), on the CPU
        whatever device the model runs on (the graph search runs there)."""
        self.check_features(features)
        return self._forward(features)

    def set_precision(self, precision: str) -> "Aligner":
        """Run the acoustic model in ``precision``: ``"float32"`` (the default) or ``"bfloat16"``
        (``torch.autocast``: about 1.2-1.7x faster on CPUs with AMX or AVX512-BF16 units and on
        GPUs, slower where bf16 is emulated; the log-probs differ from float32's by about 0.01, the
        alignments in the last digits, docs/benchmarks.md). ValueError for another name."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.precision = precision
        return self

    def autocast(self):
        """The context in which the acoustic model runs at :attr:`precision` (a no-op for float32)."""
        if self.precision == "float32":
            return contextlib.nullcontext()
        return torch.autocast(next(self.model.parameters()).device.type, dtype=torch.bfloat16)

    @torch.no_grad()
    def _forward(self, features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        device = next(self.model.parameters()).device
        x, lengths = pad_features(features)
        with self.autocast():
            out = self.model(x.to(device), lengths.to(device))
        log_probs = out.log_probs if out.log_probs is not None else \
            self.model.aligner_decoder.greedy_decode(out.hidden, out.lengths).log_probs  # aligner models
        return log_probs.float().cpu(), out.lengths.cpu()

    def to(self, device: str | torch.device) -> "Aligner":
        """Run the acoustic model on ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``); the graph search
        stays on the CPU. ValueError when the device is not available."""
        device = torch.device(device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {str(device)!r}: CUDA is not available on this machine")
        try:
            self.model.to(device)
        except (RuntimeError, AssertionError) as err:
            raise ValueError(f"device {str(device)!r} cannot run the model: {err}") from err
        return self

    def encode(self, features: list[torch.Tensor], phases: int = 1) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """:meth:`posteriors` of the features without their first ``p`` frames, for ``p < phases``
        (the model frame grid shifted by ``p`` feature frames; see :meth:`align_encoded`)."""
        self.check_features(features, min_frames=phases)
        return self._encode(features, phases)

    def _encode(self, features: list[torch.Tensor], phases: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [self._forward([f[p:] for f in features]) for p in range(phases)]

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
        min_pause: float | None = None,
        refine_boundaries: bool | None = None,
        untranscribed: bool | str | None = None,
        garbage_penalty: float | None = None,
        trim_silence: bool | None = None,
        pause_edges_db: float | None = None,
        pronunciation_variants: bool | None = None,
        variant_penalty: float | None = None,
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
            prior_scale: divide by the model's label prior to this power (Table 14).
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
            min_pause: seconds; shorter pauses between words (and phones) are closed
                (:func:`~fsttopo.data.alignment.close_short_pauses`); default one model frame
                (:attr:`frame_shift`), 0 keeps them.
            refine_boundaries: move the word boundaries to the model file's boundary detector's
                peaks nearby (:mod:`fsttopo.align.refine`; after ``min_pause``).
            untranscribed: audio the transcript does not cover goes to a garbage label instead of
                stretching words over it: before and after its words (``"edges"`` or True), or also
                between them (``"anywhere"``, at least 2 s, less reliable); it is reported in
                the alignments' ``untranscribed`` spans (:mod:`fsttopo.inference.garbage`; viterbi
                and posterior methods, utterances up to ``long_form.LONG_FORM.min_seconds``).
            garbage_penalty: nats per model frame by which the garbage label scores below the best
                non-blank label (default :data:`fsttopo.inference.garbage.GARBAGE_PENALTY`).
            trim_silence: leave runs of digital silence longer than 2 s out of what the model sees
                but 0.5 s next to the sound (:mod:`fsttopo.inference.silence_trim`), and move word
                boundaries out of runs of 0.2 s or more (:mod:`fsttopo.inference.silence_edges`); default on:
                the encoder attends to every frame, and minutes of silence drew boundaries into it.
            pause_edges_db: move word starts after pauses and ends before them to where the frame
                energy crosses this many dB below the recording's loud end, within 0.1 s
                (:mod:`fsttopo.inference.pause_edges`; after ``refine_boundaries``); 0: off.
            pronunciation_variants: a word with several lexicon pronunciations (CMUdict's "the":
                ``dh ah`` or ``dh iy``; a dictionary's alternatives) takes the one the best path
                through its frames takes (:mod:`fsttopo.inference.pronunciation_choice`; viterbi and
                posterior methods; an utterance aligned in pieces chooses in each piece).
            variant_penalty: nats a pronunciation other than the word's own costs on that path
                (default :data:`fsttopo.inference.pronunciation_choice.VARIANT_PENALTY`).

        Returns:
            :class:`AlignerOutput` with word and phone segments in seconds (and the model's
            outputs) on the recording's timeline, left-out silence included.
        """
        given = {"method": method, "blank_penalty": blank_penalty, "prior_scale": prior_scale,
                 "posterior_scale": posterior_scale, "phases": phases, "time_shift": time_shift,
                 "refine_boundaries": refine_boundaries, "untranscribed": untranscribed,
                 "garbage_penalty": garbage_penalty, "trim_silence": trim_silence, "pause_edges_db": pause_edges_db,
                 "pronunciation_variants": pronunciation_variants, "variant_penalty": variant_penalty}
        stored = dict(self.align_options)
        if method in GRADIENT_METHODS and pronunciation_variants is None:  # a stored default the method cannot take
            stored.pop("pronunciation_variants", None)
        options = self._check_options({**stored, **{k: v for k, v in given.items() if v is not None}})
        self._check_method(options["method"])
        refine = options.pop("refine_boundaries", False)
        trim = options.pop("trim_silence", OPTIONAL_ALIGN_OPTIONS["trim_silence"])
        pause_edges = options.pop("pause_edges_db", None)
        if refine and self.boundary_refiner is None:
            raise ValueError("refine_boundaries: this model file has no boundary detector")
        pause = self._min_pause(min_pause)
        self.check_features(features, min_frames=options["phases"])
        if oov not in (None, *OOV_MODES):  # before the model runs
            raise ValueError(f"oov must be one of {OOV_MODES}, got {oov!r}")
        texts = self.normalize(texts)
        if len(features) != len(texts) or not texts:
            raise ValueError(f"got {len(features)} feature tensors for {len(texts)} transcripts")
        check_transcripts(self, texts, [f.shape[0] for f in features], oov=oov, topology=topology,
                          phases=options["phases"], utterance_ids=utterance_ids)  # before the model runs
        check_not_all_silence(features, utterance_ids)
        trims = [plan_trim(f, block=self.model.config.subsampling) for f in features] if trim else []
        if any(t.trimmed for t in trims):
            features = [t.apply(f) for t, f in zip(trims, features)]
        else:
            trims = []
        durations = [f.shape[0] * FEATURE_SHIFT for f in features]
        if long_form.is_long(features, options["method"]):  # in pieces, in bounded memory
            if options.get("untranscribed"):
                raise ValueError(f"untranscribed: utterances longer than {long_form.LONG_FORM.min_seconds:g} s "
                                 "(aligned in pieces) are not supported; cut the recording shorter")
            out = long_form.align_long(self, features, texts, utterance_ids, options=options, topology=topology,
                                       transition_scale=transition_scale, offsets=offsets, oov=oov, min_pause=pause)
        elif options["method"] in GRADIENT_METHODS:
            if oov == "phone-loop":
                raise ValueError(f"oov='phone-loop' works with the viterbi and posterior methods, not {options['method']!r}")
            words = self._encode_texts(texts, oov)
            token_segs, word_segs = self._gradient(features, words, options["method"])
            alis = self._to_seconds(token_segs, word_segs, words, texts, durations, utterance_ids, offsets,
                                    options["time_shift"])
            out = AlignerOutput([close_short_pauses(a, pause) for a in alis], *self._forward(features))
        else:
            out = self.align_encoded(self._encode(features, options["phases"]), texts, durations, utterance_ids,
                                     topology=topology, transition_scale=transition_scale, offsets=offsets, oov=oov,
                                     min_pause=pause, **options)
        if refine:  # sub-frame word boundaries from the boundary detector (docs/boundaries.md)
            out.alignments = self.boundary_refiner(out.alignments, features)
        if pause_edges:
            out.alignments = snap_pause_edges(out.alignments, features, pause_edges)
        if self.confidence_adjustment is not None:  # the flag with the condition's expected loss added back
            out.alignments = [self._flag(replace(a, condition_allowance=self.confidence_adjustment.expected_drop(f)))
                              for a, f in zip(out.alignments, features)]
        if trim:
            out.alignments = keep_words_out_of_digital_silence(out.alignments, features)
        if trims:
            out.alignments = [t.restore(a) for t, a in zip(trims, out.alignments)]
            lengths = self.model.frontend.output_lengths(torch.tensor([t.num_frames for t in trims]))
            out.log_probs = restore_frames(out.log_probs, out.lengths, trims, self.model.config.subsampling, lengths,
                                           self.model.config.blank)
            out.lengths = lengths
        return out

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
        min_pause: float | None = None,
        untranscribed: bool | str = False,
        garbage_penalty: float = garbage.GARBAGE_PENALTY,
        pronunciation_variants: bool = False,
        variant_penalty: float = VARIANT_PENALTY,
    ) -> AlignerOutput:
        """:meth:`align` from model outputs: ``encoded`` from :meth:`encode` (its first ``phases``
        entries are used, default all), ``durations`` of the utterances in seconds. Only the
        ``viterbi`` and ``posterior`` methods; options have no stored defaults here. Lets one
        encoding serve many option settings (e.g. tuning them on a dev set)."""
        if method not in ("viterbi", "posterior"):
            raise ValueError(f"align_encoded takes method 'viterbi' or 'posterior', got {method!r}")
        self._check_method(method)
        untranscribed = self._check_options({
            "method": method, "blank_penalty": blank_penalty, "prior_scale": prior_scale,
            "posterior_scale": posterior_scale, "phases": 1, "time_shift": time_shift,
            "untranscribed": untranscribed, "garbage_penalty": garbage_penalty,
            "pronunciation_variants": pronunciation_variants,
            "variant_penalty": variant_penalty})["untranscribed"]  # True: "edges"
        pause = self._min_pause(min_pause)
        if transition_scale is not None and (isinstance(transition_scale, bool) or not
                                             isinstance(transition_scale, (int, float)) or
                                             not 0 <= transition_scale < float("inf")):
            raise ValueError(f"transition_scale must be a finite number >= 0, got {transition_scale!r}")
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
        words = self._encode_texts(texts, oov, variants=pronunciation_variants)
        scale = self.objective.transition_scale if transition_scale is None else transition_scale
        transitions = Transitions(*self.objective.transitions) if topology == "hmm" and scale else None
        phase_scores = [emission_scores(log_probs, lengths, blank_penalty=blank_penalty, prior_scale=prior_scale,
                                        posterior_scale=posterior_scale, log_prior=self.log_prior)
                        for log_probs, lengths in encoded[:phases]]
        if pronunciation_variants:
            words = choose_pronunciations(phase_scores[0], encoded[0][1], words, topology, transitions, scale,
                                          variant_penalty)
        graphs = build_graphs(words, topology, len(self.tokens), transitions)
        if untranscribed:  # the garbage label is column V of the scores
            graphs = garbage.garbage_graphs(graphs, words, len(self.tokens), untranscribed)
        per_phase, garbage_frames = [], None
        for p, ((log_probs, lengths), scores) in enumerate(zip(encoded[:phases], phase_scores)):
            confidence_log_probs = log_probs
            if untranscribed:
                scores = garbage.garbage_scores(scores, garbage_penalty)
                confidence_log_probs = garbage.confidence_log_probs(log_probs)
            engine_options = dict(transition_scale=scale if transitions is not None else 0.0)
            if method == "viterbi":
                path = viterbi(scores, lengths, graphs, **engine_options)
                token_segs = path_segments(path, graphs, level="token")
                word_segs = path_segments(path, graphs, level="word") if topology == "hmm" else None
                confidence = path_frame_confidence(confidence_log_probs, lengths, path.labels)
                if untranscribed and p == 0:
                    garbage_frames = garbage.path_garbage_frames(path.labels, len(self.tokens))
            else:
                occupancy = state_posteriors(scores, lengths, graphs, **engine_options)
                token_segs = expected_segments(occupancy, graphs, level="token")
                word_segs = expected_segments(occupancy, graphs, level="word") if topology == "hmm" else None
                confidence = posterior_frame_confidence(confidence_log_probs, lengths, occupancy, graphs)
                if untranscribed and p == 0:
                    garbage_frames = garbage.posterior_garbage_frames(occupancy, graphs, len(self.tokens))
            if word_segs is None:  # an unknown word (AnyLabels) is one token
                word_segs = [group_segments(t, [word_size(w) for w in ws])
                             for t, ws in zip(token_segs, words)]
            per_phase.append(self._to_seconds(token_segs, word_segs, words, texts, durations, utterance_ids,
                                              offsets, time_shift + p * FEATURE_SHIFT, confidence, lengths,
                                              log_probs.detach().double().exp().amax(-1)))
        alis = [self._flag(close_short_pauses(mean_alignment(list(utt)), pause)) for utt in zip(*per_phase)]
        if garbage_frames is not None:  # on phase 0's frame grid
            spans = garbage.untranscribed_seconds(garbage_frames, encoded[0][1], self.frame_shift,
                                                  self.frame_offset + time_shift, durations, offsets)
            alis = [replace(a, untranscribed=s) for a, s in zip(alis, spans)]
        return AlignerOutput(alis, *encoded[0], transcripts=words)

    def _check_method(self, method: str) -> None:
        if self.model.config.aligner and method not in GRADIENT_METHODS:
            raise ValueError(f"method {method!r}: an Aligner-Encoder model has no frame lattice to search; use "
                             f"{' or '.join(GRADIENT_METHODS)}")

    def _min_pause(self, min_pause: float | None) -> float:
        if min_pause is None:
            return self.frame_shift
        if isinstance(min_pause, bool) or not isinstance(min_pause, (int, float)) or not 0 <= min_pause <= 10:
            raise ValueError(f"min_pause must be a number of seconds from 0 to 10, got {min_pause!r}")
        return float(min_pause)

    def _flag(self, alignment: UtteranceAlignment) -> UtteranceAlignment:
        """Mark ``alignment`` low-confidence when its relative confidence plus its
        ``condition_allowance`` (what the recording's condition costs a right transcript) is below
        the threshold."""
        if self.confidence_threshold is not None and alignment.relative_confidence is not None:
            allowance = alignment.condition_allowance or 0.0
            alignment.low_confidence = alignment.relative_confidence + allowance < self.confidence_threshold
        return alignment

    def normalize(self, texts: Sequence[str]) -> list[str]:
        """Transcripts as the lexicon spells them (numbers and abbreviations written out, punctuation
        around words removed; see :func:`fsttopo.data.normalize.normalize_tokens`); the alignments
        carry these words."""
        return [normalize_transcript(self.lexicon, t) for t in texts]

    def _encode_texts(self, texts: Sequence[str], oov: str | None = None,
                      variants: bool = False) -> list[PronouncedTranscript]:
        """Token ids per word of each transcript, with the pronunciations used (``oov`` default
        ``"g2p"``; ``variants``: every lexicon pronunciation too; see
        :func:`fsttopo.data.pronounce.pronounce_transcript`)."""
        return [pronounce_transcript(self.lexicon, t, oov or "g2p", variants=variants) for t in texts]

    def _to_seconds(self, token_segs, word_segs, words, texts, durations, utterance_ids, offsets,
                    shift: float, frame_confidence: torch.Tensor | None = None,
                    lengths: torch.Tensor | None = None,
                    best_frame: torch.Tensor | None = None) -> list[UtteranceAlignment]:
        """Frame segments -> :class:`UtteranceAlignment` in seconds; with ``frame_confidence``
        (``[B, T]``, see :mod:`fsttopo.align.confidence`), ``lengths`` and ``best_frame`` (``[B, T]``
        largest posterior per frame) the utterance, word and phone confidences are its means over
        the utterance and over each segment's frames, the relative confidence its ratio to
        ``best_frame``'s."""
        ids = list(utterance_ids) if utterance_ids is not None else [f"utt{i}" for i in range(len(texts))]
        offsets = list(offsets) if offsets is not None else [0.0] * len(texts)
        out = []
        for i, text in enumerate(texts):
            symbols = [s for w in words[i] for s in
                       ([UNKNOWN_PHONE] if isinstance(w, AnyLabels) else [self.tokens[t] for t in w])]
            scores = {}
            if frame_confidence is not None:
                n = int(lengths[i])
                scores = dict(
                    confidence=min(1.0, float(frame_confidence[i, :n].mean())),
                    relative_confidence=min(1.0, float(frame_confidence[i, :n].sum() / best_frame[i, :n].sum())),
                    word_confidences=segment_confidences(frame_confidence[i], n, [(s.start, s.end) for s in word_segs[i]]),
                    phone_confidences=segment_confidences(frame_confidence[i], n,
                                                          [(s.start, s.end) for s in token_segs[i]]))
            out.append(UtteranceAlignment.from_segments(
                ids[i], text, durations[i], word_segs[i], token_segs[i], text.split(),
                symbols, self.frame_shift, offset=offsets[i],
                frame_offset=self.frame_offset + shift, pronunciations=words[i].pronunciations, **scores))
        return out

    def _gradient(self, features, words, method):
        device = next(self.model.parameters()).device
        x, lengths = pad_features(features)
        with torch.no_grad():
            frames, out_lengths = self.model.frontend(x.to(device), lengths.to(device))
        targets = [[t for w in ws for t in w] for ws in words]
        if self.model.config.aligner:
            decoder = self.model.aligner_decoder
            with torch.no_grad():  # the prediction network sees no audio: keep it out of the S backward passes
                prediction = decoder.prediction(pad_token_sequences(targets, pad=decoder.eos, device=device)[0])
            score_fn = aligner_label_scores_fn(lambda h, tgt, n: decoder(
                self.model.encode_frames(h, out_lengths)[0], out_lengths, tgt, n, prediction), targets, eos=decoder.eos)
        else:
            score_fn = ctc_label_scores_fn(lambda h: self.model.log_probs_from_hidden(
                self.model.encode_frames(h, out_lengths)[0]), out_lengths, targets,
                forced_blank=self.objective.topology == "ctc")
        variant = "GradScore" if method == "gradscore" else "GradScoreExt"
        result = gradient_alignment(score_fn, frames.detach(), out_lengths, targets, variant=variant)
        token_segs = result.segments
        word_segs = [group_segments(t, [len(w) for w in ws]) for t, ws in zip(token_segs, words)]
        return token_segs, word_segs
