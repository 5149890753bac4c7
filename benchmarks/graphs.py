"""Graph-building benchmark: fsttopo.ctc_graph and hmm_graph vs the per-state Python builders
they replaced (tests/reference_graphs.py), at B=16 and S=100 and 800 labels (ids from a
vocabulary of 500; HMM: words of 4 labels). Prints a Markdown table of median milliseconds and the
ratio ours / per-state builder (below 1: faster). Usage: python benchmarks/graphs.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

import fsttopo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reference_graphs import loop_ctc_graph, loop_hmm_graph  # noqa: E402
from timing import median_seconds  # noqa: E402


def median_ms(fn, repeats: int) -> float:
    return 1000 * median_seconds(fn, repeats, warm_up=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    torch.manual_seed(0)
    print(f"machine load (1 min) {os.getloadavg()[0]:.2f}; torch threads {torch.get_num_threads()}")
    print("| graph | B | S | ours ms | per-state builder ms | ratio |\n|---|---|---|---|---|---|")
    for S in (100, 800):
        targets = torch.randint(1, 500, (args.batch, S)).tolist()
        ours = median_ms(lambda: fsttopo.ctc_graph(targets), args.repeats)
        ref = median_ms(lambda: loop_ctc_graph(targets), args.repeats)
        print(f"| ctc | {args.batch} | {S} | {ours:.1f} | {ref:.1f} | {ours / ref:.3f} |")
    for S in (100, 800):
        words = [[t[i:i + 4] for i in range(0, S, 4)] for t in torch.randint(1, 500, (args.batch, S)).tolist()]
        ours = median_ms(lambda: fsttopo.hmm_graph(words, 0, fsttopo.Transitions()), args.repeats)
        ref = median_ms(lambda: loop_hmm_graph(words, 0, fsttopo.Transitions()), args.repeats)
        print(f"| hmm | {args.batch} | {S} | {ours:.1f} | {ref:.1f} | {ours / ref:.3f} |")


if __name__ == "__main__":
    main()
