"""Blank-separated output (Eq. 15-17, 21/41) and its fast paths (paper A.6)."""

import pytest
import torch

import fsttopo
from fsttopo.criteria import BlankSeparatedOutput, blank_separated_log_softmax, framewise_ce


def hand_log_probs(z, blank):
    """Eq. 15-17 written out with an explicit list of label columns."""
    V = z.shape[-1]
    labels = [j for j in range(V) if j != blank]
    p_blank = torch.sigmoid(z[..., blank])
    p_labels = torch.softmax(z[..., labels], dim=-1) * (1 - p_blank)[..., None]
    out = torch.empty_like(z)
    out[..., blank] = p_blank
    out[..., labels] = p_labels
    return out.log()


@pytest.mark.parametrize("blank", [0, 3, 6])
def test_log_probs_normalize_and_match_eq_15_17(blank):
    z = torch.randn(2, 5, 7, dtype=torch.float64) * 3
    lp = blank_separated_log_softmax(z, blank)
    torch.testing.assert_close(lp.exp().sum(-1), torch.ones(2, 5, dtype=torch.float64))
    torch.testing.assert_close(lp, hand_log_probs(z, blank))


def eq41(z, v, blank):
    """Gradient of sum_i v_i log p'_i w.r.t. z, paper Eq. 41 (v: a distribution over classes)."""
    V = z.shape[-1]
    labels = [j for j in range(V) if j != blank]
    v_blank = v[..., blank]
    grad = torch.empty_like(z)
    grad[..., blank] = v_blank - torch.sigmoid(z[..., blank])
    soft_target = v[..., labels] / (1 - v_blank)[..., None]
    grad[..., labels] = (soft_target - torch.softmax(z[..., labels], -1)) * (1 - v_blank)[..., None]
    return grad


@pytest.mark.parametrize("blank", [0, 4])
def test_gradient_matches_eq_41_for_a_soft_target(blank):
    z = torch.randn(3, 8, 6, dtype=torch.float64, requires_grad=True)
    v = torch.rand(3, 8, 6, dtype=torch.float64)
    v = v / v.sum(-1, keepdim=True)
    (blank_separated_log_softmax(z, blank) * v).sum().backward()
    torch.testing.assert_close(z.grad, eq41(z.detach(), v, blank))


