"""Recording-check benchmark: what the checks every aligned recording gets (noise, band limit and
reverberation on the features, clipping on the samples; fsttopo/inference/recording_check.py) cost on an hour of
audio, against computing that hour's features (``lhotse_fbank``, which the aligner does anyway) and,
for the clipping measure, against a straightforward float64 version of it (``np.abs`` in float64,
both neighbours compared per sample).

The audio is an hour of the shipped example repeated (16 kHz). Each timing is the median of
``--repeats`` calls with ``time.perf_counter``. Usage: python benchmarks/recording_checks.py [--repeats 3]
"""

from __future__ import annotations

import argparse

import numpy as np
import soundfile

from fsttopo.data.clipping import LOUD_FRACTION, PLATEAU_TOLERANCE, clipped_percent
from fsttopo.data.features import decay_asymmetry, dynamic_range_db, high_band_db, lhotse_fbank
from fsttopo.resources import example_paths
from timing import median_seconds


def straightforward_clipped_percent(samples: np.ndarray) -> float:
    """The same measure written plainly: float64 magnitudes, each sample's neighbours compared."""
    x = np.abs(np.asarray(samples, dtype=np.float64))
    peak = x.max()
    at_peak = x >= peak * (1.0 - PLATEAU_TOLERANCE)
    left = np.concatenate([[False], at_peak[:-1]])
    right = np.concatenate([at_peak[1:], [False]])
    return 100.0 * (at_peak & (left | right)).sum() / (x >= peak * LOUD_FRACTION).sum()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    speech, sr = soundfile.read(example_paths()[0], dtype="float32")
    hour = np.tile(speech, int(np.ceil(3600 * sr / speech.size)))[: 3600 * sr]
    hour = np.clip(hour * 4.0, -1.0, 1.0)  # some clipping, so that the plateaus are not empty
    assert abs(clipped_percent(hour) - straightforward_clipped_percent(hour)) < 1e-9
    fbank_s = median_seconds(lambda: lhotse_fbank(hour[: 600 * sr], sr), 1) * 6  # 10 min, scaled to the hour
    features = lhotse_fbank(hour[: 600 * sr], sr)
    features = np.tile(features, (6, 1))
    import torch

    features = torch.from_numpy(features)
    rows = [("dynamic_range_db (features)", median_seconds(lambda: dynamic_range_db(features), args.repeats)),
            ("high_band_db (features)", median_seconds(lambda: high_band_db(features), args.repeats)),
            ("decay_asymmetry (features)", median_seconds(lambda: decay_asymmetry(features), args.repeats)),
            ("clipped_percent (samples)", median_seconds(lambda: clipped_percent(hour), args.repeats))]
    plain_s = median_seconds(lambda: straightforward_clipped_percent(hour), args.repeats)
    print(f"an hour of 16 kHz audio; its features: {fbank_s:.1f} s")
    print("| check | s per hour | share of the features' time |")
    print("|---|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} | {100 * seconds / fbank_s:.2f} % |")
    print(f"| all | {sum(s for _, s in rows):.3f} | {100 * sum(s for _, s in rows) / fbank_s:.2f} % |")
    print(f"clipped_percent: {rows[3][1]:.3f} s against {plain_s:.3f} s straightforward: {plain_s / rows[3][1]:.1f}x faster")


if __name__ == "__main__":
    main()
