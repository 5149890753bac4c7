"""Normalized-gradient full-sum loss (Eq. 11) against independently computed gradients."""

import pytest
import torch
import torch.nn.functional as F

import fsttopo
from fsttopo.criteria import normalized_gradient_loss


def ctc_batch(seed=0, B=4, T=30, V=6):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([T, T - 5, T - 11, 12])[:B]
    targets = [[1, 2, 2, 3], [4, 4], [5, 1, 3], [2]][:B]
    logits = torch.randn(B, T, V, generator=g, dtype=torch.float64) * 2
    return logits, lengths, targets


def ctc_loss_and_grad(logits, lengths, targets):
    """Loss [B] and d(sum loss)/d logits from torch's own ctc_loss (independent of fsttopo)."""
    z = logits.clone().requires_grad_()
    loss = F.ctc_loss(z.log_softmax(-1).transpose(0, 1), torch.tensor(sum(targets, [])), lengths,
                      torch.tensor([len(t) for t in targets]), reduction="none")
    loss.sum().backward()
    return loss.detach(), z.grad


def hand_scale(v, lengths, v_min, v_max, average):
    """clamp((v_bar * |Y|)^-1, v_min, v_max), v_bar the mean of v over valid frames (Eq. 10-11)."""
    V = v.shape[-1]
    if average == "batch":
        v_bar = v.sum((0, 1)) / lengths.sum()
        return (1 / (v_bar * V)).clamp(v_min, v_max)[None, None, :]
    v_bar = v.sum(1) / lengths[:, None]
    return (1 / (v_bar * V)).clamp(v_min, v_max)[:, None, :]


@pytest.mark.parametrize("average", ["batch", "sequence"])
@pytest.mark.parametrize("v_min,v_max", [(0.5, 1.1), (0.2, 3.0)])
def test_gradient_is_p_minus_v_times_scale(average, v_min, v_max):
    logits, lengths, targets = ctc_batch()
    ref_loss, ref_grad = ctc_loss_and_grad(logits, lengths, targets)  # = p - v on valid frames
    valid = (torch.arange(logits.shape[1])[None] < lengths[:, None])[..., None]
    p = logits.softmax(-1)
    # v = p - grad; clamp the round-off (|x| ~ 1e-14) of classes outside the transcript to exact 0
    v = torch.where(valid, (p - ref_grad).clamp(min=0.0), 0.0)
    expected = torch.where(valid, (p - v) * hand_scale(v, lengths, v_min, v_max, average), 0.0)

    z = logits.clone().requires_grad_()
    loss = normalized_gradient_loss(z, lengths, fsttopo.ctc_graph(targets), v_min=v_min, v_max=v_max,
                                    average=average)
    torch.testing.assert_close(loss.detach(), ref_loss)
    loss.sum().backward()
    torch.testing.assert_close(z.grad, expected)
    # the clamp is active on some classes and not on others in this example
    scale = hand_scale(v, lengths, v_min, v_max, average)
    assert bool(((scale > v_min) & (scale < v_max)).any()) and bool((scale == v_max).any())


def test_unit_clamp_gives_the_plain_gradient():
    logits, lengths, targets = ctc_batch(seed=3)
    ref_loss, ref_grad = ctc_loss_and_grad(logits, lengths, targets)
    z = logits.clone().requires_grad_()
    loss = normalized_gradient_loss(z, lengths, fsttopo.ctc_graph(targets), v_min=1.0, v_max=1.0)
    weights = torch.tensor([1.0, -0.5, 2.0, 0.25], dtype=torch.float64)
    (loss * weights).sum().backward()
    torch.testing.assert_close(loss.detach(), ref_loss)
    z2 = logits.clone().requires_grad_()
    ((-fsttopo.full_sum(z2.log_softmax(-1), lengths, fsttopo.ctc_graph(targets))) * weights).sum().backward()
    torch.testing.assert_close(z.grad, z2.grad)
    torch.testing.assert_close(z.grad[0], ref_grad[0])  # weight 1 on utterance 0


def test_hmm_topology_with_scales_uses_the_scaled_soft_alignment():
    torch.manual_seed(2)
    B, T, V = 3, 16, 5
    logits = torch.randn(B, T, V, dtype=torch.float64)
    lengths = torch.tensor([16, 13, 9])
    graphs = fsttopo.hmm_graph([[[1, 2], [3]], [[4]], [[2, 2]]], silence=0, transitions=fsttopo.Transitions())
    log_prior = torch.tensor([0.4, 0.1, 0.2, 0.2, 0.1], dtype=torch.float64).log()
    kw = dict(posterior_scale=0.7, log_prior=log_prior, prior_scale=0.3, transition_scale=0.5)
    v = fsttopo.soft_alignment(logits.log_softmax(-1), lengths, graphs, **kw)
    valid = (torch.arange(T)[None] < lengths[:, None])[..., None]
    scale = hand_scale(v, lengths, 0.5, 1.1, "sequence")
    expected = torch.where(valid, 0.7 * (logits.softmax(-1) - v) * scale, 0.0)

    z = logits.clone().requires_grad_()
    loss = normalized_gradient_loss(z, lengths, graphs, average="sequence", reduction="sum", **kw)
    loss.backward()
    torch.testing.assert_close(z.grad, expected)
    ref = -fsttopo.full_sum(logits.log_softmax(-1), lengths, graphs, **kw).sum()
    torch.testing.assert_close(loss.detach(), ref)


def test_infeasible_utterance_and_reductions():
    logits, lengths, targets = ctc_batch(B=2)
    lengths = torch.tensor([30, 3])
    targets = [[1, 2], [3, 3, 4]]  # needs 4 frames (forced blank between the 3s) but has 3
    graphs = fsttopo.ctc_graph(targets)
    z = logits.clone().requires_grad_()
    loss = normalized_gradient_loss(z, lengths, graphs)
    assert torch.isinf(loss[1]) and torch.isfinite(loss[0])
    loss[0].backward()
    assert torch.all(z.grad[1] == 0)
    zeroed = normalized_gradient_loss(logits, lengths, graphs, zero_infinity=True, reduction="sum")
    torch.testing.assert_close(zeroed, loss[0].detach())
    feasible = normalized_gradient_loss(logits, lengths, fsttopo.ctc_graph([[1, 2], [3]]))
    torch.testing.assert_close(
        normalized_gradient_loss(logits, lengths, fsttopo.ctc_graph([[1, 2], [3]]), reduction="mean"),
        feasible.mean())


def test_normalized_gradient_errors():
    logits, lengths, targets = ctc_batch()
    graphs = fsttopo.ctc_graph(targets)
    with pytest.raises(ValueError, match=r"\[B, T, V\]"):
        normalized_gradient_loss(logits[0], lengths, graphs)
    with pytest.raises(ValueError, match="v_min"):
        normalized_gradient_loss(logits, lengths, graphs, v_min=2.0, v_max=1.0)
    with pytest.raises(ValueError, match="average"):
        normalized_gradient_loss(logits, lengths, graphs, average="epoch")
    with pytest.raises(ValueError, match="reduction"):
        normalized_gradient_loss(logits, lengths, graphs, reduction="max")
    with pytest.raises(ValueError, match="lengths"):
        normalized_gradient_loss(logits, torch.tensor([30, 30, 30, 31]), graphs)
    with pytest.raises(ValueError, match="label id"):
        normalized_gradient_loss(logits[..., :4], lengths, graphs)
    with pytest.raises(ValueError, match="detach"):
        normalized_gradient_loss(logits, lengths, graphs, log_prior=torch.zeros(6, dtype=torch.float64,
                                 requires_grad=True), prior_scale=1.0)
