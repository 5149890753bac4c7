"""Long recordings: concatenated test speech (with its concatenated transcript and reference word
times) aligned by ``Aligner.align``, which takes the long-form path above 60 s.

Builds the input itself from a Lhotse CutSet of synthesized utterances with reference word
alignments (cycling through it for lengths beyond the set), then reports wall time, peak RSS, the
mean word-boundary error against the reference, the max per 10-minute block, and with ``--plain``
the same on the plain (unsegmented) path and the largest difference between the two.

    OMP_NUM_THREADS=1 python benchmarks/long_form.py --minutes 10 [--plain] [--threads 1]

Run one length per process so that the peak RSS is that length's (``/usr/bin/time -v`` agrees).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

CUTS = Path("data/tts/manifests/cuts_test.jsonl.gz")  # relative to the checkout


def build_long_input(seconds: float, cuts_path: str | Path = CUTS
                     ) -> tuple[np.ndarray, str, list[tuple[str, float, float]], list[tuple[float, str]]]:
    """Concatenate the cuts' audio (16 kHz) until ``seconds`` are reached.

    Returns the samples ``[N]``, the transcript, the reference words ``(word, start, end)`` in
    seconds of the long recording, and per cut ``(start in seconds, text)``."""
    from lhotse import load_manifest_lazy

    cuts = list(load_manifest_lazy(cuts_path))
    chosen, total = [], 0
    while total < seconds * 16000:  # one buffer, filled in place: no second copy inflates the peak RSS
        chosen.append(cuts[len(chosen) % len(cuts)])
        total += chosen[-1].num_samples
    audio = np.empty(total, dtype=np.float32)
    words, parts, at = [], [], 0
    for cut in chosen:
        samples = cut.load_audio()[0]
        if samples.shape[0] != cut.num_samples:
            raise ValueError(f"cut {cut.id}: {samples.shape[0]} samples, its manifest says {cut.num_samples}")
        audio[at: at + samples.shape[0]] = samples
        t = at / 16000
        sup = cut.supervisions[0]
        words += [(w.symbol, t + w.start, t + w.end) for w in sup.alignment["word"]]
        parts.append((t, sup.text))
        at += samples.shape[0]
    return audio, " ".join(text for _, text in parts), words, parts


def word_errors(hyp: list, ref: list[tuple[str, float, float]]) -> np.ndarray:
    """``[K, 3]`` per word: reference start (s), |start error| and |end error| (ms); words matched by
    position (the normalizer spells out a few of the reference's words, "mr" -> "mister", so only
    the counts must agree; ValueError otherwise)."""
    if len(hyp) != len(ref):
        raise ValueError(f"{len(hyp)} hypothesis words for {len(ref)} reference words")
    h = np.array([(w.start, w.end) for w in hyp])
    r = np.array([(s, e) for _, s, e in ref])
    return np.column_stack([r[:, 0], np.abs(h - r) * 1000])


def summarize(errors: np.ndarray, block_seconds: float = 600.0) -> tuple[float, list[float], list[float]]:
    """Mean boundary error (ms), and per block of ``block_seconds`` the mean and max (ms)."""
    block = (errors[:, 0] // block_seconds).astype(int)
    means = [float(errors[block == b, 1:].mean()) for b in np.unique(block)]
    maxes = [float(errors[block == b, 1:].max()) for b in np.unique(block)]
    return float(errors[:, 1:].mean()), means, maxes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--cuts", default=str(CUTS))
    p.add_argument("--plain", action="store_true", help="also align on the plain path (memory: frames x states)")
    p.add_argument("--per-utterance", action="store_true",
                   help="also align each concatenated utterance on its own (batches of 16) and compare")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    from fsttopo.threads import set_threads

    set_threads(args.threads)
    from fsttopo.aligner import compute_features
    from fsttopo.files import load_aligner
    from fsttopo.inference import long_form

    samples, text, ref, parts = build_long_input(args.minutes * 60, args.cuts)
    aligner = load_aligner()
    aligner.align([compute_features(samples[:16000 * 5], 16000)], ["hello"])  # warm-up: Numba, lexicon
    start, cpu = time.perf_counter(), time.process_time()
    feats = compute_features(samples, 16000)
    ali = aligner.align([feats], [text]).alignments[0]
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    mean, block_means, block_max = summarize(word_errors(ali.words, ref))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
          f"{torch.get_num_threads()} torch thread(s)")
    print(f"{args.minutes:g} min, {len(ref)} words, {feats.shape[0]} feature frames: long-form {wall:.1f} s "
          f"({cpu:.1f} s CPU), "
          f"peak RSS {rss:.2f} GB, mean boundary error {mean:.2f} ms")
    print("  per 10-min block: mean " + ", ".join(f"{m:.2f}" for m in block_means)
          + " ms; max " + ", ".join(f"{m:.0f}" for m in block_max) + " ms")
    if args.per_utterance:
        starts = [round(t * 16000) for t, _ in parts] + [samples.shape[0]]
        alis = []
        start = time.perf_counter()
        for i in range(0, len(parts), 16):
            rows = range(i, min(i + 16, len(parts)))
            feats_i = [compute_features(samples[starts[j]: starts[j + 1]], 16000) for j in rows]
            alis += aligner.align(feats_i, [parts[j][1] for j in rows], offsets=[parts[j][0] for j in rows]).alignments
        words = [w for a in alis for w in a.words]
        umean, _, umax = summarize(word_errors(words, ref))
        diff = np.abs(np.array([(w.start, w.end) for w in ali.words])
                      - np.array([(w.start, w.end) for w in words])) * 1000
        print(f"  utterance by utterance ({len(parts)}): {time.perf_counter() - start:.1f} s, mean boundary error "
              f"{umean:.2f} ms (long-form - this: {mean - umean:+.2f} ms); long-form vs this: mean {diff.mean():.2f} ms, "
              f"max {diff.max():.0f} ms")
        k = int(diff.max(1).argmax())
        print(f"  largest difference: word {k} {words[k].symbol!r}, reference [{ref[k][1]:.3f}, {ref[k][2]:.3f}] s, "
              f"long-form [{ali.words[k].start:.3f}, {ali.words[k].end:.3f}], utterance by utterance "
              f"[{words[k].start:.3f}, {words[k].end:.3f}]")
    if args.plain:
        limit = long_form.LONG_FORM
        long_form.LONG_FORM = long_form.LongFormConfig(min_seconds=1e9)
        try:
            start, plain_cpu = time.perf_counter(), time.process_time()
            plain = aligner.align([feats], [text]).alignments[0]
            plain_wall, plain_cpu = time.perf_counter() - start, time.process_time() - plain_cpu
        finally:
            long_form.LONG_FORM = limit
        pmean, _, _ = summarize(word_errors(plain.words, ref))
        diff = np.abs(np.array([(w.start, w.end) for w in ali.words])
                      - np.array([(w.start, w.end) for w in plain.words])) * 1000
        print(f"  plain path {plain_wall:.1f} s, {plain_cpu:.1f} s CPU (long-form / plain: wall {wall / plain_wall:.2f}, "
              f"CPU {cpu / plain_cpu:.2f}), mean boundary error "
              f"{pmean:.2f} ms; long-form vs plain: max {diff.max():.4f} ms, mean {diff.mean():.5f} ms")


if __name__ == "__main__":
    main()
