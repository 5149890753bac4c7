"""LibriSpeech and TIMIT recipes on tiny corpora in their layouts, built here.

The audio is espeak-ng speech where the binary is installed, otherwise a numpy tone: the recipes only
read it, so the tests run everywhere.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from lhotse import load_manifest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fsttopo.data import item_spans  # noqa: E402
from recipes.librispeech import prepare as librispeech  # noqa: E402
from recipes.timit import prepare as timit  # noqa: E402
from recipes.timit.phones import timit_to_arpabet  # noqa: E402

RATE = 16000


def speech(text: str, tmp_path: Path, seconds: float = 2.0) -> np.ndarray:
    """``seconds`` of 16 kHz int16 audio: espeak-ng saying ``text`` if available, else a tone."""
    samples = int(seconds * RATE)
    if shutil.which("espeak-ng"):
        wav = tmp_path / "espeak.wav"
        subprocess.run(["espeak-ng", "-w", str(wav), text], check=True, capture_output=True)
        audio, rate = soundfile.read(str(wav), dtype="float32")
        audio = np.interp(np.arange(0, len(audio) / rate, 1 / RATE), np.arange(len(audio)) / rate, audio)
    else:
        t = np.arange(samples) / RATE
        audio = 0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 3 * t) > 0)
    audio = np.pad(audio[:samples], (0, max(0, samples - len(audio))))
    return (audio * 32767 * 0.9).astype(np.int16)


def check_features(cuts_path: Path, ids: set[str]) -> None:
    cuts = load_manifest(cuts_path)
    assert {c.id for c in cuts} == ids
    for cut in cuts:
        features = cut.load_features()
        assert features.shape == (200, 80)  # 2 s at a 10 ms shift, 80 Mel bins
        assert np.isfinite(features).all()


# --- LibriSpeech -----------------------------------------------------------------------------------


def test_librispeech_stages(tmp_path):
    chapter = tmp_path / "LibriSpeech" / "dev-clean" / "1272" / "128104"
    chapter.mkdir(parents=True)
    texts = {"1272-128104-0000": "HELLO WORLD", "1272-128104-0001": "DON'T PANIC"}
    for utt_id, text in texts.items():
        soundfile.write(str(chapter / f"{utt_id}.flac"), speech(text, tmp_path), RATE)
    (chapter / "1272-128104.trans.txt").write_text("".join(f"{k} {v}\n" for k, v in texts.items()))
    # Montreal-Forced-Aligner alignments (CorentinJ/librispeech-alignments): "" words are silence.
    (chapter / "1272-128104.alignment.txt").write_text('1272-128104-0000 ",HELLO,WORLD," "0.300,0.800,1.400,2.000"\n')

    out = tmp_path / "out"
    librispeech.main(["--corpus", str(tmp_path / "LibriSpeech"), "--out", str(out), "--jobs", "1"])

    supervisions = {s.id: s for s in load_manifest(out / "manifests" / "supervisions_dev-clean.jsonl.gz")}
    assert supervisions["1272-128104-0000"].text == "hello world"
    assert item_spans(supervisions["1272-128104-0000"].alignment["word"]) == [("hello", 0.3, 0.8), ("world", 0.8, 1.4)]
    assert supervisions["1272-128104-0001"].text == "don't panic"
    assert supervisions["1272-128104-0001"].alignment is None
    recordings = load_manifest(out / "manifests" / "recordings_dev-clean.jsonl.gz")
    assert [r.duration for r in recordings] == [2.0, 2.0]
    check_features(out / "manifests" / "cuts_dev-clean.jsonl.gz", set(texts))


def test_librispeech_alignment_must_match_text(tmp_path):
    from lhotse import SupervisionSegment
    from lhotse.supervision import AlignmentItem

    alignment = {"word": [AlignmentItem("WORLD", 0.1, 0.2)]}
    segment = SupervisionSegment("u", "u", 0.0, 1.0, text="HELLO", alignment=alignment)
    with pytest.raises(ValueError, match="!= text"):
        librispeech.normalize_supervision(segment)


# --- TIMIT -----------------------------------------------------------------------------------------

# "Hello, city judge it." in samples at 16 kHz, TIMIT's 61-phone labels.
PHN = [(0, 3200, "h#"), (3200, 4800, "hh"), (4800, 5600, "ax"), (5600, 7200, "l"), (7200, 9600, "ow"),
       (9600, 10800, "pau"), (10800, 11200, "q"), (11200, 12400, "s"), (12400, 13200, "ih"), (13200, 14000, "dx"),
       (14000, 16000, "iy"), (16000, 16800, "dcl"), (16800, 17600, "jh"), (17600, 19200, "ah"),
       (19200, 20000, "dcl"), (20000, 21600, "jh"), (21600, 22800, "ix"), (22800, 24000, "tcl"),
       (24000, 32000, "h#")]
WRD = [(3200, 9600, "hello"), (11200, 16000, "city"), (16000, 21600, "judge"), (21600, 24000, "it")]
# By hand: closures join their release or affricate (dcl jh -> jh), an unreleased tcl is t, dx -> t,
# ax -> ah, ix -> ih; h#, pau and q are gaps.
MAPPED = [("hh", 3200, 4800), ("ah", 4800, 5600), ("l", 5600, 7200), ("ow", 7200, 9600), ("s", 11200, 12400),
          ("ih", 12400, 13200), ("t", 13200, 14000), ("iy", 14000, 16000), ("jh", 16000, 17600),
          ("ah", 17600, 19200), ("jh", 19200, 21600), ("ih", 21600, 22800), ("t", 22800, 24000)]


def test_timit_phone_map():
    spans = [(p, a / RATE, b / RATE) for a, b, p in PHN]
    assert timit_to_arpabet(spans) == [(p, a / RATE, b / RATE) for p, a, b in MAPPED]
    assert timit_to_arpabet([("bcl", 0.0, 0.1), ("b", 0.1, 0.2), ("em", 0.2, 0.3), ("ux", 0.3, 0.4)]) == [
        ("b", 0.0, 0.2), ("m", 0.2, 0.3), ("uw", 0.3, 0.4)]
    with pytest.raises(ValueError, match="'sil'"):
        timit_to_arpabet([("sil", 0.0, 0.1)])


def write_timit_utterance(directory: Path, name: str, tmp_path: Path) -> None:
    directory.mkdir(parents=True)
    soundfile.write(str(directory / f"{name}.WAV"), speech("Hello, city judge it.", tmp_path), RATE,
                    format="NIST", subtype="PCM_16")  # TIMIT's audio is NIST SPHERE
    (directory / f"{name}.TXT").write_text("0 32000 Hello, city judge it.\n")
    (directory / f"{name}.WRD").write_text("".join(f"{a} {b} {w}\n" for a, b, w in WRD))
    (directory / f"{name}.PHN").write_text("".join(f"{a} {b} {p}\n" for a, b, p in PHN))


def test_timit_stages(tmp_path):
    corpus = tmp_path / "timit"
    write_timit_utterance(corpus / "data" / "TRAIN" / "DR1" / "FCJF0", "SA1", tmp_path)
    write_timit_utterance(corpus / "data" / "TEST" / "DR1" / "FAKS0", "SX13", tmp_path)  # a dev speaker
    write_timit_utterance(corpus / "data" / "TEST" / "DR2" / "FDHC0", "SI1559", tmp_path)  # a core-test speaker

    out = tmp_path / "out"
    timit.main(["--corpus", str(corpus), "--out", str(out), "--jobs", "1"])

    ids = {"train": "FCJF0-SA1", "dev": "FAKS0-SX13", "test": "FDHC0-SI1559"}
    for part, utt_id in ids.items():
        [supervision] = load_manifest(out / "manifests" / f"supervisions_{part}.jsonl.gz")
        assert supervision.id == utt_id
        assert supervision.text == "hello city judge it"
        assert item_spans(supervision.alignment["word"]) == [(w, a / RATE, b / RATE) for a, b, w in WRD]
        assert item_spans(supervision.alignment["phone"]) == [(p, a / RATE, b / RATE) for p, a, b in MAPPED]
        check_features(out / "manifests" / f"cuts_{part}.jsonl.gz", {utt_id})


def test_timit_needs_data_directory(tmp_path):
    with pytest.raises(ValueError, match="no data/"):
        timit.manifests(tmp_path, tmp_path / "out")
