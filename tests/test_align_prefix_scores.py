"""CTC prefix scores (Eq. 23) against brute-force enumeration and torch's ctc_loss."""

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

import fsttopo
from fsttopo.align import ctc_prefix_scores


def _collapse(seq, blank=0):
    out, prev = [], None
    for y in seq:
        if y != blank and y != prev:
            out.append(y)
        prev = y
    return out


def _brute_prefix_probs(lp, n_frames, target):
    """P(collapse(y) starts with target[:s]) for s = 0..S, summing over every y in V^T."""
    V = lp.shape[1]
    probs = [0.0] * (len(target) + 1)
    full = 0.0
    for y in itertools.product(range(V), repeat=n_frames):
        p = math.exp(sum(float(lp[t, v]) for t, v in enumerate(y)))
        lab = _collapse(y)
        for s in range(len(target) + 1):
            if lab[:s] == target[:s]:
                probs[s] += p
        if lab == target:
            full += p
    return probs, full


def _brute_prefix_paths(lp, n_frames, target, forced_blank):
    """Sum over graph-path prefixes that enter the state of target[s-1] at their last frame."""
    S = len(target)
    lab = [0 if e % 2 == 0 else target[e // 2] for e in range(2 * S + 1)]

    def nexts(e):
        out = [e, e + 1] if e + 1 <= 2 * S else [e]
        if e % 2 == 1 and e + 2 <= 2 * S and (not forced_blank or lab[e] != lab[e + 2]):
            out.append(e + 2)
        return out

    sums = [0.0] * (S + 1)
    sums[0] = 1.0

    def walk(path, logp):
        t = len(path)
        e = path[-1]
        if e % 2 == 1 and (t == 1 or path[-2] != e):
            sums[(e + 1) // 2] += math.exp(logp)
        if t == n_frames:
            return
        for f in nexts(e):
            walk(path + [f], logp + float(lp[t, lab[f]]))

    for e0 in ([0, 1] if S > 0 else [0]):
        walk([e0], float(lp[0, lab[e0]]))
    return sums


def test_prefix_scores_match_label_sequence_enumeration():
    V, T = 3, 6
    lp = torch.randn(2, T, V, dtype=torch.float64).log_softmax(-1)
    targets = [[1, 2, 2], [2, 1]]
    lengths = [6, 5]
    out = ctc_prefix_scores(lp, lengths, targets)
    for b, tgt in enumerate(targets):
        probs, full = _brute_prefix_probs(lp[b], lengths[b], tgt)
        expected_prefix = torch.tensor([math.log(p) for p in probs], dtype=torch.float64)
        torch.testing.assert_close(out.prefix[b, : len(tgt) + 1], expected_prefix)
        cond = expected_prefix[1:] - expected_prefix[:-1]
        torch.testing.assert_close(out.labels[b, : len(tgt)], cond)
        torch.testing.assert_close(out.end[b], torch.tensor(math.log(full) - math.log(probs[-1]), dtype=torch.float64))
    assert out.labels[1, 2] == 0 and out.prefix[1, 3] == -math.inf


@pytest.mark.parametrize("forced_blank", [True, False])
def test_prefix_scores_match_graph_path_enumeration(forced_blank):
    V, T = 4, 6
    lp = torch.randn(1, T, V, dtype=torch.float64).log_softmax(-1)
    tgt = [3, 3, 1]
    out = ctc_prefix_scores(lp, [T], [tgt], forced_blank=forced_blank)
    sums = _brute_prefix_paths(lp[0], T, tgt, forced_blank)
    torch.testing.assert_close(out.prefix[0], torch.tensor([math.log(s) for s in sums], dtype=torch.float64))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_label_scores_plus_end_is_ctc_log_likelihood(dtype):
    B, T, V = 4, 30, 7
    lp = torch.randn(B, T, V, dtype=dtype).log_softmax(-1)
    targets = [[1, 2, 2, 3, 6], [4], [], [5, 5, 5]]
    lengths = torch.tensor([30, 17, 9, 22])
    out = ctc_prefix_scores(lp, lengths, targets)
    padded = torch.tensor([[1, 2, 2, 3, 6], [4, 0, 0, 0, 0], [0] * 5, [5, 5, 5, 0, 0]])
    ref = -F.ctc_loss(lp.transpose(0, 1), padded, lengths, torch.tensor([5, 1, 0, 3]), reduction="none")
    tol = dict(rtol=1e-5, atol=1e-4) if dtype == torch.float32 else {}
    torch.testing.assert_close(out.labels.sum(1) + out.end, ref, **tol)
    # without forced blank the chain sums to the full sum over the GradScore topology
    out2 = ctc_prefix_scores(lp, lengths, targets, forced_blank=False)
    ref2 = fsttopo.full_sum(lp, lengths, fsttopo.ctc_graph(targets, forced_blank=False))
    torch.testing.assert_close(out2.labels.sum(1) + out2.end, ref2, **tol)


def test_prefix_scores_gradcheck():
    lp = torch.randn(2, 6, 4, dtype=torch.float64).log_softmax(-1).requires_grad_(True)

    def f(x):
        out = ctc_prefix_scores(x, [6, 4], [[1, 2, 1], [3, 3]])
        return out.labels, out.end

    assert torch.autograd.gradcheck(f, (lp,))


def test_prefix_scores_gradient_of_full_chain_is_ctc_gradient():
    lp = torch.randn(2, 12, 5, dtype=torch.float64).log_softmax(-1).requires_grad_(True)
    targets = [[1, 2, 2], [4, 3]]
    out = ctc_prefix_scores(lp, [12, 10], targets)
    (g,) = torch.autograd.grad((out.labels.sum(1) + out.end).sum(), lp)
    lp2 = lp.detach().requires_grad_(True)
    ref = fsttopo.full_sum(lp2, [12, 10], fsttopo.ctc_graph(targets))
    (g2,) = torch.autograd.grad(ref.sum(), lp2)
    torch.testing.assert_close(g, g2)


@pytest.mark.parametrize("kwargs, match", [
    (dict(targets=[[1, 1, 1]], lengths=[4]), "needs between 5"),
    (dict(targets=[[1, 7]], lengths=[6]), "out of range"),
    (dict(targets=[[1, 0]], lengths=[6]), "blank"),
    (dict(targets=[[1], [2]], lengths=[6]), "label sequences"),
    (dict(targets=[[1]], lengths=[9]), "between"),
    (dict(targets=[[1]], lengths=[2.0]), "integers"),
])
def test_prefix_scores_bad_inputs(kwargs, match):
    lp = torch.randn(1, 6, 4).log_softmax(-1)
    with pytest.raises(ValueError, match=match):
        ctc_prefix_scores(lp, kwargs["lengths"], kwargs["targets"])


def test_prefix_scores_bad_log_probs():
    with pytest.raises(ValueError, match=r"\[B, T, V\]"):
        ctc_prefix_scores(torch.zeros(6, 4), [6], [[1]])
