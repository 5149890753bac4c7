"""Label priors ``p(y)`` for the hybrid HMM / CTC criterion (paper Eq. 6, sec. 2, Table 8, Table 10).

A prior enters a loss as ``- beta * log p(y)`` on every frame. Two families:

- **static** priors, fixed before training: counted from a reference alignment
  (:func:`label_counts`, the classical count-based prior of Eq. 12-14) or estimated from
  transcriptions with a duration model (:func:`transcription_counts`, Raissi et al. 2022), turned
  into a log prior by :func:`log_prior_from_counts` and held by :class:`StaticPrior`;
- **posterior** priors, re-estimated from the model output: the average of ``p(y | h_t)`` over
  the valid frames of each sequence or of the whole mini-batch (:class:`PosteriorPrior`), or a
  running (exponential moving) average across training steps (:class:`RunningPrior`), each with or
  without stop-gradient.

Every estimator is an ``nn.Module`` called as ``prior(log_probs, lengths)``; register it as a
submodule of the model and its state (the static or running prior) is saved and restored with the
model's ``state_dict``. A ``[V]`` log prior goes straight into
``fsttopo.full_sum(..., log_prior=log_prior, prior_scale=beta)``; a per-sequence ``[B, V]`` prior
goes through :func:`apply_prior` instead, because ``full_sum`` takes one ``[V]`` prior per batch.
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

import torch
from torch import nn

from ._checks import check_float, check_label, check_lengths, valid_mask

__all__ = [
    "label_counts", "transcription_counts", "log_prior_from_counts", "posterior_log_prior",
    "apply_prior", "StaticPrior", "PosteriorPrior", "RunningPrior",
]


def label_counts(
    alignment: torch.Tensor,
    num_classes: int,
    lengths: torch.Tensor | Sequence[int] | None = None,
) -> torch.Tensor:
    """Number of frames per label in a reference alignment (accumulate over a corpus, then
    :func:`log_prior_from_counts` gives the count-based prior).

    Args:
        alignment: ``[B, T]`` integer label per frame (e.g. ``fsttopo.viterbi(...).labels``) or a
            flat ``[N]`` sequence of frame labels.
        num_classes: ``V``; every counted id must lie in ``[0, V)``.
        lengths: ``[B]`` valid frames per sequence for a ``[B, T]`` alignment (frames past it, e.g.
            Viterbi's ``-1`` padding, are not counted); ``None`` counts all frames.

    Returns:
        ``[V]`` float64 frame counts.
    """
    if not torch.is_tensor(alignment):
        raise TypeError(f"alignment must be a torch.Tensor, got {type(alignment).__name__}")
    if alignment.is_floating_point() or alignment.dtype == torch.bool:
        raise ValueError(f"alignment must hold integer label ids, got {alignment.dtype}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    if alignment.ndim == 1:
        if lengths is not None:
            raise ValueError("lengths only applies to a [B, T] alignment, got a flat [N] one")
        labels = alignment
    elif alignment.ndim == 2:
        B, T = alignment.shape
        labels = alignment[valid_mask(check_lengths(lengths, B, T, alignment.device), T)]
    else:
        raise ValueError(f"alignment must have shape [B, T] or [N], got {tuple(alignment.shape)}")
    bad = (labels < 0) | (labels >= num_classes)
    if bool(bad.any()):
        raise ValueError(f"alignment holds label id {int(labels[bad][0])}, not in [0, {num_classes})")
    return torch.bincount(labels.to(torch.int64), minlength=num_classes).to(torch.float64)


def transcription_counts(
    transcripts: Sequence[Sequence[int]],
    num_classes: int,
    *,
    silence: int,
    durations: float | torch.Tensor,
    silence_share: float | None = None,
    num_frames: torch.Tensor | Sequence[int] | None = None,
) -> torch.Tensor:
    """Expected frames per label from transcriptions and a duration model (a static prior without
    an alignment; the paper's "fixed prior estimated on the transcriptions").

    Each occurrence of label ``a`` in a transcript contributes ``durations[a]`` frames. Silence (or
    blank) frames come from exactly one of:

    - ``silence_share`` ``s``: silence is the fraction ``s`` of all frames, i.e.
      ``s / (1 - s)`` times the total number of label frames;
    - ``num_frames``: per utterance, whatever its frames leave over after its label frames
      (``max(num_frames[b] - label_frames[b], 0)``).

    Args:
        transcripts: per utterance the label ids (no silence/blank inside).
        num_classes: ``V``.
        silence: silence (HMM) or blank (CTC) id.
        durations: mean duration in frames per label: one float for every label or a ``[V]``
            tensor (its ``silence`` entry is ignored); must be ``> 0``.
        silence_share: fraction of silence/blank frames in ``[0, 1)``.
        num_frames: ``[len(transcripts)]`` frames per utterance (e.g. audio length / frame shift).

    Returns:
        ``[V]`` float64 expected frame counts.
    """
    check_label(silence, "silence", num_classes)
    if (silence_share is None) == (num_frames is None):
        raise ValueError("pass exactly one of silence_share and num_frames")
    dur = torch.as_tensor(durations, dtype=torch.float64)
    if dur.ndim == 0:
        dur = dur.expand(num_classes)
    if dur.shape != (num_classes,):
        raise ValueError(f"durations must be a float or have shape [V={num_classes}], got {tuple(dur.shape)}")
    label_dur = torch.cat([dur[:silence], dur[silence + 1:]])
    if not bool(torch.isfinite(label_dur).all()) or bool((label_dur <= 0).any()):
        raise ValueError("durations must be finite and > 0 for every label")
    occurrences = []
    for b, seq in enumerate(transcripts):
        seq = list(seq)
        ids = torch.as_tensor(seq) if seq else torch.zeros(0, dtype=torch.int64)
        if ids.ndim != 1 or ids.is_floating_point() or ids.dtype == torch.bool:
            raise ValueError(f"transcripts[{b}] must be a sequence of int label ids, got {seq!r}")
        ids = ids.to(torch.int64)
        bad = (ids < 0) | (ids >= num_classes) | (ids == silence)
        if bool(bad.any()):
            raise ValueError(f"transcripts[{b}] holds {int(ids[bad][0])}: label ids must be in "
                             f"[0, {num_classes}) and differ from silence={silence}")
        occurrences.append(torch.bincount(ids, minlength=num_classes))
    if not occurrences:
        raise ValueError("transcripts is empty")
    per_utt = torch.stack(occurrences).to(torch.float64) * dur  # [U, V] expected label frames
    per_utt[:, silence] = 0.0
    counts = per_utt.sum(0)
    if silence_share is not None:
        if not 0.0 <= silence_share < 1.0:
            raise ValueError(f"silence_share must be in [0, 1), got {silence_share}")
        counts[silence] = counts.sum() * silence_share / (1.0 - silence_share)
    else:
        frames = torch.as_tensor(num_frames, dtype=torch.float64)
        if frames.shape != (len(occurrences),):
            raise ValueError(f"num_frames must have shape [{len(occurrences)}], got {tuple(frames.shape)}")
        if bool((frames < 0).any()):
            raise ValueError("num_frames must be >= 0")
        counts[silence] = (frames - per_utt.sum(1)).clamp(min=0.0).sum()
    return counts


def log_prior_from_counts(counts: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    """Normalized log prior from (expected) frame counts: ``log((c + k) / sum(c + k))``.

    Args:
        counts: ``[V]`` non-negative frame counts (:func:`label_counts`, :func:`transcription_counts`).
        smoothing: add-``k`` pseudo-count per class; needed when a class has count 0 (its log prior
            would be ``-inf`` and ``- beta * log p(y)`` would be ``+inf``), which raises otherwise.

    Returns:
        ``[V]`` float32 log prior (``logsumexp`` = 0).
    """
    counts = torch.as_tensor(counts, dtype=torch.float64)
    if counts.ndim != 1 or counts.numel() == 0:
        raise ValueError(f"counts must have shape [V], got {tuple(counts.shape)}")
    if smoothing < 0 or not math.isfinite(smoothing):
        raise ValueError(f"smoothing must be finite and >= 0, got {smoothing}")
    if not bool(torch.isfinite(counts).all()) or bool((counts < 0).any()):
        raise ValueError("counts must be finite and >= 0")
    c = counts + smoothing
    if bool((c == 0).any()):
        zero = torch.nonzero(c == 0).flatten().tolist()
        raise ValueError(f"classes {zero[:10]} have count 0 (log prior -inf): pass smoothing > 0")
    return (c.log() - c.sum().log()).to(torch.float32)


def posterior_log_prior(
    log_probs: torch.Tensor,
    lengths: torch.Tensor | Sequence[int] | None = None,
    *,
    per_sequence: bool = False,
) -> torch.Tensor:
    """Log of the average posterior ``p(y | h_t)`` over valid frames (paper sec. 2, Table 8).

    Differentiable w.r.t. ``log_probs``; detach (or use :class:`PosteriorPrior` with
    ``stop_gradient=True``) for a stop-gradient prior. Padding frames (``t >= lengths[b]``) are
    ignored and may hold anything.

    Args:
        log_probs: ``[B, T, V]`` float32/float64 log-probabilities.
        lengths: ``[B]`` valid frames per sequence; ``None`` means all ``T``.
        per_sequence: average each sequence on its own (``[B, V]``) instead of all valid frames of
            the batch (``[V]``).

    Returns:
        ``[V]`` (batch) or ``[B, V]`` (per sequence) log prior, dtype of ``log_probs``. A sequence
        without frames gets the uniform prior ``-log V``; a batch without frames raises.
    """
    check_float(log_probs, "log_probs", 3, "[B, T, V]")
    B, T, V = log_probs.shape
    lengths = check_lengths(lengths, B, T, log_probs.device)
    valid = valid_mask(lengths, T)[..., None]
    x = torch.where(valid, log_probs, float("-inf"))
    if per_sequence:
        empty = (lengths == 0)[:, None, None]
        x = torch.where(empty, 0.0, x)  # keeps the logsumexp of empty rows finite (and its grad)
        avg = x.logsumexp(dim=1) - lengths.clamp(min=1).to(log_probs.dtype).log()[:, None]
        return torch.where(empty[:, 0], -math.log(V), avg)
    total = int(lengths.sum())
    if total == 0:
        raise ValueError("no valid frames in the batch to average the posterior over")
    return x.reshape(B * T, V).logsumexp(dim=0) - math.log(total)


def apply_prior(
    log_probs: torch.Tensor,
    log_prior: torch.Tensor,
    prior_scale: float,
    *,
    posterior_scale: float = 1.0,
) -> torch.Tensor:
    """Scaled emission scores ``alpha * log p(y | h_t) - beta * log p(y)`` (paper Eq. 6).

    Use it for per-sequence priors (``[B, V]``), which :func:`fsttopo.full_sum` cannot take, then
    call the engine **without** scales, e.g.
    ``fsttopo.full_sum(apply_prior(lp, prior, beta, posterior_scale=alpha), lengths, graphs)``;
    its gradient w.r.t. ``lp`` is then ``alpha`` times the soft alignment, as with the engine's own
    scales. For a ``[V]`` prior this equals ``full_sum(lp, ..., posterior_scale=alpha,
    log_prior=prior, prior_scale=beta)``.

    Args:
        log_probs: ``[B, T, V]`` float32/float64 log-probabilities.
        log_prior: ``[V]`` or ``[B, V]`` log prior (gradients flow into it unless detached).
        prior_scale: beta.
        posterior_scale: alpha (``> 0``).

    Returns:
        ``[B, T, V]`` tensor, dtype of ``log_probs``.
    """
    check_float(log_probs, "log_probs", 3, "[B, T, V]")
    B, _, V = log_probs.shape
    if not torch.is_tensor(log_prior) or log_prior.shape not in ((V,), (B, V)):
        shape = tuple(log_prior.shape) if torch.is_tensor(log_prior) else type(log_prior).__name__
        raise ValueError(f"log_prior must have shape [V={V}] or [B={B}, V={V}], got {shape}")
    if not posterior_scale > 0:
        raise ValueError(f"posterior_scale must be > 0, got {posterior_scale}")
    prior = log_prior.to(log_probs.dtype)
    prior = prior[None, None, :] if prior.ndim == 1 else prior[:, None, :]
    return posterior_scale * log_probs - prior_scale * prior


class StaticPrior(nn.Module):
    """A fixed log prior held in a buffer (saved/loaded with the model's ``state_dict``).

    Args:
        log_prior: ``[V]`` log prior, e.g.
            ``log_prior_from_counts(label_counts(alignment, V, lengths))``. To restore one from a
            checkpoint, build ``StaticPrior(torch.zeros(V))`` and ``load_state_dict``.
    """

    log_prior: torch.Tensor

    def __init__(self, log_prior: torch.Tensor):
        super().__init__()
        check_float(log_prior, "log_prior", 1, "[V]")
        self.register_buffer("log_prior", log_prior.detach().clone())

    def forward(self, log_probs: torch.Tensor | None = None,
                lengths: torch.Tensor | Sequence[int] | None = None) -> torch.Tensor:
        """``[V]`` log prior (no gradient); the arguments are only checked, for a uniform interface."""
        V = self.log_prior.shape[0]
        if log_probs is not None and log_probs.shape[-1] != V:
            raise ValueError(f"log_probs have {log_probs.shape[-1]} classes, the prior has {V}")
        return self.log_prior.clone()


class PosteriorPrior(nn.Module):
    """Average of the model posterior over the current sequence or mini-batch (no state).

    Args:
        scope: ``"sequence"`` (``[B, V]``, one prior per sequence; use :func:`apply_prior`) or
            ``"batch"`` (``[V]``, all valid frames of the batch; pass to ``full_sum`` directly).
        stop_gradient: detach the prior from ``log_probs`` (the variant that trains well in paper
            Table 10); ``False`` lets the loss gradient flow through the prior into the model.
    """

    def __init__(self, scope: Literal["sequence", "batch"] = "sequence", stop_gradient: bool = True):
        super().__init__()
        if scope not in ("sequence", "batch"):
            raise ValueError(f"scope must be 'sequence' or 'batch', got {scope!r}")
        self.scope = scope
        self.stop_gradient = stop_gradient

    def forward(self, log_probs: torch.Tensor,
                lengths: torch.Tensor | Sequence[int] | None = None) -> torch.Tensor:
        """``[B, T, V]`` log-probs, ``[B]`` lengths -> ``[B, V]`` or ``[V]`` log prior (see
        :func:`posterior_log_prior`)."""
        x = log_probs.detach() if self.stop_gradient else log_probs
        return posterior_log_prior(x, lengths, per_sequence=self.scope == "sequence")

    def extra_repr(self) -> str:
        return f"scope={self.scope!r}, stop_gradient={self.stop_gradient}"


class RunningPrior(nn.Module):
    """Exponential moving average of the batch-average posterior across training steps
    (Zeyer et al. 2017), kept in a buffer that is saved and restored with the model.

    In training mode every call updates ``prior <- decay * prior + (1 - decay) * batch_average``
    (in the probability domain) and returns the updated log prior; in eval mode it returns the
    stored prior unchanged. With ``stop_gradient=False`` the returned value keeps the gradient of
    the current batch's ``(1 - decay) * batch_average`` term (the stored history never has one).

    Args:
        num_classes: ``V``.
        decay: weight of the history, in ``[0, 1)``.
        stop_gradient: detach the returned prior.
        initial: ``[V]`` initial log prior; uniform when ``None``.
    """

    log_prior: torch.Tensor

    def __init__(self, num_classes: int, decay: float = 0.99, stop_gradient: bool = True,
                 initial: torch.Tensor | None = None):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        if initial is None:
            initial = torch.full((num_classes,), -math.log(num_classes))
        check_float(initial, "initial", 1, f"[V={num_classes}]")
        if initial.shape != (num_classes,):
            raise ValueError(f"initial must have shape [V={num_classes}], got {tuple(initial.shape)}")
        self.decay = decay
        self.stop_gradient = stop_gradient
        self.register_buffer("log_prior", initial.detach().clone())

    def forward(self, log_probs: torch.Tensor,
                lengths: torch.Tensor | Sequence[int] | None = None) -> torch.Tensor:
        """``[B, T, V]`` log-probs, ``[B]`` lengths -> ``[V]`` log prior (dtype of ``log_probs``)."""
        check_float(log_probs, "log_probs", 3, "[B, T, V]")
        if log_probs.shape[-1] != self.log_prior.shape[0]:
            raise ValueError(f"log_probs have {log_probs.shape[-1]} classes, the prior has "
                             f"{self.log_prior.shape[0]}")
        old = self.log_prior.to(log_probs.dtype)
        if not self.training:
            return old.clone()
        batch = posterior_log_prior(log_probs.detach() if self.stop_gradient else log_probs, lengths)
        new = old + math.log(self.decay) if self.decay > 0 else torch.full_like(old, float("-inf"))
        new = torch.logaddexp(new, batch + math.log1p(-self.decay))
        self.log_prior.copy_(new.detach())
        return new

    def extra_repr(self) -> str:
        return f"num_classes={self.log_prior.shape[0]}, decay={self.decay}, stop_gradient={self.stop_gradient}"
