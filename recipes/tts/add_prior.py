"""Estimate a model's label prior on training cuts and store it in the model file (for model files
written before the trainer stored one; the shipped model got its prior this way).

    python recipes/tts/add_prior.py --model fsttopo/assets/model/model.pt \
        --cuts data/tts/manifests/cuts_train.jsonl.gz

Everything else in the file (weights, configurations, tuned options, log) is kept as it is.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch
from lhotse import load_manifest_lazy

from fsttopo.training import estimate_log_prior, read_model_file


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--cuts", type=Path, required=True, help="training cuts with features")
    p.add_argument("--hours", type=float, default=None, help="audio to average over (default: all)")
    args = p.parse_args()
    log_prior = estimate_log_prior(read_model_file(args.model).model, load_manifest_lazy(args.cuts), args.hours)
    blob = torch.load(args.model, map_location="cpu", weights_only=False)
    blob["log_prior"] = log_prior
    tmp = args.model.with_name(args.model.name + ".tmp")
    torch.save(blob, tmp)
    tmp.replace(args.model)
    tokens = blob["tokens"]
    top = sorted(zip(log_prior.exp().tolist(), tokens), reverse=True)[:5]
    print(f"{args.model}: label prior stored; largest: " + ", ".join(f"{t} {p:.3f}" for p, t in top))


if __name__ == "__main__":
    main()
