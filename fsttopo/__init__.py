"""fsttopo: accurate alignment modelling for speech recognition with finite-state label topologies.

The names below are imported on first use (PEP 562), so ``import fsttopo`` (and the command line,
which parses its arguments before anything heavy loads) does not import torch: ``fsttopo align``
starts drawing its plot in a second process before torch is loaded (fsttopo.data.plot_process).
"""

from __future__ import annotations

import importlib

__version__ = "0.2.0"

_LAZY = {
    "Fsa": ".fsa", "FsaVec": ".fsa", "k2_available": ".fsa",
    "Transitions": ".topology", "ctc_graph": ".topology", "hmm_graph": ".topology",
    "full_sum": ".engine", "soft_alignment": ".engine", "state_posteriors": ".engine", "viterbi": ".engine",
    "ViterbiResult": ".engine",
    "Segment": ".align", "path_segments": ".align", "expected_segments": ".align",
    "ctc_prefix_scores": ".align", "gradient_log_norms": ".align", "gradient_alignment": ".align",
    "align_frame_scores": ".align", "soft_dp_align": ".align", "dtw_align": ".align",
    "interpolation_mixup": ".align",
    "align_file": ".files",
}
"""Public name -> the module that defines it."""

__all__ = [*_LAZY, "criteria"]


def __getattr__(name: str):
    if name == "criteria":
        return importlib.import_module(".criteria", __name__)
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'fsttopo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
