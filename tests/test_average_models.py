"""Weight averaging of model files (recipes/tts/average_models.py)."""

import pytest
import torch

from recipes.tts.average_models import average_state


def test_average_is_the_weighted_sum_of_float_entries():
    a = {"w": torch.tensor([1.0, 2.0]), "steps": torch.tensor(7)}
    b = {"w": torch.tensor([3.0, 6.0], dtype=torch.float16), "steps": torch.tensor(9)}
    out = average_state([a, b], [0.25, 0.75])
    torch.testing.assert_close(out["w"], torch.tensor([2.5, 5.0]))  # 0.25*1 + 0.75*3, 0.25*2 + 0.75*6
    assert out["w"].dtype == torch.float32
    assert int(out["steps"]) == 7  # integer entries are not averaged


def test_different_architectures_are_refused():
    with pytest.raises(ValueError, match="architecture"):
        average_state([{"w": torch.zeros(2)}, {"w": torch.zeros(3)}], [0.5, 0.5])
    with pytest.raises(ValueError, match="architecture"):
        average_state([{"w": torch.zeros(2)}, {"v": torch.zeros(2)}], [0.5, 0.5])
