"""Which shipped model aligns a recording: the default (clean-speech) model, or the robust one
where the recording looks noisy, band-limited or reverberant.

The default model is the more precise on clean speech (dev 12.18 ms against 12.39, and it passes
two guards the robust one fails: an Ogg Vorbis copy of the example and speech outside the
transcript in mid-recording); the robust model holds up where the default one breaks (white
noise at 10 dB SNR: 22.9 ms against 590). A :class:`RoutingRule` sends a recording to the robust
model when any of the three condition measures the aligner computes from its features anyway
(:func:`~fsttopo.inference.confidence_conditions.condition_measures`: the dynamic range, the decay
asymmetry and the upper band's level) crosses its threshold, or, after the default model aligned
it, when that alignment's relative confidence is low (babble keeps speech's dynamics, so the
measures miss most of it; the default model is unsure there). The thresholds are chosen on the dev
voice, clean and through the training augmentation chain (``recipes/tts/choose_routing.py``),
never on the test voices, and shipped in ``fsttopo/assets/routing.json``. The choice depends on
the recording only, so it is the same whatever the recording is batched with.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping

import torch

from .confidence_conditions import condition_measures
from .recording_check import CLIPPED_KEY, SPEECH_LEVEL_KEY
from .silence_trim import plan_trim

__all__ = ["RoutingRule", "routing_measures", "read_routing_rule"]


@dataclass(frozen=True)
class RoutingRule:
    """Send a recording to the robust model when its dynamic range is below
    ``below_dynamic_range_db`` (dB), its decay asymmetry above ``above_decay_asymmetry`` or its upper
    band's level below ``below_high_band_db`` (dB), its samples' speech level below
    ``below_speech_level_dbfs`` (dBFS) or clipped share above ``above_clipped_percent`` (%), or when
    the default model's alignment of it has a relative confidence below ``below_default_confidence``;
    a threshold of ``None`` is not used.
    """

    below_dynamic_range_db: float | None
    above_decay_asymmetry: float | None
    below_high_band_db: float | None
    below_default_confidence: float | None = None
    below_speech_level_dbfs: float | None = None
    above_clipped_percent: float | None = None

    def low_confidence(self, relative_confidence: float | None) -> str | None:
        """Why a recording the default model aligned goes to the robust model after all: its
        alignment's relative confidence (:attr:`~fsttopo.data.alignment.UtteranceAlignment.relative_confidence`)
        below ``below_default_confidence`` (noise the measures miss, such as babble, leaves the
        default model unsure); None: the default model's alignment stands."""
        if self.below_default_confidence is None or relative_confidence is None:
            return None
        if relative_confidence >= self.below_default_confidence:
            return None
        return f"low confidence with the default model ({relative_confidence:.3f} < {self.below_default_confidence:g})"

    def reasons(self, measures: tuple[float, float, float], samples: Mapping[str, float] | None = None) -> list[str]:
        """Why a recording with ``measures`` (dynamic range dB, decay asymmetry, upper band dB:
        :func:`~fsttopo.inference.confidence_conditions.condition_measures`) and, where its samples
        were read, the ``samples`` measures (:func:`~.recording_check.sample_measures`: the speech
        level in dBFS before the level normalization, a quiet recording's samples being coarse; the
        clipped share in %, where above the clipping warning's threshold) goes to the robust model,
        one phrase per threshold crossed; empty: the default model."""
        dynamic_range, asymmetry, high_band = measures
        samples = samples or {}
        out = []
        level, clipped = samples.get(SPEECH_LEVEL_KEY), samples.get(CLIPPED_KEY)
        if self.below_speech_level_dbfs is not None and level is not None and level < self.below_speech_level_dbfs:
            out.append(f"quiet (speech level {level:.1f} dBFS < {self.below_speech_level_dbfs:g})")
        if self.above_clipped_percent is not None and clipped is not None and clipped > self.above_clipped_percent:
            out.append(f"clipping ({clipped:.1f} % of the loud samples flat on the peak > {self.above_clipped_percent:g})")
        if self.below_dynamic_range_db is not None and dynamic_range < self.below_dynamic_range_db:
            out.append(f"noise (dynamic range {dynamic_range:.1f} dB < {self.below_dynamic_range_db:g})")
        if self.above_decay_asymmetry is not None and asymmetry > self.above_decay_asymmetry:
            out.append(f"echo (decay asymmetry {asymmetry:.2f} > {self.above_decay_asymmetry:g})")
        if self.below_high_band_db is not None and high_band < self.below_high_band_db:
            out.append(f"band limit (upper band {high_band:.1f} dB < {self.below_high_band_db:g})")
        return out

    def robust_for(self, features: torch.Tensor, samples: Mapping[str, float] | None = None) -> list[str]:
        """:meth:`reasons` for a recording's ``[T', 80]`` log-mel features (:func:`routing_measures`)
        and its ``samples`` measures (None where only features are known)."""
        return self.reasons(routing_measures(features), samples)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "routing rule") -> RoutingRule:
        """The rule of :meth:`to_dict`'s dictionary; ValueError naming ``where`` for a missing key or
        a threshold that is not a finite number (or null)."""
        keys = ("below_dynamic_range_db", "above_decay_asymmetry", "below_high_band_db", "below_default_confidence",
                "below_speech_level_dbfs", "above_clipped_percent")
        missing = [k for k in keys if k not in d]
        if missing:
            raise ValueError(f"{where}: missing {missing}")
        for k in keys:
            v = d[k]
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
                raise ValueError(f"{where}: {k} must be a finite number or null, got {v!r}")
        return cls(*(None if d[k] is None else float(d[k]) for k in keys))


def routing_measures(features: torch.Tensor) -> tuple[float, float, float]:
    """The :func:`~fsttopo.inference.confidence_conditions.condition_measures` of a recording's
    ``[T', 80]`` log-mel features with its long runs of digital silence left out as the aligner
    leaves them out (:func:`~fsttopo.inference.silence_trim.plan_trim`): 30 s of zeros around a
    sentence would otherwise read as a recording with no dynamic range, a noisy one."""
    return condition_measures(plan_trim(features).apply(features))


def read_routing_rule(path: str | Path) -> RoutingRule:
    """The rule stored in a routing file (JSON with a ``rule`` object, as ``choose_routing.py``
    writes it, next to the measurements behind it)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read the routing rule {path}: {err}") from err
    if not isinstance(data, dict) or not isinstance(data.get("rule"), dict):
        raise ValueError(f"{path}: no 'rule' object")
    return RoutingRule.from_dict(data["rule"], str(path))
