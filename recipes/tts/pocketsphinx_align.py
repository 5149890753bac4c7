"""The outside baseline: forced alignment with pocketsphinx 5.1.1 (the PyPI wheel and the US-English
acoustic model and CMUdict it ships), as fsttopo :class:`~fsttopo.data.alignment.UtteranceAlignment`.

Each utterance is aligned by its own decoder pass in pocketsphinx's alignment mode
(``Decoder.set_align_text``, the whole recording as one utterance with batch cepstral mean
normalization, ``process_raw(..., full_utt=True)``). The words are the transcript as fsttopo
normalizes it (:func:`fsttopo.data.pronounce.pronounce_transcript`), so both aligners align the
same words; a word missing from pocketsphinx's dictionary is added with fsttopo's pronunciation
(CMUdict's ARPAbet without stress, or the G2P's guess). pocketsphinx picks among a word's
alternative pronunciations (``to(3)``) itself. A word spans its first to its last 10 ms frame
(``start_frame / frate`` to ``(end_frame + 1) / frate`` seconds, as ``pocketsphinx align`` writes
them); silences and fillers between words are dropped. No phones are returned (that needs a second
pass, ``set_alignment``, which the word-boundary table does not use).

An utterance pocketsphinx cannot align (no segmentation, or not the transcript's words) is returned
as ``None`` with the reason, never dropped.

    python recipes/tts/pocketsphinx_align.py CUTS OUT.json
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np

from fsttopo.data.alignment import TimedToken, UtteranceAlignment

__all__ = ["VERSION", "SAMPLE_RATE", "PocketsphinxResult", "PocketsphinxAligner", "align_cuts_pocketsphinx"]

VERSION = "5.1.1"
SAMPLE_RATE = 16000
_ALTERNATIVE = re.compile(r"\(\d+\)$")  # "to(3)": the third pronunciation of "to"


@dataclass
class PocketsphinxResult:
    """One utterance: its alignment, or ``None`` and why it failed; ``added`` the words given to
    pocketsphinx's dictionary with their phones (uppercase ARPAbet)."""

    utterance_id: str
    alignment: UtteranceAlignment | None
    error: str | None = None
    added: dict[str, str] | None = None


def _is_filler(word: str) -> bool:
    return word.startswith(("<", "[", "+"))


