"""full_sum and viterbi against brute-force enumeration of all paths on tiny graphs."""

import math

import pytest
import torch

import fsttopo
from reference import brute_full_sum, brute_viterbi

TRANS = fsttopo.Transitions(speech_loop=0.6, speech_forward=0.4, silence_loop=0.9, silence_forward=0.1)


def cases():
    # (name, graphs, V, T per utterance)
    yield "ctc_no_forced", fsttopo.ctc_graph([[1, 1], [2, 3, 2], [3]], forced_blank=False), 4, [5, 7, 3]
    yield "ctc_forced", fsttopo.ctc_graph([[1, 1], [2, 3, 2], [3]], forced_blank=True), 4, [5, 7, 3]
    yield "hmm", fsttopo.hmm_graph([[[1, 2], [2]], [[3, 3, 1]], [[1], [2], [3]]], silence=0,
                                   transitions=TRANS), 4, [6, 7, 5]


@pytest.mark.parametrize("name,graphs,V,Ts", list(cases()), ids=[c[0] for c in cases()])
@pytest.mark.parametrize("scales", [dict(), dict(posterior_scale=0.7, prior_scale=0.3, transition_scale=0.5)])
def test_against_brute_force(backend, name, graphs, V, Ts, scales):
    B, T = len(Ts), max(Ts)
    lp = torch.randn(B, T, V, dtype=torch.float64).log_softmax(-1)
    log_prior = torch.randn(V, dtype=torch.float64).log_softmax(-1)
    kw = dict(scales, log_prior=log_prior if scales.get("prior_scale") else None)
    lengths = torch.tensor(Ts)
    ll = fsttopo.full_sum(lp, lengths, graphs, backend=backend, **kw)
    vit = fsttopo.viterbi(lp, lengths, graphs, backend=backend, **kw)
    for b in range(B):
        fsa = graphs[b]
        ref = brute_full_sum(fsa, lp[b, :Ts[b]], **kw)
        assert math.isfinite(ref)
        assert ll[b].item() == pytest.approx(ref, abs=1e-9)
        best, labels = brute_viterbi(fsa, lp[b, :Ts[b]], **kw)
        assert vit.scores[b].item() == pytest.approx(best, abs=1e-9)
        assert vit.labels[b, :Ts[b]].tolist() == labels


def test_hmm_path_with_and_without_transitions_matches_hand_example():
    # one word of one label "1", T=3, silence 0: paths are sequences of (sil*, 1+, sil*).
    graphs = fsttopo.hmm_graph([[[1]]], silence=0, transitions=TRANS)
    lp = torch.zeros(1, 3, 2, dtype=torch.float64)  # all emissions log 1
    ll = fsttopo.full_sum(lp, [3], graphs)
    sl, sf, il, if_ = (math.log(p) for p in (0.6, 0.4, 0.9, 0.1))
    paths = [
        [sl, sl],            # 1 1 1
        [if_, sl],           # 0 1 1
        [il, if_],           # 0 0 1
        [sl, sf],            # 1 1 0
        [sf, il],            # 1 0 0
        [if_, sf],           # 0 1 0
    ]
    ref = math.log(sum(math.exp(sum(p)) for p in paths))
    assert ll.item() == pytest.approx(ref, abs=1e-6)  # graph scores are float32, as in k2
    assert fsttopo.full_sum(lp, [3], fsttopo.hmm_graph([[[1]]], silence=0)).item() == pytest.approx(math.log(6))


def test_gradients_match_brute_force_autograd():
    graphs = fsttopo.hmm_graph([[[1, 2]], [[2], [1]]], silence=0, transitions=TRANS)
    V, Ts = 3, [5, 4]
    lp = torch.randn(2, 5, V, dtype=torch.float64).log_softmax(-1).requires_grad_()
    prior = torch.randn(V, dtype=torch.float64).log_softmax(-1).requires_grad_()
    graphs.scores = graphs.scores.double().requires_grad_()
    kw = dict(posterior_scale=0.8, prior_scale=0.4, transition_scale=0.6)
    ours = fsttopo.full_sum(lp, Ts, graphs, log_prior=prior, **kw).sum()
    g_ours = torch.autograd.grad(ours, (lp, prior, graphs.scores))

    # the same quantity written as an explicit logsumexp over enumerated paths (autograd reference)
    from reference import enumerate_paths
    total = 0
    for b in range(2):
        lo = int(graphs.arc_splits[b])
        fsa = graphs[b]
        terms = []
        for frame_arcs, final in enumerate_paths(fsa, Ts[b]):
            s = kw["transition_scale"] * graphs.scores[lo + final]
            for t, i in enumerate(frame_arcs):
                lab = int(fsa.arcs[i, 2])
                s = s + kw["posterior_scale"] * lp[b, t, lab] - kw["prior_scale"] * prior[lab] \
                    + kw["transition_scale"] * graphs.scores[lo + i]
            terms.append(s)
        total = total + torch.logsumexp(torch.stack(terms), 0)
    g_ref = torch.autograd.grad(total, (lp, prior, graphs.scores))
    torch.testing.assert_close(ours, total)
    for a, r in zip(g_ours, g_ref):
        torch.testing.assert_close(a, r)


