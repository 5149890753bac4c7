"""How well the boundary spread (``start_sd``/``end_sd``) and the word confidence mark word
boundaries that are far off: the area under the ROC curve of each, per split (docs/alignment.md,
"Boundary spread"). Dev and devaug choose nothing here; the test split is only looked at.

    python recipes/tts/spread_roc.py --model robust --splits dev devaug test --out exp/tts/spread/robust.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
import torch

from fsttopo.data.export import from_cuts
from fsttopo.files import load_aligner
from fsttopo.output_dir import UNCERTAIN_SHARE
from fsttopo.scoring import word_boundary_errors
from recipes.tts.train_boundary import align_features, devaug_features, split_cuts, with_reference_words

THRESHOLDS_MS = (50.0, 100.0)


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties count half): the
    area under the ROC curve, from the rank sum (Mann-Whitney U). ValueError without both classes."""
    scores, positive = np.asarray(scores, dtype=np.float64), np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"need positives and negatives, got {n_pos} and {n_neg}")
    order = np.argsort(scores, kind="mergesort")
    _, first, counts = np.unique(scores[order], return_index=True, return_counts=True)
    ranks = np.empty(scores.size)
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)  # 1-based; ties share their mean rank
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def boundary_rows(alis, refs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per word boundary (starts and ends): absolute error (ms), spread (ms), word confidence."""
    errors, spreads, confidences = [], [], []
    for a in alis:
        if any(w.boundary_sd is None for w in a.words):
            raise ValueError(f"{a.utterance_id}: no boundary spreads (align with the posterior method)")
        errors += [e for pair in word_boundary_errors(a, refs[a.utterance_id]) for e in pair]
        spreads += [sd * 1000 for w in a.words for sd in (w.start_sd, w.end_sd)]
        confidences += [w.confidence for w in a.words for _ in (0, 1)]
    return np.array(errors), np.array(spreads), np.array(confidences, dtype=np.float64)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="robust")
    p.add_argument("--splits", nargs="+", choices=("dev", "devaug", "test"), default=["dev", "devaug"])
    p.add_argument("--devaug-seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    aligner = load_aligner(args.model)
    result = {}
    for split in args.splits:
        cuts = split_cuts(split)
        refs = {r.utterance_id: r for r in from_cuts(cuts)}
        feats = (devaug_features(cuts, args.devaug_seed) if split == "devaug"
                 else [torch.from_numpy(c.load_features()).float() for c in cuts])
        alis = with_reference_words(align_features(aligner, cuts, feats), refs)
        errors, spreads, confidences = boundary_rows(alis, refs)
        row = {"utterances": len(cuts), "boundaries": int(errors.size)}
        for t in THRESHOLDS_MS:
            bad = errors > t
            row[f"over_{t:g}ms"] = {"count": int(bad.sum()), "auc_spread": round(roc_auc(spreads, bad), 3),
                                    "auc_low_confidence": round(roc_auc(-confidences, bad), 3),
                                    "median_spread_ms": [round(float(np.median(spreads[bad])), 1),
                                                         round(float(np.median(spreads[~bad])), 1)]}
        good_p90 = float(np.percentile(spreads[errors <= 50], 90))
        row["within_50ms_spread_p90_ms"] = round(good_p90, 1)
        row["over_150ms_above_that"] = [int(np.sum(spreads[errors > 150] > good_p90)), int(np.sum(errors > 150))]
        # the words uncertain_words.tsv lists (fsttopo.output_dir.UNCERTAIN_SHARE): how many of
        # the words with a boundary more than 100 ms off are among them
        word_spread, word_error = spreads.reshape(-1, 2).max(1), errors.reshape(-1, 2).max(1)
        listed = np.argsort(-word_spread, kind="stable")[: math.ceil(UNCERTAIN_SHARE * word_spread.size)]
        row["listed_words_over_100ms"] = [int(np.sum(word_error[listed] > 100)), int(np.sum(word_error > 100)),
                                          int(listed.size)]
        result[split] = row
        print(split, json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"model": args.model, "splits": result}, indent=1) + "\n")


if __name__ == "__main__":
    main()
