"""Starting Numba's thread pool without changing torch's.

Numba's OpenMP threading layer sets the process's OpenMP thread count to ``NUMBA_NUM_THREADS``
(every core, whatever ``OMP_NUM_THREADS`` says) when its pool starts, and torch's intra-op pool
reads that count: after the first parallel kernel torch ran on every core, and on a busy 2-core
machine the example's model forward took 0.9 s instead of 0.02 s.
"""

from __future__ import annotations

import numba
import torch

__all__ = ["start_numba_pool"]


def start_numba_pool() -> None:
    """Start Numba's thread pool now (idempotent) and keep torch's intra-op thread count as it was."""
    threads = torch.get_num_threads()
    numba.get_num_threads()  # starts the pool if it is not running
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
