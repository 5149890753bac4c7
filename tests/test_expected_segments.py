"""State posteriors and posterior-mean segment boundaries against path enumeration."""

import math

import pytest
import torch

import fsttopo
from fsttopo.resources import EXAMPLE_DIR
from reference import enumerate_paths, path_scores


def brute_expectations(fsa, log_probs, level, **scales):
    """Per-frame state posteriors ``[T, N]`` and the expected ``(start, end)`` of every ``level``
    index, by weighting every path's own segments with its posterior probability."""
    T = log_probs.shape[0]
    paths = enumerate_paths(fsa, T)
    scores = [s for s, _ in path_scores(fsa, log_probs, **scales)]
    top = max(scores)
    probs = [math.exp(s - top) for s in scores]
    norm = sum(probs)
    occ = torch.zeros(T, fsa.num_states, dtype=torch.float64)
    index = fsa.aux[level].tolist()
    dst = fsa.arcs[:, 1].tolist()
    num = max(index) + 1
    bounds = torch.zeros(num, 2, dtype=torch.float64)
    squares = torch.zeros(num, 2, dtype=torch.float64)
    for (frame_arcs, _), p in zip(paths, probs):
        p /= norm
        for t, a in enumerate(frame_arcs):
            occ[t, dst[a]] += p
        for k in range(num):
            frames = [t for t, a in enumerate(frame_arcs) if index[a] == k]
            bounds[k, 0] += p * frames[0]
            bounds[k, 1] += p * (frames[-1] + 1)
            squares[k, 0] += p * frames[0] ** 2
            squares[k, 1] += p * (frames[-1] + 1) ** 2
    return occ, bounds, (squares - bounds ** 2).clamp(min=0).sqrt()


