"""Checks of a corpus directory in the layout of Montreal Forced Aligner corpora: ``NAME.wav`` (or
``.flac``, ``.ogg``) with ``NAME.txt`` or ``NAME.lab`` holding its words, in any sub-directories
(e.g. one per speaker).

One implementation for ``fsttopo validate`` (every problem, nothing aligned) and ``fsttopo
align-dir`` (a file with a problem is skipped and listed in ``failed.tsv``): :func:`scan_directory`
pairs audio files with transcripts, :func:`check_utterance` checks one pair against an aligner
(audio header, words in the lexicon, enough model frames for the phones), :func:`validate_corpus`
does both for a whole directory. Each problem is a :class:`Problem` with a reason code of
:data:`REASONS`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .aligner import FEATURE_SHIFT, SAMPLE_RATE, Aligner
from .audio_batches import AudioInfo, audio_info
from .data.pronounce import g2p_applies

__all__ = ["AUDIO_SUFFIXES", "TRANSCRIPT_SUFFIXES", "REASONS", "Problem", "DirectoryUtterance", "FileCheck",
           "CorpusReport", "scan_directory", "check_audio", "check_utterance", "validate_corpus", "format_report",
           "problem_summary", "tsv_field", "write_problems"]

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
    "unknown-words": "words outside the lexicon with --oov error (add them with --lexicon, or use --oov g2p)",
    "no-path": "no alignment of the transcript fits the audio (transcript too long, or audio cut short)",
    "align-error": "aligning or writing the alignment failed",
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


@dataclass
class FileCheck:
    """:func:`check_utterance`'s answer: the audio header (None when unreadable), the problems (none:
    ready to align) and the transcript's words outside the lexicon."""

    info: AudioInfo | None
    problems: list[Problem]
    unknown: list[str]


def _checks_unknown_words(aligner: Aligner, oov: str | None) -> bool:
    # 'error' refuses unknown words, and so does the G2P (the default: None, 'g2p') for a model whose
    # tokens are not its ARPAbet phones (a dictionary's, graphemes); 'phone-loop' aligns them.
    # A lexicon without membership (subword units) spells every word.
    refused = oov == "error" or (oov in (None, "g2p") and not g2p_applies(aligner.lexicon))
    return refused and hasattr(aligner.lexicon, "__contains__")


