"""Your own corpus -> Lhotse manifests for ``fsttopo train``: a directory in the layout of Montreal
Forced Aligner corpora (:mod:`fsttopo.data.corpus_dir`), one recording per audio file, one
supervision over the whole of it with the transcript's words as written (no normalisation: the
units of training and alignment normalise), a train/dev split by speaker.

Speaker: the first directory below the corpus root (``ROOT/anna/day1/x.wav`` is ``anna``); a file
directly in the root belongs to a speaker named after the root directory, as in MFA. (MFA names the
speaker after the file's own directory, ``day1`` above; both agree for the usual one level of
speaker directories, and the first level keeps LibriSpeech's ``speaker/chapter/`` tree together.)

Audio: 16 kHz mono for the features. Other rates are resampled when loaded (Lhotse's
``Recording.resample``, torchaudio's algorithm, as :func:`fsttopo.data.features.compute_features`);
a multi-channel file is averaged to mono, the same mix as ``fsttopo align`` makes, into a float WAV
copy ``OUT/audio/<file>.wav`` at its own rate (a Lhotse cut reads one channel of a recording, not a
mix). A ``NAME.TextGrid`` beside the audio is a reference alignment: its ``words`` and ``phones``
tiers go into ``supervision.alignment`` (seconds from the start of the recording).

The outputs are built in a staging directory swapped in for ``OUT`` at the end
(:func:`fsttopo.output_dir.staged_output`): a run interrupted at any point leaves the previous
complete output, and a re-run replaces everything, never mixing runs.
"""

from __future__ import annotations

import json
import random
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from lhotse import CutSet, Recording, RecordingSet, SupervisionSegment, SupervisionSet
from lhotse.supervision import AlignmentItem
from lhotse.utils import fastcopy

from ..audio_batches import AudioInfo
from ..output_dir import staged_output, write_manifest
from .atomic import write_text_atomic
from .corpus_dir import DirectoryUtterance, Problem, check_audio, problem_summary, scan_directory, write_problems
from .features import SAMPLE_RATE
from .manifests import alignment_items, compute_fbank, cuts_from_manifests

__all__ = ["MIN_WORD_SECONDS", "OUTPUTS", "PreparedCorpus", "prepare_corpus", "speaker_of", "split_speakers",
           "split_utterances", "read_reference", "format_prepared"]

MIN_WORD_SECONDS = 0.04
"""Audio shorter than this many seconds per word is ``short-audio``: one 40 ms frame of the shipped
models (10 ms features downsampled 4x) per word, the least a topology with one phone per word needs."""

OUTPUTS = {
    "recordings": "recordings.jsonl.gz",
    "supervisions": "supervisions.jsonl.gz",
    "cuts_train": "cuts_train.jsonl.gz",
    "cuts_dev": "cuts_dev.jsonl.gz",
    "failed": "failed.tsv",
    "summary": "prepare.json",
}
"""The files of a prepared directory (besides ``feats/`` with the features and ``audio/`` with the
mono copies of multi-channel files)."""

_END_TOLERANCE = 0.01  # seconds a TextGrid may reach past the audio (header rounding); clipped


@dataclass
class PreparedCorpus:
    """What :func:`prepare_corpus` wrote.

    Attributes:
        out: the output directory.
        paths: output name (a key of :data:`OUTPUTS`) -> its file; no ``"cuts_dev"`` when the dev
            split is empty (Lhotse cannot read an empty cut manifest back).
        train_speakers, dev_speakers: the speakers of each split, sorted (with ``split == "utterance"``
            both are the one speaker).
        split: ``"speaker"`` (no speaker in both splits) or ``"utterance"`` (a single speaker: its
            utterances are split).
        utterances: split (``"train"``, ``"dev"``) -> number of cuts.
        hours: split -> hours of audio.
        files: audio files found.
        problems: the files left out, with their reasons (as in ``failed.tsv``).
        features: whether Fbank features are stored (else training computes them from the audio).
    """

    out: Path
    paths: dict[str, Path]
    train_speakers: list[str]
    dev_speakers: list[str]
    split: str
    utterances: dict[str, int]
    hours: dict[str, float]
    files: int
    problems: list[Problem] = field(default_factory=list)
    features: bool = True


