"""Long stretches of digital silence left out of what the model sees, and the times put back.

Edited and synthesized recordings carry seconds to minutes of exact zeros (or dither at the last bit
of 16-bit audio) around and between the speech. Those frames hold no signal, yet the encoder's
self-attention attends to all of them: measured on the shipped models, 60 s of digital silence on
each side of three words moved their outer boundaries 30-180 ms into the silence (tests/test_silence.py).
:func:`plan_trim` finds every run of such frames longer than ``min_run`` seconds and keeps only
``margin`` seconds of it next to the sound; the aligner aligns the shortened features and
:meth:`SilenceTrim.restore` maps every time back to the recording. No word can be placed in what was
left out, and the result no longer depends on how much silence there was.

A frame is digital silence when its mean log-mel energy is below :data:`SILENT_LOG_MEL`, about the
energy of white noise at 3e-5 RMS (the least significant bit of 16-bit audio, -90 dBFS): it depends
on no level of the speech, so a quiet recording's speech (-40 dB) is never taken for it, and room
noise at -60 dBFS (which the robust model aligns as silence) is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import torch

from ..data.alignment import TimedToken, UtteranceAlignment
from ..data.features import FEATURE_SHIFT
from ..data.runs import true_runs

__all__ = ["SILENT_LOG_MEL", "SilenceTrim", "digital_silence_runs", "check_not_all_silence", "plan_trim",
           "restore_frames"]

SILENT_LOG_MEL = -14.4
"""Mean log-mel (natural log) below which a 10 ms frame is digital silence: exact zeros give -15.94
(the extractor's floor), white noise of RMS 3e-5 -14.93, of 1e-4 -13.45."""


@dataclass(frozen=True)
class SilenceTrim:
    """Which feature frames of one utterance the model sees.

    Attributes:
        kept: ``[T_kept]`` int64, the original index of every kept frame, increasing.
        num_frames: ``T``, the original number of frames.
    """

    kept: torch.Tensor
    num_frames: int

    @property
    def trimmed(self) -> bool:
        """Whether any frame is left out."""
        return int(self.kept.numel()) < self.num_frames

    def apply(self, features: torch.Tensor) -> torch.Tensor:
        """``[T, F]`` -> ``[T_kept, F]``."""
        if features.shape[0] != self.num_frames:
            raise ValueError(f"features have {features.shape[0]} frames, the trim was planned for {self.num_frames}")
        return features[self.kept] if self.trimmed else features

    def to_original(self, seconds: float, offset: float = 0.0) -> float:
        """A time of the trimmed utterance (seconds from its recording's start, the utterance
        starting at ``offset``) -> the same instant of the original."""
        if not self.trimmed:
            return seconds
        position = min(max((seconds - offset) / FEATURE_SHIFT, 0.0), float(self.kept.numel()))
        if position >= self.kept.numel():
            return offset + (float(self.kept[-1]) + 1 + position - self.kept.numel()) * FEATURE_SHIFT
        frame = int(position)
        return offset + (float(self.kept[frame]) + position - frame) * FEATURE_SHIFT

    def restore(self, alignment: UtteranceAlignment) -> UtteranceAlignment:
        """``alignment`` of the trimmed features with every time on the original timeline and the
        original duration."""
        if not self.trimmed:
            return alignment

        def back(tokens: list[TimedToken]) -> list[TimedToken]:
            return [replace(t, start=self.to_original(t.start, alignment.start),
                            end=self.to_original(t.end, alignment.start)) for t in tokens]

        spans = [(self.to_original(s, alignment.start), self.to_original(e, alignment.start))
                 for s, e in alignment.untranscribed]
        return replace(alignment, words=back(alignment.words), phones=back(alignment.phones), untranscribed=spans,
                       duration=self.num_frames * FEATURE_SHIFT)


def digital_silence_runs(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The runs of digital-silence frames (mean log-mel below :data:`SILENT_LOG_MEL`) of one
    utterance's ``[T, F]`` log-mel features: ``(starts, ends)`` int64 frame indices, ``[start, end)``
    per run, in order."""
    if features.ndim != 2:
        raise ValueError(f"features must be [T, F], got shape {tuple(features.shape)}")
    starts, ends = true_runs(_silent_frames(features))
    return torch.from_numpy(starts), torch.from_numpy(ends)


def _silent_frames(features: torch.Tensor) -> torch.Tensor:
    """``[T]`` bool: the digital-silence frames (mean log-mel below :data:`SILENT_LOG_MEL`)."""
    return features.float().mean(dim=1) < SILENT_LOG_MEL


def check_not_all_silence(features: Sequence[torch.Tensor], utterance_ids: Sequence[str] | None = None) -> None:
    """ValueError naming the first utterance whose ``[T, F]`` log-mel features are digital silence
    in every frame (an empty or muted recording, a wrong channel): no alignment of words to it
    means anything, whatever the transcript."""
    for i, f in enumerate(features):
        if f.shape[0] and bool(_silent_frames(f).all()):
            name = repr(utterance_ids[i]) if utterance_ids is not None else str(i)
            raise ValueError(f"utterance {name}: its audio is digital silence throughout "
                             f"({f.shape[0] * FEATURE_SHIFT:.2f} s, every 10 ms frame quieter than the last bit of "
                             f"16-bit audio): there is no speech to align (a muted recording or the wrong channel?)")


def plan_trim(features: torch.Tensor, min_run: float = 2.0, margin: float = 0.5, block: int = 4) -> SilenceTrim:
    """The :class:`SilenceTrim` of one utterance's ``[T, F]`` log-mel features: of every run of
    digital-silence frames longer than ``min_run`` seconds, ``margin`` seconds next to the sound on
    each side stay (a run at the start or end of the recording keeps only the side next to the
    sound); what is left out is a whole number of ``block`` frames (the model's downsampling), so
    the frames after it keep their place on the model's frame grid."""
    starts, ends = digital_silence_runs(features)
    num_frames = int(features.shape[0])
    keep = round(margin / FEATURE_SHIFT)
    drop = torch.zeros(num_frames + 1, dtype=torch.int64)  # +1 at a dropped range's start, -1 at its end
    for start, end in zip(starts.tolist(), ends.tolist()):
        if (end - start) * FEATURE_SHIFT <= min_run or (start == 0 and end == num_frames):
            continue  # short, or all of the recording: nothing to keep the margins next to
        lo = start if start == 0 else start + keep
        hi = end if end == num_frames else end - keep
        if end == num_frames:  # nothing follows: the rounding's remainder joins the margin
            lo = hi - (hi - lo) // block * block
        else:
            hi = lo + (hi - lo) // block * block
        if hi > lo:
            drop[lo] += 1
            drop[hi] -= 1
    kept = torch.nonzero(drop.cumsum(0)[:num_frames] == 0).flatten()
    return SilenceTrim(kept, num_frames)


def restore_frames(log_probs: torch.Tensor, lengths: torch.Tensor, trims: list[SilenceTrim], subsampling: int,
                   num_frames: torch.Tensor, blank: int) -> torch.Tensor:
    """Model outputs of trimmed features ``[B, T_kept', V]`` (valid ``lengths``) on the original
    model-frame timeline ``[B, max(num_frames), V]``: a left-out frame is certain silence (log-prob
    0 for ``blank``, -inf for the others), so plots of the posteriors line up with the recording.
    Kept model frame ``j`` is original frame ``kept[j * subsampling] // subsampling`` (what is left
    out is whole blocks of ``subsampling`` frames)."""
    batch, _, vocab = log_probs.shape
    out = torch.full((batch, int(num_frames.max()), vocab), float("-inf"), dtype=log_probs.dtype, device=log_probs.device)
    out[..., blank] = 0.0
    for b, trim in enumerate(trims):
        n = int(lengths[b])
        firsts = torch.arange(n) * subsampling
        valid = firsts < trim.kept.numel()
        target = (trim.kept[firsts[valid]] // subsampling).clamp(max=int(num_frames[b]) - 1).to(log_probs.device)
        out[b, target] = log_probs[b, : n][valid.to(log_probs.device)]
    return out
