"""Run presets over several seeds and report mean/std per metric as Markdown (plus a plot)."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import torch
from tqdm import tqdm

from .plot import plot_alignment
from .presets import Preset
from .train import Example, run_seed

__all__ = ["METRICS", "RowResult", "run_rows", "markdown_table", "mean_std"]

METRICS: dict[str, str] = {
    "ler": "LER [%]", "fw_ce": "Fw. CE", "eps_posterior": "E p(eps|x) [%]", "tse": "TSE [frames]",
    "tse_center": "TSE center", "silence": "Viterbi sil. [%]",
}
"""Metric key -> column title (units in the title; see :func:`fsttopo.synthetic.train.evaluate`)."""


@dataclass
class RowResult:
    """All seeds of one preset: ``values[metric]`` per seed, wall-clock ``seconds``, and the
    first seed's example alignment."""

    preset: Preset
    seeds: list[int]
    values: dict[str, list[float]]
    seconds: float
    example: Example


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof=1``; 0 for a single value)."""
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mu = sum(values) / n
    var = sum((v - mu) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mu, math.sqrt(var)


def run_rows(presets: Sequence[Preset], seeds: int, out_dir: str | Path | None = None,
             steps: int | None = None, progress: bool = True, criterion: str | None = None,
             output: str | None = None) -> list[RowResult]:
    """Train and evaluate every preset with seeds ``0 .. seeds-1``.

    Args:
        presets: rows to run.
        seeds: number of random seeds per row (>= 1).
        out_dir: when given, writes ``results.md`` (the table), ``results.json`` (per-seed values)
            and ``alignment.png`` (first row, first seed) plus ``alignment_<row>.png`` per row.
        steps: overrides every preset's number of training steps.
        criterion: overrides every preset's training criterion (``"full-sum"``,
            ``"normalized-gradient"``, ``"framewise-ce"``).
        output: overrides every preset's output layer (``"softmax"``, ``"blank-separated"``).
        progress: show a tqdm bar over (row, seed) runs.
    """
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    if steps is not None:
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        presets = [replace(p, config=replace(p.config, steps=steps)) for p in presets]
    if output is not None:
        presets = [replace(p, config=replace(p.config, model=replace(p.config.model, output=output))) for p in presets]
    if criterion is not None:
        presets = [replace(p, config=replace(p.config, criterion=criterion)) for p in presets]
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(presets) * seeds, desc="synth", unit="run", disable=not progress)
    results = []
    for preset in presets:
        start, values, example = time.perf_counter(), {k: [] for k in METRICS}, None
        for seed in range(seeds):
            bar.set_postfix_str(f"{preset.name} seed {seed}")
            metrics, ex = run_seed(preset.config, seed)
            for k in METRICS:
                values[k].append(metrics[k])
            example = example or ex
            bar.update()
        results.append(RowResult(preset, list(range(seeds)), values, time.perf_counter() - start, example))
        if out is not None:
            _write(results, out)
    bar.close()
    return results


DIGITS = {"ler": 1, "fw_ce": 2, "eps_posterior": 1, "tse": 2, "tse_center": 2, "silence": 1}
"""Decimals per metric in the table."""


def _fmt(key: str, mu: float, sd: float) -> str:
    return f"{mu:.{DIGITS[key]}f} ± {sd:.{DIGITS[key]}f}"


def markdown_table(results: Sequence[RowResult]) -> str:
    """Markdown table: per row our ``mean ± std`` per metric and, where known, the paper's."""
    head = ["row", "setting", "seeds"]
    for k, title in METRICS.items():
        head.append(title)
        if k in ("ler", "fw_ce", "eps_posterior", "tse"):
            head.append("paper")
    head.append("time [s]")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [r.preset.name, r.preset.description, str(len(r.seeds))]
        for k in METRICS:
            cells.append(_fmt(k, *mean_std(r.values[k])))
            if k in ("ler", "fw_ce", "eps_posterior", "tse"):
                ref = (r.preset.paper or {}).get(k)
                cells.append("-" if ref is None else _fmt(k, *ref))
        cells.append(f"{r.seconds:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _write(results: Sequence[RowResult], out: Path) -> None:
    (out / "results.md").write_text(markdown_table(results))
    (out / "results.json").write_text(json.dumps(
        {r.preset.name: {"seeds": r.seeds, "seconds": r.seconds, "values": r.values} for r in results}, indent=1))
    last = results[-1]
    title = f"{last.preset.name}: {last.preset.description} (seed 0, held-out sequence 0)"
    plot_alignment(last.example, out / f"alignment_{last.preset.name}.png", title)
    if len(results) == 1:
        plot_alignment(last.example, out / "alignment.png", title)


