"""Stage 7: copy a trained aligner into ``fsttopo/assets/model/`` as the shipped model (float16 weights),
with the epoch, alignment-time penalty and prior scale that ``compare.py`` selected on the dev voice,
and its word decoder (``decoder.json.gz``: bigram LM of the training text pool, the decoding options
tuned on dev) so that ``fsttopo transcribe`` works without arguments.

    python recipes/tts/ship.py --tuned exp/tts/tuned.json --out fsttopo/assets/model   # best on dev
    python recipes/tts/ship.py --exp exp/tts/hmm_prior --tuned exp/tts/tuned.json --out fsttopo/assets/model
    python recipes/tts/ship.py --tuned exp/tts/hmm_robust_stage3/tuned.json --weights exp/tts/robust_soup50/model.pt \
        --out fsttopo/assets/model_robust     # other weights (an average) with the tuned epoch's options
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch

from fsttopo.align.refine import BoundaryRefiner
from fsttopo.aligner import ALIGN_OPTIONS, Aligner
from fsttopo.recognizer import Recognizer
from fsttopo.training import read_model_file, save_model
from recipes.tts.text import pool_transcripts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--exp", type=Path, help="experiment directory with model.pt and config.json (default: "
                   "the experiment of --tuned with the lowest dev TSE)")
    p.add_argument("--tuned", type=Path, help="tuned.json of compare.py: ship this experiment's dev-selected "
                   "epoch, with its blank_penalty and prior_scale as the model's alignment defaults")
    p.add_argument("--weights", type=Path, default=None,
                   help="model file to ship instead of the selected epoch (e.g. a weight average of it, "
                        "recipes/tts/average_models.py), with the selected epoch's alignment options")
    p.add_argument("--lm-text", type=Path, default=Path("data/tts/text/train.jsonl"),
                   help="training text pool for the decoder's bigram LM (skipped when missing)")
    p.add_argument("--out", default="fsttopo/assets/model")
    p.add_argument("--boundary-detector", default=None,
                   help="boundary detector file (recipes/tts/train_boundary.py, docs/boundaries.md) the model carries, "
                        "with refine_boundaries on (default: OUT/boundary_detector.pt when present; '' for none)")
    args = p.parse_args()
    if args.exp is None and args.tuned is None:
        p.error("give --exp, --tuned or both")
    if args.exp is None:
        tuned = json.loads(args.tuned.read_text())
        args.exp = Path(min(tuned.values(), key=lambda entry: entry["dev_error_ms"])["exp"])
    exp, out = args.exp, Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    source, align, selected = exp / "model.pt", {}, {}
    if args.tuned:
        selected = json.loads(args.tuned.read_text())[exp.name]
        source = Path(selected["model"])
        align = {k: selected[k] for k in ALIGN_OPTIONS}
    # the training log and config are those of the weights shipped: the experiment's, or those next
    # to --weights (an average records what it averaged)
    logged = exp / "model.pt" if args.weights is None else args.weights
    blob = torch.load(logged, map_location="cpu", weights_only=False)
    log = blob.get("log", [])
    if args.weights is not None:
        source, selected = args.weights, {**selected, "model": str(args.weights), "options_of": selected.get("model"),
                                          **({"averaged": blob["averaged"]} if "averaged" in blob else {})}
    f = read_model_file(source)
    if f.log_prior is None:
        sys.exit(f"{source} has no label prior: run recipes/tts/add_prior.py --model {source} --cuts TRAIN_CUTS first")
    detector = Path(args.boundary_detector if args.boundary_detector is not None else out / "boundary_detector.pt")
    refiner, detector_info = None, {}
    if args.boundary_detector != "" and detector.is_file():
        detector_blob = torch.load(detector, map_location="cpu", weights_only=False)
        refiner = BoundaryRefiner.from_dict(detector_blob, str(detector))
        align = {**align, "refine_boundaries": True}
        detector_info = {"boundary_detector": {"file": str(detector), "refine": refiner.options.to_dict(),
                                               "train_info": detector_blob.get("train_info")}}
    save_model(out / "model.pt", f.model, f.objective, f.tokens, half=True, extra={"log": log}, align_options=align,
               log_prior=f.log_prior, boundary_refiner=refiner, units=f.units)
    config = json.loads((logged.parent / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**config, "align": align, "dev_selection": selected, **detector_info},
                                                indent=1))
    (out / "training_log.json").write_text(json.dumps(log, indent=1))
    print(f"shipped {source} -> {out}/model.pt ({(out / 'model.pt').stat().st_size / 1e6:.1f} MB)")
    if args.lm_text.is_file():
        decoding = {k: v for k, v in selected.get("decoding", {}).items() if k in ("lm_scale", "word_penalty",
                                                                                    "blank_penalty", "prior_scale")}
        recognizer = Recognizer.from_texts(Aligner.from_file(out / "model.pt"), pool_transcripts(args.lm_text),
                                           **decoding)
        recognizer.save(out / "decoder.json.gz")
        print(f"decoder: {len(recognizer.lm)} words, {len(recognizer.lm.bigram)} bigrams, {recognizer.options} -> "
              f"{out}/decoder.json.gz ({(out / 'decoder.json.gz').stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