def speaker_of(relative: str, root_name: str) -> str:
    """The speaker of the audio file ``relative`` (``/``-separated, below the corpus root): its first
    directory, or ``root_name`` (the corpus directory's name) for a file directly in the root."""
    head, sep, _ = relative.partition("/")
    return head if sep else root_name


def split_speakers(speakers: list[str], dev_speakers: list[str] | None, dev_fraction: float,
                   seed: int) -> tuple[list[str], list[str]]:
    """``(train, dev)`` speakers, each sorted. ``dev_speakers`` names the dev ones (ValueError for a
    name that is not a speaker, or all of them); else ``round(dev_fraction * n)`` speakers drawn with
    ``seed``, at least 1 and at most ``n - 1`` when ``dev_fraction > 0`` and ``n >= 2``."""
    speakers = sorted(set(speakers))
    if dev_speakers is not None:
        unknown = sorted(set(dev_speakers) - set(speakers))
        if unknown:
            raise ValueError(f"dev speaker(s) {', '.join(map(repr, unknown))} not in the corpus; its speakers: "
                             f"{', '.join(map(repr, speakers))}")
        dev = sorted(set(dev_speakers))
        if len(dev) == len(speakers):
            raise ValueError(f"every speaker ({len(speakers)}) is a dev speaker; leave some for training")
    else:
        count = min(max(round(dev_fraction * len(speakers)), 1), len(speakers) - 1) if dev_fraction > 0 else 0
        dev = sorted(random.Random(seed).sample(speakers, count))
    return [s for s in speakers if s not in dev], dev


