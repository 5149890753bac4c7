"""Selecting alignment options on dev speakers: energy pauses of constructed signals, the two
criteria on hand-made alignments, and the search on the example (its choice re-scored by hand)."""

import json

import numpy as np
import pytest
import soundfile

from fsttopo.aligner import Aligner
from fsttopo.data.activity import Pause, find_pauses, frame_energy_db
from fsttopo.data.alignment import TimedToken, UtteranceAlignment
from fsttopo.data.features import compute_features
from fsttopo.resources import default_model_path, example_paths
from fsttopo.scoring import word_boundary_errors
from fsttopo.tuning import PAUSE_EDGE_RANGES, VARIANT_PENALTIES, best_time_shift, pause_edge_error, tune_alignment_options

SR = 16000


def tone(seconds: float, amplitude: float = 0.1) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * 220 * np.arange(int(seconds * SR)) / SR)).astype(np.float32)


def test_energy_of_a_full_scale_sine_and_of_digital_silence():
    energy = frame_energy_db(np.concatenate([tone(1.0, 1.0), np.zeros(SR, np.float32)]), SR)
    assert len(energy) == 1 + (2 * SR - 400) // 160
    np.testing.assert_allclose(energy[:90], 10 * np.log10(0.5), atol=0.05)  # a sine's mean power is 1/2
    assert energy[-1] == -120.0


def test_pauses_of_a_constructed_signal_are_found_within_a_frame():
    x = np.concatenate([np.zeros(int(0.5 * SR)), tone(0.7), np.zeros(int(0.4 * SR)), tone(0.9, 0.02),
                        np.zeros(int(0.1 * SR)), tone(0.3), np.zeros(int(0.5 * SR))]).astype(np.float32)
    pauses = find_pauses(x, SR, min_pause=0.15)
    expected = [(0.0, 0.5), (1.2, 1.6), (2.9, 3.4)]  # the 0.1 s gap is shorter than min_pause
    assert len(pauses) == len(expected)
    for got, want in zip(pauses, expected):
        assert abs(got.start - want[0]) <= 0.011 and abs(got.end - want[1]) <= 0.011, (got, want)
    noisy = x + 0.003 * np.random.default_rng(0).standard_normal(len(x)).astype(np.float32)  # -50 dBFS floor
    assert len(find_pauses(noisy, SR)) == 3


def alignment(uid: str, words: list[tuple[str, float, float]], duration: float) -> UtteranceAlignment:
    return UtteranceAlignment(uid, " ".join(w for w, _, _ in words), duration,
                              [TimedToken(w, s, e) for w, s, e in words])


def test_pause_edge_error_by_hand():
    hyp = alignment("u", [("a", 0.52, 0.9), ("b", 0.9, 1.25), ("c", 1.55, 2.0), ("d", 2.1, 2.9)], 3.5)
    pauses = {"u": [Pause(0.0, 0.5), Pause(1.2, 1.6), Pause(3.0, 3.5)]}
    # first start 20 ms late, last end 100 ms early, the inner pause: b's end 50 ms, c's start 50 ms
    assert pause_edge_error([hyp], pauses) == pytest.approx(1000 * np.mean([0.02, 0.1, 0.05, 0.05]))
    assert np.isnan(pause_edge_error([hyp], {"u": []}))


def test_best_time_shift_undoes_a_constant_latency():
    ref = alignment("u", [("a", 0.5, 0.9), ("b", 0.9, 1.2)], 2.0)
    late = alignment("u", [("a", 0.507, 0.907), ("b", 0.907, 1.207)], 2.0)
    shift, tse = best_time_shift([late], {"u": ref})
    assert shift == pytest.approx(-0.007) and tse == pytest.approx(0.0, abs=1e-9)


