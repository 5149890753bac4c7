"""DTW alignment of speech frames to text tokens, and interpolation mixup (DTW-Align, seed 003).

Every speech frame is assigned exactly one token, every token at least one frame, and the token
index never decreases along the frames. The best assignment maximizes the summed cosine
similarity of each frame with its token::

    D[t, s] = sim[t, s] + max(D[t-1, s], D[t-1, s-1]),   D[0, 0] = sim[0, 0],  D[0, s>0] = -inf

and the path ends in ``D[T_b - 1, S_b - 1]`` (so it needs ``T_b >= S_b``). The torch backend runs
the recursion one frame at a time, vectorized over utterances and tokens (any device); the Numba
backend runs the whole DP per utterance in compiled code (CPU, one thread per utterance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ._checks import int_vector
from .segments import Segment

__all__ = ["DtwAlignment", "cosine_similarity_matrix", "dtw_path", "dtw_align", "interpolation_mixup"]

BACKENDS = ("auto", "torch", "numba")


@dataclass
class DtwAlignment:
    """Monotonic frame-to-token assignment.

    Attributes:
        tokens: ``[B, T]`` int64 token index of each frame, ``-1`` on padding frames.
        starts: ``[B, S]`` int64 first frame of each token, ``-1`` on padding tokens.
        ends: ``[B, S]`` int64 end frame (exclusive) of each token, ``-1`` on padding tokens.
        scores: ``[B]`` summed similarity along the path (dtype of the similarity).
        lengths: ``[B]`` int64 frames per utterance.
    """

    tokens: torch.Tensor
    starts: torch.Tensor
    ends: torch.Tensor
    scores: torch.Tensor
    lengths: torch.Tensor

    def segments(self, labels: Sequence[Sequence[int]] | None = None) -> list[list[Segment]]:
        """Per utterance one :class:`Segment` per token (frames); ``label`` from ``labels[b][s]``, else ``-1``."""
        out = []
        for b in range(self.starts.shape[0]):
            row = [(s, int(a), int(e)) for s, (a, e) in enumerate(zip(self.starts[b], self.ends[b])) if a >= 0]
            out.append([Segment(s, int(labels[b][s]) if labels is not None else -1, a, e) for s, a, e in row])
        return out


def cosine_similarity_matrix(speech: torch.Tensor, text: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``[B, T, S]`` cosine similarity of every speech frame ``[B, T, D]`` with every token ``[B, S, D]``."""
    if speech.ndim != 3 or text.ndim != 3 or speech.shape[0] != text.shape[0] or speech.shape[2] != text.shape[2]:
        raise ValueError(f"speech [B, T, D] and text [B, S, D] must share B and D, got "
                         f"{tuple(speech.shape)} and {tuple(text.shape)}")
    a = speech / speech.norm(dim=2, keepdim=True).clamp(min=eps)
    b = text / text.norm(dim=2, keepdim=True).clamp(min=eps)
    return a @ b.transpose(1, 2)


