"""CTC label prefix scores (paper Eq. 23; Hori et al., 2017) by dynamic programming.

For a label sequence ``a_1..a_S`` the prefix probability of ``a_1..a_s`` is the probability mass of
all frame-label sequences whose label sequence starts with ``a_1..a_s``. It is the sum over the
frame ``t`` at which label ``a_s`` is *entered* (its first frame) of the forward score of reaching
that state at ``t``; whatever follows frame ``t`` sums to one. The conditional label score is the
ratio of consecutive prefix probabilities::

    log p(a_s | a_<s, x) = log P(a_1..a_s prefix) - log P(a_1..a_{s-1} prefix),   P(empty) = 1

and ``log p(end | a_1..a_S, x) = log p(a_1..a_S | x) - log P(a_1..a_S prefix)`` closes the chain, so
``sum_s log p(a_s | a_<s, x) + end`` is the full CTC log-likelihood.

States are ``(blank, a_1, blank, a_2, ..., a_S, blank)`` as in :func:`fsttopo.ctc_graph`; with
``forced_blank=False`` (the paper's GradScore topology) equal neighbouring labels may follow each
other directly, and the scores are sums over graph paths rather than over label sequences.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch

from ._logspace import logsumexp

__all__ = ["CtcPrefixScores", "ctc_prefix_scores", "pad_targets"]


class CtcPrefixScores(NamedTuple):
    """Output of :func:`ctc_prefix_scores` (all in the dtype/device of ``log_probs``, nats).

    Attributes:
        labels: ``[B, S]`` ``log p(a_s | a_<s, x)``; 0 past each utterance's number of labels.
        end: ``[B]`` ``log p(end | a_1..a_S, x)``.
        prefix: ``[B, S + 1]`` log prefix probability of ``a_1..a_s`` (``prefix[:, 0] == 0``);
            ``-inf`` past each utterance's number of labels.
    """

    labels: torch.Tensor
    end: torch.Tensor
    prefix: torch.Tensor


def pad_targets(targets: Sequence[Sequence[int]], num_classes: int | None, blank: int,
                device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Check label sequences (ids in ``[0, num_classes)`` when given, never ``blank``); pad with ``blank``.

    Returns ``(padded [B, S_max] int64, lengths [B] int64)`` on ``device``.
    """
    upper = num_classes if num_classes is not None else float("inf")
    if not 0 <= blank < upper:
        raise ValueError(f"blank id {blank} out of range for {num_classes} classes")
    rows = []
    for b, seq in enumerate(targets):
        row = [int(x) for x in (seq.tolist() if torch.is_tensor(seq) else seq)]
        for lab in row:
            if not 0 <= lab < upper:
                raise ValueError(f"targets[{b}]: label id {lab} out of range for {num_classes} classes")
            if lab == blank:
                raise ValueError(f"targets[{b}]: contains the blank id {blank}")
        rows.append(row)
    S = max((len(r) for r in rows), default=0)
    padded = torch.full((len(rows), S), blank, dtype=torch.int64)
    for b, row in enumerate(rows):
        padded[b, : len(row)] = torch.tensor(row, dtype=torch.int64)
    lens = torch.tensor([len(r) for r in rows], dtype=torch.int64)
    return padded.to(device), lens.to(device)


