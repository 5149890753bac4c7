"""Models, priors, training and evaluation of the synthetic lab."""

from dataclasses import replace

import pytest
import torch

from fsttopo import hmm_graph, viterbi
from fsttopo.synthetic import (SILENCE, DataConfig, ExperimentConfig, ModelConfig, PriorConfig, build_model,
                               evaluate, generate_batch, log_prior, static_log_prior, train)

CLEAN = DataConfig(num_words=(1, 3), repetitions=(1, 4), silence_factor=(0.2, 1.0))


def test_perfect_init_ffnn_is_softmax_of_features():
    model = build_model(ModelConfig("ffnn", perfect_init=True), 11, 11)
    x = torch.randn(2, 5, 11)
    assert torch.allclose(model(x, torch.tensor([5, 5])), x.log_softmax(-1))


@pytest.mark.parametrize("topology", ["hmm", "ctc"])
def test_perfect_init_aligns_exactly(topology):
    cfg = ExperimentConfig(data=CLEAN, model=ModelConfig("ffnn", perfect_init=True), topology=topology)
    model = build_model(cfg.model, 11, 11)
    batch = generate_batch(CLEAN, 30, torch.Generator().manual_seed(0))
    graphs = hmm_graph(batch.words, silence=SILENCE)
    path = viterbi(model(batch.features, batch.lengths), batch.lengths, graphs)
    assert torch.equal(path.labels, batch.alignment)
    metrics, example = evaluate(cfg, model)
    assert metrics["tse"] == 0.0 and metrics["tse_center"] == 0.0 and metrics["ler"] == 0.0
    assert torch.equal(example.viterbi, example.reference)
    # Viterbi silence share equals the reference's: count it on the evaluation batch
    ev = generate_batch(CLEAN, cfg.eval_size, torch.Generator().manual_seed(1_000_003))
    valid = ev.alignment >= 0
    assert metrics["silence"] == pytest.approx(100 * float((ev.alignment[valid] == SILENCE).double().mean()))


def test_blstm_shapes_ignore_padding():
    torch.manual_seed(0)
    model = build_model(ModelConfig("blstm", hidden=4), 11, 11)
    x = torch.randn(1, 6, 11)
    padded = torch.cat([x, torch.randn(1, 3, 11)], 1)
    full = model(x, torch.tensor([6]))
    pad = model(padded, torch.tensor([6]))
    assert pad.shape == (1, 9, 11)
    assert torch.allclose(full, pad[:, :6], atol=1e-6)


def test_posterior_priors_average_valid_frames():
    probs = torch.tensor([[[0.5, 0.5], [0.1, 0.9], [0.3, 0.7]], [[0.2, 0.8], [0.9, 0.1], [0.0, 1.0]]])
    lp = probs.log().requires_grad_()
    lengths = torch.tensor([3, 1])
    batch = log_prior(PriorConfig("posterior", "batch", True), lp, lengths)
    assert torch.allclose(batch.exp().view(-1), torch.tensor([(0.5 + 0.1 + 0.3 + 0.2) / 4, (0.5 + 0.9 + 0.7 + 0.8) / 4]))
    assert not batch.requires_grad
    seq = log_prior(PriorConfig("posterior", "sequence", False), lp, lengths)
    assert torch.allclose(seq.exp().view(2, 2), torch.tensor([[0.3, 0.7], [0.2, 0.8]]))
    assert seq.requires_grad
    assert log_prior(PriorConfig("none"), lp, lengths) is None


def test_static_prior_counts_reference_labels():
    data = DataConfig(num_words=(1, 1), repetitions=(10, 10), silence_factor=(1.0, 1.0))
    prior = static_log_prior(data, 50, torch.Generator().manual_seed(0)).exp()
    assert prior[SILENCE] == pytest.approx(0.5)
    # "o" (id 6) occurs once in helo/world/howe/you: 1 label out of each word's 4, 5, 4, 3 labels
    assert 0.0 < float(prior[6]) < 0.5 and float(prior.sum()) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("kwargs,match", [
    ({"topology": "rnnt"}, "topology"), ({"posterior_scale": 0.0}, "posterior_scale"),
    ({"prior_scale": -1.0}, "prior_scale"), ({"prior_scale": 0.5, "prior": PriorConfig("none")}, "prior kind"),
    ({"topology": "ctc", "transition_scale": 0.5}, "transition_scale"), ({"steps": 0}, "steps"), ({"lr": 0.0}, "lr"),
])
def test_bad_experiment_config_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ExperimentConfig(**kwargs)


def test_bad_model_and_prior_config_raise():
    with pytest.raises(ValueError, match="kind"):
        ModelConfig("transformer")
    with pytest.raises(ValueError, match="FFNN only"):
        ModelConfig("blstm", perfect_init=True)
    with pytest.raises(ValueError, match="scope"):
        PriorConfig("posterior", scope="corpus")


def test_training_with_stop_grad_prior_learns_the_alignment():
    data = DataConfig(num_words=(1, 1), repetitions=(10, 10), silence_factor=(1.0, 1.0))
    cfg = ExperimentConfig(data=data, posterior_scale=0.5, prior_scale=0.5, steps=150, lr=0.05, batch_size=16,
                           eval_size=20)
    metrics, _ = evaluate(cfg, train(cfg, 0))
    assert metrics["tse"] == 0.0 and metrics["ler"] == 0.0
    # training changes the model: the untrained (random) FFNN does not align
    untrained, _ = evaluate(cfg, train(replace(cfg, steps=1, lr=1e-9), 0))
    assert untrained["tse"] > 1.0
