"""Calibrate the "low confidence" flag: the relative utterance confidence below which a transcript is likely
not the one spoken, chosen on the dev voice with deliberately wrong transcripts, checked on the
held-out test voices, and stored in the model file.

    python recipes/tts/calibrate_confidence.py --model fsttopo/assets/model/model.pt \
        --dev data/tts/manifests/cuts_dev.jsonl.gz --test data/tts/manifests/cuts_test.jsonl.gz \
        --out exp/calibration

Wrong transcripts, per utterance: ``swapped`` (another utterance's transcript, the next one of
similar length) and ``substituted`` (a third of the words, at least one, replaced by random words
of other transcripts). The threshold maximises F1 of flagging wrong transcripts on dev; precision
and recall on dev and test, and a histogram, go to ``--out``. Transcripts that fit no alignment of
their audio fail on their own (NoPathError) and are left out of the scores.

With ``--devaug`` (models trained on augmented audio) the dev voice is also scored through the
training augmentation chain (``train_boundary.devaug_features``), a
:class:`~fsttopo.inference.confidence_conditions.ConditionAdjustment` is fitted to the right
transcripts of dev and devaug (what a recording's condition costs them), and the threshold
maximises F1 on the adjusted confidences of both: the flag then says "wrong transcript", not
"noisy recording". Both go into the model file.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
import torch
from lhotse import load_manifest_lazy
from tqdm import tqdm

from fsttopo.aligner import FEATURE_SHIFT, Aligner
from fsttopo.engine import NoPathError
from fsttopo.inference.confidence_conditions import ConditionAdjustment, condition_measures, fit_condition_adjustment

KINDS = ("right", "swapped", "substituted")


def transcripts(cuts, seed: int) -> list[dict[str, str]]:
    """Per cut: its right transcript and the two wrong ones."""
    rng = random.Random(seed)
    texts = [c.supervisions[0].text for c in cuts]
    vocabulary = sorted({w for t in texts for w in t.split()})
    order = sorted(range(len(texts)), key=lambda i: len(texts[i].split()))
    swap = {order[k]: order[(k + 1) % len(order)] for k in range(len(order))}
    out = []
    for i, text in enumerate(texts):
        words = text.split()
        for k in rng.sample(range(len(words)), max(1, len(words) // 3)):
            words[k] = rng.choice([w for w in vocabulary if w != words[k]])
        out.append({"right": text, "swapped": texts[swap[i]], "substituted": " ".join(words)})
    return out


def score_rows(aligner: Aligner, cuts, seed: int, features: list[torch.Tensor] | None = None) -> list[dict]:
    """Per cut (its stored features, or ``features``): the relative confidence of each kind of
    transcript (None where it fits no alignment) and the recording's condition measures."""
    rows = []
    cuts = list(cuts)
    for i, (cut, texts) in enumerate(tqdm(list(zip(cuts, transcripts(cuts, seed))), desc="confidence", unit="utt")):
        feats = torch.from_numpy(cut.load_features()).float() if features is None else features[i]
        encoded = aligner.encode([feats], aligner.align_options["phases"])
        # the confidence comes from the posteriors: what moves boundaries on the features afterwards
        # (the detector's refinement, pause-edge snapping, the silence trim) does not change it
        options = {k: v for k, v in aligner.align_options.items()
                   if k not in ("phases", "refine_boundaries", "pause_edges_db", "trim_silence")}
        row = {"measures": list(condition_measures(feats))}
        for kind in KINDS:
            try:
                ali = aligner.align_encoded(encoded, [texts[kind]], [feats.shape[0] * FEATURE_SHIFT], **options)
            except NoPathError:
                row[kind] = None
                continue
            row[kind] = ali.alignments[0].relative_confidence
        rows.append(row)
    return rows


def confidences(rows: list[dict], adjustment: ConditionAdjustment | None = None) -> dict[str, list[float]]:
    """Per kind, the relative confidences of ``rows`` (those that aligned), each plus the loss
    ``adjustment`` expects from its recording's condition."""
    return {k: [row[k] + (adjustment.drop_for(row["measures"]) if adjustment else 0.0) for row in rows
                if row[k] is not None] for k in KINDS}


