"""Synthesize an Italian or Russian corpus in MFA layout, with festival's own timings as reference.

    python recipes/other_languages/synthesize.py --language it --out data/other_languages/it/corpus --minutes 60

Writes ``OUT/SPEAKER/UTT.{wav,lab,TextGrid}`` (16 kHz mono; the text as written; tiers ``words`` and
``phones``, pauses as empty intervals), ``OUT/../dictionary.txt`` (the phones festival spoke for
each word, one line per distinct pronunciation) and ``OUT/../summary.json`` (utterances, minutes
per speaker, what was dropped, wall and CPU time). Each festival voice gives three speakers: the
voice as it is and sox speed copies ``-slow`` (0.9) and ``-fast`` (1.1); Russian, with one festival
voice, adds three espeak-ng variants (one formant model: hold them out together). Every speaker
reads its own sentences, so no sentence is spoken twice in the corpus. The dictionary holds
festival's phones only: for the espeak-ng sentences festival's first voice is run too, for their
pronunciations (the espeak-ng TextGrids keep espeak-ng's own phones). See README.md.
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
from dataclasses import dataclass, replace
from pathlib import Path

import soundfile

if __package__ in (None, ""):  # run as a script: make `recipes` and `fsttopo` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fsttopo.data.export import read_textgrid
from recipes.other_languages.corpus import FESTIVAL_PAUSES, espeak_spans, match_lab_words, utterance_alignment, \
    word_phones, write_dictionary, write_utterance
from recipes.other_languages.text import LANGUAGES, Language, fortune_sentences, select_sentences, word_positions
from recipes.tts.audio import convert
from recipes.tts.engines import Voice, espeak_synth, synthesize
from recipes.tts.install import missing_packages
from recipes.tts.labels import MAX_END_MISMATCH, attach_between_word_phones, scale_spans
from recipes.tts.text import Sentence

__all__ = ["VOICES", "SPEEDS", "Speaker", "speakers", "synthesize_speaker", "festival_pronunciations", "main"]

Span = tuple[str, float, float]
Pronunciations = set[tuple[str, tuple[str, ...]]]

_LATIN1 = "iso-8859-1"
_ESPEAK = ("libespeak-ng1", "espeak-ng-data")
VOICES: dict[str, tuple[Voice, ...]] = {
    "it": (
        Voice("lp", "festival", "lp_diphone", "lp", ("festival", "festvox-italp16k"), encoding=_LATIN1),
        Voice("pc", "festival", "pc_diphone", "pc", ("festival", "festvox-itapc16k"), encoding=_LATIN1),
    ),
    "ru": (
        Voice("nsh", "festival", "msu_ru_nsh_clunits", "nsh", ("festival", "festvox-ru")),
        Voice("espeak-ru", "espeak-ng", "ru", "espeak", _ESPEAK),
        Voice("espeak-ru-m3", "espeak-ng", "ru+m3", "espeak", _ESPEAK),
        Voice("espeak-ru-f1", "espeak-ng", "ru+f1", "espeak", _ESPEAK),
    ),
}
"""Voices per language (Debian main); voices with the same ``speaker`` are held out together. The
first voice of a language must be festival's (it gives the dictionary). Never add the reserved
voices (festival rab, MBROLA, festival-czech)."""

EXTRA_VOICES: dict[str, tuple[Voice, ...]] = {
    "it": (
        Voice("espeak-it", "espeak-ng", "it", "espeak", _ESPEAK),
        Voice("espeak-it-m3", "espeak-ng", "it+m3", "espeak", _ESPEAK),
        Voice("espeak-it-f1", "espeak-ng", "it+f1", "espeak", _ESPEAK),
    ),
    # Russian's held-out voices are espeak-ng's ru, ru+m3 and ru+f1 (group "espeak"): its extra
    # training voices are other espeak-ng variants, in a group of their own so they train
    "ru": (
        Voice("espeak-ru-m1", "espeak-ng", "ru+m1", "espeak-extra", _ESPEAK),
        Voice("espeak-ru-f3", "espeak-ng", "ru+f3", "espeak-extra", _ESPEAK),
        Voice("espeak-ru-m5", "espeak-ng", "ru+m5", "espeak-extra", _ESPEAK),
    ),
}
"""More training voices (``--extra-voices``), after those of :data:`VOICES`: another synthesizer
(Italian) or other variants of the held-out one (Russian, whose only festival voice is the training
voice), so a model trained on one festival voice hears more than one way of speaking. They come
last, so the :data:`VOICES` speakers read the same sentences as without them (give ``--minutes``
for all)."""

SPEEDS: dict[str, float] = {"": 1.0, "-slow": 0.9, "-fast": 1.1}
"""Speaker-name suffix -> sox speed factor (labels are divided by it)."""

_BATCH = 40  # sentences per festival call


@dataclass(frozen=True)
class Speaker:
    """A corpus speaker: a voice played at ``speed`` (``name`` = voice name + speed suffix)."""

    name: str
    voice: Voice
    speed: float


def speakers(language: str, extra: bool = False) -> list[Speaker]:
    """The voices of ``language`` (and its :data:`EXTRA_VOICES` with ``extra``): festival's each as
    it is and with its speed copies, espeak-ng's once."""
    voices = VOICES[language] + (EXTRA_VOICES.get(language, ()) if extra else ())
    return [Speaker(voice.name + suffix, voice, speed) for voice in voices
            for suffix, speed in (SPEEDS.items() if voice.engine == "festival" else [("", 1.0)])]


