"""Align a directory of recordings with transcripts beside them (the layout of Montreal Forced
Aligner corpora, :mod:`fsttopo.corpus_check`); outputs mirror the input tree.

Every audio file is accounted for: aligned, failed (with its reason in ``failed.tsv``) or kept up to
date from the previous run (``resume``), each one a row of ``manifest.jsonl``. A corpus of any size
streams through (outputs written per batch, nothing holds all alignments), split over worker
processes and shards by blocks of files (:mod:`fsttopo.shards`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, Iterator, Mapping

import torch

from .aligner import Aligner, compute_features
from .audio_batches import duration_batches
from .batch_align import align_loaded
from .corpus_check import (DirectoryUtterance, Problem, check_utterance, scan_directory, tsv_field,
                           write_problems)
from .data.alignment import UtteranceAlignment
from .data.export import ctm_lines
from .data.features import read_samples
from .inference.recording_check import sample_measures
from .output_dir import (input_fingerprint, read_manifest, robust_count, run_settings, staged_output, uncertain_words,
                         up_to_date, write_manifest, write_condition_lists, write_uncertain_list, condition_counts,
                         row_conditions)
from .routed_aligner import RoutedAligner, checking_aligner
from .shards import BLOCK_SIZE, UNSHARDED, Shard, shard_blocks, write_shard_info
from .workers import map_blocks

__all__ = ["DirectoryResult", "align_directory", "output_files", "iter_output_alignments", "write_summaries"]


@dataclass
class DirectoryResult:
    """What :func:`align_directory` did. The alignments are not held (a corpus may have millions):
    :meth:`iter_alignments` reads them back from the output.

    Attributes:
        out_dir: the output directory.
        problems: the files not aligned, with their reasons (as in ``failed.tsv``).
        aligned: files aligned by this run.
        kept: files whose previous outputs were up to date (``resume``).
        files: audio files accounted for (this shard's).
        noisy: aligned or kept files that look noisy (listed in ``noisy.tsv``).
        band_limited: aligned or kept files that look band-limited (listed in ``band_limited.tsv``).
        clipped: aligned or kept files that look clipped (listed in ``clipped.tsv``).
        reverberant: aligned or kept files that look reverberant (listed in ``reverberant.tsv``).
        robust: aligned or kept files the robust model aligned, chosen per file (``--model auto``;
            their JSON files say ``"model": "robust"``, their manifest rows ``"aligned_by": "robust"``).
    """

    out_dir: Path
    problems: list[Problem]
    aligned: int
    kept: int
    files: int
    noisy: int = 0
    band_limited: int = 0
    clipped: int = 0
    reverberant: int = 0
    robust: int = 0

    @property
    def failed_files(self) -> list[str]:
        """The files not aligned, sorted."""
        return sorted({p.file for p in self.problems})

    def iter_alignments(self) -> Iterator[UtteranceAlignment]:
        """The alignments in the output (aligned now or kept), in the corpus' path order, read one at a
        time from the JSON files."""
        return iter_output_alignments(self.out_dir, read_manifest(self.out_dir) or {})

    @property
    def alignments(self) -> list[UtteranceAlignment]:
        """All of :meth:`iter_alignments` (in memory: for small corpora)."""
        return list(self.iter_alignments())


def output_files(utterance: DirectoryUtterance) -> list[str]:
    """The outputs of an utterance, relative to the output directory: its relative path with the
    audio suffix replaced (``spk/utt.1.wav`` -> ``spk/utt.1.json``, ``spk/utt.1.TextGrid``)."""
    return [utterance.relative + ".json", utterance.relative + ".TextGrid"]


def _row(file: str, row: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """A file's manifest row, with the conditions its recording shows
    (:func:`fsttopo.inference.recording_check.recording_conditions`; keys left out for the others)."""
    return {"file": file, **{k: row[k] for k in ("status", "outputs", "reasons", "messages", "inputs")},
            **row_conditions(row), **settings}


def _previous_alignment(row: Mapping[str, Any] | None, source: Path | None, utt: DirectoryUtterance,
                        inputs: Mapping[str, Any], settings: Mapping[str, Any]) -> UtteranceAlignment | None:
    """An earlier run's alignment of ``utt`` (its row, with its outputs in ``source``) when its
    outputs are up to date: the row says aligned (or kept) from the same inputs, model and options,
    and its outputs exist and read back."""
    from .data.export import read_json

    if not up_to_date(row, source, inputs, settings):
        return None
    try:
        return read_json(source / output_files(utt)[0])[0]
    except ValueError:  # damaged since: align the file again
        return None


def _align_block(aligner: Aligner | RoutedAligner, task: tuple[list[list[DirectoryUtterance]], dict[str, Any], int | None]
                 ) -> list[tuple[DirectoryUtterance, UtteranceAlignment | Problem, dict[str, float]]]:
    """Align a block's batches (a worker's task, :func:`fsttopo.workers.map_blocks`): per utterance its
    alignment or its problem and the conditions its recording shows
    (:func:`~fsttopo.inference.recording_check.recording_conditions`), in the block's order."""
    batches, options, channel = task
    out: list[tuple[DirectoryUtterance, UtteranceAlignment | Problem, dict[str, float]]] = []
    for batch in batches:
        results = align_loaded(aligner, batch, partial(_load_features, channel=channel), [u.text for u in batch],
                               [u.utterance_id for u in batch], options, "unreadable-audio")
        out += [(u, r if isinstance(r, UtteranceAlignment) else Problem(u.file, r.reason, r.message), conditions)
                for u, (r, conditions) in zip(batch, results)]
    return out


