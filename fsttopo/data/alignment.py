"""Word and phone alignments of one utterance in seconds, and their Lhotse form.

Times are seconds relative to the start of the *recording* (Lhotse's convention for
``SupervisionSegment.alignment``), ends exclusive. An utterance covers
``[start, start + duration)`` of its recording; for one utterance per recording ``start`` is 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Mapping, Sequence

from ..align import Segment

if TYPE_CHECKING:  # Lhotse is imported where its types are made: aligning a file does not need it (0.4-0.6 s)
    from lhotse import SupervisionSegment
    from lhotse.supervision import AlignmentItem

__all__ = ["TIME_TOLERANCE", "CONFIDENCE_KEY", "SPREAD_KEYS", "PRONUNCIATION_SOURCES", "Pronunciation", "TimedToken",
           "UtteranceAlignment", "mean_alignment", "close_short_pauses"]

TIME_TOLERANCE = 1e-6
"""Seconds by which neighbouring tokens may overlap (float noise, e.g. Lhotse rounds ends to 1e-8 s)."""


CONFIDENCE_KEY = "alignment_confidence"
"""Key of :attr:`UtteranceAlignment.confidence` in a Lhotse supervision's ``custom`` dict."""
SPREAD_KEYS = {"word": "word_boundary_sd", "phone": "phone_boundary_sd"}
"""The ``custom`` entries of a supervision that hold its words' and phones' boundary spreads,
``[[start_sd, end_sd], ...]`` seconds in alignment order (Lhotse's alignment items have no field)."""


PRONUNCIATION_SOURCES = ("lexicon", "g2p", "phone-loop")
"""Where a word's pronunciation came from: the lexicon, the G2P's guess, or a phone loop (any phones)."""


@dataclass(frozen=True)
class Pronunciation:
    """How a word was pronounced for the alignment: ``phones`` (empty for a phone loop) and their
    ``source`` (one of :data:`PRONUNCIATION_SOURCES`)."""

    source: str
    phones: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.source not in PRONUNCIATION_SOURCES:
            raise ValueError(f"pronunciation source must be one of {PRONUNCIATION_SOURCES}, got {self.source!r}")
        if (self.source == "phone-loop") != (not self.phones):
            raise ValueError(f"a {self.source} pronunciation must {'not ' * (self.source != 'phone-loop')}"
                             f"be empty, got {self.phones!r}")


@dataclass(frozen=True)
class TimedToken:
    """A word or phone (non-empty ``symbol``) spanning ``start <= t < end`` (seconds), with the
    acoustic model's ``confidence`` in it when known (mean posterior of its aligned labels, ``[0, 1]``)
    and the spread of its boundaries when known: ``start_sd`` and ``end_sd``, the standard
    deviations (seconds) of the start and end under the aligner's posterior over all alignments
    (:func:`fsttopo.align.expected_segments`). A wide spread marks a boundary the model is unsure
    of, and such boundaries are far more often far off (docs/alignment.md, "Boundary spread")."""

    symbol: str
    start: float
    end: float
    confidence: float | None = None
    start_sd: float | None = None
    end_sd: float | None = None

    def __post_init__(self) -> None:
        if not self.symbol:
            raise ValueError(f"token [{self.start}, {self.end}) s has an empty symbol")
        if self.confidence is not None and not 0.0 <= self.confidence <= 1.0 + 1e-9:
            raise ValueError(f"token {self.symbol!r}: confidence must be in [0, 1], got {self.confidence}")
        for name in ("start_sd", "end_sd"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"token {self.symbol!r}: {name} must be a finite number of seconds >= 0, got {value}")
        if not (math.isfinite(self.start) and math.isfinite(self.end)):
            raise ValueError(f"token {self.symbol!r}: times must be finite, got [{self.start}, {self.end})")
        if self.start > self.end:
            raise ValueError(f"token {self.symbol!r}: start {self.start} s is after end {self.end} s")

    @property
    def duration(self) -> float:
        """``end - start`` in seconds."""
        return self.end - self.start

    @property
    def boundary_sd(self) -> float | None:
        """The wider of the two boundary spreads (seconds), ``None`` when they are not known."""
        return None if self.start_sd is None or self.end_sd is None else max(self.start_sd, self.end_sd)

    @property
    def center(self) -> float:
        """``(start + end) / 2`` in seconds."""
        return (self.start + self.end) / 2


