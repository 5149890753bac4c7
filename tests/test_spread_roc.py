"""The ROC area of recipes/tts/spread_roc.py against a brute-force count over all pairs."""

import itertools

import numpy as np
import pytest

from recipes.tts.spread_roc import roc_auc


def brute_auc(scores, positive):
    pairs = [(p, n) for p, n in itertools.product(np.flatnonzero(positive), np.flatnonzero(~positive))]
    return sum(1.0 if scores[p] > scores[n] else 0.5 if scores[p] == scores[n] else 0.0 for p, n in pairs) / len(pairs)


def test_auc_equals_the_pair_count_with_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 60).astype(float)  # many ties
    positive = rng.random(60) < 0.3
    assert roc_auc(scores, positive) == pytest.approx(brute_auc(scores, positive))
    assert roc_auc(np.array([0.1, 0.9]), np.array([False, True])) == 1.0
    assert roc_auc(np.array([0.9, 0.1]), np.array([False, True])) == 0.0


def test_one_class_only_is_refused():
    with pytest.raises(ValueError, match="positives and negatives"):
        roc_auc(np.array([1.0, 2.0]), np.array([True, True]))
