"""Synthesize an Italian or Russian corpus in MFA layout, with festival's own timings as reference.

    python recipes/other_languages/synthesize.py --language it --out data/other_languages/it/corpus --minutes 60

Writes ``OUT/SPEAKER/UTT.{wav,lab,TextGrid}`` (16 kHz mono; the text as written; tiers ``words`` and
``phones``, pauses as empty intervals), ``OUT/../dictionary.txt`` (the phones festival spoke for
each word, one line per distinct pronunciation) and ``OUT/../summary.json`` (utterances, minutes
per speaker, what was dropped, wall and CPU time). Each festival voice gives three speakers: the
voice as it is and sox speed copies ``-slow`` (0.9) and ``-fast`` (1.1); every speaker reads its
own sentences, so no sentence is spoken twice in the corpus. See README.md.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import soundfile

if __package__ in (None, ""):  # run as a script: make `recipes` and `fsttopo` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from recipes.other_languages.corpus import match_lab_words, utterance_alignment, word_phones, write_dictionary, \
    write_utterance
from recipes.other_languages.text import LANGUAGES, Language, fortune_sentences, select_sentences
from recipes.tts.audio import convert
from recipes.tts.engines import RawUtterance, Voice, synthesize
from recipes.tts.install import missing_packages
from recipes.tts.labels import MAX_END_MISMATCH, scale_spans
from recipes.tts.text import Sentence

__all__ = ["VOICES", "SPEEDS", "Speaker", "speakers", "synthesize_speaker", "main"]

_LATIN1 = "iso-8859-1"
VOICES: dict[str, tuple[Voice, ...]] = {
    "it": (
        Voice("lp", "festival", "lp_diphone", "lp", ("festival", "festvox-italp16k"), encoding=_LATIN1),
        Voice("pc", "festival", "pc_diphone", "pc", ("festival", "festvox-itapc16k"), encoding=_LATIN1),
    ),
    "ru": (Voice("nsh", "festival", "msu_ru_nsh_clunits", "nsh", ("festival", "festvox-ru")),),
}
"""festival voices per language (Debian main). Never add the reserved ones (rab, MBROLA, Czech)."""

SPEEDS: dict[str, float] = {"": 1.0, "-slow": 0.9, "-fast": 1.1}
"""Speaker-name suffix -> sox speed factor (labels are divided by it)."""

_BATCH = 40  # sentences per festival call


@dataclass(frozen=True)
class Speaker:
    """A corpus speaker: a festival voice played at ``speed`` (``name`` = voice name + suffix)."""

    name: str
    voice: Voice
    speed: float


def speakers(language: str) -> list[Speaker]:
    """The voices of ``language``, each as it is and with its speed copies."""
    return [Speaker(voice.name + suffix, voice, speed) for voice in VOICES[language] for suffix, speed in SPEEDS.items()]


def _new_stats(speaker: Speaker) -> dict:
    return {"speaker": speaker.name, "voice": speaker.voice.name, "speed": speaker.speed, "utterances": 0,
            "seconds": 0.0, "engine_failed": 0, "dropped_end": 0, "dropped_words": 0, "dropped_phones": 0}


def _keep(raw: RawUtterance, sentence: Sentence, speaker: Speaker, corpus: Path, stats: dict,
          pronunciations: set[tuple[str, tuple[str, ...]]]) -> None:
    """Check one raw utterance; write it (wav, lab, TextGrid) or count why it was dropped."""
    if raw.phones is None or abs(raw.label_end - raw.duration) > MAX_END_MISMATCH:
        stats["dropped_end"] += 1
        return
    words = match_lab_words(raw.words, sentence.words.split())
    if words is None:
        stats["dropped_words"] += 1
        return
    utt_id = f"{speaker.name}-{sentence.id}"
    wav = corpus / speaker.name / f"{utt_id}.wav"
    wav.parent.mkdir(parents=True, exist_ok=True)
    convert(raw.wav, wav, speaker.speed)
    duration = soundfile.info(str(wav)).duration
    alignment = utterance_alignment(utt_id, sentence.text, scale_spans(words, speaker.speed),
                                    scale_spans(raw.phones, speaker.speed), duration)
    phones = None if alignment is None else word_phones(
        [(t.symbol, t.start, t.end) for t in alignment.words], [(t.symbol, t.start, t.end) for t in alignment.phones])
    if alignment is None or phones is None:
        stats["dropped_phones"] += 1
        wav.unlink()
        return
    write_utterance(wav.parent, alignment)
    pronunciations.update(zip((t.symbol for t in alignment.words), phones))
    stats["utterances"] += 1
    stats["seconds"] += duration


def synthesize_speaker(speaker: Speaker, sentences: Sequence[Sentence], quota: float, corpus: Path,
                       pronunciations: set[tuple[str, tuple[str, ...]]]) -> tuple[dict, int]:
    """Synthesize ``sentences`` in order until ``quota`` seconds are kept; (stats, sentences used)."""
    stats = _new_stats(speaker)
    raw_dir = corpus.parent / "raw" / speaker.name
    used = 0
    try:
        while stats["seconds"] < quota and used < len(sentences):
            batch = sentences[used:used + _BATCH]
            used += len(batch)
            raws = {raw.id: raw for raw in synthesize(speaker.voice, batch, raw_dir)}
            stats["engine_failed"] += len(batch) - len(raws)
            for sentence in batch:
                raw = raws.get(f"{speaker.voice.name}-{sentence.id}")
                if raw is not None and stats["seconds"] < quota:
                    _keep(raw, sentence, speaker, corpus, stats, pronunciations)
    finally:
        shutil.rmtree(raw_dir, ignore_errors=True)
    stats["seconds"] = round(stats["seconds"], 2)
    return stats, used


def _check_installed(language: str) -> None:
    packages = [p for v in VOICES[language] for p in v.packages] + ["sox", f"fortunes-{language}"]
    missing = missing_packages(packages)
    if missing:
        raise SystemExit(f"missing Debian packages; run: apt-get install -y {' '.join(missing)}")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(language: Language, corpus: Path, minutes: float, seed: int) -> dict:
    """Synthesize the whole corpus of ``language`` into ``corpus``; returns the summary."""
    start_wall, start_cpu = time.perf_counter(), _children_cpu()
    sentences = select_sentences(fortune_sentences(language), language)
    random.Random(seed).shuffle(sentences)
    chosen = speakers(language.code)
    quota = minutes * 60.0 / len(chosen)
    pronunciations: set[tuple[str, tuple[str, ...]]] = set()
    per_speaker, begin = [], 0
    for speaker in chosen:
        stats, used = synthesize_speaker(speaker, sentences[begin:], quota, corpus, pronunciations)
        begin += used
        per_speaker.append(stats)
        print(json.dumps(stats), flush=True)
    entries = write_dictionary(corpus.parent / "dictionary.txt", pronunciations)
    seconds = sum(s["seconds"] for s in per_speaker)
    cpu = _children_cpu() - start_cpu
    return {
        "language": language.code, "corpus": str(corpus.resolve()), "minutes_requested": minutes,
        "sentences_available": len(sentences), "sentences_used": begin,
        "utterances": sum(s["utterances"] for s in per_speaker), "hours": round(seconds / 3600, 4),
        "hours_per_speaker": {s["speaker"]: round(s["seconds"] / 3600, 4) for s in per_speaker},
        "dropped": {key: sum(s[key] for s in per_speaker)
                    for key in ("engine_failed", "dropped_end", "dropped_words", "dropped_phones")},
        "dictionary_lines": entries, "dictionary_words": len({w for w, _ in pronunciations}),
        "wall_seconds": round(time.perf_counter() - start_wall, 1),
        "child_cpu_seconds": round(cpu, 1), "child_cpu_per_audio_second": round(cpu / max(seconds, 1e-9), 4),
        "speakers": per_speaker,
        "held_out_voices": {v.name: [s.name for s in chosen if s.voice == v] for v in VOICES[language.code]},
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--language", choices=sorted(LANGUAGES), required=True)
    parser.add_argument("--out", type=Path, required=True, help="corpus directory (must be empty or absent)")
    parser.add_argument("--minutes", type=float, default=60.0, help="minutes of speech, all speakers together")
    parser.add_argument("--seed", type=int, default=0, help="sentence order")
    args = parser.parse_args(argv)
    if not args.minutes > 0:
        parser.error(f"--minutes must be positive, got {args.minutes}")
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} is not empty; remove it or choose another --out")
    _check_installed(args.language)
    summary = run(LANGUAGES[args.language], args.out, args.minutes, args.seed)
    path = args.out.parent / "summary.json"
    path.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in summary.items() if k != "speakers"}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
