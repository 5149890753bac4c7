"""One recording's alignment does not depend on what it is batched with: the label prior is the
model's own (estimated on its training data, stored in the model file), not the batch's average
posterior, and the model masks padding. Checked for align, align-cuts and align-dir."""

import shutil
import warnings

import numpy as np
import pytest
import soundfile
import torch

from fsttopo import cli
from fsttopo.aligner import Aligner, compute_features
from fsttopo.files import align_audio_file
from fsttopo.inference import emission_scores
from fsttopo.resources import example_paths

WAV, TXT, _ = example_paths()
TEXT = TXT.read_text().strip()


@pytest.fixture(scope="module")
def aligner():
    return Aligner.from_file(cli.DEFAULT_MODEL)


def words_of(ali):
    return [(w.symbol, w.start, w.end) for w in ali.words]


def assert_same(a, b, tol=1e-6):
    assert [w[0] for w in a] == [w[0] for w in b]
    np.testing.assert_allclose([w[1:] for w in a], [w[1:] for w in b], atol=tol, rtol=0)


def companions():
    """Audio that would have dragged a batch prior around: 20 s of silence after the speech, and
    the first 1.2 s alone."""
    x, sr = soundfile.read(WAV, dtype="float32")
    return [(np.concatenate([x, np.zeros(20 * sr, np.float32)]), TEXT), (x[: int(1.2 * sr)], "you know some time")], sr


def test_shipped_model_carries_a_training_prior(aligner):
    assert aligner.log_prior is not None and aligner.log_prior.shape == (len(aligner.tokens),)
    assert float(aligner.log_prior.exp().sum()) == pytest.approx(1.0, abs=1e-4)


def test_same_boundaries_alone_and_in_any_batch(aligner):
    feats = compute_features(WAV)
    alone = words_of(aligner.align([feats], [TEXT]).alignments[0])
    others, sr = companions()
    other_feats = [compute_features(x, sr) for x, _ in others]
    for order in ([0, 1, 2], [1, 0, 2], [2, 1, 0]):
        batch = [feats, *other_feats]
        texts = [TEXT, *[t for _, t in others]]
        out = aligner.align([batch[i] for i in order], [texts[i] for i in order]).alignments
        assert_same(words_of(out[order.index(0)]), alone)


def test_emission_scores_do_not_see_the_batch(aligner):
    log_probs = torch.randn(3, 20, len(aligner.tokens)).log_softmax(-1)
    lengths = torch.tensor([20, 12, 5])
    batch = emission_scores(log_probs, lengths, blank_penalty=0.5, prior_scale=1.5, log_prior=aligner.log_prior)
    for b in range(3):
        own = emission_scores(log_probs[b:b + 1, : lengths[b]], lengths[b:b + 1], blank_penalty=0.5, prior_scale=1.5,
                              log_prior=aligner.log_prior)
        torch.testing.assert_close(batch[b, : lengths[b]], own[0], rtol=0, atol=0)
    expected = log_probs - 1.5 * aligner.log_prior
    expected[..., 0] -= 0.5
    torch.testing.assert_close(batch, expected)


def test_model_without_prior_uses_each_utterance_alone(aligner):
    log_probs = torch.randn(2, 10, len(aligner.tokens)).log_softmax(-1)
    lengths = torch.tensor([10, 6])
    with pytest.warns(UserWarning, match="no label prior"):
        scores = emission_scores(log_probs, lengths, prior_scale=1.0)
    own_prior = log_probs[1, :6].exp().mean(0).log()
    torch.testing.assert_close(scores[1, :6], log_probs[1, :6] - own_prior)


def test_align_align_dir_and_align_cuts_agree(aligner, tmp_path):
    from lhotse import CutSet, FbankConfig, LilcomFilesWriter, Recording, SupervisionSegment
    from lhotse.cut import MonoCut

    from fsttopo.data.manifests import LevelNormalizedFbank
    from fsttopo.files import align_cuts
    from fsttopo.directory import align_directory

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    others, sr = companions()
    shutil.copy(WAV, corpus / "target.wav")
    (corpus / "target.txt").write_text(TEXT)
    for i, (x, text) in enumerate(others):
        soundfile.write(corpus / f"other{i}.wav", x, sr)
        (corpus / f"other{i}.txt").write_text(text)
    single = words_of(align_audio_file(aligner, WAV, TEXT, tmp_path / "single", plot=False))
    for max_duration in (1000.0, 6.0):
        alis = {a.utterance_id: a for a in align_directory(aligner, corpus, tmp_path / f"dir{max_duration:g}",
                                                            max_duration=max_duration).alignments}
        assert_same(words_of(alis["target"]), single)
    cuts = []
    for wav in sorted(corpus.glob("*.wav")):
        rec = Recording.from_file(wav)
        sup = SupervisionSegment(rec.id, rec.id, 0.0, rec.duration, text=wav.with_suffix(".txt").read_text())
        cuts.append(MonoCut(rec.id, 0.0, rec.duration, 0, recording=rec, supervisions=[sup]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cuts = CutSet.from_cuts(cuts).compute_and_store_features(LevelNormalizedFbank(FbankConfig(num_mel_bins=80)),
                                                                 tmp_path / "feats", storage_type=LilcomFilesWriter)
    for max_duration in (1000.0, 6.0):
        by_id = {a.utterance_id: a for a in align_cuts(aligner, cuts, max_duration)}
        # align-cuts reads Lilcom-compressed features: equal up to the compression, not to 1e-6
        assert_same(words_of(by_id["target"]), single, tol=5e-3)
