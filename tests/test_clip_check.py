"""Clipped recordings are flagged (fsttopo/inference/clip_check.py): the measure by hand, the shipped
example unclipped and clipped as a 16-bit file stores it, the warning of `fsttopo align`. The
align-dir list is tested with the other conditions' lists (tests/test_noise_check.py)."""

import numpy as np
import pytest
import soundfile

from fsttopo import cli
from fsttopo.data.clipping import clipped_percent
from fsttopo.inference.clip_check import CLIPPED_ABOVE_PERCENT, clip_warning, clipped_share
from fsttopo.inference.recording_check import sample_conditions
from fsttopo.resources import example_paths

WAV, TXT, _ = example_paths()


def clipped_copy(path, over_db: float):
    """The example scaled so that its peak would be ``over_db`` dB over full scale, clipped there and
    written as 16-bit PCM at ``path``."""
    x, sr = soundfile.read(WAV, dtype="float64")
    soundfile.write(path, np.clip(x * 10 ** (over_db / 20) / np.abs(x).max(), -1.0, 1.0), sr, subtype="PCM_16")
    return path


def test_clipped_percent_by_hand():
    # peak 1: plateaus at +1 (3 samples) and -1 (2, within the 1e-3 tolerance); 8 samples of >= 0.1
    x = np.array([0.0, 0.05, 0.5, 1.0, 1.0, 0.9995, 0.5, 0.0, -0.5, -1.0, -1.0, 0.0])
    assert clipped_percent(x) == pytest.approx(100 * 5 / 8)
    assert clipped_percent(np.array([0.0, 0.5, 1.0, 0.5, 0.0, -0.99])) == 0.0  # single crests are no plateau
    assert clipped_percent(0.25 * x) == pytest.approx(100 * 5 / 8)  # clipped, then made quieter
    assert clipped_percent(np.array([1.0, 1.0, 0.2])) == pytest.approx(100 * 2 / 3)  # at the ends too
    assert clipped_percent(np.zeros(100)) == 0.0 and clipped_percent(np.zeros(0)) == 0.0
    assert clipped_percent(np.array([0.7])) == 0.0


def brute_force_clipped_percent(x) -> float:
    x = [abs(float(v)) for v in x]
    peak = max(x)
    at = [v >= peak * (1 - 1e-3) for v in x]
    on = sum(at[i] and ((i > 0 and at[i - 1]) or (i + 1 < len(x) and at[i + 1])) for i in range(len(x)))
    return 100.0 * on / sum(v >= 0.1 * peak for v in x)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 20])
def test_clipped_percent_in_chunks_is_the_brute_force_one(chunk):
    rng = np.random.default_rng(0)
    for trial in range(20):
        x = rng.standard_normal(int(rng.integers(1, 300))) * 0.3
        x = np.clip(x, -rng.uniform(0.2, 1.0), rng.uniform(0.2, 1.0))  # plateaus, across chunk edges too
        if trial % 3 == 0:
            x = np.round(x * 32767).astype(np.int16)  # integer samples: -32768 has no int16 magnitude
            x[0] = -32768
        assert clipped_percent(x, chunk=chunk) == pytest.approx(brute_force_clipped_percent(x)), (trial, chunk)


def test_the_example_is_unclipped_and_its_clipped_copies_are_flagged(tmp_path):
    x, _ = soundfile.read(WAV, dtype="float32")
    assert clipped_share(x) is None and clip_warning(x, "rec") is None and sample_conditions(x) == {}
    shares = []
    for over_db in (6.0, 10.0, 20.0):  # 2.0, 14.1 and 47.4 %
        y, _ = soundfile.read(clipped_copy(tmp_path / f"c{over_db}.wav", over_db), dtype="float32")
        shares.append(clipped_share(y))
        assert shares[-1] is not None and sample_conditions(y) == {"clipped_percent": shares[-1]}
    assert shares == sorted(shares) and shares[-1] > 20  # 20 dB over: most loud samples are cut flat
    # at full scale, or 3 dB over it (0.3 %: the test utterances so clipped align as the originals)
    for over_db in (0.0, 3.0):
        y, _ = soundfile.read(clipped_copy(tmp_path / "loud.wav", over_db), dtype="float32")
        assert clipped_share(y) is None, over_db
    message = clip_warning(soundfile.read(tmp_path / "c20.0.wav", dtype="float32")[0], "rec")
    assert message.startswith("rec looks clipped: ") and f"{CLIPPED_ABOVE_PERCENT:g} % at most" in message


def test_align_warns_once_about_a_clipped_recording(tmp_path, capsys):
    clipped = clipped_copy(tmp_path / "too loud.wav", 10.0)
    cli.main(["align", str(clipped), str(TXT), "--out", str(tmp_path / "a"), "--no-plot"])
    err = capsys.readouterr().err
    assert err.count("looks clipped") == 1 and "warning: too loud looks clipped" in err
    cli.main(["align", str(WAV), str(TXT), "--out", str(tmp_path / "b"), "--no-plot"])
    assert "clipped" not in capsys.readouterr().err


def test_align_file_raises_the_warning(tmp_path):
    from fsttopo.files import align_file
    from fsttopo.inference.clip_check import ClippedRecordingWarning

    with pytest.warns(ClippedRecordingWarning, match="looks clipped"):
        ali = align_file(clipped_copy(tmp_path / "c.wav", 10.0), TXT.read_text().strip())
    assert len(ali.words) == len(TXT.read_text().split())


def test_align_cuts_aligns_cuts_without_features_and_lists_the_clipped(tmp_path, capsys):
    """Cuts without stored features (Lhotse recipes that compute them on the fly, ``fsttopo prepare
    --no-features``) are aligned from their audio, as `fsttopo align` would, and checked for clipping."""
    from lhotse import CutSet, Recording, SupervisionSegment
    from lhotse.cut import MonoCut

    from fsttopo.aligner import Aligner, compute_features
    from fsttopo.data.export import read_json
    from fsttopo.resources import default_model_path

    text = TXT.read_text().strip()
    cuts = []
    for i, path in enumerate([WAV, clipped_copy(tmp_path / "loud.wav", 10.0)]):
        rec = Recording.from_file(path, recording_id=f"rec{i}")
        sup = SupervisionSegment(f"utt{i}", rec.id, 0.0, rec.duration, text=text)
        cuts.append(MonoCut(f"cut{i}", 0.0, rec.duration, 0, recording=rec, supervisions=[sup]))
    manifest = tmp_path / "cuts.jsonl.gz"
    CutSet.from_cuts(cuts).to_file(manifest)
    out = tmp_path / "out"
    cli.main(["align-cuts", str(manifest), "--out", str(out)])
    assert "warning: 1 of them look clipped" in capsys.readouterr().err
    assert [line.split("\t")[0] for line in (out / "clipped.tsv").read_text().splitlines()] == ["cut1"]
    assert (out / "failed.tsv").read_text().count("\n") <= 1  # the header at most: both aligned
    ours = read_json(out / "json" / "utt0.json")[0]
    alone = Aligner.from_file(default_model_path()).align([compute_features(str(WAV))], [text]).alignments[0]
    np.testing.assert_allclose([(w.start, w.end) for w in ours.words], [(w.start, w.end) for w in alone.words],
                               atol=1e-6)
