"""Alignment and recognition metrics shared by all recipes (paper App. A.4.2).

Conventions: ``log_probs`` are ``[B, T, V]`` per-frame log-posteriors, ``lengths`` ``[B]`` valid
frames, alignments ``[B, T]`` integer label ids (anything past ``lengths`` is ignored). Word spans
are ``(start, end)`` frame indices with ``end`` exclusive. Percentages are in ``[0, 100]`` (the
label error rate may exceed 100 through insertions).
"""

from __future__ import annotations

from typing import Sequence

import kaldialign
import torch

from .align import Segment

__all__ = [
    "collapse", "greedy_decode", "label_error_rate", "framewise_cross_entropy", "mean_label_posterior",
    "silence_ratio", "time_stamp_error",
]


def _valid(lengths: torch.Tensor | Sequence[int], T: int) -> torch.Tensor:
    lengths = torch.as_tensor(lengths)
    return torch.arange(T)[None, :] < lengths[:, None].cpu()


def collapse(frame_labels: Sequence[int], blank: int) -> list[int]:
    """Label sequence of a frame labelling: merge consecutive repeats, then drop ``blank``."""
    out, prev = [], None
    for lab in frame_labels:
        lab = int(lab)
        if lab != prev and lab != blank:
            out.append(lab)
        prev = lab
    return out


def greedy_decode(log_probs: torch.Tensor, lengths: torch.Tensor | Sequence[int], blank: int) -> list[list[int]]:
    """Best-path decoding: per frame the arg-max label, then :func:`collapse`. Returns label ids per sequence."""
    best = log_probs.argmax(-1).cpu()
    return [collapse(best[b, : int(n)].tolist(), blank) for b, n in enumerate(lengths)]


def label_error_rate(hyps: Sequence[Sequence[int]], refs: Sequence[Sequence[int]]) -> float:
    """Edit distance ``(N_sub + N_ins + N_del) / N_ref_labels`` summed over all sequences, in %."""
    if len(hyps) != len(refs):
        raise ValueError(f"got {len(hyps)} hypotheses for {len(refs)} references")
    num_ref = sum(len(r) for r in refs)
    if num_ref == 0:
        raise ValueError("references hold no labels")
    edits = sum(kaldialign.edit_distance(list(r), list(h))["total"] for h, r in zip(hyps, refs))
    return 100.0 * edits / num_ref


def framewise_cross_entropy(log_probs: torch.Tensor, lengths: torch.Tensor | Sequence[int],
                            alignment: torch.Tensor) -> float:
    """``-log p(y_t | x)`` of the reference label, averaged over all valid frames; nats per frame."""
    valid = _valid(lengths, log_probs.shape[1]).to(log_probs.device)
    ref = alignment.to(log_probs.device).clamp(min=0)
    nll = -log_probs.gather(-1, ref.unsqueeze(-1)).squeeze(-1)
    return float(nll[valid].mean())


def mean_label_posterior(log_probs: torch.Tensor, lengths: torch.Tensor | Sequence[int], label: int) -> float:
    """Average posterior ``E p(label | x)`` over all valid frames, in % (the paper's ``E p(eps|x)``)."""
    valid = _valid(lengths, log_probs.shape[1]).to(log_probs.device)
    return 100.0 * float(log_probs[..., label].exp()[valid].mean())


def silence_ratio(alignment: torch.Tensor, lengths: torch.Tensor | Sequence[int], silence: int) -> float:
    """Share of valid frames labelled ``silence`` (or blank) in an alignment, in %."""
    valid = _valid(lengths, alignment.shape[1])
    return 100.0 * float((alignment.cpu()[valid] == silence).double().mean())


def time_stamp_error(hyp: Sequence[Sequence[tuple[int, int]]], ref: Sequence[Sequence[tuple[int, int]]],
                     center: bool = False) -> float:
    """Time stamp error (TSE), in frames, over all words of all sequences.

    Default (left/right): ``sum_w (|start_ref - start_hyp| + |end_ref - end_hyp|) / (2 N_words)``
    (App. A.4.2). With ``center=True``: ``sum_w |c_ref - c_hyp| / N_words`` with the word center
    ``c = (start + end) / 2``. The end convention (exclusive or inclusive) cancels out as long as
    both sides use the same one.
    """
    if len(hyp) != len(ref):
        raise ValueError(f"got {len(hyp)} hypothesis sequences for {len(ref)} references")
    total, count = 0.0, 0
    for b, (hs, rs) in enumerate(zip(hyp, ref)):
        if len(hs) != len(rs):
            raise ValueError(f"sequence {b}: {len(hs)} hypothesis words for {len(rs)} reference words")
        for (hs_, he), (rs_, re) in zip(hs, rs):
            total += abs((hs_ + he) - (rs_ + re)) / 2 if center else (abs(hs_ - rs_) + abs(he - re)) / 2
            count += 1
    if count == 0:
        raise ValueError("no words to compare")
    return total / count
