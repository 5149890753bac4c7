"""Aligning a batch of a corpus whose members may fail: the batch at once, and when that fails
(an utterance without a path, a transcript that does not fit), one by one, so that only the culprits
fail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence, TypeVar

import torch

from .aligner import Aligner
from .data.alignment import UtteranceAlignment
from .engine import NoPathError
from .inference.recording_check import SPEECH_LEVEL_KEY, recording_conditions
from .routed_aligner import RoutedAligner

__all__ = ["Failure", "align_or_each", "align_loaded"]

Item = TypeVar("Item")


@dataclass(frozen=True)
class Failure:
    """Why one utterance was not aligned: a reason code of :data:`fsttopo.corpus_check.REASONS`
    (``no-path``, ``align-error``) and the error's message."""

    reason: str
    message: str


def align_or_each(aligner: Aligner, features: Sequence[torch.Tensor], texts: Sequence[str],
                  utterance_ids: Sequence[str], options: Mapping[str, Any],
                  offsets: Sequence[float] | None = None) -> list[UtteranceAlignment | Failure]:
    """Per utterance its alignment or its :class:`Failure`. ``features``: ``[T'_i, 80]`` float
    tensors; ``offsets``: each utterance's start in its recording, seconds; ``options`` go to
    :meth:`Aligner.align`. A batch of one is not tried twice."""
    if len(features) > 1:
        try:
            return list(aligner.align(list(features), texts, utterance_ids, offsets=offsets, **options).alignments)
        except ValueError:
            pass  # find the culprits below
    out: list[UtteranceAlignment | Failure] = []
    for i, feats in enumerate(features):
        try:
            out.append(aligner.align([feats], [texts[i]], [utterance_ids[i]],
                                     offsets=None if offsets is None else [offsets[i]], **options).alignments[0])
        except NoPathError as err:
            out.append(Failure("no-path", str(err)))
        except ValueError as err:
            out.append(Failure("align-error", str(err)))
    return out


def align_loaded(aligner: Aligner | RoutedAligner, items: Sequence[Item],
                 load: Callable[[Item], tuple[torch.Tensor, dict[str, float]] | str],
                 texts: Sequence[str], utterance_ids: Sequence[str], options: Mapping[str, Any], unreadable: str,
                 offsets: Sequence[float] | None = None
                 ) -> list[tuple[UtteranceAlignment | Failure, dict[str, float]]]:
    """One batch of a corpus (a directory's recordings, a CutSet's cuts), in its order: per item its
    alignment or its :class:`Failure`, and the conditions its recording shows
    (:func:`~fsttopo.inference.recording_check.recording_conditions`: noisy, band-limited,
    reverberant; with those ``load`` measured on the samples, clipped; empty for an unreadable item).

    ``load(item)`` gives the item's ``[T', 80]`` features and the conditions its samples show
    with their speech level (:func:`~fsttopo.inference.recording_check.sample_measures`; empty where
    only features are stored; the level picks a routed aligner's model and is not returned), or a
    message saying why they cannot be read: that item fails with reason ``unreadable`` and the
    others are aligned (:func:`align_or_each`). The features are loaded per batch, so that a block
    of long recordings does not have to fit in memory at once. A routed aligner aligns each item
    with the model the rule picks for it (:meth:`~fsttopo.routed_aligner.RoutedAligner.align_routed`;
    the alignments say which model)."""
    out: list[tuple[UtteranceAlignment | Failure, dict[str, float]] | None] = [None] * len(items)
    features, measured = {}, {}
    for i, item in enumerate(items):
        loaded = load(item)
        if isinstance(loaded, str):
            out[i] = (Failure(unreadable, loaded), {})
        else:
            features[i], measured[i] = loaded
    ready = list(features)

    def align(one: Aligner, chosen: list[int]) -> list[UtteranceAlignment | Failure]:
        items = [ready[k] for k in chosen]
        return align_or_each(one, [features[i] for i in items], [texts[i] for i in items],
                             [utterance_ids[i] for i in items], options,
                             offsets=None if offsets is None else [offsets[i] for i in items])

    routes = [aligner.route(features[i], measured[i]) for i in ready] if isinstance(aligner, RoutedAligner) else None
    for i in ready:  # the level picks a model and is not a condition
        measured[i].pop(SPEECH_LEVEL_KEY, None)
    if ready:
        aligned = aligner.align_routed(routes, align) if routes is not None else align(aligner, list(range(len(ready))))
        for i, result in zip(ready, aligned):
            out[i] = (result, {**recording_conditions(features[i]), **measured[i]})
    return out
