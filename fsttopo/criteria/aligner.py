"""The Aligner-Encoder loss (Stooke et al. 2024, arXiv 2502.05232) and its targets.

An Aligner-Encoder's decoder predicts the ``u``-th token from the ``u``-th encoder frame alone (no
cross-attention, no lattice): ``L = - sum_{u=1}^{U+1} log P(y_u | h_u, y_<u)`` with
``y_{U+1} = EOS``; frames after ``U + 1`` are ignored. Here positions are 0-based: token ``u`` of
an utterance (``0 <= u < U``) is read at output position ``u`` and EOS at position ``U``. The same
function gives the InterAligner loss of an intermediate layer (the decoder applied to that layer's
hidden states). See ``docs/aligner_encoder.md``.
"""

from __future__ import annotations

from typing import Literal, Sequence

import torch

from ._checks import check_float, check_label, check_reduction

__all__ = ["pad_token_sequences", "aligner_targets", "aligner_loss"]


def pad_token_sequences(sequences: Sequence[Sequence[int]], pad: int = 0,
                        device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``B`` token id sequences -> ``(targets [B, U_max] int64 padded with pad, lengths [B] int64)``."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.int64)
    targets = torch.full((len(sequences), int(lengths.max()) if len(sequences) else 0), pad, dtype=torch.int64)
    for b, seq in enumerate(sequences):
        targets[b, : len(seq)] = torch.as_tensor(list(seq), dtype=torch.int64)
    return targets.to(device), lengths.to(device)


def _check_targets(targets: torch.Tensor, target_lengths: torch.Tensor | Sequence[int], B: int,
                   V: int, eos: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Validated ``(targets [B, U_max] int64, lengths [B] int64)``: ids in ``[0, V)``, no EOS among them."""
    if not torch.is_tensor(targets) or targets.ndim != 2 or targets.shape[0] != B:
        got = tuple(targets.shape) if torch.is_tensor(targets) else type(targets).__name__
        raise ValueError(f"targets must be an integer tensor [B={B}, U_max], got {got}")
    if targets.is_floating_point() or targets.dtype == torch.bool:
        raise ValueError(f"targets must hold integer token ids, got {targets.dtype}")
    lengths = torch.as_tensor(target_lengths)
    if lengths.shape != (B,) or lengths.is_floating_point() or lengths.dtype == torch.bool:
        raise ValueError(f"target_lengths must be [{B}] integers, got {tuple(lengths.shape)} {lengths.dtype}")
    lengths = lengths.to(device=targets.device, dtype=torch.int64)
    U = targets.shape[1]
    if bool(((lengths < 0) | (lengths > U)).any()):
        b = int(torch.nonzero((lengths < 0) | (lengths > U))[0])
        raise ValueError(f"target_lengths[{b}] = {int(lengths[b])} is outside [0, U_max={U}]")
    targets = targets.to(torch.int64)
    valid = torch.arange(U, device=targets.device)[None] < lengths[:, None]
    bad = valid & ((targets < 0) | (targets >= V) | (targets == eos))
    if bool(bad.any()):
        b, u = (int(i) for i in torch.nonzero(bad)[0])
        raise ValueError(f"targets[{b}, {u}] = {int(targets[b, u])} is not a token id in [0, {V}) other than "
                         f"the EOS id {eos}")
    return targets, lengths


def aligner_targets(targets: torch.Tensor, target_lengths: torch.Tensor | Sequence[int], eos: int) -> torch.Tensor:
    """``[B, U_max + 1]`` int64: each utterance's tokens, EOS at position ``U_b``, EOS padding after."""
    lengths = torch.as_tensor(target_lengths, device=targets.device, dtype=torch.int64)
    out = torch.cat([targets.to(torch.int64), targets.new_full((targets.shape[0], 1), eos, dtype=torch.int64)], 1)
    positions = torch.arange(out.shape[1], device=out.device)[None]
    return torch.where(positions < lengths[:, None], out, eos)


def aligner_loss(
    log_probs: torch.Tensor,
    targets: torch.Tensor,
    target_lengths: torch.Tensor | Sequence[int],
    eos: int = 0,
    *,
    reduction: Literal["none", "sum", "mean"] = "mean",
) -> torch.Tensor:
    """Aligner-Encoder cross-entropy ``- sum_{u=0}^{U_b} log p_u(y_u)`` with ``y_{U_b} = eos``.

    Args:
        log_probs: ``[B, L, V]`` float32/float64 normalized log-probabilities of the decoder at output
            positions ``0..L-1`` (teacher forced: position ``u`` saw the tokens before ``u``); ``L``
            must be at least ``U_b + 1`` for every utterance. Positions after ``U_b`` are ignored.
        targets: ``[B, U_max]`` integer token ids, padding past ``target_lengths`` ignored; no EOS
            within an utterance's tokens.
        target_lengths: ``[B]`` tokens per utterance ``U_b`` (EOS not counted).
        eos: the end-of-sequence id (our aligner models reuse the blank id 0).
        reduction: ``"none"``: ``[B]`` per-utterance sums; ``"sum"``: their sum; ``"mean"``: that
            sum divided by the number of scored positions ``sum_b (U_b + 1)`` (per token, EOS included).

    Returns:
        Loss in nats, dtype of ``log_probs``.
    """
    check_float(log_probs, "log_probs", 3, "[B, L, V]")
    check_reduction(reduction)
    B, L, V = log_probs.shape
    check_label(eos, "eos", V)
    targets, lengths = _check_targets(targets.to(log_probs.device), target_lengths, B, V, eos)
    if bool((lengths + 1 > L).any()):
        b = int(torch.nonzero(lengths + 1 > L)[0])
        raise ValueError(f"utterance {b}: {int(lengths[b])} tokens + EOS need {int(lengths[b]) + 1} output "
                         f"positions, log_probs has {L}")
    full = aligner_targets(targets, lengths, eos)  # [B, U_max + 1]
    scored = torch.arange(full.shape[1], device=full.device)[None] <= lengths[:, None]
    nll = -log_probs[:, : full.shape[1]].gather(-1, full[..., None])[..., 0]
    per_utt = torch.where(scored, nll, 0.0).sum(1)
    if reduction == "none":
        return per_utt
    if reduction == "sum":
        return per_utt.sum()
    return per_utt.sum() / scored.sum().clamp(min=1).to(log_probs.dtype)