def _load_features(utt: DirectoryUtterance, channel: int | None = None) -> tuple[torch.Tensor, dict[str, float]] | str:
    try:
        samples, sampling_rate = read_samples(utt.audio, channel)
        return compute_features(samples, sampling_rate), sample_measures(samples, sampling_rate)
    except ValueError as err:  # the header was readable, the samples are not
        return str(err)


def _write_outputs(ali: UtteranceAlignment, utt: DirectoryUtterance, out: Path) -> Problem | None:
    """Write the JSON and TextGrid of one alignment; on a ValueError none of them stays."""
    from .data.export import write_json, write_textgrid

    json_file, grid_file = (out / f for f in output_files(utt))
    try:
        write_json(ali, json_file)
        write_textgrid(ali, grid_file)
    except ValueError as err:
        json_file.unlink(missing_ok=True)
        return Problem(utt.file, "align-error", f"cannot write the alignment: {err}")
    return None


def _path_order(file: str) -> tuple[str, ...]:
    """Sort key of a corpus-relative path: the order of :func:`~fsttopo.corpus_check.scan_directory`
    (by path components: ``a/x.wav`` before ``a b/x.wav``)."""
    return PurePosixPath(file).parts


def iter_output_alignments(out_dir: str | Path, rows: Mapping[str, Mapping[str, Any]]
                           ) -> Iterator[UtteranceAlignment]:
    """The alignments of the manifest ``rows`` that have outputs (aligned or kept), in path order,
    read from their JSON files in ``out_dir``."""
    from .data.export import read_json

    for file in sorted((f for f, r in rows.items() if r.get("outputs")), key=_path_order):
        yield read_json(Path(out_dir) / rows[file]["outputs"][0])[0]


def write_summaries(out_dir: str | Path, rows: Mapping[str, Mapping[str, Any]]) -> None:
    """Write ``failed.tsv``, ``alignments.ctm``, ``confidence.tsv``, ``uncertain_words.tsv``, ``noisy.tsv``
    and ``band_limited.tsv`` (:func:`~fsttopo.output_dir.write_condition_lists`) of an output directory from its manifest ``rows``
    and per-file JSON outputs (read one at a time): one implementation for a run and for merging
    shards (:mod:`fsttopo.merge`)."""
    from .data.atomic import atomic_path, write_text_atomic

    out = Path(out_dir)
    write_problems([Problem(f, reason, message) for f in sorted(rows)
                    for reason, message in zip(rows[f]["reasons"], rows[f]["messages"])], out / "failed.tsv")
    scored, words = [], []
    with atomic_path(out / "alignments.ctm") as tmp, open(tmp, "w", encoding="utf-8") as ctm:
        for ali in iter_output_alignments(out, rows):
            ctm.write(ctm_lines(ali))
            if ali.relative_confidence is not None:
                scored.append((ali.relative_confidence, ali.utterance_id,
                               {True: "low", False: "ok", None: ""}[ali.low_confidence], ali.confidence))
            words += uncertain_words(ali)
    scored.sort()
    write_text_atomic(out / "confidence.tsv", "".join(f"{r:.4f}\t{tsv_field(utt)}\t{flag}\t{c:.4f}\n"
                                                      for r, utt, flag, c in scored))
    write_uncertain_list(words, out)
    write_condition_lists(({"file": f, **rows[f]} for f in sorted(rows, key=_path_order)), out)


