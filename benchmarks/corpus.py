"""A corpus of N hours through ``fsttopo align-dir --jobs J``: real-time factor, CPU time and peak
memory (docs/benchmarks.md, "Large corpora"; target: 10 hours at RTF < 0.01 on 2 cores, memory flat
in the corpus size).

The corpus is the TTS test utterances (data/tts, ``cuts_test``: 558 files, 0.67 h) linked again and
again under new names, in one directory per voice, with their transcripts beside them. Each run is a
process of its own; its memory is the sum of the resident sets of its process tree (the worker
processes included), sampled every 0.2 s. The reference is ``--jobs 1`` with every core in the same
run: the ratio is its wall time over each run's.

    .venv/bin/python benchmarks/corpus.py --hours 0.25 0.5 --jobs 1 2
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CUTS = REPO / "data" / "tts" / "manifests" / "cuts_test.jsonl.gz"


def build_corpus(root: Path, hours: float, cuts_path: Path = CUTS) -> tuple[int, float]:
    """Link the test utterances into ``root/VOICE/NAME.rK.wav`` (with ``.txt``) until ``hours`` of
    audio: (files, seconds)."""
    from lhotse import load_manifest_lazy

    utterances = [(Path(c.recording.sources[0].source), c.supervisions[0].text, c.duration)
                  for c in load_manifest_lazy(cuts_path)]
    files, seconds, copy = 0, 0.0, 0
    while seconds < hours * 3600:
        for wav, text, duration in utterances:
            if seconds >= hours * 3600:
                break
            target = root / wav.parent.name / f"{wav.stem}.r{copy}.wav"
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                os.symlink(wav.resolve(), target)
                target.with_suffix(".txt").write_text(text + "\n", encoding="utf-8")
            files, seconds = files + 1, seconds + duration
        copy += 1
    return files, seconds


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and its descendants (from /proc; 0 once it is gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def run_align_dir(corpus: Path, out: Path, jobs: int, threads: int, extra: list[str]) -> dict[str, float]:
    """One ``align-dir`` process: wall seconds, CPU seconds (its tree's), peak tree RSS in MiB."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": str(threads)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "fsttopo.cli", "align-dir", str(corpus), "--out", str(out),
                             "--jobs", str(jobs), "--threads", str(threads), *extra], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.2)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"align-dir failed ({proc.returncode}): {proc.stderr.read()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "peak_mib": peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[0.25, 0.5])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cores", type=int, default=os.cpu_count(), help="threads shared out among the jobs")
    parser.add_argument("--cuts", type=Path, default=CUTS, help="the utterances to repeat (default: the TTS test set)")
    parser.add_argument("--work", default="exp/bench_corpus", help="corpora and outputs (removed and rebuilt)")
    parser.add_argument("options", nargs="*", help="align-dir options after --, e.g. -- --phases 1")
    args = parser.parse_args()
    import shutil

    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start; align-dir options: "
          f"{' '.join(args.options) or '(the model defaults)'}")
    print("| hours | files | jobs x threads | wall s | RTF | CPU s per audio s | peak RSS MiB | vs jobs 1 |")
    print("|---|---|---|---|---|---|---|---|")
    for hours in args.hours:
        corpus = work / f"corpus_{hours:g}h"
        files, seconds = build_corpus(corpus, hours, args.cuts)
        reference = None
        for jobs in args.jobs:
            threads = max(1, args.cores // jobs)
            r = run_align_dir(corpus, work / f"out_{hours:g}h_j{jobs}", jobs, threads, args.options)
            reference = reference or r["wall"]
            print(f"| {seconds / 3600:.2f} | {files} | {jobs} x {threads} | {r['wall']:.1f} "
                  f"| {r['wall'] / seconds:.4f} | {r['cpu'] / seconds:.4f} | {r['peak_mib']:.0f} "
                  f"| {reference / r['wall']:.2f}x |", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
