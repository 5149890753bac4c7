"""``fsttopo merge-alignments``: the outputs of the shards of one ``align-dir`` or ``align-cuts`` run
(``--shard i/n`` or torchrun, :mod:`fsttopo.shards`) put together into what one unsharded run writes,
file for file and byte for byte. Per-file outputs are hard-linked where possible (else copied); the
lists (manifest, CTM, cuts) are merged as streams, in the corpus order."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from .cut_corpus import ALIGNED_CUTS
from .output_dir import (link_or_copy, read_manifest, staged_output, uncertain_words, write_manifest, write_condition_lists,
                         write_uncertain_list)
from .shards import read_shard_info

__all__ = ["merge_alignments"]

_SAME = ("kind", "shards", "block_size", "max_duration")


def _check_shards(shard_dirs: Sequence[Path], infos: Sequence[dict[str, Any]]) -> None:
    """ValueError unless the directories are every shard of one run, each once."""
    if not shard_dirs:
        raise ValueError("give the output directories of the shards (OUT/shard-I-of-N)")
    for key in _SAME:
        values = {str(info.get(key)) for info in infos}
        if len(values) > 1:
            raise ValueError(f"the shards differ in {key} ({', '.join(sorted(values))}): they are not one run")
    count = infos[0]["shards"]
    found = sorted(info["shard"] for info in infos)
    if found != list(range(count)):
        missing = sorted(set(range(count)) - set(found))
        twice = sorted({i for i in found if found.count(i) > 1})
        raise ValueError(f"expected shards 0 to {count - 1} of {count} once each"
                         + (f"; missing {missing}" if missing else "") + (f"; given twice {twice}" if twice else ""))


def merge_alignments(shard_dirs: Sequence[str | Path], out_dir: str | Path) -> str:
    """Merge the shard output directories into ``out_dir`` and return the run's kind
    (``"align-dir"`` or ``"align-cuts"``). ValueError when they are not all the shards of one run."""
    dirs = [Path(d) for d in shard_dirs]
    infos = [read_shard_info(d) for d in dirs]
    _check_shards(dirs, infos)
    out = Path(out_dir)
    if any(out.resolve() == d.resolve() for d in dirs):
        raise ValueError(f"the merged output {out} cannot be one of the shards")
    order = sorted(range(len(dirs)), key=lambda i: infos[i]["shard"])
    dirs, infos = [dirs[i] for i in order], [infos[i] for i in order]
    if infos[0]["kind"] == "align-dir":
        _merge_directories(dirs, out)
    else:
        _merge_cuts(dirs, infos, out)
    return infos[0]["kind"]


def _merge_directories(dirs: Sequence[Path], out: Path) -> None:
    from .directory import write_summaries

    with staged_output(out) as stage:
        rows: dict[str, dict[str, Any]] = {}
        for directory in dirs:
            for file, row in (read_manifest(directory) or {}).items():
                if file in rows:
                    raise ValueError(f"{file} is in two shards' manifests (the second: {directory})")
                for output in row.get("outputs", ()):
                    link_or_copy(directory / output, stage.path / output)
                rows[file] = row
        write_manifest([rows[f] for f in sorted(rows)], stage.path)
        write_summaries(stage.path, rows)


def _merge_cuts(dirs: Sequence[Path], infos: Sequence[dict[str, Any]], out: Path) -> None:
    from .data.export import read_json
    from .data.jsonl import open_gzip_text_writer, read_gzip_lines

    blocks = sorted((number, aligned, failed, shard) for shard, info in enumerate(infos)
                    for number, aligned, failed in info["blocks"])
    cuts = [read_gzip_lines(d / ALIGNED_CUTS) for d in dirs]
    # rows end in "\n" only (write_problems escapes the rest; str.splitlines would split more)
    failed_rows = [iter(line + "\n" for line in (d / "failed.tsv").read_text(encoding="utf-8").split("\n")[1:-1])
                   for d in dirs]
    manifests = []
    for directory in dirs:
        manifest = read_manifest(directory)
        if manifest is None:
            raise ValueError(f"{directory} has no manifest.jsonl (written by an older fsttopo): align its shard again")
        manifests.append(iter(manifest.values()))

    def take(lines, count: int, shard: int, what: str) -> list:
        taken = [line for _, line in zip(range(count), lines)]
        if len(taken) < count:
            raise ValueError(f"{dirs[shard]}: fewer {what} than its {dirs[shard] / 'shard.json'} counts")
        return taken

    with staged_output(out) as stage:
        failed_out, rows = ["file\treason\tmessage\n"], []
        with open_gzip_text_writer(stage.path / ALIGNED_CUTS) as writer:
            for _, aligned, failed, shard in blocks:
                writer.writelines(take(cuts[shard], aligned, shard, "aligned cuts"))
                failed_out += take(failed_rows[shard], failed, shard, "failed cuts")
                for row in take(manifests[shard], aligned + failed, shard, "manifest rows"):
                    for output in row.get("outputs", ()):
                        link_or_copy(dirs[shard] / output, stage.path / output)
                    rows.append(row)
        for shard, rest in enumerate(cuts):
            if next(rest, None) is not None or next(manifests[shard], None) is not None:
                raise ValueError(f"{dirs[shard]}: more aligned cuts or manifest rows than its shard.json counts")
        (stage.path / "failed.tsv").write_text("".join(failed_out), encoding="utf-8")
        write_manifest(rows, stage.path)
        write_condition_lists(rows, stage.path)
        write_uncertain_list((w for row in rows for output in row.get("outputs", ())[:1]
                              for w in uncertain_words(read_json(stage.path / output)[0])), stage.path)
