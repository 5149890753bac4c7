"""Aligning a Lhotse CutSet of any size (``fsttopo align-cuts``): the cuts are read lazily, aligned in
blocks (:mod:`fsttopo.shards`: a shard's share, over ``jobs`` worker processes) and written as each
block finishes; nothing holds all cuts or alignments. The output directory is replaced as a whole
(:func:`fsttopo.output_dir.staged_output`), so runs never mix, and a re-run can keep what is up to
date (``resume``)."""

from __future__ import annotations

import hashlib
import json
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import torch

from .aligner import Aligner
from .audio_batches import duration_batches
from .batch_align import align_loaded
from .data.alignment import UtteranceAlignment
from .data.corpus_dir import Problem, write_problems
from .data.features import compute_features
from .inference.recording_check import sample_measures
from .output_dir import (StagedOutput, run_settings, staged_output, uncertain_words, up_to_date, write_manifest,
                         write_condition_lists, write_uncertain_list, condition_counts, row_conditions, robust_count)
from .routed_aligner import RoutedAligner
from .shards import BLOCK_SIZE, UNSHARDED, Shard, shard_blocks, write_shard_info
from .workers import map_blocks

__all__ = ["CutOutcome", "CutsResult", "ALIGNED_CUTS", "iter_cut_alignments", "cut_fingerprint", "align_cuts_to_dir"]

ALIGNED_CUTS = "cuts_aligned.jsonl.gz"


@dataclass(frozen=True)
class CutOutcome:
    """One cut of :func:`iter_cut_alignments`: its alignment (times relative to the recording) or the
    problem that stopped it (``file`` holds the cut id), the number of its block, and whether the
    alignment was kept from a previous run instead of aligned (``keep``); ``conditions``: what an
    aligned cut's recording shows (:mod:`fsttopo.inference.recording_check`: noisy, band-limited,
    reverberant; clipped for a cut aligned from its audio), by manifest key."""

    cut: Any
    block: int
    alignment: UtteranceAlignment | None
    problem: Problem | None
    kept: bool = False
    conditions: Mapping[str, float] = field(default_factory=dict)


@dataclass
class CutsResult:
    """What :func:`align_cuts_to_dir` did: cuts aligned, the problems of the others (by cut id), cuts
    seen (this shard's), cuts whose previous outputs were kept (``resume``; not in ``aligned``), and
    aligned or kept cuts that look noisy (listed in ``noisy.tsv``), band-limited (``band_limited.tsv``),
    reverberant (``reverberant.tsv``) or clipped (``clipped.tsv``; only cuts without stored features
    are checked for it: their audio is read), and those the robust model aligned, chosen per cut
    (``--model auto``)."""

    out_dir: Path
    aligned: int
    problems: list[Problem]
    cuts: int
    kept: int = 0
    noisy: int = 0
    band_limited: int = 0
    clipped: int = 0
    reverberant: int = 0
    robust: int = 0


def _cut_text(cut) -> str:
    """The words of a cut's single supervision; ValueError when it has none, several or no text."""
    if len(cut.supervisions) != 1:
        raise ValueError(f"the cut has {len(cut.supervisions)} supervisions; align-cuts aligns one per cut")
    text = cut.supervisions[0].text
    if not text or not text.strip():
        raise ValueError(f"supervision {cut.supervisions[0].id!r} has no text")
    return text


def _align_cut_block(aligner: Aligner | RoutedAligner, task: tuple[list, float, dict[str, Any]]
                     ) -> list[tuple[UtteranceAlignment | Problem, dict[str, float]]]:
    """Align a block of cuts (a worker's task): per cut its alignment or its problem, and the
    conditions its recording shows (empty for most), in order."""
    cuts, max_duration, options = task
    results: list[UtteranceAlignment | Problem | None] = [None] * len(cuts)
    conditions: list[dict[str, float]] = [{} for _ in cuts]
    durations = {}
    for i, cut in enumerate(cuts):
        try:
            _cut_text(cut)
            durations[i] = cut.duration
        except ValueError as err:
            results[i] = Problem(cut.id, "bad-cut", str(err))
    for batch in duration_batches(durations, max_duration) if durations else []:
        part = [cuts[i] for i in batch]
        aligned = align_loaded(aligner, part, _load_features, [_cut_text(c) for c in part],
                               [c.supervisions[0].id for c in part], options, "unreadable-features",
                               offsets=[c.start for c in part])
        for i, (result, shown) in zip(batch, aligned):
            results[i] = result if isinstance(result, UtteranceAlignment) else \
                Problem(cuts[i].id, result.reason, result.message)
            conditions[i] = shown
    return list(zip(results, conditions))