def _check_order(utterance_id: str, kind: str, tokens: Sequence[TimedToken]) -> None:
    for prev, cur in zip(tokens, tokens[1:]):
        if cur.start < prev.end - TIME_TOLERANCE:
            raise ValueError(
                f"utterance {utterance_id!r}: {kind} {cur.symbol!r} starts at {cur.start} s, before "
                f"the previous {kind} {prev.symbol!r} ends ({prev.end} s); {kind}s must not overlap")


@dataclass
class UtteranceAlignment:
    """Word and phone segments of one utterance.

    Attributes:
        utterance_id: e.g. the Lhotse supervision id.
        text: the transcript.
        duration: length of the utterance in seconds.
        words: words in time order, not overlapping (seconds, relative to the recording).
        phones: phones (or other sub-word tokens) in time order, not overlapping; may be empty.
        start: start of the utterance in its recording, seconds (Lhotse ``SupervisionSegment.start``).
        confidence: how much the acoustic model agrees with the alignment, in ``[0, 1]``: the mean
            over frames of its posterior probability of the aligned label (``None`` when unknown).
            Low values flag transcripts that do not match the audio.
        relative_confidence: ``confidence`` divided by the mean over frames of the model's largest
            posterior, in ``[0, 1]``: 1 when the transcript explains every frame as well as any label
            could. Unlike ``confidence`` it does not fall for a voice or recording the model is
            merely unsure about, so it is what the low-confidence flag uses.
        low_confidence: whether ``relative_confidence`` (plus ``condition_allowance``) is below the
            model's calibrated threshold (a likely transcript mismatch: check it); ``None`` when the
            model has no threshold.
        condition_allowance: the relative confidence a right transcript is expected to lose to the
            recording's noise or reverberation, added to ``relative_confidence`` before the
            threshold (a model calibrated with a condition adjustment,
            :mod:`fsttopo.inference.confidence_conditions`); ``None`` for other models.
        pronunciations: the words *not* pronounced from the lexicon (as written in ``text``) and
            how they were (a G2P guess, or a phone loop); empty when every word was in the lexicon.
        untranscribed: ``(start, end)`` spans (seconds, relative to the recording, in time order)
            of audio the transcript does not cover, found with the aligner's ``untranscribed``
            option (:mod:`fsttopo.inference.garbage`); no word lies in them. Empty otherwise.
        model: which shipped model aligned it (``"default"`` or ``"robust"``) when the model was
            chosen per recording (``--model auto``, :class:`fsttopo.routed_aligner.RoutedAligner`);
            ``None`` otherwise.
        model_reasons: why that was the robust model: the condition measures that crossed the
            routing rule's thresholds (:mod:`fsttopo.inference.model_routing`); empty otherwise.
    """

    utterance_id: str
    text: str
    duration: float
    words: list[TimedToken]
    phones: list[TimedToken] = field(default_factory=list)
    start: float = 0.0
    confidence: float | None = None
    relative_confidence: float | None = None
    low_confidence: bool | None = None
    pronunciations: dict[str, Pronunciation] = field(default_factory=dict)
    untranscribed: list[tuple[float, float]] = field(default_factory=list)
    condition_allowance: float | None = None
    model: str | None = None
    model_reasons: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.condition_allowance is not None and not (math.isfinite(self.condition_allowance)
                                                         and self.condition_allowance >= 0):
            raise ValueError(f"utterance {self.utterance_id!r}: condition_allowance must be finite and >= 0, got "
                             f"{self.condition_allowance}")
        if self.confidence is not None and not 0.0 <= self.confidence <= 1.0 + 1e-9:
            raise ValueError(f"utterance {self.utterance_id!r}: confidence must be in [0, 1], got {self.confidence}")
        if self.relative_confidence is not None and not 0.0 <= self.relative_confidence <= 1.0 + 1e-9:
            raise ValueError(f"utterance {self.utterance_id!r}: relative_confidence must be in [0, 1], got "
                             f"{self.relative_confidence}")
        if not (math.isfinite(self.duration) and self.duration >= 0):
            raise ValueError(f"utterance {self.utterance_id!r}: duration must be finite and >= 0, got {self.duration}")
        if not math.isfinite(self.start):
            raise ValueError(f"utterance {self.utterance_id!r}: start must be finite, got {self.start}")
        _check_order(self.utterance_id, "word", self.words)
        _check_order(self.utterance_id, "phone", self.phones)
        self.untranscribed = [(float(s), float(e)) for s, e in self.untranscribed]
        spans = [TimedToken("untranscribed", s, e) for s, e in self.untranscribed]  # checks finite, start <= end
        _check_order(self.utterance_id, "untranscribed span", spans)

    @property
    def end(self) -> float:
        """End of the utterance in its recording, seconds."""
        return self.start + self.duration

    def untranscribed_between(self, start: float, end: float) -> bool:
        """Whether an :attr:`untranscribed` span overlaps ``(start, end)`` (seconds in the
        recording): a gap between words that holds speech, not a pause."""
        return any(s < end and e > start for s, e in self.untranscribed)

    @classmethod
    def from_segments(cls, utterance_id: str, text: str, duration: float, word_segments: Sequence[Segment],
                      phone_segments: Sequence[Segment], word_symbols: Sequence[str],
                      phone_symbols: Sequence[str], frame_shift: float, offset: float = 0.0,
                      frame_offset: float = 0.0, confidence: float | None = None,
                      relative_confidence: float | None = None, word_confidences: Sequence[float] | None = None,
                      phone_confidences: Sequence[float] | None = None,
                      pronunciations: Mapping[str, Pronunciation] | None = None) -> UtteranceAlignment:
        """Convert frame segments (as from :func:`fsttopo.path_segments`) to seconds.

        Frame boundary ``f`` (the start of frame ``f``) is at ``frame_offset + f * frame_shift``
        seconds into the utterance, clipped to ``[0, duration]``; a segment covering frames
        ``start <= t < end`` spans the two boundaries ``start`` and ``end``, shifted by ``offset``.

        Args:
            utterance_id, text: copied.
            duration: utterance length in seconds.
            word_segments: word segments in frames; ``Segment.index`` is the word's position in the
                transcript (level ``"word"``).
            phone_segments: token segments in frames; ``Segment.index`` is the token's position in
                the utterance's token sequence (level ``"token"``).
            word_symbols: the transcript's words, indexed by ``Segment.index``.
            phone_symbols: the utterance's token sequence (e.g. phones), indexed by ``Segment.index``.
            frame_shift: seconds per model frame (e.g. 0.04 for 4x downsampled 10 ms features).
            offset: seconds added to every time: the start of the utterance in the recording;
                also becomes :attr:`start`.
            frame_offset: seconds from the utterance start to the start of frame 0, usually
                ``<= 0`` (see :attr:`fsttopo.models.ConvFrontend.frame_offset`: -0.015 s for a
                4x frontend on 10 ms features).
            confidence, relative_confidence, pronunciations: copied.
            word_confidences, phone_confidences: per segment, :attr:`TimedToken.confidence`.
        """
        if not (math.isfinite(frame_shift) and frame_shift > 0):
            raise ValueError(f"frame_shift must be a positive number of seconds, got {frame_shift}")
        if not math.isfinite(frame_offset):
            raise ValueError(f"frame_offset must be a finite number of seconds, got {frame_offset}")

        def seconds(frame: float) -> float:
            return offset + min(max(frame_offset + frame * frame_shift, 0.0), duration)

        def convert(kind: str, segments: Sequence[Segment], symbols: Sequence[str],
                    confidences: Sequence[float] | None) -> list[TimedToken]:
            if confidences is not None and len(confidences) != len(segments):
                raise ValueError(f"utterance {utterance_id!r}: {len(confidences)} {kind} confidences for "
                                 f"{len(segments)} segments")
            out = []
            for i, seg in enumerate(segments):
                if not 0 <= seg.index < len(symbols):
                    raise ValueError(f"utterance {utterance_id!r}: {kind} segment index {seg.index} is outside "
                                     f"the {len(symbols)} {kind} symbols")
                out.append(TimedToken(symbols[seg.index], seconds(seg.start), seconds(seg.end),
                                      None if confidences is None else float(confidences[i]),
                                      None if seg.start_sd is None else seg.start_sd * frame_shift,
                                      None if seg.end_sd is None else seg.end_sd * frame_shift))
            return out

        return cls(utterance_id, text, duration, convert("word", word_segments, word_symbols, word_confidences),
                   convert("phone", phone_segments, phone_symbols, phone_confidences), start=offset,
                   confidence=confidence, relative_confidence=relative_confidence,
                   pronunciations=dict(pronunciations or {}))

    def to_lhotse(self) -> dict[str, list[AlignmentItem]]:
        """The Lhotse alignment dict ``{"word": [...], "phone": [...]}`` of
        ``AlignmentItem(symbol, start, duration, score)`` (seconds; ``score`` the token's confidence)."""
        from lhotse.supervision import AlignmentItem

        return {kind: [AlignmentItem(symbol=t.symbol, start=t.start, duration=t.duration, score=t.confidence)
                       for t in tokens]
                for kind, tokens in (("word", self.words), ("phone", self.phones))}

    def to_supervision(self, supervision: SupervisionSegment) -> SupervisionSegment:
        """A copy of ``supervision`` whose ``alignment`` holds this alignment's words and phones (and
        ``custom["alignment_confidence"]`` its confidence, and :data:`SPREAD_KEYS` the boundary
        spreads, when known).

        Other alignment kinds already there are kept; ``supervision`` itself is not modified.
        """
        if supervision.id != self.utterance_id:
            raise ValueError(f"alignment {self.utterance_id!r} does not belong to supervision {supervision.id!r}")
        from lhotse.utils import fastcopy

        custom = supervision.custom
        if self.confidence is not None:
            custom = {**(custom or {}), CONFIDENCE_KEY: self.confidence}
        for kind, key in SPREAD_KEYS.items():
            tokens = getattr(self, f"{kind}s")
            if tokens and all(t.start_sd is not None and t.end_sd is not None for t in tokens):
                custom = {**(custom or {}), key: [[t.start_sd, t.end_sd] for t in tokens]}
        return fastcopy(supervision, alignment={**(supervision.alignment or {}), **self.to_lhotse()}, custom=custom)

    @classmethod
    def from_supervision(cls, supervision: SupervisionSegment, offset: float = 0.0) -> UtteranceAlignment:
        """Read ``supervision.alignment["word"]`` (required) and ``["phone"]`` (optional).

        Args:
            supervision: a supervision with an alignment.
            offset: seconds added to ``supervision.start`` to get the utterance's start in its
                recording: ``cut.start`` for a supervision inside a cut (whose ``start`` is relative
                to the cut), 0 for one of a SupervisionSet. Alignment times are relative to the
                recording already and stay as they are.
        """
        ali = supervision.alignment or {}
        if "word" not in ali:
            raise ValueError(f"supervision {supervision.id!r} has no word alignment (alignment keys: {sorted(ali)})")

        def tokens(kind: str) -> list[TimedToken]:
            items = ali.get(kind, [])
            spreads = (supervision.custom or {}).get(SPREAD_KEYS[kind])
            if spreads is not None and len(spreads) != len(items):
                raise ValueError(f"supervision {supervision.id!r}: {len(spreads)} {kind} boundary spreads "
                                 f"({SPREAD_KEYS[kind]}) for {len(items)} {kind}s")
            return [TimedToken(item.symbol, item.start, item.end, item.score,
                               *((None, None) if spreads is None else map(float, spreads[i])))
                    for i, item in enumerate(items)]

        confidence = (supervision.custom or {}).get(CONFIDENCE_KEY)
        return cls(supervision.id, supervision.text or "", supervision.duration, tokens("word"), tokens("phone"),
                   start=supervision.start + offset, confidence=None if confidence is None else float(confidence))


