"""Per-frame paths to token and word segments."""

import torch

import fsttopo


def peaked(labels, V):
    """log-probs that make ``labels`` the clearly best frame sequence."""
    lp = torch.full((1, len(labels), V), -20.0)
    lp[0, torch.arange(len(labels)), torch.tensor(labels)] = 0.0
    return lp


def test_ctc_without_forced_blank_keeps_equal_neighbours_apart():
    g = fsttopo.ctc_graph([[1, 1]], forced_blank=False)
    res = fsttopo.viterbi(peaked([0, 1, 1, 0], 3), [4], g)
    assert res.labels[0].tolist() == [0, 1, 1, 0]
    S = fsttopo.Segment
    assert fsttopo.path_segments(res, g)[0] == [S(0, 1, 1, 2), S(1, 1, 2, 3)]


def test_hmm_word_and_token_segments():
    g = fsttopo.hmm_graph([[[1, 2], [3]]], silence=0)
    res = fsttopo.viterbi(peaked([0, 1, 1, 2, 0, 3, 3, 0], 4), [8], g)
    S = fsttopo.Segment
    assert fsttopo.path_segments(res, g, "token")[0] == [S(0, 1, 1, 3), S(1, 2, 3, 4), S(2, 3, 5, 7)]
    assert fsttopo.path_segments(res, g, "word")[0] == [S(0, 1, 1, 4), S(1, 3, 5, 7)]
    assert S(1, 3, 5, 7).to_seconds(0.04) == (0.2, 0.28)


def test_segments_respect_lengths_and_infeasible():
    g = fsttopo.ctc_graph([[1], [1, 2, 3]])
    lp = peaked([0, 1, 1, 0, 0], 4).repeat(2, 1, 1)
    res = fsttopo.viterbi(lp, [3, 2], g, allow_infeasible=True)
    segs = fsttopo.path_segments(res, g)
    assert segs[0] == [fsttopo.Segment(0, 1, 1, 3)]
    assert segs[1] == []


def test_group_segments_merges_tokens_into_words():
    g = fsttopo.ctc_graph([[1, 2, 3]])
    res = fsttopo.viterbi(peaked([1, 0, 2, 0, 3, 3], 4), [6], g)
    tokens = fsttopo.path_segments(res, g)[0]
    S = fsttopo.Segment
    assert fsttopo.align.group_segments(tokens, [2, 1]) == [S(0, 1, 0, 3), S(1, 3, 4, 6)]
    import pytest
    with pytest.raises(ValueError, match="do not match"):
        fsttopo.align.group_segments(tokens, [2, 2])
    # a token split over two runs still gives one word from its first to its last frame
    split = [S(0, 1, 1, 3), S(1, 2, 5, 6), S(0, 1, 7, 8), S(2, 3, 9, 10)]
    assert fsttopo.align.group_segments(split, [2, 1]) == [S(0, 1, 1, 8), S(1, 3, 9, 10)]
