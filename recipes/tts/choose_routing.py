"""Choose the rule that sends a recording to the robust model instead of the default one
(``--model auto``, :mod:`fsttopo.inference.model_routing`) on the dev voice, and store it.

Both shipped models align dev and devaug (dev through the training augmentation chain,
``train_boundary.devaug_features``) with their stored options; per utterance this keeps both
models' word-boundary errors and the three condition measures of its features. The rule, fixed
before the numbers: of the thresholds on a grid (dynamic range below, decay asymmetry above, upper
band below; the default model's relative confidence below, after it aligned a recording; each
also unused) that send at most 1 % of the clean training and dev recordings to the robust model
by the measures, and at most 1 % of the clean dev recordings by the confidence (which only held-out
speech measures honestly) (``--max-clean-routed``: clean speech stays with the model it was built
for; one dev voice alone cannot say where clean speech ends, the training voices can), the one with the
lowest mean of the two splits' mean errors (dev and devaug weigh the same: clean recordings are as
much the users' as degraded ones); of rules within 0.01 ms of it, the one sending the fewest dev
utterances to the robust model. Test voices and conditions are never looked at.

The thresholds on the samples are chosen after the others, each on dev degraded for it, by the
same limit and the lowest mean there (ties to the one routing fewer): the speech level (a quiet
recording's 16-bit samples are coarse, which the level normalization cannot undo) on devquiet, dev
at gains of -10 to -50 dB; the clipped share on devclip, dev with its peak 3 to 20 dB over full
scale, clipped.

Without the clean-recording limit the grid's best rule routed everything below 33 dB of dynamic
range, the shipped example (a clean held-out voice at 31.3 dB) included (docs/alignment.md).

    python recipes/tts/choose_routing.py            # writes fsttopo/assets/routing.json
    python recipes/tts/choose_routing.py --dry-run
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
import torch

from fsttopo.data.export import from_cuts
from fsttopo.data.features import compute_features
from fsttopo.files import load_aligner
from fsttopo.inference.model_routing import RoutingRule, routing_measures
from fsttopo.inference.recording_check import CLIPPED_KEY, SPEECH_LEVEL_KEY, sample_measures
from fsttopo.resources import ROUTING_FILE
from fsttopo.scoring import word_boundary_errors
from recipes.tts.train_boundary import align_features, devaug_features, split_cuts, with_reference_words

DYNAMIC_RANGE_DB = (None, 15.0, 18.0, 20.0, 22.0, 25.0, 28.0, 30.0, 33.0, 36.0, 40.0)
DECAY_ASYMMETRY = (None, 1.6, 1.8, 2.0, 2.2, 2.4)
HIGH_BAND_DB = (None, -16.0, -10.0, -5.0, 0.0, 5.0, 10.0)
DEFAULT_CONFIDENCE = (None, 0.5, 0.55, 0.6, 0.65, 0.7)
SPEECH_LEVEL_DBFS = (None, -25.0, -30.0, -35.0, -40.0, -45.0, -50.0)
QUIET_GAINS_DB = (-10.0, -20.0, -30.0, -40.0, -50.0)
CLIPPED_PERCENT = (None, 1.0, 2.0, 5.0, 10.0, 20.0)
CLIP_OVER_DB = (3.0, 6.0, 10.0, 20.0)
TIE_MS = 0.01


def clean_cuts():
    """The training cuts at original speed (clean synthesized speech of every training voice)."""
    return split_cuts("train").filter(lambda c: c.supervisions[0].custom["speed"] == 1.0)


def utterance_errors(aligner, cuts, features: list[torch.Tensor]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cut the sum of its word-boundary errors (ms, starts and ends), their number, and the
    alignment's relative confidence."""
    refs = {r.utterance_id: r for r in from_cuts(cuts)}
    alis = with_reference_words(align_features(aligner, cuts, features), refs)
    errors = [[e for pair in word_boundary_errors(a, refs[a.utterance_id]) for e in pair] for a in alis]
    return (np.array([sum(e) for e in errors]), np.array([len(e) for e in errors]),
            np.array([a.relative_confidence for a in alis]))


def routed(rule: RoutingRule, measures: list[tuple[float, float, float]], confidence: np.ndarray,
           samples: list[dict] | None = None) -> np.ndarray:
    """Per utterance whether the rule gives it to the robust model: by its measures (and its
    ``samples`` measures, where known), or by the default model's relative ``confidence``
    (:meth:`RoutedAligner.align_routed <fsttopo.routed_aligner.RoutedAligner.align_routed>`)."""
    samples = samples or [None] * len(measures)
    return np.array([bool(rule.reasons(m, sample)) or rule.low_confidence(c) is not None
                     for m, c, sample in zip(measures, confidence, samples)])


