"""Start-up benchmark: `fsttopo align` on the shipped 5.6 s example vs `python -c 'import torch'`,
each a fresh process, run several times (medians of wall and CPU seconds), and the breakdown of
one run in-process (what each stage adds, in order: imports, model file, lexicon, features, model,
graph search, output files, plot).

The caches are warm: one untimed `fsttopo align` runs first (Numba's compiled kernels, the CMUdict
cache, the OS file cache). Usage: python benchmarks/startup.py [--repeats 5] [--no-plot]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from fsttopo.resources import example_paths

_BREAKDOWN = r"""
import sys, time
stages, last = [], time.perf_counter()
def lap(name):
    global last
    now = time.perf_counter(); stages.append((name, now - last)); last = now
from fsttopo.data.plot_process import PlotProcess
plot_process = PlotProcess.start(); lap("fork the plot process (it imports matplotlib and warms up meanwhile)")
import torch; lap("import torch")
import fsttopo.cli, fsttopo.files, fsttopo.data.export; lap("import fsttopo (cli, files, aligner)")
from fsttopo.aligner import Aligner
from fsttopo.data.units import units_from_dict
from fsttopo.resources import default_model_path
from fsttopo.training.checkpoint import read_model_file
f = read_model_file(default_model_path()); lap("read the model file")
lexicon = units_from_dict(f.units); lap("lexicon (CMUdict)")
aligner = Aligner.from_file(default_model_path(), lexicon); lap("build the aligner (reads the model file again)")
wav, txt = sys.argv[1], open(sys.argv[2]).read()
from fsttopo.aligner import compute_features
feats = compute_features(wav); lap("features")
encoded = aligner.encode([feats], aligner.align_options.get("phases") or 1); lap("acoustic model (first call)")
result = aligner.align([feats], [txt], ["x"]); lap("align (model again + graph search + refinement)")
from fsttopo.files import align_audio_file
out = sys.argv[3]
align_audio_file(aligner, wav, txt, out, plot=False); lap("align_audio_file again, no plot (warm)")
plot_args = (feats, result.log_probs[0, : result.lengths[0]], result.alignments[0], out + "/x.png",
             aligner.tokens, aligner.frame_shift)
plot_process.draw(*plot_args, frame_offset=aligner.frame_offset)
lap("plot (PNG) by the plot process: what `fsttopo align` waits for")
from fsttopo.data.plot import plot_alignment
plot_alignment(*plot_args, frame_offset=aligner.frame_offset); lap("the same plot drawn in-process, for comparison")
for name, seconds in stages:
    print(f"{name}\t{seconds:.3f}")
"""


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, all threads) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def paired_runs(cmd: list[str], peer: list[str], repeats: int) -> list[tuple[float, float, float, float]]:
    """(wall, CPU) of ``cmd`` and of ``peer``, run alternately ``repeats`` times: on a shared VM the
    load drifts within seconds, and a difference of neighbouring runs is steadier than one of medians."""
    return [(*run(cmd), *run(peer)) for _ in range(repeats)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--no-plot", action="store_true", help="time `fsttopo align --no-plot`")
    args = p.parse_args()
    wav, txt, _ = example_paths()
    out = tempfile.mkdtemp(prefix="fsttopo-startup-")
    align = [sys.executable, "-c", "import sys; from fsttopo.cli import main; sys.exit(main())", "align", str(wav),
             str(txt), "--out", out] + (["--no-plot"] if args.no_plot else [])
    run(align)  # warm the caches
    runs = paired_runs(align, [sys.executable, "-c", "import torch"], args.repeats)
    align_wall, align_cpu, torch_wall, torch_cpu = (statistics.median(column) for column in zip(*runs))
    wall_diff = statistics.median(r[0] - r[2] for r in runs)
    cpu_diff = statistics.median(r[1] - r[3] for r in runs)
    load = os.getloadavg()[0]
    print(f"machine load (1 min) {load:.2f}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; "
          f"medians of {args.repeats} alternating runs")
    print("| process | wall s | CPU s |\n|---|---|---|")
    print(f"| python -c 'import torch' | {torch_wall:.2f} | {torch_cpu:.2f} |")
    name = "fsttopo align (example" + (", --no-plot)" if args.no_plot else ")")
    print(f"| {name} | {align_wall:.2f} | {align_cpu:.2f} |")
    print(f"| difference, median of the pairs (target <= 1 s) | {wall_diff:.2f} | {cpu_diff:.2f} |")
    stages = subprocess.run([sys.executable, "-c", _BREAKDOWN, str(wav), str(txt), out], check=True,
                            capture_output=True, text=True).stdout
    print("\n| stage of one run, in order | wall s |\n|---|---|")
    for line in stages.splitlines():
        name, seconds = line.split("\t")
        print(f"| {name} | {seconds} |")


if __name__ == "__main__":
    main()
