"""A per-user cache of values derived from a data file (e.g. the parsed CMUdict), so that a process
reads them in a fraction of the parse time.

The cache file is named after what it holds, the source file's path, size and modification time
and a format version: a changed or replaced source, or a new parser, gets a new file. Values are
stored with :mod:`marshal` (dicts, tuples and strings load 10-20 times faster than they parse).
Where the cache directory cannot be written (a read-only home), the value is built every time.
"""

from __future__ import annotations

import gc
import hashlib
import marshal
import os
from pathlib import Path
from typing import Any, Callable

from .atomic import atomic_path

__all__ = ["CACHE_ENV", "cache_dir", "cached_from_file"]

CACHE_ENV = "FSTTOPO_CACHE_DIR"
"""Environment variable naming the cache directory (default ``$XDG_CACHE_HOME/fsttopo``, else
``~/.cache/fsttopo``)."""


def cache_dir() -> Path:
    """The directory of fsttopo's per-user caches (it may not exist yet)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fsttopo"


def _cache_file(name: str, source: Path, version: int) -> Path:
    stat = source.stat()
    key = f"{source.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0{version}".encode()
    return cache_dir() / f"{name}-{hashlib.sha256(key).hexdigest()[:16]}.marshal"


def _loads_without_gc(data: bytes) -> Any:
    """``marshal.loads`` with the cyclic garbage collector paused: the 126k tuples of CMUdict set off
    collections that walk every object of the process (with torch loaded: 0.2 s instead of 0.06)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return marshal.loads(data)
    finally:
        if enabled:
            gc.enable()


def cached_from_file(name: str, source: str | Path, build: Callable[[], Any], version: int = 1) -> Any:
    """``build()`` (a value :mod:`marshal` can store: dicts, lists, tuples, str, numbers), read from
    the cache when it holds the value for this ``source`` file as it is now and this ``version`` of
    ``build``, else built and stored there. ``name`` names the value in the cache file's name."""
    path = _cache_file(name, Path(source), version)
    try:
        return _loads_without_gc(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):  # not cached yet, or a damaged file: rebuild it
        pass
    value = build()
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(marshal.dumps(value))
    except OSError:  # a read-only cache directory: the next process builds it again
        pass
    return value
