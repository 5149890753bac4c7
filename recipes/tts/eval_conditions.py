"""The degraded-conditions table (issue 13): fsttopo, pocketsphinx 5.1.1 and torchaudio's
forced_align on every condition that ``recipes/tts/degrade.py`` wrote.

Per condition and aligner:

- ``fsttopo``: the model (``--model``, default the shipped one) with its stored alignment options
  (:func:`fsttopo.cut_corpus.iter_cut_alignments`: a cut it cannot align counts as failed);
- ``pocketsphinx``: :mod:`recipes.tts.pocketsphinx_align` (does not depend on our model, so its
  results are cached per condition and reused while the utterances and the manifest are the same);
- ``torchaudio``: ``torchaudio.functional.forced_align`` on the same model's posteriors
  (:func:`recipes.tts.compare.forced_align_baseline`: no prior, no blank penalty, no phases).

Every result goes to ``<out>/<condition>/<aligner>.json`` with its wall time and a key (model file
hash, utterance ids, manifest hash); a later run reuses a result whose key matches, so a run can be
split into steps (``--conditions``) and a new model only re-runs the fsttopo and torchaudio rows.
The table (:mod:`recipes.tts.condition_table`) covers the requested conditions: ``<out>/results.json``,
``<out>/table.md`` and ``<out>/conditions.png``.

    python recipes/tts/eval_conditions.py --degraded data/tts/degraded --out exp/tts/conditions
    python recipes/tts/eval_conditions.py --conditions clean,white10 --limit 5   # a quick look
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fsttopo.data.alignment import UtteranceAlignment
from fsttopo.data.export import alignment_from_dict, alignment_to_dict, from_cuts
from recipes.tts.condition_table import ConditionScores, markdown_table, plot_conditions, summarize, summarize_on_aligned
from recipes.tts.degrade import CONDITIONS, select_subset

ALIGNERS = ("fsttopo", "pocketsphinx", "torchaudio")
SAME_UTTERANCES = "fsttopo, pocketsphinx's utts"
"""The table row of fsttopo on only the utterances pocketsphinx aligned (where it failed some)."""
Hyps = dict[str, UtteranceAlignment | None]


def file_hash(path: str | Path) -> str:
    """sha256 of a file's bytes (hex, first 16 digits)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def model_hash(model: str) -> str:
    """:func:`file_hash` of a model file; for ``auto``, of both shipped models and the routing rule."""
    from fsttopo.resources import AUTO_MODEL, ROUTING_FILE, model_path

    if model != AUTO_MODEL:
        return file_hash(model)
    return hashlib.sha256(" ".join(file_hash(p) for p in (model_path("default"), model_path("robust"), ROUTING_FILE))
                          .encode()).hexdigest()[:16]


