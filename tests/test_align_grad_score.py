"""Gradient log-norms (Eqs. 22, 49, 50) and GradScore / GradScoreExt alignment (Eqs. 24-25, 43-48)."""

import math

import numpy as np
import pytest
import torch

from fsttopo.align import (
    align_frame_scores,
    ctc_label_scores_fn,
    ctc_prefix_scores,
    grad_score,
    grad_score_ext,
    gradient_alignment,
    gradient_log_norms,
    hybrid_label_scores_fn,
    mask_blank_gradient,
)

# ---------------------------------------------------------------- brute-force references


def _state_paths(S, T):
    """Every state sequence of the GradScore topology: states 0..2S, blank on even states."""
    E = 2 * S + 1

    def nexts(e):
        return [f for f in (e, e + 1, e + 2 if e % 2 == 1 else None) if f is not None and f < E]

    def walk(path):
        if len(path) == T:
            if path[-1] in (2 * S - 1, 2 * S):
                yield list(path)
            return
        for f in nexts(path[-1]):
            yield from walk(path + [f])

    for e0 in (0, 1):
        yield from walk([e0])


def _best_path(frame_score, S, T):
    """``frame_score(state, t)`` -> best (score, path) by enumeration."""
    return max(((sum(frame_score(e, t) for t, e in enumerate(p)), p) for p in _state_paths(S, T)),
               key=lambda x: x[0])


def _log_softmax_list(row):
    m = max(row)
    lse = m + math.log(sum(math.exp(v - m) for v in row))
    return [v - lse for v in row]


