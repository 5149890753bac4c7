"""Checks of a corpus directory in the layout of Montreal Forced Aligner corpora: ``NAME.wav`` (or
``.flac``, ``.ogg``) with ``NAME.txt`` or ``NAME.lab`` holding its words, in any sub-directories
(e.g. one per speaker).

One implementation for ``fsttopo validate`` (every problem, nothing aligned) and ``fsttopo
align-dir`` (a file with a problem is skipped and listed in ``failed.tsv``): :func:`scan_directory`
pairs audio files with transcripts, :func:`check_utterance` checks one pair against an aligner
(audio header, words in the lexicon, enough model frames for the phones), :func:`validate_corpus`
does both for a whole directory. Each problem is a :class:`Problem` with a reason code of
:data:`REASONS`. The scanner and the problems live in :mod:`fsttopo.data.corpus_dir` (no aligner
needed, ``fsttopo prepare`` uses them too) and are re-exported here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .aligner import FEATURE_SHIFT, SAMPLE_RATE, Aligner
from .audio_batches import AudioInfo
from .data.corpus_dir import (AUDIO_SUFFIXES, REASONS, TRANSCRIPT_SUFFIXES, DirectoryUtterance, Problem, check_audio,
                              problem_summary, scan_directory, tsv_field, write_problems)
from .data.pronounce import g2p_applies

__all__ = ["AUDIO_SUFFIXES", "TRANSCRIPT_SUFFIXES", "REASONS", "Problem", "DirectoryUtterance", "FileCheck",
           "CorpusReport", "scan_directory", "check_audio", "check_utterance", "validate_corpus", "format_report",
           "problem_summary", "tsv_field", "write_problems"]


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