def code_hash(package: Path = Path(__file__).resolve().parents[2] / "fsttopo") -> str:
    """sha256 (first 16 hex digits) of the package's Python sources, paths and bytes: fsttopo's
    rows are cached under it, so a change to the aligner's code recomputes them as a new model does."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _with_fallback(align_batch: Callable[[list], list[UtteranceAlignment]], cuts: list) -> tuple[Hyps, dict[str, str]]:
    """``align_batch`` on all cuts; where it raises, on each cut alone, a cut that still raises
    counting as failed (``None``, with the error)."""
    try:
        return {a.utterance_id: a for a in align_batch(cuts)}, {}
    except (ValueError, RuntimeError) as err:
        print(f"  batch failed ({err}); aligning one utterance at a time", file=sys.stderr)
    hyps: Hyps = {}
    errors: dict[str, str] = {}
    for cut in cuts:
        sup_id = cut.supervisions[0].id
        try:
            hyps[sup_id] = align_batch([cut])[0]
        except (ValueError, RuntimeError) as err:
            hyps[sup_id], errors[sup_id] = None, str(err)
    return hyps, errors


@lru_cache(maxsize=2)
def warmed_aligner(model: str):
    """The aligner of ``model``, after one alignment of the shipped example (numba compiles the
    graph search on first use: that is not alignment time)."""
    from fsttopo.aligner import compute_features
    from fsttopo.files import load_aligner
    from fsttopo.resources import example_paths

    aligner = load_aligner(model)
    wav, txt = example_paths()[:2]
    for one in getattr(aligner, "aligners", {"": aligner}).values():  # both of a routed aligner
        one.align([compute_features(wav)], [txt.read_text()])
    return aligner


def run_fsttopo(aligner, cuts: list) -> tuple[Hyps, dict[str, str]]:
    from fsttopo.cut_corpus import iter_cut_alignments
    from fsttopo.routed_aligner import RoutedAligner

    if isinstance(aligner, RoutedAligner):
        # from the audio, as align and align-dir read a file: the routing rule's speech level is
        # measured on the samples, which stored (level-normalized) features no longer show
        cuts = [c.drop_features() for c in cuts]
    hyps: Hyps = {}
    errors: dict[str, str] = {}
    for outcome in iter_cut_alignments(aligner, cuts):  # a cut that fails is reported, the rest aligned
        utt = outcome.cut.supervisions[0].id
        hyps[utt] = outcome.alignment
        if outcome.problem is not None:
            errors[utt] = f"{outcome.problem.reason}: {outcome.problem.message}"
    return hyps, errors


def run_torchaudio(aligner, cuts: list) -> tuple[Hyps, dict[str, str]]:
    from recipes.tts.compare import forced_align_baseline

    return _with_fallback(lambda part: forced_align_baseline(aligner, part), cuts)


def run_pocketsphinx(cuts: list) -> tuple[Hyps, dict[str, str]]:
    from recipes.tts.pocketsphinx_align import align_cuts_pocketsphinx

    results = align_cuts_pocketsphinx(cuts)
    return ({r.utterance_id: r.alignment for r in results},
            {r.utterance_id: r.error for r in results if r.alignment is None})


def _load_cached(path: Path, key: dict) -> dict | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return data if data.get("key") == key else None


def _store(path: Path, key: dict, hyps: Hyps, errors: dict[str, str], wall_s: float, cpu_s: float) -> dict:
    data = {"key": key, "wall_s": round(wall_s, 2), "cpu_s": round(cpu_s, 2), "errors": errors,
            "alignments": {u: None if a is None else alignment_to_dict(a) for u, a in hyps.items()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) + "\n")
    return data


def evaluate_condition(condition: str, cuts: list, out: Path, aligners: Sequence[str], model: str,
                       manifest: Path, fsttopo_aligner=None) -> dict[str, tuple[ConditionScores, dict]]:
    """Scores and times (``{"wall_s", "cpu_s"}``: seconds, the CPU time of this process) of each
    aligner on ``cuts``, computed or taken from the cache. ``fsttopo_aligner()`` gives the model's
    aligner. Where pocketsphinx failed some utterances, the row :data:`SAME_UTTERANCES` scores
    fsttopo on the utterances pocketsphinx aligned (its time is fsttopo's on all of them)."""
    refs = {r.utterance_id: r for r in from_cuts(cuts)}
    ids = sorted(refs)
    base = {"ids": hashlib.sha256(" ".join(ids).encode()).hexdigest()[:16], "utterances": len(ids),
            "manifest": file_hash(manifest)}
    out_rows, aligned = {}, {}
    for name in aligners:
        key = {**base, **({"pocketsphinx": "5.1.1"} if name == "pocketsphinx" else
                          {"model": model_hash(model), "code": code_hash()})}
        path = out / condition / f"{name}.json"
        data = _load_cached(path, key)
        if data is None:
            print(f"{condition}: {name} on {len(cuts)} utterances")
            if name != "pocketsphinx":
                aligner = fsttopo_aligner()  # loaded (and warmed up) outside the timing
            start, cpu = time.perf_counter(), time.process_time()
            if name == "pocketsphinx":
                hyps, errors = run_pocketsphinx(cuts)
            elif name == "fsttopo":
                hyps, errors = run_fsttopo(aligner, cuts)
            else:
                hyps, errors = run_torchaudio(aligner, cuts)
            data = _store(path, key, hyps, errors, time.perf_counter() - start, time.process_time() - cpu)
        else:
            print(f"{condition}: {name} from {path} ({data['wall_s']} s when computed)")
        for utt, err in data["errors"].items():
            print(f"  {name} failed on {utt}: {err}", file=sys.stderr)
        aligned[name] = {u: None if a is None else alignment_from_dict(a) for u, a in data["alignments"].items()}
        out_rows[name] = (summarize(aligned[name], refs), {"wall_s": data["wall_s"], "cpu_s": data.get("cpu_s")})
    outside = aligned.get("pocketsphinx")
    if "fsttopo" in aligned and outside is not None and any(a is None for a in outside.values()):
        same = summarize_on_aligned(aligned["fsttopo"], refs, outside)
        if same is not None:
            out_rows[SAME_UTTERANCES] = (same, out_rows["fsttopo"][1])
    return out_rows


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--degraded", type=Path, default=Path("data/tts/degraded"), help="recipes/tts/degrade.py's --out")
    p.add_argument("--conditions", default="", help="comma-separated conditions (default: all that were written)")
    p.add_argument("--limit", type=int, default=0, help="only the first N utterances per voice (0: all written)")
    p.add_argument("--silence-limit", type=int, default=0,
                   help="silence30 (60 s longer per utterance): the first N per voice (0: as --limit)")
    p.add_argument("--model", default=None, help="fsttopo model file or shipped model name, or auto (both shipped "
                   "models, routed per recording; default: the shipped default model)")
    p.add_argument("--aligners", default=",".join(ALIGNERS), help=f"comma-separated subset of {ALIGNERS}")
    p.add_argument("--out", type=Path, default=Path("exp/tts/conditions"))
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    args = p.parse_args(argv)
    import torch
    from lhotse import load_manifest

    from fsttopo.resources import model_path

    torch.set_num_threads(args.threads)
    model = model_path(args.model or "default")
    aligners = [a for a in args.aligners.split(",") if a]
    if not aligners or set(aligners) - set(ALIGNERS):
        p.error(f"--aligners must be some of {ALIGNERS}, got {args.aligners!r}")
    if model == "auto" and "torchaudio" in aligners:
        p.error("--model auto routes per recording; torchaudio's forced_align runs on one model's posteriors: "
                "give --aligners fsttopo,pocketsphinx")
    conditions = ([c for c in args.conditions.split(",") if c] or
                  [c for c in CONDITIONS if (args.degraded / c / "cuts.jsonl").exists()])
    unknown = [c for c in conditions if c not in CONDITIONS]
    missing = [c for c in conditions if not (args.degraded / c / "cuts.jsonl").exists()]
    if unknown or missing or not conditions:
        p.error(f"unknown conditions {unknown} (known: {list(CONDITIONS)}); not written yet {missing} "
                f"(run recipes/tts/degrade.py --out {args.degraded})" if conditions else
                f"no degraded conditions in {args.degraded}: run recipes/tts/degrade.py --out {args.degraded}")
    results: dict[str, dict[str, ConditionScores]] = {}
    walls: dict[str, dict[str, dict]] = {}
    audio: dict[str, float] = {}
    for condition in conditions:
        manifest = args.degraded / condition / "cuts.jsonl"
        cuts = list(load_manifest(manifest))
        limit = args.silence_limit if condition == "silence30" and args.silence_limit else args.limit
        if limit:
            cuts = select_subset(cuts, limit)
        rows = evaluate_condition(condition, cuts, args.out, aligners, model, manifest, lambda: warmed_aligner(model))
        results[condition] = {name: s for name, (s, _) in rows.items()}
        walls[condition] = {name: w for name, (_, w) in rows.items()}
        audio[condition] = round(sum(c.duration for c in cuts), 2)
        print(f"{condition}: {len(cuts)} utterances, {audio[condition]:.0f} s of audio")
    table = markdown_table(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.md").write_text(table)
    plot = plot_conditions(results, args.out / "conditions.png",
                           title=f"word-boundary error, fsttopo "
                                 f"{'(shipped model)' if args.model is None else Path(model).name} vs baselines")
    summary = {"model": model, "model_sha256_16": model_hash(model), "limit_per_voice": args.limit or None,
               "silence30_limit_per_voice": args.silence_limit or args.limit or None,
               "machine": f"{platform.machine()}, {platform.system()}, torch threads {args.threads}",
               "conditions": {c: {"audio_s": audio[c], "wall_s": walls[c],
                                  "scores": {a: s.to_dict() for a, s in results[c].items()}} for c in results}}
    (args.out / "results.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(table)
    print("| condition | audio [s] | " + " | ".join(f"{a} wall / CPU [s]" for a in aligners) + " |")
    print("| --- | ---: |" + " ---: |" * len(aligners))
    for c in results:
        print(f"| {c} | {audio[c]:.0f} | " + " | ".join(f"{walls[c][a]['wall_s']:.1f} / {walls[c][a]['cpu_s']:.1f}"
                                                       for a in aligners) + " |")
    print(f"written: {args.out / 'table.md'}, {args.out / 'results.json'}, {plot}")


if __name__ == "__main__":
    main()
