"""An output directory replaced as a whole, with a manifest of what produced each file.

A run builds its outputs in a temporary sibling ``OUT.partial-XXXX`` and swaps it in for ``OUT`` at
the end, so a run interrupted at any point (Ctrl-C, an exception, a crash) leaves the previous
complete output untouched, and outputs of files that now fail do not survive. ``manifest.jsonl``
marks a directory as written by fsttopo: a non-empty ``OUT`` without one is not replaced.

As each item's outputs are written, its row goes into the partial directory's ``progress.jsonl``.
A run that was interrupted after finishing some items leaves its partial directory behind; a run
with ``recover`` (``--resume``) takes the finished items from there as well as from ``OUT``, and
a run that completes removes such leftovers.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from .data.alignment import UtteranceAlignment
from .data.atomic import write_text_atomic
from .data.corpus_dir import tsv_field

__all__ = ["MANIFEST", "NOISY_LIST", "BAND_LIMITED_LIST", "REVERBERANT_LIST", "CLIPPED_LIST", "CONDITION_LISTS", "StagedOutput", "staged_output",
           "read_manifest", "write_manifest", "row_conditions", "write_condition_lists", "condition_counts",
           "file_identity", "input_fingerprint", "robust_count", "run_settings", "up_to_date", "link_or_copy"]

MANIFEST = "manifest.jsonl"
PROGRESS = "progress.jsonl"


def file_identity(path: str | Path) -> dict[str, str]:
    """A file's path and SHA-256: what a manifest records of a model or lexicon file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"path": str(Path(path).resolve()), "sha256": digest.hexdigest()}


def input_fingerprint(root: str | Path, paths: Iterable[Path]) -> dict[str, list[int]]:
    """``relative path -> [size, mtime_ns]`` of input files: changes when a file is edited or replaced."""
    out = {}
    for path in paths:
        stat = path.stat()
        out[path.relative_to(root).as_posix()] = [stat.st_size, stat.st_mtime_ns]
    return out


def run_settings(align_options: Mapping[str, Any], identity: Mapping[str, Any] | None,
                 options: Mapping[str, Any], channel: int | None = None) -> dict[str, Any]:
    """What the outputs depend on besides the inputs, as JSON values: the model (and lexicon)
    ``identity``, the alignment options in effect (the model's stored ``align_options``
    overridden by the given ``options``) and the audio ``channel`` aligned (only when one was
    chosen, so that the manifests of runs on the mean of the channels stay as they were)."""
    used = {**align_options, **{k: v for k, v in options.items() if v is not None}}
    return json.loads(json.dumps({"model": identity, "options": used,
                                  **({"channel": channel} if channel is not None else {})}, sort_keys=True))


def up_to_date(row: Mapping[str, Any] | None, source: Path | None, inputs: Any, settings: Mapping[str, Any]) -> bool:
    """Whether an earlier run's manifest ``row`` (its outputs in ``source``) still holds: aligned (or
    kept) from the same ``inputs``, model and options (:func:`run_settings`), every output present."""
    return (row is not None and row.get("status") in ("aligned", "skipped-up-to-date") and row.get("inputs") == inputs
            and {k: row[k] for k in ("model", "options", "channel") if k in row} == settings
            and all((source / f).is_file() for f in row.get("outputs", ())))