def _model_frames(aligner: Aligner, info: AudioInfo) -> int:
    """Model frames of the audio: samples at 16 kHz -> 10 ms feature frames (Kaldi ``snip_edges=False``
    rounds to the nearest shift) -> the frontend's downsampling."""
    import torch

    shift = round(FEATURE_SHIFT * SAMPLE_RATE)
    features = (round(info.duration * SAMPLE_RATE) + shift // 2) // shift
    return int(aligner.model.frontend.output_lengths(torch.tensor([features]))[0])


def _phone_count(aligner: Aligner, words: list[str], unknown: set[str]) -> int:
    """Tokens of the words' pronunciations; an unknown word counts as one (a phone-loop word takes at
    least one phone), so the count is a lower bound whatever the oov mode."""
    return sum(1 if w in unknown else len(aligner.lexicon.encode_words(w)[0]) for w in words)


def check_audio(path: Path, file: str) -> tuple[AudioInfo | None, list[Problem]]:
    """The header of the audio file ``path`` (None when unreadable) and its problems
    (``unreadable-audio``, ``empty-audio``); ``file`` names it in the problems."""
    try:
        info = audio_info(path)
    except ValueError as err:
        return None, [Problem(file, "unreadable-audio", str(err))]
    return info, [Problem(file, "empty-audio", f"{path.name} has no samples")] if info.duration <= 0 else []


def check_utterance(aligner: Aligner, utterance: DirectoryUtterance, oov: str | None = None) -> FileCheck:
    """Check one utterance before aligning it: the audio header is readable and has samples
    (``unreadable-audio``, ``empty-audio``), the words are in the lexicon when ``oov`` is
    ``"error"`` (``unknown-words``), the words survive normalisation (``empty-transcript``) and the
    audio has at least one model frame (``aligner.frame_shift``) per phone, the least an HMM
    topology needs (``too-short``). Passing is necessary, not sufficient: the engine may still find
    no path (e.g. CTC needs blanks between repeated labels)."""
    file = utterance.file
    info, problems = check_audio(utterance.audio, file)
    words = aligner.normalize([utterance.text])[0].split()
    if not words:
        problems.append(Problem(file, "empty-transcript", f"{utterance.transcript.name} holds only punctuation"))
        return FileCheck(info, problems, [])
    in_lexicon = getattr(aligner.lexicon, "__contains__", None)
    unknown = [w for w in dict.fromkeys(words) if in_lexicon is not None and not in_lexicon(w)]
    if unknown and _checks_unknown_words(aligner, oov):
        problems.append(Problem(file, "unknown-words", f"{len(unknown)} word(s) of {utterance.transcript.name} not "
                                f"in the lexicon: {', '.join(map(repr, unknown))}"))
    elif info is not None and info.duration > 0:
        frames, phones = _model_frames(aligner, info), _phone_count(aligner, words, set(unknown))
        if frames < phones:
            problems.append(Problem(file, "too-short", f"{info.duration:.2f} s of audio are {frames} model frames "
                                    f"({aligner.frame_shift * 1000:.0f} ms each) for {phones} phones of "
                                    f"{len(words)} words; every phone needs one"))
    return FileCheck(info, problems, unknown)


@dataclass
class CorpusReport:
    """:func:`validate_corpus`'s findings.

    Attributes:
        root: the corpus directory.
        files: audio files found.
        problems: every problem, by file path.
        unknown_words: word -> the files it occurs in (a problem only with ``oov="error"``; else they
            are pronounced by the G2P or a phone loop, listed so that a lexicon can be written).
        unknown_counts: word -> its occurrences in the corpus.
        sample_rates: sample rate (Hz) -> readable audio files with it.
        channels: channel count -> readable audio files with it.
        duration: seconds of readable audio.
    """

    root: Path
    files: int
    problems: list[Problem] = field(default_factory=list)
    unknown_words: dict[str, list[str]] = field(default_factory=dict)
    unknown_counts: Counter = field(default_factory=Counter)
    sample_rates: Counter = field(default_factory=Counter)
    channels: Counter = field(default_factory=Counter)
    duration: float = 0.0

    @property
    def failed_files(self) -> list[str]:
        """The files with at least one problem, sorted."""
        return sorted({p.file for p in self.problems})

    @property
    def clean(self) -> bool:
        return not self.problems


def validate_corpus(aligner: Aligner, directory: str | Path, oov: str | None = None) -> CorpusReport:
    """Every problem of a corpus directory, nothing aligned: :func:`scan_directory`, then
    :func:`check_utterance` on each utterance (with the aligner's lexicon and frame rate)."""
    root = Path(directory)
    utterances, problems = scan_directory(root)
    report = CorpusReport(root, len(utterances) + len({p.file for p in problems}), list(problems))
    # a file with a transcript problem may have an audio problem too
    checks = [check_audio(root / file, file) for file in sorted({p.file for p in problems})]
    for utt in utterances:
        check = check_utterance(aligner, utt, oov)
        checks.append((check.info, check.problems))
        if check.unknown:
            words = aligner.normalize([utt.text])[0].split()
            for word in check.unknown:
                report.unknown_words.setdefault(word, []).append(utt.file)
                report.unknown_counts[word] += words.count(word)
    for info, found in checks:
        report.problems += found
        if info is not None:
            report.sample_rates[info.sample_rate] += 1
            report.channels[info.channels] += 1
            report.duration += info.duration
    report.problems.sort(key=lambda p: p.file)
    return report


def format_report(report: CorpusReport) -> str:
    """A human-readable summary: totals, the problems by reason, the unknown words by frequency."""
    rates = ", ".join(f"{rate} Hz: {n}" for rate, n in sorted(report.sample_rates.items()))
    channels = ", ".join(f"{c} channel{'s' if c > 1 else ''}: {n}" for c, n in sorted(report.channels.items()))
    lines = [f"{report.root}: {report.files} audio files, {report.duration / 3600:.2f} h "
             f"({report.duration:.1f} s) readable audio",
             f"sample rates: {rates or 'none readable'}; {channels or 'no channels'}"]
    by_reason = Counter(p.reason for p in report.problems)
    if not report.problems:
        lines.append("no problems found")
    else:
        lines.append(f"{len(report.failed_files)} of {report.files} files cannot be aligned:")
        for reason, n in by_reason.most_common():
            lines.append(f"  {reason} ({n}): {REASONS[reason]}")
            lines += [f"    {p.file}: {p.message}" for p in report.problems if p.reason == reason]
    if report.unknown_words:
        lines.append(f"{len(report.unknown_words)} unknown word(s), most frequent first (count, files):")
        for word, n in report.unknown_counts.most_common():
            files = report.unknown_words[word]
            lines.append(f"  {word}\t{n}\t{', '.join(files[:5])}{', ...' if len(files) > 5 else ''}")
    return "\n".join(lines) + "\n"


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
    from .data.atomic import write_text_atomic

    rows = ["file\treason\tmessage\n"] + [f"{tsv_field(p.file)}\t{p.reason}\t{tsv_field(p.message)}\n"
                                          for p in problems]
    return write_text_atomic(path, "".join(rows))
