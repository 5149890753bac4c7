"""Lexicon-constrained word decoding, checked against brute force over word sequences with the
engine's Viterbi on each sequence's own topology graph."""

import itertools
import math

import pytest
import torch

from fsttopo import viterbi
from fsttopo.decode import UnigramLM, decode_words, lexicon_network, pronunciations_of
from fsttopo.data.lexicon import Lexicon
from fsttopo.topology import Transitions, build_graphs

# "ab" and "ab2" are homophones, "b" is a prefix of "ba", "aa" repeats a label, "cab" ends on
# the label other words start with
PRONS = {"ab": [1, 2], "ab2": [1, 2], "b": [2], "ba": [2, 1], "aa": [1, 1], "c": [3], "cab": [3, 1, 2]}
LM = UnigramLM({"ab": math.log(0.2), "ab2": math.log(0.05), "b": math.log(0.25), "ba": math.log(0.1),
                "aa": math.log(0.1), "c": math.log(0.2), "cab": math.log(0.1)})
TOPOLOGY_CASES = [("hmm", Transitions(0.6, 0.4, 0.9, 0.1), 0.7), ("hmm", None, 1.0),
                  ("ctc", None, 1.0), ("ctc-no-forced-blank", None, 1.0)]


def brute_force(log_probs, length, topology, transitions, transition_scale, lm_scale, word_penalty,
                log_prior=None, prior_scale=0.0):
    """Best (score, words) over every word sequence of the vocabulary that fits the frames."""
    vocab = sorted(LM.log_probs)
    seqs = [list(s) for n in range(length + 1) for s in itertools.product(vocab, repeat=n)
            if sum(len(PRONS[w]) for w in s) <= length]
    graphs = build_graphs([[PRONS[w] for w in s] for s in seqs], topology, log_probs.shape[-1],
                          transitions=transitions)
    lp = log_probs[:length].expand(len(seqs), -1, -1)
    path = viterbi(lp, torch.full((len(seqs),), length), graphs, transition_scale=transition_scale,
                   log_prior=log_prior, prior_scale=prior_scale, allow_infeasible=True)
    best = max(range(len(seqs)), key=lambda i: float(path.scores[i]) + sum(
        lm_scale * LM.log_probs[w] + word_penalty for w in seqs[i]))
    score = float(path.scores[best]) + sum(lm_scale * LM.log_probs[w] + word_penalty for w in seqs[best])
    return score, seqs[best]


@pytest.mark.parametrize("topology,transitions,transition_scale", TOPOLOGY_CASES)
@pytest.mark.parametrize("seed", range(4))
def test_decoding_equals_brute_force(topology, transitions, transition_scale, seed):
    g = torch.Generator().manual_seed(seed)
    T = 6
    log_probs = torch.randn(1, T, 4, generator=g, dtype=torch.float64).mul(2).log_softmax(-1)
    net = lexicon_network(PRONS, LM, topology, transitions=transitions, num_classes=4)
    for lm_scale, penalty in ((1.0, 0.0), (0.5, 1.5), (2.0, -1.0)):
        hyp = decode_words(log_probs, [T], net, transition_scale=transition_scale, lm_scale=lm_scale,
                           word_penalty=penalty)[0]
        score, words = brute_force(log_probs[0], T, topology, transitions, transition_scale, lm_scale, penalty)
        assert hyp.score == pytest.approx(score, abs=1e-6)  # graph weights are stored as float32
        assert hyp.words == words
        assert hyp.word_ids == [net.words.index(w) for w in words]


@pytest.mark.parametrize("topology", ["hmm", "ctc", "ctc-no-forced-blank"])
def test_decoding_with_prior_and_shorter_lengths_equals_brute_force(topology):
    g = torch.Generator().manual_seed(7)
    log_probs = torch.randn(3, 6, 4, generator=g).mul(3).log_softmax(-1)
    log_prior = torch.tensor([0.5, 0.2, 0.2, 0.1]).log()
    lengths = [6, 4, 1]
    net = lexicon_network(PRONS, LM, topology, num_classes=4)
    hyps = decode_words(log_probs, lengths, net, log_prior=log_prior, prior_scale=0.6, word_penalty=0.5)
    for b, L in enumerate(lengths):
        score, words = brute_force(log_probs[b].double(), L, topology, None, 1.0, 1.0, 0.5,
                                   log_prior=log_prior.double(), prior_scale=0.6)
        assert hyps[b].words == words
        assert hyps[b].score == pytest.approx(score, abs=1e-4)