def align_directory(aligner: Aligner | RoutedAligner, directory: str | Path, out_dir: str | Path, max_duration: float = 200.0, *,
                    resume: bool = False, identity: Mapping[str, Any] | None = None, shard: Shard = UNSHARDED,
                    jobs: int = 1, threads: int | None = None, block_size: int = BLOCK_SIZE,
                    channel: int | None = None, **options) -> DirectoryResult:
    """Align every audio file under ``directory`` with its transcript and write into ``out_dir``:

    - ``REL.json`` and ``REL.TextGrid`` per file (:func:`output_files`: the input's relative path
      without its audio suffix; the utterance id is the same ``REL``), written as each batch finishes;
    - ``alignments.ctm`` (word CTM of all, ids percent-encoded, :func:`~fsttopo.data.export.write_ctm`),
      ``confidence.tsv`` (``relative_confidence, file, flag, confidence`` by
      :attr:`~fsttopo.data.alignment.UtteranceAlignment.relative_confidence`, lowest first: the
      transcripts to check; flag ``low`` below the model's calibrated threshold, else ``ok``, empty
      without one);
    - ``uncertain_words.tsv`` (``spread ms, file, word index, word, start, end``): the
      :data:`~fsttopo.output_dir.UNCERTAIN_SHARE` of the words whose boundary spread is widest,
      widest first: the word times to check (:func:`~fsttopo.output_dir.write_uncertain_list`);
    - ``noisy.tsv``: ``file, dynamic range dB`` of each aligned file that looks noisy
      (:mod:`fsttopo.inference.noise_check`: a model trained on clean speech misplaces words there);
    - ``band_limited.tsv``: ``file, upper band dB`` of each aligned file that looks band-limited
      (:mod:`fsttopo.inference.band_check`: telephone or 8 kHz audio);
    - ``failed.tsv``: ``file, reason, message`` of each file not aligned (reasons:
      :data:`fsttopo.corpus_check.REASONS`);
    - ``manifest.jsonl``: per audio file its status (``aligned``, ``failed`` or ``skipped-up-to-date``),
      reasons, outputs, the inputs' size and mtime, ``identity`` and the alignment options used;
    - with ``shard`` of more than one, ``shard.json`` (:mod:`fsttopo.shards`) for ``merge-alignments``.

    A file with a problem (:func:`~fsttopo.corpus_check.scan_directory`,
    :func:`~fsttopo.corpus_check.check_utterance`) is skipped; the others are aligned in batches of
    up to ``max_duration`` seconds of audio, formed within blocks of ``block_size`` files in path order
    (longest first; features are computed per batch), with a progress bar; a batch that fails is
    aligned one by one. ``shard`` takes its blocks only; ``jobs`` worker processes
    (:func:`fsttopo.workers.map_blocks`, ``threads`` each) align blocks in parallel. The outputs are
    the same for any ``shard`` (once merged) and ``jobs`` at the same ``block_size``, ``max_duration``
    and threads per process. ``channel`` (0-based) aligns that channel of every file instead of the
    mean of its channels; a file without it fails (``unreadable-audio``, its channel count named).
    ``options`` go to :meth:`Aligner.align`.

    The output is built in ``OUT.partial-XXXX`` beside ``out_dir`` and replaces it at the end
    (:func:`~fsttopo.output_dir.staged_output`): an interrupted run leaves the previous output as
    it was. ``resume`` keeps the outputs of files whose inputs, ``identity`` (what the aligner was
    loaded from, e.g. ``{"model": file_identity(path)}``; required) and options are those of the
    previous run's manifest, and aligns the rest. Nothing holds all alignments: memory does not grow
    with the corpus but for a small row per file."""
    from tqdm import tqdm

    if resume and identity is None:
        raise ValueError("resume needs the identity of the model (and lexicon) to tell whether outputs are up to date")
    if not max_duration > 0:
        raise ValueError(f"max_duration must be > 0 seconds, got {max_duration}")
    root = Path(directory)
    if root.resolve().is_relative_to(Path(out_dir).resolve()):
        raise ValueError(f"the corpus {root} is inside the output directory {out_dir}, which is replaced as a whole")
    utterances, scan_problems = scan_directory(root)
    entries = sorted([*utterances, *scan_problems], key=lambda e: _path_order(e.file))
    settings = run_settings(aligner.align_options, identity, options, channel)
    rows: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []

    def fail(problem: Problem) -> None:
        problems.append(problem)
        row = rows.setdefault(problem.file, {"status": "failed", "outputs": [], "reasons": [], "messages": []})
        row["reasons"].append(problem.reason)
        row["messages"].append(problem.message)

    with staged_output(out_dir, recover=resume) as stage:
        def tasks():
            """The shard's blocks as batches to align; the files failed or kept are settled here."""
            for _, block in shard_blocks(entries, shard, block_size):
                durations = {}
                for entry in block:
                    if isinstance(entry, Problem):
                        fail(entry)
                        continue
                    rows[entry.file] = {"inputs": input_fingerprint(root, [entry.audio, entry.transcript])}
                    previous, source = stage.previous_row(entry.file) or (None, None)
                    kept = (_previous_alignment(previous, source, entry, rows[entry.file]["inputs"], settings)
                            if resume else None)
                    if kept is not None:
                        for f in previous["outputs"]:
                            stage.keep(f, source)
                        rows[entry.file].update(status="skipped-up-to-date", outputs=previous["outputs"],
                                                reasons=[], messages=[], **row_conditions(previous))
                        stage.record(_row(entry.file, rows[entry.file], settings))
                        continue
                    check = check_utterance(checking_aligner(aligner), entry, options.get("oov"))
                    if check.problems:
                        rows[entry.file].update(status="failed", outputs=[], reasons=[], messages=[])
                        for p in check.problems:
                            fail(p)
                    else:
                        durations[entry] = check.info.duration
                yield (duration_batches(durations, max_duration) if durations else []), dict(options), channel

        for results in tqdm(map_blocks(_align_block, tasks(), aligner, jobs, threads), desc="aligning",
                            unit="block"):
            for utt, result, conditions in results:
                problem = result if isinstance(result, Problem) else _write_outputs(result, utt, stage.path)
                if problem is None:
                    rows[utt.file].update(status="aligned", outputs=output_files(utt), reasons=[], messages=[],
                                          **conditions, **({"aligned_by": result.model} if result.model else {}))
                    stage.record(_row(utt.file, rows[utt.file], settings))
                else:
                    rows[utt.file].update(status="failed", outputs=[], reasons=[], messages=[])
                    fail(problem)
        for file, row in rows.items():
            row.setdefault("inputs", input_fingerprint(root, [root / file]))
        write_manifest([_row(f, rows[f], settings) for f in sorted(rows)], stage.path)
        write_summaries(stage.path, rows)
        if shard.count > 1:
            write_shard_info(stage.path, "align-dir", shard, block_size, max_duration)
    problems.sort(key=lambda p: p.file)
    kept = sum(r["status"] == "skipped-up-to-date" for r in rows.values())
    aligned = sum(r["status"] == "aligned" for r in rows.values())
    counts = condition_counts(rows.values())
    return DirectoryResult(Path(out_dir), problems, aligned, kept, len(rows), counts["noisy_db"],
                           counts["band_limited_db"], counts["clipped_percent"], counts["reverb_asymmetry"],
                           robust_count(rows.values()))
