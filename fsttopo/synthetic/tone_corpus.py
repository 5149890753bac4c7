"""A corpus directory in a made-up "tone language", with exact reference alignments: each letter of
its alphabet sounds as its own chord for 90-150 ms, so an aligner can learn it from a few minutes of
audio in seconds of CPU. It has what ``fsttopo prepare``/``train-align`` must handle in a real
corpus: speaker sub-directories with non-ASCII names, accented letters, capitals and punctuation
in the transcripts (``.lab``), pauses of any length, and a TextGrid of the true times beside every
file, so that training, tuning and alignment can be checked end to end (tests/test_train_align.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ALPHABET", "ToneCorpus", "write_tone_corpus"]

ALPHABET = "aèilmorsu"
"""The letters; letter ``i`` is a chord of three partials around ``250 * 1.3**i`` Hz."""
WORDS = ("mari", "lumi", "riso", "muro", "ora", "èra", "lira", "rumori", "il", "mio", "amori",
         "mola", "rima", "orlo", "ruolo", "lièro")
SAMPLE_RATE = 16000


@dataclass(frozen=True)
class ToneCorpus:
    """What :func:`write_tone_corpus` wrote: the corpus root and each file's true word times
    (``{relative path without suffix: [(word, start, end), ...]}``, seconds)."""

    root: Path
    words: dict[str, list[tuple[str, float, float]]]


def _letter(letter: str, seconds: float, pitch: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    base = 250.0 * 1.3 ** ALPHABET.index(letter) * pitch
    chord = sum(np.sin(2 * np.pi * base * k * t + rng.uniform(0, 2 * np.pi)) / k for k in (1, 2, 3))
    ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)  # 10 ms fades: no clicks at letter edges
    return 0.1 * chord * ramp


def _utterance(words: list[str], pitch: float, rng: np.random.Generator
               ) -> tuple[np.ndarray, list[tuple[str, float, float]], list[tuple[str, float, float]]]:
    pieces, word_times, letter_times = [], [], []
    now = 0.0

    def add(samples: np.ndarray) -> None:
        nonlocal now
        pieces.append(samples)
        now += len(samples) / SAMPLE_RATE

    add(np.zeros(int(rng.uniform(0.1, 0.5) * SAMPLE_RATE)))
    for i, word in enumerate(words):
        if i:
            add(np.zeros(int(rng.choice([0.0, 0.0, rng.uniform(0.1, 0.6)]) * SAMPLE_RATE)))
        start = now
        for letter in word:
            letter_start = now
            add(_letter(letter, rng.uniform(0.09, 0.15), pitch, rng))
            letter_times.append((letter, letter_start, now))
        word_times.append((word, start, now))
    add(np.zeros(int(rng.uniform(0.1, 0.5) * SAMPLE_RATE)))
    audio = np.concatenate(pieces)
    audio += 1e-3 * rng.standard_normal(len(audio))  # a -60 dBFS noise floor, as a quiet room
    return audio.astype(np.float32), word_times, letter_times


def _written(words: list[str], rng: np.random.Generator) -> str:
    """The transcript as a person types it: a capital first letter, a comma, a final mark."""
    text = [w.capitalize() if i == 0 else w for i, w in enumerate(words)]
    if len(text) > 2:
        text[1] += ","
    return " ".join(text) + str(rng.choice([".", "!", "?", ""]))


def write_tone_corpus(out: str | Path, speakers: tuple[str, ...] = ("anna", "bòris", "čeněk"),
                      utterances: int = 20, seed: int = 0) -> ToneCorpus:
    """Write ``out/SPEAKER/NAME.wav`` (16 kHz), ``NAME.lab`` and ``NAME.TextGrid`` (tiers ``words``
    and ``phones``: the letters) for ``utterances`` sentences of 2-5 words per speaker; each
    speaker's chords are pitched by its own factor (0.92-1.08)."""
    import soundfile

    from ..data.alignment import TimedToken, UtteranceAlignment
    from ..data.export import write_textgrid

    root = Path(out)
    rng = np.random.default_rng(seed)
    truth: dict[str, list[tuple[str, float, float]]] = {}
    for s, speaker in enumerate(speakers):
        pitch = 0.92 + 0.16 * s / max(1, len(speakers) - 1)
        (root / speaker).mkdir(parents=True, exist_ok=True)
        for u in range(utterances):
            words = list(rng.choice(WORDS, size=int(rng.integers(2, 6))))
            audio, word_times, letter_times = _utterance(words, pitch, rng)
            name = f"{speaker}/{speaker}_{u:03d}"
            soundfile.write(root / f"{name}.wav", audio, SAMPLE_RATE)
            (root / f"{name}.lab").write_text(_written(words, rng) + "\n", encoding="utf-8")
            alignment = UtteranceAlignment(name, " ".join(words), len(audio) / SAMPLE_RATE,
                                           [TimedToken(*w) for w in word_times], [TimedToken(*p) for p in letter_times])
            write_textgrid(alignment, root / f"{name}.TextGrid")
            truth[name] = word_times
    return ToneCorpus(root, truth)
