"""Splitting a corpus over machines (``--shard i/n``, or torchrun's ``RANK``/``WORLD_SIZE``) and over
worker processes (``--jobs``) so that every split writes the alignments one process would.

The items of a corpus (the audio files of a directory in path order, the cuts of a manifest in its
order) are cut into consecutive *blocks* of :data:`BLOCK_SIZE` items; each block is batched on its
own (by duration, within the block). Shard ``i`` of ``n`` (0-based, as torchrun's ranks) takes the
blocks ``i, i + n, i + 2n, ...``; worker processes take a shard's blocks in turn. An utterance is thus
always batched with the same others, whatever the shards and jobs: the alignments, whose last bits
depend on the batch (padding changes the order of the floating-point sums), come out the same.

A shard's output directory holds :data:`SHARD_FILE`, which ``fsttopo merge-alignments`` checks and
uses to put the shards' outputs back into the corpus order.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, TypeVar

from .data.atomic import write_text_atomic

__all__ = ["BLOCK_SIZE", "SHARD_FILE", "Shard", "UNSHARDED", "parse_shard", "resolve_shard", "shard_blocks",
           "shard_output_dir", "local_device", "write_shard_info", "read_shard_info"]

BLOCK_SIZE = 256
"""Items (audio files, cuts) per block: enough to sort a block's items into batches of similar
durations, few enough that a shard's blocks spread over its worker processes."""

SHARD_FILE = "shard.json"

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (0-based) of ``count``."""

    index: int
    count: int

    def __post_init__(self):
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index}/{self.count}: the index is 0-based and must be below the count "
                             f"(0/{max(self.count, 1)} to {max(self.count, 1) - 1}/{max(self.count, 1)})")

    @property
    def name(self) -> str:
        """``shard-I-of-N``: the shard's output directory below ``--out``."""
        return f"shard-{self.index}-of-{self.count}"

    def owns(self, block: int) -> bool:
        """Whether block number ``block`` (0-based, in corpus order) is this shard's."""
        return block % self.count == self.index


UNSHARDED = Shard(0, 1)


def parse_shard(text: str) -> Shard:
    """``"i/n"`` (0-based ``i``: ``0/2`` and ``1/2`` are the two halves) -> :class:`Shard`;
    ValueError naming the problem."""
    parts = text.split("/")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"--shard {text!r}: expected INDEX/COUNT with a 0-based index, e.g. 0/4 ... 3/4")
    return Shard(int(parts[0]), int(parts[1]))


def resolve_shard(text: str | None, environ: Mapping[str, str] = os.environ) -> Shard:
    """The shard of this process: ``--shard`` when given, else torchrun's ``RANK`` of ``WORLD_SIZE``
    when both are set, else :data:`UNSHARDED`."""
    if text is not None:
        return parse_shard(text)
    if "RANK" in environ and "WORLD_SIZE" in environ:
        try:
            return Shard(int(environ["RANK"]), int(environ["WORLD_SIZE"]))
        except ValueError as err:
            raise ValueError(f"RANK={environ['RANK']!r}, WORLD_SIZE={environ['WORLD_SIZE']!r} (torchrun): {err}") \
                from None
    return UNSHARDED


def shard_output_dir(out: str | Path, shard: Shard) -> Path:
    """Where a shard writes: ``out`` itself unsharded, else ``out/shard-I-of-N``."""
    return Path(out) if shard.count == 1 else Path(out) / shard.name


def local_device(device: str, environ: Mapping[str, str] = os.environ) -> str:
    """``"cuda"`` under torchrun (``LOCAL_RANK`` set) -> that rank's GPU, ``cuda:LOCAL_RANK`` modulo the
    GPUs present; any other device as given."""
    if device != "cuda" or "LOCAL_RANK" not in environ:
        return device
    import torch

    count = torch.cuda.device_count()
    return f"cuda:{int(environ['LOCAL_RANK']) % count}" if count else device


def shard_blocks(items: Iterable[T], shard: Shard, block_size: int = BLOCK_SIZE) -> Iterator[tuple[int, list[T]]]:
    """The shard's blocks of ``items`` as ``(block number, items)``, read lazily (the other blocks'
    items are passed over, not kept)."""
    if block_size < 1:
        raise ValueError(f"block size must be >= 1 item, got {block_size}")
    block, current = 0, []
    for position, item in enumerate(items):
        if position and position % block_size == 0:
            if current:
                yield block, current
            block, current = block + 1, []
        if shard.owns(block):
            current.append(item)
    if current:
        yield block, current


def write_shard_info(directory: str | Path, kind: str, shard: Shard, block_size: int, max_duration: float,
                     **extra: Any) -> Path:
    """Write :data:`SHARD_FILE`: what ``merge-alignments`` needs to check and merge the shards."""
    info = {"kind": kind, "shard": shard.index, "shards": shard.count, "block_size": block_size,
            "max_duration": max_duration, **extra}
    return write_text_atomic(Path(directory) / SHARD_FILE, json.dumps(info) + "\n")


def read_shard_info(directory: str | Path) -> dict[str, Any]:
    """The :data:`SHARD_FILE` of a shard's output; ValueError when there is none."""
    path = Path(directory) / SHARD_FILE
    if not path.is_file():
        raise ValueError(f"{directory} is not the output of a sharded run (no {SHARD_FILE}; give the "
                         "OUT/shard-I-of-N directories of align-dir or align-cuts --shard)")
    return json.loads(path.read_text(encoding="utf-8"))
