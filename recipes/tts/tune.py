"""Select one experiment's alignment options on the dev voice and write ``tuned.json`` for ``ship.py``.

The selection of ``compare.py`` (:func:`recipes.tts.compare.tune_on_dev`: epoch, method, silence
penalty, prior scale, phases and time shift by the mean word-boundary error on the dev voice) for
one experiment directory, without the test-set comparison:

    python recipes/tts/tune.py --exp exp/tts/hmm_robust --dev data/tts/manifests/cuts_dev.jsonl.gz
    python recipes/tts/ship.py --tuned exp/tts/hmm_robust/tuned.json --out fsttopo/assets/model
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lhotse import load_manifest_lazy

from fsttopo.threads import set_threads
from recipes.tts.compare import tune_on_dev


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--exp", type=Path, required=True, help="experiment directory (epoch*.pt, model.pt, config.json)")
    p.add_argument("--dev", type=Path, default=Path("data/tts/manifests/cuts_dev.jsonl.gz"))
    p.add_argument("--dev-utterances", type=int, default=100, help="use the first N dev utterances")
    p.add_argument("--out", type=Path, help="default: EXP/tuned.json")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    set_threads(args.threads)
    dev = load_manifest_lazy(args.dev).to_eager().subset(first=args.dev_utterances)
    best = tune_on_dev(args.exp, dev)
    choice = min(best.values(), key=lambda entry: entry["dev_error_ms"])
    out = args.out or args.exp / "tuned.json"
    out.write_text(json.dumps({args.exp.name: {**choice, "exp": str(args.exp)}}, indent=1))
    for method, entry in best.items():
        print(f"  {method}: dev TSE {entry['dev_error_ms']:.1f} ms")
    print(f"{args.exp.name}: {choice['method']}, epoch {choice['epoch']}/{choice['epochs']}, penalty "
          f"{choice['blank_penalty']} / prior {choice['prior_scale']}, {choice['phases']} phases, shift "
          f"{1000 * choice['time_shift']:+.0f} ms: dev TSE {choice['dev_error_ms']:.1f} ms -> {out}")


if __name__ == "__main__":
    main()
