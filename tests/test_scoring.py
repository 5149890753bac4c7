"""fsttopo.scoring against hand-computed examples."""

import pytest

from fsttopo.data.alignment import TimedToken as T
from fsttopo.data.alignment import UtteranceAlignment as U
from fsttopo.scoring import (AlignmentScores, markdown_table, score_alignments, silence_seconds,
                             word_boundary_errors, word_error_rate)

# utterance a (1.2 s): ref w1 [0.10, 0.50), w2 [0.60, 1.00); hyp boundaries off by +10, -30 / +70, +20 ms
# utterance b (1.0 s): ref w3 [0.20, 0.80); hyp off by -100, +10 ms
REF = [
    U("a", "w1 w2", 1.2, [T("w1", 0.10, 0.50), T("w2", 0.60, 1.00)],
      [T("p", 0.10, 0.20), T("q", 0.20, 0.40), T("r", 0.60, 0.90)]),
    U("b", "w3", 1.0, [T("w3", 0.20, 0.80)]),
]
HYP = [
    U("b", "w3", 1.0, [T("w3", 0.10, 0.81)]),
    U("a", "w1 w2", 1.2, [T("w1", 0.11, 0.47), T("w2", 0.67, 1.02)], [T("p", 0.11, 0.16), T("q", 0.16, 0.31)]),
]


def test_word_boundary_errors_in_ms():
    assert word_boundary_errors(HYP[1], REF[0]) == [(10.0, 30.0), (70.0, 20.0)]
    assert word_boundary_errors(HYP[0], REF[1]) == [(100.0, 10.0)]


def test_score_alignments_hand_example():
    s = score_alignments(HYP, REF)
    assert (s.num_utterances, s.num_words) == (2, 3)
    # boundary errors 10, 30, 70, 20, 100, 10 ms
    assert s.tse_ms == pytest.approx(240 / 6)
    # centers: w1 300 vs 290, w2 800 vs 845, w3 500 vs 455 ms
    assert s.tse_center_ms == pytest.approx((10 + 45 + 45) / 3)
    assert s.within_20ms == pytest.approx(100 * 3 / 6)  # 10, 20, 10 (20 counts: at most 20 ms)
    assert s.within_50ms == pytest.approx(100 * 4 / 6)
    assert s.within_100ms == pytest.approx(100.0)
    assert s.max_boundary_ms == pytest.approx(100.0)
    # silence: hyp a 1.2 - 0.36 - 0.35, b 1.0 - 0.71; ref a 1.2 - 0.8, b 1.0 - 0.6; over 2.2 s
    assert s.silence_ratio == pytest.approx(100 * (0.49 + 0.29) / 2.2)
    assert s.ref_silence_ratio == pytest.approx(100 * 0.8 / 2.2)
    assert s.phone_ms == pytest.approx((50 + 150) / 2)
    assert s.ref_phone_ms == pytest.approx((100 + 200 + 300) / 3)
    assert s.wer is None


def test_references_without_hypothesis_are_ignored_and_no_phones_give_none():
    s = score_alignments(HYP[:1], REF)
    assert (s.num_utterances, s.num_words) == (1, 1)
    assert s.tse_ms == pytest.approx(55.0) and s.tse_center_ms == pytest.approx(45.0)
    assert s.phone_ms is None and s.ref_phone_ms is None


def test_wer_hand_example():
    # a: one insertion in 2 words; b: one deletion in 1 word -> 2 / 3
    assert word_error_rate({"a": "w1 w2 x", "b": ""}, {"a": "w1 w2", "b": "w3"}) == pytest.approx(200 / 3)
    # a: one substitution; extra hypotheses are ignored
    assert word_error_rate({"a": "w1  y", "z": "q"}, {"a": "w1 w2"}) == pytest.approx(50.0)
    s = score_alignments(HYP, REF, hyp_texts={"a": "w1 w2 x", "b": ""})
    assert s.wer == pytest.approx(200 / 3)
    with pytest.raises(ValueError, match="no hypothesis text"):
        word_error_rate({"a": "w1"}, {"a": "w1", "b": "w3"})


def test_silence_seconds_clips_words_to_the_utterance():
    ali = U("u", "x y", 1.0, [T("x", 1.9, 2.2), T("y", 2.2, 2.4)], start=2.0)
    assert silence_seconds(ali) == pytest.approx(1.0 - 0.2 - 0.2)


def test_bad_inputs_raise_clear_errors():
    other = U("a", "w1 w9", 1.2, [T("w1", 0.1, 0.5), T("w9", 0.6, 1.0)])
    with pytest.raises(ValueError, match="'a': hypothesis and reference words differ.*word 1: 'w9' vs 'w2'"):
        score_alignments([other], REF)
    short = U("a", "w1", 1.2, [T("w1", 0.1, 0.5)])
    with pytest.raises(ValueError, match=r"1 vs 2 words; first difference at word 1: '<end>' vs 'w2'"):
        score_alignments([short], REF)
    with pytest.raises(ValueError, match="'zz' has no reference"):
        score_alignments([U("zz", "", 1.0, [])], REF)
    with pytest.raises(ValueError, match="hypothesis utterance 'b' appears twice"):
        score_alignments([HYP[0], HYP[0]], REF)
    with pytest.raises(ValueError, match="reference utterance 'b' appears twice"):
        score_alignments(HYP, REF + REF[1:])
    with pytest.raises(ValueError, match="no hypothesis alignments"):
        score_alignments([], REF)
    with pytest.raises(ValueError, match="no words"):
        score_alignments([U("e", "", 1.0, [])], [U("e", "", 1.0, [])])


def test_markdown_table():
    s = AlignmentScores(num_utterances=2, num_words=3, tse_ms=40.0, tse_center_ms=33.333, within_20ms=50.0,
                        within_50ms=66.667, within_100ms=100.0, max_boundary_ms=100.0, silence_ratio=35.45,
                        ref_silence_ratio=36.36, phone_ms=100.0, ref_phone_ms=None)
    table = markdown_table({"ctc": s}).splitlines()
    assert len(table) == 3
    assert table[0].startswith("| aligner | TSE [ms] | TSE center [ms] | <=20ms [%] | <=50ms [%] |")
    assert table[0].count("|") == table[1].count("|") == table[2].count("|") == 15
    assert table[2] == "| ctc | 40.0 | 33.3 | 50.0 | 66.7 | 100.0 | 100.0 | 35.5 | 36.4 | 100.0 | - | - | 2 | 3 |"
