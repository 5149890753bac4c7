"""Align a directory of recordings with transcripts beside them (the layout of Montreal Forced
Aligner corpora, :mod:`fsttopo.corpus_check`); outputs mirror the input tree.

Every audio file is accounted for: aligned, failed (with its reason in ``failed.tsv``) or kept up to
date from the previous run (``resume``), each one a row of ``manifest.jsonl``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .aligner import Aligner, compute_features
from .audio_batches import duration_batches
from .corpus_check import (DirectoryUtterance, Problem, check_utterance, scan_directory, tsv_field,
                           write_problems)
from .data.alignment import UtteranceAlignment
from .engine import NoPathError
from .output_dir import StagedOutput, input_fingerprint, staged_output, write_manifest

__all__ = ["DirectoryResult", "align_directory", "output_files"]


@dataclass
class DirectoryResult:
    """What :func:`align_directory` did.

    Attributes:
        alignments: the alignments in the output, by file path (aligned now or kept).
        problems: the files not aligned, with their reasons (as in ``failed.tsv``).
        aligned: files aligned by this run.
        kept: files whose previous outputs were up to date (``resume``).
        files: audio files found.
    """

    alignments: list[UtteranceAlignment]
    problems: list[Problem]
    aligned: int
    kept: int
    files: int

    @property
    def failed_files(self) -> list[str]:
        """The files not aligned, sorted."""
        return sorted({p.file for p in self.problems})


def output_files(utterance: DirectoryUtterance) -> list[str]:
    """The outputs of an utterance, relative to the output directory: its relative path with the
    audio suffix replaced (``spk/utt.1.wav`` -> ``spk/utt.1.json``, ``spk/utt.1.TextGrid``)."""
    return [utterance.relative + ".json", utterance.relative + ".TextGrid"]


def _settings(aligner: Aligner, identity: Mapping[str, Any] | None, options: Mapping[str, Any]) -> dict[str, Any]:
    """What the outputs depend on besides the inputs, as JSON values: the model (and lexicon)
    identity and the alignment options in effect (the model's stored ones overridden by the given)."""
    used = {**aligner.align_options, **{k: v for k, v in options.items() if v is not None}}
    return json.loads(json.dumps({"model": identity, "options": used}, sort_keys=True))


def _previous_alignment(row: Mapping[str, Any] | None, utt: DirectoryUtterance, inputs: Mapping[str, Any],
                        settings: Mapping[str, Any], stage: StagedOutput) -> UtteranceAlignment | None:
    """The previous run's alignment of ``utt`` when its outputs are up to date: its manifest row says
    aligned (or kept) from the same inputs, model and options, and its outputs exist and read back."""
    from .data.export import read_json

    if (row is None or row.get("status") not in ("aligned", "skipped-up-to-date") or row.get("inputs") != inputs
            or {"model": row.get("model"), "options": row.get("options")} != settings or stage.previous is None
            or not all((stage.previous / f).is_file() for f in row.get("outputs", ()))):
        return None
    try:
        return read_json(stage.previous / output_files(utt)[0])[0]
    except ValueError:  # damaged since: align the file again
        return None


def _align_batch(aligner: Aligner, batch: list[DirectoryUtterance], options: Mapping[str, Any]
                 ) -> tuple[list[tuple[DirectoryUtterance, UtteranceAlignment]], list[Problem]]:
    """Align a batch; when it fails (an utterance without a path, or any other ValueError) its
    utterances are aligned one by one so that only the culprits fail."""
    features, problems = {}, []
    for utt in batch:
        try:
            features[utt] = compute_features(utt.audio)
        except ValueError as err:  # the header was readable, the samples are not
            problems.append(Problem(utt.file, "unreadable-audio", str(err)))
    ready = [u for u in batch if u in features]
    if len(ready) > 1:
        try:
            result = aligner.align([features[u] for u in ready], [u.text for u in ready],
                                   [u.utterance_id for u in ready], **options)
            return list(zip(ready, result.alignments)), problems
        except ValueError:
            pass  # find the culprits below
    done = []
    for utt in ready:
        try:
            done.append((utt, aligner.align([features[utt]], [utt.text], [utt.utterance_id], **options).alignments[0]))
        except NoPathError as err:
            problems.append(Problem(utt.file, "no-path", str(err)))
        except ValueError as err:
            problems.append(Problem(utt.file, "align-error", str(err)))
    return done, problems


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


def align_directory(aligner: Aligner, directory: str | Path, out_dir: str | Path, max_duration: float = 200.0, *,
                    resume: bool = False, identity: Mapping[str, Any] | None = None, **options) -> DirectoryResult:
    """Align every audio file under ``directory`` with its transcript and write into ``out_dir``:

    - ``REL.json`` and ``REL.TextGrid`` per file (:func:`output_files`: the input's relative path
      without its audio suffix; the utterance id is the same ``REL``);
    - ``alignments.ctm`` (word CTM of all, ids percent-encoded, :func:`~fsttopo.data.export.write_ctm`),
      ``confidence.tsv`` (``relative_confidence, file, flag, confidence`` by
      :attr:`~fsttopo.data.alignment.UtteranceAlignment.relative_confidence`, lowest first: the
      transcripts to check; flag ``low`` below the model's calibrated threshold, else ``ok``, empty
      without one);
    - ``failed.tsv``: ``file, reason, message`` of each file not aligned (reasons:
      :data:`fsttopo.corpus_check.REASONS`);
    - ``manifest.jsonl``: per audio file its status (``aligned``, ``failed`` or ``skipped-up-to-date``),
      reasons, outputs, the inputs' size and mtime, ``identity`` and the alignment options used.

    A file with a problem (:func:`~fsttopo.corpus_check.scan_directory`,
    :func:`~fsttopo.corpus_check.check_utterance`) is skipped; the others are aligned in batches of
    up to ``max_duration`` seconds of audio (longest first; features are computed per batch), with
    a progress bar; a batch that fails is aligned one by one. ``options`` go to
    :meth:`Aligner.align`.

    The output is built in ``OUT.partial-XXXX`` beside ``out_dir`` and replaces it at the end
    (:func:`~fsttopo.output_dir.staged_output`): an interrupted run leaves the previous output as
    it was. ``resume`` keeps the outputs of files whose inputs, ``identity`` (what the aligner was
    loaded from, e.g. ``{"model": file_identity(path)}``; required) and options are those of the
    previous run's manifest, and aligns the rest.

    A file's alignment does not depend on the batching (``max_duration``) nor on the other files:
    the prior is the model's own (:mod:`fsttopo.inference.scores`) and the model masks padding."""
    from tqdm import tqdm

    from .data.atomic import write_text_atomic
    from .data.export import write_ctm

    if resume and identity is None:
        raise ValueError("resume needs the identity of the model (and lexicon) to tell whether outputs are up to date")
    root = Path(directory)
    if root.resolve().is_relative_to(Path(out_dir).resolve()):
        raise ValueError(f"the corpus {root} is inside the output directory {out_dir}, which is replaced as a whole")
    utterances, problems = scan_directory(root)
    settings = _settings(aligner, identity, options)
    inputs = {u: input_fingerprint(root, [u.audio, u.transcript]) for u in utterances}
    alignments: dict[DirectoryUtterance, UtteranceAlignment] = {}
    rows: dict[str, dict[str, Any]] = {}
    with staged_output(out_dir) as stage:
        durations = {}
        for utt in utterances:
            previous = stage.previous_manifest.get(utt.file)
            kept = _previous_alignment(previous, utt, inputs[utt], settings, stage) if resume else None
            if kept is not None:
                for f in previous["outputs"]:
                    stage.keep(f)
                alignments[utt] = kept
                rows[utt.file] = {"status": "skipped-up-to-date", "outputs": previous["outputs"], "reasons": [],
                                  "messages": []}
                continue
            check = check_utterance(aligner, utt, options.get("oov"))
            if check.problems:
                problems += check.problems
            else:
                durations[utt] = check.info.duration
        batches = duration_batches(durations, max_duration) if durations else []
        for batch in tqdm(batches, desc="aligning", unit="batch"):
            done, failed = _align_batch(aligner, batch, options)
            problems += failed
            for utt, ali in done:
                problem = _write_outputs(ali, utt, stage.path)
                if problem is not None:
                    problems.append(problem)
                    continue
                alignments[utt] = ali
                rows[utt.file] = {"status": "aligned", "outputs": output_files(utt), "reasons": [], "messages": []}
        problems.sort(key=lambda p: p.file)
        for p in problems:
            row = rows.setdefault(p.file, {"status": "failed", "outputs": [], "reasons": [], "messages": []})
            row["reasons"].append(p.reason)
            row["messages"].append(p.message)
        fingerprints = {u.file: inputs[u] for u in utterances}
        write_manifest([{"file": f, **rows[f], "inputs": fingerprints.get(f) or input_fingerprint(root, [root / f]),
                         **settings} for f in sorted(rows)], stage.path)
        write_problems(problems, stage.path / "failed.tsv")
        ordered = [alignments[u] for u in utterances if u in alignments]
        write_ctm(ordered, stage.path / "alignments.ctm")
        scored = sorted((a.relative_confidence, a.utterance_id, {True: "low", False: "ok", None: ""}[a.low_confidence],
                         a.confidence) for a in ordered if a.relative_confidence is not None)
        write_text_atomic(stage.path / "confidence.tsv", "".join(f"{r:.4f}\t{tsv_field(utt)}\t{flag}\t{c:.4f}\n"
                                                                 for r, utt, flag, c in scored))
    kept = sum(r["status"] == "skipped-up-to-date" for r in rows.values())
    return DirectoryResult(ordered, problems, len(ordered) - kept, kept, len(rows))
