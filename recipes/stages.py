"""The command line shared by the corpus recipes that run Lhotse's preparation of a local copy
(``recipes/librispeech``, ``recipes/timit``): ``--out``, ``--jobs``, ``--stages manifests,features``."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from fsttopo.data.manifests import write_cuts

__all__ = ["corpus_parser", "run_stages"]

STAGES = ("manifests", "features")


def corpus_parser(doc: str, default_out: str) -> argparse.ArgumentParser:
    """A parser with ``--out`` (default ``default_out``), ``--jobs`` and ``--stages``; the recipe adds
    its own corpus options."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(default_out))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--stages", default=",".join(STAGES))
    return parser


def run_stages(parser: argparse.ArgumentParser, argv: Sequence[str] | None,
               manifests: Callable[[argparse.Namespace], dict[str, int]]) -> None:
    """Parse ``argv`` and run the chosen stages: ``manifests(args)`` writes
    ``OUT/manifests/{recordings,supervisions}_<part>``; ``features`` computes Fbank into
    ``OUT/fbank`` and writes ``cuts_<part>.jsonl.gz``."""
    args = parser.parse_args(argv)
    stages = [s for s in args.stages.split(",") if s]
    if set(stages) - set(STAGES):
        parser.error("stages are manifests and features")
    if "manifests" in stages:
        print("manifests:", manifests(args))
    if "features" in stages:
        print("features:", write_cuts(args.out / "manifests", args.out / "fbank", args.jobs))
