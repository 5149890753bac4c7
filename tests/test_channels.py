"""Multi-channel audio: the mean of the channels by default, or one channel (`--channel`), e.g. one
speaker of a call recorded on two channels; a channel the file lacks is named, not a crash."""

import json

import numpy as np
import pytest
import soundfile as sf

from fsttopo import cli
from fsttopo.data.features import compute_features
from fsttopo.data.export import read_json
from fsttopo.resources import example_paths

WAV, TXT, _ = example_paths()


@pytest.fixture(scope="module")
def call(tmp_path_factory):
    """A two-channel file: channel 1 the example, channel 0 a quiet noise (the other side of a call)."""
    x, sr = sf.read(WAV, dtype="float32")
    other = 0.01 * np.random.default_rng(3).standard_normal(x.shape[0]).astype(np.float32)
    path = tmp_path_factory.mktemp("call") / "call.wav"
    sf.write(path, np.stack([other, x], axis=1), sr, subtype="FLOAT")
    return path, x, other, sr


def test_features_of_one_channel_or_their_mean(call):
    path, x, other, sr = call
    np.testing.assert_array_equal(compute_features(path, channel=1).numpy(), compute_features(x, sr).numpy())
    np.testing.assert_array_equal(compute_features(path, channel=0).numpy(), compute_features(other, sr).numpy())
    np.testing.assert_array_equal(compute_features(path).numpy(), compute_features((x + other) / 2, sr).numpy())
    with pytest.raises(ValueError, match=r"has 2 channels: channel 2 does not exist \(channels are numbered from 0\)"):
        compute_features(path, channel=2)
    with pytest.raises(ValueError, match="has 1 channel: channel -1 does not exist"):
        compute_features(WAV, channel=-1)
    with pytest.raises(ValueError, match="samples given as an array must be mono"):
        compute_features(x, sr, channel=0)


def test_align_one_channel(call, tmp_path):
    path, *_ = call
    cli.main(["align", str(path), str(TXT), "--out", str(tmp_path / "ch1"), "--channel", "1", "--no-plot"])
    cli.main(["align", str(WAV), str(TXT), "--out", str(tmp_path / "mono"), "--no-plot"])
    (one,), (mono,) = read_json(tmp_path / "ch1" / "call.json"), read_json(tmp_path / "mono" / f"{WAV.stem}.json")
    assert [(w.symbol, w.start, w.end) for w in one.words] == [(w.symbol, w.start, w.end) for w in mono.words]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["align", str(path), str(TXT), "--out", str(tmp_path / "bad"), "--channel", "2"])
    assert "--channel 2: " in str(exit_info.value.code) and "has 2 channels (numbered from 0)" in str(exit_info.value.code)
    assert not (tmp_path / "bad").exists()


def test_align_dir_one_channel_and_resume(call, tmp_path, capsys):
    path, *_ = call
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "call.wav").write_bytes(path.read_bytes())
    (corpus / "mono.wav").write_bytes(WAV.read_bytes())
    for name in ("call", "mono"):
        (corpus / f"{name}.txt").write_text(TXT.read_text())
    out = tmp_path / "out"
    with pytest.raises(SystemExit):  # exit status 3: a file failed
        cli.main(["align-dir", str(corpus), "--out", str(out), "--channel", "1"])
    failed = (out / "failed.tsv").read_text().splitlines()[1:]
    assert len(failed) == 1 and failed[0].startswith("mono.wav\tunreadable-audio\t")
    assert "has 1 channel: channel 1 does not exist" in failed[0]
    (one,) = read_json(out / "call.json")
    rows = {r["file"]: r for r in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}
    assert rows["call.wav"]["channel"] == 1 and rows["call.wav"]["status"] == "aligned"
    capsys.readouterr()
    with pytest.raises(SystemExit):
        cli.main(["align-dir", str(corpus), "--out", str(out), "--channel", "1", "--resume"])
    assert "1 kept up to date" in capsys.readouterr().out
    cli.main(["align-dir", str(corpus), "--out", str(out), "--resume"])  # the mean of the channels: aligned again
    assert "kept up to date" not in capsys.readouterr().out
    rows = {r["file"]: r for r in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}
    assert "channel" not in rows["call.wav"]
    assert [w.symbol for w in read_json(out / "call.json")[0].words] == [w.symbol for w in one.words]