def _load_features(cut) -> tuple[torch.Tensor, dict[str, float]] | str:
    """A cut's stored features, or those of its audio (a cut without features, as Lhotse recipes that
    compute them on the fly make), with the conditions of its samples; the samples of a cut with
    stored features are not read, so it is not checked for clipping."""
    try:
        if not cut.has_features:
            samples = cut.load_audio()[0]
            return compute_features(samples, cut.sampling_rate), sample_measures(samples, cut.sampling_rate)
        return torch.from_numpy(cut.load_features()).float(), {}
    except Exception as err:  # any storage backend's error: the cut is reported, the rest go on
        return f"{type(err).__name__}: {err}"


def iter_cut_alignments(aligner: Aligner | RoutedAligner, cuts: Iterable, max_duration: float = 200.0, *, shard: Shard = UNSHARDED,
                        jobs: int = 1, threads: int | None = None, block_size: int = BLOCK_SIZE,
                        keep: Callable[[Any], UtteranceAlignment | None] | None = None,
                        **options) -> Iterator[CutOutcome]:
    """Align the cuts (features attached, one supervision each; read lazily, e.g. from
    ``lhotse.load_manifest_lazy``) of ``shard`` in batches of up to ``max_duration`` seconds formed
    within blocks of ``block_size`` cuts, over ``jobs`` worker processes (``threads`` each), and yield
    each cut's :class:`CutOutcome` in the manifest's order, a block at a time, with a progress bar.
    A cut that cannot be aligned is reported and the others go on. A cut's alignment is the same for
    any ``shard`` and ``jobs`` at the same ``block_size``, ``max_duration`` and threads per process.
    ``keep(cut)``, when given, returns an alignment to take instead of aligning the cut (a previous
    run's, up to date), or None. ``options`` go to :meth:`Aligner.align`."""
    from tqdm import tqdm

    if not max_duration > 0:
        raise ValueError(f"max_duration must be > 0 seconds, got {max_duration}")
    in_flight: deque[tuple[int, list, dict[int, UtteranceAlignment]]] = deque()  # handed out, not yet yielded

    def tasks():
        for number, block in shard_blocks(cuts, shard, block_size):
            kept = {}
            if keep is not None:
                kept = {i: ali for i, ali in ((i, keep(cut)) for i, cut in enumerate(block)) if ali is not None}
            in_flight.append((number, block, kept))
            yield [cut for i, cut in enumerate(block) if i not in kept], max_duration, dict(options)

    for results in tqdm(map_blocks(_align_cut_block, tasks(), aligner, jobs, threads), desc="aligning", unit="block"):
        number, block, kept = in_flight.popleft()
        aligned = iter(results)
        for i, cut in enumerate(block):
            if i in kept:
                yield CutOutcome(cut, number, kept[i], None, kept=True)
                continue
            result, conditions = next(aligned)
            yield CutOutcome(cut, number, result if isinstance(result, UtteranceAlignment) else None,
                             result if isinstance(result, Problem) else None, conditions=conditions)


