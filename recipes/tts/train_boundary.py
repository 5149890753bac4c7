"""Train the boundary detector (seed 000's boundary branch) and measure what refinement adds to an aligner.

Stages (sub-commands), see docs/boundaries.md::

    # 1. word alignments of dev and test by the aligner to refine (posterior method with its stored
    #    options, and plain Viterbi: one phase, no time shift), cached as JSON
    python recipes/tts/train_boundary.py baseline --model fsttopo/assets/model/model.pt --out exp/boundary/baseline
    # 2. train a detector on the train split (stored fbank; optional noise-augmented copies)
    python recipes/tts/train_boundary.py train --targets phone --out exp/boundary/phone/detector.pt
    # 3. tune window / sigma / mode on dev, then score dev and test once with the dev choice
    python recipes/tts/train_boundary.py evaluate --detector exp/boundary/phone/detector.pt \
        --baseline exp/boundary/baseline --out exp/boundary/phone/results.md
    # 4. a model file carrying the detector with the dev-tuned settings (--default: refine by default)
    python recipes/tts/train_boundary.py ship --model fsttopo/assets/model/model.pt \
        --detector exp/boundary/phone/detector.pt --tuned exp/boundary/phone/results.json \
        --out exp/boundary/phone/model.pt

Everything runs on the CPU with one thread (``--threads``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
import zlib
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
import torch
from lhotse import load_manifest_lazy

from fsttopo.align.refine import (OUTSIDE_LOGIT, BoundaryRefiner, RefineOptions, pause_edges, refine_alignments,
                                  refine_word_times, word_boundaries)
from fsttopo.criteria.boundary import boundary_loss, pad_boundaries
from fsttopo.data.alignment import UtteranceAlignment
from fsttopo.data.export import from_cuts, read_json, write_json
from fsttopo.data.features import compute_features
from fsttopo.models.boundary import BoundaryConfig, BoundaryDetector, detector_from_dict, detector_to_dict
from fsttopo.scoring import score_alignments, word_boundary_errors
from fsttopo.training.data import pad_features

MANIFESTS = Path("data/tts/manifests")
BASELINES = {"posterior": {}, "viterbi": {"method": "viterbi", "phases": 1, "time_shift": 0.0}}
"""Aligner option overrides of the aligned boundaries to refine: the model's stored options
(posterior method, 4 phases for the shipped model) and plain Viterbi on one phase."""
GRID = {"window": (0.02, 0.03, 0.04, 0.06, 0.08), "sigma": (0.01, 0.015, 0.02, 0.03, 0.05),
        "mode": ("soft", "hard"), "temperature": (1.0, 0.5)}
"""Refinement settings tuned on dev (``temperature`` only for the soft mode)."""
SHIFTS_MS = tuple(range(-6, 7))
"""Time shifts (ms) tried on dev for the best few settings of :data:`GRID`."""
PAUSE_GRID = {"pause_window": (0.08, 0.12, 0.16), "pause_sigma": (0.015, 0.03, 0.05)}
"""Pause-edge windows tried on dev for the best setting of :data:`GRID` and shift, each with its
offset tables fitted (:func:`fit_pause_offsets`)."""
PAUSE_KNOTS_DB = (0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0)
"""Dynamic ranges (dB) at which the pause offsets are fitted: 10 dB SNR of white noise is about 4,
20 dB about 12, clean speech 40-45 (:func:`fsttopo.data.features.dynamic_range_db`)."""
REVERB_KNOTS = (1.5, 2.0, 2.5, 3.0, 3.5, 4.0)
"""Decay asymmetries at which the onset shifts are fitted: dry speech, clean or noisy, stays
below 2 (median 1.0-1.1), RT60 0.5 s gives 2-4.6 (:func:`fsttopo.data.features.decay_asymmetry`)."""
SPLITS = ("dev", "devaug", "test")


def cut_boundaries(cut, targets: str) -> np.ndarray:
    """Reference boundary times (seconds from the cut's start, sorted, unique to 0.1 ms) of a cut's
    first supervision: word starts and ends (``targets="word"``), plus phone boundaries where the
    cut has phones (``"phone"``)."""
    sup = cut.supervisions[0]
    kinds = ("word", "phone") if targets == "phone" else ("word",)
    times = [t for kind in kinds for item in (sup.alignment or {}).get(kind, [])
             for t in (item.start, item.start + item.duration)]
    return np.unique(np.round(np.asarray(times, dtype=np.float64) - cut.start, 4))


def load_training_data(cuts, targets: str) -> list[tuple[torch.Tensor, np.ndarray]]:
    """``(features [T, 80] float32, boundaries [N] seconds)`` of every cut with a word alignment."""
    return [(torch.from_numpy(c.load_features()).float(), cut_boundaries(c, targets))
            for c in cuts if c.supervisions[0].alignment and "word" in c.supervisions[0].alignment]


def augmented_features(cuts, fraction: float, seed: int, quantize_bits: int | None = None
                       ) -> list[torch.Tensor | None]:
    """Per cut, with probability ``fraction`` the features of a noise/reverb/gain-augmented copy of
    its audio (:func:`fsttopo.training.augment.augment`, default chain with ``quantize_bits``,
    babble from other train cuts; same timing), else ``None``. Deterministic under ``seed``."""
    from fsttopo.training.augment import AugmentConfig, augment

    rng = np.random.default_rng(seed)
    cuts = list(cuts)
    babble = [cuts[i].load_audio()[0] for i in rng.choice(len(cuts), size=min(20, len(cuts)), replace=False)]
    config = AugmentConfig(quantize_bits=quantize_bits)
    out: list[torch.Tensor | None] = []
    for cut in cuts:
        if rng.random() >= fraction:
            out.append(None)
            continue
        samples, _ = augment(cut.load_audio()[0], cut.sampling_rate, config, rng, babble)
        feats = compute_features(samples, cut.sampling_rate)
        n = cut.num_frames
        out.append(feats[:n] if feats.shape[0] >= n else torch.nn.functional.pad(feats, (0, 0, 0, n - feats.shape[0])))
    return out


def batches(lengths: list[int], max_frames: int, rng: np.random.Generator) -> list[list[int]]:
    """Indices grouped into batches of similar length with at most ``max_frames`` padded frames
    each, in random order."""
    order = np.argsort(np.asarray(lengths) + rng.uniform(0, 30, len(lengths)))
    out, cur = [], []
    for i in order:
        if cur and (len(cur) + 1) * max(lengths[j] for j in cur + [i]) > max_frames:
            out.append(cur)
            cur = []
        cur.append(int(i))
    out.append(cur)
    rng.shuffle(out)
    return out


def learning_rate(step: int, total: int, peak: float) -> float:
    """The detector's learning rate at ``step`` (0-based) of ``total``: a linear warm-up over the
    first 5 % of the steps (from 2 % of ``peak``), then a cosine decay to 0. It follows the step
    count, not the clock, so the same command makes the same detector on any machine under any load."""
    if not 0 <= step < total:
        raise ValueError(f"step must be in [0, {total}), got {step}")
    progress = step / total
    return float(peak * min(1.0, progress / 0.05 + 0.02) * 0.5 * (1 + np.cos(np.pi * progress)))


def train(args) -> None:
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    cuts = load_manifest_lazy(MANIFESTS / "cuts_train.jsonl.gz").to_eager()
    data = load_training_data(cuts, args.targets)
    start = time.perf_counter()
    if args.augment > 0:
        cache = Path(args.augment_cache) if args.augment_cache else None
        # the cache records what made it: a cache of other settings would train silently on them
        # and of which cuts in which order (the draws follow the manifest's order)
        settings = {"fraction": args.augment, "seed": args.seed, "quantize_bits": args.quantize_bits,
                    "cuts": f"{len(cuts)} cuts, ids crc32 {zlib.crc32(' '.join(c.id for c in cuts).encode()):08x}"}
        if cache is not None and cache.exists():
            blob = torch.load(cache, weights_only=False)
            made_with = blob.get("settings") if isinstance(blob, dict) else "unrecorded settings"
            if made_with != settings:
                raise ValueError(f"{cache} was made with {made_with}, not {settings}: delete it or "
                                 "pass another --augment-cache")
            aug = blob["features"]
            print(f"loaded: {cache}")
        else:
            aug = augmented_features(cuts, args.augment, args.seed, args.quantize_bits)
            if cache is not None:
                cache.parent.mkdir(parents=True, exist_ok=True)
                partial = cache.with_name(cache.name + ".partial")
                torch.save({"settings": settings, "features": aug}, partial)
                partial.replace(cache)
                print(f"written: {cache}")
        if len(aug) != len(data):
            raise ValueError(f"{args.augment_cache}: {len(aug)} entries for {len(data)} training cuts")
        if args.epochs == 0:
            return
        data += [(a, b) for a, (_, b) in zip(aug, data) if a is not None]
        print(f"augmented copies: {sum(a is not None for a in aug)} ({time.perf_counter() - start:.0f} s)")
    if args.init:  # continue training a detector (its configuration wins over --channels/--dilations)
        detector = detector_from_dict(torch.load(args.init, map_location="cpu", weights_only=False), args.init)
    else:
        detector = BoundaryDetector(BoundaryConfig(channels=args.channels, dilations=tuple(args.dilations)))
    print(f"{len(data)} utterances, {sum(len(b) for _, b in data)} boundaries ({args.targets}); "
          f"detector {detector.num_parameters} parameters")
    opt = torch.optim.AdamW(detector.parameters(), lr=args.lr, weight_decay=1e-4)
    plan = [batches([f.shape[0] for f, _ in data], args.max_frames, rng) for _ in range(args.epochs)]
    total = sum(len(p) for p in plan)
    log, step, t0 = [], 0, time.perf_counter()
    for epoch, epoch_batches in enumerate(plan, 1):
        detector.train()
        losses = []
        for idx in epoch_batches:
            feats, lengths = pad_features([data[i][0] for i in idx])
            times, valid = pad_boundaries([data[i][1] for i in idx])
            if args.level_jitter:  # a random gain per utterance (mean normalization should undo it)
                feats = feats + torch.empty(len(idx), 1, 1).uniform_(-args.level_jitter, args.level_jitter)
            loss = boundary_loss(args.loss, detector(feats, lengths), lengths, times, valid,
                                 **({"radius": args.radius} if args.loss == "window" else {}))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(detector.parameters(), 5.0)
            for group in opt.param_groups:
                group["lr"] = learning_rate(step, total, args.lr)
            opt.step()
            losses.append(loss.item())
            step += 1
        log.append({"epoch": epoch, "loss": float(np.mean(losses)), "seconds": time.perf_counter() - t0})
        print(f"epoch {epoch}: loss {log[-1]['loss']:.4f} ({log[-1]['seconds']:.0f} s)", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    info = {"targets": args.targets, "loss": args.loss, "radius": args.radius, "augment": args.augment,
            "quantize_bits": args.quantize_bits, "init": args.init, "epochs": len(log),
            "train_seconds": time.perf_counter() - t0, "parameters": detector.num_parameters, "log": log}
    torch.save({**detector_to_dict(detector.eval()), "train_info": info}, out)
    (out.parent / "train_info.json").write_text(json.dumps(info, indent=1))
    print(f"written: {out} ({out.stat().st_size / 1024:.0f} KiB)")


def with_reference_words(alis: list[UtteranceAlignment], refs: dict[str, UtteranceAlignment]
                         ) -> list[UtteranceAlignment]:
    """The alignments with each word spelled as in its reference (the aligner writes normalized
    words, e.g. "mister" for the reference's "mr"; words are matched by position, so the counts
    must agree)."""
    from dataclasses import replace

    out = []
    for a in alis:
        ref = refs[a.utterance_id]
        if len(ref.words) != len(a.words):
            raise ValueError(f"{a.utterance_id}: {len(a.words)} aligned words, {len(ref.words)} in the reference")
        out.append(replace(a, words=[replace(w, symbol=r.symbol) for w, r in zip(a.words, ref.words)]))
    return out


def split_cuts(split: str):
    """The cuts of a split; ``devaug`` is dev (its audio augmented, see :func:`devaug_features`)."""
    return load_manifest_lazy(MANIFESTS / f"cuts_{'dev' if split == 'devaug' else split}.jsonl.gz").to_eager()


def devaug_features(cuts, seed: int) -> list[torch.Tensor]:
    """The ``devaug`` split: every dev cut through the training augmentation chain once
    (:func:`augmented_features`, fraction 1, babble from other dev cuts), features in cut order.
    Tuning on it as well as on clean dev picks refinement settings that hold up under noise without
    looking at the test conditions."""
    return augmented_features(cuts, 1.0, seed)


def align_features(aligner, cuts, features: list[torch.Tensor], batch: int = 16, **options) -> list[UtteranceAlignment]:
    """The cuts' alignments from the given features (one per cut, in order), ``batch`` at a time."""
    out = []
    for i in range(0, len(cuts), batch):
        part = cuts[i:i + batch]
        out += aligner.align(features[i:i + batch], [c.supervisions[0].text for c in part],
                             [c.supervisions[0].id for c in part], **options).alignments
    return out


def baseline(args) -> None:
    from fsttopo.files import align_cuts, load_aligner

    aligner = load_aligner(args.model)
    # the alignments to refine are the aligner's own, whatever its file says about refining
    unrefined = {"refine_boundaries": False} if aligner.boundary_refiner is not None else {}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for split in args.splits:
        cuts = split_cuts(split)
        refs = {r.utterance_id: r for r in from_cuts(cuts)}
        feats = None
        if split == "devaug":
            start = time.perf_counter()
            feats = devaug_features(cuts, args.devaug_seed)
            torch.save(feats, out / "devaug-features.pt")
            print(f"devaug: {len(feats)} augmented dev cuts, seed {args.devaug_seed} ({time.perf_counter() - start:.0f} s)")
        for name in args.methods:
            start = time.perf_counter()
            alis = (align_cuts(aligner, cuts, **BASELINES[name], **unrefined) if feats is None else
                    align_features(aligner, cuts, feats, **BASELINES[name], **unrefined))
            write_json(alis, out / f"{split}-{name}.json")
            print(f"{split} {name}: {len(alis)} utterances, {time.perf_counter() - start:.0f} s, TSE "
                  f"{score_alignments(with_reference_words(alis, refs), refs.values()).tse_ms:.2f} ms", flush=True)


def cut_features(cuts, features: list[torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """Supervision id -> ``[T, 80]`` features: the cut's stored ones, or ``features`` (one per cut)."""
    cuts = list(cuts)
    rows = features if features is not None else [torch.from_numpy(c.load_features()).float() for c in cuts]
    return {c.supervisions[0].id: f for c, f in zip(cuts, rows)}


def refiner_inputs(refiner: BoundaryRefiner, alis: list[UtteranceAlignment], features: dict[str, torch.Tensor]
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """:meth:`BoundaryRefiner.inputs` of the alignments with their utterances' features, 16 at a
    time (what the aligner gives the refiner), concatenated: ``(logits [B, T], lengths [B],
    dynamic ranges [B], decay asymmetries [B])``."""
    parts = [refiner.inputs(alis[i:i + 16], [features[a.utterance_id] for a in alis[i:i + 16]])
             for i in range(0, len(alis), 16)]
    width = max(p[0].shape[1] for p in parts)
    logits = torch.cat([torch.nn.functional.pad(p[0], (0, width - p[0].shape[1]), value=OUTSIDE_LOGIT) for p in parts])
    return (logits, *(torch.cat([p[k] for p in parts]) for k in (1, 2, 3)))


def mean_error_ms(alis: list[UtteranceAlignment], refs: dict[str, UtteranceAlignment], padded, lengths, ranges,
                  asymmetries, options: RefineOptions | None) -> float:
    """Mean word-boundary error (ms) of the alignments refined with ``options`` (``None``: as they
    are), computed on tensors (:func:`refine_word_times`; what :func:`refine_alignments` gives, fast)."""
    ref_times, _ = word_boundaries([refs[a.utterance_id] for a in alis])
    times, refined, valid = refine_word_times(alis, padded, lengths, options or RefineOptions(), ranges, asymmetries)
    hyp = times if options is None else refined
    return float(1000 * (hyp - ref_times)[valid].abs().mean())


def summary(alis: list[UtteranceAlignment], refs: dict[str, UtteranceAlignment]) -> dict[str, float]:
    """Word-boundary errors (starts and ends pooled, ms): mean, median, p90, max, within 20/50 ms."""
    e = np.array([x for a in alis for pair in word_boundary_errors(a, refs[a.utterance_id]) for x in pair])
    return {"mean": float(e.mean()), "median": float(np.median(e)), "p90": float(np.percentile(e, 90)),
            "max": float(e.max()), "within20": float(100 * (e <= 20).mean()), "within50": float(100 * (e <= 50).mean()),
            "tse": score_alignments(alis, refs.values()).tse_ms}


def grid() -> list[RefineOptions]:
    out = []
    for window, sigma, mode, temperature in itertools.product(*GRID.values()):
        if mode == "hard" and temperature != 1.0:
            continue
        out.append(RefineOptions(window=window, sigma=sigma, mode=mode, temperature=temperature))
    return out


def tuning_error_ms(alis, refs, inputs, options: RefineOptions | None) -> float:
    """Mean word-boundary error (ms) pooled over the tuning splits ``alis[split]`` (see :func:`mean_error_ms`)."""
    errors, counts = 0.0, 0
    for split, a in alis.items():
        n = sum(2 * len(x.words) for x in a)
        errors += n * mean_error_ms(a, refs[split], *inputs[split], options)
        counts += n
    return errors / counts


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, 0.5 * cum[-1])])


def _knot_medians(errors: np.ndarray, at: np.ndarray, knots: np.ndarray, min_weight: float) -> np.ndarray:
    """Per knot, the weighted median of ``errors`` whose ``at`` values lie near it (weights fall
    linearly to 0 at the neighbouring knots; everything beyond the outer knots counts fully for
    them); knots with less than ``min_weight`` near them take their neighbours' values
    (interpolated), all zeros when no knot has enough."""
    spacing = np.diff(knots, prepend=knots[0] - 1, append=knots[-1] + 1)
    fitted = np.full(len(knots), np.nan)
    for k, knot in enumerate(knots):
        w = np.clip(1 - np.abs(at - knot) / np.where(at < knot, spacing[k], spacing[k + 1]), 0, None)
        if k == 0:
            w = np.where(at <= knot, 1.0, w)
        if k == len(knots) - 1:
            w = np.where(at >= knot, 1.0, w)
        if w.sum() >= min_weight:
            fitted[k] = _weighted_median(errors, w)
    ok = ~np.isnan(fitted)
    return np.interp(knots, knots[ok], fitted[ok]) if ok.any() else np.zeros(len(knots))


def _residuals(alis, refs, inputs, options: RefineOptions) -> tuple[np.ndarray, ...]:
    """What is left after refining the tuning splits with ``options``, pooled over the splits and
    padded boundaries included: ``(signed errors [n, N] seconds (hypothesis - reference), pause
    side [n, N] (:func:`pause_edges`), valid [n, N], each utterance's dynamic range [n, N] and
    decay asymmetry [n, N])``, ``N`` the most boundaries of any split (padding is invalid)."""
    rows = []
    for split, a in alis.items():
        padded, lengths, ranges, asym = inputs[split]
        ref_times, _ = word_boundaries([refs[split][x.utterance_id] for x in a])
        times, refined, valid = refine_word_times(a, padded, lengths, options, ranges, asym)
        side, _ = pause_edges(times, valid, torch.tensor([x.duration for x in a], dtype=torch.float64))
        rows.append([(refined - ref_times).numpy(), side.numpy(), valid.numpy(),
                     ranges[:, None].expand_as(side).numpy(), asym[:, None].expand_as(side).numpy()])
    width = max(r[0].shape[1] for r in rows)
    return tuple(np.concatenate([np.pad(r[i], ((0, 0), (0, width - r[i].shape[1]))) for r in rows])
                 for i in range(5))


def fit_pause_offsets(alis, refs, inputs, options: RefineOptions, knots_db=PAUSE_KNOTS_DB, rounds: int = 2,
                      min_weight: float = 20.0) -> RefineOptions:
    """``options`` with pause offset tables over ``knots_db`` fitted to the tuning splits: each
    round moves each knot's offset by the weighted median of the signed errors left at the pause
    edges (after refining with the current tables; weights fall linearly to 0 at the neighbouring
    knots), so a systematic early or late placement at a dynamic range is taken out. Knots with
    less than ``min_weight`` of pause edges near them take their neighbours' offsets. The offsets
    are kept >= 0 (into the pause) and non-increasing in the dynamic range."""
    knots = np.asarray(knots_db, dtype=np.float64)
    starts, ends = np.zeros(len(knots)), np.zeros(len(knots))
    current = RefineOptions(**{**options.to_dict(), "pause_knots_db": list(knots), "pause_start_offsets": list(starts),
                               "pause_end_offsets": list(ends)})
    for _ in range(rounds):
        err, side, valid, r, _ = _residuals(alis, refs, inputs, current)
        edge = side != 0
        e, sd, r = (err * side)[edge], side[edge], r[edge]   # e > 0: too far into the pause
        for table, which in ((starts, -1), (ends, 1)):
            table -= _knot_medians(e[sd == which], r[sd == which], knots, min_weight)
        # noise hides the faint edges of words, so the correction only ever moves a boundary into
        # its pause, and by less the less noisy the audio: what is left at high dynamic ranges is a
        # voice's own habit, which does not carry over to other voices
        for table in (starts, ends):
            np.clip(table, 0.0, 0.2, out=table)
            np.minimum.accumulate(table, out=table)
        current = RefineOptions(**{**current.to_dict(), "pause_start_offsets": list(np.round(starts, 4)),
                                   "pause_end_offsets": list(np.round(ends, 4))})
    return current


def fit_onset_shifts(alis, refs, inputs, options: RefineOptions, knots=REVERB_KNOTS, rounds: int = 2,
                     min_weight: float = 20.0) -> RefineOptions:
    """``options`` with an onset shift table over decay-asymmetry ``knots`` fitted to the tuning
    splits: each round moves each knot's shift by the weighted median of the signed errors left at
    the word starts and junctions (after refining with the current table; weights as in
    :func:`fit_pause_offsets`). The first knot stays at 0 (dry audio keeps the ordinary settings,
    tuned on clean dev), and the shifts are kept <= 0 (reverberation delays onsets, never
    advances them) and non-increasing in the asymmetry."""
    knots = np.asarray(knots, dtype=np.float64)
    shifts = np.zeros(len(knots))
    current = RefineOptions(**{**options.to_dict(), "reverb_knots": list(knots), "reverb_onset_shifts": list(shifts)})
    for _ in range(rounds):
        err, side, valid, _, asym = _residuals(alis, refs, inputs, current)
        onset = valid & (side != 1)                                # word starts and junctions
        shifts -= _knot_medians(err[onset], asym[onset], knots, min_weight)
        shifts[0] = 0.0
        np.clip(shifts, -0.1, 0.0, out=shifts)
        np.minimum.accumulate(shifts, out=shifts)
        current = RefineOptions(**{**current.to_dict(), "reverb_onset_shifts": list(np.round(shifts, 4))})
    return current


def evaluate(args) -> None:
    blob = torch.load(args.detector, map_location="cpu", weights_only=False)
    refiner = BoundaryRefiner(detector_from_dict(blob).eval())
    base = Path(args.baseline)
    names = [name for name in BASELINES if (base / f"dev-{name}.json").exists()]  # the baseline stage's --methods
    if not names:
        raise SystemExit(f"no dev baseline alignments in {base}: run the baseline stage first")
    data = {}
    for split in SPLITS:
        if not all((base / f"{split}-{name}.json").exists() for name in names):
            print(f"{split}: no baseline alignments in {base}, skipped")
            continue
        cuts = split_cuts(split)
        refs = {r.utterance_id: r for r in from_cuts(cuts)}
        start = time.perf_counter()
        feats = cut_features(cuts, torch.load(base / "devaug-features.pt") if split == "devaug" else None)
        alis = {name: with_reference_words(read_json(base / f"{split}-{name}.json"), refs) for name in names}
        data[split] = (refs, {name: (a, refiner_inputs(refiner, a, feats)) for name, a in alis.items()})
        print(f"{split}: detector on {len(cuts)} cuts in {time.perf_counter() - start:.1f} s", flush=True)
    # the ordinary settings are tuned on clean dev, as for every shipped detector; the pause-edge
    # settings, which exist for noisy audio, on dev and devaug pooled (when the baseline has devaug)
    pause_on = [split for split in ("dev", "devaug") if split in data]
    print(f"tuning on dev; pause edges on {' + '.join(pause_on)}" if args.pause_edges else "tuning on dev")
    tuned = {}
    for name in names:
        alis = {split: data[split][1][name][0] for split in pause_on}
        refs = {split: data[split][0] for split in pause_on}
        inputs = {split: data[split][1][name][1] for split in pause_on}
        dev = {k: {"dev": v["dev"]} for k, v in (("alis", alis), ("refs", refs), ("inputs", inputs))}
        err = lambda o: tuning_error_ms(dev["alis"], dev["refs"], dev["inputs"], o)  # noqa: E731
        results = sorted(((err(o), o) for o in grid()), key=lambda r: r[0])
        results = sorted(results + [(err(o), o) for _, b in results[:3]
                                    for o in (RefineOptions(**{**b.to_dict(), "shift": d / 1000}) for d in SHIFTS_MS)],
                         key=lambda r: r[0])
        pooled = lambda o: tuning_error_ms(alis, refs, inputs, o)  # noqa: E731
        if args.pause_edges:
            best = results[0][1]
            fitted = (fit_pause_offsets(alis, refs, inputs, RefineOptions(**{**best.to_dict(), **dict(zip(PAUSE_GRID, v))}))
                      for v in itertools.product(*PAUSE_GRID.values()))
            results = sorted([(pooled(best), best)] + [(pooled(o), o) for o in fitted], key=lambda r: r[0])
            print(f"{'+'.join(pause_on)} {name}: pause edges as the others {pooled(best):.2f} ms, best pause settings "
                  f"{results[0][0]:.2f} ms", flush=True)
        if args.reverb_onsets:
            before = results[0][1]
            fitted = fit_onset_shifts(alis, refs, inputs, before)
            results = sorted([(pooled(before), before), (pooled(fitted), fitted)], key=lambda r: r[0])
            errors = {o: e for e, o in results}
            print(f"{'+'.join(pause_on)} {name}: without onset shifts {errors[before]:.2f} ms, with "
                  f"{errors[fitted]:.2f} ms ({list(fitted.reverb_onset_shifts)} s at {list(fitted.reverb_knots)})",
                  flush=True)
        tuned[name] = results[0][1]
        print(f"dev {name}: best {results[0][1]} -> {results[0][0]:.2f} ms; next "
              + "; ".join(f"{o.mode} W={o.window} s={o.sigma} T={o.temperature}: {m:.2f}" for m, o in results[1:4]))
    table = {}
    for split in data:
        refs, per_method = data[split]
        for name, (alis, inputs) in per_method.items():
            table[(split, name)] = summary(alis, refs)
            logits, lengths, ranges, asymmetries = inputs
            refined = refine_alignments(alis, logits, lengths, tuned[name], ranges, asymmetries)
            table[(split, f"{name} + refinement")] = summary(refined, refs)
    lines = ["| split | aligner | mean [ms] | median [ms] | p90 [ms] | max [ms] | <=20 ms [%] | <=50 ms [%] |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {split} | {name} | {s['mean']:.2f} | {s['median']:.2f} | {s['p90']:.1f} | {s['max']:.0f} | "
              f"{s['within20']:.1f} | {s['within50']:.1f} |" for (split, name), s in table.items()]
    lines += ["", "dev-tuned refinement: " + "; ".join(f"{k}: {v.to_dict()}" for k, v in tuned.items()),
              f"detector: {args.detector}, {blob.get('train_info', {})}"[:2000]]
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.with_suffix(".json").write_text(json.dumps(
        {"tuned": {k: v.to_dict() for k, v in tuned.items()},
         "table": {f"{split}/{name}": s for (split, name), s in table.items()}}, indent=1))


def ship(args) -> None:
    from fsttopo.training.checkpoint import add_boundary_refiner

    blob = torch.load(args.detector, map_location="cpu", weights_only=False)
    tuned = json.loads(Path(args.tuned).read_text())["tuned"][args.method]
    refiner = BoundaryRefiner(detector_from_dict(blob, args.detector), RefineOptions(**tuned))
    add_boundary_refiner(args.model or "fsttopo/assets/model/model.pt", refiner, args.out, args.default)
    if args.refiner_out:  # the detector with its settings alone, which recipes/tts/ship.py embeds
        # with how the detector was trained, which recipes/tts/ship.py copies into config.json
        torch.save({**refiner.to_dict(), "train_info": blob.get("train_info")}, args.refiner_out)
    print(f"written: {args.out} ({Path(args.out).stat().st_size / 1024:.0f} KiB), refinement {tuned}, "
          f"default {'on' if args.default else 'off'}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    sub = p.add_subparsers(dest="stage", required=True)
    b = sub.add_parser("baseline", help="align dev and test with the aligner to refine")
    b.add_argument("--model", default=None, help="model file (default: the shipped one)")
    b.add_argument("--out", default="exp/boundary/baseline")
    b.add_argument("--splits", nargs="+", choices=SPLITS, default=["dev", "test"],
                   help="devaug: dev through the training augmentation chain (tuned on with dev when present)")
    b.add_argument("--devaug-seed", type=int, default=1)
    b.add_argument("--methods", nargs="+", choices=tuple(BASELINES), default=list(BASELINES))
    t = sub.add_parser("train", help="train a detector on the train split")
    t.add_argument("--targets", choices=("word", "phone"), default="phone")
    t.add_argument("--loss", choices=("window", "bce", "both"), default="window")
    t.add_argument("--augment", type=float, default=0.0, help="share of train cuts with an augmented copy")
    t.add_argument("--augment-cache", default="", help="file of the augmented features and the --augment, "
                   "--seed and --quantize-bits that made them (made if missing, refused if made with others; "
                   "--epochs 0 only makes it)")
    t.add_argument("--quantize-bits", type=int, default=None, help="the augmented copies end on the grid of an "
                   "integer file of this many bits (AugmentConfig.quantize_bits: quiet audio stored in 16 bits)")
    t.add_argument("--radius", type=int, default=5, help="window loss: frames on each side of a boundary's two "
                   "frames that compete with them (wider teaches the detector to place boundaries farther off)")
    t.add_argument("--epochs", type=int, default=8)
    t.add_argument("--max-frames", type=int, default=12000, help="padded feature frames per batch")
    t.add_argument("--lr", type=float, default=3e-3)
    t.add_argument("--channels", type=int, default=64)
    t.add_argument("--dilations", type=int, nargs="+", default=[1, 2, 4, 8, 1])
    t.add_argument("--level-jitter", type=float, default=2.0, help="nats of random log-mel offset per utterance")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--init", default="", help="detector file to continue training from")
    t.add_argument("--out", default="exp/boundary/phone/detector.pt")
    e = sub.add_parser("evaluate", help="tune refinement on dev, score dev and test")
    e.add_argument("--detector", required=True)
    e.add_argument("--baseline", default="exp/boundary/baseline")
    e.add_argument("--out", required=True)
    e.add_argument("--pause-edges", action="store_true",
                   help="also tune separate settings for word boundaries next to pauses (PAUSE_GRID)")
    e.add_argument("--reverb-onsets", action="store_true",
                   help="also fit onset shifts over the decay asymmetry (REVERB_KNOTS) on dev and devaug pooled")
    s = sub.add_parser("ship", help="a model file carrying the detector and its dev-tuned settings")
    s.add_argument("--model", default=None, help="model file (default: the shipped one)")
    s.add_argument("--detector", required=True)
    s.add_argument("--tuned", required=True, help="results.json of the evaluate stage")
    s.add_argument("--method", default="posterior", help="whose tuned settings (posterior or viterbi)")
    s.add_argument("--default", action="store_true", help="refine_boundaries on by default")
    s.add_argument("--out", required=True)
    s.add_argument("--refiner-out", default=None, help="also write the detector with its settings alone here "
                   "(e.g. fsttopo/assets/model/boundary_detector.pt, which recipes/tts/ship.py embeds)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    {"baseline": baseline, "train": train, "evaluate": evaluate, "ship": ship}[args.stage](args)


if __name__ == "__main__":
    main()
