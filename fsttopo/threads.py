"""One knob for the CPU threads of a process: torch's intra-op pool and the Numba kernels'.

Both pools default to every core. Numba's workers spin while they wait for work, so two processes
on a small machine that each set only torch's pool still fight over the cores (a 1-thread training
job ran at a quarter of its speed next to a second one).
"""

from __future__ import annotations

import torch

__all__ = ["set_threads"]


def set_threads(num_threads: int) -> None:
    """Limit torch's intra-op threads and the Numba threads of the engine kernels to ``num_threads``
    (capped at Numba's ``NUMBA_NUM_THREADS``)."""
    if num_threads < 1:
        raise ValueError(f"threads must be >= 1, got {num_threads}")
    import numba

    from .engine.numba_threads import start_numba_pool

    start_numba_pool()  # before torch's setting: starting the pool would change it
    torch.set_num_threads(num_threads)
    numba.set_num_threads(min(num_threads, numba.config.NUMBA_NUM_THREADS))
