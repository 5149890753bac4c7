"""Aligning a directory of recordings with transcripts beside them (`fsttopo align-dir`): every file
aligned or listed with its reason, outputs at mirrored paths, a manifest, resume, atomic replacement."""

import json
import math
import shutil
from pathlib import Path

import pytest
import soundfile

from fsttopo.resources import EXAMPLE_DIR
from fsttopo import cli
from fsttopo.aligner import Aligner
from fsttopo.files import align_audio_file
from fsttopo.corpus_check import scan_directory
from fsttopo.data.alignment import TimedToken, UtteranceAlignment
from fsttopo.data.atomic import atomic_path, write_text_atomic
from fsttopo.data.export import read_ctm, read_json, read_textgrid, write_ctm
from fsttopo.directory import align_directory
from fsttopo.output_dir import file_identity

EXAMPLE = EXAMPLE_DIR
WAV = next(EXAMPLE.glob("*.wav"))
TRANSCRIPT = WAV.with_suffix(".txt").read_text().strip()
CLIP_WORDS = "you know some time you're"  # the first 1.6 s of the example
FAST = {"phases": 1}  # one frame-grid phase: 4x less model time than the shipped setting
IDENTITY = {"model": file_identity(cli.DEFAULT_MODEL)}


@pytest.fixture(scope="module")
def aligner():
    return Aligner.from_file(cli.DEFAULT_MODEL)


def write_clip(path: Path, seconds: float, text: str | None = None, suffix: str = ".txt") -> Path:
    """The first ``seconds`` of the example recording at ``path``, with ``text`` beside it."""
    samples, rate = soundfile.read(WAV)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, samples[: int(seconds * rate)], rate)
    if text is not None:
        path.with_suffix(suffix).write_text(text + "\n", encoding="utf-8")
    return path


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


