"""The paper's question on a new language, from one train-align run: its CTC stage against its final
(HMM) stage, each tuned on the run's dev speaker by reference times and scored on the held-out voice.

    python recipes/other_languages/compare_stages.py --run exp/other/it_graphemes \\
        --test data/other_languages/it/test --out exp/other/it_graphemes/stages.md

Both stages are the same run's models (CTC from scratch, then the HMM with prior initialized from
it): the comparison costs a tuning and an alignment of the held-out voice per stage, no training.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lhotse import load_manifest_lazy

from fsttopo.aligner import Aligner
from fsttopo.directory import align_directory
from fsttopo.output_dir import file_identity
from fsttopo.train_align import save_tuned_model, tuning_candidates
from fsttopo.tuning import epoch_files, tune_alignment_options
from recipes.other_languages.baseline_table import references, row
from recipes.tts.condition_table import summarize

STAGES = {"ctc": "CTC (bootstrap stage)", "final": "HMM with prior (final stage)"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, required=True, help="a train-align output directory")
    p.add_argument("--test", type=Path, required=True, help="the held-out voice's corpus directory (TextGrids)")
    p.add_argument("--out", type=Path, required=True, help="Markdown table (and a .json beside it)")
    p.add_argument("--epochs", type=int, default=4, help="epoch files of each stage compared")
    args = p.parse_args()
    state = json.loads((args.run / "train_align.json").read_text())["stages"]
    dev = load_manifest_lazy(state["prepare"]["dev_cuts"]).to_eager()
    refs = references(args.test)
    rows, results = [], {}
    for stage, title in STAGES.items():
        if stage not in state:
            continue
        files = tuning_candidates(epoch_files(state[stage]["dir"]), args.epochs)
        choices = tune_alignment_options(files, dev, "references", log=None)
        choice = min(choices.values(), key=lambda c: c["dev_error_ms"])
        model = save_tuned_model(choice, args.run / f"model_{stage}.pt")
        out = args.run / f"test_alignments_{stage}"
        result = align_directory(Aligner.from_file(model), args.test, out, identity={"model": file_identity(model)})
        hyps = {a.utterance_id: a for a in result.alignments}
        scores = summarize({u: hyps.get(u) for u in refs}, refs)
        name = (f"{title}: {choice['method']}, {Path(choice['model']).stem}, dev {choice['dev_error_ms']:.1f} ms")
        rows.append(row(name, scores))
        results[stage] = {"choice": choice, "test": scores.to_dict()}
    table = "\n".join(["| model (tuned on dev) | mean [ms] | median [ms] | p90 [ms] | max [ms] | <=20 ms [%] | "
                       "<=50 ms [%] | <=100 ms [%] | words failed |",
                       "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |", *rows])
    args.out.write_text(table + "\n", encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    print(table)


if __name__ == "__main__":
    main()