def flag_stats(scores: dict[str, list[float]], threshold: float) -> dict[str, float]:
    right = np.array(scores["right"])
    wrong = np.concatenate([scores["swapped"], scores["substituted"]])
    flagged_wrong, flagged_right = int((wrong < threshold).sum()), int((right < threshold).sum())
    precision = flagged_wrong / max(flagged_wrong + flagged_right, 1)
    recall = flagged_wrong / len(wrong)
    return {"threshold": threshold, "precision": precision, "recall": recall,
            "f1": 2 * precision * recall / max(precision + recall, 1e-12),
            "right_flagged": flagged_right / len(right),
            "recall_swapped": float((np.array(scores["swapped"]) < threshold).mean()),
            "recall_substituted": float((np.array(scores["substituted"]) < threshold).mean()),
            "utterances": {k: len(v) for k, v in scores.items()}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--dev", type=Path, required=True)
    p.add_argument("--test", type=Path, required=True)
    p.add_argument("--test-limit", type=int, default=None, help="first N test utterances only")
    p.add_argument("--out", type=Path, default=Path("exp/calibration"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--devaug", action="store_true", help="also calibrate on devaug, with a condition adjustment")
    p.add_argument("--devaug-seed", type=int, default=1)
    args = p.parse_args()
    aligner = Aligner.from_file(args.model)
    dev_cuts = load_manifest_lazy(args.dev).to_eager()
    rows = {"dev": score_rows(aligner, dev_cuts, args.seed)}
    adjustment = None
    if args.devaug:
        from recipes.tts.train_boundary import devaug_features

        rows["devaug"] = score_rows(aligner, dev_cuts, args.seed, devaug_features(list(dev_cuts), args.devaug_seed))
        right = [(r["measures"], r["right"], split == "dev") for split, rs in rows.items() for r in rs
                 if r["right"] is not None]
        adjustment = fit_condition_adjustment(np.array([m for m, _, _ in right]), np.array([c for _, c, _ in right]),
                                              np.array([clean for _, _, clean in right]))
    calibration_rows = [r for rs in rows.values() for r in rs]
    calibration = confidences(calibration_rows, adjustment)
    candidates = np.unique(np.concatenate([calibration[k] for k in KINDS]))
    best = max((flag_stats(calibration, float(t)) for t in candidates), key=lambda s: s["f1"])
    rows["test"] = score_rows(aligner, list(load_manifest_lazy(args.test))[:args.test_limit], args.seed)
    scores = {split: confidences(rs, adjustment) for split, rs in rows.items()}
    result = {split: flag_stats(sc, best["threshold"]) for split, sc in scores.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "calibration.json").write_text(json.dumps({**result, "rows": rows}, indent=1))
    blob = torch.load(args.model, map_location="cpu", weights_only=False)
    blob["calibration"] = {"confidence_threshold": best["threshold"], **result,
                           **({"condition_adjustment": adjustment.to_dict()} if adjustment is not None else {})}
    tmp = args.model.with_name(args.model.name + ".tmp")
    torch.save(blob, tmp)
    tmp.replace(args.model)

    from fsttopo.data.plot import pyplot, save_figure

    plt = pyplot()
    names = {"dev": "dev (flite-awb)", "devaug": "devaug (dev augmented)", "test": "test (held-out voices)"}
    fig, axes = plt.subplots(1, len(scores), figsize=(5 * len(scores), 3.5), sharey=True)
    for ax, (split, split_scores) in zip(axes, scores.items()):
        name = names[split] + (", adjusted" if adjustment is not None else "")
        for kind in KINDS:
            ax.hist(split_scores[kind], bins=np.linspace(0, 1.2, 49), alpha=0.5, label=kind)
        ax.axvline(best["threshold"], color="k", linestyle="--", label=f"threshold {best['threshold']:.3f}")
        ax.set_title(name)
        ax.set_xlabel("relative utterance confidence" + (" + expected loss" if adjustment is not None else ""))
    axes[0].set_ylabel("utterances")
    axes[0].legend()
    save_figure(fig, args.out / "confidence_calibration.png", dpi=120)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
