"""recipes/tts/condition_table.py: the degraded-conditions statistics against a hand-worked example."""

from __future__ import annotations

import pytest

from fsttopo.data.alignment import TimedToken, UtteranceAlignment
from recipes.tts.condition_table import markdown_table, plot_conditions, summarize, summarize_on_aligned


def _ali(utt: str, spans: list[tuple[float, float]]) -> UtteranceAlignment:
    words = [TimedToken(f"w{i}", s, e) for i, (s, e) in enumerate(spans)]
    return UtteranceAlignment(utt, " ".join(t.symbol for t in words), 3.0, words)


REFS = {"a": _ali("a", [(0.0, 1.0), (1.0, 2.0)]), "b": _ali("b", [(0.0, 0.5)]),
        "c": _ali("c", [(0.0, 0.3), (0.3, 0.6), (0.6, 0.9)])}
# errors (ms): a: 10, 30 | 30, 200; b: 60, 0; c failed (3 words, 6 boundaries)
HYPS = {"a": _ali("a", [(0.010, 1.030), (1.030, 2.200)]), "b": _ali("b", [(0.060, 0.5)]), "c": None}


def test_hand_worked_example():
    s = summarize(HYPS, REFS)
    # pooled errors sorted: 0, 10, 30, 30, 60, 200
    assert s.mean_ms == pytest.approx(330 / 6)
    assert s.median_ms == pytest.approx(30.0)
    assert s.p90_ms == pytest.approx(130.0)  # linear: position 0.9 * 5 = 4.5, between 60 and 200
    assert s.max_ms == pytest.approx(200.0)
    # shares of all 12 reference boundaries; the failed utterance's 6 are never within
    assert s.within_ms[20] == pytest.approx(100 * 2 / 12)
    assert s.within_ms[50] == pytest.approx(100 * 4 / 12)
    assert s.within_ms[100] == pytest.approx(100 * 5 / 12)
    assert (s.utterances, s.words, s.utterances_failed, s.words_failed) == (3, 6, 1, 3)


def test_boundary_at_exactly_20ms_is_within():
    s = summarize({"b": _ali("b", [(0.02, 0.52)])}, {"b": REFS["b"]})
    assert s.within_ms[20] == 100.0 and s.max_ms == pytest.approx(20.0)


def test_all_failed_has_no_error_statistics():
    s = summarize({"b": None}, {"b": REFS["b"]})
    assert s.mean_ms is None and s.max_ms is None and s.words_failed == 1 and s.within_ms[100] == 0.0


def test_every_reference_needs_an_entry():
    with pytest.raises(ValueError, match="references without a hypothesis"):
        summarize({"a": HYPS["a"]}, REFS)


def test_table_row_and_plot(tmp_path):
    results = {"clean": {"x": summarize(HYPS, REFS)}, "white5": {"x": summarize({"b": None}, {"b": REFS["b"]})}}
    table = markdown_table(results)
    assert "| clean | x | 55.0 | 30.0 | 130.0 | 200.0 | 16.7 | 33.3 | 41.7 | 3 of 6 (1 utts) | 3 |" in table
    assert "| white5 | x | - | - | - | - | 0.0 | 0.0 | 0.0 | 1 of 1 (1 utts) | 1 |" in table
    path = plot_conditions(results, tmp_path / "plot.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_scores_on_the_utterances_another_aligner_aligned():
    # the other aligner failed on "a": only b's errors (60, 0) count, and c's failure stays a failure
    other = {"a": None, "b": REFS["b"], "c": REFS["c"]}
    s = summarize_on_aligned(HYPS, REFS, other)
    assert (s.utterances, s.words, s.utterances_failed, s.words_failed) == (2, 4, 1, 3)
    assert s.mean_ms == pytest.approx(30.0) and s.max_ms == pytest.approx(60.0)
    assert summarize_on_aligned(HYPS, REFS, {u: None for u in REFS}) is None