def _check_inputs(log_probs: torch.Tensor, lengths: torch.Tensor | Sequence[int],
                  targets: Sequence[Sequence[int]], blank: int, forced_blank: bool
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if not torch.is_tensor(log_probs) or log_probs.ndim != 3 or not log_probs.is_floating_point():
        got = tuple(log_probs.shape) if torch.is_tensor(log_probs) else type(log_probs).__name__
        raise ValueError(f"log_probs must be a floating tensor [B, T, V], got {got}")
    B, T, V = log_probs.shape
    if len(targets) != B:
        raise ValueError(f"got {len(targets)} label sequences for a batch of {B} utterances")
    lengths = torch.as_tensor(lengths)
    if lengths.shape != (B,) or lengths.is_floating_point() or lengths.dtype == torch.bool:
        raise ValueError(f"lengths must be {B} integers (frames), got {lengths.dtype} {tuple(lengths.shape)}")
    tgt, tgt_len = pad_targets(targets, V, blank, log_probs.device)
    lens = lengths.to(torch.int64)
    repeats = (tgt[:, 1:] == tgt[:, :-1]) & (torch.arange(1, tgt.shape[1], device=tgt.device) < tgt_len[:, None])
    need = tgt_len.cpu() + (repeats.sum(1).cpu() if forced_blank else 0)
    need = need.clamp(min=1)
    for b in range(B):
        if not need[b] <= lens[b] <= T:
            raise ValueError(f"lengths[{b}] = {int(lens[b])}: utterance {b} needs between {int(need[b])} "
                             f"and T={T} frames for its {int(tgt_len[b])} labels")
    return lens.to(log_probs.device), tgt, tgt_len


def ctc_prefix_scores(
    log_probs: torch.Tensor,
    lengths: torch.Tensor | Sequence[int],
    targets: Sequence[Sequence[int]],
    *,
    blank: int = 0,
    forced_blank: bool = True,
) -> CtcPrefixScores:
    """Per-label CTC prefix scores ``log p_CTC(a_s | a_<s, x)`` for a batch (paper Eq. 23).

    Vectorized over utterances and labels; loops over frames. Differentiable w.r.t. ``log_probs``
    by autograd (also under ``torch.autograd.grad(..., is_grads_batched=True)``).

    Args:
        log_probs: ``[B, T, V]`` float32/float64 per-frame log-probabilities (log-softmax output).
        lengths: ``[B]`` valid frames per utterance; frames past it are ignored.
        targets: ``B`` label sequences (ints in ``[0, V)``, without blank).
        blank: blank label id.
        forced_blank: standard CTC (blank between equal neighbours) when True.

    Returns:
        :class:`CtcPrefixScores`.

    Raises:
        ValueError: bad shapes, label ids out of range or equal to blank, or an utterance with too
            few frames for its labels.
    """
    lens, tgt, tgt_len = _check_inputs(log_probs, lengths, targets, blank, forced_blank)
    B, T, _ = log_probs.shape
    S = tgt.shape[1]
    E = 2 * S + 1
    ext = torch.full((B, E), blank, dtype=torch.int64, device=log_probs.device)
    ext[:, 1::2] = tgt
    em = log_probs.gather(2, ext[:, None, :].expand(B, T, E))  # [B, T, E]
    state = torch.arange(E, device=log_probs.device)
    skip = ((state % 2 == 1) & (state >= 3)).expand(B, E)
    if forced_blank:
        skip = skip & (ext != ext.roll(2, dims=1))
    neg = em.new_full((B, 2), float("-inf"))
    active = torch.arange(T, device=log_probs.device)[None, :] < lens[:, None]

    ems = em.unbind(1)  # per-frame views; unbind keeps the backward O(T) (select would be O(T^2))
    acts = active[:, :, None].unbind(1)
    enter = torch.where(state <= 1, ems[0], neg[:, :1])  # first frame: from the start state
    alpha = enter
    acc = enter[:, 1::2]  # [B, S] log-sum over frames of entering label state s
    for t in range(1, T):
        one = torch.cat([neg[:, :1], alpha[:, :-1]], dim=1)
        two = torch.where(skip, torch.cat([neg, alpha[:, :-2]], dim=1), neg[:, :1])
        enter = logsumexp(torch.stack([one, two]), 0) + ems[t]
        new = logsumexp(torch.stack([alpha + ems[t], enter]), 0)
        act = acts[t]
        alpha = torch.where(act, new, alpha)
        acc = torch.where(act, logsumexp(torch.stack([acc, enter[:, 1::2]]), 0), acc)

    last = alpha.gather(1, 2 * tgt_len[:, None]).squeeze(1)
    before = alpha.gather(1, (2 * tgt_len - 1).clamp(min=0)[:, None]).squeeze(1)
    before = torch.where(tgt_len > 0, before, torch.full_like(before, float("-inf")))
    total = logsumexp(torch.stack([last, before]), 0)

    prefix = torch.cat([acc.new_zeros(B, 1), acc], dim=1)  # [B, S + 1]
    pos = torch.arange(S + 1, device=log_probs.device)
    end = total - prefix.gather(1, tgt_len[:, None]).squeeze(1)
    labels = torch.where(pos[None, 1:] <= tgt_len[:, None], prefix[:, 1:] - prefix[:, :-1],
                         prefix.new_zeros(()))
    prefix = torch.where(pos[None, :] <= tgt_len[:, None], prefix, prefix.new_full((), float("-inf")))
    return CtcPrefixScores(labels=labels, end=end, prefix=prefix)
