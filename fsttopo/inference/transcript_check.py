"""Fail fast: transcript problems found before features and the acoustic model run.

An unknown word with ``oov="error"``, a transcript without words, or more tokens than the model
has frames for the audio (no path could fit) are all known from the text and the audio's duration
alone; on a 10-minute file the encoder took 80 s before they were reported.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

from ..data.features import FEATURE_SHIFT
from ..data.pronounce import PronouncedTranscript
from ..engine.intersect import NoPathError
from ..topology import AnyLabels

if TYPE_CHECKING:
    from ..aligner import Aligner

__all__ = ["min_model_frames", "model_frames", "check_transcripts"]


def min_model_frames(words: PronouncedTranscript | Sequence, topology: str) -> int:
    """Fewest model frames a path through the transcript's graph takes: one per token (an unknown
    word, :class:`AnyLabels`, takes at least one), plus, for standard CTC (``"ctc"``), one blank
    between each two equal tokens that follow each other."""
    flat: list[int | None] = [None if isinstance(w, AnyLabels) else t
                              for w in words for t in (w if not isinstance(w, AnyLabels) else [None])]
    repeats = sum(a is not None and a == b for a, b in zip(flat, flat[1:])) if topology == "ctc" else 0
    return len(flat) + repeats


def model_frames(feature_frames: int, subsampling: int, phases: int = 1) -> int:
    """Model frames of ``feature_frames`` feature frames (10 ms) on the shortest of ``phases``
    frame grids (phase ``p`` drops the first ``p`` feature frames): ``ceil((T' - phases + 1) / S)``."""
    return max(0, math.ceil((feature_frames - phases + 1) / subsampling))


def check_transcripts(aligner: "Aligner", texts: Sequence[str], feature_frames: Sequence[int], *,
                      oov: str | None = None, topology: str | None = None, phases: int | None = None,
                      utterance_ids: Sequence[str] | None = None) -> list[PronouncedTranscript]:
    """ValueError naming the first transcript that cannot be aligned to its audio, before any
    feature or model work: words outside the lexicon with ``oov="error"`` (all named), no words, or
    more tokens than model frames (:class:`~fsttopo.engine.intersect.NoPathError`, as the engine
    raises when it finds no path).

    Args:
        aligner: gives the lexicon, the model's downsampling and the defaults.
        texts: transcripts as written.
        feature_frames: per transcript, its audio's length in feature frames (10 ms; an estimate
            from the audio's duration is fine: the check allows one model frame of slack).
        oov, topology, phases: as :meth:`~fsttopo.aligner.Aligner.align` (default: the model's).
        utterance_ids: names for the messages (default ``utt0, utt1, ...``).

    Returns:
        The pronounced transcripts.
    """
    topology = topology or aligner.objective.topology
    phases = phases or int(aligner.align_options["phases"])
    S = aligner.model.config.subsampling
    ids = list(utterance_ids) if utterance_ids is not None else [f"utt{i}" for i in range(len(texts))]
    out = []
    for index, (uid, text, frames) in enumerate(zip(ids, texts, feature_frames)):
        try:
            words = aligner._encode_texts([text], oov)[0]
        except ValueError as err:
            raise ValueError(f"utterance {uid!r}: {err}") from err
        need, have = min_model_frames(words, topology), model_frames(int(frames), S, phases)
        if need > have + 1:
            raise NoPathError([index], f"utterance {uid!r}: the transcript needs at least {need} model frames (one per "
                             f"phone, {S * FEATURE_SHIFT * 1000:.0f} ms each) but its {frames * FEATURE_SHIFT:.2f} s "
                             f"of audio give {have}: the transcript is too long for the audio, no path fits (wrong file?)")
        out.append(words)
    return out
