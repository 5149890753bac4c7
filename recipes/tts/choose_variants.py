"""Choose whether a shipped model chooses among pronunciation variants, and at what penalty, on dev.

The ``pronunciation_variants`` align option lets the best path pick each word's pronunciation among
the lexicon's (CMUdict: "the" as ``dh ah`` or ``dh iy``), one other than the word's own costing
``variant_penalty`` nats (:mod:`fsttopo.inference.pronunciation_choice`). The rule, fixed before
the numbers: measure the mean word-boundary error with the option off and on at each penalty of
:data:`PENALTIES` on every split (dev, and for a model trained on augmented audio also devaug, as
``choose_phases.py``); take the penalty with the lowest mean over the splits; switch the option on
only if that penalty lowers the error on every split. Test voices and conditions are never looked
at. The choice goes into the model file's alignment defaults and ``config.json`` (``align``, and
the measurements under ``variants_selection``).

    python recipes/tts/choose_variants.py --model fsttopo/assets/model
    python recipes/tts/choose_variants.py --model fsttopo/assets/model_robust --devaug
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np

from recipes.tts.choose_phases import boundary_errors_ms, selection_inputs, selection_parser, store_align_options

PENALTIES = (1.0, 2.0, 4.0, 8.0, 16.0)
OFF = "off"


def choose(errors: dict[str, dict[str, float]]) -> float | None:
    """The penalty to ship, or None for off: ``errors`` is split -> (``"off"`` or the penalty as a
    string) -> mean error (ms)."""
    penalties = [k for k in next(iter(errors.values())) if k != OFF]
    best = min(penalties, key=lambda k: (np.mean([split[k] for split in errors.values()]), float(k)))
    return float(best) if all(split[best] < split[OFF] for split in errors.values()) else None


def main() -> None:
    args = selection_parser(__doc__.splitlines()[0]).parse_args()
    aligner, cuts, splits = selection_inputs(args)
    settings = {OFF: {"pronunciation_variants": False},
                **{str(pen): {"pronunciation_variants": True, "variant_penalty": pen} for pen in PENALTIES}}
    errors: dict[str, dict[str, float]] = {}
    cpu: dict[str, float] = {}
    for name, features in splits.items():
        errors[name] = {}
        for key, options in settings.items():
            start = time.process_time()
            errors[name][key] = round(float(np.mean(boundary_errors_ms(aligner, cuts, features, **options))), 3)
            cpu[key] = cpu.get(key, 0.0) + time.process_time() - start
            print(f"{name}, variants {key}: {errors[name][key]:.3f} ms ({cpu[key]:.0f} s CPU so far)", flush=True)
    chosen = choose(errors)
    selection = {"errors_ms": errors, "cpu_s": {k: round(v, 1) for k, v in cpu.items()},
                 "chosen": OFF if chosen is None else chosen}
    print(json.dumps(selection))
    if not args.dry_run:
        options = ({"pronunciation_variants": False} if chosen is None else
                   {"pronunciation_variants": True, "variant_penalty": chosen})
        store_align_options(args.model, options, "variants_selection", selection)
        print(f"{args.model}: {options} stored")


if __name__ == "__main__":
    main()
