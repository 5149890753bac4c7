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

__all__ = ["PLATEAU_TOLERANCE", "LOUD_FRACTION", "CHUNK_SAMPLES", "clipped_percent"]

PLATEAU_TOLERANCE = 1e-3
"""Samples within this fraction of the peak magnitude count as on the peak level: int16 full scale
is 32767/32768 on one side and -1 on the other."""

LOUD_FRACTION = 0.1
"""Samples of at least this fraction of the peak magnitude (-20 dB) are the loud ones counted against."""

CHUNK_SAMPLES = 1 << 20
"""Samples measured at once: the working arrays of an hour of 44.1 kHz audio would be 1.3 GB."""


def clipped_percent(samples: np.ndarray, chunk: int = CHUNK_SAMPLES) -> float:
    """The percentage of a recording's loud samples that lie on plateaus at its peak magnitude.

    ``samples``: mono ``[N]`` float in any scale. A plateau is two or more consecutive samples
    within :data:`PLATEAU_TOLERANCE` of the peak magnitude (of either sign); loud samples are those
    of at least :data:`LOUD_FRACTION` of it. 0.0 for digital silence or an empty recording.
    Measured ``chunk`` samples at a time, so that its memory does not grow with the recording."""
    x = np.asarray(samples).reshape(-1)
    if x.size == 0:
        return 0.0
    peak = max(float(x.max()), -float(x.min()))
    if peak == 0.0:
        return 0.0
    level, loud_level = peak * (1.0 - PLATEAU_TOLERANCE), peak * LOUD_FRACTION
    on_plateau = loud = 0
    previous_at_peak = False  # the last sample of the chunk before
    for start in range(0, x.size, chunk):
        part = np.abs(x[start:start + chunk + 1].astype(np.float64 if x.dtype.kind in "iu" else x.dtype, copy=False))
        at_peak = part >= level  # one sample past the chunk: a plateau may go on into the next
        size = min(chunk, x.size - start)
        pairs = at_peak[:-1] & at_peak[1:]  # sample i and i + 1 both on the peak level
        on = np.zeros(size, dtype=bool)
        on[: pairs.size] |= pairs[:size]
        on[1:] |= pairs[: size - 1]
        on[0] |= previous_at_peak and bool(at_peak[0])
        on_plateau += np.count_nonzero(on)
        loud += np.count_nonzero(part[:size] >= loud_level)
        previous_at_peak = bool(at_peak[size - 1])
    return 100.0 * on_plateau / loud