def read_manifest(directory: str | Path) -> dict[str, dict[str, Any]] | None:
    """The rows of ``directory/manifest.jsonl`` by their ``file``; None when there is none.
    ValueError naming the line of a row that is not a JSON object with a ``file``."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return None
    rows = {}
    for num, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{num}: not JSON ({err})") from err
        if not isinstance(row, dict) or "file" not in row:
            raise ValueError(f"{path}:{num}: expected a JSON object with a 'file' key")
        rows[row["file"]] = row
    return rows


def write_manifest(rows: Iterable[Mapping[str, Any]], directory: str | Path) -> Path:
    """Write one JSON object per line into ``directory/manifest.jsonl`` (atomically)."""
    return write_text_atomic(Path(directory) / MANIFEST,
                             "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


class StagedOutput:
    """The directory a run writes into (:attr:`path`, ``OUT.partial-XXXX``), with what earlier runs
    finished: the previous complete output's manifest rows and, with ``recover``, the rows of
    interrupted runs' partial directories (newer ones win), each with the directory holding its
    outputs (:meth:`previous_row`). From :func:`staged_output`."""

    def __init__(self, target: Path, path: Path, previous_manifest: dict[str, dict[str, Any]] | None,
                 recovered: Iterable[tuple[Path, list[dict[str, Any]]]] = ()):
        self.target = target
        self.path = path
        self._rows: dict[str, tuple[dict[str, Any], Path]] = {
            file: (row, target) for file, row in (previous_manifest or {}).items()}
        self.recovered: list[Path] = []
        for directory, rows in recovered:
            self.recovered.append(directory)
            self._rows.update((row["file"], (row, directory)) for row in rows)
        self._progress = open(path / PROGRESS, "a", encoding="utf-8")
        self.recorded = 0

    def previous_row(self, file: str) -> tuple[dict[str, Any], Path] | None:
        """The latest finished row of ``file`` from an earlier run and the directory of its outputs."""
        return self._rows.get(file)

    def keep(self, relative: str, source: Path) -> None:
        """Carry the file ``source/relative`` of an earlier run over unchanged (a hard link where
        possible, else a copy)."""
        link_or_copy(source / relative, self.path / relative)

    def record(self, row: Mapping[str, Any]) -> None:
        """Note an item whose outputs are written (its manifest row), so that an interrupted run's
        work can be taken up again."""
        self._progress.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._progress.flush()
        self.recorded += 1

    def close(self) -> None:
        self._progress.close()


NOISY_LIST = "noisy.tsv"
"""The recordings of an output directory that look noisy: ``file<TAB>dynamic range dB`` per line."""
BAND_LIMITED_LIST = "band_limited.tsv"
"""The recordings of an output directory that look band-limited: ``file<TAB>upper band dB`` per line."""
REVERBERANT_LIST = "reverberant.tsv"
"""The recordings of an output directory that look reverberant: ``file<TAB>decay asymmetry`` per line."""
CLIPPED_LIST = "clipped.tsv"
"""The recordings of an output directory that look clipped: ``file<TAB>clipped share %`` per line."""
CONDITION_LISTS = {"noisy_db": NOISY_LIST, "band_limited_db": BAND_LIMITED_LIST, "reverb_asymmetry": REVERBERANT_LIST,
                   "clipped_percent": CLIPPED_LIST}
"""The list file of each manifest key of :data:`fsttopo.inference.recording_check.CONDITION_KEYS`."""


def row_conditions(row: Mapping[str, Any] | None) -> dict[str, float | str]:
    """The condition entries (keys of :data:`CONDITION_LISTS`) a manifest row holds, and the
    model that aligned it (``aligned_by``) where the model was chosen per recording (``--model auto``): what a
    run that keeps the row's outputs keeps with them."""
    return {key: row[key] for key in (*CONDITION_LISTS, "aligned_by") if row is not None and row.get(key) is not None}


def robust_count(rows: Iterable[Mapping[str, Any]]) -> int:
    """How many manifest ``rows`` the robust model aligned, chosen per recording (``--model auto``)."""
    return sum(r.get("aligned_by") == "robust" for r in rows)


def write_condition_lists(rows: Iterable[Mapping[str, Any]], directory: str | Path) -> list[Path]:
    """Write the list of each condition (:data:`CONDITION_LISTS`: ``noisy.tsv``, ``band_limited.tsv``,
    ``reverberant.tsv``, ``clipped.tsv``) into ``directory`` from manifest ``rows`` (in the given
    order): each row with that condition's key (:mod:`fsttopo.inference.recording_check`), by its
    ``file`` and the measure (dB, a ratio for reverberation, % for clipping), tab and newline
    escaped as in ``failed.tsv``. Each is written (empty) when no row has it, so that no list of an
    earlier run survives."""
    rows = list(rows)
    paths = []
    for key, name in CONDITION_LISTS.items():
        paths.append(Path(directory) / name)
        decimals = 2 if key == "reverb_asymmetry" else 1  # as each measure is reported
        write_text_atomic(paths[-1], "".join(f"{tsv_field(r['file'])}\t{r[key]:.{decimals}f}\n" for r in rows
                                             if r.get(key) is not None))
    return paths