def _new_stats(speaker: Speaker) -> dict:
    return {"speaker": speaker.name, "voice": speaker.voice.name, "speed": speaker.speed, "utterances": 0,
            "seconds": 0.0, "engine_failed": 0, "dropped_end": 0, "dropped_words": 0, "dropped_phones": 0}


def _festival_labels(
    voice: Voice, batch: Sequence[Sentence], raw_dir: Path, language: Language, check_end: bool = True
) -> dict[str, tuple | str]:
    """Per sentence id: ``(raw wav, lab-word spans, phone spans)`` or the stats key of why it failed.

    festival reads :meth:`Language.engine_text` of each sentence. ``check_end=False`` keeps
    utterances whose labels end far from the end of the wav (enough for pronunciations).
    """
    spoken = [replace(s, text=language.engine_text(s.text)) for s in batch]
    raws = {raw.id: raw for raw in synthesize(voice, spoken, raw_dir)}
    out: dict[str, tuple | str] = {}
    for sentence in batch:
        raw = raws.get(f"{voice.name}-{sentence.id}")
        if raw is None:
            out[sentence.id] = "engine_failed"
        elif raw.phones is None or (check_end and abs(raw.label_end - raw.duration) > MAX_END_MISMATCH):
            out[sentence.id] = "dropped_end"
        else:
            words = match_lab_words(raw.words, sentence.words.split())
            out[sentence.id] = "dropped_words" if words is None else (raw.wav, words, raw.phones)
    return out


