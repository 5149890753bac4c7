"""Fsa/FsaVec conventions, text format, DOT, k2 interop, and the topologies' arcs on hand examples."""

import math

import pytest
import torch

import fsttopo
from fsttopo import Fsa, FsaVec

CTC_11 = """0 1 0 0
0 2 1 0
1 1 0 0
1 2 1 0
2 2 1 0
2 3 0 0
3 3 0 0
3 4 1 0
4 4 1 0
4 5 0 0
4 6 -1 0
5 5 0 0
5 6 -1 0
6
"""


def arc_set(fsa):
    return {(s, d, l, round(w, 5)) for (s, d, l), w in zip(fsa.arcs.tolist(), fsa.scores.tolist())}


def test_ctc_graph_forced_blank_hand_example():
    g = fsttopo.ctc_graph([[1, 1]])[0]
    assert g.to_str() == CTC_11
    assert g.num_states == 7 and g.final_state == 6
    assert g.aux["token"].tolist() == [-1, 0, -1, 0, 0, -1, -1, 1, 1, -1, -1, -1, -1]
    assert g.arcs[:, 0].tolist() == sorted(g.arcs[:, 0].tolist())


def test_ctc_graph_without_forced_blank_adds_label_to_label_arc():
    forced = arc_set(fsttopo.ctc_graph([[1, 1]])[0])
    free = arc_set(fsttopo.ctc_graph([[1, 1]], forced_blank=False)[0])
    assert free - forced == {(2, 4, 1, 0.0)}
    # different neighbours: both topologies have the direct arc
    assert arc_set(fsttopo.ctc_graph([[1, 2]])[0]) == arc_set(fsttopo.ctc_graph([[1, 2]], forced_blank=False)[0])


def test_ctc_graph_empty_target_is_blank_only():
    g = fsttopo.ctc_graph([[]])[0]
    assert arc_set(g) == {(0, 1, 0, 0.0), (1, 1, 0, 0.0), (1, 2, -1, 0.0)}


def test_hmm_graph_hand_example():
    t = fsttopo.Transitions(0.6, 0.4, 0.9, 0.1)
    sl, sf, il, if_ = (round(math.log(p), 5) for p in (0.6, 0.4, 0.9, 0.1))
    g = fsttopo.hmm_graph([[[1], [2]]], silence=0, transitions=t)[0]
    assert arc_set(g) == {
        (1, 1, 0, il), (2, 2, 1, sl), (3, 3, 0, il), (4, 4, 2, sl), (5, 5, 0, il),
        (0, 1, 0, 0.0), (0, 2, 1, 0.0),
        (1, 2, 1, if_), (2, 3, 0, sf), (2, 4, 2, sf),
        (3, 4, 2, if_), (4, 5, 0, sf),
        (5, 6, -1, 0.0), (4, 6, -1, 0.0),
    }
    assert fsttopo.hmm_graph([[[1], [2]]], silence=0)[0].scores.abs().sum() == 0


def test_hmm_graph_never_allows_silence_inside_a_word():
    g = fsttopo.hmm_graph([[[1, 2, 3]]], silence=0)[0]
    arcs = g.arcs.tolist()
    # the only arcs into label states 2 and 3 come from the previous label state or a self-loop
    into = {d: {s for s, dd, _ in arcs if dd == d} for d in (3, 4)}
    assert into == {3: {2, 3}, 4: {3, 4}}


def test_text_format_round_trip_and_k2_example():
    g = fsttopo.hmm_graph([[[1, 2], [2]]], silence=0, transitions=fsttopo.Transitions())[0]
    back = Fsa.from_str(g.to_str())
    assert torch.equal(back.arcs, g.arcs)
    torch.testing.assert_close(back.scores, g.scores)
    # k2's documented acceptor example (scores optional in the text format)
    fsa = Fsa.from_str("0 1 1 0.5\n1 2 -1 0\n2")
    assert fsa.num_states == 3 and fsa.scores.tolist() == [0.5, 0.0]


@pytest.mark.parametrize("text,msg", [
    ("0 1 1 0\n1 2 5 0\n2", "label -1"),
    ("0 1 -1 0\n0 2 -1 0\n2", "negative label"),
    ("0 1 1 0\n2", "no arc into its final state"),
    ("0 1 1 0\n1 2 -1 0\n2 1 1 0\n2", "no leaving arcs"),
    ("0 1 1 0\n1 2 -1 0", "final state id alone"),
    ("0 1\n1", "expected 'src dst label"),
])
def test_invalid_fsas(text, msg):
    with pytest.raises(ValueError, match=msg):
        Fsa.from_str(text)


def test_fsavec_indexing_and_device():
    vec = fsttopo.ctc_graph([[1], [2, 3], [4, 4, 4]])
    assert len(vec) == 3 and vec.num_states.tolist() == [5, 7, 9]
    assert vec[1].to_str() == fsttopo.ctc_graph([[2, 3]])[0].to_str()
    assert vec[-1].num_states == 9
    with pytest.raises(IndexError):
        vec[3]
    assert FsaVec(list(vec)).to_str() == vec.to_str()


def test_to_dot():
    dot = fsttopo.hmm_graph([[[1]]], silence=0, transitions=fsttopo.Transitions())[0].to_dot(
        symbols={0: "[sil]", 1: "a"}, title="a")
    assert dot.startswith("digraph FSA {") and dot.rstrip().endswith("}")
    assert '1 -> 1 [label = "[sil]/-0.040822"];' in dot
    assert "4 [shape = doublecircle];" in dot
    assert '3 -> 4 [label = "-1"];' in dot


@pytest.mark.skipif(not fsttopo.k2_available(), reason="k2 is not installed")
def test_k2_round_trip():
    import k2

    vec = fsttopo.ctc_graph([[1, 2], [3]])
    k = vec.to_k2()
    ref = k2.ctc_graph([[1, 2], [3]])
    assert k.shape[0] == 2
    back = FsaVec.from_k2(k)
    assert back.to_str() == vec.to_str()
    assert torch.equal(back.aux["token"], vec.aux["token"])
    # same language as k2's own CTC graph: equivalent total scores on random emissions
    lp = torch.randn(2, 8, 4).log_softmax(-1)
    sup = torch.tensor([[0, 0, 8], [1, 0, 8]], dtype=torch.int32)
    dense = k2.DenseFsaVec(lp, sup)
    k2_tot = k2.intersect_dense(ref, dense, output_beam=100).get_tot_scores(True, True)
    torch.testing.assert_close(fsttopo.full_sum(lp, [8, 8], vec), k2_tot, atol=1e-4, rtol=1e-4)
