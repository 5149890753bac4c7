"""The noisy-recording warning (fsttopo.inference.noise_check): the shipped example stays quiet, the
same recording under white noise at 10 dB SNR is flagged, by the API and by `fsttopo align`."""

import numpy as np
import pytest
import soundfile as sf
import torch

from fsttopo import cli
from fsttopo.data.features import compute_features, dynamic_range_db
from fsttopo.inference.band_check import BAND_LIMITED_BELOW_DB
from fsttopo.inference.noise_check import NOISY_BELOW_DB, NoisyRecordingWarning, noise_warning
from fsttopo.resources import example_paths


def noisy_copy(tmp_path, snr_db):
    wav, txt, _ = example_paths()
    x, sr = sf.read(wav, dtype="float32")
    noise = np.random.default_rng(0).standard_normal(x.shape).astype(np.float32)
    noise *= np.sqrt(np.mean(x ** 2) / np.mean(noise ** 2) / 10 ** (snr_db / 10))
    path = tmp_path / "noisy example.wav"
    sf.write(path, x + noise, sr)
    return path, txt


def test_clean_example_is_not_flagged_and_10_db_white_noise_is(tmp_path):
    wav, _, _ = example_paths()
    clean = compute_features(wav)
    assert dynamic_range_db(clean) >= NOISY_BELOW_DB and noise_warning(clean, "x") is None
    path, _ = noisy_copy(tmp_path, 10.0)
    noisy = compute_features(path)
    message = noise_warning(noisy, "rec")
    assert message is not None and message.startswith("rec looks noisy") and "--model robust" in message
    assert f"{dynamic_range_db(noisy):.1f} dB" in message
    assert noise_warning(torch.zeros(0, 80), "empty") is None


def test_align_prints_the_warning_and_still_writes_the_alignment(tmp_path, capsys):
    path, txt = noisy_copy(tmp_path, 10.0)
    from fsttopo.files import align_audio_file, align_file, load_aligner

    with pytest.warns(NoisyRecordingWarning):
        align_audio_file(load_aligner(), path, txt.read_text(), tmp_path / "api", plot=False)
    with pytest.warns(NoisyRecordingWarning, match="noisy example looks noisy"):
        noisy = align_file(path, txt.read_text(), model="default")  # --model auto gives it the robust model
    assert len(noisy.words) == len(txt.read_text().split())
    cli.main(["align", str(path), str(txt), "--out", str(tmp_path / "cli"), "--no-plot", "--model", "default"])
    printed = capsys.readouterr()
    assert printed.err.count("warning: noisy example looks noisy") == 1
    assert (tmp_path / "cli" / "noisy example.json").exists()
    # the right transcript, flagged: the verdict says the recording's condition can be why
    assert "LOW: the transcript may not match the audio, or the recording's condition lowers it" in printed.out
    # the robust model's flag allows for the noise (fsttopo.inference.confidence_conditions): ok
    cli.main(["align", str(path), str(txt), "--out", str(tmp_path / "robust"), "--no-plot", "--model", "robust"])
    assert "relative 0.490 + 0.205 allowed for the recording: noise, echo, dynamic range (ok;" in capsys.readouterr().out
    wav, _, _ = example_paths()
    cli.main(["align", str(wav), str(txt), "--out", str(tmp_path / "clean"), "--no-plot"])
    printed = capsys.readouterr()
    assert "looks noisy" not in printed.err and "condition lowers it" not in printed.out


