"""The engine on the standard CTC topology against torch's ctc_loss and torchaudio's forced_align."""

import pytest
import torch
import torchaudio.functional as AF

import fsttopo


def random_batch(B=6, T=40, V=7, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(T // 2, T + 1, (B,), generator=g)
    lengths[0] = T
    targets = []
    for b in range(B):
        S = int(torch.randint(1, int(lengths[b]) // 3 + 1, (1,), generator=g))
        seq = torch.randint(1, V, (S,), generator=g).tolist()
        if S >= 2:
            seq[1] = seq[0]  # always include a repeated label
        targets.append(seq)
    logits = torch.randn(B, T, V, generator=g, dtype=dtype) * 2
    return logits, lengths, targets


def torch_ctc_loglik(log_probs, lengths, targets):
    flat = torch.tensor(sum(targets, []))
    tl = torch.tensor([len(t) for t in targets])
    return -torch.nn.functional.ctc_loss(log_probs.transpose(0, 1), flat, lengths, tl,
                                         reduction="none", zero_infinity=False)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_full_sum_equals_ctc_loss(backend, seed):
    logits, lengths, targets = random_batch(seed=seed)
    x1 = logits.clone().requires_grad_()
    x2 = logits.clone().requires_grad_()
    ours = fsttopo.full_sum(x1.log_softmax(-1), lengths, fsttopo.ctc_graph(targets), backend=backend)
    ref = torch_ctc_loglik(x2.log_softmax(-1), lengths, targets)
    torch.testing.assert_close(ours, ref, atol=1e-4, rtol=1e-5)
    w = torch.randn(len(targets))  # a weighted sum checks the per-utterance gradient scaling too
    (ours * w).sum().backward()
    (ref * w).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, atol=1e-4, rtol=1e-4)


def test_soft_alignment_is_minus_gradient_and_sums_to_one(backend):
    logits, lengths, targets = random_batch(dtype=torch.float64)
    lp = logits.log_softmax(-1).requires_grad_()
    graphs = fsttopo.ctc_graph(targets)
    ll = fsttopo.full_sum(lp, lengths, graphs, backend=backend)
    (grad,) = torch.autograd.grad(-ll.sum(), lp)
    soft = fsttopo.soft_alignment(lp.detach(), lengths, graphs, backend=backend)
    torch.testing.assert_close(soft, -grad)
    sums = soft.sum(-1)
    valid = torch.arange(lp.shape[1])[None] < lengths[:, None]
    torch.testing.assert_close(sums[valid], torch.ones(int(valid.sum()), dtype=torch.float64))
    assert torch.all(sums[~valid] == 0)


@pytest.mark.parametrize("seed", range(4))
def test_viterbi_equals_forced_align(backend, seed):
    logits, lengths, targets = random_batch(seed=seed)
    lp = logits.log_softmax(-1)
    res = fsttopo.viterbi(lp, lengths, fsttopo.ctc_graph(targets), backend=backend)
    for b, seq in enumerate(targets):
        L = int(lengths[b])
        ali, scores = AF.forced_align(lp[b:b + 1, :L], torch.tensor([seq]), blank=0)
        assert res.labels[b, :L].tolist() == ali[0].tolist()
        assert torch.all(res.labels[b, L:] == -1)
        torch.testing.assert_close(res.scores[b], scores.sum(), atol=1e-4, rtol=1e-5)


def test_zero_infinity_and_infeasible(backend):
    lp = torch.randn(2, 5, 4).log_softmax(-1).requires_grad_()
    targets = [[1, 1, 1], [1, 2]]  # first needs 5 frames with forced blanks: feasible; make it 6
    lengths = torch.tensor([4, 5])
    graphs = fsttopo.ctc_graph(targets)
    ll = fsttopo.full_sum(lp, lengths, graphs, backend=backend)
    assert ll[0] == -float("inf") and torch.isfinite(ll[1])
    ref = torch_ctc_loglik(lp, lengths, targets)
    assert ref[0] == -float("inf")
    llz = fsttopo.full_sum(lp, lengths, graphs, zero_infinity=True, backend=backend)
    assert llz[0] == 0 and llz[1] == ll[1]
    (g,) = torch.autograd.grad(llz.sum(), lp)
    assert torch.all(g[0] == 0) and torch.isfinite(g).all()
    with pytest.raises(ValueError, match=r"utterance\(s\) \[0\]"):
        fsttopo.viterbi(lp, lengths, graphs, backend=backend)
    res = fsttopo.viterbi(lp, lengths, graphs, allow_infeasible=True, backend=backend)
    assert res.scores[0] == -float("inf") and torch.all(res.labels[0] == -1)
    assert torch.all(res.labels[1] >= 0)
