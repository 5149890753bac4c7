"""The low-confidence flag in degraded audio (fsttopo.inference.confidence_conditions): the fitted
condition adjustment against hand-made numbers, its model-file round trip, and the shipped robust
model's flag on held-out utterances in noise, right and wrong transcripts."""

import numpy as np
import pytest
import soundfile

from fsttopo.aligner import Aligner, compute_features
from fsttopo.inference.confidence_conditions import (
    DYNAMIC_RANGE_CAP_DB, ConditionAdjustment, condition_measures, fit_condition_adjustment)
from fsttopo.resources import example_paths, model_path
from fsttopo.training.augment import add_noise
from test_held_out_guard import AUDIO, SR, TEXTS


def test_fit_recovers_a_linear_loss_and_the_clean_reference():
    rng = np.random.default_rng(0)
    measures = np.stack([rng.uniform(0, 45, 40), rng.uniform(1.5, 3.5, 40), rng.uniform(-40, -10, 40)], 1)
    truth = (0.5, (0.006, -0.08, 0.001))
    confidences = truth[0] + measures @ np.array(truth[1])
    clean = measures[:, 0] > 35
    fit = fit_condition_adjustment(measures, confidences, clean)
    assert fit.intercept == pytest.approx(truth[0], abs=1e-9)
    assert fit.coefficients == pytest.approx(truth[1], abs=1e-9)
    assert fit.clean_reference == pytest.approx(float(np.median(confidences[clean])), abs=1e-9)
    # a recording expected 0.1 below the clean reference has lost 0.1; one above it nothing
    lower = measures[0].copy()
    lower[0] += (fit.clean_reference - 0.1 - (truth[0] + lower @ np.array(truth[1]))) / truth[1][0]
    assert fit.drop_for(lower) == pytest.approx(0.1, abs=1e-9)
    assert fit.drop_for([45.0, 1.5, -10.0]) == 0.0
    with pytest.raises(ValueError, match="some clean"):
        fit_condition_adjustment(measures, confidences, np.zeros(40, bool))


def test_round_trip_and_errors():
    adjustment = ConditionAdjustment(0.57, (0.0055, -0.073, 0.0001), 0.73)
    assert ConditionAdjustment.from_dict(adjustment.to_dict()) == adjustment
    with pytest.raises(ValueError, match="expected the measures"):
        ConditionAdjustment.from_dict({"measures": ["snr"], "intercept": 0.5})
    with pytest.raises(ValueError, match="finite"):
        ConditionAdjustment(float("nan"), (0.0, 0.0, 0.0), 0.7)
    with pytest.raises(ValueError, match="3 finite coefficients"):
        ConditionAdjustment(0.5, (0.0, 0.0), 0.7)


def test_measures_of_the_example_are_clean_and_noise_lowers_them():
    wav = example_paths()[0]
    audio, sr = soundfile.read(wav, dtype="float32")
    clean = condition_measures(compute_features(audio, sr))
    noisy = condition_measures(compute_features(add_noise(audio, sr, 5.0, "white", np.random.default_rng(0)), sr))
    assert clean[0] <= DYNAMIC_RANGE_CAP_DB and noisy[0] < clean[0] - 15


def _flags(aligner, features, texts):
    return [a.low_confidence for a in aligner.align(features, texts).alignments]


def test_the_robust_flag_tells_noise_from_a_wrong_transcript():
    """The 8 held-out utterances at 10 dB white noise, with their own transcripts and with each
    other's (the next one's): without the adjustment the calibrated threshold flags 6 of the 8
    right transcripts; with it none, while 6 of the 8 swapped ones stay flagged (measured; clean,
    2 right and all 8 swapped are flagged)."""
    aligner = Aligner.from_file(model_path("robust"))
    assert aligner.confidence_adjustment is not None
    noisy = [compute_features(add_noise(x, SR, 10.0, "white", np.random.default_rng(i)), SR) for i, x in enumerate(AUDIO)]
    swapped = TEXTS[1:] + TEXTS[:1]
    adjusted_right, adjusted_wrong = _flags(aligner, noisy, TEXTS), _flags(aligner, noisy, swapped)
    aligner.confidence_adjustment = None
    plain_right = _flags(aligner, noisy, TEXTS)
    assert sum(plain_right) >= 5 and sum(adjusted_right) <= 1, (plain_right, adjusted_right)
    assert sum(adjusted_wrong) >= 6, adjusted_wrong
    aligner = Aligner.from_file(model_path("robust"))
    clean = [compute_features(x, SR) for x in AUDIO]
    assert sum(_flags(aligner, clean, TEXTS)) <= 2 and all(_flags(aligner, clean, swapped))


def test_the_allowance_is_kept_in_the_alignment_and_its_json(tmp_path):
    from fsttopo.data.alignment import TimedToken, UtteranceAlignment
    from fsttopo.data.export import alignment_from_dict, alignment_to_dict

    aligner = Aligner.from_file(model_path("robust"))
    noisy = compute_features(add_noise(AUDIO[0], SR, 10.0, "white", np.random.default_rng(0)), SR)
    ali = aligner.align([noisy], TEXTS[:1]).alignments[0]
    assert ali.condition_allowance == pytest.approx(aligner.confidence_adjustment.expected_drop(noisy), abs=1e-12)
    assert ali.condition_allowance > 0.1 and ali.low_confidence is (
        ali.relative_confidence + ali.condition_allowance < aligner.confidence_threshold)
    assert alignment_from_dict(alignment_to_dict(ali)).condition_allowance == ali.condition_allowance
    assert Aligner.from_file(model_path("default")).align([noisy], TEXTS[:1]).alignments[0].condition_allowance is None
    with pytest.raises(ValueError, match="condition_allowance must be finite and >= 0"):
        UtteranceAlignment("u", "a", 1.0, [TimedToken("a", 0.0, 0.5)], condition_allowance=-0.1)
