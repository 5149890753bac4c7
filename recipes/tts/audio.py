"""Audio conversion with sox: 16 kHz 16-bit mono, optional speed perturbation."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["SAMPLE_RATE", "convert"]

SAMPLE_RATE = 16000


def convert(source: Path, target: Path, speed: float = 1.0) -> None:
    """Write ``source`` as 16 kHz 16-bit mono ``target``, played ``speed`` times faster.

    ``sox speed`` resamples: tempo and pitch change together and every time point t of the source
    is at ``t / speed`` in the target, so label times are divided by ``speed`` exactly.
    """
    if not speed > 0:
        raise ValueError(f"speed must be positive, got {speed}")
    effects = ["speed", f"{speed:g}"] if speed != 1.0 else []
    command = ["sox", "-q", str(source), "-b", "16", "-c", "1", str(target), *effects, "rate", "-v", str(SAMPLE_RATE)]
    subprocess.run(command, check=True, capture_output=True)
