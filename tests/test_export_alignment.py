"""fsttopo.data.alignment: token/utterance validation, frame segments -> seconds, Lhotse supervisions."""

import math

import pytest
from lhotse import SupervisionSegment
from lhotse.supervision import AlignmentItem

from fsttopo import Segment
from fsttopo.data.alignment import TimedToken, UtteranceAlignment


def test_timed_token_properties_and_validation():
    t = TimedToken("a", 0.25, 0.75)
    assert t.duration == 0.5 and t.center == 0.5
    assert TimedToken("sil", 1.0, 1.0).duration == 0.0  # zero length is allowed
    with pytest.raises(ValueError, match="after end"):
        TimedToken("a", 0.5, 0.4)
    with pytest.raises(ValueError, match="finite"):
        TimedToken("a", math.nan, 0.4)
    with pytest.raises(ValueError, match="finite"):
        TimedToken("a", 0.0, math.inf)
    with pytest.raises(ValueError, match="empty symbol"):
        TimedToken("", 0.0, 0.1)


def test_utterance_alignment_validation():
    w = [TimedToken("a", 0.0, 0.5), TimedToken("b", 0.4, 0.9)]
    with pytest.raises(ValueError, match="must not overlap"):
        UtteranceAlignment("u", "a b", 1.0, w)
    with pytest.raises(ValueError, match="duration"):
        UtteranceAlignment("u", "", -1.0, [])
    # float noise below a microsecond is not an overlap
    UtteranceAlignment("u", "a b", 1.0, [TimedToken("a", 0.0, 0.5 + 1e-9), TimedToken("b", 0.5, 0.9)])
    ali = UtteranceAlignment("u", "a", 2.0, [TimedToken("a", 3.0, 3.5)], start=2.5)
    assert ali.end == 4.5 and ali.phones == []


def test_from_segments_converts_frames_to_seconds():
    # words: frames [2, 10) and [12, 20); tokens 0..2; 40 ms frames; utterance starts 1 s into its recording
    words = [Segment(0, 5, 2, 10), Segment(1, 7, 12, 20)]
    phones = [Segment(0, 5, 2, 6), Segment(1, 6, 6, 10), Segment(2, 7, 12, 20)]
    ali = UtteranceAlignment.from_segments("u1", "hi you", 0.9, words, phones, ["hi", "you"],
                                           ["hh", "ay", "y_uw"], frame_shift=0.04, offset=1.0)
    assert ali.start == 1.0 and ali.duration == 0.9 and ali.text == "hi you"
    assert [t.symbol for t in ali.words] == ["hi", "you"]
    assert [x for t in ali.words for x in (t.start, t.end)] == pytest.approx([1.08, 1.40, 1.48, 1.80])
    assert [t.symbol for t in ali.phones] == ["hh", "ay", "y_uw"]
    assert [x for t in ali.phones for x in (t.start, t.end)] == pytest.approx([1.08, 1.24, 1.24, 1.40, 1.48, 1.80])


def test_from_segments_frame_offset_shifts_and_clips():
    # frame 0 starts 15 ms before the audio (4x frontend on 10 ms features); 40 ms frames; 0.5 s utterance
    words = [Segment(0, 5, 0, 4), Segment(1, 7, 4, 13)]
    ali = UtteranceAlignment.from_segments("u", "a b", 0.5, words, [], ["a", "b"], [], frame_shift=0.04,
                                           offset=2.0, frame_offset=-0.015)
    assert [x for t in ali.words for x in (t.start, t.end)] == pytest.approx([2.0, 2.145, 2.145, 2.5])


def test_from_segments_rejects_bad_input():
    with pytest.raises(ValueError, match="index 2 is outside the 2 word symbols"):
        UtteranceAlignment.from_segments("u", "a b", 1.0, [Segment(2, 1, 0, 3)], [], ["a", "b"], [], 0.04)
    with pytest.raises(ValueError, match="frame_shift"):
        UtteranceAlignment.from_segments("u", "a", 1.0, [], [], ["a"], [], 0.0)
    with pytest.raises(ValueError, match="frame_offset"):
        UtteranceAlignment.from_segments("u", "a", 1.0, [], [], ["a"], [], 0.04, frame_offset=float("nan"))


def _example() -> UtteranceAlignment:
    return UtteranceAlignment(
        "rec1-0", "hello world", 1.5,
        [TimedToken("hello", 0.6, 1.0), TimedToken("world", 1.125, 1.75)],
        [TimedToken("hh", 0.6, 0.7), TimedToken("ah", 0.7, 0.85), TimedToken("l", 0.85, 0.9),
         TimedToken("ow", 0.9, 1.0), TimedToken("w", 1.125, 1.75)],
        start=0.5)


