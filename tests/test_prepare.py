"""fsttopo prepare: an MFA-style corpus directory (unicode names, speakers, .lab/.txt, 44.1 kHz
stereo, flac, a TextGrid, bad files) -> Lhotse manifests split by speaker, with or without features."""

import json
import shutil

import numpy as np
import pytest
import soundfile
import torch
from lhotse import load_manifest

from fsttopo import cli
from fsttopo.data.alignment import TimedToken, UtteranceAlignment
from fsttopo.data.corpus import prepare_corpus, speaker_of, split_speakers, split_utterances
from fsttopo.data.export import write_textgrid
from fsttopo.data.features import compute_features
from fsttopo.training.data import CutBatches

ROOT = "corpus dir"
GOOD = {  # relative audio path -> (transcript suffix, text, sample rate, channels, seconds)
    "Giulia Rossi/perché sì.wav": (".lab", "Perché sì, caffè!", 16000, 1, 1.0),
    "Giulia Rossi/città.flac": (".txt", "La città è bella", 16000, 1, 1.2),
    "Дмитрий/привет мир.wav": (".txt", "Привет, мир", 44100, 2, 0.8),
    "Дмитрий/утро.wav": (".txt", "Доброе утро", 16000, 1, 1.0),
    "さくら/こんにちは.wav": (".txt", "こんにちは 世界", 16000, 1, 0.9),
    "さくら/朝 2.wav": (".lab", "おはよう", 16000, 1, 0.6),
    "Ålf/ok.wav": (".txt", "Hej då", 22050, 1, 0.7),
    "root file.wav": (".lab", "Root level words", 16000, 1, 0.8),
}
BAD = {  # relative audio path -> reason in failed.tsv
    "さくら/latin.wav": "undecodable-transcript",
    "Ålf/missing.wav": "missing-transcript",
    "Ålf/empty.wav": "empty-transcript",
    "Ålf/zero.wav": "unreadable-audio",
    "Ålf/corrupt.wav": "unreadable-audio",
    "Ålf/tiny.wav": "short-audio",
    "Ålf/mismatch.wav": "bad-textgrid",
}
REFERENCE_WORDS = [("доброе", 0.1, 0.45), ("утро", 0.5, 0.9)]  # "Доброе утро": casefolded in the TextGrid
REFERENCE_PHONES = [("d", 0.1, 0.2), ("o", 0.2, 0.45), ("u", 0.5, 0.7), ("t", 0.7, 0.9)]


def _write_audio(path, rate, channels, seconds, seed):
    samples = np.random.default_rng(seed).normal(0, 0.1, (round(rate * seconds), channels)).astype(np.float32)
    samples[:, 0] += 0.3 * np.sin(2 * np.pi * 220 * np.arange(len(samples)) / rate)
    soundfile.write(str(path), samples if channels > 1 else samples[:, 0], rate, subtype="PCM_16")


def _textgrid(path, words, phones, duration):
    tokens = lambda spans: [TimedToken(s, a, b) for s, a, b in spans]
    write_textgrid(UtteranceAlignment("x", " ".join(w for w, _, _ in words), duration, tokens(words),
                                      tokens(phones)), path)


