"""recipes/tts/ship.py: what a shipped model file carries."""

import json
import sys

import pytest
import torch

from fsttopo.data.lexicon import Lexicon
from fsttopo.models import AlignmentModel, ModelConfig
from fsttopo.training import ObjectiveConfig, read_model_file, save_model


def write_model(path, seed: int, lexicon: Lexicon, **extra) -> AlignmentModel:
    torch.manual_seed(seed)
    model = AlignmentModel(ModelConfig(num_tokens=lexicon.num_tokens, d_model=32, num_layers=1, num_heads=2,
                                       ffn_dim=64, conv_kernel=3))
    save_model(path, model, ObjectiveConfig(topology="hmm"), lexicon.tokens,
               log_prior=torch.full((lexicon.num_tokens,), -float(lexicon.num_tokens) ** 0.5), **extra)
    return model


def test_weights_are_shipped_with_the_selected_epochs_options(tmp_path, monkeypatch):
    from recipes.tts import ship

    lexicon = Lexicon.from_cmudict()
    exp, avg = tmp_path / "stage3", tmp_path / "soup"
    exp.mkdir(), avg.mkdir()
    write_model(exp / "epoch2.pt", 0, lexicon)
    averaged = write_model(avg / "model.pt", 1, lexicon, extra={"averaged": {"models": ["a", "b"], "weights": [0.5, 0.5]}})
    (avg / "config.json").write_text(json.dumps({"model": {"d_model": 32}}))
    options = {"method": "posterior", "blank_penalty": 2.0, "prior_scale": 1.5, "posterior_scale": 1.0,
               "phases": 4, "time_shift": -0.006}
    (tmp_path / "tuned.json").write_text(json.dumps({"stage3": {"model": str(exp / "epoch2.pt"), **options}}))
    out = tmp_path / "shipped"
    monkeypatch.setattr(sys, "argv", ["ship.py", "--exp", str(exp), "--tuned", str(tmp_path / "tuned.json"),
                                      "--weights", str(avg / "model.pt"), "--boundary-detector", "",
                                      "--lm-text", "", "--out", str(out)])
    ship.main()
    f = read_model_file(out / "model.pt")
    assert f.align_options == options
    for name, value in averaged.state_dict().items():  # the average's weights, stored in float16
        if value.is_floating_point():
            torch.testing.assert_close(f.model.state_dict()[name].float(), value.half().float(), rtol=0, atol=0)
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == {"d_model": 32}  # the config next to the weights shipped
    assert config["dev_selection"]["model"] == str(avg / "model.pt")
    assert config["dev_selection"]["options_of"] == str(exp / "epoch2.pt")
    assert config["dev_selection"]["averaged"]["weights"] == [0.5, 0.5]


def test_a_refiner_is_added_into_a_new_directory_and_no_partial_file_stays(tmp_path):
    from fsttopo.align.refine import BoundaryRefiner, RefineOptions
    from fsttopo.models.boundary import BoundaryConfig, BoundaryDetector
    from fsttopo.training.checkpoint import add_boundary_refiner

    lexicon = Lexicon.from_cmudict()
    write_model(tmp_path / "m.pt", 0, lexicon)
    refiner = BoundaryRefiner(BoundaryDetector(BoundaryConfig(channels=16, dilations=(1,))), RefineOptions(window=0.04))
    out = tmp_path / "new" / "dir" / "m.pt"
    add_boundary_refiner(tmp_path / "m.pt", refiner, out, default=True)
    f = read_model_file(out)
    assert f.boundary_refiner.options == refiner.options and f.align_options["refine_boundaries"] is True
    assert sorted(p.name for p in out.parent.iterdir()) == ["m.pt"]
    with pytest.raises(ValueError, match="does not exist"):
        add_boundary_refiner(tmp_path / "missing.pt", refiner, tmp_path / "x.pt")


def test_the_detector_ships_with_its_settings_and_training_record(tmp_path, monkeypatch):
    from fsttopo.align.refine import BoundaryRefiner, RefineOptions
    from fsttopo.models.boundary import BoundaryConfig, BoundaryDetector
    from recipes.tts import ship

    lexicon = Lexicon.from_cmudict()
    exp = tmp_path / "exp"
    exp.mkdir()
    write_model(exp / "model.pt", 0, lexicon)
    (exp / "config.json").write_text(json.dumps({"model": {"d_model": 32}}))
    refiner = BoundaryRefiner(BoundaryDetector(BoundaryConfig(channels=16, dilations=(1,))), RefineOptions(window=0.04))
    record = {"epochs": 8, "augment": 0.5, "quantize_bits": 16, "log": [{"epoch": 1, "loss": 1.5}]}
    torch.save({**refiner.to_dict(), "train_info": record}, tmp_path / "refiner.pt")
    out = tmp_path / "shipped"
    monkeypatch.setattr(sys, "argv", ["ship.py", "--exp", str(exp), "--boundary-detector", str(tmp_path / "refiner.pt"),
                                      "--lm-text", "", "--out", str(out)])
    ship.main()
    f = read_model_file(out / "model.pt")
    assert f.boundary_refiner.options == refiner.options and f.align_options["refine_boundaries"] is True
    shipped = json.loads((out / "config.json").read_text())["boundary_detector"]
    assert shipped["train_info"] == record and shipped["refine"]["window"] == 0.04
    assert shipped["file"] == str(tmp_path / "refiner.pt")
