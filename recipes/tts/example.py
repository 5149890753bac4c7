"""Export one test-voice utterance of the corpus as the shipped example (``fsttopo/assets/example/``).

    python recipes/tts/example.py --corpus data/tts --out fsttopo/assets/example

Picks, among the utterances of ``--voice`` (a held-out test voice) at speed 1.0 lasting 3-6 s,
the one with the most words (ties: smallest id), and writes

- ``<id>.wav``: 16 kHz 16-bit mono audio;
- ``<id>.txt``: the transcript (lowercase words, one line);
- ``<id>.json``: the reference alignment, ``{"utterance_id", "text", "start", "duration",
  "words": [{"symbol", "start", "end"}], "phones": [...]}``, seconds from the start of the wav;
- ``recordings.jsonl`` / ``supervisions.jsonl``: its Lhotse manifests, the wav path relative to
  the example directory (load with ``RecordingSet.with_path_prefix(directory)``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `fsttopo` importable from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lhotse import Recording, RecordingSet, SupervisionSet
from lhotse.utils import fastcopy

from fsttopo.data import make_supervision

__all__ = ["pick_utterance", "export_example", "main"]


def pick_utterance(records: Sequence[dict], min_seconds: float = 3.0, max_seconds: float = 6.0) -> dict:
    """The record at speed 1.0 within ``[min_seconds, max_seconds]`` with the most words."""
    candidates = [r for r in records if r["speed"] == 1.0 and min_seconds <= r["duration"] <= max_seconds]
    if not candidates:
        raise ValueError(f"no utterance of {min_seconds}-{max_seconds} s at speed 1.0")
    return min(candidates, key=lambda r: (-len(r["words"]), r["id"]))


def _tokens(spans: Sequence[Sequence]) -> list[dict]:
    return [{"symbol": symbol, "start": start, "end": end} for symbol, start, end in spans]


def export_example(corpus: Path, out: Path, voice: str = "flite-rms") -> Path:
    """Write the example files of one utterance of ``voice`` to ``out``; returns the wav path."""
    labels = corpus / "labels" / f"{voice}.jsonl"
    if not labels.exists():
        raise ValueError(f"{labels} does not exist: synthesize the corpus first")
    record = pick_utterance([json.loads(line) for line in labels.read_text().splitlines() if line])
    out.mkdir(parents=True, exist_ok=True)
    wav = out / f"{record['id']}.wav"
    shutil.copyfile(record["wav"], wav)
    (out / f"{record['id']}.txt").write_text(record["text"] + "\n")
    alignment = {
        "utterance_id": record["id"], "text": record["text"], "start": 0.0, "duration": record["duration"],
        "words": _tokens(record["words"]), "phones": _tokens(record["phones"] or []),
    }
    (out / f"{record['id']}.json").write_text(json.dumps(alignment, indent=1) + "\n")
    recording = Recording.from_file(wav, recording_id=record["id"])
    custom = {"engine": record["engine"], "voice": record["voice"], "speed": record["speed"]}
    supervision = make_supervision(recording, record["text"], record["words"], record["phones"], voice, custom)
    relative = fastcopy(recording, sources=[fastcopy(recording.sources[0], source=wav.name)])
    RecordingSet.from_recordings([relative]).to_file(out / "recordings.jsonl")
    SupervisionSet.from_segments([supervision]).to_file(out / "supervisions.jsonl")
    return wav


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("data/tts"))
    parser.add_argument("--out", type=Path, default=Path("fsttopo/assets/example"))
    parser.add_argument("--voice", default="flite-rms", help="a test voice of the corpus")
    args = parser.parse_args(argv)
    print(export_example(args.corpus, args.out, args.voice))


if __name__ == "__main__":
    main()