def mean_alignment(alignments: Sequence[UtteranceAlignment]) -> UtteranceAlignment:
    """The alignment whose every word and phone boundary (and confidence) is the mean of that in
    ``alignments`` (e.g. of one utterance aligned on shifted frame grids). They must have the same
    utterance, words and phones; averaging keeps segments ordered and non-overlapping. A boundary's
    spread is that of the alignments' posteriors pooled (their spreads and their disagreement)."""
    if not alignments:
        raise ValueError("no alignments to average")
    first = alignments[0]
    for other in alignments[1:]:
        if (other.utterance_id, other.start, [t.symbol for t in other.words], [t.symbol for t in other.phones]) != (
                first.utterance_id, first.start, [t.symbol for t in first.words], [t.symbol for t in first.phones]):
            raise ValueError(f"cannot average alignments of different utterances or token sequences: "
                             f"{first.utterance_id!r} and {other.utterance_id!r}")

    def average(values: Sequence[float | None]) -> float | None:
        return None if None in values else math.fsum(values) / len(values)

    def spread(means: Sequence[float], sds: Sequence[float | None]) -> float | None:
        # the standard deviation of the equal mixture of the alignments' posteriors: their own
        # spreads and how far apart their means are
        if None in sds:
            return None
        centre = math.fsum(means) / len(means)
        return math.sqrt(math.fsum(sd * sd + (m - centre) ** 2 for m, sd in zip(means, sds)) / len(means))

    def mean(kind: str) -> list[TimedToken]:
        rows = [getattr(a, kind) for a in alignments]
        return [TimedToken(tokens[0].symbol, math.fsum(t.start for t in tokens) / len(tokens),
                           math.fsum(t.end for t in tokens) / len(tokens), average([t.confidence for t in tokens]),
                           spread([t.start for t in tokens], [t.start_sd for t in tokens]),
                           spread([t.end for t in tokens], [t.end_sd for t in tokens]))
                for tokens in zip(*rows)]

    return UtteranceAlignment(first.utterance_id, first.text, first.duration, mean("words"), mean("phones"),
                              start=first.start, confidence=average([a.confidence for a in alignments]),
                              relative_confidence=average([a.relative_confidence for a in alignments]),
                              pronunciations=first.pronunciations, untranscribed=first.untranscribed)


