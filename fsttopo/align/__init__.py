"""Alignment post-processing and alignment methods."""

from .segments import Segment, path_segments

__all__ = ["Segment", "path_segments"]
