"""Full-sum training with normalized gradients (paper sec. 3, Eq. 8-11).

The loss value is the ordinary full-sum loss ``-log sum_paths prod_t p(y_t | h_t)`` (CTC for the
CTC topology, Eq. 5/6 in general). Its gradient w.r.t. the logits ``z`` is ``p - v`` (Eq. 8) with
``v`` the soft alignment (Eq. 9); here it is replaced by (Eq. 11)::

    dL/dz_{t,j} = (p_{t,j} - v_{t,j}) * clamp(1 / (v_bar_j * |Y|), v_min, v_max)

where ``v_bar = E_t v_t`` (Eq. 10) is the mean soft alignment over the valid frames of the
sequence or of the whole mini-batch, and ``|Y| = V``. The scale is constant per class, so classes
that dominate the soft alignment (blank, silence) get their gradient damped and rare ones boosted,
like dividing by a prior estimated from ``v`` instead of from ``p``.
"""

from __future__ import annotations

from typing import Literal, Sequence

import torch

from ..engine import full_sum
from ..fsa import FsaVec
from ._checks import check_float, check_reduction, valid_mask

__all__ = ["normalized_gradient_scale", "normalized_gradient_loss"]


def _check_options(v_min: float, v_max: float, average: str) -> None:
    if average not in ("batch", "sequence"):
        raise ValueError(f"average must be 'batch' or 'sequence', got {average!r}")
    if not 0 < v_min <= v_max:
        raise ValueError(f"need 0 < v_min <= v_max, got v_min={v_min}, v_max={v_max}")


def normalized_gradient_scale(
    soft_alignment: torch.Tensor,
    lengths: torch.Tensor,
    *,
    v_min: float = 0.5,
    v_max: float = 1.1,
    average: Literal["batch", "sequence"] = "batch",
) -> torch.Tensor:
    """Per-class gradient scale ``clamp((v_bar * V)^-1, v_min, v_max)`` of Eq. 11.

    Args:
        soft_alignment: ``[B, T, V]`` soft alignment ``v`` (zero on padding frames and for
            sequences without a path, as :func:`fsttopo.soft_alignment` returns it).
        lengths: ``[B]`` int64 valid frames; frames of all-zero sequences (no path) do not count.
        v_min, v_max: clamp bounds (paper: 0.5 and 1.1).
        average: ``"batch"``: ``v_bar`` over all valid frames of the batch (``[V]``);
            ``"sequence"``: per sequence (``[B, V]``).

    Returns:
        ``[V]`` or ``[B, V]`` scale, dtype of ``soft_alignment``. A class with ``v_bar = 0`` gets
        ``v_max``.
    """
    _check_options(v_min, v_max, average)
    V = soft_alignment.shape[-1]
    has_path = soft_alignment.flatten(1).sum(1) > 0
    frames = (lengths * has_path).to(soft_alignment.dtype)  # [B]
    mass = soft_alignment.sum(1)  # [B, V]
    if average == "batch":
        mass, frames = mass.sum(0), frames.sum()
    else:
        frames = frames[:, None]
    v_bar = mass / frames.clamp(min=1)
    return (1.0 / (v_bar * V)).clamp(v_min, v_max)


class _NormalizedGradientFullSum(torch.autograd.Function):
    """logits [B,T,V] -> loss [B] = -full_sum(log_softmax(logits)); backward returns Eq. 11."""

    @staticmethod
    def forward(ctx, logits, lengths, graphs, engine_kwargs, v_min, v_max, average, zero_infinity):
        log_probs = torch.log_softmax(logits, dim=-1).requires_grad_()
        with torch.enable_grad():
            loglik = full_sum(log_probs, lengths, graphs, **engine_kwargs)
            # d loglik / d log_probs = alpha * v, zero on padding frames and for utterances without a path
            (occupancy,) = torch.autograd.grad(loglik.sum(), log_probs)
        alpha = engine_kwargs["posterior_scale"]
        B, T, _ = logits.shape
        lengths = torch.as_tensor(lengths, device=logits.device, dtype=torch.int64)
        scale = normalized_gradient_scale(occupancy / alpha, lengths, v_min=v_min, v_max=v_max,
                                          average=average)
        scale = scale[None, None, :] if scale.ndim == 1 else scale[:, None, :]
        keep = valid_mask(lengths, T) & torch.isfinite(loglik)[:, None]
        # d(-loglik)/dz = alpha * p - occupancy on valid frames (p - v for alpha = 1)
        grad = torch.where(keep[..., None], (alpha * log_probs.detach().exp() - occupancy) * scale, 0.0)
        ctx.save_for_backward(grad)
        loss = -loglik.detach()
        if zero_infinity:
            loss = torch.where(torch.isfinite(loss), loss, 0.0)
        return loss

    @staticmethod
    def backward(ctx, grad_loss):
        (grad,) = ctx.saved_tensors
        return grad * grad_loss[:, None, None].to(grad.dtype), None, None, None, None, None, None, None


