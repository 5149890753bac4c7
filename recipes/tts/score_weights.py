"""Score weight sets inside a shipped model file: dev, devaug and the -40 dB example gap.

Choosing between training runs, epochs and weight averages (docs/augmentation.md) asks one
question of each: with the shipped model's alignment options, boundary detector and phases, how
good are these weights? This swaps each weight file's acoustic model and label prior into the
``--base`` model file (nothing else of the weight file is used) and measures, per weight set:

- ``dev``: mean word-boundary error (ms, starts and ends pooled) over every dev utterance;
- ``devaug``: the same on dev through the training augmentation chain
  (``train_boundary.devaug_features``, seed ``--devaug-seed``);
- ``quiet_gap``: the guard of ``tests/test_level.py``: the mean error on the shipped example 40 dB
  quieter, stored on a 16-bit grid, minus that at full level (ms; the test needs at most 2).
- ``example_max``: the largest word-boundary error on the shipped example (ms;
  ``tests/test_shipped_model.py`` needs at most 50 for the default model);
- ``dev_over_150``, ``devaug_over_150``: how many boundaries are more than 150 ms off.

``--options`` overrides alignment options (e.g. the prior scale) for every weight set.

Test voices and test conditions are never looked at. Results go to ``<out>.json`` and ``<out>.md``.

    python recipes/tts/score_weights.py --base fsttopo/assets/model_robust/model.pt \\
        --weights exp/tts/hmm_robust_soup_seed5/epoch2.pt exp/tts/robust_soup_seed5/model.pt \\
        --out exp/tts/score_weights/seed5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
import soundfile
import torch

from fsttopo.aligner import Aligner
from fsttopo.data.export import load_alignments
from fsttopo.data.features import compute_features
from fsttopo.resources import example_paths, model_path
from fsttopo.scoring import word_boundary_errors
from fsttopo.training import read_model_file
from fsttopo.training.checkpoint import ModelFile
from recipes.tts.choose_phases import boundary_errors_ms
from recipes.tts.train_boundary import devaug_features, split_cuts

LARGE_MS = 150.0
"""The issue's largest tolerated clean boundary error: each split also counts the boundaries beyond it."""


def with_weights(base: ModelFile, weights: ModelFile, where: str) -> ModelFile:
    """``base`` with the acoustic model and label prior of ``weights`` (same architecture and tokens)."""
    if weights.tokens != base.tokens:
        raise ValueError(f"{where}: its token table differs from the base model's")
    if weights.model.config != base.model.config:
        raise ValueError(f"{where}: its architecture differs from the base model's "
                         f"({weights.model.config} against {base.model.config})")
    if weights.log_prior is None:
        raise ValueError(f"{where}: no label prior (estimate one: recipes/tts/average_models.py --weights 1)")
    return replace(base, model=weights.model, log_prior=weights.log_prior)


def example_errors(aligner: Aligner) -> tuple[float, float, float]:
    """(mean at full level, mean 40 dB quieter on a 16-bit grid, max at full level), ms, on the
    shipped example: the measurement of tests/test_level.py and tests/test_shipped_model.py."""
    wav, txt, ref_path = example_paths()
    ref = load_alignments(ref_path)[0]
    x, sr = soundfile.read(wav, dtype="float32")
    quiet = (np.round(x * 0.01 * 32767) / 32767).astype(np.float32)
    errors = []
    for audio in (x, quiet):
        hyp = aligner.align([compute_features(audio, sr)], [txt.read_text()]).alignments[0]
        errors.append([abs(e) for pair in word_boundary_errors(hyp, ref) for e in pair])
    return float(np.mean(errors[0])), float(np.mean(errors[1])), float(np.max(errors[0]))


def score(aligner: Aligner, cuts, splits: dict[str, list[torch.Tensor]]) -> dict[str, float]:
    row = {}
    for name, features in splits.items():
        errors = boundary_errors_ms(aligner, cuts, features)
        row[name] = round(float(errors.mean()), 3)
        row[f"{name}_over_150"] = int(np.sum(errors > LARGE_MS))
    if "devaug" in row:
        row["mean"] = round((row["dev"] + row["devaug"]) / 2, 3)
    clean, quiet, worst = example_errors(aligner)
    row.update(quiet_gap=round(quiet - clean, 3), example_max=round(worst, 2))
    return row


def markdown(rows: dict[str, dict[str, float]]) -> str:
    cols = list(next(iter(rows.values())))
    lines = ["| weights | " + " | ".join(cols) + " |", "| --- |" + " ---: |" * len(cols)]
    cell = lambda v: f"{v}" if isinstance(v, int) else f"{v:.2f}"  # noqa: E731
    lines += [f"| {name} | " + " | ".join(cell(r[c]) for c in cols) + " |" for name, r in rows.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", default="robust", help="model file or shipped model name whose options, detector "
                                                    "and phases are used")
    p.add_argument("--weights", nargs="+", required=True, help="model or epoch files; 'base' scores the base itself")
    p.add_argument("--no-devaug", action="store_true", help="clean dev only (models trained on clean audio)")
    p.add_argument("--devaug-seed", type=int, default=1)
    p.add_argument("--options", type=json.loads, default={},
                   help="alignment options over the base's, as JSON, e.g. "
                        "'{\"prior_scale\": 1.0, \"blank_penalty\": 0}'")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, required=True, help="output stem: <out>.json and <out>.md")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    base = read_model_file(model_path(args.base))
    cuts = split_cuts("dev")
    splits = {"dev": [torch.from_numpy(c.load_features()).float() for c in cuts]}
    if not args.no_devaug:
        splits["devaug"] = devaug_features(cuts, args.devaug_seed)
    rows: dict[str, dict[str, float]] = {}
    if not isinstance(args.options, dict):
        p.error(f"--options must be a JSON object of alignment options, got {args.options!r}")
    for name in args.weights:
        start = time.process_time()
        f = base if name == "base" else with_weights(base, read_model_file(name), name)
        f = replace(f, align_options={**f.align_options, **args.options})
        rows[name] = score(Aligner.from_model_file(f, where=name), cuts, splits)
        print(f"{name}: {rows[name]} ({time.process_time() - start:.0f} s CPU)", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {"base": str(model_path(args.base)), "options": args.options,
              "devaug_seed": None if args.no_devaug else args.devaug_seed, "scores": rows}
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(markdown(rows))
    print(markdown(rows))


if __name__ == "__main__":
    main()
