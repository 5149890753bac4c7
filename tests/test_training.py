"""Model, objective, schedule, checkpoints, one training step, and a 2-process DDP step (gloo)."""

import math
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

import fsttopo
from fsttopo.models import AlignmentModel, ModelConfig
from fsttopo.training import (Objective, ObjectiveConfig, load_model, one_cycle_factor,
                              save_model, train_step)

V = 6
WORDS = [[[1, 2], [3]], [[4, 4, 5]], [[2], [5, 1]]]


def tiny_model(**kw):
    return AlignmentModel(ModelConfig(num_tokens=V, num_features=16, d_model=32, num_layers=2, num_heads=2,
                                      ffn_dim=64, conv_kernel=3, dropout=0.0, **kw))


def batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"features": torch.randn(3, 60, 16, generator=g), "lengths": torch.tensor([60, 52, 44]),
            "words": WORDS}


@pytest.mark.parametrize("objective", [
    ObjectiveConfig(topology="ctc"),
    ObjectiveConfig(topology="ctc-no-forced-blank"),
    ObjectiveConfig(topology="hmm", posterior_scale=0.7, transition_scale=0.3),
    ObjectiveConfig(topology="hmm", posterior_scale=0.5, prior="sequence", prior_scale=0.3),
    ObjectiveConfig(topology="hmm", prior="running", prior_scale=0.3),
    ObjectiveConfig(topology="ctc", normalized_gradient=True, prior="batch", prior_scale=0.2),
], ids=["ctc", "ctc-nfb", "hmm-trans", "hmm-seqprior", "hmm-running", "ctc-normgrad"])
def test_training_steps_lower_the_loss(objective):
    torch.manual_seed(0)
    model = tiny_model(inter_layers=(1,))
    obj = Objective(objective, V)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    b = batch()
    first = train_step(model, obj, b, opt)["loss"]
    for _ in range(15):
        last = train_step(model, obj, b, opt)["loss"]
    assert math.isfinite(first) and last < first


def test_objective_matches_engine_directly():
    model = tiny_model()
    out = model(batch()["features"], batch()["lengths"])
    obj = Objective(ObjectiveConfig(topology="hmm", posterior_scale=0.5, transition_scale=0.5), V)
    loss, _ = obj(out, WORDS)
    graphs = fsttopo.hmm_graph(WORDS, silence=0, transitions=fsttopo.Transitions())
    ref = -fsttopo.full_sum(out.log_probs, out.lengths, graphs, posterior_scale=0.5, transition_scale=0.5).sum()
    torch.testing.assert_close(loss, ref / out.lengths.sum())


def test_frontend_lengths_are_ceil():
    for f in (2, 4, 6):
        m = tiny_model(subsampling=f)
        lengths = torch.tensor([1, 7, 60, 61])
        assert m.frontend.output_lengths(lengths).tolist() == [math.ceil(n / f) for n in lengths.tolist()]
        out = m(torch.randn(4, 61, 16), lengths)
        assert out.log_probs.shape[1] == math.ceil(61 / f)


@pytest.mark.parametrize("factor", [2, 4, 6])
def test_frontend_frame_offset_is_the_receptive_field_centre(factor):
    """Which input frames output frame t sees (non-zero gradient) must be centred on input frame
    factor * t, so frame t stands for input frames factor * t + frame_offset + [0, factor)."""
    m = tiny_model(subsampling=factor)
    x = torch.randn(1, 12 * factor, 16, requires_grad=True)
    hidden, _ = m.frontend(x, torch.tensor([12 * factor]))
    for t in (3, 7):
        (grad,) = torch.autograd.grad(hidden[0, t].sum(), x, retain_graph=True)
        seen = grad.abs().sum(-1)[0].nonzero().flatten().float()
        assert (seen.min() + seen.max()) / 2 == factor * t
        assert m.frontend.frame_offset == -(factor - 1) / 2


def test_one_cycle_schedule_shape():
    peak = 1e-3
    assert one_cycle_factor(0, 100, peak) == pytest.approx(1e-4)
    assert one_cycle_factor(45, 100, peak) == pytest.approx(peak)
    assert one_cycle_factor(90, 100, peak) == pytest.approx(1e-4)
    assert one_cycle_factor(100, 100, peak) == pytest.approx(1e-6)


def test_checkpoint_round_trip(tmp_path):
    model = tiny_model(blank_separated=True).eval()
    cfg = ObjectiveConfig(topology="hmm", transition_scale=0.3)
    save_model(tmp_path / "m.pt", model, cfg, ["<blk>", "a", "b", "c", "d", "e"])
    loaded, cfg2, tokens = load_model(tmp_path / "m.pt")
    x, lens = batch()["features"], batch()["lengths"]
    torch.testing.assert_close(loaded(x, lens).log_probs, model(x, lens).log_probs)
    assert cfg2 == cfg and tokens[1] == "a"


def test_bad_configs():
    with pytest.raises(ValueError, match="topology must be one of"):
        ObjectiveConfig(topology="rnnt")
    with pytest.raises(ValueError, match="needs a prior estimator"):
        ObjectiveConfig(prior_scale=0.3)
    with pytest.raises(ValueError, match="inter_layers"):
        ModelConfig(num_tokens=5, num_layers=2, inter_layers=(2,))
    with pytest.raises(ValueError, match="factor must be one of"):
        tiny_model(subsampling=3)


def _ddp_worker(rank: int, world: int, port: int, result_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.distributed.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)  # same initial weights on both ranks
    model = torch.nn.parallel.DistributedDataParallel(tiny_model())
    obj = Objective(ObjectiveConfig(topology="ctc"), V)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    train_step(model, obj, batch(seed=rank), opt)  # different data per rank
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    torch.save(flat, os.path.join(result_dir, f"rank{rank}.pt"))
    torch.distributed.destroy_process_group()


def test_two_process_gloo_ddp_step(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    p0, p1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    torch.testing.assert_close(p0, p1)  # gradients were averaged across ranks
    torch.manual_seed(0)
    before = torch.cat([p.detach().flatten() for p in tiny_model().parameters()])
    assert not torch.allclose(p0, before)


def test_set_threads_limits_torch_and_numba():
    import numba

    from fsttopo.threads import set_threads

    before = (torch.get_num_threads(), numba.get_num_threads())
    try:
        set_threads(1)
        assert torch.get_num_threads() == 1 and numba.get_num_threads() == 1
    finally:
        torch.set_num_threads(before[0])
        numba.set_num_threads(before[1])
    with pytest.raises(ValueError, match="threads must be >= 1"):
        set_threads(0)


@pytest.mark.parametrize("num_cuts", [1, 3, 25])
def test_sampler_yields_every_cut_of_small_and_large_sets(num_cuts):
    from lhotse import CutSet
    from lhotse.testing.dummies import dummy_cut

    from fsttopo.training.data import make_sampler

    cuts = CutSet.from_cuts(dummy_cut(i, duration=1.0 + i % 4) for i in range(num_cuts))
    seen = [c.id for batch in make_sampler(cuts, max_duration=6.0, shuffle=False) for c in batch]
    assert sorted(seen) == sorted(cuts.ids)
    with pytest.raises(ValueError, match="cut set is empty"):
        make_sampler(CutSet.from_cuts([]), max_duration=6.0, shuffle=False)
