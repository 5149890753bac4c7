"""Word boundaries are moved out of digital silence (fsttopo.inference.silence_edges)."""

import numpy as np
import pytest
import torch

from fsttopo.data.alignment import TimedToken, UtteranceAlignment
from fsttopo.inference.silence_edges import EDGE, digital_silence_spans, keep_words_out_of_digital_silence

FLOOR = -15.94  # the extractor's log-mel of exact zeros


def features(silent: list[tuple[int, int]], frames: int = 200) -> torch.Tensor:
    """``[frames, 80]`` features, speech-like (0.0) except the ``[start, end)`` frame runs at the floor."""
    f = torch.zeros(frames, 80)
    for start, end in silent:
        f[start:end] = FLOOR
    return f


def test_spans_are_the_long_runs_reaching_to_where_the_sound_stops():
    spans = digital_silence_spans(features([(0, 30), (50, 60), (100, 130), (180, 200)]))
    # the 10-frame run (0.1 s) is a closure, not a pause; the runs at the edges reach them
    np.testing.assert_allclose(spans, [[0.0, 0.30 + EDGE], [1.00 - EDGE, 1.30 + EDGE], [1.80 - EDGE, 2.0]])
    assert digital_silence_spans(features([])).shape == (0, 2)
    with pytest.raises(ValueError, match=r"\[T, F\]"):
        digital_silence_spans(torch.zeros(3))


def alignment(words, phones, start=0.0, duration=2.0):
    return UtteranceAlignment(utterance_id="u", text=" ".join(w[0] for w in words), start=start, duration=duration,
                              words=[TimedToken(*w) for w in words], phones=[TimedToken(*p) for p in phones])


def test_a_word_ending_in_silence_ends_where_the_sound_stops_and_its_phones_follow():
    # sound stops at 1.00 - EDGE; "b" was aligned 0.1 s into the silence, "c" starts 0.05 s early
    ali = alignment([("a", 0.40, 0.70), ("b", 0.70, 1.0875), ("c", 1.2625, 1.60)],
                    [("A", 0.40, 0.70), ("B1", 0.70, 0.90), ("B2", 0.90, 1.0875), ("C", 1.2625, 1.60)])
    out = keep_words_out_of_digital_silence([ali], [features([(100, 130)])])[0]
    assert [(w.symbol, w.start, w.end) for w in out.words] == [
        ("a", 0.40, 0.70), ("b", 0.70, pytest.approx(1.00 - EDGE)), ("c", pytest.approx(1.30 + EDGE), 1.60)]
    b1, b2 = out.phones[1], out.phones[2]
    assert b1.start == 0.70 and b2.end == pytest.approx(1.00 - EDGE) and b1.end == b2.start
    assert b1.end == pytest.approx(0.70 + (0.90 - 0.70) * (1.00 - EDGE - 0.70) / (1.0875 - 0.70))  # piecewise linear
    assert out.phones[3].start == pytest.approx(1.30 + EDGE) and out.phones[3].end == 1.60


def test_times_are_relative_to_the_alignment_start_and_untouched_words_stay_equal():
    ali = alignment([("a", 10.40, 10.70), ("b", 10.70, 11.05)], [("A", 10.40, 10.70), ("B", 10.70, 11.05)], start=10.0)
    out = keep_words_out_of_digital_silence([ali], [features([(100, 130)])])[0]
    assert out.words[0] == ali.words[0] and out.words[1].end == pytest.approx(11.00 - EDGE)
    clean = alignment([("a", 0.40, 0.70)], [("A", 0.40, 0.70)])
    assert keep_words_out_of_digital_silence([clean], [features([(100, 130)])])[0] is clean


def test_a_word_wholly_inside_the_silence_is_left_where_it_is():
    ali = alignment([("a", 1.05, 1.20)], [("A", 1.05, 1.20)])
    assert keep_words_out_of_digital_silence([ali], [features([(100, 130)])])[0].words == ali.words


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="1 feature tensors for 2 alignments"):
        keep_words_out_of_digital_silence([alignment([], [])] * 2, [features([])])