def _ext_scores(G, T):
    """GradScoreExt per (state, frame) from Eqs. 43-48 in plain Python + numpy.percentile."""
    S = len(G)
    Gp = [_log_softmax_list(G[s][:T]) for s in range(S)]
    g = [math.log(sum(math.exp(Gp[s][t]) for s in range(S)) / S) for t in range(T)]
    flip = float(np.percentile(np.array(g), 60.0))
    blank = [2 * flip - v for v in g]
    out = {}
    for t in range(T):
        col = _log_softmax_list([blank[t]] + [Gp[s][t] for s in range(S)])
        for e in range(2 * S + 1):
            out[e, t] = col[0] if e % 2 == 0 else col[1 + e // 2]
    return out


# ---------------------------------------------------------------- GradScore / GradScoreExt DP


@pytest.mark.parametrize("targets", [[[4, 7], [2, 2, 2]], [[3, 3], [5]]])
def test_grad_score_viterbi_matches_brute_force(targets):
    B, S, T = 2, 3, 7
    G = torch.randn(B, S, T, dtype=torch.float64) * 2
    lengths = [7, 6]
    label_lengths = [len(t) for t in targets]
    out = align_frame_scores(grad_score(G, lengths, label_lengths, blank_score=-1.5), lengths, targets, blank=0)
    for b in range(B):
        n, L = label_lengths[b], lengths[b]
        lsm = [_log_softmax_list(G[b, s, :L].tolist()) for s in range(n)]
        best, path = _best_path(lambda e, t: -1.5 if e % 2 == 0 else lsm[e // 2][t], n, L)
        assert out.scores[b].item() == pytest.approx(best)
        tokens = [-1 if e % 2 == 0 else e // 2 for e in path]
        assert out.tokens[b, :L].tolist() == tokens
        assert out.labels[b, :L].tolist() == [0 if k < 0 else targets[b][k] for k in tokens]
        assert (out.labels[b, L:] == -1).all()
        spans = {}
        for t, k in enumerate(tokens):
            if k >= 0:
                spans.setdefault(k, [t, t + 1])[1] = t + 1
        assert [(sg.index, sg.label, sg.start, sg.end) for sg in out.segments[b]] == \
            [(k, targets[b][k], a, e) for k, (a, e) in sorted(spans.items())]


def test_grad_score_ext_matrix_and_viterbi_match_reference():
    B, S, T = 2, 3, 8
    G = torch.randn(B, S, T, dtype=torch.float64) * 3
    lengths, targets = [8, 6], [[1, 2, 3], [4, 4]]
    fs = grad_score_ext(G, lengths, [3, 2])
    out = align_frame_scores(fs, lengths, targets)
    for b in range(B):
        n, L = len(targets[b]), lengths[b]
        ref = _ext_scores(G[b, :n].tolist(), L)
        for (e, t), v in ref.items():
            assert fs[b, t, 0 if e % 2 == 0 else 1 + e // 2].item() == pytest.approx(v)
        best, path = _best_path(lambda e, t: ref[e, t], n, L)
        assert out.scores[b].item() == pytest.approx(best)
        assert out.tokens[b, :L].tolist() == [-1 if e % 2 == 0 else e // 2 for e in path]
    assert torch.isinf(fs[1, 6:]).all() and torch.isinf(fs[1, :, 3]).all()


def test_grad_score_matrix_values():
    G = torch.tensor([[[0.0, math.log(3.0), -math.inf]]])
    fs = grad_score(G, [3], [1], blank_score=-6.0)
    torch.testing.assert_close(fs[0, :, 0], torch.full((3,), -6.0))
    torch.testing.assert_close(fs[0, :, 1], torch.tensor([math.log(0.25), math.log(0.75), -math.inf]))
    dead = grad_score(torch.full((1, 1, 4), -math.inf), [4], [1])  # zero gradient everywhere: uniform
    torch.testing.assert_close(dead[0, :, 1], torch.full((4,), -math.log(4.0)))


def test_empty_targets_align_all_blank():
    out = align_frame_scores(torch.zeros(1, 4, 1), [4], [[]], blank=2)
    assert out.labels.tolist() == [[2, 2, 2, 2]] and out.segments == [[]]


@pytest.mark.parametrize("call, match", [
    (lambda: grad_score(torch.zeros(2, 3), [3], [2]), r"\[B, S, T\]"),
    (lambda: grad_score(torch.zeros(1, 2, 3), [4], [2]), "lengths"),
    (lambda: grad_score(torch.zeros(1, 2, 3), [3], [3]), "label_lengths"),
    (lambda: grad_score(torch.full((1, 2, 3), math.nan), [3], [2]), "NaN"),
    (lambda: grad_score_ext(torch.zeros(1, 2, 3), [3], [2], percentile=120), "percentile"),
    (lambda: grad_score_ext(torch.zeros(1, 2, 3), [3], [0]), "at least one label"),
    (lambda: align_frame_scores(torch.zeros(1, 3, 2), [3], [[1, 2]]), "token columns"),
    (lambda: align_frame_scores(torch.zeros(1, 3, 3), [1], [[1, 2]]), "no path"),
    (lambda: gradient_alignment(lambda x: x, torch.zeros(1, 3, 2), [3], [[1]], variant="x"), "variant"),
])
def test_grad_score_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- gradient log-norms


@pytest.mark.parametrize("p", [0.1, 2.0, math.inf])
def test_gradient_log_norms_of_linear_scores(p):
    B, T, D, S = 2, 5, 3, 4
    W = torch.randn(S, T, dtype=torch.float64)
    c = torch.tensor([0.5, -2.0, 1.5], dtype=torch.float64)
    x = torch.randn(B, T, D, dtype=torch.float64)
    G = gradient_log_norms(lambda x: torch.einsum("btd,st,d->bs", x, W, c), x, [5, 3], [4, 2], p=p)
    c_norm = c.abs().max() if math.isinf(p) else c.abs().pow(p).sum().pow(1 / p)
    expected = W.abs().log() + c_norm.log()
    torch.testing.assert_close(G[0], expected)
    torch.testing.assert_close(G[1, :2, :3], expected[:2, :3])
    assert torch.isinf(G[1, 2:]).all() and torch.isinf(G[1, :, 3:]).all()


def _conv_ctc_model(D, V):
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Conv1d(D, 16, 3, padding=1), torch.nn.Tanh(),
                              torch.nn.Conv1d(16, V, 3, padding=1)).double()
    return lambda x: net(x.transpose(1, 2)).transpose(1, 2)


@pytest.mark.parametrize("mask_blank_grad, forced_blank", [(True, True), (False, False)])
def test_batched_vjp_equals_per_label_backward(mask_blank_grad, forced_blank):
    B, T, D, V = 3, 14, 4, 6
    x = torch.randn(B, T, D, dtype=torch.float64)
    targets = [[1, 2, 2, 5], [3], [4, 4]]
    lengths = [14, 9, 11]
    fn = ctc_label_scores_fn(_conv_ctc_model(D, V), lengths, targets, mask_blank_grad=mask_blank_grad,
                             forced_blank=forced_blank)
    G_loop = gradient_log_norms(fn, x, lengths, [4, 1, 2], batched=False)
    # independent per-label reference: one torch.autograd.grad call per (utterance, label)
    for b, tgt in enumerate(targets):
        for s in range(len(tgt)):
            xb = x.clone().requires_grad_(True)
            (g,) = torch.autograd.grad(fn(xb)[b, s], xb)
            ref = g[b, : lengths[b]].abs().pow(0.1).sum(-1).log() / 0.1
            torch.testing.assert_close(G_loop[b, s, : lengths[b]], ref)
    for chunk in (None, 3):
        G = gradient_log_norms(fn, x, lengths, [4, 1, 2], chunk_size=chunk)
        assert torch.equal(torch.isinf(G), torch.isinf(G_loop))
        fin = torch.isfinite(G)
        torch.testing.assert_close(G[fin], G_loop[fin])


def test_mask_blank_gradient_zeroes_only_blank_column():
    z = torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 5, 4, dtype=torch.float64)
    (g_plain,) = torch.autograd.grad((z.log_softmax(-1) * w).sum(), z)
    out = mask_blank_gradient(z, blank=2)
    assert torch.equal(out, z)
    (g_mask,) = torch.autograd.grad((out.log_softmax(-1) * w).sum(), z)
    expected = g_plain.clone()
    expected[..., 2] = 0
    torch.testing.assert_close(g_mask, expected)


def test_ctc_and_hybrid_score_functions():
    B, T, V = 2, 8, 5
    x = torch.randn(B, T, V, dtype=torch.float64)
    targets = [[1, 2], [3, 3]]
    ctc = ctc_label_scores_fn(lambda z: z, [8, 6], targets)
    expected = ctc_prefix_scores(x.log_softmax(-1), [8, 6], targets).labels
    torch.testing.assert_close(ctc(x), expected)
    aed_w = torch.randn(B, 2, T, V, dtype=torch.float64)
    aed = lambda z: (aed_w * z[:, None]).sum((2, 3))  # noqa: E731 - any callable x -> [B, S]
    hyb = hybrid_label_scores_fn(ctc, aed, ctc_weight=0.3, aed_weight=0.7)
    torch.testing.assert_close(hyb(x), 0.3 * expected + 0.7 * aed(x))
    # Eq. 50 with lambda_CTC = 0: the AED gradient only, here d/dx = aed_w (p = 2 norm over V)
    only_aed = hybrid_label_scores_fn(ctc, aed, ctc_weight=0.0, aed_weight=1.0)
    G = gradient_log_norms(only_aed, x, [8, 6], [2, 2], p=2.0)
    torch.testing.assert_close(G[0], aed_w[0].norm(dim=-1).log())


@pytest.mark.parametrize("call, match", [
    (lambda: gradient_log_norms(lambda x: x[:, :, 0], torch.zeros(2, 3, 1), [3, 3], [1, 1]), r"\[B=2, S=1\]"),
    (lambda: gradient_log_norms(lambda x: x, torch.zeros(2, 3, 1), [3, 3], [1, 1], p=0.0), "p must"),
    (lambda: gradient_log_norms(lambda x: x, torch.zeros(2, 3, 1), [3, 4], [1, 1]), "lengths"),
    (lambda: gradient_log_norms(lambda x: x, torch.zeros(2, 3, 1), [3, 3], [1]), "label_lengths"),
    (lambda: gradient_log_norms(lambda x: x, torch.zeros(2, 3, 1, dtype=torch.int64), [3, 3], [1, 1]), "floating"),
    (lambda: gradient_log_norms(lambda x: x, torch.zeros(2, 3, 1), [3, 3], [1, 1], chunk_size=0), "chunk_size"),
])
def test_gradient_log_norms_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- end to end


@pytest.mark.parametrize("variant", ["GradScore", "GradScoreExt"])
def test_gradient_alignment_finds_planted_tokens(variant):
    """A frame-local "model" (logits = x) with planted label spans.

    The prefix score of a_s depends only on the frames up to a_s's first frame (later frames are
    summed out), and it is most sensitive at that onset frame: every segment must contain the
    onset of its planted span.
    """
    T, V = 24, 5
    targets = [[1, 3, 2, 4]]
    planted = [(3, 6), (8, 11), (13, 16), (18, 21)]
    x = torch.full((1, T, V), -4.0, dtype=torch.float64)
    x[0, :, 0] = 4.0
    for (a, e), lab in zip(planted, targets[0]):
        x[0, a:e, 0], x[0, a:e, lab] = -4.0, 4.0
    fn = ctc_label_scores_fn(lambda z: z, [T], targets)
    out = gradient_alignment(fn, x, [T], targets, variant=variant, p=1.0)
    got = [(sg.start, sg.end) for sg in out.segments[0]]
    assert [sg.label for sg in out.segments[0]] == targets[0]
    for (a, _), (ga, ge) in zip(planted, got):
        assert ga <= a < ge
