"""Alignment post-processing and alignment methods."""

from .dtw import DtwAlignment, cosine_similarity_matrix, dtw_align, dtw_path, interpolation_mixup
from .grad_score import FrameAlignment, align_frame_scores, grad_score, grad_score_ext, gradient_alignment
from .gradient import ctc_label_scores_fn, gradient_log_norms, hybrid_label_scores_fn, mask_blank_gradient
from .prefix_scores import CtcPrefixScores, ctc_prefix_scores
from .segments import Segment, expected_segments, group_segments, path_segments
from .soft_dp import SoftAlignment, soft_dp_align

__all__ = [
    "Segment", "path_segments", "expected_segments", "group_segments",
    "CtcPrefixScores", "ctc_prefix_scores",
    "gradient_log_norms", "mask_blank_gradient", "ctc_label_scores_fn", "hybrid_label_scores_fn",
    "FrameAlignment", "grad_score", "grad_score_ext", "align_frame_scores", "gradient_alignment",
    "SoftAlignment", "soft_dp_align",
    "DtwAlignment", "cosine_similarity_matrix", "dtw_path", "dtw_align", "interpolation_mixup",
]
