"""The low-confidence flag in degraded audio: the relative confidence a right transcript is expected to lose to the recording's condition.

A right transcript's relative confidence (the mean posterior of the aligned labels over the best
labels') falls in noise and reverberation, because the model's best labels follow the noise while
the transcript's cannot: with the robust model and a threshold calibrated on clean dev, the flag
marked 57 % of the right transcripts of the test voices at 10 dB white noise and 72 % in an RT60
0.5 s room (docs/robustness.md). :class:`ConditionAdjustment` is a linear model of that loss in
three measures the aligner computes from the features anyway (:func:`condition_measures`: the
dynamic range, the decay asymmetry and the upper band's level, :mod:`fsttopo.data.features`),
fitted on right transcripts of the dev voice clean and through the training augmentation chain
(``recipes/tts/calibrate_confidence.py --devaug``). The flag then compares the relative
confidence plus the expected loss (:meth:`ConditionAdjustment.expected_drop`, 0 for a recording as
clean as dev's) with the threshold, calibrated on those adjusted confidences: a recording's
condition no longer reads as a wrong transcript, and a wrong transcript still loses more than the
condition explains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..data.features import decay_asymmetry, dynamic_range_db, high_band_db

__all__ = ["MEASURES", "ConditionAdjustment", "condition_measures", "fit_condition_adjustment"]

MEASURES = ("dynamic_range_db", "decay_asymmetry", "high_band_db")
DYNAMIC_RANGE_CAP_DB = 45.0
"""Dynamic ranges above this (clean speech with long pauses) count as this: beyond it the
confidence of right transcripts no longer rises."""
HIGH_BAND_FLOOR_DB = -40.0
"""Upper-band levels below this (a band-limited recording) count as this."""


def condition_measures(features: torch.Tensor) -> tuple[float, float, float]:
    """The measures of :data:`MEASURES` of ``[T', 80]`` log-mel features, the dynamic range capped
    at :data:`DYNAMIC_RANGE_CAP_DB` and the upper band floored at :data:`HIGH_BAND_FLOOR_DB`."""
    return (min(dynamic_range_db(features), DYNAMIC_RANGE_CAP_DB), decay_asymmetry(features),
            max(high_band_db(features), HIGH_BAND_FLOOR_DB))


@dataclass(frozen=True)
class ConditionAdjustment:
    """Expected relative confidence of a right transcript: ``intercept + coefficients . measures``.

    Attributes:
        intercept: the constant term.
        coefficients: one per measure of :data:`MEASURES`.
        clean_reference: the expected confidence of a clean recording (the median over the clean
            dev utterances); a recording expected lower lost the difference to its condition.
    """

    intercept: float
    coefficients: tuple[float, float, float]
    clean_reference: float

    def __post_init__(self) -> None:
        values = (self.intercept, *self.coefficients, self.clean_reference)
        if len(self.coefficients) != len(MEASURES) or not all(isinstance(v, (int, float)) and math.isfinite(v)
                                                                for v in values):
            raise ValueError(f"ConditionAdjustment needs a finite intercept, {len(MEASURES)} finite coefficients "
                             f"and a finite clean reference, got {values}")

    def expected_drop(self, features: torch.Tensor) -> float:
        """How much relative confidence a right transcript is expected to lose to the condition
        of the recording whose ``[T', 80]`` features these are (>= 0)."""
        return self.drop_for(condition_measures(features))

    def drop_for(self, measures) -> float:
        """:meth:`expected_drop` from the recording's :func:`condition_measures`."""
        expected = self.intercept + float(np.dot(self.coefficients, measures))
        return max(0.0, self.clean_reference - expected)

    def to_dict(self) -> dict:
        return {"measures": list(MEASURES), "intercept": self.intercept, "coefficients": list(self.coefficients),
                "clean_reference": self.clean_reference}

    @classmethod
    def from_dict(cls, d: dict, where: str = "condition adjustment") -> ConditionAdjustment:
        """The adjustment :meth:`to_dict` wrote; ValueError naming ``where`` for another layout."""
        if not isinstance(d, dict) or d.get("measures") != list(MEASURES):
            raise ValueError(f"{where}: expected the measures {list(MEASURES)}, got {d!r}")
        try:
            return cls(float(d["intercept"]), tuple(float(c) for c in d["coefficients"]), float(d["clean_reference"]))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{where}: {err}") from None


def fit_condition_adjustment(measures: np.ndarray, confidences: np.ndarray, clean: np.ndarray) -> ConditionAdjustment:
    """Least squares of right transcripts' relative confidences on their recordings' measures.

    Args:
        measures: ``[N, 3]`` :func:`condition_measures` of each recording.
        confidences: ``[N]`` the relative confidence of its right transcript.
        clean: ``[N]`` bool, the recordings as clean as the training speech (their median
            expectation is the clean reference).
    """
    measures, confidences, clean = np.asarray(measures, float), np.asarray(confidences, float), np.asarray(clean, bool)
    if measures.ndim != 2 or measures.shape[1] != len(MEASURES) or len(confidences) != len(measures) \
            or len(clean) != len(measures) or not clean.any():
        raise ValueError(f"need [N, {len(MEASURES)}] measures with N confidences and N clean flags (some clean), got "
                         f"{measures.shape}, {confidences.shape}, {clean.shape}")
    design = np.concatenate([np.ones((len(measures), 1)), measures], 1)
    solution, *_ = np.linalg.lstsq(design, confidences, rcond=None)
    reference = float(np.median(design[clean] @ solution))
    return ConditionAdjustment(float(solution[0]), tuple(float(c) for c in solution[1:]), reference)
