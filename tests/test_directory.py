"""Aligning a directory of recordings with transcripts beside them (`fsttopo align-dir`)."""

import shutil
from pathlib import Path

import pytest

from fsttopo import cli
from fsttopo.aligner import Aligner, align_audio_file
from fsttopo.data.export import read_ctm, read_json, read_textgrid
from fsttopo.directory import align_directory, find_utterances

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "example"
WAV = next(EXAMPLE.glob("*.wav"))
TRANSCRIPT = WAV.with_suffix(".txt").read_text().strip()


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    (root / "spk2").mkdir(parents=True)
    shutil.copy(WAV, root / "a.wav")
    (root / "a.txt").write_text(TRANSCRIPT + "\n")
    shutil.copy(WAV, root / "spk2" / "b.wav")
    words = TRANSCRIPT.split()
    (root / "spk2" / "b.lab").write_text(" ".join(words[:8]) + "\n" + " ".join(words[8:]))  # two lines
    return root


def test_find_utterances(corpus):
    utts = find_utterances(corpus)
    assert [(str(u.relative), u.utterance_id, u.text) for u in utts] == [
        ("a", "a", TRANSCRIPT), ("spk2/b", "spk2_b", TRANSCRIPT)]


def test_align_dir_equals_aligning_each_file(corpus, tmp_path):
    aligner = Aligner.from_file(cli.DEFAULT_MODEL)
    # one utterance per batch: the prior (the batch's average posterior) is the file's own, as for one file
    alis = align_directory(aligner, corpus, tmp_path / "out", max_duration=1.0)
    single = align_audio_file(aligner, WAV, TRANSCRIPT, tmp_path / "single", plot=False)
    for ali, rel in zip(alis, ["a", "spk2/b"]):
        assert [(w.symbol, round(w.start, 6), round(w.end, 6)) for w in ali.words] == \
               [(w.symbol, round(w.start, 6), round(w.end, 6)) for w in single.words]
        assert read_json(tmp_path / "out" / f"{rel}.json")[0].words == ali.words
        grid = read_textgrid(tmp_path / "out" / f"{rel}.TextGrid")
        assert [w.symbol for w in grid.words] == TRANSCRIPT.split()
    assert len(read_ctm(tmp_path / "out" / "alignments.ctm")) == 2
    rows = [line.split("\t") for line in (tmp_path / "out" / "confidence.tsv").read_text().splitlines()]
    assert sorted(r[1] for r in rows) == ["a", "spk2/b"]
    assert [float(r[0]) for r in rows] == pytest.approx([ali.confidence for ali in alis], abs=1e-4)


def test_cli_align_dir_names_every_problem(corpus, tmp_path, capsys):
    cli.main(["align-dir", str(corpus), "--out", str(tmp_path / "out")])
    assert "aligned 2 utterances" in capsys.readouterr().out
    (corpus / "spk2" / "c.wav").write_bytes(WAV.read_bytes())
    (corpus / "d.flac").write_bytes(b"")
    (corpus / "d.txt").write_text("   \n")
    with pytest.raises(SystemExit, match=r"2 without a transcript .*d.flac, spk2/c.wav"):
        cli.main(["align-dir", str(corpus), "--out", str(tmp_path / "out")])
    (corpus / "spk2" / "c.txt").write_text("zorblax the cat")
    (corpus / "d.txt").write_text("the qqxv zorblax")
    with pytest.raises(SystemExit, match=r"2 word\(s\) not in the lexicon: 'qqxv' \(d\); 'zorblax' \(d, spk2/c\)"):
        cli.main(["align-dir", str(corpus), "--out", str(tmp_path / "out"), "--oov", "error"])
    (corpus / "spk2" / "c.txt").write_text("the cat")
    (corpus / "d.txt").write_text("the cat")
    with pytest.raises(SystemExit, match="cannot read audio file .*d.flac"):  # the empty file
        cli.main(["align-dir", str(corpus), "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit, match="not a directory"):
        cli.main(["align-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "out")])


def test_align_dir_skips_and_lists_a_transcript_that_cannot_fit(corpus, tmp_path, capsys):
    (corpus / "spk2" / "b.lab").write_text(" ".join(["hello world"] * 100))  # far more phones than frames
    cli.main(["align-dir", str(corpus), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert "aligned 1 utterances" in captured.out and "1 utterance(s) could not be aligned" in captured.err
    assert (tmp_path / "out" / "failed.tsv").read_text().startswith("spk2/b\t")
    assert (tmp_path / "out" / "a.json").exists() and not (tmp_path / "out" / "spk2" / "b.json").exists()
    assert len(read_ctm(tmp_path / "out" / "alignments.ctm")) == 1
