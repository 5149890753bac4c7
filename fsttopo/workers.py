"""Worker processes for aligning a corpus (``--jobs N``): each holds a copy of the aligner, loaded
once, and aligns whole blocks (:mod:`fsttopo.shards`); the results come back in the blocks' order.

Processes are spawned, not forked: a fork after torch's or Numba's thread pools have started can
hang the child. At most two blocks per worker are in flight, so a lazily read corpus is not read
ahead into memory.
"""

from __future__ import annotations

import os
import pickle
from collections import deque
from typing import Callable, Iterable, Iterator, TypeVar

from .aligner import Aligner

__all__ = ["map_blocks", "worker_threads", "bound_heap_growth", "MMAP_THRESHOLD"]

Task = TypeVar("Task")
Result = TypeVar("Result")

_aligner: Aligner | None = None
"""The aligner of this worker process (set by :func:`_start_worker`)."""


def worker_threads(jobs: int, threads: int | None = None) -> int:
    """CPU threads per worker: ``threads`` when given, else the cores shared out among ``jobs``."""
    return threads or max(1, (os.cpu_count() or 1) // jobs)


MMAP_THRESHOLD = 128 * 1024
"""Bytes from which glibc's malloc maps each allocation on its own and unmaps it when freed."""


def bound_heap_growth() -> None:
    """Fix glibc's mmap threshold at :data:`MMAP_THRESHOLD` for this process (no-op elsewhere).

    By default glibc raises the threshold (up to 32 MiB) each time a large block is freed, after
    which tensors of ever-changing shapes come from the heap and leave it fragmented: aligning a
    corpus in one process grew by about 30 MiB per 64 files (852 to 1264 MiB over 832 files) with
    Python's own memory flat; with the threshold fixed it stays flat."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and hasattr(libc, "mallopt"):
            libc.mallopt(-3, MMAP_THRESHOLD)  # M_MMAP_THRESHOLD
    except OSError:  # not glibc: its allocator is its own business
        pass


def _start_worker(aligner_state: bytes, threads: int) -> None:
    from .threads import set_threads

    global _aligner
    bound_heap_growth()
    set_threads(threads)
    _aligner = pickle.loads(aligner_state)


def _run(work: Callable[[Aligner, Task], Result], task: Task) -> Result:
    return work(_aligner, task)


def map_blocks(work: Callable[[Aligner, Task], Result], tasks: Iterable[Task], aligner: Aligner, jobs: int = 1,
               threads: int | None = None) -> Iterator[Result]:
    """``work(aligner, task)`` for each task, yielded in the tasks' order.

    ``jobs == 1`` runs in this process (its threads as they are; :func:`bound_heap_growth`); more run in that many spawned
    processes with :func:`worker_threads` threads each, the aligner (its model on the device it is
    on) copied into each. ``work`` must be a module-level function; exceptions it raises end the
    run (the remaining tasks are cancelled)."""
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1 worker process, got {jobs}")
    if jobs == 1:
        bound_heap_growth()
        for task in tasks:
            yield work(aligner, task)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
                               initargs=(pickle.dumps(aligner), worker_threads(jobs, threads)))
    pending = deque()
    try:
        for task in tasks:
            pending.append(pool.submit(_run, work, task))
            if len(pending) >= 2 * jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