def test_ctc_gradient_is_eq_21_with_the_soft_alignment():
    B, T, V = 3, 12, 5
    z = torch.randn(B, T, V, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([12, 10, 7])
    graphs = fsttopo.ctc_graph([[1, 2, 2], [3, 4], [1]])
    lp = blank_separated_log_softmax(z, 0)
    fsttopo.full_sum(lp, lengths, graphs).sum().backward()
    v = fsttopo.soft_alignment(lp.detach(), lengths, graphs)
    valid = (torch.arange(T)[None] < lengths[:, None])[..., None]
    expected = torch.where(valid, eq41(z.detach(), v, 0), 0.0)  # Eq. 19: d loglik/dz = Eq. 21
    torch.testing.assert_close(z.grad, expected)


def make_layer(blank, V=40, D=16, seed=0):
    torch.manual_seed(seed)
    layer = BlankSeparatedOutput(D, V, blank=blank).double()
    with torch.no_grad():
        layer.linear.weight.mul_(2.0)
        layer.linear.bias[blank] = -0.5  # a mix of frames above and below p(blank) = 0.5
    return layer


@pytest.mark.parametrize("blank", [0, 17, 39])
def test_fast_greedy_equals_full_greedy(blank):
    layer = make_layer(blank)
    h = torch.randn(4, 50, 16, dtype=torch.float64)
    lengths = torch.tensor([50, 33, 1, 0])
    full_labels, full_lp = layer.greedy_decode(h, lengths, with_log_probs=True, fast=False)
    fast_labels, fast_lp = layer.greedy_decode(h, lengths, with_log_probs=True)
    assert torch.equal(fast_labels, full_labels)
    assert torch.equal(layer.greedy_decode(h, lengths), full_labels)
    torch.testing.assert_close(fast_lp, full_lp)

    # independent reference: argmax of Eq. 15-17 on the linear layer's output, -1 / 0 on padding
    ref = hand_log_probs(h @ layer.linear.weight.detach().T + layer.linear.bias.detach(), blank)
    valid = torch.arange(50)[None] < lengths[:, None]
    best, arg = ref.max(-1)
    assert torch.equal(full_labels, torch.where(valid, arg, -1))
    torch.testing.assert_close(full_lp, torch.where(valid, best, 0.0))
    # the example covers all three cases: p(blank) > 0.5; p(blank) <= 0.5 but blank still best; a label
    p_blank = ref[..., blank].exp()[valid]
    labels = full_labels[valid]
    assert bool((p_blank > 0.5).any())
    assert bool(((p_blank <= 0.5) & (labels == blank)).any())
    assert bool((labels != blank).any())


@pytest.mark.parametrize("blank", [0, 17, 39])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_fast_framewise_ce_equals_full(blank, reduction):
    layer = make_layer(blank)
    B, T, V = 3, 40, 40
    h = torch.randn(B, T, 16, dtype=torch.float64)
    lengths = torch.tensor([40, 25, 9])
    ali = torch.where(torch.rand(B, T) < 0.7, blank, torch.randint(0, V, (B, T)))
    ali = torch.where(torch.arange(T)[None] < lengths[:, None], ali, -1)

    def run(fast):
        layer.zero_grad()
        x = h.clone().requires_grad_()
        loss = layer.framewise_ce(x, ali, lengths, reduction=reduction, fast=fast)
        w = torch.randn(loss.shape, generator=torch.Generator().manual_seed(1), dtype=loss.dtype)
        (loss * w).sum().backward()
        return loss.detach(), x.grad, layer.linear.weight.grad.clone(), layer.linear.bias.grad.clone()

    fast, full = run(True), run(False)
    for a, b in zip(fast, full):
        torch.testing.assert_close(a, b)
    # independent value: -log p' of the target from Eq. 15-17, padding excluded
    ref = -hand_log_probs(h @ layer.linear.weight.detach().T + layer.linear.bias.detach(), blank)
    valid = torch.arange(T)[None] < lengths[:, None]
    per_frame = torch.where(valid, ref.gather(-1, ali.clamp(min=0)[..., None])[..., 0], 0.0)
    expected = {"none": per_frame, "sum": per_frame.sum(), "mean": per_frame.sum() / valid.sum()}[reduction]
    torch.testing.assert_close(fast[0], expected)


def test_module_forward_works_with_framewise_ce_and_any_shape():
    layer = make_layer(2, V=5, D=4)
    h = torch.randn(6, 4, dtype=torch.float64)
    torch.testing.assert_close(layer(h), hand_log_probs(layer.linear(h).detach(), 2))
    assert layer.num_classes == 5
    loss = framewise_ce(layer(h[None]), torch.tensor([[2, 2, 0, 1, 4, 2]]))
    torch.testing.assert_close(loss, layer.framewise_ce(h[None], torch.tensor([[2, 2, 0, 1, 4, 2]])))


def test_blank_separated_errors():
    layer = BlankSeparatedOutput(4, 5)
    with pytest.raises(ValueError, match="num_classes"):
        BlankSeparatedOutput(4, 1)
    with pytest.raises(ValueError, match="blank"):
        BlankSeparatedOutput(4, 5, blank=5)
    with pytest.raises(ValueError, match="blank"):
        blank_separated_log_softmax(torch.zeros(2, 3), blank=-1)
    with pytest.raises(ValueError, match="V >= 2"):
        blank_separated_log_softmax(torch.zeros(2, 1))
    with pytest.raises(ValueError, match=r"\[B, T, D=4\]"):
        layer.greedy_decode(torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match=r"\[B, T, D=4\]"):
        layer.framewise_ce(torch.zeros(3, 4), torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="lengths"):
        layer.greedy_decode(torch.zeros(2, 3, 4), lengths=[3, 4])
    with pytest.raises(ValueError, match=r"alignment\[1, 0\] = 5"):
        layer.framewise_ce(torch.zeros(2, 3, 4), torch.tensor([[0, 1, 2], [5, 0, 0]]))
    with pytest.raises(ValueError, match="alignment must have shape"):
        layer.framewise_ce(torch.zeros(2, 3, 4), torch.zeros(2, 4, dtype=torch.int64), fast=False)
