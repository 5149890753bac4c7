"""A corpus directory in the layout of Montreal Forced Aligner corpora: ``NAME.wav`` (or ``.flac``,
``.ogg``) with ``NAME.txt`` or ``NAME.lab`` holding its words, in any sub-directories (e.g. one per
speaker).

The I/O layer shared by ``fsttopo validate`` / ``align-dir`` (:mod:`fsttopo.corpus_check`, which
adds the checks against an aligner) and ``fsttopo prepare`` (:mod:`fsttopo.data.corpus`):
:func:`scan_directory` pairs audio files with transcripts, :func:`check_audio` reads an audio
header. Each problem is a :class:`Problem` with a reason code of :data:`REASONS`; ``failed.tsv``
lists them (:func:`write_problems`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..audio_batches import AudioInfo, audio_info
from .atomic import write_text_atomic

__all__ = ["AUDIO_SUFFIXES", "TRANSCRIPT_SUFFIXES", "REASONS", "Problem", "DirectoryUtterance", "scan_directory",
           "check_audio", "problem_summary", "tsv_field", "write_problems"]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
TRANSCRIPT_SUFFIXES = (".txt", ".lab")

REASONS = {
    "missing-transcript": f"no transcript ({' or '.join(TRANSCRIPT_SUFFIXES)}) beside the audio file",
    "empty-transcript": "the transcript holds no words",
    "undecodable-transcript": "the transcript is not UTF-8 text",
    "unreadable-transcript": "the transcript file cannot be read (permissions, I/O error)",
    "two-transcripts": "the audio file has both a .txt and a .lab transcript",
    "duplicate-audio": "another audio file has the same path but for its audio suffix (their outputs would collide)",
    "unreadable-audio": "the audio file cannot be read",
    "empty-audio": "the audio file has no samples",
    "too-short": "the audio has fewer model frames than the transcript has phones",
    "short-audio": "the audio is shorter than 40 ms per word of the transcript (fsttopo prepare)",
    "bad-textgrid": "the TextGrid beside the audio cannot be read, its words are not the transcript's, or it "
                    "reaches past the audio (fsttopo prepare)",
    "unknown-words": "words outside the lexicon with --oov error (add them with --lexicon, or use --oov g2p)",
    "no-path": "no alignment of the transcript fits the audio (transcript too long, or audio cut short)",
    "align-error": "aligning or writing the alignment failed",
    "bad-cut": "the cut has not exactly one supervision with text (align-cuts)",
    "unreadable-features": "the cut's features cannot be loaded (align-cuts)",
}
"""Reason codes of :class:`Problem`, with what each means."""


@dataclass(frozen=True)
class Problem:
    """Why one audio file of a corpus cannot be aligned.

    Attributes:
        file: the audio file's path relative to the corpus root, ``/``-separated.
        reason: a key of :data:`REASONS`.
        message: the details (the unknown words, the undecodable byte, ...).
    """

    file: str
    reason: str
    message: str

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"unknown problem reason {self.reason!r}; known: {list(REASONS)}")


@dataclass(frozen=True)
class DirectoryUtterance:
    """One audio file of a corpus with its transcript.

    Attributes:
        audio: the audio file.
        transcript: its transcript file.
        text: the transcript's words, separated by single spaces.
        file: the audio path relative to the corpus root, ``/``-separated (``spk1/utt.1.wav``).
        relative: ``file`` without its audio suffix (``spk1/utt.1``): the utterance id, and the
            outputs' path without theirs (``spk1/utt.1.json``).
    """

    audio: Path
    transcript: Path
    text: str
    file: str
    relative: str

    @property
    def utterance_id(self) -> str:
        """The relative path without the audio suffix, ``/`` kept: ``spkC/x`` and ``spkC_x`` differ."""
        return self.relative


def _read_words(path: Path) -> str:
    """The words of a transcript file; UnicodeDecodeError if it is not UTF-8 (a leading byte-order
    mark is allowed). No other encoding is guessed: a wrong guess would align the wrong words."""
    return " ".join(path.read_bytes().decode("utf-8-sig").split())


def scan_directory(directory: str | Path) -> tuple[list[DirectoryUtterance], list[Problem]]:
    """Every audio file under ``directory`` (sorted by path): the ones with exactly one readable,
    non-empty transcript as utterances, the others as problems (``missing-transcript``,
    ``empty-transcript``, ``undecodable-transcript``, ``unreadable-transcript``, ``two-transcripts``,
    ``duplicate-audio``).
    ValueError when ``directory`` is not a directory or holds no audio file."""
    root = Path(directory)
    if not root.is_dir():
        raise ValueError(f"{root} is not a directory")
    audio = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not audio:
        raise ValueError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) under {root}")
    stems = Counter(p.relative_to(root).with_suffix("").as_posix() for p in audio)
    utterances, problems = [], []
    for path in audio:
        file = path.relative_to(root).as_posix()
        relative = path.relative_to(root).with_suffix("").as_posix()
        if stems[relative] > 1:
            others = [p.name for p in audio if p != path and p.relative_to(root).with_suffix("").as_posix() == relative]
            problems.append(Problem(file, "duplicate-audio", f"{file} and {', '.join(others)} differ only by their "
                                    "audio suffix and would write the same outputs; rename or remove one"))
            continue
        texts = [path.with_suffix(s) for s in TRANSCRIPT_SUFFIXES if path.with_suffix(s).is_file()]
        if len(texts) > 1:
            problems.append(Problem(file, "two-transcripts", f"both {texts[0].name} and {texts[1].name}; keep one"))
            continue
        if not texts:
            names = " nor ".join(path.with_suffix(s).name for s in TRANSCRIPT_SUFFIXES)
            problems.append(Problem(file, "missing-transcript", f"neither {names} beside it"))
            continue
        try:
            text = _read_words(texts[0])
        except UnicodeDecodeError as err:
            problems.append(Problem(file, "undecodable-transcript", f"{texts[0].name} is not UTF-8: byte "
                                    f"0x{err.object[err.start]:02x} at offset {err.start}; convert it (e.g. "
                                    f"iconv -f latin1 -t utf-8)"))
            continue
        except OSError as err:
            problems.append(Problem(file, "unreadable-transcript", f"cannot read {texts[0].name}: {err.strerror}"))
            continue
        if not text:
            problems.append(Problem(file, "empty-transcript", f"{texts[0].name} holds no words"))
            continue
        utterances.append(DirectoryUtterance(path, texts[0], text, file, relative))
    return utterances, problems


def check_audio(path: Path, file: str) -> tuple[AudioInfo | None, list[Problem]]:
    """The header of the audio file ``path`` (None when unreadable) and its problems
    (``unreadable-audio``, ``empty-audio``); ``file`` names it in the problems."""
    try:
        info = audio_info(path)
    except ValueError as err:
        return None, [Problem(file, "unreadable-audio", str(err))]
    return info, [Problem(file, "empty-audio", f"{path.name} has no samples")] if info.duration <= 0 else []


def problem_summary(problems: Iterable[Problem], files: int, verb: str = "with problems") -> str:
    """One line: ``"2 of 12 audio files with problems (1 unknown-words, 1 no-path)"``, each reason
    counted once per file."""
    pairs = {(p.file, p.reason) for p in problems}
    reasons = Counter(reason for _, reason in pairs)
    return (f"{len({f for f, _ in pairs})} of {files} audio files {verb} ("
            + ", ".join(f"{n} {reason}" for reason, n in reasons.most_common()) + ")")


def tsv_field(text: str) -> str:
    """A TSV field: tab, newline and carriage return written as ``\\t``, ``\\n``, ``\\r`` (file
    names may hold them; the manifest keeps the exact names)."""
    return text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def write_problems(problems: Iterable[Problem], path: str | Path) -> Path:
    """Write ``file<TAB>reason<TAB>message`` lines under that header (atomically)."""
    rows = ["file\treason\tmessage\n"] + [f"{tsv_field(p.file)}\t{p.reason}\t{tsv_field(p.message)}\n"
                                          for p in problems]
    return write_text_atomic(path, "".join(rows))
