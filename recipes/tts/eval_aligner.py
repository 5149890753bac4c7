"""Evaluate the Aligner-Encoder runs against the CTC model of the same budget (docs/aligner_encoder.md).

For each experiment ``EXP/NAME/model.pt`` (default: ``aligner``, ``aligner_interctc``,
``interaligner_interctc``, ``ctc_budget``): the greedy phone error rate on the held-out test voices,
overall and on the longest third of the utterances (by reference phones); the word time stamp error
(TSE, ms, :func:`fsttopo.scoring.score_alignments`) of GradScore and GradScoreExt alignments on the
first ``--tse-per-voice`` test utterances of each voice (the CTC model also with Viterbi); and a plot of the
train/dev loss per epoch from each model file's training log. Greedy decoding: an aligner model
emits tokens at positions ``0..U`` until EOS (:meth:`AlignerDecoder.greedy_decode
<fsttopo.models.aligner_decoder.AlignerDecoder.greedy_decode>`), a CTC model takes the best path.

    python recipes/tts/eval_aligner.py --exp exp/tts_aligner --cuts data/tts/manifests/cuts_test.jsonl.gz \\
        --out exp/tts_aligner/results.md

Writes ``--out`` (markdown table), the same name with ``.json`` (all numbers) and ``_curves.png``.
Each model's numbers are also kept in ``<out dir>/<name>.json`` with the model file's hash and reused
while it matches, so the models can be evaluated by separate processes (``--models NAME``) and one
last run writes the table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch
from lhotse import CutSet, load_manifest_lazy

from fsttopo import metrics
from fsttopo.aligner import Aligner
from fsttopo.data.export import from_cuts
from fsttopo.files import align_cuts
from fsttopo.scoring import score_alignments
from fsttopo.training.checkpoint import read_model_file
from fsttopo.training.data import make_sampler
from recipes.tts.degrade import select_subset

MODELS = ("aligner", "aligner_interctc", "interaligner_interctc", "ctc_budget")
LABELS = {"aligner": "Aligner (final only)", "aligner_interctc": "Aligner + InterCTC",
          "interaligner_interctc": "InterAligner + InterCTC", "ctc_budget": "CTC (same budget)"}


@torch.no_grad()
def greedy_hypotheses(aligner: Aligner, cuts, max_duration: float = 200.0) -> tuple[list[list[int]], list[list[int]]]:
    """Greedy token ids and reference token ids (lexicon pronunciations) of every cut."""
    model = aligner.model.eval()
    hyps, refs = [], []
    for batch in make_sampler(cuts, max_duration, shuffle=False):
        feats = [torch.from_numpy(c.load_features()).float() for c in batch]
        x = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)
        out = model(x, torch.tensor([f.shape[0] for f in feats]))
        if model.config.aligner:
            hyps += model.aligner_decoder.greedy_decode(out.hidden, out.lengths).tokens
        else:
            hyps += metrics.greedy_decode(out.log_probs, out.lengths, blank=model.config.blank)
        refs += [aligner.lexicon.encode(c.supervisions[0].text) for c in batch]
    return hyps, refs


def phone_error_rates(hyps: list[list[int]], refs: list[list[int]]) -> dict[str, float]:
    """PER (%) overall and on the longest third of the utterances by reference length."""
    order = sorted(range(len(refs)), key=lambda i: len(refs[i]))
    long = order[len(order) - max(len(order) // 3, 1):]
    return {"per": metrics.label_error_rate(hyps, refs),
            "per_long": metrics.label_error_rate([hyps[i] for i in long], [refs[i] for i in long]),
            "long_min_phones": len(refs[long[0]]), "utterances": len(refs), "long_utterances": len(long)}


def time_stamp_errors(aligner: Aligner, cuts, methods: tuple[str, ...]) -> dict[str, float]:
    """TSE (ms) of each alignment method against the references of ``cuts``."""
    refs = from_cuts(cuts)
    return {method: score_alignments(align_cuts(aligner, cuts, max_duration=60.0, method=method), refs).tse_ms
            for method in methods}


def plot_curves(logs: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, log in logs.items():
        ax = axes[1] if name.startswith("ctc") else axes[0]
        epochs = [e["epoch"] for e in log]
        line, = ax.plot(epochs, [e["train_loss"] for e in log], marker="o", label=f"{LABELS.get(name, name)} train")
        if all("dev_loss" in e for e in log):
            ax.plot(epochs, [e["dev_loss"] for e in log], marker="s", linestyle="--", color=line.get_color(),
                    label=f"{LABELS.get(name, name)} dev")
    axes[0].set_title("Aligner models: final-layer loss, nats per token (EOS included)")
    axes[1].set_title("CTC: loss, nats per output frame")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def markdown(results: dict[str, dict]) -> str:
    lines = ["| model | PER % | PER % longest third | TSE GradScore ms | TSE GradScoreExt ms | TSE Viterbi ms |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in results.items():
        tse = r["tse_ms"]
        cell = lambda m: f"{tse[m]:.1f}" if m in tse else "-"  # noqa: E731
        lines.append(f"| {LABELS.get(name, name)} | {r['per']:.1f} | {r['per_long']:.1f} | {cell('gradscore')} | "
                     f"{cell('gradscore-ext')} | {cell('viterbi')} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--exp", required=True, help="directory holding one experiment directory per model")
    p.add_argument("--cuts", required=True, help="test cuts (held-out voices, features and reference alignments)")
    p.add_argument("--out", required=True, help="markdown results file")
    p.add_argument("--models", nargs="+", default=list(MODELS), help="experiment names under --exp")
    p.add_argument("--tse-per-voice", type=int, default=10, help="test utterances per voice aligned for the TSE "
                   "(gradient alignment takes one backward pass per token)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cuts = load_manifest_lazy(args.cuts).to_eager()
    tse_cuts = CutSet.from_cuts(select_subset(cuts, args.tse_per_voice))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    results, logs = {}, {}
    for name in args.models:
        path = Path(args.exp) / name / "model.pt"
        cache = out.parent / f"{name}.json"
        key = {"model": hashlib.sha256(path.read_bytes()).hexdigest()[:16], "tse_per_voice": args.tse_per_voice,
               "cuts": args.cuts}
        cached = json.loads(cache.read_text()) if cache.exists() else None
        if cached is not None and cached.get("key") == key:
            results[name] = cached["results"]
        else:
            aligner = Aligner.from_file(path)
            start, cpu = time.perf_counter(), time.process_time()
            hyps, refs = greedy_hypotheses(aligner, cuts)
            decode_s = time.perf_counter() - start
            methods = ("gradscore", "gradscore-ext") + (() if aligner.model.config.aligner else ("viterbi",))
            results[name] = {**phone_error_rates(hyps, refs), "tse_ms": time_stamp_errors(aligner, tse_cuts, methods),
                             "tse_utterances": len(tse_cuts), "decode_wall_s": round(decode_s, 1),
                             "eval_wall_s": round(time.perf_counter() - start, 1),
                             "eval_cpu_s": round(time.process_time() - cpu, 1)}
            results[name]["log"] = torch.load(path, map_location="cpu", weights_only=False).get("log", [])
            results[name]["parameters"] = sum(q.numel() for q in read_model_file(path).model.parameters())
            cache.write_text(json.dumps({"key": key, "results": results[name]}, indent=1))
        logs[name] = results[name]["log"]
        print(name, json.dumps({k: v for k, v in results[name].items() if k != "log"}), flush=True)
    out.write_text(markdown(results))
    out.with_suffix(".json").write_text(json.dumps(results, indent=2))
    plot_curves(logs, out.with_name(out.stem + "_curves.png"))
    print(markdown(results))


if __name__ == "__main__":
    main()
