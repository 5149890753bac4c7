"""Large corpora: align-dir and align-cuts split over shards (separate processes, --shard or torchrun's
RANK/WORLD_SIZE) and worker processes (--jobs) write, once merged, byte for byte what one process
writes; bad items are reported and the rest aligned; bad --shard values are named."""

import gzip
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import soundfile

from fsttopo import cli
from fsttopo.merge import merge_alignments
from fsttopo.resources import EXAMPLE_DIR
from fsttopo.shards import UNSHARDED, Shard, parse_shard, resolve_shard, shard_blocks

WAV = next(EXAMPLE_DIR.glob("*.wav"))
CLIP_WORDS = "you know some time you're"  # the first 1.6 s of the example
REPO = Path(__file__).resolve().parents[1]
FAST = ["--phases", "1", "--threads", "1", "--block-size", "2"]  # 3 blocks of the 6 items below


def fsttopo(*args: str, env: dict | None = None) -> subprocess.Popen:
    """``fsttopo ARGS`` in a process of its own (as on another machine), one CPU thread."""
    environ = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "fsttopo.cli", *args], env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(*processes: subprocess.Popen) -> list[tuple[int, str]]:
    """Wait for the processes: their exit codes and stderr."""
    errors = [p.communicate()[1] for p in processes]
    return [(p.returncode, err) for p, err in zip(processes, errors)]


