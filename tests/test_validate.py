"""`fsttopo validate`: every problem of a corpus directory, found without aligning."""

from pathlib import Path

import numpy as np
import pytest
import soundfile

from fsttopo import cli
from fsttopo.aligner import Aligner
from fsttopo.resources import EXAMPLE_DIR
from fsttopo.corpus_check import check_utterance, format_report, scan_directory, validate_corpus

WAV = next(EXAMPLE_DIR.glob("*.wav"))


@pytest.fixture(scope="module")
def aligner():
    return Aligner.from_file(cli.DEFAULT_MODEL)


def write_clip(path: Path, seconds: float, text: str | None, rate: int = 16000, channels: int = 1) -> Path:
    samples, native = soundfile.read(WAV)
    samples = samples[: int(seconds * native)][:: native // rate]
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.stack([samples] * channels, axis=1), rate)
    if text is not None:
        path.with_suffix(".txt").write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    write_clip(root / "spk1" / "ok.wav", 1.0, "you know")
    write_clip(root / "spk1" / "narrow.wav", 1.0, "you know", rate=8000, channels=2)
    write_clip(root / "oov1.wav", 1.0, "zorblax the zorblax qqxv")
    write_clip(root / "oov2.wav", 1.0, "Zorblax!")
    write_clip(root / "short.wav", 0.3, "hello world again")  # 12 phones (hh ah l ow w er l d ah g eh n), 8 frames
    write_clip(root / "latin.wav", 1.0, None)
    (root / "latin.txt").write_bytes("na\xefve".encode("latin-1"))
    write_clip(root / "silent.wav", 0.0, "hello")
    write_clip(root / "notext.wav", 1.0, None)
    write_clip(root / "punct.wav", 1.0, "-- ... !")
    (root / "broken.flac").write_bytes(b"fLaC not really")
    (root / "broken.txt").write_text("the cat")
    return root


def test_validate_reports_every_problem(aligner, corpus):
    report = validate_corpus(aligner, corpus, "error")
    assert report.files == 10 and not report.clean
    assert sorted((p.file, p.reason) for p in report.problems) == [
        ("broken.flac", "unreadable-audio"), ("latin.wav", "undecodable-transcript"),
        ("notext.wav", "missing-transcript"), ("oov1.wav", "unknown-words"), ("oov2.wav", "unknown-words"),
        ("punct.wav", "empty-transcript"), ("short.wav", "too-short"), ("silent.wav", "empty-audio")]
    assert report.unknown_words == {"zorblax": ["oov1.wav"], "qqxv": ["oov1.wav"], "Zorblax": ["oov2.wav"]}
    assert report.unknown_counts["zorblax"] == 2
    # every readable file counts, also those with transcript problems
    assert report.sample_rates == {16000: 8, 8000: 1} and report.channels == {1: 8, 2: 1}
    assert report.duration == pytest.approx(7 * 1.0 + 0.3)
    short = next(p for p in report.problems if p.reason == "too-short")
    assert "8 model frames (40 ms each) for 12 phones of 3 words" in short.message
    text = format_report(report)
    assert "8 of 10 files cannot be aligned" in text and "16000 Hz: 8" in text and "zorblax\t2\toov1.wav" in text


def test_too_short_counts_the_lexicon_pronunciations(aligner, tmp_path):
    root = tmp_path / "c"
    write_clip(root / "fits.wav", 0.3, "a a a a a a a a")  # 8 phones in 8 frames
    write_clip(root / "over.wav", 0.3, "a a a a a a a a a")
    utterances, _ = scan_directory(root)
    assert [[p.reason for p in check_utterance(aligner, u).problems] for u in utterances] == [[], ["too-short"]]
    # with phone-loop unknown words are fine, and count at least one phone each for the length check
    write_clip(root / "oov.wav", 0.3, "a a a a a a a zorblax qqxv")
    (oov,) = [u for u in scan_directory(root)[0] if u.relative == "oov"]
    assert [p.reason for p in check_utterance(aligner, oov, oov="phone-loop").problems] == ["too-short"]
    assert [p.reason for p in check_utterance(aligner, oov, oov="error").problems] == ["unknown-words"]


def test_cli_validate_exit_status_and_report_file(aligner, corpus, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "_load_aligner", lambda args, routed=False: aligner)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(SystemExit) as exit_:
        cli.main(["validate", str(corpus), "--oov", "error"])
    assert exit_.value.code == 3
    captured = capsys.readouterr()
    assert "unknown-words (2)" in captured.out and "fsttopo validate: 8 of 10 audio files with problems" in captured.err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # writes nothing
    with pytest.raises(SystemExit):
        cli.main(["validate", str(corpus), "--oov", "error", "--out", str(tmp_path / "report.tsv")])
    rows = (tmp_path / "report.tsv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "file\treason\tmessage" and len(rows) == 9
    assert rows[1].startswith("broken.flac\tunreadable-audio\t")
    for name in ["oov1", "oov2", "short", "latin", "silent", "notext", "punct", "broken"]:
        for f in corpus.glob(f"{name}.*"):
            f.unlink()
    cli.main(["validate", str(corpus)])  # clean: returns, exit status 0
    assert "no problems found" in capsys.readouterr().out