def test_align_dir_lists_noisy_band_limited_and_clipped_files_and_keeps_them_on_resume(tmp_path, capsys):
    from test_band_check import narrowband_copy
    from test_clip_check import clipped_copy
    from test_reverb_check import reverberant_copy

    from fsttopo.inference.clip_check import CLIPPED_ABOVE_PERCENT

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    path, txt = noisy_copy(corpus, 10.0)
    path.with_suffix(".txt").write_text(txt.read_text())
    narrowband_copy(corpus / "call.wav")[0].with_suffix(".txt").write_text(txt.read_text())
    clipped_copy(corpus / "loud one.wav", 10.0).with_suffix(".txt").write_text(txt.read_text())
    reverberant_copy(corpus / "hall.wav").with_suffix(".txt").write_text(txt.read_text())
    wav, _, _ = example_paths()
    (corpus / "clean.wav").write_bytes(wav.read_bytes())
    (corpus / "clean.txt").write_text(txt.read_text())
    out = tmp_path / "out"
    cli.main(["align-dir", str(corpus), "--out", str(out)])
    err = capsys.readouterr().err
    assert "warning: 1 of them look noisy" in err and "warning: 1 of them look band-limited" in err
    assert "warning: 1 of them look clipped" in err and "warning: 1 of them look reverberant" in err
    assert (out / "reverberant.tsv").read_text().startswith("hall.wav\t")
    lines = (out / "noisy.tsv").read_text().splitlines()
    assert len(lines) == 1 and lines[0].split("\t")[0] == "noisy example.wav"
    assert float(lines[0].split("\t")[1]) < NOISY_BELOW_DB
    band = (out / "band_limited.tsv").read_text().splitlines()
    assert len(band) == 1 and band[0].split("\t")[0] == "call.wav"
    assert float(band[0].split("\t")[1]) < BAND_LIMITED_BELOW_DB
    clipped = (out / "clipped.tsv").read_text().splitlines()
    assert len(clipped) == 1 and clipped[0].split("\t")[0] == "loud one.wav"
    assert float(clipped[0].split("\t")[1]) > CLIPPED_ABOVE_PERCENT
    cli.main(["align-dir", str(corpus), "--out", str(out), "--resume"])
    assert "5 kept up to date" in capsys.readouterr().out
    assert (out / "noisy.tsv").read_text().splitlines() == lines
    assert (out / "band_limited.tsv").read_text().splitlines() == band
    assert (out / "clipped.tsv").read_text().splitlines() == clipped


def test_align_cuts_lists_noisy_cuts_whole_resumed_and_merged_from_shards(tmp_path, capsys):
    import warnings

    from lhotse import CutSet, Fbank, FbankConfig, LilcomFilesWriter, Recording, SupervisionSegment
    from lhotse.cut import MonoCut

    from fsttopo.merge import merge_alignments

    noisy, txt = noisy_copy(tmp_path, 10.0)
    wav, _, _ = example_paths()
    cuts = []
    for i, path in enumerate([wav, noisy, wav]):
        rec = Recording.from_file(path, recording_id=f"rec{i}")
        sup = SupervisionSegment(f"utt{i}", rec.id, 0.0, rec.duration, text=txt.read_text().strip())
        cuts.append(MonoCut(f"cut{i}", 0.0, rec.duration, 0, recording=rec, supervisions=[sup]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cuts = CutSet.from_cuts(cuts).compute_and_store_features(Fbank(FbankConfig(num_mel_bins=80)),
                                                                 tmp_path / "feats", storage_type=LilcomFilesWriter)
    manifest = tmp_path / "cuts.jsonl.gz"
    cuts.to_file(manifest)
    whole = tmp_path / "whole"
    cli.main(["align-cuts", str(manifest), "--out", str(whole), "--block-size", "1"])
    assert "warning: 1 of them look noisy" in capsys.readouterr().err
    lines = (whole / "noisy.tsv").read_text().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["cut1"]
    cli.main(["align-cuts", str(manifest), "--out", str(whole), "--block-size", "1", "--resume"])
    assert (whole / "noisy.tsv").read_text().splitlines() == lines
    for i in range(2):
        cli.main(["align-cuts", str(manifest), "--out", str(tmp_path / "sharded"), "--block-size", "1",
                  "--shard", f"{i}/2"])
    shards = [tmp_path / "sharded" / f"shard-{i}-of-2" for i in range(2)]
    assert (shards[0] / "noisy.tsv").read_text() == "" and (shards[1] / "noisy.tsv").read_text().splitlines() == lines
    merge_alignments(shards, tmp_path / "merged")
    assert (tmp_path / "merged" / "noisy.tsv").read_text().splitlines() == lines
    # stored features: the samples are not read, so nothing is checked for clipping
    assert all((d / "clipped.tsv").read_text() == "" for d in (whole, *shards, tmp_path / "merged"))
