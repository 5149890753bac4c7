"""Aligning a batch of a corpus whose members may fail: the batch at once, and when that fails
(an utterance without a path, a transcript that does not fit), one by one, so that only the culprits
fail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import torch

from .aligner import Aligner
from .data.alignment import UtteranceAlignment
from .engine import NoPathError

__all__ = ["Failure", "align_or_each"]


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