def split_utterances(ids: list[str], dev_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """``(train, dev)`` utterance ids, each sorted: ``round(dev_fraction * n)`` drawn with ``seed``
    for dev, at least 1 and at most ``n - 1`` when ``dev_fraction > 0`` and ``n >= 2``."""
    ids = sorted(ids)
    count = min(max(round(dev_fraction * len(ids)), 1), len(ids) - 1) if dev_fraction > 0 and len(ids) > 1 else 0
    dev = set(random.Random(seed).sample(ids, count))
    return [i for i in ids if i not in dev], sorted(dev)


def _comparable(words: list[str]) -> list[str]:
    """Words casefolded, punctuation stripped from their ends, empty ones dropped: how a transcript
    (``Ciao, mondo!``) and the word tier of an aligner's TextGrid (``ciao mondo``) are compared."""
    out = []
    for word in words:
        chars = list(word.casefold())
        while chars and unicodedata.category(chars[0]).startswith("P"):
            chars.pop(0)
        while chars and unicodedata.category(chars[-1]).startswith("P"):
            chars.pop()
        if chars:
            out.append("".join(chars))
    return out


def _clipped(items: list[AlignmentItem], duration: float) -> list[AlignmentItem]:
    """Items ending at most ``_END_TOLERANCE`` s after ``duration`` clipped to it; ValueError beyond."""
    out = []
    for item in items:
        if item.end > duration + _END_TOLERANCE:
            raise ValueError(f"{item.symbol!r} ends at {item.end:.3f} s, after the audio ({duration:.3f} s)")
        end = min(item.end, duration)
        out.append(AlignmentItem(item.symbol, min(item.start, end), round(end - min(item.start, end), 8)))
    return out


def read_reference(path: Path, text: str, duration: float) -> dict[str, list[AlignmentItem]]:
    """The reference alignment in the TextGrid ``path`` (tiers ``words`` and, optionally, ``phones``):
    ``{"word": [...], "phone": [...]}`` items in seconds, ``"phone"`` only when the tier has phones.
    ValueError naming the file when it cannot be read, its words are not those of ``text`` (compared
    casefolded, without punctuation), or it reaches past the audio (``duration`` seconds)."""
    from .export import read_textgrid

    try:
        reference = read_textgrid(path)
        if _comparable(text.split()) != _comparable([t.symbol for t in reference.words]):
            raise ValueError(f"its words {reference.text!r} are not the transcript's {text!r}")
        alignment = {"word": _clipped(alignment_items((t.symbol, t.start, t.end) for t in reference.words), duration)}
        if reference.phones:
            alignment["phone"] = _clipped(alignment_items((t.symbol, t.start, t.end) for t in reference.phones),
                                          duration)
    except Exception as err:  # praatio raises its own errors for a malformed file
        raise ValueError(f"{path.name}: {err}") from err
    return alignment


def _short_audio(utt: DirectoryUtterance, info: AudioInfo) -> Problem | None:
    """``short-audio`` when the audio has less than :data:`MIN_WORD_SECONDS` per word."""
    words = len(utt.text.split())
    if info.duration >= MIN_WORD_SECONDS * words:
        return None
    return Problem(utt.file, "short-audio", f"{info.duration:.3f} s of audio for {words} words; at least "
                   f"{MIN_WORD_SECONDS * words:.2f} s ({MIN_WORD_SECONDS * 1000:.0f} ms per word) are needed")


def _mono_copy(utt: DirectoryUtterance, audio_dir: Path) -> Path:
    """Average the channels of ``utt.audio`` into ``audio_dir/<relative>.wav`` (float32, same rate)."""
    import soundfile

    samples, rate = soundfile.read(str(utt.audio), dtype="float32", always_2d=True)
    path = audio_dir / f"{utt.relative}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), samples.mean(axis=1), rate, subtype="FLOAT")
    return path


def _recording(utt: DirectoryUtterance, info: AudioInfo, audio_dir: Path) -> Recording:
    """The recording of ``utt`` (id: its relative path), mono (:func:`_mono_copy` for several
    channels) and resampled to 16 kHz when loaded."""
    path = _mono_copy(utt, audio_dir) if info.channels > 1 else utt.audio
    recording = Recording.from_file(path, recording_id=utt.relative)
    return recording.resample(SAMPLE_RATE) if recording.sampling_rate != SAMPLE_RATE else recording


def _supervision(utt: DirectoryUtterance, recording: Recording, speaker: str) -> SupervisionSegment:
    """One supervision over the whole recording: the words as written, the speaker, and the reference
    alignment of a ``NAME.TextGrid`` beside the audio (ValueError when it is unusable)."""
    textgrid = utt.audio.with_suffix(".TextGrid")
    alignment = read_reference(textgrid, utt.text, recording.duration) if textgrid.is_file() else None
    return SupervisionSegment(id=recording.id, recording_id=recording.id, start=0.0, duration=recording.duration,
                              channel=0, text=utt.text, speaker=speaker, alignment=alignment)


def _usable(utterances: list[DirectoryUtterance], root_name: str, audio_dir: Path,
            progress: bool) -> tuple[list[Recording], list[SupervisionSegment], list[Problem]]:
    """The recordings and supervisions of the utterances that pass :func:`check_audio`,
    :func:`_short_audio` and whose TextGrid (if any) is usable, and the problems of the others."""
    from tqdm import tqdm

    recordings, supervisions, problems = [], [], []
    for utt in tqdm(utterances, desc="reading the corpus", unit="file", disable=not progress):
        info, found = check_audio(utt.audio, utt.file)
        short = _short_audio(utt, info) if info is not None and not found else None
        if found or short:
            problems += found or [short]
            continue
        try:
            recording = _recording(utt, info, audio_dir)
        except (ValueError, OSError, RuntimeError) as err:  # header readable, samples not
            problems.append(Problem(utt.file, "unreadable-audio", f"{utt.audio.name}: {err}"))
            continue
        try:
            supervisions.append(_supervision(utt, recording, speaker_of(utt.relative, root_name)))
        except ValueError as err:
            problems.append(Problem(utt.file, "bad-textgrid", str(err)))
            continue
        recordings.append(recording)
    return recordings, supervisions, problems


def _retarget(cuts: CutSet, staged: Path, target: Path) -> CutSet:
    """The cuts with the paths of files written under ``staged`` (features, mono copies) moved to
    ``target``, where the staged directory is about to be swapped in."""

    def move(path: str) -> str:
        return str(target / Path(path).relative_to(staged)) if Path(path).is_relative_to(staged) else path

    out = []
    for cut in cuts:
        recording = fastcopy(cut.recording, sources=[fastcopy(s, source=move(s.source)) for s in cut.recording.sources])
        features = fastcopy(cut.features, storage_path=move(cut.features.storage_path)) if cut.has_features else None
        out.append(fastcopy(cut, recording=recording, features=features))
    return CutSet.from_cuts(out)


def _split(supervisions: list[SupervisionSegment], dev_speakers: list[str] | None, dev_fraction: float,
           seed: int) -> tuple[set[str], list[str], list[str], str]:
    """``(dev cut ids, train speakers, dev speakers, split kind)``: by speaker, or by utterance when
    the corpus has a single speaker (and ``dev_speakers`` is not given)."""
    speakers = sorted({s.speaker for s in supervisions})
    if len(speakers) == 1 and dev_speakers is None:
        _, dev_ids = split_utterances([s.id for s in supervisions], dev_fraction, seed)
        return set(dev_ids), speakers, speakers if dev_ids else [], "utterance"
    train, dev = split_speakers(speakers, dev_speakers, dev_fraction, seed)
    return {s.id for s in supervisions if s.speaker in dev}, train, dev, "speaker"


def _hours(cuts: CutSet) -> float:
    """Hours of audio of the cuts."""
    return sum(c.duration for c in cuts) / 3600


def _check_options(dev_fraction: float, num_jobs: int) -> None:
    if not 0 <= dev_fraction < 1:
        raise ValueError(f"dev_fraction must be in [0, 1), got {dev_fraction}")
    if num_jobs < 1:
        raise ValueError(f"num_jobs must be >= 1, got {num_jobs}")


def _write_manifests(directory: Path, target: Path, cuts: CutSet, dev_ids: set[str],
                     problems: list[Problem]) -> tuple[dict[str, Path], dict[str, CutSet]]:
    """Write the manifests and ``failed.tsv`` into ``directory`` (to become ``target``); returns
    :attr:`PreparedCorpus.paths` (under ``target``) and the cuts of each split."""
    parts = {"train": cuts.filter(lambda c: c.id not in dev_ids).to_eager(),
             "dev": cuts.filter(lambda c: c.id in dev_ids).to_eager()}
    names = [name for name in OUTPUTS if name != "cuts_dev" or len(parts["dev"])]
    RecordingSet.from_recordings(c.recording for c in cuts).to_file(directory / OUTPUTS["recordings"])
    SupervisionSet.from_segments(s for c in cuts for s in c.supervisions).to_file(directory / OUTPUTS["supervisions"])
    for part, part_cuts in parts.items():
        if f"cuts_{part}" in names:
            part_cuts.to_file(directory / OUTPUTS[f"cuts_{part}"])
    write_problems(problems, directory / OUTPUTS["failed"])
    return {name: target / OUTPUTS[name] for name in names}, parts


def prepare_corpus(corpus: str | Path, out: str | Path, dev_speakers: list[str] | None = None,
                   dev_fraction: float = 0.1, seed: int = 0, num_jobs: int = 1, features: bool = True,
                   progress: bool = True) -> PreparedCorpus:
    """Lhotse manifests of an MFA-style corpus directory, ready for ``fsttopo train`` (see the module).

    Writes into ``out`` the files of :data:`OUTPUTS`: ``recordings.jsonl.gz`` and
    ``supervisions.jsonl.gz`` (every usable file), ``cuts_train.jsonl.gz`` and ``cuts_dev.jsonl.gz``
    (split by speaker: ``dev_speakers``, else about ``dev_fraction`` of the speakers drawn with
    ``seed``; a single speaker's utterances are split instead; no dev file when the dev split is
    empty), ``failed.tsv`` (every file left out, with its reason) and ``prepare.json`` (the
    summary). With ``features``, 80-dim Fbank ``[T, 80]`` at 10 ms, computed by ``num_jobs``
    processes (call under an ``if __name__ == "__main__":`` guard when ``num_jobs > 1``) into
    ``out/feats.lca`` (``out/feats/`` with several jobs); without, the cuts hold only audio and
    training computes the features when it loads a batch. ``progress``: tqdm bars on stderr.

    ValueError when ``corpus`` holds no audio file, no usable one, a ``dev_speakers`` name is not a
    speaker, or ``out`` is a directory fsttopo did not write; then nothing is written.
    """
    _check_options(dev_fraction, num_jobs)
    root = Path(corpus).resolve()
    utterances, problems = scan_directory(root)
    files = len(utterances) + len({p.file for p in problems})
    with staged_output(out) as staged:
        recordings, supervisions, more = _usable(utterances, root.name, staged.path / "audio", progress)
        problems = sorted(problems + more, key=lambda p: p.file)
        if not supervisions:
            raise ValueError(f"no usable audio file in {root}: {problem_summary(problems, files, 'left out')}")
        dev_ids, train_speakers, dev_names, split = _split(supervisions, dev_speakers, dev_fraction, seed)
        cuts = cuts_from_manifests(RecordingSet.from_recordings(recordings), SupervisionSet.from_segments(supervisions))
        if features:
            cuts = compute_fbank(cuts, staged.path / "feats", num_jobs, progress_bar=progress)
        cuts = _retarget(cuts, staged.path, staged.target)
        paths, parts = _write_manifests(staged.path, staged.target, cuts, dev_ids, problems)
        result = PreparedCorpus(staged.target, paths, train_speakers, dev_names, split,
                                {k: len(v) for k, v in parts.items()}, {k: _hours(v) for k, v in parts.items()},
                                files, problems, features)
        write_text_atomic(staged.path / OUTPUTS["summary"], json.dumps(_summary(result, root, seed, dev_fraction),
                                                                       ensure_ascii=False, indent=2) + "\n")
        write_manifest([{"file": path.name, "command": "prepare", "corpus": str(root)} for path in paths.values()],
                       staged.path)
    return result


def _summary(result: PreparedCorpus, root: Path, seed: int, dev_fraction: float) -> dict:
    """The content of ``prepare.json``."""
    reasons: dict[str, int] = {}
    for file, reason in sorted({(p.file, p.reason) for p in result.problems}):
        reasons[reason] = reasons.get(reason, 0) + 1
    return {
        "corpus": str(root),
        "files": result.files,
        "failed": len({p.file for p in result.problems}),
        "failed_by_reason": reasons,
        "split": result.split,
        "seed": seed,
        "dev_fraction": dev_fraction,
        "speakers": {"train": result.train_speakers, "dev": result.dev_speakers},
        "utterances": result.utterances,
        "hours": result.hours,
        "features": {"kind": "80-dim log-mel Fbank, 10 ms shift", "stored": result.features},
        "sample_rate": SAMPLE_RATE,
        "outputs": {name: path.name for name, path in result.paths.items()},
    }


def format_prepared(result: PreparedCorpus) -> str:
    """A human-readable summary: utterances and hours per split, the speakers, the failed files."""
    lines = [f"prepared {result.out}/ ({', '.join(path.name for path in result.paths.values())})"]
    for part, speakers in (("train", result.train_speakers), ("dev", result.dev_speakers)):
        lines.append(f"  {part}: {result.utterances[part]} utterances, {result.hours[part]:.2f} h, "
                     f"{len(speakers)} speaker(s): {', '.join(speakers[:10])}{', ...' if len(speakers) > 10 else ''}")
    if result.split == "utterance":
        lines.append("  one speaker only: its utterances are split between train and dev (dev is not an unseen "
                     "speaker)")
    lines.append("  features: " + ("80-dim Fbank stored" if result.features else "none stored; training computes "
                                   "them from the audio"))
    if result.problems:
        lines.append(f"  {problem_summary(result.problems, result.files, 'left out')}: see "
                     f"{result.paths['failed']}")
    return "\n".join(lines) + "\n"
