"""Input level normalization (fsttopo.data.level): measured levels, gains, and what the features
and the shipped model make of quiet recordings."""

import math

import numpy as np
import pytest
import soundfile
import torch

from fsttopo.data.features import compute_features
from fsttopo.data.level import MAX_GAIN_DB, TARGET_LEVEL_DB, normalize_level, speech_level_db
from fsttopo.resources import example_paths

SR = 16000


def sine(amplitude: float, seconds: float = 1.0, freq: float = 440.0) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_level_of_a_sine_is_its_rms_in_dbfs():
    # 440 Hz over 25 ms frames: 11 periods per frame, each frame's RMS is A / sqrt(2)
    assert speech_level_db(sine(0.5), SR) == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=0.05)


def test_digital_silence_does_not_count():
    x = sine(0.1)
    padded = np.concatenate([np.zeros(SR * 30, np.float32), x, np.zeros(SR * 5, np.float32)])
    assert speech_level_db(padded, SR) == pytest.approx(speech_level_db(x, SR), abs=1e-6)
    assert speech_level_db(np.zeros(SR, np.float32), SR) is None
    out, gain = normalize_level(np.zeros(SR, np.float32), SR)
    assert gain == 0.0 and not out.any()


def test_minutes_of_room_noise_around_a_short_sentence_do_not_count():
    """5.6 s of speech in 2 min of -60 dBFS noise: 95 % of the frames are noise, and the 95th
    percentile over them all would be the noise's level (a 45 dB boost, the noise at speech level)."""
    speech, rate = soundfile.read(str(example_paths()[0]), dtype="float32")
    noise = (1e-3 * np.random.default_rng(0).standard_normal(60 * rate)).astype(np.float32)
    alone = speech_level_db(speech, rate)
    assert speech_level_db(np.concatenate([noise, speech, noise]), rate) == pytest.approx(alone, abs=0.5)
    # pauses shorter than QUIET_RUN count as they always did: the plain 95th percentile of frame RMS
    short = np.concatenate([noise[: rate], speech, noise[: rate]])
    rms = np.sqrt(np.mean(short[: len(short) // 400 * 400].reshape(-1, 400).astype(np.float64) ** 2, axis=1))
    assert speech_level_db(short, rate) == pytest.approx(20 * math.log10(np.percentile(rms, 95)), abs=1e-9)


def test_normalized_level_is_the_target_whatever_the_input_gain():
    x = sine(0.3)
    for gain_db in (-40.0, -10.0, 0.0, 6.0):
        out, applied = normalize_level(x * np.float32(10 ** (gain_db / 20)), SR)
        assert speech_level_db(out, SR) == pytest.approx(TARGET_LEVEL_DB, abs=1e-3)
        assert out.dtype == np.float32
    _, applied = normalize_level(sine(1e-5), SR)  # -103 dBFS: more than the largest boost away
    assert applied == MAX_GAIN_DB


def test_two_channels_are_measured_as_their_mix():
    x = sine(0.2)
    stereo = np.stack([x, x])
    assert speech_level_db(stereo, SR) == pytest.approx(speech_level_db(x, SR))
    assert normalize_level(stereo, SR)[0].shape == (2, len(x))


@pytest.mark.parametrize("bad, message", [
    (np.array([0.1, np.nan], np.float32), "NaN"),
    (np.zeros((2, 2, 2), np.float32), "shape"),
])
def test_bad_samples_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        speech_level_db(bad, SR)


def test_features_of_a_quieter_copy_equal_the_features_of_the_original():
    wav = example_paths()[0]
    x, sr = soundfile.read(wav, dtype="float32")
    loud = compute_features(x, sr)
    quiet = compute_features(x * np.float32(0.01), sr)
    # the copy's faintest frames fall under the digital-silence threshold, which moves the measured
    # level by 0.006 dB: 0.0014 nats on every feature
    torch.testing.assert_close(quiet, loud, rtol=0, atol=3e-3)
    # without normalization the quiet copy is 9.2 nats lower where it is not on the energy floor
    raw = compute_features(x * np.float32(0.01), sr, normalize=False)
    assert float((compute_features(x, sr, normalize=False) - raw).median()) == pytest.approx(2 * math.log(100), abs=0.01)


def test_stored_features_are_those_of_compute_features(tmp_path):
    from lhotse import CutSet, Recording, SupervisionSegment
    from lhotse.cut import MonoCut

    from fsttopo.data.manifests import compute_fbank

    wav = example_paths()[0]
    x, sr = soundfile.read(wav, dtype="float32")
    soundfile.write(tmp_path / "quiet.wav", x * 0.01, sr, subtype="FLOAT")
    rec = Recording.from_file(tmp_path / "quiet.wav")
    cut = MonoCut(rec.id, 0.0, rec.duration, 0, recording=rec,
                  supervisions=[SupervisionSegment(rec.id, rec.id, 0.0, rec.duration, text="x")])
    stored = compute_fbank(CutSet.from_cuts([cut]), tmp_path / "feats")
    feats = torch.from_numpy(next(iter(stored)).load_features())
    torch.testing.assert_close(feats, compute_features(tmp_path / "quiet.wav"), rtol=0, atol=0.05)  # Lilcom


@pytest.mark.parametrize("model", ["default", "robust"])
def test_a_40_db_quieter_recording_aligns_as_well_as_the_original(model):
    # issue 13's target: -40 dB gain within 2 ms of clean, here on the shipped example
    from fsttopo.data.export import load_alignments
    from fsttopo.files import load_aligner
    from fsttopo.scoring import word_boundary_errors

    wav, txt, ref_path = example_paths()
    ref = load_alignments(ref_path)[0]
    x, sr = soundfile.read(wav, dtype="float32")
    quiet = np.round(x * 0.01 * 32767) / 32767  # as a 16-bit file stores it: the faint parts quantized
    aligner = load_aligner(model)
    errors = []
    for audio in (x, quiet):
        hyp = aligner.align([compute_features(audio.astype(np.float32), sr)], [txt.read_text()]).alignments[0]
        errors.append(np.mean([abs(e) for pair in word_boundary_errors(hyp, ref) for e in pair]))
    assert abs(errors[1] - errors[0]) <= 2.0, errors  # ms
