"""DTW alignment of speech frames to text tokens and interpolation mixup."""

import itertools

import pytest
import torch
import torch.nn.functional as F

from fsttopo.align import cosine_similarity_matrix, dtw_align, dtw_path, interpolation_mixup


def _brute_dtw(sim, T, S):
    """Best assignment over all compositions of T frames into S non-empty consecutive runs."""
    best = None
    for cuts in itertools.combinations(range(1, T), S - 1):
        bounds = (0,) + cuts + (T,)
        tokens = [s for s in range(S) for _ in range(bounds[s], bounds[s + 1])]
        score = sum(float(sim[t, k]) for t, k in enumerate(tokens))
        if best is None or score > best[0]:
            best = (score, tokens)
    return best


@pytest.mark.parametrize("backend", ["torch", "numba"])
def test_dtw_matches_brute_force(backend):
    B, T, S = 4, 8, 4
    sim = torch.randn(B, T, S, dtype=torch.float64)
    t_len, s_len = [8, 6, 5, 7], [4, 3, 1, 7 - 3]
    out = dtw_path(sim, t_len, s_len, backend=backend)
    for b in range(B):
        score, tokens = _brute_dtw(sim[b], t_len[b], s_len[b])
        assert out.scores[b].item() == pytest.approx(score)
        assert out.tokens[b, : t_len[b]].tolist() == tokens
        assert (out.tokens[b, t_len[b]:] == -1).all()
        starts = [tokens.index(s) for s in range(s_len[b])]
        ends = [len(tokens) - tokens[::-1].index(s) for s in range(s_len[b])]
        assert out.starts[b, : s_len[b]].tolist() == starts and out.ends[b, : s_len[b]].tolist() == ends
        assert (out.starts[b, s_len[b]:] == -1).all() and (out.ends[b, s_len[b]:] == -1).all()


def test_dtw_backends_agree_and_paths_are_valid():
    B, T, S, D = 6, 60, 20, 8
    speech, text = torch.randn(B, T, D, dtype=torch.float64), torch.randn(B, S, D, dtype=torch.float64)
    t_len = torch.tensor([60, 41, 20, 33, 59, 25])
    s_len = torch.tensor([20, 7, 20, 1, 13, 19])
    a = dtw_align(speech, text, t_len, s_len, backend="torch")
    b = dtw_align(speech, text, t_len, s_len, backend="numba")
    assert torch.equal(a.tokens, b.tokens)
    torch.testing.assert_close(a.scores, b.scores)
    for i in range(B):
        tok = a.tokens[i, : t_len[i]]
        assert tok[0] == 0 and tok[-1] == s_len[i] - 1
        steps = tok[1:] - tok[:-1]
        assert ((steps == 0) | (steps == 1)).all()  # monotonic, no token skipped
        assert torch.equal(torch.unique(tok), torch.arange(int(s_len[i])))  # every token covered
        segs = a.segments()[i]
        assert [sg.index for sg in segs] == list(range(int(s_len[i])))
        assert sum(sg.num_frames for sg in segs) == t_len[i]
    sim = F.cosine_similarity(speech[:, :, None, :], text[:, None, :, :], dim=-1)
    expected = torch.stack([sim[i, torch.arange(int(t_len[i])), a.tokens[i, : t_len[i]]].sum() for i in range(B)])
    torch.testing.assert_close(a.scores, expected)


def test_cosine_similarity_matrix():
    speech, text = torch.randn(2, 5, 3), torch.randn(2, 4, 3)
    expected = F.cosine_similarity(speech[:, :, None, :], text[:, None, :, :], dim=-1)
    torch.testing.assert_close(cosine_similarity_matrix(speech, text), expected)


def test_segments_carry_labels():
    out = dtw_path(torch.eye(3)[None].repeat_interleave(2, dim=1), [6], [3])
    assert [(sg.label, sg.start, sg.end) for sg in out.segments([[7, 8, 9]])[0]] == [(7, 0, 2), (8, 2, 4), (9, 4, 6)]


def test_interpolation_mixup():
    B, T, S, D = 2, 5, 3, 4
    speech, text = torch.randn(B, T, D, requires_grad=True), torch.randn(B, S, D, requires_grad=True)
    tokens = torch.tensor([[0, 0, 1, 2, 2], [0, 1, 1, -1, -1]])
    ratio = torch.tensor([0.25, 0.6])
    out = interpolation_mixup(speech, text, tokens, ratio)
    for b in range(B):
        for t in range(T):
            k = int(tokens[b, t])
            want = speech[b, t] if k < 0 else (1 - ratio[b]) * speech[b, t] + ratio[b] * text[b, k]
            torch.testing.assert_close(out[b, t], want)
    out.sum().backward()
    torch.testing.assert_close(text.grad[1, 1], torch.full((D,), 2 * 0.6))
    torch.testing.assert_close(interpolation_mixup(speech, text, tokens, 0.0), speech)
    per_frame = interpolation_mixup(speech, text, tokens, torch.ones(B, T))
    torch.testing.assert_close(per_frame[0, 3], text[0, 2])


@pytest.mark.parametrize("call, match", [
    (lambda: dtw_path(torch.zeros(1, 3, 4), [3], [4]), "only 3 frames"),
    (lambda: dtw_path(torch.zeros(1, 3, 2), [3], [0]), "text_lengths"),
    (lambda: dtw_path(torch.zeros(1, 3, 2), [4], [1]), "speech_lengths"),
    (lambda: dtw_path(torch.zeros(3, 2), [3], [1]), r"\[B, T, S\]"),
    (lambda: dtw_path(torch.full((1, 3, 2), float("nan")), [3], [1]), "NaN"),
    (lambda: dtw_path(torch.zeros(1, 3, 2), [3], [1], backend="cuda"), "backend"),
    (lambda: dtw_align(torch.zeros(1, 3, 2), torch.zeros(1, 2, 3), [3], [1]), "share B and D"),
    (lambda: interpolation_mixup(torch.zeros(1, 3, 2), torch.zeros(1, 2, 2), torch.zeros(1, 3, dtype=torch.int64), 1.5), "ratio"),
    (lambda: interpolation_mixup(torch.zeros(1, 3, 2), torch.zeros(1, 2, 2), torch.full((1, 3), 2), 0.5), "tokens"),
    (lambda: interpolation_mixup(torch.zeros(1, 3, 2), torch.zeros(1, 2, 2), torch.zeros(1, 3, dtype=torch.int64),
                                 torch.ones(2)), "ratio"),
])
def test_dtw_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()
