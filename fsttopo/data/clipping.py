"""How much of a recording sits on a clipping level: speech recorded with too much input gain is
cut flat at the converter's full scale (or at whatever level a later gain moved that to).

A clipped waveform has plateaus at its peak magnitude: runs of consecutive samples equal to within
:data:`PLATEAU_TOLERANCE` of the peak. Unclipped speech reaches its peak once, in a crest a sample
or two wide. The measure counts the samples on such plateaus against the recording's loud samples
(at least :data:`LOUD_FRACTION` of the peak), so minutes of silence or quiet noise around the
speech do not dilute it. It reads the samples themselves, before any resampling, which would ring
around the plateaus; a lossy codec after the clipping (MP3, Ogg) does the same and hides it: the
shipped example clipped 10 dB over full scale measures 14.1 % as FLAC and 0 % as MP3 or Ogg
(docs/robustness.md).
"""

from __future__ import annotations

import numpy as np

__all__ = ["PLATEAU_TOLERANCE", "LOUD_FRACTION", "clipped_percent"]

PLATEAU_TOLERANCE = 1e-3
"""Samples within this fraction of the peak magnitude count as on the peak level: int16 full scale
is 32767/32768 on one side and -1 on the other."""

LOUD_FRACTION = 0.1
"""Samples of at least this fraction of the peak magnitude (-20 dB) are the loud ones counted against."""


def clipped_percent(samples: np.ndarray) -> float:
    """The percentage of a recording's loud samples that lie on plateaus at its peak magnitude.

    ``samples``: mono ``[N]`` float in any scale. A plateau is two or more consecutive samples
    within :data:`PLATEAU_TOLERANCE` of the peak magnitude (of either sign); loud samples are those
    of at least :data:`LOUD_FRACTION` of it. 0.0 for digital silence or an empty recording."""
    x = np.asarray(samples).reshape(-1)
    x = np.abs(x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64))
    peak = float(x.max()) if x.size else 0.0
    if peak == 0.0:
        return 0.0
    at_peak = x >= peak * (1.0 - PLATEAU_TOLERANCE)
    pairs = at_peak[:-1] & at_peak[1:]  # sample i and i + 1 both on the peak level
    on_plateau = np.zeros_like(at_peak)
    on_plateau[:-1] |= pairs
    on_plateau[1:] |= pairs
    return 100.0 * np.count_nonzero(on_plateau) / np.count_nonzero(x >= peak * LOUD_FRACTION)