def normalized_gradient_loss(
    logits: torch.Tensor,
    lengths: torch.Tensor | Sequence[int],
    graphs: FsaVec,
    *,
    v_min: float = 0.5,
    v_max: float = 1.1,
    average: Literal["batch", "sequence"] = "batch",
    posterior_scale: float = 1.0,
    log_prior: torch.Tensor | None = None,
    prior_scale: float = 0.0,
    transition_scale: float = 1.0,
    zero_infinity: bool = False,
    reduction: Literal["none", "sum", "mean"] = "none",
) -> torch.Tensor:
    """Full-sum loss (any topology) whose gradient w.r.t. the logits is normalized per class (Eq. 11).

    Takes **logits** (before ``log_softmax``): the normalized gradient is defined w.r.t. them, and
    the model's ``log_softmax`` happens inside. The loss value equals
    ``-fsttopo.full_sum(logits.log_softmax(-1), lengths, graphs, ...)``; the gradient w.r.t.
    ``logits`` is ``posterior_scale * (p - v) * scale`` on valid frames (0 on padding frames and for
    utterances without a path), ``scale`` from :func:`normalized_gradient_scale`. The soft alignment
    ``v`` comes from the same forward-backward pass that computes the loss. The model output is
    assumed to be ``log_softmax(logits)`` (Eq. 4); the blank-separated output has its own gradient
    (Eq. 21) and is not covered.

    Args:
        logits: ``[B, T, V]`` float32/float64 unnormalized scores ``z``.
        lengths: ``[B]`` valid frames per sequence.
        graphs: ``B`` graphs (``fsttopo.ctc_graph``, ``fsttopo.hmm_graph``, ...).
        v_min, v_max: clamp of the per-class scale (paper footnote 4: 0.5 and 1.1);
            ``v_min = v_max = 1`` gives the plain full-sum gradient.
        average: estimate ``v_bar`` over the mini-batch (``"batch"``, paper footnote 2: slightly
            better) or per sequence (``"sequence"``).
        posterior_scale, log_prior, prior_scale, transition_scale: as in :func:`fsttopo.full_sum`.
            The prior and the graph scores are constants here: pass a detached (stop-gradient)
            ``log_prior`` and graphs whose scores do not require grad.
        zero_infinity: loss 0 instead of ``inf`` for utterances without a path (their gradient is 0
            either way).
        reduction: ``"none"`` (``[B]``), ``"sum"`` or ``"mean"`` (over the batch).

    Returns:
        ``[B]`` losses in nats, or their sum/mean.
    """
    check_float(logits, "logits", 3, "[B, T, V]")
    check_reduction(reduction)
    _check_options(v_min, v_max, average)
    if torch.is_tensor(log_prior) and log_prior.requires_grad:
        raise ValueError("normalized_gradient_loss treats the prior as a constant: pass log_prior.detach()")
    if isinstance(graphs, FsaVec) and graphs.scores.requires_grad:
        raise ValueError("normalized_gradient_loss treats graph scores as constants: they must not require grad")
    engine_kwargs = dict(posterior_scale=posterior_scale, log_prior=log_prior, prior_scale=prior_scale,
                         transition_scale=transition_scale)
    loss = _NormalizedGradientFullSum.apply(logits, lengths, graphs, engine_kwargs, v_min, v_max,
                                            average, zero_infinity)
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    return loss
