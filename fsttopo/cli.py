"""Command-line interface: a thin layer that parses arguments and calls the library."""

from __future__ import annotations

import argparse
import sys


def _demo(args: argparse.Namespace) -> None:
    from .demo import run_demo

    run_demo(steps=args.steps, batch_size=args.batch_size, noise=args.noise, seed=args.seed, out_dir=args.out)


def _graph(args: argparse.Namespace) -> None:
    from .topology import Transitions, ctc_graph, hmm_graph

    if args.topology == "hmm":
        words = [[int(x) for x in w.split(",")] for w in args.labels]
        fsa = hmm_graph([words], silence=args.blank, transitions=Transitions() if args.transitions else None)[0]
    else:
        seq = [int(x) for w in args.labels for x in w.split(",")]
        fsa = ctc_graph([seq], blank=args.blank, forced_blank=args.topology == "ctc")[0]
    print(fsa.to_dot() if args.dot else fsa.to_str(), end="")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fsttopo", description="Alignment modelling with FSA label topologies.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="train a tiny model on generated data with the full-sum loss and align")
    demo.add_argument("--steps", type=int, default=300)
    demo.add_argument("--batch-size", type=int, default=32)
    demo.add_argument("--noise", type=float, default=0.3)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--out", default="exp/demo", help="directory for the plot")
    demo.set_defaults(func=_demo)

    graph = sub.add_parser("graph", help="print a topology graph in k2 text format or Graphviz DOT")
    graph.add_argument("topology", choices=["ctc", "ctc-no-forced-blank", "hmm"])
    graph.add_argument("labels", nargs="+", help="words as comma-separated label ids, e.g. 1,2,2 3")
    graph.add_argument("--blank", type=int, default=0, help="blank (CTC) or silence (HMM) id")
    graph.add_argument("--transitions", action="store_true", help="HMM: default loop/forward weights")
    graph.add_argument("--dot", action="store_true", help="print Graphviz DOT instead of k2 text")
    graph.set_defaults(func=_graph)

    args = parser.parse_args(argv)
    try:
        args.func(args)
    except ValueError as err:
        sys.exit(f"fsttopo {args.command}: error: {err}")


if __name__ == "__main__":
    main()
