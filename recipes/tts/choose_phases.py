"""Choose a shipped model's default number of frame-grid phases on dev, and store it in the model.

Each phase runs the acoustic model and the alignment once more, on the features shifted by one
more 10 ms frame, so alignment costs grow with the phases; the boundary detector's refinement
(docs/boundaries.md) recovers most of what more phases add. The rule, fixed before the numbers:
the fewest phases (of 1, 2, 4) whose mean word-boundary error is within ``--tolerance-ms`` (0.2)
of the best on every split measured: dev, and for a model trained on augmented audio also devaug
(dev through the training augmentation chain, ``train_boundary.devaug_features``). Test voices
and conditions are never looked at. The choice goes into the model file's alignment defaults and
``config.json`` (``align.phases``, and the measurements under ``phases_selection``).

    python recipes/tts/choose_phases.py --model fsttopo/assets/model
    python recipes/tts/choose_phases.py --model fsttopo/assets/model_robust --devaug
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
import torch

from fsttopo.data.export import from_cuts
from fsttopo.files import load_aligner
from fsttopo.scoring import word_boundary_errors
from recipes.tts.train_boundary import align_features, devaug_features, split_cuts, with_reference_words

PHASES = (1, 2, 4)


def boundary_errors_ms(aligner, cuts, features: list[torch.Tensor], **options) -> np.ndarray:
    """Word-boundary errors (ms, starts and ends, in cut order) of the cuts aligned from ``features``
    (one per cut) with the alignment ``options`` over the aligner's own."""
    refs = {r.utterance_id: r for r in from_cuts(cuts)}
    alis = with_reference_words(align_features(aligner, cuts, features, **options), refs)
    return np.array([e for a in alis for pair in word_boundary_errors(a, refs[a.utterance_id]) for e in pair])


def mean_error_ms(aligner, cuts, features: list[torch.Tensor], phases: int) -> float:
    """Mean word-boundary error (ms, starts and ends pooled) of the cuts aligned with ``phases``."""
    return float(np.mean(boundary_errors_ms(aligner, cuts, features, phases=phases)))


def choose(errors: dict[str, dict[int, float]], tolerance_ms: float) -> int:
    """The fewest phases within ``tolerance_ms`` of each split's best: ``errors`` is split -> phases -> ms."""
    return min(p for p in PHASES if all(split[p] <= min(split.values()) + tolerance_ms for split in errors.values()))


def store_align_options(model_dir: Path, options: dict, selection_key: str, selection: dict) -> None:
    """Write ``options`` into ``model_dir``'s model.pt alignment defaults and config.json's
    ``align``, and the measurements behind them under ``selection_key``."""
    path = model_dir / "model.pt"
    blob = torch.load(path, map_location="cpu", weights_only=False)
    blob["align_options"] = {**blob.get("align_options", {}), **options}
    torch.save(blob, path)
    config_path = model_dir / "config.json"
    config = json.loads(config_path.read_text())
    config["align"] = {**config.get("align", {}), **options}
    config[selection_key] = selection
    config_path.write_text(json.dumps(config, indent=1))


def store(model_dir: Path, phases: int, selection: dict) -> None:
    """Write ``phases`` into ``model_dir``'s model.pt alignment defaults and config.json."""
    store_align_options(model_dir, {"phases": phases}, "phases_selection", selection)


def selection_parser(description: str) -> argparse.ArgumentParser:
    """The arguments of a dev selection of a shipped model's option (this script's and
    ``choose_variants.py``'s)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model", type=Path, required=True, help="shipped model directory (model.pt, config.json)")
    p.add_argument("--devaug", action="store_true", help="also measure devaug (models trained on augmented audio)")
    p.add_argument("--devaug-seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dry-run", action="store_true", help="measure and print, store nothing")
    return p


def selection_inputs(args: argparse.Namespace) -> tuple:
    """``(aligner, dev cuts, {split: features})`` of :func:`selection_parser`'s arguments: dev,
    and devaug with ``--devaug``."""
    torch.set_num_threads(args.threads)
    aligner = load_aligner(str(args.model / "model.pt"))
    cuts = split_cuts("dev")
    splits = {"dev": [torch.from_numpy(c.load_features()).float() for c in cuts]}
    if args.devaug:
        splits["devaug"] = devaug_features(cuts, args.devaug_seed)
    return aligner, cuts, splits


def main() -> None:
    p = selection_parser(__doc__.splitlines()[0])
    p.add_argument("--tolerance-ms", type=float, default=0.2)
    args = p.parse_args()
    aligner, cuts, splits = selection_inputs(args)
    errors: dict[str, dict[int, float]] = {}
    cpu: dict[int, float] = {}
    for name, features in splits.items():
        errors[name] = {}
        for phases in PHASES:
            start = time.process_time()
            errors[name][phases] = round(mean_error_ms(aligner, cuts, features, phases), 3)
            cpu[phases] = cpu.get(phases, 0.0) + time.process_time() - start
            print(f"{name}, {phases} phases: {errors[name][phases]:.3f} ms ({cpu[phases]:.0f} s CPU so far)", flush=True)
    chosen = choose(errors, args.tolerance_ms)
    selection = {"errors_ms": {s: {str(k): v for k, v in e.items()} for s, e in errors.items()},
                 "cpu_s": {str(k): round(v, 1) for k, v in cpu.items()}, "tolerance_ms": args.tolerance_ms,
                 "chosen": chosen}
    print(json.dumps(selection))
    if not args.dry_run:
        store(args.model, chosen, selection)
        print(f"{args.model}: phases {chosen} stored")


if __name__ == "__main__":
    main()
