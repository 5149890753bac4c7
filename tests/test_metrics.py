"""fsttopo.metrics against hand-computed examples."""

import math

import pytest
import torch

from fsttopo import metrics as M


def test_collapse_and_greedy_decode():
    assert M.collapse([0, 1, 1, 0, 1, 2, 2, 0], blank=0) == [1, 1, 2]
    assert M.collapse([], blank=0) == []
    # frames argmax: [1, 1, 0, 2] and [2, 2] (third frame is padding)
    lp = torch.full((2, 4, 3), -5.0)
    for b, t, lab in [(0, 0, 1), (0, 1, 1), (0, 2, 0), (0, 3, 2), (1, 0, 2), (1, 1, 2), (1, 2, 1)]:
        lp[b, t, lab] = 0.0
    assert M.greedy_decode(lp, torch.tensor([4, 2]), blank=0) == [[1, 2], [2]]


def test_label_error_rate_counts_edits_over_reference_labels():
    # 1 substitution (3->4) in 3 ref labels; 1 deletion + 1 insertion in 2 ref labels -> 3 / 5
    assert M.label_error_rate([[1, 2, 4], [5, 7]], [[1, 2, 3], [6, 5]]) == pytest.approx(60.0)
    assert M.label_error_rate([[1, 1, 1, 1]], [[1]]) == pytest.approx(300.0)
    with pytest.raises(ValueError, match="no labels"):
        M.label_error_rate([[]], [[]])


def test_framewise_cross_entropy_and_label_posterior():
    probs = torch.tensor([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]])
    lp = probs.log()
    ali = torch.tensor([[0, 1, 1]])
    # two valid frames: -(log .5 + log .8)/2 ; third frame ignored
    assert M.framewise_cross_entropy(lp, [2], ali) == pytest.approx(-(math.log(0.5) + math.log(0.8)) / 2)
    assert M.mean_label_posterior(lp, [2], 0) == pytest.approx(30.0)
    assert M.mean_label_posterior(lp, [3], 2) == pytest.approx(100 * (0.25 + 0.1 + 0.6) / 3)


def test_silence_ratio():
    ali = torch.tensor([[0, 1, 0, 0], [2, 0, -1, -1]])
    assert M.silence_ratio(ali, [4, 2], silence=0) == pytest.approx(100 * 4 / 6)


def test_time_stamp_error_left_right_and_center():
    ref = [[(2, 6), (8, 10)]]
    hyp = [[(3, 6), (6, 11)]]
    # (|3-2| + |6-6|)/2 = 0.5 ; (|6-8| + |11-10|)/2 = 1.5 -> mean 1.0
    assert M.time_stamp_error(hyp, ref) == pytest.approx(1.0)
    # centers 4 vs 4.5 -> 0.5 ; 9 vs 8.5 -> 0.5
    assert M.time_stamp_error(hyp, ref, center=True) == pytest.approx(0.5)
    assert M.time_stamp_error(ref, ref) == 0.0
    with pytest.raises(ValueError, match="reference words"):
        M.time_stamp_error([[(0, 1)]], ref)