def make_corpus(base):
    root = base / ROOT
    for i, (file, (suffix, text, rate, channels, seconds)) in enumerate(GOOD.items()):
        path = root / file
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_audio(path, rate, channels, seconds, i)
        path.with_suffix(suffix).write_text(text + "\n", encoding="utf-8")
    _textgrid(root / "Дмитрий/утро.TextGrid", REFERENCE_WORDS, REFERENCE_PHONES, 1.0)
    for file in BAD:
        (root / file).parent.mkdir(parents=True, exist_ok=True)
    _write_audio(root / "さくら/latin.wav", 16000, 1, 0.5, 10)
    (root / "さくら/latin.txt").write_bytes("caffè latte".encode("latin-1"))
    _write_audio(root / "Ålf/missing.wav", 16000, 1, 0.5, 11)
    _write_audio(root / "Ålf/empty.wav", 16000, 1, 0.5, 12)
    (root / "Ålf/empty.txt").write_text("  \n", encoding="utf-8")
    (root / "Ålf/zero.wav").write_bytes(b"")
    (root / "Ålf/corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    _write_audio(root / "Ålf/tiny.wav", 16000, 1, 0.05, 13)
    _write_audio(root / "Ålf/mismatch.wav", 16000, 1, 1.0, 14)
    _textgrid(root / "Ålf/mismatch.TextGrid", [("other", 0.1, 0.5)], [], 1.0)
    for file in ("zero", "corrupt", "mismatch"):
        (root / f"Ålf/{file}.txt").write_text("hej hej", encoding="utf-8")
    (root / "Ålf/tiny.txt").write_text("far too many words for so short audio", encoding="utf-8")
    return root


def _ids(files):
    return {f.rsplit(".", 1)[0] for f in files}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    base = tmp_path_factory.mktemp("prepare")
    root = make_corpus(base)
    with_features = prepare_corpus(root, base / "out", progress=False)
    without = prepare_corpus(root, base / "out_nofeats", features=False, progress=False)
    return root, with_features, without


def test_manifests_hold_every_usable_file(prepared):
    root, result, _ = prepared
    recordings = load_manifest(result.paths["recordings"])
    supervisions = load_manifest(result.paths["supervisions"])
    assert {r.id for r in recordings} == {s.id for s in supervisions} == _ids(GOOD)
    texts = {s.id: s.text for s in supervisions}
    assert texts == {f.rsplit(".", 1)[0]: text for f, (_, text, *_) in GOOD.items()}  # as written: case, accents
    speakers = {s.id: s.speaker for s in supervisions}
    assert speakers["root file"] == ROOT and speakers["Giulia Rossi/città"] == "Giulia Rossi"
    assert all(r.sampling_rate == 16000 and r.num_channels == 1 for r in recordings)
    assert result.files == len(GOOD) + len(BAD)
    summary = json.loads(result.paths["summary"].read_text(encoding="utf-8"))
    assert summary["files"] == len(GOOD) + len(BAD) and summary["failed"] == len(BAD)
    assert sum(summary["utterances"].values()) == len(GOOD)


def test_split_by_speaker(prepared):
    _, result, _ = prepared
    train = load_manifest(result.paths["cuts_train"])
    dev = load_manifest(result.paths["cuts_dev"])
    train_speakers = {c.supervisions[0].speaker for c in train}
    dev_speakers = {c.supervisions[0].speaker for c in dev}
    assert result.split == "speaker" and len(dev_speakers) == 1 and not train_speakers & dev_speakers
    assert sorted(train_speakers) == result.train_speakers and sorted(dev_speakers) == result.dev_speakers
    assert len(train) + len(dev) == len(GOOD) == sum(result.utterances.values())
    assert result.hours["dev"] == pytest.approx(sum(c.duration for c in dev) / 3600)


def test_failed_tsv_names_each_bad_file_with_its_reason(prepared):
    _, result, _ = prepared
    rows = [line.split("\t") for line in result.paths["failed"].read_text(encoding="utf-8").splitlines()]
    assert rows[0] == ["file", "reason", "message"]
    assert {file: reason for file, reason, _ in rows[1:]} == BAD
    assert all(message for *_, message in rows[1:])


def test_textgrid_reference_is_read(prepared):
    _, result, _ = prepared
    supervision = next(s for s in load_manifest(result.paths["supervisions"]) if s.id == "Дмитрий/утро")
    for kind, spans in (("word", REFERENCE_WORDS), ("phone", REFERENCE_PHONES)):
        items = supervision.alignment[kind]
        assert [i.symbol for i in items] == [s for s, _, _ in spans]
        np.testing.assert_allclose([(i.start, i.end) for i in items], [(a, b) for _, a, b in spans], atol=1e-6)
    others = [s for s in load_manifest(result.paths["supervisions"]) if s.id != "Дмитрий/утро"]
    assert all(s.alignment is None for s in others)


def test_features_are_80_dim_at_10_ms(prepared):
    _, result, _ = prepared
    cuts = load_manifest(result.paths["cuts_train"]) + load_manifest(result.paths["cuts_dev"])
    for cut in cuts:
        features = cut.load_features()
        assert features.shape[1] == 80
        assert abs(features.shape[0] - cut.duration / 0.01) <= 1, cut.id


def test_no_features_cuts_compute_them_in_cut_batches(prepared):
    _, stored, computed = prepared

    class Words:
        def encode_words(self, text):
            return [[1] for _ in text.split()]

    cuts = load_manifest(computed.paths["cuts_train"]) + load_manifest(computed.paths["cuts_dev"])
    assert not any(c.has_features for c in cuts)
    reference = {c.id: c.load_features() for c in
                 load_manifest(stored.paths["cuts_train"]) + load_manifest(stored.paths["cuts_dev"])}
    batch = CutBatches(Words())[cuts]
    for i, cut_id in enumerate(batch["cut_ids"]):
        length = int(batch["lengths"][i])
        assert length == reference[cut_id].shape[0]
        # stored features are Lilcom-compressed (steps of 1/32 in the log domain)
        np.testing.assert_allclose(batch["features"][i, :length].numpy(), reference[cut_id], atol=0.05)


def test_stereo_44k_is_mixed_and_resampled_as_align_does(prepared):
    root, _, computed = prepared
    cuts = load_manifest(computed.paths["cuts_train"]) + load_manifest(computed.paths["cuts_dev"])
    cut = next(c for c in cuts if c.id == "Дмитрий/привет мир")
    assert cut.sampling_rate == 16000 and cut.load_audio().shape[0] == 1
    on_the_fly = compute_features(cut.load_audio()[0], cut.sampling_rate)
    from_file = compute_features(root / "Дмитрий/привет мир.wav")  # fsttopo align's path: mean of channels
    assert abs(on_the_fly.shape[0] - from_file.shape[0]) <= 1
    n = min(on_the_fly.shape[0], from_file.shape[0])
    torch.testing.assert_close(on_the_fly[:n], from_file[:n], atol=1e-2, rtol=1e-3)


def test_rerun_replaces_the_outputs(tmp_path):
    root = make_corpus(tmp_path)
    out = tmp_path / "out"
    prepare_corpus(root, out, progress=False)
    shutil.rmtree(root / "さくら")
    (root / "Ålf/missing.lab").write_text("now it has words", encoding="utf-8")
    result = prepare_corpus(root, out, features=False, progress=False)
    ids = {s.id for s in load_manifest(result.paths["supervisions"])}
    assert ids == (_ids(GOOD) - {"さくら/こんにちは", "さくら/朝 2"}) | {"Ålf/missing"}
    assert not (out / "feats.lca").exists()  # the first run's features went with it
    failed = result.paths["failed"].read_text(encoding="utf-8")
    assert "latin.wav" not in failed and "missing.wav" not in failed
    assert sorted(p.name for p in tmp_path.iterdir()) == [ROOT, "out"]  # no staging directory left


def test_split_rules():
    assert speaker_of("anna/day1/x", "root") == "anna" and speaker_of("x", "root") == "root"
    speakers = [f"s{i}" for i in range(20)]
    train, dev = split_speakers(speakers, None, 0.1, seed=3)
    assert len(dev) == 2 and not set(train) & set(dev) and sorted(train + dev) == sorted(speakers)
    assert split_speakers(speakers, None, 0.1, seed=3) == (train, dev)
    assert split_speakers(["a", "b"], None, 0.01, 0)[1] != []  # at least one dev speaker
    assert split_speakers(["a", "b", "c"], ["c"], 0.1, 0) == (["a", "b"], ["c"])
    with pytest.raises(ValueError, match="'z' not in the corpus"):
        split_speakers(["a", "b"], ["z"], 0.1, 0)
    with pytest.raises(ValueError, match="every speaker"):
        split_speakers(["a", "b"], ["a", "b"], 0.1, 0)
    train, dev = split_utterances([f"u{i}" for i in range(10)], 0.2, 0)
    assert len(dev) == 2 and len(train) == 8


def test_single_speaker_splits_utterances(tmp_path):
    root = tmp_path / "solo"
    for i in range(5):
        (root / "anna").mkdir(parents=True, exist_ok=True)
        _write_audio(root / f"anna/u{i}.wav", 16000, 1, 0.5, i)
        (root / f"anna/u{i}.txt").write_text(f"word {i}", encoding="utf-8")
    result = prepare_corpus(root, tmp_path / "out", dev_fraction=0.2, features=False, progress=False)
    assert result.split == "utterance" and result.utterances == {"train": 4, "dev": 1}
    assert result.train_speakers == result.dev_speakers == ["anna"]
    assert json.loads(result.paths["summary"].read_text())["split"] == "utterance"
    result = prepare_corpus(root, tmp_path / "out", dev_fraction=0, features=False, progress=False)
    assert result.utterances == {"train": 5, "dev": 0} and "cuts_dev" not in result.paths
    assert not (tmp_path / "out/cuts_dev.jsonl.gz").exists()


def test_cli_prepare(tmp_path, capsys):
    root = make_corpus(tmp_path)
    out = tmp_path / "out"
    cli.main(["prepare", str(root), "--out", str(out), "--dev-speakers", "さくら,Ålf", "--jobs", "2"])
    printed = capsys.readouterr().out
    assert "train: 5 utterances" in printed and "dev: 3 utterances" in printed and "さくら" in printed
    dev = load_manifest(out / "cuts_dev.jsonl.gz")
    assert {c.supervisions[0].speaker for c in dev} == {"さくら", "Ålf"}
    assert all(c.load_features().shape[1] == 80 for c in dev)
    with pytest.raises(SystemExit, match="dev speaker\\(s\\) 'nobody' not in the corpus"):
        cli.main(["prepare", str(root), "--out", str(tmp_path / "out2"), "--dev-speakers", "nobody"])
    assert not (tmp_path / "out2").exists()


def test_nothing_usable_writes_nothing(tmp_path):
    root = tmp_path / "bad"
    root.mkdir()
    _write_audio(root / "a.wav", 16000, 1, 0.5, 0)
    with pytest.raises(ValueError, match=r"no usable audio file .*\(1 missing-transcript\)"):
        prepare_corpus(root, tmp_path / "out", progress=False)
    with pytest.raises(ValueError, match=r"dev_fraction must be in \[0, 1\)"):
        prepare_corpus(root, tmp_path / "out", dev_fraction=1.0, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]
