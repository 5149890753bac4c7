"""Aligning a Lhotse CutSet of any size (``fsttopo align-cuts``): the cuts are read lazily, aligned in
blocks (:mod:`fsttopo.shards`: a shard's share, over ``jobs`` worker processes) and written as each
block finishes; nothing holds all cuts or alignments."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import torch

from .aligner import Aligner
from .audio_batches import duration_batches
from .batch_align import align_or_each
from .data.alignment import UtteranceAlignment
from .data.corpus_dir import Problem, write_problems
from .shards import BLOCK_SIZE, UNSHARDED, Shard, shard_blocks, write_shard_info
from .workers import map_blocks

__all__ = ["CutOutcome", "CutsResult", "ALIGNED_CUTS", "iter_cut_alignments", "align_cuts_to_dir"]

ALIGNED_CUTS = "cuts_aligned.jsonl.gz"


@dataclass(frozen=True)
class CutOutcome:
    """One cut of :func:`iter_cut_alignments`: its alignment (times relative to the recording) or the
    problem that stopped it (``file`` holds the cut id), and the number of its block."""

    cut: Any
    block: int
    alignment: UtteranceAlignment | None
    problem: Problem | None


@dataclass
class CutsResult:
    """What :func:`align_cuts_to_dir` did: cuts aligned, the problems of the others (by cut id), cuts
    seen (this shard's)."""

    out_dir: Path
    aligned: int
    problems: list[Problem]
    cuts: int


def _cut_text(cut) -> str:
    """The words of a cut's single supervision; ValueError when it has none, several or no text."""
    if len(cut.supervisions) != 1:
        raise ValueError(f"the cut has {len(cut.supervisions)} supervisions; align-cuts aligns one per cut")
    text = cut.supervisions[0].text
    if not text or not text.strip():
        raise ValueError(f"supervision {cut.supervisions[0].id!r} has no text")
    return text


def _align_cut_block(aligner: Aligner, task: tuple[list, float, dict[str, Any]]
                     ) -> list[UtteranceAlignment | Problem]:
    """Align a block of cuts (a worker's task): per cut its alignment or its problem, in order."""
    cuts, max_duration, options = task
    results: list[UtteranceAlignment | Problem | None] = [None] * len(cuts)
    durations = {}
    for i, cut in enumerate(cuts):
        try:
            _cut_text(cut)
            durations[i] = cut.duration
        except ValueError as err:
            results[i] = Problem(cut.id, "bad-cut", str(err))
    for batch in duration_batches(durations, max_duration) if durations else []:
        features = {}  # loaded per batch: a block of long cuts does not fit in memory at once
        for i in batch:
            try:
                features[i] = torch.from_numpy(cuts[i].load_features()).float()
            except Exception as err:  # any storage backend's error: the cut is reported, the rest go on
                results[i] = Problem(cuts[i].id, "unreadable-features", f"{type(err).__name__}: {err}")
        ready = [i for i in batch if i in features]
        if not ready:
            continue
        aligned = align_or_each(aligner, [features[i] for i in ready], [_cut_text(cuts[i]) for i in ready],
                                [cuts[i].supervisions[0].id for i in ready], options,
                                offsets=[cuts[i].start for i in ready])
        for i, result in zip(ready, aligned):
            results[i] = result if isinstance(result, UtteranceAlignment) else \
                Problem(cuts[i].id, result.reason, result.message)
    return results


def iter_cut_alignments(aligner: Aligner, cuts: Iterable, max_duration: float = 200.0, *, shard: Shard = UNSHARDED,
                        jobs: int = 1, threads: int | None = None, block_size: int = BLOCK_SIZE,
                        **options) -> Iterator[CutOutcome]:
    """Align the cuts (features attached, one supervision each; read lazily, e.g. from
    ``lhotse.load_manifest_lazy``) of ``shard`` in batches of up to ``max_duration`` seconds formed
    within blocks of ``block_size`` cuts, over ``jobs`` worker processes (``threads`` each), and yield
    each cut's :class:`CutOutcome` in the manifest's order, a block at a time, with a progress bar.
    A cut that cannot be aligned is reported and the others go on. A cut's alignment is the same for
    any ``shard`` and ``jobs`` at the same ``block_size``, ``max_duration`` and threads per process.
    ``options`` go to :meth:`Aligner.align`."""
    from tqdm import tqdm

    if not max_duration > 0:
        raise ValueError(f"max_duration must be > 0 seconds, got {max_duration}")
    in_flight: deque[tuple[int, list]] = deque()  # the blocks handed out and not yet written

    def tasks():
        for number, block in shard_blocks(cuts, shard, block_size):
            in_flight.append((number, block))
            yield block, max_duration, dict(options)

    for results in tqdm(map_blocks(_align_cut_block, tasks(), aligner, jobs, threads), desc="aligning", unit="block"):
        number, block = in_flight.popleft()
        for cut, result in zip(block, results):
            yield CutOutcome(cut, number, result if isinstance(result, UtteranceAlignment) else None,
                             result if isinstance(result, Problem) else None)


def align_cuts_to_dir(aligner: Aligner, cuts: Iterable, out_dir: str | Path, max_duration: float = 200.0, *,
                      shard: Shard = UNSHARDED, jobs: int = 1, threads: int | None = None,
                      block_size: int = BLOCK_SIZE, **options) -> CutsResult:
    """:func:`iter_cut_alignments`, written into ``out_dir`` as each block finishes:

    - ``cuts_aligned.jsonl.gz``: the aligned cuts in the manifest's order, each alignment in its
      supervision's ``alignment`` (``word``, ``phone``); built in a temporary file that replaces the
      old one at the end (an interrupted run leaves the previous file);
    - ``json/SUPERVISION_ID.json`` per aligned cut (:func:`~fsttopo.data.export.write_json`);
    - ``failed.tsv``: ``file, reason, message`` per cut not aligned, ``file`` holding the cut id;
    - with ``shard`` of more than one, ``shard.json``: the blocks and how many cuts of each were
      aligned and failed, for ``merge-alignments``."""
    from .data.atomic import atomic_path
    from .data.export import write_json_dir
    from .data.jsonl import open_gzip_text_writer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    problems: list[Problem] = []
    counts: dict[int, list[int]] = {}  # block number -> [aligned, failed]
    seen = 0
    with atomic_path(out / ALIGNED_CUTS) as tmp, open_gzip_text_writer(tmp) as writer:
        for outcome in iter_cut_alignments(aligner, cuts, max_duration, shard=shard, jobs=jobs, threads=threads,
                                           block_size=block_size, **options):
            seen += 1
            counts.setdefault(outcome.block, [0, 0])
            problem = outcome.problem
            if problem is None:
                ali = outcome.alignment
                try:
                    write_json_dir([ali], out / "json")
                except ValueError as err:
                    problem = Problem(outcome.cut.id, "align-error", f"cannot write the alignment: {err}")
            if problem is not None:
                problems.append(problem)
                counts[outcome.block][1] += 1
                continue
            cut = outcome.cut.map_supervisions(lambda s: ali.to_supervision(s) if s.id == ali.utterance_id else s)
            writer.write(json.dumps(cut.to_dict(), ensure_ascii=False) + "\n")
            counts[outcome.block][0] += 1
    write_problems(problems, out / "failed.tsv")
    if shard.count > 1:
        write_shard_info(out, "align-cuts", shard, block_size, max_duration,
                         blocks=[[number, *counts[number]] for number in sorted(counts)])
    return CutsResult(out, seen - len(problems), problems, seen)
