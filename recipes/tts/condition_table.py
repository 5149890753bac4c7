"""Word-boundary error statistics per condition and aligner, their markdown table and plot
(issue 13's degraded-conditions table; :mod:`recipes.tts.eval_conditions` fills them).

Errors are ``|hypothesis - reference|`` of every word's start and end (pooled), in ms
(:func:`fsttopo.scoring.word_boundary_errors`). An utterance an aligner failed on counts all its
words as failed: they are left out of the mean, median, 90th percentile and max (which describe
the words that were aligned), and count as *not* within 20/50/100 ms (whose shares are of all
reference boundaries), so failing never improves a row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from fsttopo.data.alignment import UtteranceAlignment
from fsttopo.scoring import word_boundary_errors

__all__ = ["THRESHOLDS_MS", "ConditionScores", "summarize", "summarize_on_aligned", "markdown_table", "plot_conditions"]

THRESHOLDS_MS = (20, 50, 100)


@dataclass(frozen=True)
class ConditionScores:
    """One aligner on one condition. Times in ms; ``None`` when no word was aligned.

    Attributes:
        utterances, words: what was scored (every reference utterance, failed or not).
        utterances_failed, words_failed: the utterances the aligner failed on, and their words.
        mean_ms, median_ms, p90_ms, max_ms: of the aligned words' boundary errors (starts and ends
            pooled; the percentile interpolates linearly, numpy's default).
        within_ms: ``{20: %, 50: %, 100: %}``, share of all reference boundaries (2 per word) with an
            error of at most that many ms; a failed word's boundaries are not within.
    """

    utterances: int
    words: int
    utterances_failed: int
    words_failed: int
    mean_ms: float | None
    median_ms: float | None
    p90_ms: float | None
    max_ms: float | None
    within_ms: dict[int, float]

    def to_dict(self) -> dict:
        return {**asdict(self), "within_ms": {str(k): v for k, v in self.within_ms.items()}}


def summarize(hyps: Mapping[str, UtteranceAlignment | None], refs: Mapping[str, UtteranceAlignment]) -> ConditionScores:
    """Scores of the hypotheses ``{utterance id: alignment, or None where the aligner failed}``
    against ``refs`` (same ids; every reference needs an entry, a failure or an alignment)."""
    missing = sorted(set(refs) - set(hyps))
    extra = sorted(set(hyps) - set(refs))
    if missing or extra:
        raise ValueError(f"hypotheses and references differ: {len(missing)} references without a hypothesis "
                         f"(e.g. {missing[:3]}), {len(extra)} hypotheses without a reference (e.g. {extra[:3]})")
    if not refs:
        raise ValueError("no utterances to score")
    errors: list[float] = []
    failed_utts = failed_words = 0
    for utt, ref in refs.items():
        hyp = hyps[utt]
        if hyp is None:
            failed_utts += 1
            failed_words += len(ref.words)
            continue
        errors += [e for pair in word_boundary_errors(hyp, ref) for e in pair]
    words = sum(len(r.words) for r in refs.values())
    if words == 0:
        raise ValueError("the reference utterances hold no words")
    e = np.asarray(errors, dtype=np.float64)
    stats = (float(e.mean()), float(np.median(e)), float(np.percentile(e, 90)), float(e.max())) if e.size else (None,) * 4
    within = {x: 100.0 * float(np.sum(e <= x)) / (2 * words) for x in THRESHOLDS_MS}
    return ConditionScores(len(refs), words, failed_utts, failed_words, *stats, within)


def summarize_on_aligned(hyps: Mapping[str, UtteranceAlignment | None], refs: Mapping[str, UtteranceAlignment],
                         other: Mapping[str, UtteranceAlignment | None]) -> ConditionScores | None:
    """Scores of ``hyps`` on only the utterances ``other`` (another aligner's hypotheses of the same
    ``refs``) aligned: the comparison on the same words where the other aligner failed some
    utterances, whose words its own mean leaves out. None when ``other`` aligned none of them."""
    aligned = [u for u in refs if other.get(u) is not None]
    if not aligned:
        return None
    return summarize({u: hyps[u] for u in aligned}, {u: refs[u] for u in aligned})


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def markdown_table(results: Mapping[str, Mapping[str, ConditionScores]]) -> str:
    """``{condition: {aligner: scores}}`` as a markdown table, one row per condition and aligner
    (in the mappings' order), ending in a newline."""
    header = ["condition", "aligner", "mean [ms]", "median [ms]", "p90 [ms]", "max [ms]",
              *(f"<={x} ms [%]" for x in THRESHOLDS_MS), "words failed", "utts"]
    lines = ["| " + " | ".join(header) + " |", "| --- | --- |" + " ---: |" * (len(header) - 2)]
    for condition, rows in results.items():
        for aligner, s in rows.items():
            failed = f"{s.words_failed} of {s.words}" + (f" ({s.utterances_failed} utts)" if s.utterances_failed else "")
            cells = [condition, aligner, _fmt(s.mean_ms), _fmt(s.median_ms), _fmt(s.p90_ms), _fmt(s.max_ms),
                     *(f"{s.within_ms[x]:.1f}" for x in THRESHOLDS_MS), failed, str(s.utterances)]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_conditions(results: Mapping[str, Mapping[str, ConditionScores]], path: str | Path,
                    title: str = "word-boundary error per condition") -> Path:
    """Grouped bars of the mean error per condition for each aligner, the 90th percentile as a
    marker above each bar (log scale, ms) and the share of failed words where there are any (the
    mean leaves them out), written as a PNG to ``path``."""
    from fsttopo.data.plot import pyplot, save_figure

    plt = pyplot()
    conditions = list(results)
    aligners = list(dict.fromkeys(a for rows in results.values() for a in rows))
    width = 0.8 / max(1, len(aligners))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(conditions) + 2), 4.2))
    for i, aligner in enumerate(aligners):
        x = np.arange(len(conditions)) + (i - (len(aligners) - 1) / 2) * width
        rows = [results[c].get(aligner) for c in conditions]
        mean = [np.nan if r is None or r.mean_ms is None else r.mean_ms for r in rows]
        p90 = [np.nan if r is None or r.p90_ms is None else r.p90_ms for r in rows]
        bars = ax.bar(x, mean, width, label=f"{aligner}: mean")
        ax.plot(x, p90, linestyle="none", marker="_", markersize=12, markeredgewidth=2,
                color=bars.patches[0].get_facecolor() if bars.patches else None)
        for xi, r, top in zip(x, rows, np.fmax(mean, p90)):
            if r is not None and r.words_failed and np.isfinite(top):  # the mean leaves failed words out
                ax.annotate(f"{100 * r.words_failed / r.words:.0f}%\nfailed", (xi, top), textcoords="offset points",
                            xytext=(0, 4), ha="center", fontsize=6)
    ax.plot([], [], linestyle="none", marker="_", color="black", markersize=12, markeredgewidth=2, label="90th percentile")
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(conditions)), conditions, rotation=30, ha="right")
    ax.set_ylabel("word-boundary error [ms]")
    ax.set_title(title)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path, dpi=120)
