"""Long recordings in bounded memory and time: anchors from a beam Viterbi, exact alignment between them.

The plain aligner keeps state posteriors for every model frame and graph state of an utterance
(``T x N``: 51.6 GB for an hour of speech) and runs the encoder's full self-attention over the
whole file. For an utterance longer than :attr:`LongFormConfig.min_seconds`:

1. the encoder runs in overlapping windows (:func:`fsttopo.inference.chunked.encode_chunked`);
2. a beam Viterbi over the whole utterance (:func:`fsttopo.inference.beam_viterbi.beam_viterbi_arcs`,
   memory linear in frames + states) places every word on the phase-0 frame grid;
3. the utterance is cut into pieces of about :attr:`LongFormConfig.piece_seconds` in the middle of
   the longest pause near each target length; each piece also takes
   :attr:`LongFormConfig.context_words` words of context beyond each of its cuts (aligned, then
   dropped), so that the posterior of a word next to a cut, which may reach into the pause, is
   computed as in the whole utterance;
4. each piece is aligned with the configured method (e.g. posterior on 4 phases) by
   :meth:`fsttopo.aligner.Aligner.align_encoded`, batched, and the pieces' core words are merged
   into one :class:`~fsttopo.data.alignment.UtteranceAlignment`.

Cutting a context word away from the kept ones changes their posteriors only through the paths
that would cross the cut, which have negligible weight, so the result equals the unsegmented
alignment where that fits in memory (measured in ``docs/alignment.md``: within 0.05 ms on 2.5
minutes). Times are model frames (40 ms) unless named seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Mapping, Sequence

import torch

from ..data.activity import active_feature_frames
from ..data.alignment import TimedToken, UtteranceAlignment
from ..data.features import FEATURE_SHIFT
from ..data.pronounce import PronouncedTranscript
from ..topology import Transitions, build_graphs, word_size
from .chunked import encode_chunked
from .scores import emission_scores

if TYPE_CHECKING:
    from ..aligner import Aligner, AlignerOutput

__all__ = ["LongFormConfig", "LONG_FORM", "Piece", "is_long", "word_frames", "plan_pieces", "encode_long",
           "align_long_encoded", "align_long_utterance", "align_long"]


@dataclass(frozen=True)
class LongFormConfig:
    """When and how an utterance is aligned in pieces (seconds of audio, or model frames)."""

    min_seconds: float = 60.0       # utterances longer than this take the long-form path
    # Encoder windows: a window that holds no speech at all is outside what the models were trained
    # on (the robust model put words into 2 min of silence with 30 s windows, and aligned them
    # within 13-16 ms in one pass), so a window with less than min_active_seconds of sound (energy
    # activity, fsttopo.data.activity) grows until it has them, up to max_window_seconds. Most
    # windows stay short: full attention costs the square of a window's length (180-s windows
    # took 1.7x the encoder time of 60-s ones).
    window_seconds: float = 40.0    # encoder window core
    context_seconds: float = 10.0   # encoder context on each side of a window's core
    min_active_seconds: float = 5.0     # sound a window must hold
    max_window_seconds: float = 300.0   # the most a window grows to (memory: ~0.9 GB of attention)
    window_batch: int = 2           # windows encoded at once
    piece_seconds: float = 20.0     # target length of an alignment piece
    context_words: int = 2          # words of context beyond each cut
    beam: float = 30.0              # nats, beam of the anchor Viterbi
    max_width: int = 4000           # states per frame kept by the anchor Viterbi
    batch_pieces: int = 16          # pieces aligned at once


LONG_FORM = LongFormConfig()


@dataclass(frozen=True)
class Piece:
    """Words ``[first, last)`` aligned over model frames ``[start, end)``; words
    ``[core_first, core_last)`` of them, between the cuts at frames ``core_start`` and ``core_end``,
    are kept."""

    first: int
    last: int
    core_first: int
    core_last: int
    start: int
    end: int
    core_start: int
    core_end: int


def is_long(features: Sequence[torch.Tensor], method: str, config: LongFormConfig | None = None) -> bool:
    """Whether a batch takes the long-form path: a viterbi/posterior alignment with an utterance
    longer than ``config.min_seconds`` (default :data:`LONG_FORM`, read at call time)."""
    config = config or LONG_FORM
    limit = config.min_seconds / FEATURE_SHIFT
    return method in ("viterbi", "posterior") and any(f.shape[0] > limit for f in features)


def _token_words(words: PronouncedTranscript | Sequence) -> torch.Tensor:
    """``[num_tokens]`` word index of each token (an unknown word is one token)."""
    sizes = torch.tensor([word_size(w) for w in words])
    return torch.repeat_interleave(torch.arange(len(sizes)), sizes)


def word_frames(arcs: torch.Tensor, token_of_arc: torch.Tensor, token_words: torch.Tensor,
                num_words: int) -> tuple[torch.Tensor, torch.Tensor]:
    """First and one-past-last frame ``[K]`` of each word on a best path.

    Args:
        arcs: ``[T]`` arc taken at each frame (:func:`beam_viterbi_arcs`).
        token_of_arc: per arc, its token position (``graphs.aux["token"]``; -1 for silence/blank).
        token_words: ``[num_tokens]`` word index of each token.
        num_words: ``K``.
    """
    token = token_of_arc[arcs]
    frames = torch.nonzero(token >= 0).flatten()
    word = token_words[token[frames]]
    T = arcs.shape[0]
    starts = torch.full((num_words,), T, dtype=torch.int64).scatter_reduce(0, word, frames, "amin")
    ends = torch.zeros(num_words, dtype=torch.int64).scatter_reduce(0, word, frames + 1, "amax")
    return starts, ends


def plan_pieces(starts: torch.Tensor, ends: torch.Tensor, num_frames: int, piece: int,
                context_words: int) -> list[Piece]:
    """Cut ``K`` words placed at ``[starts, ends)`` (model frames) into pieces of about ``piece`` frames.

    Each cut lies in the middle of the pause between two words; among the word boundaries that
    end a piece between ``piece / 2`` and ``piece`` frames long, the one with the longest pause is
    taken. Each piece takes ``context_words`` words of context beyond each of its cuts. The loop
    runs over pieces, not frames.
    """
    K = starts.shape[0]
    gaps = torch.cat([torch.tensor([0]), starts[1:] - ends[:-1], torch.tensor([0])])  # [K + 1] pause frames
    cuts = torch.cat([torch.tensor([0]), (ends[:-1] + starts[1:]) // 2, torch.tensor([num_frames])])
    bounds = [0]
    while num_frames - int(cuts[bounds[-1]]) > 1.5 * piece and bounds[-1] < K - 1:
        here = int(cuts[bounds[-1]])
        lo = max(int(torch.searchsorted(cuts, here + piece // 2)), bounds[-1] + 1)
        hi = min(int(torch.searchsorted(cuts, here + piece, right=True)), K)
        if lo >= hi:
            bounds.append(min(lo, K - 1))
            continue
        window = gaps[lo:hi]
        bounds.append(lo + int(hi - lo - 1 - torch.argmax(window.flip(0))))  # the latest of the longest
    bounds.append(K)
    pieces = []
    for first, last in zip(bounds, bounds[1:]):
        left, right = min(context_words, first), min(context_words, K - last)
        pieces.append(Piece(first - left, last + right, first, last, int(cuts[first - left]), int(cuts[last + right]),
                            int(cuts[first]), int(cuts[last])))
    return pieces


def encode_long(aligner: "Aligner", features: torch.Tensor, phases: int,
                config: LongFormConfig | None = None) -> list[torch.Tensor]:
    """Per phase ``p < phases``, the ``[T_p, V]`` log-probs of ``features[p:]`` (``[T', F]``) from the
    windowed encoder (:func:`fsttopo.inference.chunked.encode_chunked`)."""
    config = config or LONG_FORM
    frames = 1 / aligner.frame_shift
    core, context = round(config.window_seconds * frames), round(config.context_seconds * frames)
    min_active, max_span = round(config.min_active_seconds * frames), round(config.max_window_seconds * frames)
    S = aligner.model.config.subsampling
    sound = active_feature_frames(features)
    out = []
    for p in range(phases):
        num_out = int(aligner.model.frontend.output_lengths(torch.tensor([features.shape[0] - p]))[0])
        flags = torch.nn.functional.pad(sound[p:], (0, max(num_out * S - (features.shape[0] - p), 0)))
        active = flags[: num_out * S].reshape(num_out, S).any(1)
        with aligner.autocast():
            out.append(encode_chunked(aligner.model, features[p:], core, context, config.window_batch, active,
                                      min_active, max_span))
    return out


def _anchor_words(aligner: "Aligner", log_probs: torch.Tensor, words: PronouncedTranscript, topology: str,
                  transition_scale: float | None, options: Mapping, config: LongFormConfig
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Word frames ``[K]`` (starts, ends) of the beam Viterbi on the phase-0 ``log_probs`` ``[T, V]``."""
    scale = aligner.objective.transition_scale if transition_scale is None else transition_scale
    transitions = Transitions(*aligner.objective.transitions) if topology == "hmm" and scale else None
    graphs = build_graphs([list(words)], topology, len(aligner.tokens), transitions)
    T = torch.tensor([log_probs.shape[0]])
    scores = emission_scores(log_probs[None], T, blank_penalty=options["blank_penalty"],
                             prior_scale=options["prior_scale"], posterior_scale=options["posterior_scale"],
                             log_prior=aligner.log_prior)[0]
    from .beam_viterbi import beam_viterbi_arcs  # Numba: not loaded for short recordings (start-up)

    arcs = beam_viterbi_arcs(scores, graphs, transition_scale=scale if transitions is not None else 0.0,
                             beam=config.beam, max_width=config.max_width)
    return word_frames(arcs, graphs.aux["token"], _token_words(words), len(words))


MIN_TOKEN_SECONDS = 0.001


def _after(tokens: list[TimedToken], start: float | None) -> list[TimedToken]:
    """``tokens`` moved to start no earlier than ``start``, each after the one before it, at least
    :data:`MIN_TOKEN_SECONDS` long. Two pieces that disagree about where their shared words lie
    (a model that takes noise for speech) must not produce overlapping or reversed tokens."""
    out: list[TimedToken] = []
    for token in tokens:
        begin = token.start if start is None else max(token.start, start)
        if begin != token.start or token.end < begin + MIN_TOKEN_SECONDS:
            token = replace(token, start=begin, end=max(token.end, begin + MIN_TOKEN_SECONDS))
        out.append(token)
        start = token.end
    return out


def _merge(uid: str, text: str, duration: float, offset: float, words: PronouncedTranscript,
           pieces: Sequence[Piece], alignments: Sequence[UtteranceAlignment],
           piece_words: Sequence[PronouncedTranscript]) -> UtteranceAlignment:
    """One alignment of the pieces' core words and phones (``piece_words``: each piece's words as
    it pronounced them, which tell its phones per word); utterance confidences are the pieces'
    weighted by their core frames (the plain path averages over all frames)."""
    out_words: list[TimedToken] = []
    out_phones: list[TimedToken] = []
    conf_sum = best_sum = frames = 0.0
    for p, ali, said in zip(pieces, alignments, piece_words):
        w0 = p.core_first - p.first
        kept_words = ali.words[w0: w0 + p.core_last - p.core_first]
        phone_counts = [word_size(w) for w in said]
        ph0 = sum(phone_counts[:w0])
        kept_phones = ali.phones[ph0: ph0 + sum(phone_counts[w0: w0 + p.core_last - p.core_first])]
        if out_words and kept_words and kept_words[0].start < out_words[-1].end:  # context pieces meet
            mid = max((kept_words[0].start + out_words[-1].end) / 2, out_words[-1].start, out_phones[-1].start)
            out_words[-1], out_phones[-1] = replace(out_words[-1], end=mid), replace(out_phones[-1], end=mid)
        out_words += _after(kept_words, out_words[-1].end if out_words else None)
        out_phones += _after(kept_phones, out_phones[-1].end if out_phones else None)
        if ali.confidence is not None and ali.relative_confidence:
            n = p.core_end - p.core_start
            conf_sum += ali.confidence * n
            best_sum += ali.confidence * n / ali.relative_confidence
            frames += n
    confidence = min(1.0, conf_sum / frames) if frames else None
    relative = min(1.0, conf_sum / best_sum) if best_sum else None
    return UtteranceAlignment(uid, text, duration, out_words, out_phones, start=offset, confidence=confidence,
                              relative_confidence=relative, pronunciations=words.pronunciations)


def align_long_utterance(aligner: "Aligner", features: torch.Tensor, text: str, uid: str, offset: float, *,
                         options: Mapping, topology: str | None, transition_scale: float | None,
                         oov: str | None, min_pause: float, config: LongFormConfig | None = None
                         ) -> tuple[UtteranceAlignment, torch.Tensor]:
    """One long utterance (``features`` ``[T', F]``) -> its alignment and phase-0 log-probs ``[T, V]``:
    the windowed encoder, then :func:`align_long_encoded`."""
    config = config or LONG_FORM
    encoded = encode_long(aligner, features, int(options["phases"]), config)
    ali = align_long_encoded(aligner, encoded, text, features.shape[0] * FEATURE_SHIFT, uid, offset, options=options,
                             topology=topology, transition_scale=transition_scale, oov=oov, min_pause=min_pause,
                             config=config)
    return ali, encoded[0]


def align_long_encoded(aligner: "Aligner", encoded: Sequence[torch.Tensor], text: str, duration: float,
                       uid: str = "utt0", offset: float = 0.0, *, options: Mapping, topology: str | None = None,
                       transition_scale: float | None = None, oov: str | None = None, min_pause: float | None = None,
                       config: LongFormConfig | None = None) -> UtteranceAlignment:
    """Anchors, pieces and their alignment (module docstring, steps 2-4) from model outputs.

    Args:
        encoded: per phase ``p``, the ``[T_p, V]`` log-probs of the features without their first
            ``p`` frames (:func:`encode_long`); ``options["phases"]`` of them are used.
        text: the transcript; ``duration``: seconds of audio; ``uid``, ``offset``: as
            :meth:`~fsttopo.aligner.Aligner.align`.
        options: checked alignment options (:data:`fsttopo.inference.ALIGN_OPTIONS`; viterbi or posterior).
    """
    config = config or LONG_FORM
    topology = topology or aligner.objective.topology
    phases = int(options["phases"])
    words = aligner._encode_texts([text], oov)[0]
    starts, ends = _anchor_words(aligner, encoded[0], words, topology, transition_scale, options, config)
    fs = aligner.frame_shift
    pieces = plan_pieces(starts, ends, encoded[0].shape[0], round(config.piece_seconds / fs), config.context_words)
    names = [w.word for w in words.words]
    engine_options = {k: options[k] for k in ("method", "blank_penalty", "prior_scale", "posterior_scale",
                                              "time_shift", "pronunciation_variants", "variant_penalty")
                      if k in options}
    alignments: list[UtteranceAlignment] = []
    piece_words: list[PronouncedTranscript] = []
    for group in [pieces[i: i + config.batch_pieces] for i in range(0, len(pieces), config.batch_pieces)]:
        batch = []
        for lp in encoded[:phases]:
            spans = [lp[p.start: min(p.end, lp.shape[0])] for p in group]
            lengths = torch.tensor([s.shape[0] for s in spans])
            batch.append((torch.nn.utils.rnn.pad_sequence(spans, batch_first=True), lengths))
        result = aligner.align_encoded(
            batch, [" ".join(names[p.first: p.last]) for p in group],
            [min(duration, p.end * fs) - p.start * fs for p in group], [uid] * len(group),
            topology=topology, transition_scale=transition_scale, offsets=[offset + p.start * fs for p in group],
            oov=oov, min_pause=min_pause, phases=phases, **engine_options)
        alignments += result.alignments
        piece_words += result.transcripts
    return aligner._flag(_merge(uid, words.text, duration, offset, words, pieces, alignments, piece_words))


def align_long(aligner: "Aligner", features: Sequence[torch.Tensor], texts: Sequence[str],
               utterance_ids: Sequence[str] | None = None, *, options: Mapping, topology: str | None = None,
               transition_scale: float | None = None, offsets: Sequence[float] | None = None,
               oov: str | None = None, min_pause: float, config: LongFormConfig | None = None) -> "AlignerOutput":
    """:meth:`fsttopo.aligner.Aligner.align` for a batch holding long utterances: each long one by
    :func:`align_long_utterance`, the others as usual; ``options`` are the checked alignment options
    (viterbi or posterior method)."""
    from ..aligner import AlignerOutput

    config = config or LONG_FORM
    ids = list(utterance_ids) if utterance_ids is not None else [f"utt{i}" for i in range(len(texts))]
    offsets = list(offsets) if offsets is not None else [0.0] * len(texts)
    alignments, log_probs = [], []
    limit = config.min_seconds / FEATURE_SHIFT
    for f, text, uid, offset in zip(features, texts, ids, offsets):
        if f.shape[0] > limit:
            ali, lp = align_long_utterance(aligner, f, text, uid, offset, options=options, topology=topology,
                                           transition_scale=transition_scale, oov=oov, min_pause=min_pause,
                                           config=config)
        else:
            out = aligner.align_encoded(aligner._encode([f], options["phases"]), [text], [f.shape[0] * FEATURE_SHIFT],
                                        [uid], topology=topology, transition_scale=transition_scale, offsets=[offset],
                                        oov=oov, min_pause=min_pause, **options)
            ali, lp = out.alignments[0], out.log_probs[0, : out.lengths[0]]
        alignments.append(ali)
        log_probs.append(lp)
    lengths = torch.tensor([lp.shape[0] for lp in log_probs])
    return AlignerOutput(alignments, torch.nn.utils.rnn.pad_sequence(log_probs, batch_first=True), lengths)