def _close_gaps(tokens: Sequence[TimedToken], begin: float, end: float, min_pause: float) -> list[TimedToken]:
    starts = [t.start for t in tokens]
    ends = [t.end for t in tokens]
    for i in range(len(tokens) - 1):
        if 0 < starts[i + 1] - ends[i] < min_pause:
            ends[i] = starts[i + 1] = (ends[i] + starts[i + 1]) / 2
    if tokens and 0 < starts[0] - begin < min_pause:
        starts[0] = begin
    if tokens and 0 < end - ends[-1] < min_pause:
        ends[-1] = end
    return [replace(t, start=s, end=e) for t, s, e in zip(tokens, starts, ends)]


def close_short_pauses(alignment: UtteranceAlignment, min_pause: float) -> UtteranceAlignment:
    """The alignment without pauses shorter than ``min_pause`` seconds: a shorter gap between two
    tokens is closed at its midpoint, one at the start or end of the utterance by stretching the
    first or last token. Words and phones are closed alike, so word edges stay on phone edges.
    (Posterior-mean boundaries average over paths with and without a pause, which leaves slivers
    of a few ms that pause-counting tools would count.)"""
    if not (math.isfinite(min_pause) and min_pause >= 0):
        raise ValueError(f"min_pause must be a finite number of seconds >= 0, got {min_pause}")
    if min_pause == 0:
        return alignment
    begin, end = alignment.start, alignment.end
    return replace(alignment, words=_close_gaps(alignment.words, begin, end, min_pause),
                   phones=_close_gaps(alignment.phones, begin, end, min_pause))
