"""The band-limited-recording warning (fsttopo.inference.band_check): the shipped example stays
quiet, the same recording through 8 kHz sampling or the training's telephone band is flagged, by
the API, `fsttopo align` and `fsttopo align-dir`."""

import math

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio.functional as AF
from torchaudio.compliance.kaldi import get_mel_banks

from fsttopo import cli
from fsttopo.data.features import compute_features, high_band_db, mel_bin_centers
from fsttopo.inference.band_check import (BAND_LIMITED_BELOW_DB, BandLimitedRecordingWarning, band_limited_db,
                                          band_warning)
from fsttopo.inference.recording_check import CONDITION_KEYS, recording_conditions
from fsttopo.output_dir import CONDITION_LISTS, condition_counts, row_conditions, write_condition_lists
from fsttopo.resources import example_paths
from fsttopo.training.augment import telephone


def narrowband_copy(path, rate=8000):
    """The example resampled to ``rate`` and written at that rate (as a telephone recording comes)."""
    wav, txt, _ = example_paths()
    x, sr = sf.read(wav, dtype="float32")
    sf.write(path, AF.resample(torch.from_numpy(x), sr, rate).numpy(), rate)
    return path, txt


def test_mel_bin_centers_are_kaldis():
    _, centers = get_mel_banks(80, 512, 16000.0, 20.0, -400.0, 100.0, -500.0, 1.0)
    np.testing.assert_allclose(mel_bin_centers(), centers.double().numpy()[:, 0], rtol=1e-6)


def test_high_band_db_by_hand():
    centers = mel_bin_centers()
    upper = centers >= 5000
    # 100 speech frames whose upper bins lie -4..-2 nats from the rest (the 0.3-3.4 kHz band
    # among them), and 900 frames of silence 78 dB below, which must not count however many
    balance = np.linspace(-4.0, -2.0, 100)
    speech = np.full((100, 80), 3.0)
    speech[:, upper] += balance[:, None]
    silence = np.full((900, 80), -15.0)
    features = torch.tensor(np.concatenate([silence[:450], speech, silence[450:]]), dtype=torch.float32)
    expected = np.quantile(balance, 0.95) * 10 / math.log(10)
    assert high_band_db(features) == pytest.approx(expected, abs=1e-4)
    assert high_band_db(features, quantile=0.5) == pytest.approx(-3.0 * 10 / math.log(10), abs=1e-4)


def test_the_example_is_wideband_and_its_narrowband_copies_are_not(tmp_path):
    wav, _, _ = example_paths()
    clean = compute_features(wav)
    assert high_band_db(clean) > BAND_LIMITED_BELOW_DB + 20 and band_warning(clean, "x") is None
    assert recording_conditions(clean) == {}
    x, sr = sf.read(wav, dtype="float32")
    back = AF.resample(AF.resample(torch.from_numpy(x), sr, 8000), 8000, sr).numpy()
    silence = np.zeros(30 * sr, dtype=np.float32)
    copies = {"8 kHz file": compute_features(narrowband_copy(tmp_path / "a.wav")[0]),
              "8 kHz and back": compute_features(back, sr),
              "8 kHz and back in 30 s of silence": compute_features(np.concatenate([silence, back, silence]), sr),
              "telephone band": compute_features(telephone(x, sr, "band"), sr),
              "mu-law telephone": compute_features(telephone(x, sr, "mulaw"), sr)}
    for name, feats in copies.items():
        level = band_limited_db(feats)
        assert level is not None and level < BAND_LIMITED_BELOW_DB, (name, high_band_db(feats))
        assert recording_conditions(feats) == {"band_limited_db": level}
    message = band_warning(copies["8 kHz file"], "rec")
    assert message.startswith("rec looks band-limited") and "--model robust" in message


def test_align_warns_once_about_an_8_khz_recording(tmp_path, capsys):
    from fsttopo.files import align_file

    path, txt = narrowband_copy(tmp_path / "call 8k.wav")
    with pytest.warns(BandLimitedRecordingWarning, match="call 8k looks band-limited"):
        ali = align_file(path, txt.read_text(), model="default")  # --model auto gives it the robust model
    assert len(ali.words) == len(txt.read_text().split())
    cli.main(["align", str(path), str(txt), "--out", str(tmp_path / "cli"), "--no-plot", "--model", "default"])
    err = capsys.readouterr().err
    assert err.count("warning: call 8k looks band-limited") == 1 and "looks noisy" not in err
    wav, _, _ = example_paths()
    cli.main(["align", str(wav), str(txt), "--out", str(tmp_path / "clean"), "--no-plot"])
    assert "band-limited" not in capsys.readouterr().err


def test_condition_lists_are_written_empty_and_counted(tmp_path):
    rows = [{"file": "a b.wav", "noisy_db": 4.25}, {"file": "c\td.wav", "band_limited_db": -51.04},
            {"file": "e.wav", "noisy_db": 7.0, "band_limited_db": -40.0}, {"file": "f.wav"}]
    write_condition_lists(rows, tmp_path)
    assert (tmp_path / "noisy.tsv").read_text() == "a b.wav\t4.2\ne.wav\t7.0\n"
    assert (tmp_path / "band_limited.tsv").read_text() == "c\\td.wav\t-51.0\ne.wav\t-40.0\n"
    assert condition_counts(rows) == {"noisy_db": 2, "band_limited_db": 2, "reverb_asymmetry": 0, "clipped_percent": 0}
    assert row_conditions(rows[2]) == {"noisy_db": 7.0, "band_limited_db": -40.0} and row_conditions(rows[3]) == {}
    assert set(CONDITION_LISTS) == set(CONDITION_KEYS)  # every measured condition has its list
    write_condition_lists([{"file": "f.wav"}], tmp_path)
    assert (tmp_path / "noisy.tsv").read_text() == "" and (tmp_path / "band_limited.tsv").read_text() == ""
