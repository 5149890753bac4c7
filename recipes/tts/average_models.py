"""Weight-space average of model files of one architecture (WiSE-FT, Wortsman et al. 2022), as an
experiment directory that ``tune.py`` and ``ship.py`` take.

Fine-tuning the clean model on augmented audio made it robust to noise but cost clean accuracy;
averaging the two weight sets keeps most of both (docs/augmentation.md). The label prior is
estimated anew for the averaged weights, on the training cuts.

    python recipes/tts/average_models.py --models fsttopo/assets/model/model.pt exp/tts/hmm_robust/epoch3.pt \
        --weights 0.5 0.5 --cuts data/tts/manifests/cuts_train.jsonl.gz --out exp/tts/hmm_robust_wise50
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch
from lhotse import load_manifest_lazy

from fsttopo.training import estimate_log_prior, read_model_file, save_model


def average_state(states: list[dict[str, torch.Tensor]], weights: list[float]) -> dict[str, torch.Tensor]:
    """``sum_i weights[i] * states[i]`` for floating-point entries (float32), the first state's
    value for the others (counters); ValueError when the states do not have the same entries and shapes."""
    keys = list(states[0])
    for i, state in enumerate(states[1:], 1):
        if list(state) != keys or any(state[k].shape != states[0][k].shape for k in keys):
            raise ValueError(f"model {i} does not have the architecture of model 0")
    return {k: (sum(w * s[k].float() for w, s in zip(weights, states)) if states[0][k].is_floating_point()
                else states[0][k]) for k in keys}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", type=Path, nargs="+", required=True)
    p.add_argument("--weights", type=float, nargs="+", required=True, help="one per model, summing to 1")
    p.add_argument("--cuts", type=Path, required=True, help="training cuts with features, for the label prior")
    p.add_argument("--prior-hours", type=float, default=0.5)
    p.add_argument("--out", type=Path, required=True, help="experiment directory to write (model.pt, config.json)")
    args = p.parse_args()
    if len(args.weights) != len(args.models) or abs(sum(args.weights) - 1) > 1e-6 or min(args.weights) < 0:
        p.error("give one non-negative weight per model, summing to 1")
    files = [read_model_file(m) for m in args.models]
    model = files[-1].model
    model.load_state_dict(average_state([f.model.state_dict() for f in files], args.weights))
    log_prior = estimate_log_prior(model, load_manifest_lazy(args.cuts), args.prior_hours)
    args.out.mkdir(parents=True, exist_ok=True)
    save_model(args.out / "model.pt", model, files[-1].objective, files[-1].tokens, log_prior=log_prior,
               units=files[-1].units,
               extra={"averaged": {"models": [str(m) for m in args.models], "weights": args.weights}})
    config = next((m.parent / "config.json" for m in reversed(args.models) if (m.parent / "config.json").is_file()),
                  None)
    if config is not None:
        shutil.copy(config, args.out / "config.json")
    (args.out / "averaged.json").write_text(json.dumps({"models": [str(m) for m in args.models],
                                                        "weights": args.weights}, indent=1))
    print(f"{args.out}/model.pt: " + " + ".join(f"{w:g} x {m}" for w, m in zip(args.weights, args.models)))


if __name__ == "__main__":
    main()
