"""An interrupted training resumed with `resume=True` (`fsttopo train --resume`) ends with the
weights of an uninterrupted run, bit for bit, and its model file logs every epoch."""

import pytest
import torch

from fsttopo.data.lexicon import Lexicon
from fsttopo.models import ModelConfig
from fsttopo.training import ObjectiveConfig, TrainConfig, train
from fsttopo.training.checkpoint import read_model_file
from test_label_prior import cuts  # noqa: F401 (the fixture: three cuts of the example with features)


class Interrupted(Exception):
    pass


def run(cuts, out, resume=False):
    lexicon = Lexicon.from_cmudict()
    torch.manual_seed(0)  # the model's initial weights
    config = ModelConfig(num_tokens=40, d_model=32, num_layers=1, num_heads=2, ffn_dim=64, conv_kernel=3, dropout=0.3)
    return train(config, ObjectiveConfig(topology="hmm"), TrainConfig(epochs=3, max_duration=8.0, peak_lr=1e-3),
                 cuts, None, lexicon, lexicon.tokens, out, resume=resume)


def test_resumed_training_equals_an_uninterrupted_one(cuts, tmp_path, monkeypatch):  # noqa: F811
    whole = read_model_file(run(cuts, tmp_path / "whole"))

    save = torch.save

    def save_then_stop(obj, path, *args, **kwargs):
        save(obj, path, *args, **kwargs)
        if str(path).endswith("checkpoint.pt") and obj["epoch"] == 0:
            raise Interrupted  # after the first epoch's checkpoint, as a killed job would stop

    monkeypatch.setattr(torch, "save", save_then_stop)
    with pytest.raises(Interrupted):
        run(cuts, tmp_path / "cut")
    monkeypatch.setattr(torch, "save", save)
    torch.manual_seed(123)  # whatever the process did in between
    resumed = read_model_file(run(cuts, tmp_path / "cut", resume=True))
    for name, weight in whole.model.state_dict().items():
        assert torch.equal(weight, resumed.model.state_dict()[name]), name
    torch.testing.assert_close(resumed.log_prior, whole.log_prior, rtol=0, atol=0)
    logs = [torch.load(p / "model.pt", weights_only=False)["log"] for p in (tmp_path / "whole", tmp_path / "cut")]
    assert [e["epoch"] for e in logs[1]] == [1, 2, 3] and logs[1] == logs[0]
