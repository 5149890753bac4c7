"""fsttopo: accurate alignment modelling for speech recognition with finite-state label topologies."""

from . import criteria
from .align import (
    Segment,
    align_frame_scores,
    ctc_prefix_scores,
    dtw_align,
    expected_segments,
    gradient_alignment,
    gradient_log_norms,
    interpolation_mixup,
    path_segments,
    soft_dp_align,
)
from .engine import ViterbiResult, full_sum, soft_alignment, state_posteriors, viterbi
from .fsa import Fsa, FsaVec, k2_available
from .topology import Transitions, ctc_graph, hmm_graph

__version__ = "0.2.0"


def __getattr__(name: str):
    # fsttopo.align_file loads the aligner stack (Lhotse, the model) only when it is used
    if name == "align_file":
        from .files import align_file

        return align_file
    raise AttributeError(f"module 'fsttopo' has no attribute {name!r}")

__all__ = [
    "Fsa", "FsaVec", "k2_available",
    "Transitions", "ctc_graph", "hmm_graph",
    "full_sum", "soft_alignment", "state_posteriors", "viterbi", "ViterbiResult",
    "Segment", "path_segments", "expected_segments",
    "ctc_prefix_scores", "gradient_log_norms", "gradient_alignment", "align_frame_scores",
    "soft_dp_align", "dtw_align", "interpolation_mixup",
    "criteria", "align_file",
]
