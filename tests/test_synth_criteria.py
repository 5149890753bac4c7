"""The lab selects each training criterion and output layer by name."""

import pytest
import torch

from fsttopo import synthetic
from fsttopo.criteria import blank_separated_log_softmax
from fsttopo.synthetic.models import ModelConfig, build_model
from fsttopo.synthetic.train import ExperimentConfig


@pytest.mark.parametrize("criterion,output", [("full-sum", "blank-separated"), ("normalized-gradient", "softmax"),
                                              ("framewise-ce", "softmax"), ("framewise-ce", "blank-separated")])
def test_runner_trains_every_criterion(criterion, output):
    rows = synthetic.run_rows(synthetic.resolve("table10.1"), seeds=1, steps=30, progress=False,
                              criterion=criterion, output=output)
    assert rows[0].preset.config.criterion == criterion
    assert rows[0].preset.config.model.output == output
    assert all(v == v for v in rows[0].values["fw_ce"])  # finite metrics (NaN != NaN)


def test_framewise_ce_reaches_the_reference_alignment():
    rows = synthetic.run_rows(synthetic.resolve("table10.1"), seeds=1, steps=150, progress=False,
                              criterion="framewise-ce")
    assert rows[0].values["tse"][0] == 0.0


def test_blank_separated_model_output():
    torch.manual_seed(0)
    model = build_model(ModelConfig("ffnn", output="blank-separated"), 11, 11)
    x = torch.randn(2, 5, 11)
    lengths = torch.tensor([5, 3])
    torch.testing.assert_close(model(x, lengths), blank_separated_log_softmax(model.linear(x), blank=0))


def test_invalid_combinations():
    with pytest.raises(ValueError, match="criterion must be one of"):
        ExperimentConfig(criterion="mmi")
    with pytest.raises(ValueError, match="normalized-gradient needs the softmax output"):
        ExperimentConfig(criterion="normalized-gradient", model=ModelConfig(output="blank-separated"))
    with pytest.raises(ValueError, match="output must be one of"):
        ModelConfig(output="hierarchical")