def outputs_of(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def write_clip(path: Path, seconds: float, text: str | None) -> Path:
    samples, rate = soundfile.read(WAV)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, samples[: int(seconds * rate)], rate)
    if text is not None:
        path.with_suffix(".txt").write_text(text + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Four good clips of 1.2-1.6 s (speakers a, b) and two bad files: no transcript, unknown words."""
    root = tmp_path_factory.mktemp("corpus")
    for rel, seconds in [("a/1.wav", 1.6), ("a/2.wav", 1.5), ("b/1.wav", 1.4), ("b/3.wav", 1.6)]:
        write_clip(root / rel, seconds, CLIP_WORDS)
    write_clip(root / "a/no_text.wav", 0.5, None)
    write_clip(root / "b/2.wav", 1.6, "you know zorblax")
    return root


@pytest.fixture(scope="module")
def cuts_manifest(corpus, tmp_path_factory) -> Path:
    """The corpus' good clips as cuts with Fbank features, and three bad cuts: twenty words in 0.3 s
    (fails the batch it shares with a good cut: found by aligning them one by one), no text, features
    deleted."""
    from lhotse import CutSet, Fbank, FbankConfig, LilcomFilesWriter, Recording, SupervisionSegment
    from lhotse.cut import MonoCut

    work = tmp_path_factory.mktemp("cuts")
    clips = [(wav, wav.with_suffix(".txt").read_text().strip()) for wav in sorted(corpus.glob("*/[0-9].wav"))
             if wav.with_suffix(".txt").read_text().strip() == CLIP_WORDS]
    clips.insert(3, (write_clip(work / "long.wav", 0.3, None), " ".join(["hello world"] * 10)))  # block 1
    clips += [(write_clip(work / "silent.wav", 1.0, None), ""), (write_clip(work / "lost.wav", 1.0, None), CLIP_WORDS)]
    cuts = []
    for i, (wav, text) in enumerate(clips):
        rec = Recording.from_file(wav, recording_id=f"rec{i}")
        sup = SupervisionSegment(f"utt{i}", rec.id, 0.0, rec.duration, text=text)
        cuts.append(MonoCut(f"cut{i}", 0.0, rec.duration, 0, recording=rec, supervisions=[sup]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cuts = CutSet.from_cuts(cuts).compute_and_store_features(Fbank(FbankConfig(num_mel_bins=80)),
                                                                 work / "feats", storage_type=LilcomFilesWriter)
    lost = next(c for c in cuts if c.recording.id == "rec6")
    (Path(lost.features.storage_path) / lost.features.storage_key).unlink()
    cuts.to_file(work / "cuts.jsonl.gz")
    return work / "cuts.jsonl.gz"


def test_shards_take_every_nth_block_of_consecutive_items():
    assert list(shard_blocks(range(10), Shard(0, 2), 3)) == [(0, [0, 1, 2]), (2, [6, 7, 8])]
    assert list(shard_blocks(range(10), Shard(1, 2), 3)) == [(1, [3, 4, 5]), (3, [9])]
    assert list(shard_blocks(range(10), Shard(2, 3), 3)) == [(2, [6, 7, 8])]
    assert list(shard_blocks(range(4), UNSHARDED, 3)) == [(0, [0, 1, 2]), (1, [3])]
    assert list(shard_blocks([], Shard(1, 2), 3)) == []
    with pytest.raises(ValueError, match="block size must be >= 1"):
        list(shard_blocks(range(3), UNSHARDED, 0))


def test_shard_values_and_torchrun_ranks():
    assert parse_shard("0/2") == Shard(0, 2) and parse_shard("3/4") == Shard(3, 4)
    assert Shard(1, 4).name == "shard-1-of-4"
    for bad, message in [("2/2", "0-based"), ("1", "INDEX/COUNT"), ("a/b", "INDEX/COUNT"), ("0/0", "0-based"),
                         ("-1/2", "INDEX/COUNT"), ("1/2/3", "INDEX/COUNT")]:
        with pytest.raises(ValueError, match=message):
            parse_shard(bad)
    assert resolve_shard(None, {}) == UNSHARDED
    assert resolve_shard(None, {"RANK": "1", "WORLD_SIZE": "3"}) == Shard(1, 3)
    assert resolve_shard("0/2", {"RANK": "1", "WORLD_SIZE": "3"}) == Shard(0, 2)  # --shard wins
    with pytest.raises(ValueError, match="RANK='3', WORLD_SIZE='2'"):
        resolve_shard(None, {"RANK": "3", "WORLD_SIZE": "2"})


@pytest.mark.parametrize("argv, message", [
    (["--shard", "2/2"], "shard 2/2: the index is 0-based"), (["--shard", "1of2"], "expected INDEX/COUNT"),
    (["--jobs", "0"], "--jobs 0: give at least 1"), (["--block-size", "0"], "--block-size 0")])
def test_bad_corpus_options_are_named_before_the_model_loads(corpus, tmp_path, monkeypatch, argv, message):
    monkeypatch.setattr(cli, "_load_aligner", lambda args, routed=False: pytest.fail("the model was loaded"))
    for command in (["align-dir", str(corpus)], ["align-cuts", str(WAV)]):
        with pytest.raises(SystemExit, match=message):
            cli.main([*command, "--out", str(tmp_path / "out"), *argv])
    assert not (tmp_path / "out").exists()


def test_align_dir_shards_and_jobs_write_what_one_process_writes(corpus, tmp_path):
    whole, sharded, jobs = tmp_path / "whole", tmp_path / "sharded", tmp_path / "jobs"
    options = ["--oov", "error", *FAST]
    runs = finish(fsttopo("align-dir", str(corpus), "--out", str(whole), *options),
                  fsttopo("align-dir", str(corpus), "--out", str(sharded), "--shard", "0/2", *options))
    runs += finish(fsttopo("align-dir", str(corpus), "--out", str(sharded), "--shard", "1/2", *options),
                   fsttopo("align-dir", str(corpus), "--out", str(jobs), "--jobs", "2", *options))
    for code, err in runs:  # each run reports its bad files and exits 3
        assert code == 3 and "not aligned" in err, err
    expected = outputs_of(whole)
    assert {k for k in expected if k.endswith(".json")} == {"a/1.json", "a/2.json", "b/1.json", "b/3.json"}
    assert [line.split("\t")[:2] for line in expected["failed.tsv"].decode().splitlines()[1:]] == [
        ["a/no_text.wav", "missing-transcript"], ["b/2.wav", "unknown-words"]]
    shard0 = outputs_of(sharded / "shard-0-of-2")  # blocks 0 and 2: a/1, a/2 | b/2, b/3
    assert {k for k in shard0 if k.endswith(".json")} == {"a/1.json", "a/2.json", "b/3.json", "shard.json"}
    assert outputs_of(jobs) == expected
    assert cli.main(["merge-alignments", str(sharded / "shard-1-of-2"), str(sharded / "shard-0-of-2"),
                     "--out", str(tmp_path / "merged")]) is None
    assert outputs_of(tmp_path / "merged") == expected


def test_align_cuts_shards_under_torchrun_ranks_write_what_one_process_writes(cuts_manifest, tmp_path):
    whole, sharded = tmp_path / "whole", tmp_path / "sharded"
    runs = finish(fsttopo("align-cuts", str(cuts_manifest), "--out", str(whole), *FAST),
                  fsttopo("align-cuts", str(cuts_manifest), "--out", str(sharded), "--jobs", "2", *FAST,
                          env={"RANK": "0", "WORLD_SIZE": "2"}))
    runs += finish(fsttopo("align-cuts", str(cuts_manifest), "--out", str(sharded), *FAST,
                           env={"RANK": "1", "WORLD_SIZE": "2"}))
    for code, err in runs:
        assert code == 3 and "not aligned" in err, err
    expected = outputs_of(whole)
    with gzip.open(whole / "cuts_aligned.jsonl.gz", "rt") as f:
        cuts = [json.loads(line) for line in f]
    assert [c["id"] for c in cuts] == ["cut0", "cut1", "cut2", "cut4"]
    for c in cuts:
        words = [item[0] for item in c["supervisions"][0]["alignment"]["word"]]  # [symbol, start, duration]
        assert words == CLIP_WORDS.split()
    assert sorted(k for k in expected if k.startswith("json/")) == [f"json/utt{i}.json" for i in (0, 1, 2, 4)]
    assert [line.split("\t")[:2] for line in expected["failed.tsv"].decode().splitlines()[1:]] == [
        ["cut3", "no-path"], ["cut5", "bad-cut"], ["cut6", "unreadable-features"]]
    # the word with the widest boundary spread (2 % of the 4 x 4 words, rounded up), as its JSON has it
    spreads = sorted(((max(w["start_sd"], w["end_sd"]), f"utt{i}", k, w["symbol"]) for i in (0, 1, 2, 4)
                      for k, w in enumerate(json.loads(expected[f"json/utt{i}.json"])["words"])),
                     key=lambda r: (-r[0], r[1], r[2]))
    listed = [line.split("\t") for line in expected["uncertain_words.tsv"].decode().splitlines()]
    assert len(listed) == 1 and len(spreads) == 4 * len(CLIP_WORDS.split())
    assert (float(listed[0][0]), *listed[0][1:4]) == (pytest.approx(spreads[0][0] * 1000, abs=0.05),
                                                      spreads[0][1], str(spreads[0][2]), spreads[0][3])
    assert {p.name for p in sharded.iterdir()} == {"shard-0-of-2", "shard-1-of-2"}
    merge_alignments([sharded / "shard-0-of-2", sharded / "shard-1-of-2"], tmp_path / "merged")
    assert outputs_of(tmp_path / "merged") == expected


def test_merge_refuses_what_is_not_every_shard_of_one_run(corpus, tmp_path):
    from fsttopo.shards import write_shard_info

    shards = []
    for index in range(3):
        shards.append(tmp_path / f"s{index}")
        shards[-1].mkdir()
        write_shard_info(shards[-1], "align-dir", Shard(index, 3), 2, 200.0)
    with pytest.raises(ValueError, match=r"expected shards 0 to 2 of 3 once each; missing \[1\]"):
        merge_alignments([shards[0], shards[2]], tmp_path / "out")
    with pytest.raises(ValueError, match=r"missing \[2\]; given twice \[0\]"):
        merge_alignments([shards[0], shards[1], shards[0]], tmp_path / "out")
    with pytest.raises(ValueError, match="cannot be one of the shards"):
        merge_alignments(shards, shards[1])
    with pytest.raises(ValueError, match="not the output of a sharded run"):
        merge_alignments([corpus], tmp_path / "out")
    write_shard_info(shards[2], "align-dir", Shard(2, 3), 4, 200.0)
    with pytest.raises(ValueError, match="differ in block_size"):
        merge_alignments(shards, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_align_cuts_api_streams_outcomes_and_the_list_form_names_failures(cuts_manifest):
    from lhotse import load_manifest_lazy

    from fsttopo.aligner import Aligner
    from fsttopo.cut_corpus import iter_cut_alignments
    from fsttopo.files import align_cuts

    aligner = Aligner.from_file(cli.DEFAULT_MODEL)
    cuts = load_manifest_lazy(cuts_manifest)
    outcomes = list(iter_cut_alignments(aligner, cuts, block_size=4, phases=1))
    assert [(o.cut.id, o.block, o.problem.reason if o.problem else None) for o in outcomes] == [
        ("cut0", 0, None), ("cut1", 0, None), ("cut2", 0, None), ("cut3", 0, "no-path"), ("cut4", 1, None),
        ("cut5", 1, "bad-cut"), ("cut6", 1, "unreadable-features")]
    assert [w.symbol for w in outcomes[4].alignment.words] == CLIP_WORDS.split()
    with pytest.raises(ValueError, match=r"3 cuts could not be aligned: cut3: no-path: .*; cut5: bad-cut"):
        align_cuts(aligner, cuts, phases=1)


def test_torchrun_cuda_is_the_ranks_gpu(monkeypatch):
    import torch

    from fsttopo.shards import local_device

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert local_device("cuda", {"LOCAL_RANK": "3"}) == "cuda:1"
    assert local_device("cuda", {}) == "cuda"
    assert local_device("cuda:0", {"LOCAL_RANK": "1"}) == "cuda:0" and local_device("cpu", {"LOCAL_RANK": "1"}) == "cpu"


def _manifest_rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]


def _edit_cut1(cut):
    return cut.with_custom("note", "edited") if cut.id == "cut1" else cut


def test_align_cuts_replaces_its_output_and_resume_keeps_what_is_up_to_date(cuts_manifest, tmp_path):
    from lhotse import load_manifest

    cuts = load_manifest(cuts_manifest)
    subset, changed = tmp_path / "subset.jsonl.gz", tmp_path / "changed.jsonl.gz"
    cuts.subset(cut_ids=["cut0", "cut1"]).to_file(subset)
    cuts.map(_edit_cut1).to_file(changed)
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    runs = finish(fsttopo("align-cuts", str(cuts_manifest), "--out", str(fresh), *FAST),
                  fsttopo("align-cuts", str(cuts_manifest), "--out", str(out), *FAST))
    assert [code for code, _ in runs] == [3, 3], runs
    expected = outputs_of(fresh)
    assert outputs_of(out) == expected
    # a run over fewer cuts leaves nothing of the previous one behind
    assert finish(fsttopo("align-cuts", str(subset), "--out", str(out), *FAST))[0][0] == 0
    assert sorted(k for k in outputs_of(out) if k.startswith("json/")) == ["json/utt0.json", "json/utt1.json"]
    assert [(r["file"], r["status"]) for r in _manifest_rows(out)] == [("cut0", "aligned"), ("cut1", "aligned")]
    # resume: the two cuts aligned before are kept, the rest aligned; the outputs are a fresh run's
    assert finish(fsttopo("align-cuts", str(cuts_manifest), "--out", str(out), "--resume", *FAST))[0][0] == 3
    rows = _manifest_rows(out)
    assert [(r["file"], r["status"]) for r in rows] == [
        ("cut0", "skipped-up-to-date"), ("cut1", "skipped-up-to-date"), ("cut2", "aligned"), ("cut3", "failed"),
        ("cut4", "aligned"), ("cut5", "failed"), ("cut6", "failed")]
    got = outputs_of(out)
    assert {k: v for k, v in got.items() if k != "manifest.jsonl"} == {
        k: v for k, v in expected.items() if k != "manifest.jsonl"}
    fresh_rows = _manifest_rows(fresh)
    assert [{**r, "status": None} for r in rows] == [{**r, "status": None} for r in fresh_rows]
    # a changed cut is aligned again, and other options align everything again
    assert finish(fsttopo("align-cuts", str(changed), "--out", str(out), "--resume", *FAST))[0][0] == 3
    assert [r["status"] for r in _manifest_rows(out)][:3] == ["skipped-up-to-date", "aligned", "skipped-up-to-date"]
    options = [a if a != "1" or i != 1 else "2" for i, a in enumerate(FAST)]  # --phases 2
    assert finish(fsttopo("align-cuts", str(cuts_manifest), "--out", str(out), "--resume", *options))[0][0] == 3
    assert "skipped-up-to-date" not in [r["status"] for r in _manifest_rows(out)]
    # an output directory that fsttopo did not write is never replaced
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    code, err = finish(fsttopo("align-cuts", str(subset), "--out", str(foreign), *FAST))[0]
    assert code != 0 and "refusing to replace it" in err and (foreign / "notes.txt").read_text() == "mine"


def test_an_interrupted_align_cuts_run_is_taken_up_by_resume(cuts_manifest, tmp_path, monkeypatch):
    from lhotse import load_manifest_lazy

    from fsttopo import cut_corpus
    from fsttopo.aligner import Aligner
    from fsttopo.cut_corpus import align_cuts_to_dir

    aligner = Aligner.from_file(cli.DEFAULT_MODEL)
    run = dict(block_size=2, threads=1, phases=1, identity={"model": "test"})
    fresh = align_cuts_to_dir(aligner, load_manifest_lazy(cuts_manifest), tmp_path / "fresh", **run)
    real, calls = cut_corpus._align_cut_block, []

    def interrupted(aligner, task):  # Ctrl-C while the second block is aligned
        calls.append(len(task[0]))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(aligner, task)

    monkeypatch.setattr(cut_corpus, "_align_cut_block", interrupted)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        align_cuts_to_dir(aligner, load_manifest_lazy(cuts_manifest), out, **run)
    assert not out.exists()                                   # no output of a run that did not finish
    [partial] = tmp_path.glob("out.partial-*")              # but the first block's work is kept
    assert [json.loads(line)["file"] for line in (partial / "progress.jsonl").read_text().splitlines()] == [
        "cut0", "cut1"]
    monkeypatch.setattr(cut_corpus, "_align_cut_block", real)
    result = align_cuts_to_dir(aligner, load_manifest_lazy(cuts_manifest), out, resume=True, **run)
    assert (result.kept, result.aligned, len(result.problems)) == (2, fresh.aligned - 2, len(fresh.problems))
    assert [(r["file"], r["status"]) for r in _manifest_rows(out)][:3] == [
        ("cut0", "skipped-up-to-date"), ("cut1", "skipped-up-to-date"), ("cut2", "aligned")]
    expected = outputs_of(tmp_path / "fresh")
    assert {k: v for k, v in outputs_of(out).items() if k != "manifest.jsonl"} == {
        k: v for k, v in expected.items() if k != "manifest.jsonl"}
    assert not list(tmp_path.glob("out.partial-*"))           # the interrupted run's leftovers are gone