def test_gradcheck_float64(backend):
    graphs = fsttopo.hmm_graph([[[1, 2]], [[2], [1]]], silence=0, transitions=TRANS)
    graphs.scores = graphs.scores.double().requires_grad_()
    lp = torch.randn(2, 6, 3, dtype=torch.float64).log_softmax(-1).requires_grad_()
    prior = torch.randn(3, dtype=torch.float64).requires_grad_()

    def f(lp, prior, scores):
        graphs.scores = scores
        return fsttopo.full_sum(lp, [6, 4], graphs, log_prior=prior, prior_scale=0.5,
                                posterior_scale=0.7, transition_scale=0.3, backend=backend)

    assert torch.autograd.gradcheck(f, (lp, prior, graphs.scores))
    ctc = fsttopo.ctc_graph([[1, 2, 2], [3]])
    x = torch.randn(2, 7, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x: fsttopo.full_sum(x.log_softmax(-1), [7, 5], ctc, backend=backend), (x,))


def test_backends_agree_on_random_batches():
    torch.manual_seed(3)
    words = [[[int(x) for x in torch.randint(1, 20, (int(torch.randint(1, 5, ())),))]
              for _ in range(int(torch.randint(1, 5, ())))] for _ in range(8)]
    graphs = fsttopo.hmm_graph(words, silence=0, transitions=TRANS)
    T = 60
    lengths = torch.randint(30, T + 1, (8,))
    # float64: in float32 the two backends add in different orders and may break near-ties apart
    lp = torch.randn(8, T, 20, dtype=torch.float64).log_softmax(-1)
    prior = torch.randn(20, dtype=torch.float64).log_softmax(-1)
    kw = dict(log_prior=prior, prior_scale=0.3, posterior_scale=0.9, transition_scale=0.5)
    a = fsttopo.soft_alignment(lp, lengths, graphs, backend="torch", **kw)
    b = fsttopo.soft_alignment(lp, lengths, graphs, backend="numba", **kw)
    torch.testing.assert_close(a, b)
    va = fsttopo.viterbi(lp, lengths, graphs, backend="torch", **kw)
    vb = fsttopo.viterbi(lp, lengths, graphs, backend="numba", **kw)
    assert torch.equal(va.arcs, vb.arcs)
    torch.testing.assert_close(va.scores, vb.scores)


def _brute_log_likelihood(graphs, lp, Ts):
    """sum over utterances of logsumexp over enumerated paths, differentiable w.r.t. ``lp`` (graph scores fixed)."""
    from reference import enumerate_paths

    total = 0
    for b in range(len(graphs)):
        fsa = graphs[b]
        terms = []
        for frame_arcs, final in enumerate_paths(fsa, Ts[b]):
            s = fsa.scores[final].double()
            for t, i in enumerate(frame_arcs):
                s = s + lp[b, t, int(fsa.arcs[i, 2])] + fsa.scores[i].double()
            terms.append(s)
        total = total + torch.logsumexp(torch.stack(terms), 0)
    return total


# state 2 is entered by arcs of labels 1 and 2: the emission gradient cannot come from state occupancies
MIXED_LABELS = fsttopo.Fsa.from_str("0 1 1 0\n0 2 2 -0.5\n1 1 1 -0.1\n1 2 1 -0.7\n2 2 3 -0.2\n1 3 -1 0\n2 3 -1 0\n3")


@pytest.mark.parametrize("graphs", [fsttopo.hmm_graph([[[1, 2]], [[2], [1]]], silence=0, transitions=TRANS),
                                    fsttopo.FsaVec([MIXED_LABELS, MIXED_LABELS])], ids=["hmm", "mixed labels"])
def test_emission_gradient_without_arc_gradients_matches_brute_force_autograd(backend, graphs):
    # graph scores without requires_grad: the backward takes the emission occupancy alone
    Ts = [5, 4]
    lp = torch.randn(2, 5, 4, dtype=torch.float64).log_softmax(-1).requires_grad_()
    (g_ours,) = torch.autograd.grad(fsttopo.full_sum(lp, Ts, graphs, backend=backend).sum(), lp)
    (g_ref,) = torch.autograd.grad(_brute_log_likelihood(graphs, lp, Ts), lp)
    torch.testing.assert_close(g_ours, g_ref)


def test_auto_backend_takes_torch_for_the_forward_backward_of_one_small_utterance():
    from fsttopo.engine import intersect, numba_kernels, recursion
    from fsttopo.engine.dense_graph import compile_graph

    single, pair = fsttopo.ctc_graph([[1, 2, 3]]), fsttopo.ctc_graph([[1, 2, 3], [2, 2]])
    N = compile_graph(single, torch.device("cpu")).in_label.shape[1]  # graph states, start and final included
    choice = lambda B, T, graphs, **kw: intersect._kernels(  # noqa: E731
        torch.zeros(B, T, 5), compile_graph(graphs, torch.device("cpu")), "auto", **kw)
    assert choice(1, 12, single) is recursion
    assert choice(1, intersect.SMALL_WORK // N, single) is recursion
    assert choice(1, intersect.SMALL_WORK // N + 1, single) is numba_kernels
    assert choice(2, 12, pair) is numba_kernels
    assert choice(1, 12, single, best_path=True) is numba_kernels
    # what "auto" gives for one utterance is the torch backend's, within float rounding of numba's
    torch.manual_seed(4)
    lp = torch.randn(1, 12, 5).log_softmax(-1)
    auto = fsttopo.state_posteriors(lp, [12], single)
    assert torch.equal(auto, fsttopo.state_posteriors(lp, [12], single, backend="torch"))
    torch.testing.assert_close(auto, fsttopo.state_posteriors(lp, [12], single, backend="numba"))
