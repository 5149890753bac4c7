"""CUDA runs equal the CPU runs (skipped without a GPU)."""

import pytest
import torch

import fsttopo

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")


def test_full_sum_viterbi_soft_alignment_on_cuda():
    graphs = fsttopo.hmm_graph([[[1, 2], [3]], [[2, 2, 1]]], silence=0, transitions=fsttopo.Transitions())
    lp = torch.randn(2, 30, 5, dtype=torch.float64).log_softmax(-1)
    prior = torch.randn(5, dtype=torch.float64).log_softmax(-1)
    kw = dict(log_prior=prior, prior_scale=0.3, posterior_scale=0.8, transition_scale=0.5)
    lens = torch.tensor([30, 21])
    x = lp.clone().requires_grad_()
    xc = lp.cuda().requires_grad_()
    ll = fsttopo.full_sum(x, lens, graphs, **kw)
    llc = fsttopo.full_sum(xc, lens.cuda(), graphs, **{**kw, "log_prior": prior.cuda()})
    torch.testing.assert_close(llc.cpu(), ll)
    ll.sum().backward()
    llc.sum().backward()
    torch.testing.assert_close(xc.grad.cpu(), x.grad)
    v = fsttopo.viterbi(lp, lens, graphs, **kw)
    vc = fsttopo.viterbi(lp.cuda(), lens, graphs, **{**kw, "log_prior": prior.cuda()})
    assert torch.equal(v.labels, vc.labels)
    ctc = fsttopo.ctc_graph([[1, 2, 2], [3]])
    torch.testing.assert_close(
        fsttopo.soft_alignment(lp.cuda(), lens, ctc).cpu(), fsttopo.soft_alignment(lp, lens, ctc))
