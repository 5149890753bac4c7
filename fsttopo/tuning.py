"""Choosing a trained aligner's epoch and alignment options on held-out (dev) speakers.

Searched: the epoch file, the method (Viterbi, posterior), the alignment-time silence/blank
penalty and the prior scale (paper Table 14) on one frame-grid phase, then as many phases as the
model downsamples for the best choice of each method. Two criteria:

- ``"references"``: the mean word-boundary error against reference alignments (the dev cuts'
  ``alignment["word"]``, e.g. from TextGrids beside a corpus's files), with the time shift (-20 to
  20 ms) that minimizes it;
- ``"pauses"``, for a corpus without reference times: the mean distance of the alignment's pause
  edges to the signal's (:func:`fsttopo.data.activity.find_pauses`): the first word's start, the
  last word's end, and around every pause inside the speech the word boundary closest to it. These
  are the boundaries the penalty and prior move most, and energy locates them without a model;
  the time shift stays 0 (a criterion with its own bias should not choose one).

The best choice of each method then tries choosing among the lexicon's pronunciations of each
word (``pronunciation_variants``, :mod:`fsttopo.inference.pronunciation_choice`) at each penalty
of :data:`VARIANT_PENALTIES`, kept when it lowers the dev error (a corpus whose dictionary has no
alternatives for its dev words skips it). With references, it then tries moving word edges at
pauses onto the energy step (``pause_edges_db``, :mod:`fsttopo.inference.pause_edges`) at each of
:data:`PAUSE_EDGE_RANGES` dB, kept when it lowers the dev error (with ``"pauses"`` it would be
judged by the energy it is moved to).

Each model file is encoded once; the options are searched on the encoder outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .aligner import ALIGN_OPTIONS, FEATURE_SHIFT, Aligner
from .audio_batches import duration_batches
from .data.activity import Pause, find_pauses
from .data.alignment import UtteranceAlignment
from .data.export import from_cuts
from .data.features import cut_features, log_mel_energy_db
from .inference.pause_edges import snap_to_energy

__all__ = ["CRITERIA", "PENALTIES", "PRIOR_SCALES", "TUNED_METHODS", "SHIFTS_MS", "PAUSE_EDGE_RANGES", "VARIANT_PENALTIES", "VARIANT_OPTIONS", "epoch_files", "signed_word_errors",
           "best_time_shift", "pause_edge_error", "tune_alignment_options"]

CRITERIA = ("references", "pauses")
PENALTIES = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
PRIOR_SCALES = (0.0, 0.5, 1.0, 1.5)
TUNED_METHODS = ("viterbi", "posterior")
SHIFTS_MS = np.arange(-20.0, 20.5, 1.0)
PAUSE_EDGE_RANGES = (30.0, 40.0, 50.0)
VARIANT_PENALTIES = (2.0, 4.0, 8.0, 16.0)
VARIANT_OPTIONS = ("pronunciation_variants", "variant_penalty")
"""The alignment options the variant step adds to a choice (:func:`tune_alignment_options`)."""
MAX_EDGE_ERROR = 0.5
"""Seconds at which one pause edge's error is capped, so that one pause the alignment does not
see (or a click the energy takes for speech) does not outweigh the rest."""


def epoch_files(exp_dir: str | Path) -> list[Path]:
    """``epoch<N>.pt`` of a training run in epoch order (``model.pt`` alone if there are none)."""
    exp_dir = Path(exp_dir)
    files = sorted(exp_dir.glob("epoch*.pt"), key=lambda f: int(f.stem[len("epoch"):]))
    return files or [exp_dir / "model.pt"]


def signed_word_errors(hyps: Sequence[UtteranceAlignment], refs: Mapping[str, UtteranceAlignment]) -> np.ndarray:
    """``[words, 2]`` signed start and end errors of every word (ms; positive = hypothesis late).
    ValueError when an utterance's words differ from its reference's (they are matched by position)."""
    for a in hyps:
        ref = [w.symbol for w in refs[a.utterance_id].words]
        if [w.symbol for w in a.words] != ref:
            raise ValueError(f"utterance {a.utterance_id!r}: aligned words {[w.symbol for w in a.words][:8]} differ "
                             f"from the reference's {ref[:8]} (words are matched by position)")
    return np.array([(1000 * (h.start - r.start), 1000 * (h.end - r.end)) for a in hyps
                     for h, r in zip(a.words, refs[a.utterance_id].words)]).reshape(-1, 2)


def best_time_shift(hyps: Sequence[UtteranceAlignment], refs: Mapping[str, UtteranceAlignment]) -> tuple[float, float]:
    """The shift (seconds, from -20 to 20 ms in 1 ms steps) that added to every word boundary of
    ``hyps`` gives the lowest mean word-boundary error against ``refs``, and that error (ms)."""
    signed = signed_word_errors(hyps, refs)
    tse = [float(np.abs(signed + d).mean()) for d in SHIFTS_MS]
    best = int(np.argmin(tse))
    return float(SHIFTS_MS[best]) / 1000, tse[best]


def _edge_errors(alignment: UtteranceAlignment, pauses: Sequence[Pause]) -> list[float]:
    words = alignment.words
    end_of_audio = alignment.start + alignment.duration
    errors = []
    inner = list(pauses)
    if inner and inner[0].start <= alignment.start:
        errors.append(abs(words[0].start - inner.pop(0).end))
    if inner and inner[-1].end >= end_of_audio:
        errors.append(abs(words[-1].end - inner.pop().start))
    if inner and len(words) > 1:
        gaps = np.array([(a.end + b.start) / 2 for a, b in zip(words[:-1], words[1:])])
        for pause in inner:
            i = int(np.abs(gaps - (pause.start + pause.end) / 2).argmin())
            errors += [abs(words[i].end - pause.start), abs(words[i + 1].start - pause.end)]
    return [min(e, MAX_EDGE_ERROR) for e in errors]


def pause_edge_error(hyps: Sequence[UtteranceAlignment], pauses: Mapping[str, Sequence[Pause]]) -> float:
    """Mean distance (ms) of the alignments' pause edges to the signal's pauses (times in the
    alignments' own frame: a pause of a cut starting at ``t`` seconds of its recording is given
    from ``t``), each capped at :data:`MAX_EDGE_ERROR`; NaN when no utterance has a pause edge."""
    errors = [e for h in hyps for e in _edge_errors(h, pauses[h.utterance_id])]
    return 1000 * float(np.mean(errors)) if errors else float("nan")


def _cut_pauses(cut) -> list[Pause]:
    return [Pause(p.start + cut.start, p.end + cut.start) for p in find_pauses(cut.load_audio()[0], cut.sampling_rate)]


def tune_alignment_options(model_files: Sequence[str | Path], dev_cuts, criterion: str = "references",
                           max_duration: float = 200.0, log: Callable[[str], None] | None = print
                           ) -> dict[str, dict]:
    """Select the epoch and alignment options on ``dev_cuts`` (one supervision each) by
    ``criterion`` (:data:`CRITERIA`, see the module docstring). Returns ``{method: {"model",
    "epoch" (from an ``epoch<N>.pt`` name, else the file's place in ``model_files``), "epochs"
    (files compared), **alignment options, "dev_error_ms", "criterion"}}`` for each method of
    :data:`TUNED_METHODS`; ``log`` gets one line per setting tried."""
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    cuts = list(dev_cuts)
    if not cuts:
        raise ValueError("no dev cuts to tune on")
    if criterion == "references":
        missing = [c.id for c in cuts if not c.supervisions[0].alignment or "word" not in c.supervisions[0].alignment]
        if missing:
            raise ValueError(f"{len(missing)} dev cut(s) have no reference word alignment (e.g. {missing[0]}); "
                             "tune with criterion='pauses'")
        refs = {r.utterance_id: r for r in from_cuts(cuts)}
    else:
        pauses = {c.supervisions[0].id: _cut_pauses(c) for c in cuts}
    batches = [[cuts[i] for i in batch] for batch in
               duration_batches({i: c.duration for i, c in enumerate(cuts)}, max_duration)]
    features = [[cut_features(c) for c in batch] for batch in batches]

    def dev_alignments(aligner: Aligner, encoded, options) -> list[list[UtteranceAlignment]]:
        out = []
        for enc, batch, feats in zip(encoded, batches, features):
            sups = [c.supervisions[0] for c in batch]
            out.append(aligner.align_encoded(enc, [s.text for s in sups], [f.shape[0] * FEATURE_SHIFT for f in feats],
                                             [s.id for s in sups], offsets=[c.start for c in batch],
                                             **options).alignments)
        return out

    def dev_error(aligner: Aligner, encoded, options) -> tuple[float, float]:
        hyps = [a for batch in dev_alignments(aligner, encoded, options) for a in batch]
        if criterion == "references":
            return best_time_shift(hyps, refs)
        return 0.0, pause_edge_error(hyps, pauses)

    def better(error: float, than: dict | None) -> bool:
        return than is None or (not np.isnan(error) and (np.isnan(than["dev_error_ms"]) or error < than["dev_error_ms"]))

    def has_variants(aligner: Aligner) -> bool:
        return any(t.has_variants for t in aligner._encode_texts([c.supervisions[0].text for c in cuts], variants=True))

    files = [Path(f) for f in model_files]
    best: dict[str, dict] = {}
    for index, path in enumerate(files, 1):
        epoch = int(path.stem[5:]) if path.stem.startswith("epoch") and path.stem[5:].isdigit() else index
        aligner = Aligner.from_file(path)
        encoded = [aligner.encode(feats, 1) for feats in features]
        for method in TUNED_METHODS:
            for penalty in PENALTIES:
                for prior in PRIOR_SCALES:
                    options = {"method": method, "blank_penalty": penalty, "prior_scale": prior,
                               "posterior_scale": 1.0, "phases": 1}
                    shift, error = dev_error(aligner, encoded, options)
                    if log:
                        log(f"  dev: {path.name} {method} penalty {penalty} prior {prior}: {error:.1f} ms "
                            f"(shift {1000 * shift:+.0f} ms)")
                    if better(error, best.get(method)):
                        best[method] = {"model": str(path), "epoch": epoch, "epochs": len(files), **options,
                                        "time_shift": shift, "dev_error_ms": error, "criterion": criterion}
    energies = None
    for method, choice in best.items():
        aligner = Aligner.from_file(choice["model"])
        phases = aligner.model.config.subsampling
        options = {k: choice[k] for k in ALIGN_OPTIONS if k in choice and k != "time_shift"} | {"phases": phases}
        shift, error = dev_error(aligner, [aligner.encode(feats, phases) for feats in features], options)
        if log:
            log(f"  dev: {Path(choice['model']).name} {method} with {phases} phases: {error:.1f} ms "
                f"(shift {1000 * shift:+.0f} ms)")
        if better(error, choice):
            choice.update(phases=phases, time_shift=shift, dev_error_ms=error)
        encoded = [aligner.encode(feats, choice["phases"]) for feats in features]
        if has_variants(aligner):
            for penalty in VARIANT_PENALTIES:
                options = {k: choice[k] for k in ALIGN_OPTIONS if k != "time_shift"} | {
                    "pronunciation_variants": True, "variant_penalty": penalty}
                shift, error = dev_error(aligner, encoded, options)
                if log:
                    log(f"  dev: {Path(choice['model']).name} {method}, pronunciation variants at penalty "
                        f"{penalty:g}: {error:.1f} ms (shift {1000 * shift:+.0f} ms)")
                if better(error, choice):
                    choice.update(pronunciation_variants=True, variant_penalty=penalty, time_shift=shift,
                                  dev_error_ms=error)
        if criterion != "references":
            continue
        options = {k: choice[k] for k in (*ALIGN_OPTIONS, *VARIANT_OPTIONS) if k in choice}
        aligned = dev_alignments(aligner, encoded, options)
        if energies is None:  # the same recordings for every model and method
            energies = [[log_mel_energy_db(f).numpy() for f in feats] for feats in features]
        for range_db in PAUSE_EDGE_RANGES:
            snapped = [a for hyps, energy in zip(aligned, energies) for a in snap_to_energy(hyps, energy, range_db)]
            error = float(np.abs(signed_word_errors(snapped, refs)).mean())
            if log:
                log(f"  dev: {Path(choice['model']).name} {method}, pause edges at {range_db:g} dB: {error:.1f} ms")
            if better(error, choice):
                choice.update(pause_edges_db=range_db, dev_error_ms=error)
    return best