GRAPHS = {
    "hmm": lambda: fsttopo.hmm_graph([[[1, 2], [3]]], silence=0, transitions=fsttopo.Transitions(0.6, 0.4, 0.7, 0.3)),
    "ctc": lambda: fsttopo.ctc_graph([[1, 1, 2]]),
    "ctc-no-forced-blank": lambda: fsttopo.ctc_graph([[1, 2, 2]], forced_blank=False),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
@pytest.mark.parametrize("backend", ["torch", "numba"])
def test_state_posteriors_and_expected_segments_match_enumeration(name, backend):
    torch.manual_seed(1)
    graphs = GRAPHS[name]()
    T = 7
    lp = torch.randn(1, T, 4, dtype=torch.float64).log_softmax(-1)
    log_prior = torch.randn(4, dtype=torch.float64).log_softmax(-1)
    scales = dict(posterior_scale=0.7, log_prior=log_prior, prior_scale=0.3, transition_scale=0.5)
    occ = fsttopo.state_posteriors(lp, [T], graphs, backend=backend, **scales)
    levels = ["token", "word"] if name == "hmm" else ["token"]
    for level in levels:
        ref_occ, ref_bounds, ref_sds = brute_expectations(graphs[0], lp[0], level, **scales)
        torch.testing.assert_close(occ[0, :, : ref_occ.shape[1]], ref_occ)
        segs = fsttopo.expected_segments(occ, graphs, level)[0]
        got = torch.tensor([[s.start, s.end] for s in segs], dtype=torch.float64)
        torch.testing.assert_close(got, ref_bounds)
        # the spread of each boundary over all paths, weighted by their posteriors
        got_sds = torch.tensor([[s.start_sd, s.end_sd] for s in segs], dtype=torch.float64)
        torch.testing.assert_close(got_sds, ref_sds)
        assert float(ref_sds[1:].min()) > 0.05  # the example has real uncertainty to measure
    # summed over the states of each label, the state posteriors are the label posteriors
    labels = torch.zeros(occ.shape[2], dtype=torch.int64)
    fsa = graphs[0]
    emitting = fsa.arcs[:, 2] >= 0
    labels[fsa.arcs[emitting, 1]] = fsa.arcs[emitting, 2]
    by_label = torch.zeros_like(lp).index_add_(2, labels, occ)
    torch.testing.assert_close(by_label, fsttopo.soft_alignment(lp, [T], graphs, backend=backend, **scales))


def test_batched_with_padding_equals_one_at_a_time():
    torch.manual_seed(2)
    graphs = fsttopo.hmm_graph([[[1, 2], [3]], [[2]]], silence=0)
    lp = torch.randn(2, 9, 4).log_softmax(-1)
    occ = fsttopo.state_posteriors(lp, [9, 5], graphs)
    assert occ.shape == (2, 9, graphs.num_states.max())
    torch.testing.assert_close(occ.sum(2), torch.tensor([[1.0] * 9, [1.0] * 5 + [0.0] * 4]))
    batched = fsttopo.expected_segments(occ, graphs, "word")
    for b, length in enumerate([9, 5]):
        single = fsttopo.FsaVec([graphs[b]])
        alone = fsttopo.expected_segments(fsttopo.state_posteriors(lp[b:b + 1, :length], [length], single), single, "word")
        assert [(s.index, s.label) for s in batched[b]] == [(s.index, s.label) for s in alone[0]]
        torch.testing.assert_close(torch.tensor([[s.start, s.end] for s in batched[b]]),
                                   torch.tensor([[s.start, s.end] for s in alone[0]]))


def test_a_sure_posterior_gives_the_path_segments():
    g = fsttopo.hmm_graph([[[1, 2], [3]]], silence=0)
    lp = torch.full((1, 8, 4), -30.0)
    lp[0, torch.arange(8), torch.tensor([0, 1, 1, 2, 0, 3, 3, 0])] = 0.0
    expected = fsttopo.expected_segments(fsttopo.state_posteriors(lp, [8], g), g, "token")[0]
    path = fsttopo.path_segments(fsttopo.viterbi(lp, [8], g), g, "token")[0]
    assert [(s.index, s.label) for s in expected] == [(s.index, s.label) for s in path]
    assert [b for s in expected for b in (s.start, s.end)] == pytest.approx(
        [b for s in path for b in (s.start, s.end)], abs=1e-6)


def test_expected_segments_errors():
    g = fsttopo.ctc_graph([[1, 2]])
    occ = fsttopo.state_posteriors(torch.randn(1, 4, 3).log_softmax(-1), [4], g)
    with pytest.raises(ValueError, match="no per-arc attribute 'word'"):
        fsttopo.expected_segments(occ, g, "word")
    with pytest.raises(ValueError, match="occupancy must have shape"):
        fsttopo.expected_segments(occ[0], g)
    loop = fsttopo.FsaVec([fsttopo.Fsa.from_arcs([(0, 1, 1, 0.0), (1, 2, 2, 0.0), (2, 1, 1, 0.0), (2, 3, -1, 0.0)],
                                                 num_states=4, aux={"token": [0, 1, 0, -1]})])
    loop_occ = fsttopo.state_posteriors(torch.randn(1, 4, 3).log_softmax(-1), [4], loop)
    with pytest.raises(ValueError, match="arcs to lower state ids"):
        fsttopo.expected_segments(loop_occ, loop, "token")


@pytest.mark.parametrize("name,level", [("hmm", "word"), ("hmm", "token"), ("ctc", "token"),
                                        ("ctc-no-forced-blank", "token")])
def test_equals_soft_dp_at_temperature_one(name, level):
    """The engine path (state_posteriors + expected_segments) and the differentiable soft-DP
    (plain torch recursions, tau = 1 is the full sum) give the same boundaries and occupancies."""
    from fsttopo.align import soft_dp_align

    torch.manual_seed(3)
    graphs = fsttopo.FsaVec([GRAPHS[name]()[0], GRAPHS[name]()[0]])
    lp = torch.randn(2, 11, 4, dtype=torch.float64).log_softmax(-1)
    scales = dict(posterior_scale=0.8, log_prior=torch.randn(4, dtype=torch.float64).log_softmax(-1),
                  prior_scale=0.4, transition_scale=0.6)
    occ = fsttopo.state_posteriors(lp, [11, 8], graphs, **scales)
    soft = soft_dp_align(lp, [11, 8], graphs, tau=1.0, level=level, **scales)
    torch.testing.assert_close(occ, soft.state_occupancy)
    for b, segs in enumerate(fsttopo.expected_segments(occ, graphs, level)):
        n = int(soft.num_tokens[b])
        torch.testing.assert_close(torch.tensor([s.start for s in segs], dtype=torch.float64), soft.token_start[b, :n])
        torch.testing.assert_close(torch.tensor([s.end for s in segs], dtype=torch.float64), soft.token_end[b, :n])


def test_an_infeasible_utterance_is_an_error_not_empty_segments():
    g = fsttopo.ctc_graph([[1, 2, 3, 1], [1]])
    occ = fsttopo.state_posteriors(torch.randn(2, 3, 4).log_softmax(-1), [3, 3], g)  # 4 labels, 3 frames
    assert float(occ[0].sum()) == 0.0
    with pytest.raises(ValueError, match=r"no path through the graph of utterance\(s\) \[0\]"):
        fsttopo.expected_segments(occ, g, "token")


def test_the_aligner_refuses_an_infeasible_transcript_with_either_method():

    from fsttopo.aligner import Aligner, compute_features
    from fsttopo.cli import DEFAULT_MODEL

    aligner = Aligner.from_file(DEFAULT_MODEL)
    wav = next(EXAMPLE_DIR.glob("*.wav"))
    feats = [compute_features(wav)]
    for method in ("viterbi", "posterior"):
        with pytest.raises(ValueError, match="no path"):
            aligner.align(feats, [" ".join(["hello world"] * 100)], method=method)
