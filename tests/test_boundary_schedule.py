"""The boundary detector's learning-rate schedule (recipes/tts/train_boundary.py ``learning_rate``):
a function of the step alone, so that a training run does not depend on the machine's speed."""

import math

import pytest

from recipes.tts.train_boundary import learning_rate


def test_warm_up_then_cosine_decay_by_hand():
    total, peak = 1000, 3e-3
    assert learning_rate(0, total, peak) == pytest.approx(peak * 0.02)       # warm-up starts at 2 %
    assert learning_rate(25, total, peak) == pytest.approx(peak * (0.5 + 0.02) * 0.5 * (1 + math.cos(math.pi * 0.025)))
    assert learning_rate(50, total, peak) == pytest.approx(peak * 0.5 * (1 + math.cos(math.pi * 0.05)))
    assert learning_rate(500, total, peak) == pytest.approx(peak * 0.5)      # half-way down the cosine
    assert learning_rate(999, total, peak) == pytest.approx(peak * 0.5 * (1 + math.cos(math.pi * 0.999)))
    rates = [learning_rate(s, total, peak) for s in range(total)]
    top = rates.index(max(rates))
    assert all(a < b for a, b in zip(rates[:top], rates[1:top + 1]))          # rises to its peak,
    assert all(a >= b for a, b in zip(rates[top:], rates[top + 1:]))          # then only falls


def test_steps_outside_the_plan_are_refused():
    with pytest.raises(ValueError, match="step"):
        learning_rate(10, 10, 1e-3)
    with pytest.raises(ValueError, match="step"):
        learning_rate(-1, 10, 1e-3)
