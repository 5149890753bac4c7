"""Model-routing benchmark (``--model auto``, fsttopo/routed_aligner.py): what choosing a model per
recording costs against aligning the same batch with one model.

The batch is 16 recordings: the shipped example (5.6 s) 8 times clean and 8 times with white noise
at 10 dB SNR (seeded), so that half go to each model by the measures; a third case makes every
recording's default alignment "unsure" (a rule whose confidence threshold is 1), so that each is
aligned twice, the worst case. Each timing is the median of ``--repeats`` runs with
``time.perf_counter`` after one warm-up (Numba compiles on first use).
Usage: python benchmarks/model_routing.py [--repeats 5] [--threads 2]
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
import soundfile
import torch

from fsttopo.batch_align import align_loaded
from fsttopo.data.features import compute_features
from fsttopo.data.level import speech_level_db
from fsttopo.files import load_aligner
from fsttopo.inference.model_routing import routing_measures
from fsttopo.resources import example_paths
from fsttopo.routed_aligner import RoutedAligner
from timing import median_seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    wav, txt, _ = example_paths()
    speech, sr = soundfile.read(wav, dtype="float32")
    text = txt.read_text()
    rng = np.random.default_rng(0)
    samples = [speech] * 8 + [speech + np.sqrt(np.mean(speech ** 2) / 10) * rng.standard_normal(speech.size)
                              .astype(np.float32) for _ in range(8)]
    features = [compute_features(x, sr) for x in samples]
    levels = {"speech_level_dbfs": speech_level_db(speech, sr)}
    ids, texts = [f"u{i}" for i in range(16)], [text] * 16
    routed = load_aligner("auto")
    unsure = RoutedAligner(routed.aligners["default"], routed.aligners["robust"],
                           replace(routed.rule, below_default_confidence=1.0))
    assert [routed.route(f).name for f in features] == ["default"] * 8 + ["robust"] * 8

    def batch(aligner):
        return lambda: align_loaded(aligner, list(range(16)), lambda i: (features[i], dict(levels)), texts, ids, {}, "x")

    rows = [("default model alone", median_seconds(batch(routed.aligners["default"]), args.repeats, warm_up=True)),
            ("robust model alone", median_seconds(batch(routed.aligners["robust"]), args.repeats, warm_up=True)),
            ("auto: 8 + 8 by the measures", median_seconds(batch(routed), args.repeats, warm_up=True)),
            ("auto: every default alignment unsure (aligned twice)", median_seconds(batch(unsure), args.repeats, warm_up=True))]
    measures_s = median_seconds(lambda: [routing_measures(f) for f in features], args.repeats, warm_up=True)
    base = rows[0][1]
    print(f"16 recordings of 5.6 s (8 clean, 8 at white 10 dB), torch threads {args.threads}")
    print("| aligning | s | against the default model alone |")
    print("|---|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} | {seconds / base:.2f}x |")
    print(f"| the routing measures alone (16 recordings) | {measures_s:.4f} | {measures_s / base:.3f}x |")


if __name__ == "__main__":
    main()
