"""Framewise CE (Eq. 12-14) and the alignment-time blank penalty (Table 14)."""

import pytest
import torch
import torch.nn.functional as F
from reference import brute_viterbi

import fsttopo
from fsttopo.criteria import apply_blank_penalty, framewise_ce, label_counts, log_prior_from_counts


def batch(B=3, T=10, V=5):
    logits = torch.randn(B, T, V, dtype=torch.float64)
    lengths = torch.tensor([T, 7, 4])[:B]
    ali = torch.randint(0, V, (B, T))
    valid = torch.arange(T)[None] < lengths[:, None]
    return logits, lengths, torch.where(valid, ali, -1), valid


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_framewise_ce_equals_torch_cross_entropy(reduction):
    logits, lengths, ali, valid = batch()
    lp = torch.where(valid[..., None], logits.log_softmax(-1), float("nan"))  # padding may be NaN
    ours = framewise_ce(lp, ali, lengths, reduction=reduction)
    per_frame = F.cross_entropy(logits.transpose(1, 2), ali, ignore_index=-1, reduction="none")
    expected = {"sum": per_frame.sum(), "mean": per_frame[valid].mean(), "none": per_frame}[reduction]
    torch.testing.assert_close(ours, expected)


def test_framewise_gradient_is_p_minus_onehot():
    logits, lengths, ali, valid = batch()
    z = logits.clone().requires_grad_()
    framewise_ce(z.log_softmax(-1), ali, lengths, reduction="sum").backward()
    onehot = F.one_hot(ali.clamp(min=0), 5).to(z.dtype)
    expected = torch.where(valid[..., None], logits.softmax(-1) - onehot, 0.0)  # Eq. 13-14
    torch.testing.assert_close(z.grad, expected)


def test_count_prior_is_the_average_framewise_target():
    _, lengths, ali, valid = batch()
    prior = log_prior_from_counts(label_counts(ali, 5, lengths), smoothing=0.0)
    onehot = F.one_hot(ali[valid], 5).double()  # v' of Eq. 14 on every valid frame
    torch.testing.assert_close(prior, onehot.mean(0).log().float())


def test_blank_penalty_values_and_renormalized_equivalence():
    logits = torch.randn(2, 6, 4, dtype=torch.float64)
    lp = logits.log_softmax(-1)
    out = apply_blank_penalty(lp, 3.0, blank=2)
    expected = lp.clone()
    expected[..., 2] -= 3.0
    torch.testing.assert_close(out, expected)
    # the paper's blank *logit* shift -3 (renormalized) gives the same Viterbi path and soft alignment
    shifted = logits.clone()
    shifted[..., 2] -= 3.0
    shifted = shifted.log_softmax(-1)
    lengths = torch.tensor([6, 5])
    graphs = fsttopo.ctc_graph([[1, 3], [1]], blank=2)
    a = fsttopo.viterbi(out, lengths, graphs)
    b = fsttopo.viterbi(shifted, lengths, graphs)
    assert torch.equal(a.labels, b.labels)
    torch.testing.assert_close(fsttopo.soft_alignment(out, lengths, graphs),
                               fsttopo.soft_alignment(shifted, lengths, graphs))


def test_blank_penalty_with_prior_in_viterbi_matches_brute_force():
    torch.manual_seed(3)
    lp = (torch.randn(1, 7, 4, dtype=torch.float64) * 2).log_softmax(-1)
    graphs = fsttopo.ctc_graph([[1, 2, 2]])
    prior = torch.tensor([0.7, 0.1, 0.1, 0.1], dtype=torch.float64).log()
    penalized = apply_blank_penalty(lp, 2.0)
    res = fsttopo.viterbi(penalized, [7], graphs, log_prior=prior, prior_scale=1.0)
    score, labels = brute_viterbi(graphs[0], penalized[0], log_prior=prior, prior_scale=1.0)
    assert res.labels[0].tolist() == labels
    torch.testing.assert_close(res.scores[0].item(), score)


def test_larger_blank_penalty_never_adds_blank_frames():
    torch.manual_seed(4)
    logits = torch.randn(3, 40, 6, dtype=torch.float64)
    logits[..., 0] += 3.0  # a peaky, blank-dominated model
    lp = logits.log_softmax(-1)
    lengths = torch.tensor([40, 35, 30])
    graphs = fsttopo.ctc_graph([[1, 2, 3], [4, 4], [5, 1, 2, 3]])
    blanks = [int((fsttopo.viterbi(apply_blank_penalty(lp, c), lengths, graphs).labels == 0).sum())
              for c in (0.0, 2.0, 5.0, 10.0)]
    assert blanks == sorted(blanks, reverse=True) and blanks[0] > blanks[-1]


def test_framewise_and_penalty_errors():
    logits, lengths, ali, valid = batch()
    lp = logits.log_softmax(-1)
    with pytest.raises(ValueError, match=r"alignment\[0, 0\] = 7"):
        framewise_ce(lp, torch.where(torch.arange(10) == 0, 7, ali), lengths)
    with pytest.raises(ValueError, match=r"alignment\[1, 7\] = -1"):
        framewise_ce(lp, ali, None)  # -1 on a frame that lengths=None makes valid
    with pytest.raises(ValueError, match="alignment must have shape"):
        framewise_ce(lp, ali[:, :5], lengths)
    with pytest.raises(ValueError, match="integer"):
        framewise_ce(lp, ali.double(), lengths)
    with pytest.raises(ValueError, match="lengths"):
        framewise_ce(lp, ali, [10, 11, 2])
    with pytest.raises(ValueError, match="reduction"):
        framewise_ce(lp, ali, lengths, reduction="avg")
    with pytest.raises(ValueError, match="blank"):
        apply_blank_penalty(lp, 1.0, blank=5)
    with pytest.raises(ValueError, match="finite"):
        apply_blank_penalty(lp, float("inf"))
