"""The vectorized graph builders (CTC and HMM) build exactly the graphs of the per-state builders they replaced
(tests/reference_graphs.py): same arcs in the same order, scores, attributes, splits and states."""

import random

import pytest
import torch

from fsttopo.topology import AnyLabels, Transitions, ctc_graph, hmm_graph
from reference_graphs import loop_ctc_graph, loop_hmm_graph


def assert_same_graphs(ours, ref):
    assert torch.equal(ours.arcs, ref.arcs)
    assert torch.equal(ours.scores, ref.scores) and ours.scores.dtype == ref.scores.dtype
    assert ours.aux.keys() == ref.aux.keys()
    for name in ref.aux:
        assert torch.equal(ours.aux[name], ref.aux[name]) and ours.aux[name].dtype == ref.aux[name].dtype
    assert torch.equal(ours.arc_splits, ref.arc_splits) and torch.equal(ours.num_states, ref.num_states)
    assert ours.arcs.dtype == ref.arcs.dtype == torch.int64


def random_targets(rng, batch, max_len, vocab, blank):
    labels = [v for v in range(vocab) if v != blank]
    return [[rng.choice(labels[: rng.randint(1, len(labels))]) for _ in range(rng.randint(0, max_len))]
            for _ in range(batch)]


@pytest.mark.parametrize("forced_blank", [True, False])
@pytest.mark.parametrize("blank", [0, 3])
def test_ctc_graph_equals_the_per_state_builder(forced_blank, blank):
    rng = random.Random(blank + 10 * forced_blank)
    for _ in range(20):
        targets = random_targets(rng, rng.randint(1, 6), 12, rng.choice([2, 4, 8]), blank)  # small vocab: repeats
        assert_same_graphs(ctc_graph(targets, blank=blank, forced_blank=forced_blank, num_classes=8),
                           loop_ctc_graph(targets, blank=blank, forced_blank=forced_blank, num_classes=8))


def test_ctc_graph_of_long_targets_and_tensor_targets():
    torch.manual_seed(0)
    targets = torch.randint(1, 5, (4, 300))
    ref = loop_ctc_graph(targets.tolist())
    assert_same_graphs(ctc_graph(targets.tolist()), ref)
    assert_same_graphs(ctc_graph(list(targets)), ref)  # one [S] tensor per utterance
    assert_same_graphs(ctc_graph([[torch.tensor(x) for x in t] for t in targets.tolist()]), ref)


def test_ctc_graph_with_unknown_words_among_plain_utterances():
    targets = [[1, AnyLabels((2, 3), 2), 1], [4, 4, 2], [], [AnyLabels((1,), 3)], [2, 2]]
    for forced_blank in (True, False):
        assert_same_graphs(ctc_graph(targets, forced_blank=forced_blank),
                           loop_ctc_graph(targets, forced_blank=forced_blank))


@pytest.mark.parametrize("targets, message", [
    ([[1, 2], [3, 0]], r"targets\[1\]: contains the blank id 0"),
    ([[1, -2]], r"targets\[0\]: negative label id -2"),
    ([[1, 9]], r"targets\[0\]: label id 9 out of range for 8 classes"),
    ([[1, 2.5]], r"targets\[0\]: label ids must be integers, got 2.5"),
    ([["a"]], r"targets\[0\]: label ids must be integers, got 'a'"),
])
def test_ctc_graph_names_bad_labels_as_before(targets, message):
    for build in (ctc_graph, loop_ctc_graph):
        with pytest.raises(ValueError, match=message):
            build(targets, num_classes=8)


def random_words(rng, batch, max_words, vocab, silence):
    labels = [v for v in range(vocab) if v != silence]
    return [[[rng.choice(labels) for _ in range(rng.randint(1, 4))] for _ in range(rng.randint(0, max_words))]
            for _ in range(batch)]


@pytest.mark.parametrize("transitions", [None, Transitions(), Transitions(0.7, 0.3, 0.9, 0.1)])
@pytest.mark.parametrize("silence", [0, 2])
def test_hmm_graph_equals_the_per_state_builder(transitions, silence):
    rng = random.Random(silence)
    for _ in range(20):
        words = random_words(rng, rng.randint(1, 6), 6, 5, silence)
        assert_same_graphs(hmm_graph(words, silence, transitions, num_classes=5),
                           loop_hmm_graph(words, silence, transitions, num_classes=5))


def test_hmm_graph_with_unknown_words_and_long_utterances():
    words = [[[1, 2], AnyLabels((3, 4), 2), [1]], [[4, 4, 2]], [], [AnyLabels((1,), 3)], [[2], [2]]]
    assert_same_graphs(hmm_graph(words, 0, Transitions()), loop_hmm_graph(words, 0, Transitions()))
    torch.manual_seed(0)
    long = [[t[i:i + 4] for i in range(0, 400, 4)] for t in torch.randint(1, 50, (3, 400)).tolist()]
    assert_same_graphs(hmm_graph(long, 0, Transitions()), loop_hmm_graph(long, 0, Transitions()))


@pytest.mark.parametrize("words, message", [
    ([[[1], [2, 0]]], r"words\[0\]\[1\]: contains the silence id 0"),
    ([[[1]], [[1], []]], r"words\[1\]\[1\] is empty"),
    ([[[1, 7]]], r"words\[0\]\[0\]: label id 7 out of range for 5 classes"),
    ([[[1.5]]], r"words\[0\]\[0\]: label ids must be integers"),
])
def test_hmm_graph_names_bad_words_as_before(words, message):
    for build in (hmm_graph, loop_hmm_graph):
        with pytest.raises(ValueError, match=message):
            build(words, 0, num_classes=5)
