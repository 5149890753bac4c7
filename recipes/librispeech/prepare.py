"""LibriSpeech (a local copy) as Lhotse manifests with Fbank features.

    python recipes/librispeech/prepare.py --corpus /data/LibriSpeech --out data/librispeech \
        [--alignments /data/LibriSpeech-Alignments] [--parts dev-clean,test-clean]

Stages (``--stages``): ``manifests`` (Lhotse's ``prepare_librispeech``; text lowercased; word
alignments where the corpus comes with the Montreal-Forced-Aligner alignments of
github.com/CorentinJ/librispeech-alignments, ``*.alignment.txt`` beside the transcripts; their
silences, empty words, are dropped: pauses are gaps), then ``features`` (80-dim Fbank, 10 ms).
LibriSpeech has no phone alignments.

Output: ``OUT/manifests/{recordings,supervisions,cuts}_<part>.jsonl.gz`` and ``OUT/fbank/feats_<part>``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `recipes` and `fsttopo` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lhotse import SupervisionSegment
from lhotse.recipes import prepare_librispeech

from fsttopo.data.manifests import alignment_items, item_spans, write_parts
from recipes.stages import corpus_parser, run_stages

__all__ = ["normalize_supervision", "manifests", "main"]


def normalize_supervision(supervision: SupervisionSegment) -> SupervisionSegment:
    """Lowercase text; word alignment (if any) lowercased, without the empty-word silences."""
    text = supervision.text.lower()
    alignment = None
    if supervision.alignment and "word" in supervision.alignment:
        words = [(w.lower(), s, e) for w, s, e in item_spans(supervision.alignment["word"]) if w]
        if [w for w, _, _ in words] != text.split():
            raise ValueError(f"{supervision.id}: aligned words {[w for w, _, _ in words]} != text {text!r}")
        alignment = {"word": alignment_items(words)}
    return SupervisionSegment(
        id=supervision.id, recording_id=supervision.recording_id, start=supervision.start,
        duration=supervision.duration, channel=supervision.channel, text=text, language=supervision.language,
        speaker=supervision.speaker, alignment=alignment,
    )


def manifests(corpus: Path, out: Path, parts: Sequence[str] | str = "auto", alignments: Path | None = None,
              jobs: int = 1) -> dict[str, int]:
    """Write ``recordings_<part>`` and ``supervisions_<part>`` manifests; returns utterances per part."""
    prepared = prepare_librispeech(corpus, alignments_dir=alignments, dataset_parts=parts, num_jobs=jobs)
    return write_parts(prepared, out / "manifests", normalize_supervision)


def main(argv: Sequence[str] | None = None) -> None:
    parser = corpus_parser(__doc__, "data/librispeech")
    parser.add_argument("--corpus", type=Path, required=True, help="directory with the LibriSpeech parts")
    parser.add_argument("--alignments", type=Path, default=None, help="directory of *.alignment.txt files")
    parser.add_argument("--parts", default="auto", help="comma-separated parts, or 'auto' (all found)")

    def run(args):
        parts = "auto" if args.parts == "auto" else [p for p in args.parts.split(",") if p]
        return manifests(args.corpus, args.out, parts, args.alignments, args.jobs)

    run_stages(parser, argv, run)


if __name__ == "__main__":
    main()
