"""The label prior stored with a model: the mean posterior over its training frames, recomputed by
hand; the trainer writes it into every model file; model files read it back."""

import shutil
import warnings

import numpy as np
import pytest
import soundfile
import torch

from fsttopo.data.lexicon import Lexicon
from fsttopo.models import AlignmentModel, ModelConfig
from fsttopo.resources import example_paths
from fsttopo.training import (ObjectiveConfig, TrainConfig, estimate_log_prior, pad_features, read_model_file,
                              save_model, train)


@pytest.fixture(scope="module")
def cuts(tmp_path_factory):
    """Three cuts with stored features: the example, its first 2 s and its last 2.5 s."""
    from lhotse import CutSet, FbankConfig, LilcomFilesWriter, Recording, SupervisionSegment
    from lhotse.cut import MonoCut

    from fsttopo.data.manifests import LevelNormalizedFbank

    tmp = tmp_path_factory.mktemp("prior")
    wav, txt, ref = example_paths()
    words = __import__("json").loads(ref.read_text())["words"]
    samples, sr = soundfile.read(wav, dtype="float32")
    pieces = [(samples, " ".join(w["symbol"] for w in words)),
              (samples[: 2 * sr], " ".join(w["symbol"] for w in words if w["end"] <= 2.0)),
              (samples[int(3.25 * sr):], " ".join(w["symbol"] for w in words if w["start"] >= 3.25))]
    out = []
    for i, (x, text) in enumerate(pieces):
        soundfile.write(tmp / f"u{i}.wav", x, sr)
        rec = Recording.from_file(tmp / f"u{i}.wav")
        out.append(MonoCut(rec.id, 0.0, rec.duration, 0, recording=rec,
                           supervisions=[SupervisionSegment(rec.id, rec.id, 0.0, rec.duration, text=text)]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CutSet.from_cuts(out).compute_and_store_features(LevelNormalizedFbank(FbankConfig(num_mel_bins=80)),
                                                                tmp / "feats",
                                                                storage_type=LilcomFilesWriter)


def tiny_model():
    torch.manual_seed(0)
    return AlignmentModel(ModelConfig(num_tokens=40, d_model=32, num_layers=1, num_heads=2, ffn_dim=64, conv_kernel=3))


def test_estimate_equals_the_mean_posterior_over_all_frames(cuts):
    model = tiny_model()
    got = estimate_log_prior(model, cuts, max_hours=None)
    assert model.training  # restored
    model.eval()  # the estimate is without dropout
    with torch.no_grad():
        mass, frames = torch.zeros(40, dtype=torch.float64), 0
        for cut in cuts:  # one at a time: no padding, independent of the estimator's batching
            out = model(*pad_features([torch.from_numpy(cut.load_features()).float()]))
            mass += out.log_probs[0].double().exp().sum(0)
            frames += int(out.lengths[0])
    torch.testing.assert_close(got, (mass / frames).log().float(), rtol=0, atol=1e-5)
    first = next(iter(cuts))
    # a budget below the first batch's audio still reads one batch (the sampler batches all three)
    assert estimate_log_prior(model, cuts, max_hours=first.duration / 3600 / 10).shape == (40,)
    with pytest.raises(ValueError, match="max_hours must be > 0"):
        estimate_log_prior(model, cuts, max_hours=0)


def test_model_files_keep_the_prior(tmp_path):
    model, tokens = tiny_model(), Lexicon.from_cmudict().tokens
    prior = torch.randn(40).log_softmax(0)
    save_model(tmp_path / "m.pt", model, ObjectiveConfig(), tokens, half=True, log_prior=prior)
    torch.testing.assert_close(read_model_file(tmp_path / "m.pt").log_prior, prior)  # float32 even in half files
    save_model(tmp_path / "none.pt", model, ObjectiveConfig(), tokens)
    assert read_model_file(tmp_path / "none.pt").log_prior is None
    with pytest.raises(ValueError, match="40 finite log-probabilities"):
        save_model(tmp_path / "bad.pt", model, ObjectiveConfig(), tokens, log_prior=torch.zeros(3))


def test_trainer_stores_the_prior_of_each_epoch(cuts, tmp_path):
    lexicon = Lexicon.from_cmudict()
    config = ModelConfig(num_tokens=40, d_model=32, num_layers=1, num_heads=2, ffn_dim=64, conv_kernel=3)
    path = train(config, ObjectiveConfig(topology="ctc"), TrainConfig(epochs=1, max_duration=20.0, peak_lr=1e-3),
                 cuts, None, lexicon, lexicon.tokens, tmp_path)
    for name in (path, tmp_path / "epoch1.pt"):
        f = read_model_file(name)
        assert f.log_prior is not None and f.units == {"kind": "cmudict"}  # the units it trained with
        torch.testing.assert_close(f.log_prior, estimate_log_prior(f.model, cuts, 0.5, 20.0), rtol=0, atol=1e-5)
    assert np.isclose(float(f.log_prior.exp().sum()), 1.0, atol=1e-5)


def test_augmented_batches_are_reproducible_and_change_per_epoch(cuts):
    from fsttopo.data.features import compute_features
    from fsttopo.training import AugmentedCutBatches
    from fsttopo.training.augment import AugmentConfig

    lexicon = Lexicon.from_cmudict()
    some = list(cuts)[:2]
    batches = AugmentedCutBatches(lexicon, AugmentConfig(), seed=3)
    first = batches.features(some)
    assert all(torch.equal(a, b) for a, b in zip(first, AugmentedCutBatches(lexicon, AugmentConfig(), 3).features(some)))
    assert [f.shape for f in first] == [torch.Size(c.load_features().shape) for c in some]  # same frames
    batches.set_epoch(1)
    assert not any(torch.equal(a, b) for a, b in zip(first, batches.features(some)))
    off = AugmentConfig(reverb_prob=0, noise_prob=0, telephone_prob=0, gain_prob=0, clip_prob=0)
    clean = AugmentedCutBatches(lexicon, off).features(some)
    for f, cut in zip(clean, some):  # nothing drawn: the features of the audio itself
        torch.testing.assert_close(f, compute_features(cut.load_audio()[0], cut.sampling_rate))


def test_silence_padding_adds_silence_at_both_ends(cuts):
    from fsttopo.training import AugmentedCutBatches
    from fsttopo.training.augment import AugmentConfig

    off = AugmentConfig(reverb_prob=0, noise_prob=0, telephone_prob=0, gain_prob=0, clip_prob=0)
    cut = list(cuts)[1]
    plain = AugmentedCutBatches(Lexicon.from_cmudict(), off).features([cut])[0]
    padded = AugmentedCutBatches(Lexicon.from_cmudict(), off, silence_pad=2.0).features([cut])[0]
    extra = padded.shape[0] - plain.shape[0]
    assert 0 < extra <= 400  # two draws of at most 2 s each, 10 ms frames
    silent = padded.std(1) < 1e-3  # digital silence: every mel bin at the log floor
    assert bool(silent[0]) or bool(silent[-1])
    with pytest.raises(ValueError, match="silence_pad must be"):
        AugmentedCutBatches(Lexicon.from_cmudict(), off, silence_pad=float("nan"))


def test_speed_perturbation_changes_the_length_by_the_factor(cuts):
    from fsttopo.training import AugmentedCutBatches
    from fsttopo.training.augment import AugmentConfig

    off = AugmentConfig(reverb_prob=0, noise_prob=0, telephone_prob=0, gain_prob=0, clip_prob=0)
    cut = list(cuts)[1]
    plain = AugmentedCutBatches(Lexicon.from_cmudict(), off).features([cut])[0]
    faster = AugmentedCutBatches(Lexicon.from_cmudict(), off, speed_prob=1.0, speed_range=(1.25, 1.25)).features([cut])[0]
    slower = AugmentedCutBatches(Lexicon.from_cmudict(), off, speed_prob=1.0, speed_range=(0.8, 0.8)).features([cut])[0]
    assert abs(faster.shape[0] - plain.shape[0] / 1.25) <= 2  # 10 ms frames of audio 1.25x shorter
    assert abs(slower.shape[0] - plain.shape[0] / 0.8) <= 2
    never = AugmentedCutBatches(Lexicon.from_cmudict(), off, speed_prob=0.0, speed_range=(0.8, 0.8)).features([cut])[0]
    assert torch.equal(never, plain)
    for bad in ({"speed_prob": 1.5}, {"speed_range": (0.3, 1.0)}, {"speed_range": (1.1, 0.9)}):
        with pytest.raises(ValueError, match="speed_"):
            AugmentedCutBatches(Lexicon.from_cmudict(), off, **bad)


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")
def test_tempo_and_pitch_perturbation_of_batches(cuts):
    from fsttopo.data.features import compute_features
    from fsttopo.training import AugmentedCutBatches
    from fsttopo.training.augment import AugmentConfig, pitch_shift, tempo

    off = AugmentConfig(reverb_prob=0, noise_prob=0, telephone_prob=0, gain_prob=0, clip_prob=0)
    cut = list(cuts)[1]
    audio = cut.load_audio()[0].astype(np.float32)
    plain = AugmentedCutBatches(Lexicon.from_cmudict(), off).features([cut])[0]
    slower = AugmentedCutBatches(Lexicon.from_cmudict(), off, tempo_prob=1.0, tempo_range=(0.8, 0.8)).features([cut])[0]
    assert abs(slower.shape[0] - plain.shape[0] / 0.8) <= 2
    torch.testing.assert_close(slower, compute_features(tempo(audio, cut.sampling_rate, 0.8)[0], cut.sampling_rate))
    higher = AugmentedCutBatches(Lexicon.from_cmudict(), off, pitch_prob=1.0, pitch_range=(3.0, 3.0)).features([cut])[0]
    assert higher.shape == plain.shape and not torch.equal(higher, plain)
    torch.testing.assert_close(higher, compute_features(pitch_shift(audio, cut.sampling_rate, 3.0), cut.sampling_rate))
    again = AugmentedCutBatches(Lexicon.from_cmudict(), off, pitch_prob=1.0, pitch_range=(3.0, 3.0)).features([cut])[0]
    assert torch.equal(again, higher)
    noisy = AugmentConfig(noise_prob=1.0, reverb_prob=0, telephone_prob=0, gain_prob=0, clip_prob=0)
    before = AugmentedCutBatches(Lexicon.from_cmudict(), noisy, seed=5).features([cut])[0]
    never = AugmentedCutBatches(Lexicon.from_cmudict(), noisy, seed=5, tempo_prob=0.0, pitch_prob=0.0,
                                tempo_range=(0.8, 0.8), pitch_range=(3.0, 3.0)).features([cut])[0]
    assert torch.equal(never, before)  # off: earlier runs unchanged
    for bad in ({"tempo_prob": 2.0}, {"tempo_range": (0.3, 1.0)}, {"pitch_range": (-13.0, 0.0)},
                {"pitch_range": (2.0, 1.0)}):
        with pytest.raises(ValueError, match="tempo_|pitch_"):
            AugmentedCutBatches(Lexicon.from_cmudict(), off, **bad)


def test_digital_silence_batches_pad_every_cut_with_exact_silence_and_no_noise(cuts):
    from fsttopo.training import AugmentedCutBatches
    from fsttopo.training.augment import AugmentConfig

    noisy = AugmentConfig(reverb_prob=0, noise_prob=1.0, telephone_prob=0, gain_prob=0, clip_prob=0)
    some = list(cuts)[:2]
    plain = AugmentedCutBatches(Lexicon.from_cmudict(), noisy).features(some)
    digital = AugmentedCutBatches(Lexicon.from_cmudict(), noisy, digital_silence_prob=1.0,
                                  digital_silence_pad=3.0).features(some)
    for p, d in zip(plain, digital):
        extra = d.shape[0] - p.shape[0]
        assert 0 < extra <= 600  # two draws of at most 3 s each, 10 ms frames
        floor = d.min()
        silent = (d - floor).abs().max(1).values < 1e-4  # every mel bin at the log floor: no noise was added
        assert int(silent.sum()) >= extra - 10
    never = AugmentedCutBatches(Lexicon.from_cmudict(), noisy, digital_silence_prob=0.0, digital_silence_pad=3.0)
    assert all(torch.equal(a, b) for a, b in zip(never.features(some), plain))  # earlier runs unchanged
    for bad in ({"digital_silence_prob": -0.1}, {"digital_silence_pad": float("inf")}):
        with pytest.raises(ValueError, match="digital_silence_"):
            AugmentedCutBatches(Lexicon.from_cmudict(), noisy, **bad)


def test_the_prior_of_cuts_without_stored_features_is_computed_from_their_audio(cuts):
    model = tiny_model()
    stored = estimate_log_prior(model, cuts, max_hours=None)
    from_audio = estimate_log_prior(model, cuts.drop_features(), max_hours=None)
    torch.testing.assert_close(from_audio, stored, rtol=0, atol=0.02)  # Lilcom stores features in 1/32 steps


def test_trainer_stores_grapheme_units_and_trains_on_punctuated_text(cuts, tmp_path):
    from lhotse import CutSet
    from lhotse.utils import fastcopy

    from fsttopo.aligner import Aligner
    from fsttopo.data.graphemes import GraphemeUnits
    from fsttopo.data.units import units_to_dict

    punctuated = CutSet.from_cuts(fastcopy(c, supervisions=[fastcopy(s, text=s.text.replace(" ", ", ", 1) + "!")
                                                            for s in c.supervisions]) for c in cuts)
    units = GraphemeUnits.from_texts(c.supervisions[0].text for c in punctuated)
    assert "," not in units.tokens and "!" not in units.tokens
    config = ModelConfig(num_tokens=units.num_tokens, d_model=32, num_layers=1, num_heads=2, ffn_dim=64, conv_kernel=3)
    path = train(config, ObjectiveConfig(topology="ctc"), TrainConfig(epochs=1, max_duration=20.0, peak_lr=1e-3),
                 punctuated, punctuated, units, units.tokens, tmp_path)
    assert read_model_file(path).units == read_model_file(tmp_path / "epoch1.pt").units == units_to_dict(units)
    aligner = Aligner.from_file(path)
    assert isinstance(aligner.lexicon, GraphemeUnits) and aligner.tokens == units.tokens