def test_batch_equals_one_at_a_time():
    g = torch.Generator().manual_seed(3)
    log_probs = torch.randn(4, 9, 4, generator=g).log_softmax(-1)
    lengths = [9, 7, 3, 8]
    net = lexicon_network(PRONS, LM, "ctc", num_classes=4)
    batch = decode_words(log_probs, lengths, net)
    single = [decode_words(log_probs[b:b + 1], [L], net)[0] for b, L in enumerate(lengths)]
    assert batch == single


@pytest.mark.parametrize("topology", ["hmm", "ctc", "ctc-no-forced-blank"])
def test_sharp_posteriors_decode_the_spoken_words(topology):
    # one-hot frames of "c ab ab b" with a blank/silence frame between the two homophones
    frames = [3, 3, 1, 2, 0, 1, 1, 2, 2, 0, 2]
    log_probs = torch.full((1, len(frames), 4), -30.0)
    log_probs[0, torch.arange(len(frames)), torch.tensor(frames)] = 0.0
    net = lexicon_network(PRONS, LM, topology, num_classes=4)
    hyp = decode_words(log_probs, [len(frames)], net, lm_scale=0.0)[0]
    # "ab" and "ab2" tie acoustically: the LM-preferred spelling wins even at lm_scale 0
    assert hyp.words == ["c", "ab", "ab", "b"]


def test_ctc_forced_blank_between_words_with_equal_labels():
    # "b b" without a blank frame between is impossible with forced blanks: "b" cannot follow "b"
    frames = [2, 2]
    log_probs = torch.full((1, 2, 4), -30.0)
    log_probs[0, torch.arange(2), torch.tensor(frames)] = 0.0
    lm = UnigramLM({"b": math.log(0.5), "c": math.log(0.5)})
    prons = {"b": [2], "c": [3]}
    forced = decode_words(log_probs, [2], lexicon_network(prons, lm, "ctc"), word_penalty=10.0)[0]
    free = decode_words(log_probs, [2], lexicon_network(prons, lm, "ctc-no-forced-blank"), word_penalty=10.0)[0]
    assert forced.words == ["b"]
    assert free.words == ["b", "b"]


def test_unigram_lm_from_texts():
    lm = UnigramLM.from_texts(["a b a", "c a"], vocabulary=["a", "b"])
    assert lm.log_probs == pytest.approx({"a": math.log(3 / 4), "b": math.log(1 / 4)})
    assert len(UnigramLM.uniform(["x", "y", "x"])) == 2
    with pytest.raises(ValueError, match="no words"):
        UnigramLM.from_texts(["a"], vocabulary=["z"])
    with pytest.raises(ValueError, match="log-probability"):
        UnigramLM({"a": 0.5})


def test_pronunciations_from_the_cmudict_lexicon():
    lex = Lexicon.from_cmudict()
    prons = pronunciations_of(lex, ["cat", "dog"])
    assert prons["cat"] == lex.encode("cat")
    with pytest.raises(ValueError, match="not in the lexicon"):
        pronunciations_of(lex, ["qqqxz"])


def test_zero_frames_decode_to_nothing():
    net = lexicon_network(PRONS, LM, "hmm")
    hyp = decode_words(torch.zeros(1, 3, 4).log_softmax(-1), [0], net)[0]
    assert hyp.words == [] and hyp.score == 0.0


def test_errors_name_the_problem():
    net = lexicon_network(PRONS, LM, "ctc", num_classes=4)
    good = torch.zeros(1, 5, 4).log_softmax(-1)
    with pytest.raises(ValueError, match="shape"):
        decode_words(good[0], [5], net)
    with pytest.raises(ValueError, match="out of range"):
        decode_words(good[..., :3], [5], net)
    with pytest.raises(ValueError, match="outside"):
        decode_words(good, [6], net)
    bad = good.clone()
    bad[0, 2, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        decode_words(bad, [5], net)
    with pytest.raises(ValueError, match="lm_scale"):
        decode_words(good, [5], net, lm_scale=float("inf"))
    with pytest.raises(ValueError, match="no pronunciation"):
        lexicon_network({"ab": [1, 2]}, LM, "ctc")
    with pytest.raises(ValueError, match="label id 0"):
        lexicon_network({**PRONS, "ab": [0, 2]}, LM, "ctc")
    with pytest.raises(ValueError, match="label id 5"):
        lexicon_network({**PRONS, "ab": [5]}, LM, "hmm", num_classes=4)
    with pytest.raises(ValueError, match="topology"):
        lexicon_network(PRONS, LM, "hmm3")
    with pytest.raises(TypeError, match="LexiconNetwork"):
        decode_words(good, [5], "net")
