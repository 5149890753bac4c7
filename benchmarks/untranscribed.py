"""Transcripts that do not cover the audio: word-boundary errors with and without the
``untranscribed`` align option, and how well its untranscribed spans cover the extra audio.

The shipped example (5.75 s, its reference word times) with 3 s of speech it does not transcribe
(from its first loud sample) added before it, after it, or between two of its words, and as it is; with 25 s of digital
silence or of -60 dBFS noise on both sides (25 s, not 30, keeps the recording under the
long-form threshold of 60 s, where the option is refused). The extra speech is the example itself
reversed in time, or (``--other WAV``) another recording, e.g. a different voice saying another
sentence. Aligned with the model's stored options (posterior, 4 phases, boundary refinement) and
with ``--method viterbi``. Prints a markdown table (docs/alignment.md).

    python benchmarks/untranscribed.py --penalties 0.5 1 2 3 --other other.wav [--mode anywhere]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from fsttopo import resources
from fsttopo.aligner import Aligner, compute_features
from fsttopo.data.features import FEATURE_SHIFT

EXTRA = 3.0  # seconds of untranscribed speech
PAD = 25.0   # seconds of silence / noise on each side
INSERT_AFTER = "her"  # the middle insertion goes after this word of the example


def speech_from(audio: np.ndarray, sr: int) -> np.ndarray:
    """EXTRA seconds of ``audio`` from its first sample above 5 % of its peak (so that the extra
    span is speech from its first frame, not the recording's leading silence)."""
    first = int(np.argmax(np.abs(audio) > 0.05 * np.abs(audio).max()))
    return audio[first:first + int(EXTRA * sr)].copy()


def cases(x: np.ndarray, sr: int, ref: dict,
          other: np.ndarray | None) -> dict[str, tuple[np.ndarray, np.ndarray, tuple | None]]:
    """name -> (audio, per reference word the seconds its times move by, the extra span in seconds or None)."""
    speech = {"reversed": speech_from(x[::-1], sr)}
    if other is not None:
        speech["other"] = speech_from(other, sr)
    words = ref["words"]
    cut_word = [w["symbol"] for w in words].index(INSERT_AFTER) + 1
    cut = int(round(words[cut_word - 1]["end"] * sr))
    none, moved = np.zeros(len(words)), np.full(len(words), EXTRA)
    out = {"clean": (x, none, None)}
    for kind, extra in speech.items():
        out[f"before ({kind})"] = (np.concatenate([extra, x]), moved, (0.0, EXTRA))
        out[f"after ({kind})"] = (np.concatenate([x, extra]), none, (len(x) / sr, len(x) / sr + EXTRA))
        out[f"middle ({kind})"] = (np.concatenate([x[:cut], extra, x[cut:]]),
                                   np.where(np.arange(len(words)) < cut_word, 0.0, EXTRA), (cut / sr, cut / sr + EXTRA))
    p = int(PAD * sr)
    padded = np.full(len(words), PAD)
    out["digital silence"] = (np.concatenate([np.zeros(p), x, np.zeros(p)]), padded, None)
    noise = np.random.default_rng(0).normal(0, 10 ** (-60 / 20) / np.sqrt(2), 2 * p)  # -60 dBFS RMS re full-scale sine
    out["-60 dBFS noise"] = (np.concatenate([noise[:p], x, noise[p:]]), padded, None)
    return out


def errors(ali, ref: dict, shifts: np.ndarray) -> np.ndarray:
    """Per word boundary the |error| in seconds against the reference moved by ``shifts``."""
    return np.array([abs(t - r[k] - d) for w, r, d in zip(ali.words, ref["words"], shifts)
                     for t, k in ((w.start, "start"), (w.end, "end"))])


def cover(ali, span) -> str:
    """Start/end error of the untranscribed span overlapping ``span`` most, ms; and the others."""
    if span is None:
        total = sum(e - s for s, e in ali.untranscribed)
        return f"{len(ali.untranscribed)} spans, {total:.2f} s"
    best = max(ali.untranscribed, key=lambda u: min(u[1], span[1]) - max(u[0], span[0]), default=None)
    if best is None or min(best[1], span[1]) <= max(best[0], span[0]):
        return "not found"
    others = len(ali.untranscribed) - 1
    return f"{1000 * (best[0] - span[0]):+.0f} / {1000 * (best[1] - span[1]):+.0f} ms" + (
        f", +{others} other" if others else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--penalties", type=float, nargs="+", default=[3.0])
    parser.add_argument("--mode", default="edges", choices=("edges", "anywhere"), help="the untranscribed option")
    parser.add_argument("--method", default=None, help="default: the model's stored method")
    parser.add_argument("--other", type=Path, help="a 16 kHz recording of other speech")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/untranscribed_cache"))
    parser.add_argument("--cases", nargs="*", help="only these cases")
    args = parser.parse_args()
    wav, txt, ref_path = resources.example_paths()
    aligner = Aligner.from_file(resources.default_model_path())
    x, sr = sf.read(wav)
    other = sf.read(args.other)[0] if args.other else None
    ref = json.loads(ref_path.read_text())
    text = txt.read_text().strip()
    options = dict(aligner.align_options)
    refine = options.pop("refine_boundaries", False)
    if args.method:
        options["method"] = args.method
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"untranscribed={args.mode!r}, method {options['method']}, phases {options['phases']}, refine {refine}")
    print("| case | penalty | mean / max word error, off (ms) | on (ms) | untranscribed span start / end error |")
    print("|---|---|---|---|---|")
    for name, (audio, shifts, span) in cases(x, sr, ref, other).items():
        if args.cases and name not in args.cases:
            continue
        features = compute_features(torch.tensor(audio, dtype=torch.float32), sampling_rate=sr)
        cache = args.cache / f"{name.replace(' ', '_').replace('/', '')}.pt"
        if not cache.exists():
            torch.save(aligner.encode([features], options["phases"]), cache)
        encoded = torch.load(cache)
        duration = [features.shape[0] * FEATURE_SHIFT]

        def run(**kw):
            out = aligner.align_encoded(encoded, [text], duration, **options, **kw).alignments
            return (aligner.boundary_refiner(out, [features]) if refine else out)[0]

        off = errors(run(), ref, shifts)
        for penalty in args.penalties:
            ali = run(untranscribed=args.mode, garbage_penalty=penalty)
            on = errors(ali, ref, shifts)
            print(f"| {name} | {penalty:g} | {1000 * off.mean():.1f} / {1000 * off.max():.0f} | "
                  f"{1000 * on.mean():.1f} / {1000 * on.max():.0f} | {cover(ali, span)} |", flush=True)


if __name__ == "__main__":
    main()