@pytest.fixture(scope="module")
def dev_cut(tmp_path_factory):
    """The example with its reference words, 1 s of digital silence on each side."""
    from lhotse import Recording
    from lhotse.cut import MonoCut

    from fsttopo.data.manifests import make_supervision

    wav, _, ref = example_paths()
    samples, sr = soundfile.read(wav, dtype="float32")
    words = [(w["symbol"], w["start"] + 1.0, w["end"] + 1.0) for w in json.loads(ref.read_text())["words"]]
    path = tmp_path_factory.mktemp("tuning") / "dev.wav"
    soundfile.write(path, np.concatenate([np.zeros(sr, np.float32), samples, np.zeros(sr, np.float32)]), sr)
    rec = Recording.from_file(path)
    sup = make_supervision(rec, " ".join(w for w, _, _ in words), words)
    return MonoCut(rec.id, 0.0, rec.duration, 0, recording=rec, supervisions=[sup])


def test_tuning_by_references_reports_the_error_of_its_choice(dev_cut):
    model = default_model_path()
    lines: list[str] = []
    best = tune_alignment_options([model], [dev_cut], "references", log=lines.append)
    assert set(best) == {"viterbi", "posterior"}
    # the example's words have CMUdict variants ("the", "to"): each method tried choosing among them
    assert sum("pronunciation variants at penalty" in line for line in lines) == 2 * len(VARIANT_PENALTIES)
    aligner = Aligner.from_file(model)
    ref = alignment(dev_cut.supervisions[0].id, [(a.symbol, a.start, a.end) for a in
                                                 dev_cut.supervisions[0].alignment["word"]], dev_cut.duration)
    for choice in best.values():
        assert choice["criterion"] == "references" and choice["epoch"] == 1
        options = {k: choice[k] for k in ("method", "blank_penalty", "prior_scale", "posterior_scale", "phases",
                                          "time_shift")}
        hyp = aligner.align([compute_features(dev_cut.load_audio()[0], SR)], [dev_cut.supervisions[0].text],
                            utterance_ids=[ref.utterance_id], refine_boundaries=False,
                            pause_edges_db=choice.get("pause_edges_db", 0),
                            pronunciation_variants=choice.get("pronunciation_variants", False),
                            variant_penalty=choice.get("variant_penalty", 8.0), **options).alignments[0]
        assert choice.get("pause_edges_db", 30.0) in PAUSE_EDGE_RANGES  # kept only where it helped on dev
        assert choice.get("variant_penalty", 2.0) in VARIANT_PENALTIES
        errors = [e for pair in word_boundary_errors(hyp, ref) for e in pair]
        assert choice["dev_error_ms"] == pytest.approx(np.mean(errors), abs=1e-3)
        assert choice["dev_error_ms"] < 25


def test_tuning_by_pauses_needs_no_reference_and_finds_the_speech(dev_cut):
    best = tune_alignment_options([default_model_path()], [dev_cut], "pauses", log=None)
    for choice in best.values():
        assert choice["criterion"] == "pauses" and choice["time_shift"] == 0.0
        assert choice["dev_error_ms"] < 40  # the speech starts 1.14 s in and ends 1 s before the end


def test_tuning_refuses_an_unknown_criterion_and_missing_references(dev_cut):
    with pytest.raises(ValueError, match="criterion"):
        tune_alignment_options([default_model_path()], [dev_cut], "energy")
    from dataclasses import replace

    bare = replace(dev_cut, supervisions=[replace(dev_cut.supervisions[0], alignment=None)])
    with pytest.raises(ValueError, match="no reference word alignment"):
        tune_alignment_options([default_model_path()], [bare], "references")


def test_words_that_differ_from_the_reference_are_refused_not_matched_by_position():
    ref = alignment("u", [("a", 0.5, 0.9), ("b", 0.9, 1.2)], 2.0)
    extra = alignment("u", [("-", 0.4, 0.5), ("a", 0.5, 0.9), ("b", 0.9, 1.2)], 2.0)
    with pytest.raises(ValueError, match="differ from the reference"):
        best_time_shift([extra], {"u": ref})
