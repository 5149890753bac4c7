"""Pronunciation-choice benchmark: what ``pronunciation_variants`` (fsttopo/inference/pronunciation_choice.py)
adds to aligning a batch, against the same alignment with the first pronunciations (the peer: the
alignment the choice comes before) and against the straightforward way to choose, one Viterbi pass
per combination of a word's pronunciations with the others fixed (a loop over words and variants).

The batch is the shipped example's transcript, 16 utterances of its 5.6 s, with the default model's
stored options; the model outputs are computed once (``Aligner.encode``) and only the graph work
is timed (``align_encoded``, the posterior method on 2 phases); a whole ``align`` call, acoustic model
and boundary refinement included, is printed for context. Each timing is the median of
``--repeats`` calls with ``time.perf_counter``. Usage: python benchmarks/pronunciation_choice.py [--repeats 5]
"""

from __future__ import annotations

import argparse

import torch
from recording_checks import median_seconds  # benchmarks/, run as a script

from fsttopo.aligner import compute_features
from fsttopo.engine import viterbi
from fsttopo.files import load_aligner
from fsttopo.inference import emission_scores
from fsttopo.resources import example_paths
from fsttopo.topology import build_graphs


def word_by_word(aligner, scores: torch.Tensor, lengths: torch.Tensor, transcripts) -> list[list[tuple[str, ...]]]:
    """Each word's variants tried in turn with the others at their current choice (coordinate
    ascent: one Viterbi batch per word with variants), the straightforward choice."""
    out = []
    for b, t in enumerate(transcripts):
        chosen = [0] * len(t)
        for i, w in enumerate(t.words):
            if not w.variants:
                continue
            trials = [t.with_choices(chosen[:i] + [k] + chosen[i + 1:]) for k in range(len(w.variants))]
            graphs = build_graphs(trials, "hmm", len(aligner.tokens))
            best = viterbi(scores[b:b + 1].expand(len(trials), -1, -1), lengths[b:b + 1].expand(len(trials)), graphs)
            chosen[i] = int(best.scores.argmax())
        out.append([w.phones for w in t.with_choices(chosen).words])
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch", type=int, default=16)
    args = p.parse_args()
    torch.set_num_threads(1)
    aligner = load_aligner()
    audio, text, _ = example_paths()
    features = compute_features(audio)
    texts = [text.read_text().strip()] * args.batch
    options = {k: v for k, v in aligner.align_options.items() if k not in ("refine_boundaries", "trim_silence",
                                                                            "pause_edges_db")}
    encoded = aligner.encode([features] * args.batch, options["phases"])
    duration = [features.shape[0] * 0.01] * args.batch
    plain = {**options, "pronunciation_variants": False}
    chosen = {**options, "pronunciation_variants": True, "variant_penalty": 0.0}
    words = aligner._encode_texts(aligner.normalize(texts), variants=True)
    log_probs, lengths = encoded[0]
    scores = emission_scores(log_probs, lengths, blank_penalty=options["blank_penalty"],
                             prior_scale=options["prior_scale"], posterior_scale=options["posterior_scale"],
                             log_prior=aligner.log_prior)
    variant_words = sum(len(w.variants) > 0 for w in words[0].words)
    for settings in (plain, chosen):  # Numba's compilation and the first call's allocations are not timed
        aligner.align_encoded(encoded, texts, duration, **settings)
    base_s = median_seconds(lambda: aligner.align_encoded(encoded, texts, duration, **plain), args.repeats)
    with_s = median_seconds(lambda: aligner.align_encoded(encoded, texts, duration, **chosen), args.repeats)
    loop_s = median_seconds(lambda: word_by_word(aligner, scores, lengths, words), 1)
    whole_s = median_seconds(lambda: aligner.align([features] * args.batch, texts, pronunciation_variants=False), 1)
    print(f"{args.batch} x {duration[0]:.1f} s, {len(words[0])} words of which {variant_words} have variants, "
          f"{options['method']} on {options['phases']} phases, torch threads 1")
    print("| | seconds | ratio |")
    print("| --- | ---: | ---: |")
    print(f"| align_encoded, first pronunciations (peer) | {base_s:.3f} | 1.00 |")
    print(f"| align_encoded with pronunciation_variants | {with_s:.3f} | {with_s / base_s:.2f} |")
    print(f"| the choice alone (difference) | {with_s - base_s:.3f} | {(with_s - base_s) / base_s:.2f} |")
    print(f"| whole align() without variants, acoustic model included (context) | {whole_s:.3f} | "
          f"{whole_s / base_s:.2f} |")
    print(f"| word by word, one Viterbi batch per word (straightforward choice alone) | {loop_s:.3f} | "
          f"{loop_s / max(with_s - base_s, 1e-9):.1f}x the choice |")


if __name__ == "__main__":
    main()