def outputs_of(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def manifest_status(out: Path) -> dict[str, str]:
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    return {r["file"]: r["status"] for r in rows}


def failed_reasons(out: Path) -> dict[str, str]:
    lines = (out / "failed.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "file\treason\tmessage"
    return {line.split("\t")[0]: line.split("\t")[1] for line in lines[1:]}


def test_scan_directory_pairs_files_and_names_transcript_problems(tmp_path):
    root = tmp_path / "c"
    for rel in ["utt.1.wav", "utt.2.wav", "spkC/x.wav", "spkC_x.wav", "sp ace/é x.v2.wav"]:
        write_clip(root / rel, 0.3, "the cat")
    write_clip(root / "dup.wav", 0.3, "the cat")
    write_clip(root / "dup.flac", 0.3)
    write_clip(root / "none.wav", 0.3)
    write_clip(root / "empty.wav", 0.3, " \n\t")
    write_clip(root / "both.wav", 0.3, "the cat")
    (root / "both.lab").write_text("the cat")
    write_clip(root / "latin.wav", 0.3)
    (root / "latin.txt").write_bytes("the café".encode("latin-1"))
    utterances, problems = scan_directory(root)
    assert [(u.file, u.utterance_id) for u in utterances] == [
        ("sp ace/é x.v2.wav", "sp ace/é x.v2"), ("spkC/x.wav", "spkC/x"), ("spkC_x.wav", "spkC_x"),
        ("utt.1.wav", "utt.1"), ("utt.2.wav", "utt.2")]
    assert utterances[3].transcript.name == "utt.1.txt"
    assert {(p.file, p.reason) for p in problems} == {
        ("both.wav", "two-transcripts"), ("dup.flac", "duplicate-audio"), ("dup.wav", "duplicate-audio"),
        ("empty.wav", "empty-transcript"), ("latin.wav", "undecodable-transcript"), ("none.wav", "missing-transcript")}
    latin = next(p for p in problems if p.reason == "undecodable-transcript")
    assert "latin.txt is not UTF-8: byte 0xe9 at offset 7" in latin.message


def test_align_dir_equals_aligning_each_file(aligner, corpus, tmp_path):
    # one utterance per batch: the prior (the batch's average posterior) is the file's own, as for one file
    result = align_directory(aligner, corpus, tmp_path / "out", max_duration=1.0)
    single = align_audio_file(aligner, WAV, TRANSCRIPT, tmp_path / "single", plot=False)
    assert [a.utterance_id for a in result.alignments] == ["a", "spk2/b"]
    for ali, rel in zip(result.alignments, ["a", "spk2/b"]):
        assert [(w.symbol, round(w.start, 6), round(w.end, 6)) for w in ali.words] == \
               [(w.symbol, round(w.start, 6), round(w.end, 6)) for w in single.words]
        assert read_json(tmp_path / "out" / f"{rel}.json")[0].words == ali.words
        grid = read_textgrid(tmp_path / "out" / f"{rel}.TextGrid")
        assert [w.symbol for w in grid.words] == TRANSCRIPT.split()
    assert [a.utterance_id for a in read_ctm(tmp_path / "out" / "alignments.ctm")] == ["a", "spk2/b"]
    rows = [line.split("\t") for line in (tmp_path / "out" / "confidence.tsv").read_text().splitlines()]
    assert sorted(r[1] for r in rows) == ["a", "spk2/b"]
    assert [float(r[0]) for r in rows] == pytest.approx(sorted(a.relative_confidence for a in result.alignments),
                                                        abs=1e-4)
    by_file = {r[1]: r for r in rows}
    for a in result.alignments:
        assert float(by_file[a.utterance_id][3]) == pytest.approx(a.confidence, abs=1e-4)
        assert by_file[a.utterance_id][2] == {True: "low", False: "ok", None: ""}[a.low_confidence]
    assert failed_reasons(tmp_path / "out") == {}
    assert manifest_status(tmp_path / "out") == {"a.wav": "aligned", "spk2/b.wav": "aligned"}
    # the 2 % of the words with the widest boundary spread, widest first, as the JSON outputs hold them
    words = [(max(w.start_sd, w.end_sd), a.utterance_id, i, w) for a in result.alignments for i, w in enumerate(a.words)]
    listed = [line.split("\t") for line in (tmp_path / "out" / "uncertain_words.tsv").read_text().splitlines()]
    assert len(listed) == math.ceil(0.02 * len(words)) >= 1
    widest = sorted(words, key=lambda r: -r[0])[: len(listed)]
    for row, (sd, utt, i, w) in zip(listed, widest):
        assert (float(row[0]), row[1], int(row[2]), row[3]) == (pytest.approx(sd * 1000, abs=0.05), utt, i, w.symbol)
        assert (float(row[4]), float(row[5])) == (pytest.approx(w.start, abs=5e-4), pytest.approx(w.end, abs=5e-4))


def test_cli_align_dir_accounts_for_every_file(aligner, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "_load_aligner", lambda args, routed=False: aligner)
    root, out = tmp_path / "corpus", tmp_path / "out"
    good = ["utt.1.wav", "utt.2.wav", "spkC/x.wav", "spkC_x.wav", "sp ace/é x.v2.wav"]
    for rel in good:
        write_clip(root / rel, 1.6, CLIP_WORDS)
    write_clip(root / "none.wav", 0.3)
    write_clip(root / "latin.wav", 0.3)
    (root / "latin.txt").write_bytes("the café".encode("latin-1"))
    (root / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage")
    (root / "corrupt.txt").write_text("the cat")
    write_clip(root / "oov.wav", 1.6, "you know zorblax qqxv")
    write_clip(root / "long.wav", 0.3, " ".join(["hello world"] * 10))
    write_clip(root / "dup.wav", 0.3, "the cat")
    write_clip(root / "dup.flac", 0.3)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["align-dir", str(root), "--out", str(out), "--phases", "1", "--oov", "error"])
    assert exit_.value.code == 3
    captured = capsys.readouterr()
    assert "aligned 5 utterances" in captured.out
    assert "7 of 12 audio files not aligned" in captured.err and "2 duplicate-audio" in captured.err
    for rel in good:  # the full file name but the audio suffix, dots, spaces and unicode kept
        stem = rel[: -len(".wav")]
        assert read_json(out / f"{stem}.json")[0].utterance_id == stem
        assert [w.symbol for w in read_textgrid(out / f"{stem}.TextGrid").words] == CLIP_WORDS.split()
    assert failed_reasons(out) == {
        "corrupt.wav": "unreadable-audio", "dup.flac": "duplicate-audio", "dup.wav": "duplicate-audio",
        "latin.wav": "undecodable-transcript", "long.wav": "too-short", "none.wav": "missing-transcript",
        "oov.wav": "unknown-words"}
    assert "'zorblax', 'qqxv'" in (out / "failed.tsv").read_text(encoding="utf-8")
    ctm = read_ctm(out / "alignments.ctm")  # ids with spaces and unicode survive the CTM
    assert [a.utterance_id for a in ctm] == ["sp ace/é x.v2", "spkC/x", "spkC_x", "utt.1", "utt.2"]
    assert "sp%20ace/é%20x.v2 1 " in (out / "alignments.ctm").read_text(encoding="utf-8")
    status = manifest_status(out)
    assert len(status) == 12 and sum(s == "aligned" for s in status.values()) == 5
    assert not list(tmp_path.glob("out.*"))  # no partial or old directory left beside it
    with pytest.raises(SystemExit):  # nothing changed: the good files are kept, the bad ones checked again
        cli.main(["align-dir", str(root), "--out", str(out), "--phases", "1", "--oov", "error", "--resume"])
    assert "aligned 5 utterances (5 kept up to date)" in capsys.readouterr().out
    assert sum(s == "skipped-up-to-date" for s in manifest_status(out).values()) == 5


def test_a_batch_without_a_path_is_aligned_one_by_one(aligner, tmp_path):
    root = tmp_path / "corpus"
    write_clip(root / "good.wav", 1.6, CLIP_WORDS)
    # 8 phones in 8 model frames, but CTC needs a blank between equal labels: found before the model runs
    write_clip(root / "repeats.wav", 0.3, "a a a a a a a a")
    result = align_directory(aligner, root, tmp_path / "out", topology="ctc", **FAST)
    assert [a.utterance_id for a in result.alignments] == ["good"]
    assert [(p.file, p.reason) for p in result.problems] == [("repeats.wav", "no-path")]


def test_rerun_drops_the_outputs_of_a_file_that_now_fails(aligner, tmp_path):
    root, out = tmp_path / "corpus", tmp_path / "out"
    write_clip(root / "a.wav", 1.6, CLIP_WORDS)
    write_clip(root / "spk/b.wav", 1.6, CLIP_WORDS)
    align_directory(aligner, root, out, **FAST)
    assert (out / "spk" / "b.json").is_file()
    (root / "spk" / "b.txt").write_text(" -- \n")  # now holds no words
    result = align_directory(aligner, root, out, **FAST)
    assert result.failed_files == ["spk/b.wav"]
    assert not (out / "spk" / "b.json").exists() and not (out / "spk" / "b.TextGrid").exists()
    assert [a.utterance_id for a in read_ctm(out / "alignments.ctm")] == ["a"]
    assert failed_reasons(out) == {"spk/b.wav": "empty-transcript"}


def test_resume_keeps_up_to_date_outputs_and_realigns_changed_files(aligner, tmp_path, monkeypatch):
    root, out = tmp_path / "corpus", tmp_path / "out"
    for name in ["a", "b", "c"]:
        write_clip(root / f"{name}.wav", 1.6, CLIP_WORDS)
    (root / "c.txt").unlink()
    align_directory(aligner, root, out, resume=True, identity=IDENTITY, **FAST)
    first = outputs_of(out)
    (root / "b.txt").write_text("you know some time")
    (root / "c.txt").write_text(CLIP_WORDS)
    aligned = []
    align = Aligner.align
    monkeypatch.setattr(Aligner, "align", lambda self, feats, texts, ids, **kw: aligned.extend(ids) or
                        align(self, feats, texts, ids, **kw))
    result = align_directory(aligner, root, out, resume=True, identity=IDENTITY, **FAST)
    assert sorted(aligned) == ["b", "c"] and (result.aligned, result.kept) == (2, 1)
    assert manifest_status(out) == {"a.wav": "skipped-up-to-date", "b.wav": "aligned", "c.wav": "aligned"}
    assert outputs_of(out)["a.json"] == first["a.json"]
    assert [w.symbol for w in read_json(out / "b.json")[0].words] == "you know some time".split()
    assert [a.utterance_id for a in read_ctm(out / "alignments.ctm")] == ["a", "b", "c"]
    aligned.clear()  # other options: nothing is up to date
    result = align_directory(aligner, root, out, resume=True, identity=IDENTITY, phases=1, blank_penalty=0.0)
    assert sorted(aligned) == ["a", "b", "c"] and result.kept == 0
    with pytest.raises(ValueError, match="resume needs the identity"):
        align_directory(aligner, root, out, resume=True, **FAST)


def test_an_interrupted_run_leaves_the_previous_output(aligner, tmp_path, monkeypatch):
    root, out = tmp_path / "corpus", tmp_path / "out"
    write_clip(root / "a.wav", 1.6, CLIP_WORDS)
    write_clip(root / "b.wav", 1.5, CLIP_WORDS)
    align_directory(aligner, root, out, **FAST)
    before = outputs_of(out)
    (root / "b.txt").write_text("you know some time")
    calls = []
    align = Aligner.align

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return align(self, *args, **kwargs)

    monkeypatch.setattr(Aligner, "align", interrupted)
    with pytest.raises(KeyboardInterrupt):
        align_directory(aligner, root, out, max_duration=1.0, **FAST)  # one batch per file
    assert len(calls) == 2 and outputs_of(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "out"]


def test_a_foreign_output_directory_is_not_replaced(aligner, tmp_path, capsys):
    root, out = tmp_path / "corpus", tmp_path / "out"
    write_clip(root / "a.wav", 0.3, "the cat")
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    with pytest.raises(ValueError, match=r"out is not empty and has no manifest.jsonl .*refusing to replace it"):
        align_directory(aligner, root, out, **FAST)
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]
    with pytest.raises(ValueError, match="inside the output directory"):  # the swap would delete it
        align_directory(aligner, root, tmp_path, **FAST)
    with pytest.raises(SystemExit, match="not a directory"):
        cli.main(["align-dir", str(tmp_path / "nope"), "--out", str(out)])


def test_ctm_ids_with_whitespace_and_percent_round_trip(tmp_path):
    ids = ["spk C/x y.1", "100%/a\tb", "é\u3000x", "plain"]
    alis = [UtteranceAlignment(i, "hi", 1.0, [TimedToken("hi", 0.1, 0.5)]) for i in ids]
    path = write_ctm(alis, tmp_path / "x.ctm")
    assert path.read_text(encoding="utf-8").splitlines()[1].startswith("100%25/a%09b 1 0.100")
    assert [a.utterance_id for a in read_ctm(path)] == ids


def test_atomic_write_keeps_the_old_file_on_error(tmp_path):
    target = write_text_atomic(tmp_path / "x.txt", "old")

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise Boom
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["x.txt"]
    assert write_text_atomic(target, "new").read_text() == "new" and oct(target.stat().st_mode)[-3:] != "600"


def test_an_interrupted_align_dir_run_is_taken_up_by_resume(aligner, tmp_path, monkeypatch):
    from fsttopo import directory

    root, out = tmp_path / "corpus", tmp_path / "out"
    for rel in ("a.wav", "b.wav", "c.wav"):
        write_clip(root / rel, 1.6, CLIP_WORDS)
    run = dict(block_size=1, identity={"model": "test"}, **FAST)
    real, calls = directory._align_block, []

    def interrupted(aligner, task):  # a crash while the third file is aligned
        calls.append(task)
        if len(calls) == 3:
            raise RuntimeError("the machine went down")
        return real(aligner, task)

    monkeypatch.setattr(directory, "_align_block", interrupted)
    with pytest.raises(RuntimeError, match="went down"):
        align_directory(aligner, root, out, **run)
    assert not out.exists() and len(list(tmp_path.glob("out.partial-*"))) == 1
    monkeypatch.setattr(directory, "_align_block", real)
    result = align_directory(aligner, root, out, resume=True, **run)
    assert (result.kept, result.aligned) == (2, 1)
    assert manifest_status(out) == {"a.wav": "skipped-up-to-date", "b.wav": "skipped-up-to-date", "c.wav": "aligned"}
    assert [a.utterance_id for a in result.alignments] == ["a", "b", "c"]
    assert not list(tmp_path.glob("out.partial-*")) and not (out / "progress.jsonl").exists()
