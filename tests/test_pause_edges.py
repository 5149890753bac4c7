"""Word edges at pauses on the energy step (fsttopo.inference.pause_edges): a constructed recording
whose sound starts and stops at known times, edges out of reach or at junctions left alone, the
option checked and applied by Aligner.align."""

import copy

import numpy as np
import pytest

from fsttopo.data.alignment import TimedToken, UtteranceAlignment
from fsttopo.data.features import compute_features
from fsttopo.inference.options import check_align_options
from fsttopo.inference.pause_edges import snap_pause_edges

SR = 16000


def recording(bursts, seconds=2.0):
    """Noise bursts (-20 dBFS) at ``bursts`` ``[(start, end)]`` seconds in -80 dBFS noise."""
    rng = np.random.default_rng(0)
    x = 1e-4 * rng.standard_normal(int(seconds * SR))
    for start, end in bursts:
        x[int(start * SR): int(end * SR)] += 0.1 * rng.standard_normal(int(end * SR) - int(start * SR))
    return compute_features(x.astype(np.float32), SR, normalize=False)


def alignment(words, duration=2.0):
    """Words ``[(symbol, start, end)]``, each one phone of the same span split in two."""
    phones = [p for s, a, b in words for p in (TimedToken(s + "1", a, (a + b) / 2), TimedToken(s + "2", (a + b) / 2, b))]
    return UtteranceAlignment("u", " ".join(w[0] for w in words), duration,
                              [TimedToken(s, a, b) for s, a, b in words], phones)


def test_edges_at_pauses_move_to_where_the_sound_starts_and_stops():
    """Sound over [0.5, 1.2) s: the aligned word [0.44, 1.27] moves to the energy step, within half
    a 25 ms window of it (the frame energies are window averages)."""
    feats = recording([(0.5, 1.2)])
    out = snap_pause_edges([alignment([("a", 0.44, 1.27)])], [feats], 30.0)[0]
    assert abs(out.words[0].start - 0.5) <= 0.0125 and abs(out.words[0].end - 1.2) <= 0.0125
    assert out.phones[0].start == out.words[0].start and out.phones[-1].end == out.words[0].end
    assert out.words[0].start < out.phones[0].end == out.phones[1].start < out.words[0].end  # phones follow


def test_edges_out_of_reach_and_word_junctions_stay():
    feats = recording([(0.3, 0.8), (0.8, 1.4)])
    # "a" starts 0.15 s before the sound (out of the 0.1 s reach); "a"/"b" meet at 0.8 (a junction)
    ali = alignment([("a", 0.15, 0.8), ("b", 0.8, 1.43)])
    out = snap_pause_edges([ali], [feats], 30.0)[0]
    assert out.words[0].start == 0.15 and out.words[0].end == out.words[1].start == 0.8
    assert abs(out.words[1].end - 1.4) <= 0.0125
    # the same end with the next word 30 ms later: no pause, it stays
    ali = alignment([("a", 0.3, 0.78), ("b", 0.81, 1.4)])
    assert snap_pause_edges([ali], [recording([(0.3, 1.4)])], 30.0)[0].words[0].end == 0.78


def test_edges_next_to_untranscribed_speech_stay():
    """The gap between "a" and "b" holds speech the transcript lacks (an untranscribed span): it is
    no pause, so a's end and b's start keep the model's times; b's end, before a real pause, moves."""
    from dataclasses import replace

    feats = recording([(0.3, 0.7), (0.75, 1.05), (1.1, 1.5)])
    ali = replace(alignment([("a", 0.3, 0.74), ("b", 1.12, 1.55)]), untranscribed=[(0.78, 1.08)])
    out = snap_pause_edges([ali], [feats], 30.0)[0]
    assert out.words[0].end == 0.74 and out.words[1].start == 1.12
    assert abs(out.words[1].end - 1.5) <= 0.0125 and abs(out.words[0].start - 0.3) <= 0.0125
    without = snap_pause_edges([replace(ali, untranscribed=[])], [feats], 30.0)[0]
    assert without.words[0].end != 0.74 and without.words[1].start != 1.12  # what the span prevents


def test_untranscribed_between():
    ali = UtteranceAlignment("u", "a", 3.0, [TimedToken("a", 0.1, 0.5)], untranscribed=[(1.0, 2.0)])
    assert ali.untranscribed_between(0.5, 1.2) and ali.untranscribed_between(1.5, 1.6)
    assert not ali.untranscribed_between(0.5, 1.0) and not ali.untranscribed_between(2.0, 2.5)


def test_search_stays_inside_the_pause():
    """Sound over [0.2, 0.6) and [0.65, 1.0): a word ending at 0.62 before a 0.05 s gap may not
    move into the next word, and no crossing lies between 0.62 and 0.67: it stays."""
    feats = recording([(0.2, 0.6), (0.65, 1.0)])
    ali = alignment([("a", 0.2, 0.62), ("b", 0.67, 1.0)])
    out = snap_pause_edges([ali], [feats], 30.0)[0]
    assert out.words[0].end <= out.words[1].start


def test_edges_that_cross_in_one_pause_leave_the_other_pauses_snapped():
    """A click inside the short pause between "a" and "b" puts a's snapped end (the click's end)
    after b's snapped start (the click's start): that pair keeps its model edges, and "c", after a
    pause of its own, still starts and ends on its sound."""
    feats = recording([(0.2, 0.6), (0.64, 0.66), (0.72, 1.0), (1.3, 1.8)])
    ali = alignment([("a", 0.2, 0.62), ("b", 0.68, 1.0), ("c", 1.33, 1.77)])
    out = snap_pause_edges([ali], [feats], 30.0)[0]
    assert out.words[0].end == 0.62 and out.words[1].start == 0.68
    assert abs(out.words[2].start - 1.3) <= 0.0125 and abs(out.words[2].end - 1.8) <= 0.0125
    assert all(a.end <= b.start for a, b in zip(out.words, out.words[1:]))


def test_option_is_checked():
    base = {"method": "viterbi", "blank_penalty": 0.0, "prior_scale": 0.0, "posterior_scale": 1.0, "phases": 1,
            "time_shift": 0.0}
    assert check_align_options({**base, "pause_edges_db": 40}, 4)["pause_edges_db"] == 40.0
    assert check_align_options({**base, "pause_edges_db": 0}, 4)["pause_edges_db"] is None
    for bad in (-3, 95, "40", True, float("nan")):
        with pytest.raises(ValueError, match="pause_edges_db"):
            check_align_options({**base, "pause_edges_db": bad}, 4)


def test_aligner_applies_it_after_the_alignment():
    from fsttopo.files import load_aligner
    from fsttopo.resources import example_paths

    aligner = load_aligner()
    wav, txt, _ = example_paths()
    feats, text = compute_features(str(wav)), txt.read_text().strip()
    plain = aligner.align([feats], [text]).alignments[0]
    snapped = aligner.align([feats], [text], pause_edges_db=40).alignments[0]
    assert snapped == snap_pause_edges([plain], [feats], 40.0)[0] != plain
    assert aligner.align([feats], [text], pause_edges_db=0).alignments[0] == plain
    stored = copy.copy(aligner)  # a model file that stores the option (train-align's tuned choice)
    stored.align_options = {**aligner.align_options, "pause_edges_db": 40.0}
    assert stored.align([feats], [text]).alignments[0] == snapped
    assert stored.align([feats], [text], pause_edges_db=0).alignments[0] == plain
