"""Atomic file writes: a reader (or a run interrupted half-way) sees the old file or the complete new
one, never a truncated file that looks complete.

The content goes to a temporary file in the target's directory (a rename is atomic only within one
file system) and ``os.replace`` puts it in place; on any error, Ctrl-C included, the temporary file
is removed and the target is left as it was.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "write_text_atomic"]


def _file_mode() -> int:
    """The mode ``open()`` would give a new file (``mkstemp`` makes it 0600, private)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (its parent directories are created) for a writer that
    takes a file name; when the block ends without an error the file replaces ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """``Path(path).write_text(text)``, atomically (see the module)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return path
