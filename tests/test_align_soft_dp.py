"""Soft-DP alignment: tau = 1 is the full sum, small tau approaches Viterbi, gradients are exact."""

import math

import pytest
import torch
from reference import enumerate_paths

import fsttopo
from fsttopo.align import soft_dp_align


def _graphs():
    return {
        "ctc": fsttopo.ctc_graph([[1, 2, 2], [3], [4, 1]]),
        "ctc_no_forced_blank": fsttopo.ctc_graph([[1, 2, 2], [3], [4, 1]], forced_blank=False),
        "hmm": fsttopo.hmm_graph([[[1, 2], [3]], [[4]], [[2, 1]]], silence=0, transitions=fsttopo.Transitions()),
    }


@pytest.mark.parametrize("name", ["ctc", "ctc_no_forced_blank", "hmm"])
def test_tau_one_equals_full_sum_and_soft_alignment(name):
    graphs = _graphs()[name]
    lp = torch.randn(3, 9, 5, dtype=torch.float64).log_softmax(-1)
    lengths = torch.tensor([9, 5, 7])
    kw = dict(posterior_scale=0.7, log_prior=torch.randn(5, dtype=torch.float64).log_softmax(-1),
              prior_scale=0.3, transition_scale=0.5)
    out = soft_dp_align(lp, lengths, graphs, **kw)
    torch.testing.assert_close(out.value, fsttopo.full_sum(lp, lengths, graphs, **kw))
    torch.testing.assert_close(out.label_occupancy, fsttopo.soft_alignment(lp, lengths, graphs, **kw))
    torch.testing.assert_close(out.state_occupancy.sum(2), (torch.arange(9) < lengths[:, None]).double())


@pytest.mark.parametrize("tau", [0.25, 3.0])
def test_any_tau_equals_engine_with_scales_divided_by_tau(tau):
    """tau * full_sum(scores / tau) is the smooth max; its occupancy is the engine's soft alignment."""
    graphs = _graphs()["hmm"]
    lp = torch.randn(3, 9, 5, dtype=torch.float64).log_softmax(-1)
    lengths = [9, 6, 8]
    out = soft_dp_align(lp, lengths, graphs, tau=tau, transition_scale=0.6)
    kw = dict(posterior_scale=1 / tau, transition_scale=0.6 / tau)
    torch.testing.assert_close(out.value, tau * fsttopo.full_sum(lp, lengths, graphs, **kw))
    torch.testing.assert_close(out.label_occupancy, fsttopo.soft_alignment(lp, lengths, graphs, **kw))


def _brute_expectations(fsa, lp, tau, T):
    """Expected first frame and frame count of every token over all paths, weights exp(score / tau)."""
    arcs, w, tok = fsa.arcs.tolist(), fsa.scores.tolist(), fsa.aux["token"].tolist()
    paths = enumerate_paths(fsa, T)
    scores = [(sum(float(lp[t, arcs[i][2]]) + w[i] for t, i in enumerate(p)) + w[f]) / tau for p, f in paths]
    m = max(scores)
    probs = [math.exp(s - m) for s in scores]
    Z = sum(probs)
    S = max(tok) + 1
    start, count = [0.0] * S, [0.0] * S
    for (p, _), q in zip(paths, probs):
        toks = [tok[i] for i in p]
        for s in range(S):
            start[s] += q / Z * toks.index(s)
            count[s] += q / Z * toks.count(s)
    return tau * (m + math.log(Z)), start, count


@pytest.mark.parametrize("tau", [1.0, 0.4])
def test_expected_boundaries_match_path_enumeration(tau):
    graphs = fsttopo.ctc_graph([[1, 2, 2], [3, 1]], forced_blank=False)
    lp = torch.randn(2, 7, 4, dtype=torch.float64).log_softmax(-1)
    lengths = [7, 6]
    out = soft_dp_align(lp, lengths, graphs, tau=tau)
    for b in range(2):
        value, start, count = _brute_expectations(graphs[b], lp[b], tau, lengths[b])
        assert out.value[b].item() == pytest.approx(value)
        S = len(start)
        torch.testing.assert_close(out.token_start[b, :S], torch.tensor(start, dtype=torch.float64))
        torch.testing.assert_close(out.token_end[b, :S] - out.token_start[b, :S],
                                   torch.tensor(count, dtype=torch.float64))
    assert out.num_tokens.tolist() == [3, 2] and out.token_start[1, 2] == 0