def rule_errors(rule: RoutingRule, measures: list[tuple[float, float, float]], default: np.ndarray,
                robust: np.ndarray, counts: np.ndarray, confidence: np.ndarray,
                samples: list[dict] | None = None) -> tuple[float, int]:
    """Mean word-boundary error (ms) of a split aligned by the model the rule picks per utterance,
    and how many utterances it sends to the robust model."""
    chosen = routed(rule, measures, confidence, samples)
    return float(np.where(chosen, robust, default).sum() / counts.sum()), int(chosen.sum())


def degraded_dev(cuts, transform: Callable[[int, np.ndarray], np.ndarray]) -> tuple[list[torch.Tensor], list[dict]]:
    """Every dev cut's samples through ``transform(index, samples)``, stored on a 16-bit grid as a
    recording is: the features and the samples measures (``sample_measures``) of each."""
    features, samples = [], []
    for i, cut in enumerate(cuts):
        x = transform(i, cut.load_audio()[0].astype(np.float64))
        x = (np.clip(np.round(x * 32768), -32768, 32767) / 32768).astype(np.float32)
        features.append(compute_features(x, cut.sampling_rate))
        samples.append(sample_measures(x, cut.sampling_rate))
    return features, samples


def quieter(i: int, x: np.ndarray) -> np.ndarray:
    """devquiet: dev at each gain of :data:`QUIET_GAINS_DB` in turn (what a quiet 16-bit recording
    loses is its bits, which the level normalization cannot give back)."""
    return x * 10 ** (QUIET_GAINS_DB[i % len(QUIET_GAINS_DB)] / 20)


def clipped(i: int, x: np.ndarray) -> np.ndarray:
    """devclip: dev scaled so that its peak would be each of :data:`CLIP_OVER_DB` dB over full scale
    in turn, and clipped there."""
    return np.clip(x * 10 ** (CLIP_OVER_DB[i % len(CLIP_OVER_DB)] / 20) / max(np.abs(x).max(), 1e-9), -1.0, 1.0)


