"""Command-line interface: a thin layer that parses arguments and calls the library."""

from __future__ import annotations

import argparse
import sys


def _synth(args: argparse.Namespace) -> None:
    from . import synthetic

    if args.list:
        for table, rows in synthetic.TABLES.items():
            for p in rows:
                print(f"{p.name:12} {p.description}")
        return
    synthetic.set_threads(args.threads)
    results = synthetic.run_rows(synthetic.resolve(args.preset), seeds=args.seeds, out_dir=args.out, steps=args.steps)
    print(synthetic.markdown_table(results), end="")
    print(f"written: {args.out}/results.md, {args.out}/alignment_*.png")


def _graph(args: argparse.Namespace) -> None:
    from .topology import Transitions, ctc_graph, hmm_graph

    if args.topology == "hmm":
        words = [[int(x) for x in w.split(",")] for w in args.labels]
        fsa = hmm_graph([words], silence=args.blank, transitions=Transitions() if args.transitions else None)[0]
    else:
        seq = [int(x) for w in args.labels for x in w.split(",")]
        fsa = ctc_graph([seq], blank=args.blank, forced_blank=args.topology == "ctc")[0]
    print(fsa.to_dot() if args.dot else fsa.to_str(), end="")


def _score(args: argparse.Namespace) -> None:
    from pathlib import Path

    from .data.export import load_alignments, read_text
    from .scoring import markdown_table, score_alignments

    hyp_texts = read_text(args.hyp_text) if args.hyp_text else None
    scores = score_alignments(load_alignments(args.hyp), load_alignments(args.ref), hyp_texts)
    table = markdown_table({args.name or Path(args.hyp).name: scores})
    print(table, end="")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(table, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fsttopo", description="Alignment modelling with FSA label topologies.")
    sub = parser.add_subparsers(dest="command", required=True)

    synth = sub.add_parser("synth", help="synthetic alignment lab: run a preset (paper Tables 10-13) over seeds")
    synth.add_argument("--preset", default="default", help="a table (table10) or one row (table10.1); see --list")
    synth.add_argument("--seeds", type=int, default=3, help="random seeds 0..N-1 per row")
    synth.add_argument("--steps", type=int, default=None, help="override the presets' training steps")
    synth.add_argument("--threads", type=int, default=1, help="torch threads")
    synth.add_argument("--out", default="exp/synth", help="directory for results.md, results.json, plots")
    synth.add_argument("--list", action="store_true", help="list the presets and exit")
    synth.set_defaults(func=_synth)

    graph = sub.add_parser("graph", help="print a topology graph in k2 text format or Graphviz DOT")
    graph.add_argument("topology", choices=["ctc", "ctc-no-forced-blank", "hmm"])
    graph.add_argument("labels", nargs="+", help="words as comma-separated label ids, e.g. 1,2,2 3")
    graph.add_argument("--blank", type=int, default=0, help="blank (CTC) or silence (HMM) id")
    graph.add_argument("--transitions", action="store_true", help="HMM: default loop/forward weights")
    graph.add_argument("--dot", action="store_true", help="print Graphviz DOT instead of k2 text")
    graph.set_defaults(func=_graph)

    score = sub.add_parser("score", help="alignment accuracy against reference alignments (TSE in ms, WER)")
    score.add_argument("--hyp", required=True, help="alignments: Lhotse supervisions/cuts manifest, JSON file "
                       "or a directory of JSON/TextGrid files")
    score.add_argument("--ref", required=True, help="reference alignments, same forms as --hyp")
    score.add_argument("--hyp-text", help="decoded text per utterance ('utt word word ...' lines) for the WER")
    score.add_argument("--name", help="row name in the table (default: the --hyp file name)")
    score.add_argument("--out", help="also write the Markdown table to this file")
    score.set_defaults(func=_score)

    args = parser.parse_args(argv)
    try:
        args.func(args)
    except ValueError as err:
        sys.exit(f"fsttopo {args.command}: error: {err}")


if __name__ == "__main__":
    main()
