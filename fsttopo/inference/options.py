"""Alignment-time options (the keyword arguments of :meth:`fsttopo.aligner.Aligner.align` that a
model file may carry as tuned defaults) and their validation."""

from __future__ import annotations

import math
from typing import Mapping

from ..names import METHODS, UNTRANSCRIBED_MODES
from .garbage import GARBAGE_PENALTY, check_garbage_penalty
from .pause_edges import check_pause_edges_db
from .pronunciation_choice import VARIANT_PENALTY, check_variant_penalty

__all__ = ["ALIGN_OPTIONS", "OPTIONAL_ALIGN_OPTIONS", "GRADIENT_METHODS", "MAX_TIME_SHIFT", "MAX_SCALE", "check_align_options"]

ALIGN_OPTIONS = {"method": "viterbi", "blank_penalty": 0.0, "prior_scale": 0.0, "posterior_scale": 1.0,
                 "phases": 1, "time_shift": 0.0}
"""Alignment-time options with the values used when neither the call nor the model file sets them."""
OPTIONAL_ALIGN_OPTIONS = {"refine_boundaries": False, "untranscribed": False, "garbage_penalty": GARBAGE_PENALTY,
                          "trim_silence": True, "pause_edges_db": None, "pronunciation_variants": False,
                          "variant_penalty": VARIANT_PENALTY}
"""Options a call or model file may set but need not: ``refine_boundaries`` moves word boundaries
to the model file's boundary detector's peaks (:mod:`fsttopo.align.refine`, docs/boundaries.md);
``untranscribed`` (``"edges"`` or True: before and after its words; ``"anywhere"``: also between
them) lets audio the transcript does not cover go to a garbage label that scores ``garbage_penalty``
nats per frame below the best non-blank label (:mod:`fsttopo.inference.garbage`; viterbi and
posterior methods); ``trim_silence`` leaves long runs of digital silence out of what the model sees
(:mod:`fsttopo.inference.silence_trim`); ``pause_edges_db`` moves word edges at pauses to where the
frame energy crosses that many dB below the recording's loud end (:mod:`fsttopo.inference.pause_edges`;
None or 0: off); ``pronunciation_variants`` lets the best path choose each word's pronunciation
among the lexicon's, one other than the word's own costing ``variant_penalty`` nats
(:mod:`fsttopo.inference.pronunciation_choice`; viterbi and posterior methods)."""
GRADIENT_METHODS = ("gradscore", "gradscore-ext")
MAX_TIME_SHIFT = 0.5
"""Largest ``|time_shift|`` in seconds: a latency correction, not a way to move words off the audio."""
MAX_SCALE = 1000.0
"""Largest prior/posterior scale and ``|blank_penalty|``: beyond it the log-probs of one label swamp
every other and float32 scores lose all precision (the model's log-probs span about 30 nats)."""


def check_align_options(options: Mapping, subsampling: int) -> dict:
    """``options`` (every key of :data:`ALIGN_OPTIONS`, any of :data:`OPTIONAL_ALIGN_OPTIONS`)
    validated for a model that downsamples by ``subsampling``: numbers as floats, ``phases`` an int.
    ValueError names the bad option."""
    unknown = sorted(set(options) - set(ALIGN_OPTIONS) - set(OPTIONAL_ALIGN_OPTIONS))
    if unknown:
        raise ValueError(f"unknown alignment options {unknown}; known: {[*ALIGN_OPTIONS, *OPTIONAL_ALIGN_OPTIONS]}")
    missing = sorted(set(ALIGN_OPTIONS) - set(options))
    if missing:
        raise ValueError(f"alignment options {missing} are missing")
    if options["method"] not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {options['method']!r}")
    out = {"method": options["method"]}
    for key in ("blank_penalty", "prior_scale", "posterior_scale", "time_shift"):
        value = options[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"alignment option {key} must be a finite number, got {value!r}")
        out[key] = float(value)
    if not 0 < out["posterior_scale"] <= MAX_SCALE:
        raise ValueError(f"posterior_scale must be in (0, {MAX_SCALE:g}], got {out['posterior_scale']}")
    if not 0 <= out["prior_scale"] <= MAX_SCALE:
        raise ValueError(f"prior_scale must be in [0, {MAX_SCALE:g}], got {out['prior_scale']}")
    if abs(out["blank_penalty"]) > MAX_SCALE:
        raise ValueError(f"blank_penalty must be in [-{MAX_SCALE:g}, {MAX_SCALE:g}] nats, got {out['blank_penalty']}")
    if abs(out["time_shift"]) > MAX_TIME_SHIFT:
        raise ValueError(f"time_shift must be in [-{MAX_TIME_SHIFT}, {MAX_TIME_SHIFT}] seconds, got {out['time_shift']}")
    phases = options["phases"]
    if isinstance(phases, float) and phases.is_integer():
        phases = int(phases)
    if isinstance(phases, bool) or not isinstance(phases, int) or not 1 <= phases <= subsampling:
        raise ValueError(f"phases must be an integer from 1 to the model's downsampling {subsampling}, got {phases!r}")
    if phases > 1 and out["method"] in GRADIENT_METHODS:
        raise ValueError(f"method {out['method']!r} aligns one phase only, got phases={phases}")
    out["phases"] = phases
    for key in ("refine_boundaries", "trim_silence", "pronunciation_variants"):
        if key in options:
            if not isinstance(options[key], bool):
                raise ValueError(f"{key} must be true or false, got {options[key]!r}")
            out[key] = options[key]
    if "untranscribed" in options:
        value = "edges" if options["untranscribed"] is True else options["untranscribed"]
        if value is not False and value not in UNTRANSCRIBED_MODES:
            raise ValueError(f"untranscribed must be false, true or one of {UNTRANSCRIBED_MODES}, got {value!r}")
        if value and out["method"] in GRADIENT_METHODS:
            raise ValueError(f"untranscribed works with the viterbi and posterior methods, not {out['method']!r}")
        out["untranscribed"] = value
    if out.get("pronunciation_variants") and out["method"] in GRADIENT_METHODS:
        raise ValueError(f"pronunciation_variants works with the viterbi and posterior methods, not {out['method']!r}")
    if "pause_edges_db" in options:
        out["pause_edges_db"] = check_pause_edges_db(options["pause_edges_db"])
    if "variant_penalty" in options:
        out["variant_penalty"] = check_variant_penalty(options["variant_penalty"])
    if "garbage_penalty" in options:
        out["garbage_penalty"] = check_garbage_penalty(options["garbage_penalty"])
    return out