@pytest.mark.parametrize("name", ["ctc", "hmm"])
def test_small_tau_approaches_viterbi(name):
    graphs = _graphs()[name]
    lengths = [12, 8, 10]
    lp = torch.randn(3, 12, 5, dtype=torch.float64).log_softmax(-1)
    # widen the margin: every other path (the graphs are unambiguous) loses >= 2 against the best
    labels = fsttopo.viterbi(lp, lengths, graphs).labels
    lp = lp + 2.0 * torch.nn.functional.one_hot(labels.clamp(min=0), 5) * (labels >= 0)[:, :, None]
    tau = 0.01
    out = soft_dp_align(lp, lengths, graphs, tau=tau)
    best = fsttopo.viterbi(lp, lengths, graphs)
    assert torch.equal(best.labels, labels)
    # value is within tau * log(#paths) above the best path score
    assert (out.value - best.scores).min() >= -1e-9
    assert (out.value - best.scores).max() <= tau * math.log(10 ** 6)
    for b, segs in enumerate(fsttopo.path_segments(best, graphs)):
        L = lengths[b]
        onehot = torch.zeros(L, out.state_occupancy.shape[2], dtype=torch.float64)
        onehot[torch.arange(L), best.states[b, :L]] = 1.0
        torch.testing.assert_close(out.state_occupancy[b, :L], onehot, atol=1e-3, rtol=0)
        for sg in segs:
            assert out.token_start[b, sg.index].item() == pytest.approx(sg.start, abs=1e-2)
            assert out.token_end[b, sg.index].item() == pytest.approx(sg.end, abs=1e-2)


def test_gradcheck_occupancies_and_boundaries():
    graphs = fsttopo.hmm_graph([[[1, 2]], [[3], [1]]], silence=0, transitions=fsttopo.Transitions())
    graphs.scores = graphs.scores.double().requires_grad_(True)
    lp = torch.randn(2, 6, 4, dtype=torch.float64).log_softmax(-1).requires_grad_(True)
    weights = torch.randn(2, 6, 4, dtype=torch.float64)

    def f(x, scores):
        graphs.scores = scores
        out = soft_dp_align(x, [6, 5], graphs, tau=0.7, level="word")
        return out.value, out.token_start, out.token_end, (out.label_occupancy * weights).sum((1, 2))

    assert torch.autograd.gradcheck(f, (lp, graphs.scores))


def test_gradient_of_value_is_occupancy():
    """d value / d log_probs = posterior_scale * label occupancy, at any tau."""
    graphs = fsttopo.ctc_graph([[1, 2], [3, 3]])
    lp = torch.randn(2, 8, 4, dtype=torch.float64).log_softmax(-1).requires_grad_(True)
    out = soft_dp_align(lp, [8, 7], graphs, tau=0.3, posterior_scale=0.5)
    (g,) = torch.autograd.grad(out.value.sum(), lp)
    torch.testing.assert_close(g, 0.5 * out.label_occupancy.detach())


def test_boundary_loss_trains_logits():
    """Gradient descent on an L1 loss between expected and wanted token starts moves the starts."""
    graphs = fsttopo.ctc_graph([[1, 2, 3]])
    logits = torch.zeros(1, 12, 4, requires_grad=True)
    wanted = torch.tensor([[2.0, 6.0, 9.0]])
    opt = torch.optim.Adam([logits], lr=0.3)
    losses = []
    for _ in range(30):
        out = soft_dp_align(logits.log_softmax(-1), [12], graphs, tau=0.5)
        loss = (out.token_start - wanted).abs().sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 < losses[0]


def test_soft_dp_bad_inputs():
    graphs = fsttopo.ctc_graph([[1]])
    lp = torch.randn(1, 3, 2).log_softmax(-1)
    with pytest.raises(ValueError, match="tau"):
        soft_dp_align(lp, [3], graphs, tau=0.0)
    with pytest.raises(ValueError, match="word"):
        soft_dp_align(lp, [3], graphs, level="word")
    with pytest.raises(ValueError, match="lengths"):
        soft_dp_align(lp, [4], graphs)


def test_infeasible_utterance_gives_zero_occupancy():
    graphs = fsttopo.ctc_graph([[1, 1, 1], [1]])
    lp = torch.randn(2, 3, 2, dtype=torch.float64).log_softmax(-1).requires_grad_(True)
    out = soft_dp_align(lp, [3, 3], graphs)
    assert out.value[0] == -math.inf and out.state_occupancy[0].abs().sum() == 0
    out.token_end[1].sum().backward()
    assert torch.isfinite(lp.grad).all()