def _espeak_labels(
    voice: Voice, batch: Sequence[Sentence], raw_dir: Path, language: Language
) -> dict[str, tuple | str]:
    """As :func:`_festival_labels` for an espeak-ng voice (words placed by their text positions;
    espeak-ng reads the sentence as written, ``language`` is unused)."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple | str] = {}
    for sentence in batch:
        samples, events, sample_rate = espeak_synth(voice.engine_voice, sentence.text)
        spans = espeak_spans(word_positions(sentence.text), events, samples.size, sample_rate) if events else None
        if not events or samples.size == 0:
            out[sentence.id] = "engine_failed"
        elif spans is None:
            out[sentence.id] = "dropped_words"
        elif abs(events[-1][1] - samples.size) / sample_rate > MAX_END_MISMATCH:  # the last event: end of speech
            out[sentence.id] = "dropped_end"
        else:
            wav = raw_dir / f"{voice.name}-{sentence.id}.wav"
            soundfile.write(str(wav), samples, sample_rate, subtype="PCM_16")
            words = [(word, start, end) for word, (start, end) in zip(sentence.words.split(), spans[0])]
            out[sentence.id] = (wav, words, spans[1])
    return out


def _write(speaker: Speaker, sentence: Sentence, raw_wav: Path, words: list[Span], phones: list[Span],
           corpus: Path) -> tuple[float, list[tuple[str, tuple[str, ...]]]] | None:
    """Write one utterance (wav, lab, TextGrid); (duration, word pronunciations) or None if dropped."""
    utt_id = f"{speaker.name}-{sentence.id}"
    wav = corpus / speaker.name / f"{utt_id}.wav"
    wav.parent.mkdir(parents=True, exist_ok=True)
    convert(raw_wav, wav, speaker.speed)
    duration = soundfile.info(str(wav)).duration
    alignment = utterance_alignment(utt_id, sentence.text, scale_spans(words, speaker.speed),
                                    scale_spans(phones, speaker.speed), duration)
    pronounced = None if alignment is None else word_phones(
        [(t.symbol, t.start, t.end) for t in alignment.words], [(t.symbol, t.start, t.end) for t in alignment.phones])
    if alignment is None or pronounced is None:
        wav.unlink()
        return None
    write_utterance(wav.parent, alignment)
    return duration, list(zip((t.symbol for t in alignment.words), pronounced))


def synthesize_speaker(speaker: Speaker, language: Language, sentences: Sequence[Sentence], quota: float,
                       corpus: Path, pronunciations: Pronunciations) -> tuple[dict, list[Sentence]]:
    """Synthesize ``sentences`` in order until ``quota`` seconds are kept; (stats, sentences kept).

    The pronunciations of festival utterances are added to ``pronunciations``.
    """
    stats = _new_stats(speaker)
    raw_dir = corpus.parent / "raw" / speaker.name
    labels = _festival_labels if speaker.voice.engine == "festival" else _espeak_labels
    kept: list[Sentence] = []
    used = 0
    try:
        while stats["seconds"] < quota and used < len(sentences):
            batch = sentences[used:used + _BATCH]
            used += len(batch)
            results = labels(speaker.voice, batch, raw_dir, language)
            for sentence in batch:
                if stats["seconds"] >= quota:
                    break
                result = results[sentence.id]
                if isinstance(result, str):
                    stats[result] += 1
                    continue
                written = _write(speaker, sentence, *result, corpus)
                if written is None:
                    stats["dropped_phones"] += 1
                    continue
                stats["utterances"] += 1
                stats["seconds"] += written[0]
                kept.append(sentence)
                if speaker.voice.engine == "festival":
                    pronunciations.update(written[1])
    finally:
        shutil.rmtree(raw_dir, ignore_errors=True)
    stats["seconds"] = round(stats["seconds"], 2)
    stats["sentences_read"] = used
    return stats, kept


def festival_pronunciations(voice: Voice, language: Language, sentences: Sequence[Sentence],
                            work_dir: Path) -> tuple[Pronunciations, int]:
    """festival's phones for the words of ``sentences`` (read with ``voice``, audio discarded).

    A festival run that crashes loses the rest of its batch: the sentences it gave no audio for are
    read again one by one. Returns the pronunciations and the number of sentences without them.
    """
    pronunciations: Pronunciations = set()
    failed = 0
    try:
        for begin in range(0, len(sentences), _BATCH):
            batch = sentences[begin:begin + _BATCH]
            results = _festival_labels(voice, batch, work_dir, language, check_end=False)
            for sentence in batch:
                if results[sentence.id] == "engine_failed":
                    results.update(_festival_labels(voice, [sentence], work_dir, language, check_end=False))
            for result in results.values():
                if isinstance(result, str):
                    failed += 1
                    continue
                _, words, phones = result
                spoken = [p for p in phones if p[0] not in FESTIVAL_PAUSES and p[2] - p[1] > 0]
                attached = attach_between_word_phones(words, spoken)
                pronounced = None if attached is None else word_phones(attached, spoken)
                if pronounced is None:
                    failed += 1
                    continue
                pronunciations.update(zip((w for w, _, _ in attached), pronounced))
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return pronunciations, failed


def _check_installed(language: str, extra: bool = False) -> None:
    voices = VOICES[language] + (EXTRA_VOICES.get(language, ()) if extra else ())
    packages = [p for v in voices for p in v.packages] + ["sox", f"fortunes-{language}"]
    missing = missing_packages(packages)
    if missing:
        raise SystemExit(f"missing Debian packages; run: apt-get install -y {' '.join(missing)}")


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes (festival, sox)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(language: Language, corpus: Path, minutes: float, seed: int, extra: bool = False) -> dict:
    """Synthesize the whole corpus of ``language`` (with its :data:`EXTRA_VOICES` with ``extra``)
    into ``corpus``; returns the summary."""
    start_wall, start_cpu = time.perf_counter(), _children_cpu() + time.process_time()
    sentences = select_sentences(fortune_sentences(language), language)
    random.Random(seed).shuffle(sentences)
    chosen = speakers(language.code, extra)
    quota = minutes * 60.0 / len(chosen)
    pronunciations: Pronunciations = set()
    per_speaker, espeak_sentences, begin = [], [], 0
    for speaker in chosen:
        wall, cpu = time.perf_counter(), _children_cpu() + time.process_time()
        stats, kept = synthesize_speaker(speaker, language, sentences[begin:], quota, corpus, pronunciations)
        stats["wall_seconds"] = round(time.perf_counter() - wall, 1)
        stats["cpu_seconds"] = round(_children_cpu() + time.process_time() - cpu, 1)
        begin += stats["sentences_read"]
        if speaker.voice.engine != "festival":
            espeak_sentences.extend(kept)
        per_speaker.append(stats)
        print(json.dumps(stats), flush=True)
    extra, unmatched = festival_pronunciations(VOICES[language.code][0], language, espeak_sentences,
                                               corpus.parent / "raw" / "lexicon")
    pronunciations |= extra
    shutil.rmtree(corpus.parent / "raw", ignore_errors=True)
    entries = write_dictionary(corpus.parent / "dictionary.txt", pronunciations)
    dropped = _drop_unpronounced(corpus, [s.name for s in chosen if s.voice.engine != "festival"],
                                 {w for w, _ in pronunciations}, per_speaker)
    corpus_words = {w for path in corpus.glob("*/*.TextGrid") for w in read_textgrid(path).text.split()}
    seconds = sum(s["seconds"] for s in per_speaker)
    cpu = _children_cpu() + time.process_time() - start_cpu
    return {
        "language": language.code, "corpus": str(corpus.resolve()), "minutes_requested": minutes,
        "sentences_available": len(sentences), "sentences_used": begin,
        "utterances": sum(s["utterances"] for s in per_speaker), "hours": round(seconds / 3600, 4),
        "hours_per_speaker": {s["speaker"]: round(s["seconds"] / 3600, 4) for s in per_speaker},
        "dropped": {key: sum(s[key] for s in per_speaker)
                    for key in ("engine_failed", "dropped_end", "dropped_words", "dropped_phones")},
        "dictionary_lines": entries, "dictionary_words": len({w for w, _ in pronunciations}),
        "corpus_words_missing_from_dictionary": sorted(corpus_words - {w for w, _ in pronunciations}),
        "espeak_sentences_without_festival_pronunciation": unmatched,
        "dropped_without_pronunciation": dropped,
        "wall_seconds": round(time.perf_counter() - start_wall, 1),
        "cpu_seconds": round(cpu, 1), "cpu_per_audio_second": round(cpu / max(seconds, 1e-9), 4),
        "speakers": per_speaker,
        "hold_out_together": {group: [s.name for s in chosen if s.voice.speaker == group]
                              for group in dict.fromkeys(s.voice.speaker for s in chosen)},
    }


def _drop_unpronounced(corpus: Path, speaker_names: Sequence[str], known: set[str], stats: list[dict]) -> list[str]:
    """Remove the utterances of ``speaker_names`` (the espeak-ng ones) with a word the dictionary
    lacks (festival failed on their sentence), so that every corpus word has a pronunciation and a
    dictionary model trains on the same corpus as a grapheme one; their ids, and ``stats`` (per
    speaker) lowered by them."""
    dropped = []
    by_name = {s["speaker"]: s for s in stats}
    for name in speaker_names:
        for grid in sorted((corpus / name).glob("*.TextGrid")):
            if set(read_textgrid(grid).text.split()) <= known:
                continue
            wav = grid.with_suffix(".wav")
            by_name[name]["utterances"] -= 1
            by_name[name]["seconds"] = round(by_name[name]["seconds"] - soundfile.info(str(wav)).duration, 2)
            for path in (wav, grid.with_suffix(".lab"), grid):
                path.unlink()
            dropped.append(grid.stem)
    return dropped


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--language", choices=sorted(LANGUAGES), required=True)
    parser.add_argument("--out", type=Path, required=True, help="corpus directory (must be empty or absent)")
    parser.add_argument("--minutes", type=float, default=60.0, help="minutes of speech, all speakers together")
    parser.add_argument("--seed", type=int, default=0, help="sentence order")
    parser.add_argument("--extra-voices", action="store_true",
                        help="add the language's EXTRA_VOICES (three espeak-ng voices; Russian: variants other than the held-out ones) as further training speakers")
    args = parser.parse_args(argv)
    if not args.minutes > 0:
        parser.error(f"--minutes must be positive, got {args.minutes}")
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} is not empty; remove it or choose another --out")
    _check_installed(args.language, args.extra_voices)
    if args.extra_voices and args.language not in EXTRA_VOICES:
        parser.error(f"--extra-voices: no extra voices for {args.language!r} (only {sorted(EXTRA_VOICES)})")
    summary = run(LANGUAGES[args.language], args.out, args.minutes, args.seed, args.extra_voices)
    path = args.out.parent / "summary.json"
    path.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in summary.items() if k != "speakers"}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