def test_lhotse_supervision_round_trip_keeps_other_kinds_and_input():
    ali = _example()
    sup = SupervisionSegment("rec1-0", "rec1", start=0.5, duration=1.5, text="hello world",
                             alignment={"char": [AlignmentItem("h", 0.6, 0.1)]})
    out = ali.to_supervision(sup)
    assert out.alignment["word"] == [AlignmentItem("hello", 0.6, 0.4), AlignmentItem("world", 1.125, 0.625)]
    assert out.alignment["phone"][1] == AlignmentItem("ah", 0.7, pytest.approx(0.15))
    assert out.alignment["char"] == [AlignmentItem("h", 0.6, 0.1)]
    assert set(sup.alignment) == {"char"}  # not modified in place
    back = UtteranceAlignment.from_supervision(out)
    assert back.utterance_id == "rec1-0" and back.text == "hello world" and back.start == 0.5
    assert back.duration == 1.5
    assert [(t.symbol, t.start, t.end) for t in back.words] == [("hello", 0.6, 1.0), ("world", 1.125, 1.75)]
    assert [(t.symbol, t.start) for t in back.phones] == [(t.symbol, t.start) for t in ali.phones]
    assert [t.end for t in back.phones] == pytest.approx([t.end for t in ali.phones])
    # inside a cut that starts 0.25 s into the recording, the supervision start is cut-relative
    assert UtteranceAlignment.from_supervision(out.with_offset(-0.25), offset=0.25).start == 0.5


def test_lhotse_supervision_errors():
    sup = SupervisionSegment("other", "rec1", start=0.0, duration=1.0)
    with pytest.raises(ValueError, match="does not belong"):
        _example().to_supervision(sup)
    with pytest.raises(ValueError, match="no word alignment"):
        UtteranceAlignment.from_supervision(sup)


def test_boundary_spreads_go_to_seconds_pool_over_phases_and_round_trip():
    from fsttopo.data.alignment import mean_alignment
    from fsttopo.data.export import alignment_from_dict, alignment_to_dict

    words = [Segment(0, 5, 2, 10, 0.5, 0.25), Segment(1, 7, 12, 20, 1.0, 0.0)]
    ali = UtteranceAlignment.from_segments("u1", "hi you", 0.9, words, words, ["hi", "you"], ["hh", "y"],
                                           frame_shift=0.04)
    assert [x for t in ali.words for x in (t.start_sd, t.end_sd)] == pytest.approx([0.02, 0.01, 0.04, 0.0])
    # two phases: starts 1.00 +- 0.03 and 1.04 +- 0.01 s pool to 1.02 +- sqrt(((0.03^2 + 0.02^2) +
    # (0.01^2 + 0.02^2)) / 2) = 0.03 s; a phase without spreads makes the pooled one unknown
    a = UtteranceAlignment("u", "a", 2.0, [TimedToken("a", 1.00, 1.5, None, 0.03, 0.02)])
    b = UtteranceAlignment("u", "a", 2.0, [TimedToken("a", 1.04, 1.5, None, 0.01, 0.02)])
    pooled = mean_alignment([a, b]).words[0]
    assert (pooled.start, pooled.start_sd, pooled.end_sd) == pytest.approx((1.02, 0.03, 0.02))
    assert mean_alignment([a, UtteranceAlignment("u", "a", 2.0, [TimedToken("a", 1.0, 1.5)])]).words[0].start_sd is None
    assert alignment_from_dict(alignment_to_dict(a)).words[0] == a.words[0]
    assert "start_sd" not in alignment_to_dict(UtteranceAlignment("u", "a", 2.0, [TimedToken("a", 1.0, 1.5)]))["words"][0]
    with pytest.raises(ValueError, match="start_sd"):
        TimedToken("a", 0.0, 1.0, None, -0.01)
    with pytest.raises(ValueError, match="end_sd"):
        TimedToken("a", 0.0, 1.0, None, 0.0, float("nan"))


def test_lhotse_supervision_keeps_the_boundary_spreads():
    words = [TimedToken("hello", 0.6, 1.0, 0.5, 0.012, 0.02), TimedToken("world", 1.125, 1.75, 0.7, 0.02, 0.031)]
    ali = UtteranceAlignment("rec1-0", "hello world", 1.5, words, start=0.5)
    sup = SupervisionSegment("rec1-0", "rec1", start=0.5, duration=1.5, text="hello world")
    out = ali.to_supervision(sup)
    assert out.custom["word_boundary_sd"] == [[0.012, 0.02], [0.02, 0.031]] and "phone_boundary_sd" not in out.custom
    back = UtteranceAlignment.from_supervision(out)
    assert [(t.start_sd, t.end_sd) for t in back.words] == [(0.012, 0.02), (0.02, 0.031)]
    from lhotse.utils import fastcopy

    assert UtteranceAlignment.from_supervision(fastcopy(out, custom=None)).words[0].start_sd is None
    with pytest.raises(ValueError, match="1 word boundary spreads"):
        UtteranceAlignment.from_supervision(fastcopy(out, custom={"word_boundary_sd": [[0.0, 0.0]]}))