def cut_fingerprint(cut) -> str:
    """SHA-256 of a cut's manifest entry (its JSON with sorted keys: recording, features, supervision
    and their storage paths): what a re-run compares to tell whether the cut changed."""
    return hashlib.sha256(json.dumps(cut.to_dict(), sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _previous_cut_alignment(stage: StagedOutput, cut, fingerprint: str, settings: Mapping[str, Any]
                            ) -> UtteranceAlignment | None:
    """An earlier run's alignment of ``cut`` when its output is up to date: its row (in the last
    complete output or an interrupted run's progress) says aligned (or kept) from the same cut,
    model and options, and its JSON exists and reads back."""
    from .data.export import read_json

    row, source = stage.previous_row(cut.id) or (None, None)
    if not up_to_date(row, source, {"cut": fingerprint}, settings) or len(row.get("outputs", ())) != 1:
        return None
    try:
        return read_json(source / row["outputs"][0])[0]
    except ValueError:  # damaged since: align the cut again
        return None


def align_cuts_to_dir(aligner: Aligner | RoutedAligner, cuts: Iterable, out_dir: str | Path, max_duration: float = 200.0, *,
                      shard: Shard = UNSHARDED, jobs: int = 1, threads: int | None = None,
                      block_size: int = BLOCK_SIZE, resume: bool = False,
                      identity: Mapping[str, Any] | None = None, **options) -> CutsResult:
    """:func:`iter_cut_alignments`, written into ``out_dir`` as each block finishes:

    - ``cuts_aligned.jsonl.gz``: the aligned cuts in the manifest's order, each alignment in its
      supervision's ``alignment`` (``word``, ``phone``);
    - ``json/SUPERVISION_ID.json`` per aligned cut (:func:`~fsttopo.data.export.write_json`);
    - ``failed.tsv``: ``file, reason, message`` per cut not aligned, ``file`` holding the cut id;
    - ``noisy.tsv``: ``cut id, dynamic range dB`` of each aligned cut that looks noisy
      (:mod:`fsttopo.inference.noise_check`);
    - ``band_limited.tsv``: ``cut id, upper band dB`` of each aligned cut that looks band-limited
      (:mod:`fsttopo.inference.band_check`);
    - ``reverberant.tsv``: ``cut id, decay asymmetry`` of each aligned cut that looks reverberant
      (:mod:`fsttopo.inference.reverb_check`);
    - ``clipped.tsv``: ``cut id, clipped share %`` of each aligned cut that looks clipped
      (:mod:`fsttopo.inference.clip_check`; only cuts without stored features, aligned from their audio);
    - ``uncertain_words.tsv``: the words whose times are least sure, widest boundary spread first
      (:func:`~fsttopo.output_dir.write_uncertain_list`; ids are supervision ids);
    - ``manifest.jsonl``: per cut, in the manifest's order, ``file`` (the cut id), its status
      (``aligned``, ``failed`` or ``skipped-up-to-date``), reasons, outputs, ``inputs`` (the cut's
      :func:`cut_fingerprint`), ``identity`` (``model``) and the alignment options used;
    - with ``shard`` of more than one, ``shard.json``: the blocks and how many cuts of each were
      aligned (or kept) and failed, for ``merge-alignments``.

    The output is built in ``OUT.partial-XXXX`` beside ``out_dir`` and replaces it at the end: an
    interrupted run leaves the previous output as it was, and nothing of an earlier run survives
    that this run did not write or keep. ``resume`` keeps the outputs of cuts whose manifest entry,
    ``identity`` (what the aligner was loaded from, e.g. ``{"model": file_identity(path)}``;
    required) and options are those of the previous complete run or of an interrupted one
    (:func:`~fsttopo.output_dir.staged_output`), and aligns the rest."""
    from .data.export import write_json_dir
    from .data.jsonl import open_gzip_text_writer

    if resume and identity is None:
        raise ValueError("resume needs the identity of the model (and lexicon) to tell whether outputs are up to date")
    settings = run_settings(aligner.align_options, identity, options)
    problems: list[Problem] = []
    counts: dict[int, list[int]] = {}  # block number -> [aligned or kept, failed]
    rows: list[dict[str, Any]] = []
    words = []
    seen = kept = 0
    with staged_output(out_dir, recover=resume) as stage:
        fingerprints: dict[str, str] = {}

        def previous(cut) -> UtteranceAlignment | None:
            fingerprints[cut.id] = cut_fingerprint(cut)
            return _previous_cut_alignment(stage, cut, fingerprints[cut.id], settings)

        with open_gzip_text_writer(stage.path / ALIGNED_CUTS) as writer:
            for outcome in iter_cut_alignments(aligner, cuts, max_duration, shard=shard, jobs=jobs, threads=threads,
                                               block_size=block_size, keep=previous if resume else None, **options):
                seen += 1
                counts.setdefault(outcome.block, [0, 0])
                cut, ali, problem = outcome.cut, outcome.alignment, outcome.problem
                row = {"file": cut.id, "status": "failed", "outputs": [], "reasons": [], "messages": [],
                       "inputs": {"cut": fingerprints.pop(cut.id, None) or cut_fingerprint(cut)}, **settings}
                if outcome.kept:
                    previous, source = stage.previous_row(cut.id)
                    stage.keep(previous["outputs"][0], source)
                    row.update(status="skipped-up-to-date", outputs=previous["outputs"][:1])
                    row.update(row_conditions(previous))
                    stage.record(row)
                    kept += 1
                elif problem is None:
                    try:
                        path = write_json_dir([ali], stage.path / "json")[0]
                        row.update(status="aligned", outputs=[path.relative_to(stage.path).as_posix()])
                        row.update(outcome.conditions, **({"aligned_by": ali.model} if ali.model else {}))
                        stage.record(row)
                    except ValueError as err:
                        problem = Problem(cut.id, "align-error", f"cannot write the alignment: {err}")
                rows.append(row)
                if problem is not None:
                    problems.append(problem)
                    row.update(reasons=[problem.reason], messages=[problem.message])
                    counts[outcome.block][1] += 1
                    continue
                words += uncertain_words(ali)
                cut = cut.map_supervisions(lambda s: ali.to_supervision(s) if s.id == ali.utterance_id else s)
                writer.write(json.dumps(cut.to_dict(), ensure_ascii=False) + "\n")
                counts[outcome.block][0] += 1
        write_problems(problems, stage.path / "failed.tsv")
        write_manifest(rows, stage.path)
        write_condition_lists(rows, stage.path)
        write_uncertain_list(words, stage.path)
        if shard.count > 1:
            write_shard_info(stage.path, "align-cuts", shard, block_size, max_duration,
                             blocks=[[number, *counts[number]] for number in sorted(counts)])
    counts = condition_counts(rows)
    return CutsResult(Path(out_dir), seen - len(problems) - kept, problems, seen, kept, counts["noisy_db"],
                      counts["band_limited_db"], counts["clipped_percent"], counts["reverb_asymmetry"],
                      robust_count(rows))
