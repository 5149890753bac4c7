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

import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `recipes` and `fsttopo` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lhotse import SupervisionSegment
from lhotse.recipes import prepare_timit

from fsttopo.data.manifests import alignment_items, item_spans, write_parts
from recipes.stages import corpus_parser, run_stages
from recipes.timit.phones import timit_to_arpabet

__all__ = ["normalize_supervision", "manifests", "main"]


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


def main(argv: Sequence[str] | None = None) -> None:
    parser = corpus_parser(__doc__, "data/timit")
    parser.add_argument("--corpus", type=Path, required=True, help="TIMIT directory (with data/)")
    run_stages(parser, argv, lambda args: manifests(args.corpus, args.out, args.jobs))


if __name__ == "__main__":
    main()
