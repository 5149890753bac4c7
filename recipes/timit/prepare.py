"""TIMIT (a local copy) as Lhotse manifests with word/phone alignments and Fbank features.

    python recipes/timit/prepare.py --corpus /data/timit --out data/timit

The corpus directory has the layout Lhotse's ``prepare_timit`` reads:
``CORPUS/data/{TRAIN,TEST}/DR*/SPEAKER/*.WAV`` with ``.TXT``, ``.WRD`` and ``.PHN`` beside each
``.WAV`` (upper case; for the LDC layout ``TIMIT/TRAIN/...`` run ``ln -s . TIMIT/data``). Parts:
TRAIN, DEV (50 speakers of TEST) and TEST (the 24-speaker core test set).

Stages (``--stages``): ``manifests`` (Lhotse's recipe with the 61 phones; then text = the
lowercase words of ``.WRD``, phones mapped to the 39 CMUdict phones by
``recipes/timit/phones.py``, pauses as gaps), ``features`` (80-dim Fbank, 10 ms).

Output: ``OUT/manifests/{recordings,supervisions,cuts}_<part>.jsonl.gz`` (part in train, dev,
test) and ``OUT/fbank/feats_<part>``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `recipes` and `fsttopo` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lhotse import SupervisionSegment
from lhotse.recipes import prepare_timit

from fsttopo.data.manifests import alignment_items, item_spans, write_cuts, write_parts
from recipes.timit.phones import timit_to_arpabet

__all__ = ["normalize_supervision", "manifests", "features", "main"]


def normalize_supervision(supervision: SupervisionSegment) -> SupervisionSegment:
    """Text from the aligned words (lowercase); phones as 39 ARPAbet phones without pauses."""
    words = [(w.lower(), s, e) for w, s, e in item_spans(supervision.alignment["word"])]
    phones = timit_to_arpabet(item_spans(supervision.alignment["phone"]))
    return SupervisionSegment(
        id=supervision.id, recording_id=supervision.recording_id, start=supervision.start,
        duration=supervision.duration, channel=supervision.channel, text=" ".join(w for w, _, _ in words),
        language=supervision.language, speaker=supervision.speaker, gender=supervision.gender,
        alignment={"word": alignment_items(words), "phone": alignment_items(phones)},
    )


def manifests(corpus: Path, out: Path, jobs: int = 1) -> dict[str, int]:
    """Write ``recordings_<part>`` and ``supervisions_<part>`` manifests; returns utterances per part."""
    if not (corpus / "data").is_dir():
        raise ValueError(f"{corpus} has no data/ directory (expected CORPUS/data/TRAIN/DR*/SPEAKER/*.WAV)")
    prepared = prepare_timit(corpus, num_phones=60, num_jobs=jobs)
    return write_parts(prepared, out / "manifests", normalize_supervision)


def features(out: Path, jobs: int = 1) -> dict[str, int]:
    """Fbank features of every part in ``out/manifests``; writes ``cuts_<part>.jsonl.gz``."""
    return write_cuts(out / "manifests", out / "fbank", jobs)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="TIMIT directory (with data/)")
    parser.add_argument("--out", type=Path, default=Path("data/timit"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--stages", default="manifests,features")
    args = parser.parse_args(argv)
    stages = [s for s in args.stages.split(",") if s]
    if set(stages) - {"manifests", "features"}:
        parser.error("stages are manifests and features")
    if "manifests" in stages:
        print("manifests:", manifests(args.corpus, args.out, args.jobs))
    if "features" in stages:
        print("features:", features(args.out, args.jobs))


if __name__ == "__main__":
    main()
