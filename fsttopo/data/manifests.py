"""Lhotse manifests with reference alignments, and their Fbank features.

Alignments live in ``SupervisionSegment.alignment`` as ``{"word": [...], "phone": [...]}`` lists of
``AlignmentItem(symbol, start, duration)``, times in seconds relative to the start of the
*recording* (Lhotse's convention). Lhotse does not shift them when a cut is truncated or starts
inside its recording: :func:`cut_alignment` does, by subtracting ``cut.start``.

Pauses are not items: they are the gaps between items.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from lhotse import (
    CutSet,
    Fbank,
    FbankConfig,
    LilcomChunkyWriter,
    MonoCut,
    Recording,
    RecordingSet,
    SupervisionSegment,
    SupervisionSet,
)
from lhotse.features.base import register_extractor
from lhotse.supervision import AlignmentItem

from .level import normalize_level

__all__ = [
    "FRAME_SHIFT",
    "NUM_MEL_BINS",
    "Span",
    "alignment_items",
    "item_spans",
    "make_supervision",
    "cut_alignment",
    "cuts_from_manifests",
    "LevelNormalizedFbank",
    "compute_fbank",
    "write_cuts",
]

Span = tuple[str, float, float]
"""``(symbol, start, end)``, times in seconds."""

FRAME_SHIFT = 0.01
"""Fbank frame shift in seconds."""
NUM_MEL_BINS = 80
_DIGITS = 8  # Lhotse rounds alignment times to 8 decimals (AlignmentItem.end)


def alignment_items(spans: Iterable[Span]) -> list[AlignmentItem]:
    """``AlignmentItem`` list from ``(symbol, start, end)`` spans (seconds).

    Raises ValueError on an empty symbol, a non-finite or negative time, ``end < start``, or
    starts that go backwards (items may overlap, as TIMIT's words do, but must be in time order).
    """
    items: list[AlignmentItem] = []
    previous_start = 0.0
    for index, (symbol, start, end) in enumerate(spans):
        if not symbol:
            raise ValueError(f"span {index} has an empty symbol")
        if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end < start:
            raise ValueError(f"span {index} ({symbol!r}) needs 0 <= start <= end, got {start}, {end}")
        if start < previous_start:
            raise ValueError(f"span {index} ({symbol!r}) starts at {start} s, before span {index - 1}")
        previous_start = start
        items.append(AlignmentItem(symbol=symbol, start=start, duration=round(end - start, _DIGITS)))
    return items


def item_spans(items: Iterable[AlignmentItem]) -> list[Span]:
    """``(symbol, start, end)`` spans (seconds) of alignment items; inverse of :func:`alignment_items`."""
    return [(item.symbol, item.start, item.end) for item in items]


def make_supervision(
    recording: Recording,
    text: str,
    words: Sequence[Span],
    phones: Sequence[Span] | None = None,
    speaker: str | None = None,
    custom: dict | None = None,
) -> SupervisionSegment:
    """One supervision over the whole ``recording`` with its word (and phone) alignment.

    Args:
        recording: the audio; the supervision's id is the recording's id.
        text: transcript, whitespace-separated words; must equal the word symbols in order.
        words: word spans in seconds from the start of the recording.
        phones: phone spans in seconds, or None where the reference has no phone alignment
            (then the supervision has no ``"phone"`` key).
        speaker: speaker label.
        custom: extra fields stored in ``supervision.custom``.
    """
    word_items = alignment_items(words)
    if text.split() != [item.symbol for item in word_items]:
        raise ValueError(f"{recording.id}: word alignment {[i.symbol for i in word_items]} != text {text!r}")
    alignment = {"word": word_items}
    if phones is not None:
        alignment["phone"] = alignment_items(phones)
    last_end = max(item.end for items in alignment.values() for item in items)
    if last_end > recording.duration + 1e-6:
        raise ValueError(f"{recording.id}: alignment ends at {last_end} s, after the audio ({recording.duration} s)")
    return SupervisionSegment(
        id=recording.id,
        recording_id=recording.id,
        start=0.0,
        duration=recording.duration,
        channel=0,
        text=text,
        language="English",
        speaker=speaker,
        alignment=alignment,
        custom=custom,
    )


def cut_alignment(cut: MonoCut, kind: str) -> list[AlignmentItem]:
    """Alignment items of ``kind`` (``"word"``, ``"phone"``) of a cut, in seconds from the cut start.

    Items of all the cut's supervisions are shifted by ``-cut.start``, clipped to
    ``[0, cut.duration]``, and those wholly outside the cut are left out. Raises ValueError for a
    cut that is not a ``MonoCut`` (read alignments before padding or mixing) or a supervision
    without that alignment.
    """
    if not isinstance(cut, MonoCut):
        raise ValueError(f"cut {cut.id} is a {type(cut).__name__}; alignments are read from MonoCut only")
    items: list[AlignmentItem] = []
    for supervision in cut.supervisions:
        if not supervision.alignment or kind not in supervision.alignment:
            raise ValueError(f"supervision {supervision.id} has no {kind!r} alignment")
        for item in supervision.alignment[kind]:
            start = round(item.start - cut.start, _DIGITS)
            end = round(item.end - cut.start, _DIGITS)
            if end <= 0 or start >= cut.duration:
                continue
            start, end = max(start, 0.0), min(end, cut.duration)
            items.append(AlignmentItem(item.symbol, start, round(end - start, _DIGITS), item.score))
    return sorted(items, key=lambda item: item.start)


def cuts_from_manifests(recordings: RecordingSet, supervisions: SupervisionSet) -> CutSet:
    """One cut per recording, with the recording's id, covering it whole, with its supervisions.

    Unlike ``CutSet.from_manifests`` the cut ids are the recording ids (no ``-0`` suffix).
    Raises ValueError for a recording without a supervision.
    """
    by_recording: dict[str, list[SupervisionSegment]] = {}
    for supervision in supervisions:
        by_recording.setdefault(supervision.recording_id, []).append(supervision)
    cuts = []
    for recording in recordings:
        if recording.id not in by_recording:
            raise ValueError(f"recording {recording.id} has no supervision")
        cuts.append(MonoCut(id=recording.id, start=0.0, duration=recording.duration, channel=0,
                            recording=recording, supervisions=by_recording[recording.id]))
    return CutSet.from_cuts(cuts)


@register_extractor
class LevelNormalizedFbank(Fbank):
    """Lhotse's ``Fbank`` of each cut's audio scaled to one speech level
    (:func:`fsttopo.data.level.normalize_level`): the stored form of
    :func:`fsttopo.data.features.compute_features`."""

    name = "fsttopo-level-normalized-fbank"

    def extract(self, samples, sampling_rate: int):
        return super().extract(normalize_level(samples, sampling_rate)[0], sampling_rate)


def compute_fbank(cuts: CutSet, storage_path: str | Path, num_jobs: int = 1, progress_bar: bool = False) -> CutSet:
    """80-dim log-Mel filterbank features, 10 ms shift (:data:`FRAME_SHIFT`), of level-normalized
    audio (:class:`LevelNormalizedFbank`), stored with Lilcom.

    ``storage_path`` becomes a file ``<storage_path>.lca`` with one job, a directory of
    ``feats-<job>.lca`` files with more. With ``num_jobs > 1`` Lhotse starts worker processes:
    call this under an ``if __name__ == "__main__":`` guard. ``progress_bar``: Lhotse's tqdm bar.
    Returns the cuts with features attached, in the order of ``cuts`` whatever ``num_jobs``.
    """
    import torch

    torch.set_num_threads(1)
    Path(storage_path).parent.mkdir(parents=True, exist_ok=True)
    extractor = LevelNormalizedFbank(FbankConfig(num_mel_bins=NUM_MEL_BINS, frame_shift=FRAME_SHIFT))
    done = cuts.compute_and_store_features(
        extractor=extractor,
        storage_path=str(storage_path),
        num_jobs=num_jobs,
        storage_type=LilcomChunkyWriter,
        progress_bar=progress_bar,
    )
    # Lhotse's workers return their shares one after the other; the order is what seeded
    # draws over a split (babble sources, augmented copies, sampling) follow, so it must not
    # depend on the number of jobs
    by_id = {cut.id: cut for cut in done}
    return CutSet.from_cuts(by_id[cut.id] for cut in cuts)


def write_parts(prepared: dict, manifest_dir: Path, normalize) -> dict[str, int]:
    """Write the output of a Lhotse corpus recipe (``{part: {"recordings", "supervisions"}}``) as
    ``recordings_<part>`` / ``supervisions_<part>`` manifests (part names lowercased), each
    supervision passed through ``normalize``. Returns the supervisions per part."""
    manifest_dir = Path(manifest_dir)
    manifest_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for part, sets in sorted(prepared.items()):
        name = part.lower()
        sets["recordings"].to_file(manifest_dir / f"recordings_{name}.jsonl.gz")
        supervisions = SupervisionSet.from_segments(normalize(s) for s in sets["supervisions"])
        supervisions.to_file(manifest_dir / f"supervisions_{name}.jsonl.gz")
        counts[name] = len(supervisions)
    return counts


def write_cuts(manifest_dir: Path, fbank_dir: Path, num_jobs: int = 1) -> dict[str, int]:
    """Cuts with Fbank features for every part of ``manifest_dir``.

    A part is a pair ``recordings_<part>.jsonl.gz`` + ``supervisions_<part>.jsonl.gz``; writes
    ``cuts_<part>.jsonl.gz`` beside them and the features to ``fbank_dir/feats_<part>``. Returns
    the number of cuts per part.
    """
    from lhotse import load_manifest

    manifest_dir, fbank_dir = Path(manifest_dir), Path(fbank_dir)
    counts = {}
    for path in sorted(manifest_dir.glob("recordings_*.jsonl.gz")):
        part = path.name[len("recordings_"):-len(".jsonl.gz")]
        supervisions = load_manifest(manifest_dir / f"supervisions_{part}.jsonl.gz")
        cuts = cuts_from_manifests(load_manifest(path), supervisions)
        cuts = compute_fbank(cuts, fbank_dir / f"feats_{part}", num_jobs)
        cuts.to_file(manifest_dir / f"cuts_{part}.jsonl.gz")
        counts[part] = len(cuts)
    if not counts:
        raise ValueError(f"no recordings_<part>.jsonl.gz manifests in {manifest_dir}")
    return counts
