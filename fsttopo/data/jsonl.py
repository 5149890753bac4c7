"""Gzipped JSON-lines files written the same byte for byte by the same lines: the gzip header holds
no time or name (:class:`gzip.GzipFile` stores the current time by default), so shards merged by
``fsttopo merge-alignments`` give the file one process writes."""

from __future__ import annotations

import gzip
import io
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, TextIO

__all__ = ["open_gzip_text_writer", "read_gzip_lines"]


@contextmanager
def open_gzip_text_writer(path: str | Path) -> Iterator[TextIO]:
    """A UTF-8 text stream into a gzip file at ``path`` (mtime 0, no file name in the header)."""
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz, \
            io.TextIOWrapper(gz, encoding="utf-8", newline="\n") as text:
        yield text


def read_gzip_lines(path: str | Path) -> Iterator[str]:
    """The lines of a gzipped UTF-8 text file, each with its ``\\n``, read lazily."""
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as f:
        yield from f
