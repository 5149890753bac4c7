"""Scoring other weights inside a shipped model file (recipes/tts/score_weights.py)."""

from dataclasses import replace

import pytest
import torch

from fsttopo.aligner import Aligner
from fsttopo.resources import model_path
from fsttopo.training import read_model_file
from recipes.tts.score_weights import example_errors, with_weights


@pytest.fixture(scope="module")
def robust():
    return read_model_file(model_path("robust"))


@pytest.fixture(scope="module")
def default():
    return read_model_file(model_path("default"))


def test_swapped_weights_align_as_the_weights_own_file_does(robust, default):
    # the default model's weights inside the robust file, scored with the robust file's options:
    # the same as the robust file with nothing swapped in only where the weights are the same
    swapped = with_weights(robust, default, "default")
    assert swapped.model is default.model and swapped.log_prior is default.log_prior
    assert swapped.align_options == robust.align_options and swapped.boundary_refiner is robust.boundary_refiner
    own = example_errors(Aligner.from_file(model_path("robust")))
    assert example_errors(Aligner.from_model_file(with_weights(robust, robust, "robust"), where="robust")) == own
    assert example_errors(Aligner.from_model_file(swapped, where="default")) != own


def test_weights_of_another_shape_or_without_a_prior_are_refused(robust):
    with pytest.raises(ValueError, match="token table"):
        with_weights(robust, replace(robust, tokens=robust.tokens[:-1] + ["zz"]), "odd.pt")
    with pytest.raises(ValueError, match="no label prior"):
        with_weights(robust, replace(robust, log_prior=None), "noprior.pt")
    other = replace(robust, model=torch.nn.Linear(1, 1))
    other.model.config = replace(robust.model.config, d_model=64)
    with pytest.raises(ValueError, match="architecture"):
        with_weights(robust, other, "small.pt")
