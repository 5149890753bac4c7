"""The own-recordings columns of docs/own-corpus.md: each train-align run's alignment of its own
corpus scored against the corpus's TextGrids, over all files and per speaker directory.

    python recipes/other_languages/voice_table.py --corpus data/other_languages/ru/train \\
        --run "ru graphemes=exp/other/ru_graphemes" --run "ru dictionary=exp/other/ru_dictionary"

Prints a markdown table (mean word-boundary error in ms, starts and ends pooled; the speakers in
the corpus's order) and, with ``--out``, writes it there too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np

from fsttopo.data.export import load_alignments, read_textgrid
from fsttopo.scoring import word_boundary_errors


def voice_errors(alignments_dir: Path, corpus: Path) -> dict[str, list[float]]:
    """Word-boundary errors (ms) per speaker directory of ``corpus``, of every alignment in
    ``alignments_dir`` whose TextGrid has the same words."""
    errors: dict[str, list[float]] = {}
    for ali in load_alignments(alignments_dir):
        grid = corpus / f"{ali.utterance_id}.TextGrid"
        if not grid.is_file():
            continue
        ref = read_textgrid(grid, ali.utterance_id)
        if [w.symbol for w in ali.words] != [w.symbol for w in ref.words]:
            continue
        speaker = ali.utterance_id.split("/")[0] if "/" in ali.utterance_id else ""
        errors.setdefault(speaker, []).extend(e for pair in word_boundary_errors(ali, ref) for e in pair)
    return errors


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", type=Path, required=True, help="the training corpus directory (TextGrids)")
    p.add_argument("--run", action="append", required=True, metavar="NAME=DIR",
                   help="a train-align output directory (its alignments/ are scored)")
    p.add_argument("--out", type=Path, help="also write the table here")
    args = p.parse_args()
    rows, speakers = [], []
    for spec in args.run:
        name, _, run = spec.partition("=")
        errors = voice_errors(Path(run) / "alignments", args.corpus)
        speakers += [s for s in errors if s not in speakers]
        rows.append((name, errors))
    lines = ["| run | own recordings | " + " | ".join(speakers) + " |", "| --- |" + " ---: |" * (len(speakers) + 1)]
    for name, errors in rows:
        every = [e for v in errors.values() for e in v]
        cells = [f"{np.mean(errors[s]):.1f}" if errors.get(s) else "-" for s in speakers]
        lines.append(f"| {name} | {np.mean(every):.1f} | " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    print(table, end="")
    if args.out:
        args.out.write_text(table)


if __name__ == "__main__":
    main()
