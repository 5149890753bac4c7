"""Align a directory of recordings with transcripts beside them (the layout of Montreal Forced
Aligner corpora): ``name.wav`` (or ``.flac``, ``.ogg``) with ``name.txt`` or ``name.lab`` holding its
words, in any sub-directories (e.g. one per speaker). Outputs mirror the input tree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .aligner import Aligner, compute_features
from .audio_batches import audio_duration, duration_batches
from .data.alignment import UtteranceAlignment
from .engine import NoPathError

__all__ = ["AUDIO_SUFFIXES", "TRANSCRIPT_SUFFIXES", "DirectoryUtterance", "find_utterances", "align_directory"]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
TRANSCRIPT_SUFFIXES = (".txt", ".lab")


@dataclass(frozen=True)
class DirectoryUtterance:
    """One recording of the directory: its audio file, its transcript, its path relative to the root
    without suffix (``speaker1/utt3``; the utterance id replaces ``/`` with ``_``)."""

    audio: Path
    text: str
    relative: Path

    @property
    def utterance_id(self) -> str:
        return "_".join(self.relative.parts)


def find_utterances(directory: str | Path) -> list[DirectoryUtterance]:
    """Every audio file under ``directory`` with its transcript, sorted by path. ValueError names the
    audio files without a (non-empty) transcript and the files with two of them."""
    root = Path(directory)
    if not root.is_dir():
        raise ValueError(f"{root} is not a directory")
    audio = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not audio:
        raise ValueError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) under {root}")
    out, missing, twice = [], [], []
    for path in audio:
        texts = [path.with_suffix(s) for s in TRANSCRIPT_SUFFIXES if path.with_suffix(s).is_file()]
        if len(texts) > 1:
            twice.append(str(path.relative_to(root)))
            continue
        text = " ".join(texts[0].read_text(encoding="utf-8").split()) if texts else ""
        if not text:
            missing.append(str(path.relative_to(root)))
            continue
        out.append(DirectoryUtterance(path, text, path.relative_to(root).with_suffix("")))
    if missing or twice:
        problems = ([f"{len(missing)} without a transcript ({', '.join(TRANSCRIPT_SUFFIXES)}) or with an empty "
                     f"one: {', '.join(missing[:10])}"] if missing else []) + \
                   ([f"{len(twice)} with both a .txt and a .lab transcript: {', '.join(twice[:10])}"] if twice else [])
        raise ValueError(f"audio files under {root}: " + "; ".join(problems))
    return out


def align_directory(aligner: Aligner, directory: str | Path, out_dir: str | Path, max_duration: float = 200.0,
                    **options) -> list[UtteranceAlignment]:
    """Align every utterance of :func:`find_utterances` in batches of up to ``max_duration`` seconds
    of audio (longest first; features are computed per batch), with a progress bar, and write
    ``REL.json`` and ``REL.TextGrid`` per utterance, ``alignments.ctm`` for all and ``confidence.tsv``
    (utterances by :attr:`~fsttopo.data.alignment.UtteranceAlignment.confidence`, lowest first: the
    transcripts to check) into ``out_dir``. An utterance whose transcript fits no alignment of its audio is skipped and
    listed in ``failed.tsv`` (the rest of its batch is then aligned one by one); the returned list
    holds the aligned utterances. ``options`` go to :meth:`Aligner.align`.

    With ``oov="error"`` every transcript is checked against the lexicon before anything is aligned:
    the error names all missing words at once (add them with a lexicon file). With a prior scale the prior is the batch's
    average posterior, so the boundaries depend slightly on the batching (``max_duration``)."""
    from tqdm import tqdm

    from .data.export import write_ctm, write_json, write_textgrid

    utterances = find_utterances(directory)
    missing: dict[str, list[str]] = {}
    if hasattr(aligner.lexicon, "__contains__") and options.get("oov") == "error":  # subword units spell all
        for utt in utterances:
            for word in dict.fromkeys(aligner.normalize([utt.text])[0].split()):
                if word not in aligner.lexicon:
                    missing.setdefault(word, []).append(str(utt.relative))
    if missing:
        listed = "; ".join(f"{w!r} ({', '.join(files[:3])}{', ...' if len(files) > 3 else ''})"
                           for w, files in list(missing.items())[:20])
        raise ValueError(f"{len(missing)} word(s) not in the lexicon: {listed}; add them with a lexicon file "
                         "('word PHONE ...' lines; --lexicon on the command line)")
    batches = duration_batches({utt: audio_duration(utt.audio) for utt in utterances}, max_duration)
    out = Path(out_dir)
    alignments: dict[DirectoryUtterance, UtteranceAlignment] = {}
    failed: list[DirectoryUtterance] = []
    for batch in tqdm(batches, desc="aligning", unit="batch"):
        features = [compute_features(u.audio) for u in batch]
        try:
            result = aligner.align(features, [u.text for u in batch], [u.utterance_id for u in batch], **options)
            done = list(zip(batch, result.alignments))
        except NoPathError:  # an utterance whose transcript does not fit its audio: align the others alone
            done = []
            for utt, feats in zip(batch, features):
                try:
                    done.append((utt, aligner.align([feats], [utt.text], [utt.utterance_id], **options).alignments[0]))
                except NoPathError:
                    failed.append(utt)
        for utt, ali in done:
            target = out / utt.relative
            target.parent.mkdir(parents=True, exist_ok=True)
            write_json(ali, target.with_suffix(".json"))
            write_textgrid(ali, target.with_suffix(".TextGrid"))
            alignments[utt] = ali
    out.mkdir(parents=True, exist_ok=True)
    (out / "failed.tsv").write_text("".join(f"{u.relative}\tno alignment fits the audio (transcript too long for "
                                            f"it, or the audio cut short)\n" for u in sorted(failed, key=str)),
                                    encoding="utf-8")
    ordered = [alignments[u] for u in utterances if u in alignments]
    write_ctm(ordered, out / "alignments.ctm")
    scored = sorted((a.confidence, str(u.relative)) for u, a in alignments.items() if a.confidence is not None)
    (out / "confidence.tsv").write_text("".join(f"{c:.4f}\t{rel}\n" for c, rel in scored), encoding="utf-8")
    return ordered
