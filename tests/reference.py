"""Independent brute-force references: enumerate every path of a single Fsa."""

from __future__ import annotations

import math

import torch

from fsttopo import Fsa


def enumerate_paths(fsa: Fsa, num_frames: int) -> list[tuple[list[int], int]]:
    """All (frame-arc indices, final-arc index) paths that consume exactly ``num_frames`` frames."""
    arcs = fsa.arcs.tolist()
    out_arcs: dict[int, list[int]] = {}
    for i, (s, _, _) in enumerate(arcs):
        out_arcs.setdefault(s, []).append(i)
    paths = []

    def walk(state: int, taken: list[int]) -> None:
        if len(taken) == num_frames:
            for i in out_arcs.get(state, []):
                if arcs[i][2] == -1:
                    paths.append((list(taken), i))
            return
        for i in out_arcs.get(state, []):
            if arcs[i][2] >= 0:
                taken.append(i)
                walk(arcs[i][1], taken)
                taken.pop()

    walk(0, [])
    return paths


def path_scores(fsa: Fsa, log_probs: torch.Tensor, posterior_scale: float = 1.0,
                log_prior: torch.Tensor | None = None, prior_scale: float = 0.0,
                transition_scale: float = 1.0) -> list[tuple[float, list[int]]]:
    """Score (Eq. 6, log domain) and frame labels of every path; ``log_probs`` is ``[T, V]``."""
    arcs = fsa.arcs.tolist()
    w = fsa.scores.tolist()
    lp = log_probs.tolist()
    prior = log_prior.tolist() if log_prior is not None else None
    result = []
    for frame_arcs, final in enumerate_paths(fsa, len(lp)):
        total = transition_scale * w[final]
        labels = []
        for t, i in enumerate(frame_arcs):
            lab = arcs[i][2]
            labels.append(lab)
            total += posterior_scale * lp[t][lab] + transition_scale * w[i]
            if prior is not None:
                total -= prior_scale * prior[lab]
        result.append((total, labels))
    return result


def brute_full_sum(*args, **kwargs) -> float:
    scores = [s for s, _ in path_scores(*args, **kwargs)]
    if not scores:
        return -math.inf
    m = max(scores)
    return m + math.log(sum(math.exp(s - m) for s in scores))


def brute_viterbi(*args, **kwargs) -> tuple[float, list[int]]:
    return max(path_scores(*args, **kwargs), key=lambda x: x[0], default=(-math.inf, []))
