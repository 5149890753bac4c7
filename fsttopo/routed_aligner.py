"""``--model auto``: the shipped default and robust aligners, and the rule that picks one per
recording from its features (:mod:`fsttopo.inference.model_routing`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Mapping, Sequence, TypeVar

import torch

from .aligner import Aligner
from .data.alignment import UtteranceAlignment
from .inference.model_routing import RoutingRule

__all__ = ["Route", "RoutedAligner", "load_routed_aligner", "checking_aligner"]

Result = TypeVar("Result")


@dataclass(frozen=True)
class Route:
    """The model chosen for one recording: its shipped name, its aligner, and why (the thresholds
    crossed; empty for the default model)."""

    name: str
    aligner: Aligner
    reasons: list[str]

    def mark(self, alignment: UtteranceAlignment) -> UtteranceAlignment:
        """The alignment with the chosen model's name and reasons."""
        return replace(alignment, model=self.name, model_reasons=list(self.reasons))


class RoutedAligner:
    """The default aligner for recordings that look like clean wideband speech and the robust one
    for the others, chosen per recording by ``rule``.

    Both must share the token table and the frame rate, so that a transcript fits either or neither
    (:attr:`primary`, the default aligner, checks it).
    """

    def __init__(self, default: Aligner, robust: Aligner, rule: RoutingRule):
        if default.tokens != robust.tokens:
            raise ValueError("the default and the robust aligner of --model auto must share one token table")
        if (default.frame_shift, default.frame_offset) != (robust.frame_shift, robust.frame_offset):
            raise ValueError(f"the default and the robust aligner of --model auto must share a frame rate: "
                             f"{default.frame_shift} s against {robust.frame_shift} s per frame")
        self.aligners = {"default": default, "robust": robust}
        self.rule = rule

    @property
    def primary(self) -> Aligner:
        """The default aligner: the one transcripts are checked with."""
        return self.aligners["default"]

    @property
    def align_options(self) -> dict[str, dict]:
        """Each model's stored alignment options, by name (what a run's settings record)."""
        return {name: dict(a.align_options) for name, a in self.aligners.items()}

    def route(self, features: torch.Tensor, samples: Mapping[str, float] | None = None) -> Route:
        """The model for a recording's ``[T', 80]`` log-mel features and its samples' measures
        (:func:`~fsttopo.inference.recording_check.sample_measures`; None where only features are known)."""
        reasons = self.rule.robust_for(features, samples)
        name = "robust" if reasons else "default"
        return Route(name, self.aligners[name], reasons)

    def align_routed(self, routes: Sequence[Route], align: Callable[[Aligner, list[int]], list[Result]]
                     ) -> list[Result]:
        """Per recording the result of the model the rule picks for it, in order: ``routes`` are the
        recordings' :meth:`route`; ``align(aligner, indices)`` aligns the recordings ``indices`` (of
        ``routes``) with one aligner and returns their results (an
        :class:`~fsttopo.data.alignment.UtteranceAlignment`, marked here with the model and its
        reasons, or whatever a failure is).

        The measures picked a model first, each model aligning its recordings in one call; then the
        default model's alignments of too low a relative confidence are aligned again by the
        robust model, whose alignment replaces them (where it fails, the default one stands)."""
        out: list[Result | None] = [None] * len(routes)
        for name, aligner in self.aligners.items():
            chosen = [i for i, r in enumerate(routes) if r.name == name]
            for i, result in zip(chosen, align(aligner, chosen) if chosen else []):
                out[i] = routes[i].mark(result) if isinstance(result, UtteranceAlignment) else result
        unsure = {i: reason for i, a in enumerate(out) if routes[i].name == "default" and isinstance(a, UtteranceAlignment)
                  and (reason := self.rule.low_confidence(a.relative_confidence)) is not None}
        robust = self.aligners["robust"]
        for i, result in zip(unsure, align(robust, list(unsure)) if unsure else []):
            if isinstance(result, UtteranceAlignment):
                out[i] = Route("robust", robust, [unsure[i]]).mark(result)
        return out


def checking_aligner(aligner: Aligner | RoutedAligner) -> Aligner:
    """The aligner that checks transcripts for ``aligner`` (its :attr:`~RoutedAligner.primary`)."""
    return aligner.primary if isinstance(aligner, RoutedAligner) else aligner


def load_routed_aligner(default: Aligner, robust: Aligner) -> RoutedAligner:
    """The shipped routing rule (:data:`fsttopo.resources.ROUTING_FILE`) over two aligners."""
    from .inference.model_routing import read_routing_rule
    from .resources import ROUTING_FILE

    return RoutedAligner(default, robust, read_routing_rule(ROUTING_FILE))
