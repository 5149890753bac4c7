"""Alignment confidence: hand-computed values, path enumeration, and the shipped model telling a
matching transcript from a wrong one."""

import math

import pytest
import torch

import fsttopo
from fsttopo.resources import EXAMPLE_DIR
from fsttopo.align.confidence import path_confidence, posterior_confidence
from fsttopo.data.alignment import TimedToken, UtteranceAlignment, mean_alignment
from fsttopo.data.export import alignment_from_dict, alignment_to_dict

EXAMPLE = EXAMPLE_DIR


def test_path_confidence_by_hand():
    probs = torch.tensor([[[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [0.3, 0.7]]])
    labels = torch.tensor([[0, 1, 1, -1]])  # the last frame is padding
    got = path_confidence(probs.log(), [3], labels)
    assert got.tolist() == pytest.approx([(0.9 + 0.8 + 0.5) / 3])


def test_posterior_confidence_is_the_expectation_over_paths():
    g = torch.Generator().manual_seed(1)
    log_probs = torch.randn(1, 4, 3, generator=g, dtype=torch.float64).log_softmax(-1)
    graph = fsttopo.ctc_graph([[1, 2]])
    occ = fsttopo.state_posteriors(log_probs, [4], graph)
    got = float(posterior_confidence(log_probs, [4], occ, graph)[0])
    # brute force: every label sequence of 4 frames that collapses to "1 2" (blank 0)
    paths = []
    for seq in __import__("itertools").product(range(3), repeat=4):
        collapsed = [k for i, k in enumerate(seq) if k != 0 and (i == 0 or seq[i - 1] != k)]
        if collapsed == [1, 2]:
            paths.append(seq)
    weights = torch.tensor([sum(float(log_probs[0, t, k]) for t, k in enumerate(s)) for s in paths]).softmax(0)
    expected = sum(float(w) * sum(math.exp(float(log_probs[0, t, k])) for t, k in enumerate(s)) / 4
                   for w, s in zip(weights, paths))
    assert got == pytest.approx(expected, abs=1e-6)
    # a sure posterior gives the path's confidence
    sharp = torch.full((1, 4, 3), -40.0, dtype=torch.float64)
    sharp[0, torch.arange(4), torch.tensor([1, 0, 2, 2])] = 0.0
    occ = fsttopo.state_posteriors(sharp, [4], graph)
    path = fsttopo.viterbi(sharp, [4], graph)
    assert float(posterior_confidence(sharp, [4], occ, graph)[0]) == pytest.approx(
        float(path_confidence(sharp, [4], path.labels)[0]), abs=1e-9)


def test_confidence_travels_with_the_alignment():
    words = [TimedToken("a", 0.0, 0.5)]
    a = UtteranceAlignment("u", "a", 1.0, words, confidence=0.8)
    b = UtteranceAlignment("u", "a", 1.0, words, confidence=0.6)
    assert mean_alignment([a, b]).confidence == pytest.approx(0.7)
    assert mean_alignment([a, UtteranceAlignment("u", "a", 1.0, words)]).confidence is None
    assert alignment_from_dict(alignment_to_dict(a)).confidence == 0.8
    assert "confidence" not in alignment_to_dict(UtteranceAlignment("u", "a", 1.0, words))
    with pytest.raises(ValueError, match="confidence"):
        UtteranceAlignment("u", "a", 1.0, words, confidence=1.5)
    with pytest.raises(ValueError, match="lengths"):
        path_confidence(torch.zeros(1, 2, 2), [0], torch.zeros(1, 2, dtype=torch.int64))


@pytest.mark.parametrize("method", ["viterbi", "posterior"])
def test_shipped_model_is_less_confident_about_a_wrong_transcript(method):
    from fsttopo.aligner import Aligner, compute_features
    from fsttopo.cli import DEFAULT_MODEL

    aligner = Aligner.from_file(DEFAULT_MODEL)
    wav = next(EXAMPLE.glob("*.wav"))
    right = wav.with_suffix(".txt").read_text().strip()
    wrong = " ".join(reversed(right.split()))
    feats = [compute_features(wav)] * 2
    right_ali, wrong_ali = aligner.align(feats, [right, wrong], method=method).alignments
    # measured: 0.46 vs 0.15 (viterbi), 0.44 vs 0.16 (posterior); the shipped model is a weak
    # phone recognizer (55 % PER), so even the right transcript gets under one half
    assert right_ali.confidence > wrong_ali.confidence + 0.2, (right_ali.confidence, wrong_ali.confidence)


def test_confidence_round_trips_through_lhotse_supervisions():
    from lhotse import SupervisionSegment

    from fsttopo.data.alignment import CONFIDENCE_KEY

    sup = SupervisionSegment("u", "rec", 0.0, 1.0, text="a", custom={"speaker_age": 30})
    ali = UtteranceAlignment("u", "a", 1.0, [TimedToken("a", 0.1, 0.5)], confidence=0.42)
    out = ali.to_supervision(sup)
    assert out.custom == {"speaker_age": 30, CONFIDENCE_KEY: 0.42} and sup.custom == {"speaker_age": 30}
    assert UtteranceAlignment.from_supervision(out).confidence == 0.42
    plain = UtteranceAlignment("u", "a", 1.0, [TimedToken("a", 0.1, 0.5)]).to_supervision(sup)
    assert plain.custom == {"speaker_age": 30} and UtteranceAlignment.from_supervision(plain).confidence is None


def test_segment_confidences_by_hand():
    from fsttopo.align.confidence import segment_confidences

    c = torch.tensor([0.2, 0.4, 1.0, 0.0])
    got = segment_confidences(c, 4, [(0, 1), (0, 2), (0.5, 1.5), (1, 4), (2, 2), (3.5, 4)])
    assert got == pytest.approx([0.2, 0.3, 0.5 * 0.2 + 0.5 * 0.4, 1.4 / 3, 1.0, 0.0])


def test_viterbi_word_confidence_is_the_mean_over_its_frames():
    """Word confidences of the aligner (Viterbi, one phase) equal the mean posterior of the path's
    labels over each word's frames, recomputed from the model outputs."""
    from fsttopo.aligner import Aligner, compute_features
    from fsttopo.cli import DEFAULT_MODEL

    aligner = Aligner.from_file(DEFAULT_MODEL)
    wav = next(EXAMPLE.glob("*.wav"))
    text = wav.with_suffix(".txt").read_text().strip()
    feats = compute_features(wav)
    out = aligner.align([feats], [text], method="viterbi", phases=1, time_shift=0.0)
    log_probs, lengths = out.log_probs, out.lengths
    from fsttopo.inference import emission_scores
    from fsttopo.topology import build_graphs

    graphs = build_graphs([aligner.lexicon.encode_words(text)], "hmm", len(aligner.tokens), None)
    options = aligner.align_options
    path = fsttopo.viterbi(emission_scores(log_probs, lengths, blank_penalty=options["blank_penalty"],
                                           prior_scale=options["prior_scale"], log_prior=aligner.log_prior),
                           lengths, graphs)
    words = fsttopo.path_segments(path, graphs, level="word")[0]
    p = log_probs[0].double().gather(1, path.labels[0].clamp(min=0)[:, None]).squeeze(1).exp()
    expected = [float(p[s.start:s.end].mean()) for s in words]
    got = [w.confidence for w in out.alignments[0].words]
    assert got == pytest.approx(expected, abs=1e-9)
    n = int(lengths[0])
    assert out.alignments[0].confidence == pytest.approx(float(p[:n].mean()), abs=1e-9)
    best = log_probs[0, :n].double().exp().max(-1).values
    assert out.alignments[0].relative_confidence == pytest.approx(float(p[:n].sum() / best.sum()), abs=1e-9)


def test_token_confidence_in_json_ctm_and_lhotse(tmp_path):
    from lhotse import SupervisionSegment

    from fsttopo.data.export import read_ctm, write_ctm

    ali = UtteranceAlignment("u", "a b", 1.0, [TimedToken("a", 0.1, 0.4, 0.25), TimedToken("b", 0.4, 0.9, 0.875)],
                             [TimedToken("ah", 0.1, 0.4, 0.5)], confidence=0.6)
    assert alignment_from_dict(alignment_to_dict(ali)) == ali
    write_ctm([ali], tmp_path / "a.ctm")
    assert (tmp_path / "a.ctm").read_text().splitlines()[0] == "u 1 0.100 0.300 a 0.250"
    assert [w.confidence for w in read_ctm(tmp_path / "a.ctm")[0].words] == [0.25, 0.875]
    sup = ali.to_supervision(SupervisionSegment("u", "r", 0.0, 1.0, text="a b"))
    assert [item.score for item in sup.alignment["word"]] == [0.25, 0.875]
    assert UtteranceAlignment.from_supervision(sup).words == ali.words


def test_a_wrong_word_loses_its_confidence():
    """The same position with the spoken word and with a wrong one: the wrong word's confidence is
    less than half; words away from it keep theirs."""
    from fsttopo.aligner import Aligner, compute_features
    from fsttopo.cli import DEFAULT_MODEL

    aligner = Aligner.from_file(DEFAULT_MODEL)
    wav = next(EXAMPLE.glob("*.wav"))
    words = wav.with_suffix(".txt").read_text().split()
    feats = compute_features(wav)
    right = aligner.align([feats], [" ".join(words)]).alignments[0]
    wrong_at = words.index("leave")
    words[wrong_at] = "elephant"
    wrong = aligner.align([feats], [" ".join(words)]).alignments[0]
    assert wrong.words[wrong_at].confidence < 0.5 * right.words[wrong_at].confidence
    far = [i for i in range(len(words)) if abs(i - wrong_at) > 2]
    assert [wrong.words[i].confidence for i in far] == pytest.approx([right.words[i].confidence for i in far], abs=0.05)
    assert wrong.confidence < right.confidence


def test_low_confidence_flag_uses_the_model_threshold():
    """The shipped model's calibrated threshold passes the spoken transcript and flags another
    utterance's; an aligner without a threshold flags nothing."""
    from fsttopo.aligner import Aligner, compute_features
    from fsttopo.cli import DEFAULT_MODEL

    aligner = Aligner.from_file(DEFAULT_MODEL)
    assert aligner.confidence_threshold is not None
    wav = next(EXAMPLE.glob("*.wav"))
    feats = compute_features(wav)
    right = aligner.align([feats], [wav.with_suffix(".txt").read_text()]).alignments[0]
    wrong = aligner.align([feats], ["a cat sat on the mat and looked out of the window at the rain all day"]
                          ).alignments[0]
    assert right.low_confidence is False and wrong.low_confidence is True
    assert wrong.relative_confidence < aligner.confidence_threshold <= right.relative_confidence
    unflagged = Aligner(aligner.model, aligner.objective, aligner.tokens, aligner.lexicon, aligner.align_options,
                        aligner.log_prior, boundary_refiner=aligner.boundary_refiner)
    assert unflagged.align([feats], ["a cat sat on the mat"]).alignments[0].low_confidence is None
