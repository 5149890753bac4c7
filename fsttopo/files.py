"""Aligning files with an :class:`~fsttopo.aligner.Aligner`: one recording (written as JSON,
TextGrid, CTM and a plot), every cut of a Lhotse CutSet, and :func:`align_file`, the one-call API
with the shipped model."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .aligner import FEATURE_SHIFT, Aligner, AlignerOutput
from .data.alignment import UtteranceAlignment
from .routed_aligner import RoutedAligner, checking_aligner, load_routed_aligner

if TYPE_CHECKING:
    from .data.plot_process import PlotProcess

__all__ = ["align_file", "load_aligner", "align_audio_file", "align_cuts", "check_audio_transcript"]


@lru_cache(maxsize=4)
def _cached_aligner(model: str, device: str) -> Aligner:
    return Aligner.from_file(model).to(device)


def load_aligner(model: str | Path | None = None, device: str = "cpu") -> Aligner | RoutedAligner:
    """The aligner of a model file or shipped model name (``"robust"``; default: the shipped
    default model, :data:`fsttopo.resources.SHIPPED_MODELS`) on ``device``, loaded once per process
    (the CMUdict lexicon and the weights take about a second); ``"auto"``: both shipped models and
    the rule that picks one per recording (:class:`~fsttopo.routed_aligner.RoutedAligner`)."""
    from .resources import AUTO_MODEL, model_path

    if str(model) == AUTO_MODEL:
        return load_routed_aligner(load_aligner("default", device), load_aligner("robust", device))
    return _cached_aligner(model_path(model or "default"), str(device))


def align_file(audio: str | Path, text: str, *, model: str | Path | None = None, device: str = "cpu",
               channel: int | None = None, **options) -> UtteranceAlignment:
    """Align one recording with its transcript and return the words and phones with times.

    Example::

        ali = fsttopo.align_file("speech.wav", "the words spoken")
        for w in ali.words:
            print(w.symbol, w.start, w.end, w.confidence)   # seconds

    Args:
        audio: an audio file (any rate soundfile reads; resampled to 16 kHz, channels averaged).
        text: the words spoken (punctuation around words is dropped).
        model: a model file or shipped model name (default ``"auto"``: the shipped English phoneme
            aligner, its robust version for a recording that looks noisy, band-limited or reverberant).
        device: where the acoustic model runs (``"cpu"``, ``"cuda"``).
        channel: the channel of a multi-channel file to align (0-based; default: their mean).
        options: alignment options of :meth:`Aligner.align` (default: the model's stored ones).

    A recording that looks noisy, band-limited, reverberant or clipped gets a warning of its kind
    (:data:`fsttopo.inference.recording_check.RECORDING_WARNINGS`).
    """
    name = Path(audio).stem
    return _align_one(load_aligner(model or "auto", device), audio, text, name, options, channel)[1].alignments[0]


def _align_one(aligner: Aligner | RoutedAligner, audio: str | Path, text: str, name: str, options: dict,
               channel: int | None = None) -> tuple[torch.Tensor, AlignerOutput]:
    """The features ``[T', F]`` of one recording (its ``channel``, or the mean of its channels) and
    the :meth:`Aligner.align` result of it with ``text``: the transcript checked first, a noisy,
    band-limited, reverberant or clipped recording warned about. A routed aligner aligns it with
    the model its features call for (the alignment says which); the robust model's recordings are
    not warned about the conditions it is trained for, only about clipping."""
    from .data.features import compute_features, read_samples
    from .inference.recording_check import checked_features, sample_measures, warn_about_recording

    check_audio_transcript(checking_aligner(aligner), audio, text, name, options)
    if not isinstance(aligner, RoutedAligner):
        feats = checked_features(audio, name, channel)
        return feats, aligner.align([feats], [text], [name], **options)
    samples, sampling_rate = read_samples(audio, channel)
    feats = compute_features(samples, sampling_rate)
    route = aligner.route(feats, sample_measures(samples, sampling_rate))
    warn_about_recording(feats, name, samples, feature_conditions=route.name == "default")
    outputs: dict[int, AlignerOutput] = {}

    def align(one: Aligner, chosen: list[int]) -> list[UtteranceAlignment]:
        outputs[id(one)] = one.align([feats], [text], [name], **options)
        return outputs[id(one)].alignments

    ali = aligner.align_routed([route], align)[0]
    return feats, replace(outputs[id(aligner.aligners[ali.model])], alignments=[ali])


def check_audio_transcript(aligner: Aligner, audio: str | Path, text: str, name: str, options: dict) -> None:
    """ValueError for a transcript that cannot be aligned to the audio file (unknown words with
    ``oov="error"``, more phones than the audio's model frames), from the file's header duration:
    before features and the model run (:func:`fsttopo.inference.transcript_check.check_transcripts`)."""
    from .audio_batches import audio_duration
    from .inference.transcript_check import check_transcripts

    frames = round(audio_duration(audio) / FEATURE_SHIFT)
    check_transcripts(aligner, [text], [frames], oov=options.get("oov"), topology=options.get("topology"),
                      phases=options.get("phases"), utterance_ids=[name])


def align_audio_file(aligner: Aligner | RoutedAligner, audio: str | Path, transcript: str, out_dir: str | Path,
                     name: str | None = None, plot: bool = True, plot_process: PlotProcess | None = None,
                     channel: int | None = None, **options) -> UtteranceAlignment:
    """Align one recording and write ``NAME.json``, ``NAME.TextGrid``, ``NAME.ctm`` (words) and
    ``NAME.png`` (features, posteriors, segments) into ``out_dir`` (each file written whole or not at
    all; nothing is written when the alignment fails). ``plot_process`` (started before torch was
    imported: :class:`~fsttopo.data.plot_process.PlotProcess`) draws the PNG instead of this
    process. ``channel``: the channel of a multi-channel file (0-based; default: their mean).
    ``options`` go to :meth:`Aligner.align`. A recording that looks noisy, band-limited, reverberant
    or clipped gets a warning of its kind (:data:`fsttopo.inference.recording_check.RECORDING_WARNINGS`).
    Returns the alignment (seconds)."""
    from .data.export import write_ctm, write_json, write_textgrid
    from .data.plot import plot_alignment

    name = name or Path(audio).stem
    feats, result = _align_one(aligner, audio, transcript, name, options, channel)
    ali = result.alignments[0]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(ali, out / f"{name}.json")
    write_textgrid(ali, out / f"{name}.TextGrid")
    write_ctm([ali], out / f"{name}.ctm")
    if plot:
        draw = plot_alignment if plot_process is None else plot_process.draw
        shape = checking_aligner(aligner)  # tokens and frame rate: the same for both of a routed aligner
        draw(*_first_seconds(feats, result.log_probs[0, : result.lengths[0]], ali, shape.frame_shift),
             out / f"{name}.png", shape.tokens, shape.frame_shift, frame_offset=shape.frame_offset)
    return ali


PLOT_SECONDS = 60.0
"""The plot of a longer recording shows its first minute (drawing 150 s took 19 s of CPU; an hour, minutes)."""


def _first_seconds(feats: torch.Tensor, log_probs: torch.Tensor, ali: UtteranceAlignment, frame_shift: float,
                   seconds: float = PLOT_SECONDS) -> tuple[torch.Tensor, torch.Tensor, UtteranceAlignment]:
    """Features ``[T', F]``, log-probs ``[T, V]`` and the words and phones of the first ``seconds``."""
    if ali.duration <= seconds:
        return feats, log_probs, ali
    end = ali.start + seconds
    part = replace(ali, duration=seconds, words=[w for w in ali.words if w.end <= end],
                   phones=[p for p in ali.phones if p.end <= end])
    return feats[: round(seconds / FEATURE_SHIFT)], log_probs[: round(seconds / frame_shift)], part


def align_cuts(aligner: Aligner, cuts, max_duration: float = 200.0, **options) -> list[UtteranceAlignment]:
    """The alignments of every cut of a Lhotse CutSet (features attached, one supervision each), in
    its order, batched by up to ``max_duration`` seconds (:func:`fsttopo.cut_corpus.iter_cut_alignments`,
    which streams them and takes shards and worker processes). Times are relative to the
    recordings. ValueError naming the cuts that could not be aligned."""
    from .cut_corpus import iter_cut_alignments

    out, problems = [], []
    for outcome in iter_cut_alignments(aligner, cuts, max_duration, **options):
        if outcome.problem is None:
            out.append(outcome.alignment)
        else:
            problems.append(outcome.problem)
    if problems:
        raise ValueError(f"{len(problems)} cuts could not be aligned: " + "; ".join(
            f"{p.file}: {p.reason}: {p.message}" for p in problems[:5]))
    if not out:
        raise ValueError("the cut set is empty")
    return out