def choose_sample_threshold(rule: RoutingRule, models: dict, cuts, split: tuple[list, list], field: str, grid: tuple,
                            clean_samples: list[dict], max_clean_routed: float) -> dict:
    """The threshold ``field`` of a samples measure added to ``rule``, chosen after its other
    thresholds on ``split`` (features and samples measures of degraded dev): of ``grid`` (also
    unused) the ones that send at most ``max_clean_routed`` % of the clean training and dev
    recordings to the robust model by it, the one with the lowest mean error on the split; ties
    within :data:`TIE_MS` go to the one that routes fewer."""
    features, samples = split
    sums, confidence = {}, {}
    for name, aligner in models.items():
        sums[name], counts, confidence[name] = utterance_errors(aligner, cuts, features)
        print(f"{field}: {name} model {sums[name].sum() / counts.sum():.3f} ms", flush=True)
    measures = [routing_measures(f) for f in features]
    scored = {}
    for threshold in grid:
        alone = RoutingRule(None, None, None, **{field: threshold})
        if sum(bool(alone.reasons((math.inf, 0.0, math.inf), m)) for m in clean_samples) > \
                max_clean_routed / 100 * len(clean_samples):
            continue
        scored[threshold] = rule_errors(replace(rule, **{field: threshold}), measures, sums["default"], sums["robust"],
                                        counts, confidence["default"], samples)
    best = min(e for e, _ in scored.values())
    chosen = min((t for t, (e, _) in scored.items() if e <= best + TIE_MS), key=lambda t: scored[t][1])
    return {"chosen": chosen, "errors_ms": {str(t): {"mean_ms": round(e, 3), "robust_utterances": n}
                                            for t, (e, n) in scored.items()},
            "one_model_ms": {name: round(float(sums[name].sum() / counts.sum()), 3) for name in models}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devaug-seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=ROUTING_FILE)
    p.add_argument("--max-clean-routed", type=float, default=1.0,
                   help="percent of the clean training and dev recordings a rule may send to the robust model")
    p.add_argument("--dry-run", action="store_true", help="measure and print, store nothing")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    models = {name: load_aligner(name) for name in ("default", "robust")}
    cuts = split_cuts("dev")
    splits = {"dev": [torch.from_numpy(c.load_features()).float() for c in cuts],
              "devaug": devaug_features(cuts, args.devaug_seed)}
    measured = {}
    for split, features in splits.items():
        start = time.perf_counter()
        sums, confidence = {}, {}
        for name, aligner in models.items():
            sums[name], counts, confidence[name] = utterance_errors(aligner, cuts, features)
            print(f"{split}, {name} model: {sums[name].sum() / counts.sum():.3f} ms", flush=True)
        measured[split] = ([routing_measures(f) for f in features], sums["default"], sums["robust"], counts,
                           confidence["default"])
        print(f"{split}: {time.perf_counter() - start:.0f} s", flush=True)
    clean = [routing_measures(torch.from_numpy(c.load_features()).float()) for c in clean_cuts()] + measured["dev"][0]
    dev_measures, dev_confidence = measured["dev"][0], measured["dev"][4]
    scored, excluded = [], 0
    for thresholds in itertools.product(DYNAMIC_RANGE_DB, DECAY_ASYMMETRY, HIGH_BAND_DB, DEFAULT_CONFIDENCE):
        rule = RoutingRule(*thresholds)
        by_confidence = routed(rule, dev_measures, dev_confidence).sum() - sum(bool(rule.reasons(m)) for m in dev_measures)
        if (sum(bool(rule.reasons(m)) for m in clean) > args.max_clean_routed / 100 * len(clean)
                or by_confidence > args.max_clean_routed / 100 * len(dev_measures)):
            excluded += 1
            continue
        per_split = {split: rule_errors(rule, *m) for split, m in measured.items()}
        scored.append((float(np.mean([e for e, _ in per_split.values()])), per_split["dev"][1], rule, per_split))
    best = min(s[0] for s in scored)
    mean_ms, _, rule, per_split = min((s for s in scored if s[0] <= best + TIE_MS), key=lambda s: (s[1], s[0]))
    baseline = {name: {split: rule_errors(RoutingRule(*always), *m)[0] for split, m in measured.items()}
                for name, always in (("default", (None, None, None)), ("robust", (float("inf"), None, None)))}
    by_threshold = {key: {str(v): round(min((s[0] for s in scored if getattr(s[2], key) == v), default=math.nan), 3)
                          for v in grid}
                    for key, grid in (("below_dynamic_range_db", DYNAMIC_RANGE_DB),
                                      ("above_decay_asymmetry", DECAY_ASYMMETRY), ("below_high_band_db", HIGH_BAND_DB),
                                      ("below_default_confidence", DEFAULT_CONFIDENCE))}
    clean_routed = sum(bool(rule.reasons(m)) for m in clean)
    dev_by_confidence = int(routed(rule, dev_measures, dev_confidence).sum()) - sum(bool(rule.reasons(m))
                                                                                   for m in dev_measures)
    selection = {"rule": rule.to_dict(), "mean_ms": round(mean_ms, 3), "best_mean_ms_by_threshold": by_threshold,
                 "clean_recordings": len(clean), "clean_routed": clean_routed,
                 "dev_routed_by_confidence": dev_by_confidence, "max_clean_routed_percent":
                 args.max_clean_routed, "rules_over_the_clean_limit": excluded,
                 "splits": {s: {"mean_ms": round(e, 3), "robust_utterances": n, "utterances": len(cuts)}
                            for s, (e, n) in per_split.items()},
                 "one_model_ms": {name: {s: round(e, 3) for s, e in b.items()} for name, b in baseline.items()},
                 "grid": {"below_dynamic_range_db": DYNAMIC_RANGE_DB, "above_decay_asymmetry": DECAY_ASYMMETRY,
                          "below_high_band_db": HIGH_BAND_DB, "below_default_confidence": DEFAULT_CONFIDENCE,
                          "tie_ms": TIE_MS},
                 "devaug_seed": args.devaug_seed}
    clean_samples = [sample_measures(c.load_audio()[0], c.sampling_rate) for c in [*clean_cuts(), *cuts]]
    selection["clean_speech_level_dbfs_min"] = round(min(m[SPEECH_LEVEL_KEY] for m in clean_samples), 1)
    selection["clean_clipped"] = sum(CLIPPED_KEY in m for m in clean_samples)
    for key, field, transform, grid in (("devquiet", "below_speech_level_dbfs", quieter, SPEECH_LEVEL_DBFS),
                                        ("devclip", "above_clipped_percent", clipped, CLIPPED_PERCENT)):
        selection[key] = choose_sample_threshold(rule, models, cuts, degraded_dev(cuts, transform), field, grid,
                                                 clean_samples, args.max_clean_routed)
        rule = replace(rule, **{field: selection[key]["chosen"]})
    selection["rule"] = rule.to_dict()
    print(json.dumps(selection, indent=1))
    if not args.dry_run:
        args.out.write_text(json.dumps(selection, indent=1) + "\n")
        print(f"written: {args.out}")


if __name__ == "__main__":
    main()