def condition_counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many manifest ``rows`` have each condition key of :data:`CONDITION_LISTS`."""
    rows = list(rows)
    return {key: sum(key in row_conditions(r) for r in rows) for key in CONDITION_LISTS}


UNCERTAIN_LIST = "uncertain_words.tsv"
UNCERTAIN_SHARE = 0.02
"""Share of a corpus's words that :data:`UNCERTAIN_LIST` lists: those whose boundary spread
(:attr:`~fsttopo.data.alignment.TimedToken.start_sd`, ``end_sd``) is widest, the word times most
likely to be far off (docs/alignment.md, "Boundary spread")."""

UncertainWord = tuple[float, str, int, str, float, float]
"""(widest boundary spread in seconds, utterance id, word index, word, start, end)."""


def uncertain_words(alignment: UtteranceAlignment) -> list[UncertainWord]:
    """The words of ``alignment`` that have boundary spreads, each with the wider of its two."""
    return [(w.boundary_sd, alignment.utterance_id, i, w.symbol, w.start, w.end)
            for i, w in enumerate(alignment.words) if w.boundary_sd is not None]


def write_uncertain_list(words: Iterable[UncertainWord], directory: str | Path) -> Path:
    """Write :data:`UNCERTAIN_LIST` into ``directory``: the :data:`UNCERTAIN_SHARE` of ``words``
    (:func:`uncertain_words` of a run's alignments) with the widest spread, widest first (ties by
    utterance and word), as ``spread ms, utterance id, word index, word, start, end`` (ids and words
    escaped as in ``failed.tsv``). Written (empty) when no word has a spread (Viterbi), so that no
    list of an earlier run survives."""
    ranked = sorted(words, key=lambda w: (-w[0], w[1], w[2]))
    widest = ranked[:math.ceil(UNCERTAIN_SHARE * len(ranked))]
    path = Path(directory) / UNCERTAIN_LIST
    write_text_atomic(path, "".join(f"{sd * 1000:.1f}\t{tsv_field(utt)}\t{i}\t{tsv_field(word)}\t{start:.3f}\t{end:.3f}\n"
                                    for sd, utt, i, word, start, end in widest))
    return path


def link_or_copy(source: Path, dest: Path) -> None:
    """Put the file ``source`` at ``dest`` (parents created): a hard link where possible, else a copy."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, dest)
    except OSError:  # another file system, or links not supported
        shutil.copy2(source, dest)


def _check_replaceable(target: Path) -> dict[str, dict[str, Any]] | None:
    """The previous manifest of ``target``; ValueError when ``target`` is not ours to replace."""
    if target.exists() and not target.is_dir():
        raise ValueError(f"output {target} exists and is not a directory")
    manifest = read_manifest(target) if target.is_dir() else None
    if manifest is None and target.is_dir() and any(target.iterdir()):
        raise ValueError(f"output directory {target} is not empty and has no {MANIFEST} (it was not written by "
                         "fsttopo align-dir, align-cuts or merge-alignments); refusing to replace it: give another "
                         "--out or empty it")
    return manifest


def _swap(staged: Path, target: Path) -> None:
    """Put ``staged`` in place of ``target``: rename the old one aside, rename the new one in, then
    delete the old one (a directory cannot be renamed over a non-empty one in one step)."""
    if not target.exists():
        os.rename(staged, target)
        return
    old = target.with_name(staged.name.replace(".partial-", ".old-", 1))
    os.rename(target, old)
    try:
        os.rename(staged, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old)


def _interrupted_runs(target: Path) -> list[Path]:
    """The partial directories beside ``target`` that interrupted runs left (with a progress file), oldest first."""
    found = [p for p in target.parent.glob(f"{target.name}.partial-*") if (p / PROGRESS).is_file()]
    return sorted(found, key=lambda p: (p / PROGRESS).stat().st_mtime_ns)


def _progress_rows(directory: Path) -> list[dict[str, Any]]:
    """The rows of an interrupted run's progress file whose outputs are all there (a killed run may
    have left a half-written last line: it is skipped)."""
    rows = []
    for line in (directory / PROGRESS).read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and "file" in row and all((directory / f).is_file() for f in row.get("outputs", ())):
            rows.append(row)
    return rows


@contextmanager
def staged_output(target: str | Path, recover: bool = False) -> Iterator[StagedOutput]:
    """Build a new version of the directory ``target`` and swap it in when the block ends without an
    error. On an error (KeyboardInterrupt included) ``target`` stays as it was, and the partial
    directory is removed, unless items were recorded in it (:meth:`StagedOutput.record`): then it
    stays for a run with ``recover``, which takes up its finished items. A run that completes
    removes the partial directories of interrupted runs. ValueError when ``target`` is a non-empty
    directory without a manifest (not written by fsttopo) or a file."""
    target = Path(target).resolve()  # "." or "out/" have no usable name or parent for the sibling
    previous = _check_replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    leftovers = _interrupted_runs(target)
    staged = Path(tempfile.mkdtemp(dir=target.parent, prefix=f"{target.name}.partial-"))
    stage = None
    try:
        stage = StagedOutput(target, staged, previous, [(d, _progress_rows(d)) for d in leftovers] if recover else ())
        yield stage
        stage.close()
        (staged / PROGRESS).unlink()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staged, 0o777 & ~umask)  # mkdtemp makes it private
        _swap(staged, target)
    except BaseException:
        if stage is not None:
            stage.close()
        if stage is None or not stage.recorded:
            shutil.rmtree(staged, ignore_errors=True)
        raise
    for directory in leftovers:
        shutil.rmtree(directory, ignore_errors=True)