def _torch_dp(sim: torch.Tensor, t_len: torch.Tensor, s_len: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame-synchronous recursion; returns (scores [B], diagonal-step flags [B, T, S] bool)."""
    B, T, S = sim.shape
    active = (torch.arange(T, device=sim.device)[None, :] < t_len.to(sim.device)[:, None])[:, :, None]
    neg = sim.new_full((B, 1), float("-inf"))
    D = torch.cat([sim[:, 0, :1], neg.expand(B, S - 1)], dim=1)
    diag_step = torch.zeros(B, T, S, dtype=torch.bool, device=sim.device)
    for t in range(1, T):
        diag = torch.cat([neg, D[:, :-1]], dim=1)
        take = diag > D
        diag_step[:, t] = take
        D = torch.where(active[:, t], sim[:, t] + torch.where(take, diag, D), D)
    scores = D.gather(1, (s_len.to(sim.device) - 1)[:, None]).squeeze(1)
    return scores, diag_step


def _backtrace(diag_step: np.ndarray, t_len: np.ndarray, s_len: np.ndarray) -> np.ndarray:
    """Token of every frame ``[B, T]`` (-1 on padding), walking back from ``(T_b - 1, S_b - 1)``."""
    B, T, _ = diag_step.shape
    tokens = np.full((B, T), -1, dtype=np.int64)
    s = s_len - 1
    rows = np.arange(B)
    for t in range(T - 1, -1, -1):
        act = t < t_len
        tokens[:, t] = np.where(act, s, -1)
        s = s - (act & diag_step[rows, t, np.maximum(s, 0)])
    return tokens


def dtw_path(
    similarity: torch.Tensor,
    speech_lengths: torch.Tensor | Sequence[int],
    text_lengths: torch.Tensor | Sequence[int],
    *,
    backend: str = "auto",
) -> DtwAlignment:
    """Best monotonic assignment of frames to tokens for a similarity matrix (higher is better).

    Args:
        similarity: ``[B, T, S]`` float32/float64 (e.g. :func:`cosine_similarity_matrix`); entries
            past the lengths are ignored.
        speech_lengths: ``[B]`` valid frames ``T_b``.
        text_lengths: ``[B]`` valid tokens ``S_b`` with ``1 <= S_b <= T_b``.
        backend: ``"auto"`` (Numba for CPU tensors, torch otherwise), ``"torch"`` or ``"numba"``.
            Ties between staying and advancing go to staying.

    Returns:
        :class:`DtwAlignment` (CPU tensors except ``scores``, which stays on the input device).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if not torch.is_tensor(similarity) or similarity.ndim != 3 or similarity.dtype not in (torch.float32, torch.float64):
        got = tuple(similarity.shape) if torch.is_tensor(similarity) else type(similarity).__name__
        raise ValueError(f"similarity must be a float32/float64 tensor [B, T, S], got {got}")
    B, T, S = similarity.shape
    t_len = int_vector(speech_lengths, B, "speech_lengths", lower=1, upper=T)
    s_len = int_vector(text_lengths, B, "text_lengths", lower=1, upper=S)
    if bool((s_len > t_len).any()):
        b = int(torch.nonzero(s_len > t_len)[0])
        raise ValueError(f"utterance {b} has {int(s_len[b])} tokens but only {int(t_len[b])} frames: "
                         "every token needs at least one frame")
    lo, hi = torch.aminmax(similarity.detach())  # one pass; NaN propagates into both
    if not (bool(torch.isfinite(lo)) and bool(torch.isfinite(hi))):  # padding may hold anything: look closer
        valid = (torch.arange(T)[None, :, None] < t_len[:, None, None]) \
            & (torch.arange(S)[None, None, :] < s_len[:, None, None])
        if bool((~torch.isfinite(similarity) & valid.to(similarity.device)).any()):
            raise ValueError("similarity contains NaN or inf inside the lengths")
    if backend == "numba" and similarity.device.type != "cpu":
        raise ValueError(f"the numba backend runs on CPU tensors only, got device {similarity.device}")
    if backend == "numba" or (backend == "auto" and similarity.device.type == "cpu"):
        from ._dtw_numba import dtw_numba

        scores_np, tokens_np = dtw_numba(similarity.detach().contiguous().numpy(), t_len.numpy(), s_len.numpy())
        scores = torch.from_numpy(scores_np)
        tokens = torch.from_numpy(tokens_np)
    else:
        scores, diag_step = _torch_dp(similarity.detach(), t_len, s_len)
        tokens = torch.from_numpy(_backtrace(diag_step.cpu().numpy(), t_len.numpy(), s_len.numpy()))
    starts, ends = _token_spans(tokens, S)
    return DtwAlignment(tokens=tokens, starts=starts, ends=ends, scores=scores, lengths=t_len)


def _token_spans(tokens: torch.Tensor, S: int) -> tuple[torch.Tensor, torch.Tensor]:
    """First frame and end frame (exclusive) of each token ``[B, S]`` (-1 for absent tokens)."""
    B, T = tokens.shape
    idx = torch.where(tokens >= 0, tokens, S)
    frames = torch.arange(T).expand(B, T)
    starts = torch.full((B, S + 1), T, dtype=torch.int64).scatter_reduce(1, idx, frames, "amin")[:, :S]
    ends = torch.full((B, S + 1), -1, dtype=torch.int64).scatter_reduce(1, idx, frames + 1, "amax")[:, :S]
    absent = ends < 0
    return starts.masked_fill(absent, -1), ends


def dtw_align(
    speech: torch.Tensor,
    text: torch.Tensor,
    speech_lengths: torch.Tensor | Sequence[int],
    text_lengths: torch.Tensor | Sequence[int],
    *,
    backend: str = "auto",
) -> DtwAlignment:
    """DTW-Align: :func:`dtw_path` on the cosine similarity of ``speech [B, T, D]`` and ``text [B, S, D]``."""
    return dtw_path(cosine_similarity_matrix(speech.detach(), text.detach()), speech_lengths, text_lengths,
                    backend=backend)


def interpolation_mixup(speech: torch.Tensor, text: torch.Tensor, tokens: torch.Tensor,
                        ratio: float | torch.Tensor) -> torch.Tensor:
    """Mix each speech frame with the embedding of its aligned token (DTW-Align's interpolation mixup).

    ``out[b, t] = (1 - r) * speech[b, t] + r * text[b, tokens[b, t]]``; frames with token ``-1``
    (padding) keep ``speech``. Differentiable w.r.t. ``speech`` and ``text``.

    Args:
        speech: ``[B, T, D]`` speech embeddings.
        text: ``[B, S, D]`` text embeddings.
        tokens: ``[B, T]`` int64 token index per frame (:attr:`DtwAlignment.tokens`).
        ratio: ``r`` in ``[0, 1]``: a float, ``[B]`` (per utterance) or ``[B, T]`` (per frame).

    Returns:
        ``[B, T, D]`` in the dtype of ``speech``.
    """
    if speech.ndim != 3 or text.ndim != 3 or speech.shape[0] != text.shape[0] or speech.shape[2] != text.shape[2]:
        raise ValueError(f"speech [B, T, D] and text [B, S, D] must share B and D, got "
                         f"{tuple(speech.shape)} and {tuple(text.shape)}")
    B, T, D = speech.shape
    tokens = torch.as_tensor(tokens, device=speech.device)
    if tokens.shape != (B, T) or tokens.is_floating_point():
        raise ValueError(f"tokens must be an integer tensor [B={B}, T={T}], got {tokens.dtype} {tuple(tokens.shape)}")
    if bool((tokens >= text.shape[1]).any()) or bool((tokens < -1).any()):
        raise ValueError(f"tokens must lie in [-1, {text.shape[1]})")
    r = torch.as_tensor(ratio, dtype=speech.dtype, device=speech.device)
    if r.ndim == 1 and r.shape == (B,):
        r = r[:, None]
    if r.ndim not in (0, 2) or (r.ndim == 2 and r.shape not in ((B, 1), (B, T))):
        raise ValueError(f"ratio must be a float, [B={B}] or [B={B}, T={T}], got shape {tuple(r.shape)}")
    if bool((r < 0).any()) or bool((r > 1).any()):
        raise ValueError("ratio must lie in [0, 1]")
    aligned = text.gather(1, tokens.clamp(min=0)[:, :, None].expand(B, T, D))
    r = torch.where(tokens >= 0, r, r.new_zeros(()))[:, :, None]
    return (1 - r) * speech + r * aligned
