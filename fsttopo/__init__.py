"""fsttopo: accurate alignment modelling for speech recognition with finite-state label topologies."""

from .align import Segment, path_segments
from .engine import ViterbiResult, full_sum, soft_alignment, viterbi
from .fsa import Fsa, FsaVec, k2_available
from .topology import Transitions, ctc_graph, hmm_graph

__version__ = "0.1.0"

__all__ = [
    "Fsa", "FsaVec", "k2_available",
    "Transitions", "ctc_graph", "hmm_graph",
    "full_sum", "soft_alignment", "viterbi", "ViterbiResult",
    "Segment", "path_segments",
]
