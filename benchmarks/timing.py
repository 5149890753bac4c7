"""Timing for the benchmarks: the median wall time of repeated calls."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def median_seconds(fn: Callable[[], object], repeats: int, warm_up: bool = False) -> float:
    """The median of ``repeats`` wall times (``time.perf_counter``, seconds) of ``fn()``, after one
    untimed call with ``warm_up`` (Numba compiles on first use)."""
    if warm_up:
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