class PocketsphinxAligner:
    """A pocketsphinx decoder (default acoustic model and dictionary, no language model) that
    aligns 16 kHz mono audio to transcripts; ``lexicon`` (default: fsttopo's CMUdict lexicon)
    pronounces the words missing from pocketsphinx's dictionary."""

    def __init__(self, lexicon=None) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError as err:
            raise ImportError(f"the pocketsphinx baseline needs pocketsphinx=={VERSION} "
                              f"(pip install 'fsttopo[bench]')") from err
        from importlib.metadata import version

        if version("pocketsphinx") != VERSION:
            print(f"warning: pocketsphinx {version('pocketsphinx')} is installed; the baseline is {VERSION}",
                  file=sys.stderr)
        if lexicon is None:
            from fsttopo.data.lexicon import Lexicon

            lexicon = Lexicon.from_cmudict()
        self.lexicon = lexicon
        self.decoder = Decoder(samprate=SAMPLE_RATE, lm=None, loglevel="FATAL")
        self.frame_rate = int(self.decoder.config["frate"])
        self.added: dict[str, str] = {}

    def words(self, text: str) -> list[str]:
        """The words of ``text`` as fsttopo aligns them, each in pocketsphinx's dictionary (a missing
        word is added with fsttopo's pronunciation and listed in :attr:`added`)."""
        from fsttopo.data.pronounce import pronounce_transcript

        out = []
        for w in pronounce_transcript(self.lexicon, text, "g2p").words:
            if self.decoder.lookup_word(w.word) is None:
                phones = " ".join(p.upper() for p in w.phones)
                self.decoder.add_word(w.word, phones, True)
                self.added[w.word] = phones
            out.append(w.word)
        return out

    def align(self, samples: np.ndarray, text: str, utterance_id: str, offset: float = 0.0) -> PocketsphinxResult:
        """Align ``samples`` (16 kHz mono: int16, or float with full scale 1.0) to ``text``. Times
        are seconds from the start of ``samples`` plus ``offset``."""
        samples = np.asarray(samples)
        if samples.ndim != 1 or samples.size == 0:
            raise ValueError(f"utterance {utterance_id!r}: samples must be non-empty mono audio [N]")
        if samples.dtype != np.int16:
            samples = np.round(np.clip(samples, -1.0, 32767 / 32768) * 32768).astype(np.int16)
        duration = samples.size / SAMPLE_RATE
        words: list[str] = []
        try:
            words = self.words(text)
            self.decoder.set_align_text(" ".join(words))
            self.decoder.start_utt()
            self.decoder.process_raw(samples.tobytes(), full_utt=True)
            self.decoder.end_utt()
            # seg() is None when the search did not reach the end of the transcript
            segments = [(_ALTERNATIVE.sub("", s.word), s.start_frame, s.end_frame) for s in self.decoder.seg() or ()]
        except (RuntimeError, ValueError) as err:
            return PocketsphinxResult(utterance_id, None, f"pocketsphinx failed: {err}",
                                      {w: self.added[w] for w in words if w in self.added} or None)
        added = {w: self.added[w] for w in words if w in self.added} or None
        aligned = [s for s in segments if not _is_filler(s[0])]
        if [s[0] for s in aligned] != words:
            reason = (f"aligned {' '.join(s[0] for s in aligned)!r}, not the transcript" if aligned else
                      "no alignment reached the end of the transcript")
            return PocketsphinxResult(utterance_id, None, reason, added)
        tokens = [TimedToken(w, offset + min(a / self.frame_rate, duration), offset + min((b + 1) / self.frame_rate,
                                                                                           duration))
                  for w, a, b in aligned]
        return PocketsphinxResult(utterance_id, UtteranceAlignment(utterance_id, " ".join(words), duration, tokens,
                                                                   start=offset), None, added)


def _read_16k(path: str) -> np.ndarray:
    import soundfile

    samples, sr = soundfile.read(path, dtype="int16", always_2d=True)
    if sr != SAMPLE_RATE or samples.shape[1] != 1:
        raise ValueError(f"{path}: pocketsphinx's model needs 16 kHz mono audio, got {sr} Hz, {samples.shape[1]} ch")
    return samples[:, 0]


def align_cuts_pocketsphinx(cuts: Iterable, aligner: PocketsphinxAligner | None = None,
                            progress: bool = True) -> list[PocketsphinxResult]:
    """Align every cut (16 kHz mono recording, one supervision, the cut covering the recording from
    ``cut.start``) with pocketsphinx; times are relative to the recording."""
    from tqdm import tqdm

    aligner = aligner or PocketsphinxAligner()
    out = []
    for cut in tqdm(list(cuts), desc="pocketsphinx", unit="utt", disable=not progress):
        sup = cut.supervisions[0]
        samples = _read_16k(cut.recording.sources[0].source)
        first = int(round(cut.start * SAMPLE_RATE))
        samples = samples[first: first + int(round(cut.duration * SAMPLE_RATE))]
        out.append(aligner.align(samples, sup.text, sup.id, offset=cut.start))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    from lhotse import load_manifest_lazy

    from fsttopo.data.export import write_json

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cuts", help="a Lhotse CutSet manifest (16 kHz mono recordings)")
    p.add_argument("out", type=Path, help="alignments as fsttopo JSON")
    args = p.parse_args(argv)
    start = time.perf_counter()
    results = align_cuts_pocketsphinx(load_manifest_lazy(args.cuts))
    write_json([r.alignment for r in results if r.alignment is not None], args.out)
    failed = [r for r in results if r.alignment is None]
    for r in failed:
        print(f"{r.utterance_id}: {r.error}", file=sys.stderr)
    print(f"{len(results) - len(failed)} of {len(results)} utterances aligned in {time.perf_counter() - start:.1f} s "
          f"-> {args.out}")


if __name__ == "__main__":
    main()
