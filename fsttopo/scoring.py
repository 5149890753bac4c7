"""Alignment accuracy in milliseconds against reference alignments (paper App. A.4.2), and WER.

Hypothesis and reference words are matched by position: both must hold the same word sequence (the
transcript). All aggregates are micro averages: over all words, boundaries, phones or seconds of
the scored utterances, not means of per-utterance values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from .data.alignment import UtteranceAlignment
from .metrics import label_error_rate, time_stamp_error

__all__ = [
    "AlignmentScores", "word_boundary_errors", "silence_seconds", "word_error_rate",
    "score_alignments", "markdown_table",
]

_THRESHOLDS_MS = (20, 50, 100)


def _check_words(hyp: UtteranceAlignment, ref: UtteranceAlignment) -> None:
    hw, rw = [t.symbol for t in hyp.words], [t.symbol for t in ref.words]
    if hw == rw:
        return
    pos = next((i for i, (h, r) in enumerate(zip(hw, rw)) if h != r), min(len(hw), len(rw)))
    raise ValueError(
        f"utterance {ref.utterance_id!r}: hypothesis and reference words differ ({len(hw)} vs {len(rw)} words; "
        f"first difference at word {pos}: {hw[pos] if pos < len(hw) else '<end>'!r} vs "
        f"{rw[pos] if pos < len(rw) else '<end>'!r}); words are matched by position")


def word_boundary_errors(hyp: UtteranceAlignment, ref: UtteranceAlignment) -> list[tuple[float, float]]:
    """Per word ``(|start_hyp - start_ref|, |end_hyp - end_ref|)`` in ms, rounded to 1e-6 ms
    (so that float noise in seconds does not push an error of exactly 20 ms over 20 ms)."""
    _check_words(hyp, ref)
    return [(round(abs(h.start - r.start) * 1000, 6), round(abs(h.end - r.end) * 1000, 6))
            for h, r in zip(hyp.words, ref.words)]


def silence_seconds(alignment: UtteranceAlignment) -> float:
    """Seconds of the utterance ``[start, start + duration)`` not covered by any word."""
    covered = sum(max(0.0, min(t.end, alignment.end) - max(t.start, alignment.start)) for t in alignment.words)
    return max(0.0, alignment.duration - covered)


def word_error_rate(hyps: Mapping[str, str], refs: Mapping[str, str]) -> float:
    """WER in % (kaldialign edit distance over whitespace-separated words), summed over all
    utterances of ``refs``; every reference utterance needs a hypothesis (an empty text is allowed)."""
    missing = sorted(set(refs) - set(hyps))
    if missing:
        raise ValueError(f"{len(missing)} reference utterances have no hypothesis text, e.g. {missing[:5]}")
    ids = sorted(refs)
    return label_error_rate([hyps[u].split() for u in ids], [refs[u].split() for u in ids])


@dataclass(frozen=True)
class AlignmentScores:
    """Alignment accuracy of a set of utterances.

    Attributes:
        num_utterances, num_words: what was scored.
        tse_ms: mean over words of ``(|start diff| + |end diff|) / 2`` (ms), App. A.4.2.
        tse_center_ms: mean over words of ``|center diff|`` (ms), center ``(start + end) / 2``.
        within_20ms, within_50ms, within_100ms: share of word boundaries (two per word) whose
            error is at most 20/50/100 ms, in %.
        max_boundary_ms: largest word-boundary error (ms).
        silence_ratio, ref_silence_ratio: share of the utterances' duration not covered by words,
            in % (hypothesis, reference).
        phone_ms, ref_phone_ms: average phone duration in ms (``None`` without phones).
        wer: word error rate in % of decoded hypothesis texts (``None`` when none were given).
    """

    num_utterances: int
    num_words: int
    tse_ms: float
    tse_center_ms: float
    within_20ms: float
    within_50ms: float
    within_100ms: float
    max_boundary_ms: float
    silence_ratio: float
    ref_silence_ratio: float
    phone_ms: float | None
    ref_phone_ms: float | None
    wer: float | None = None

    COLUMNS = ("TSE [ms]", "TSE center [ms]", "<=20ms [%]", "<=50ms [%]", "<=100ms [%]", "max [ms]",
               "sil. [%]", "ref sil. [%]", "phone [ms]", "ref phone [ms]", "WER [%]", "utts", "words")

    def to_markdown_row(self, name: str) -> str:
        """One row ``| name | ... |`` of :func:`markdown_table` (columns :attr:`COLUMNS`)."""
        def fmt(x: float | None) -> str:
            return "-" if x is None else f"{x:.1f}"
        values = [self.tse_ms, self.tse_center_ms, self.within_20ms, self.within_50ms, self.within_100ms,
                  self.max_boundary_ms, self.silence_ratio, self.ref_silence_ratio, self.phone_ms,
                  self.ref_phone_ms, self.wer]
        cells = [name] + [fmt(v) for v in values] + [str(self.num_utterances), str(self.num_words)]
        return "| " + " | ".join(cells) + " |"


def markdown_table(rows: Mapping[str, AlignmentScores]) -> str:
    """A Markdown table with one row per ``name -> scores``, ending in a newline."""
    header = ("aligner",) + AlignmentScores.COLUMNS
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += [scores.to_markdown_row(name) for name, scores in rows.items()]
    return "\n".join(lines) + "\n"


def _phone_ms(alignments: Sequence[UtteranceAlignment]) -> float | None:
    phones = [t for a in alignments for t in a.phones]
    return 1000 * sum(t.duration for t in phones) / len(phones) if phones else None


def _silence_ratio(alignments: Sequence[UtteranceAlignment]) -> float:
    total = sum(a.duration for a in alignments)
    if total <= 0:
        raise ValueError("the scored utterances have zero total duration")
    return 100 * sum(silence_seconds(a) for a in alignments) / total


def score_alignments(hyps: Iterable[UtteranceAlignment], refs: Iterable[UtteranceAlignment],
                     hyp_texts: Mapping[str, str] | None = None) -> AlignmentScores:
    """Score hypothesis alignments against references with the same utterance ids.

    Every hypothesis needs a reference (references without a hypothesis are ignored); words are
    matched by position and must be equal. The silence ratio of the reference is taken over the
    same utterances, each with its own duration.

    Args:
        hyps: hypothesis alignments (e.g. from :func:`fsttopo.data.export.load_alignments`).
        refs: reference alignments.
        hyp_texts: optional decoded (e.g. greedy) texts per utterance id of ``hyps``; the WER is
            computed against the reference words.
    """
    ref_by_id: dict[str, UtteranceAlignment] = {}
    for r in refs:
        if r.utterance_id in ref_by_id:
            raise ValueError(f"reference utterance {r.utterance_id!r} appears twice")
        ref_by_id[r.utterance_id] = r
    pairs: dict[str, tuple[UtteranceAlignment, UtteranceAlignment]] = {}
    for h in hyps:
        if h.utterance_id in pairs:
            raise ValueError(f"hypothesis utterance {h.utterance_id!r} appears twice")
        if h.utterance_id not in ref_by_id:
            raise ValueError(f"hypothesis utterance {h.utterance_id!r} has no reference")
        pairs[h.utterance_id] = (h, ref_by_id[h.utterance_id])
    if not pairs:
        raise ValueError("no hypothesis alignments to score")
    hyp_list = [h for h, _ in pairs.values()]
    ref_list = [r for _, r in pairs.values()]

    errors = [e for h, r in zip(hyp_list, ref_list) for pair in word_boundary_errors(h, r) for e in pair]
    if not errors:
        raise ValueError("the scored utterances hold no words")
    spans_ms = [[(1000 * t.start, 1000 * t.end) for t in a.words] for a in hyp_list]
    ref_spans_ms = [[(1000 * t.start, 1000 * t.end) for t in a.words] for a in ref_list]
    within = [100 * sum(e <= x for e in errors) / len(errors) for x in _THRESHOLDS_MS]
    wer = None
    if hyp_texts is not None:
        wer = word_error_rate(hyp_texts, {u: " ".join(t.symbol for t in r.words) for u, r in zip(pairs, ref_list)})
    return AlignmentScores(
        num_utterances=len(pairs),
        num_words=len(errors) // 2,
        tse_ms=time_stamp_error(spans_ms, ref_spans_ms),
        tse_center_ms=time_stamp_error(spans_ms, ref_spans_ms, center=True),
        within_20ms=within[0], within_50ms=within[1], within_100ms=within[2],
        max_boundary_ms=max(errors),
        silence_ratio=_silence_ratio(hyp_list),
        ref_silence_ratio=_silence_ratio(ref_list),
        phone_ms=_phone_ms(hyp_list),
        ref_phone_ms=_phone_ms(ref_list),
        wer=wer,
    )
