"""Compiled Viterbi search through a :class:`~fsttopo.decode.network.LexiconNetwork` (one thread per
utterance). The root is evaluated once per frame: the best and the best-other-label exit scores, so
that states with ``forbid_same`` can take the best exit whose label differs from theirs."""

from __future__ import annotations

import math

import numba
import numpy as np

_NEG_INF = -math.inf

# back-pointer codes per (frame, state)
_LOOP, _PRED0, _PRED1, _ROOT = 0, 1, 2, 3


@numba.njit(parallel=True, cache=True)
def decode_kernel(em, lengths, label, loop, pred, pred_weight, entry, forbid_same, initial, exit_gain,
                  final_gain, exit_word, out_words, out_scores):
    B = em.shape[0]
    S = label.shape[0]
    exits = np.nonzero(exit_gain > _NEG_INF)[0]
    for b in numba.prange(B):
        L = lengths[b]
        if L == 0:
            out_scores[b] = 0.0
            continue
        bp = np.zeros((L, S), dtype=np.int8)
        root_src = np.full((L, 2), -1, dtype=np.int64)
        root_label = np.full(L, -1, dtype=np.int64)
        score = np.full(S, _NEG_INF)
        new = np.empty(S)
        for s in range(S):
            if initial[s]:
                score[s] = em[b, 0, label[s]]
        r1 = _NEG_INF
        r2 = _NEG_INF
        c1 = -1
        for t in range(L):
            if t > 0:
                for s in range(S):
                    best = score[s] + loop[s]
                    code = _LOOP
                    for k in range(2):
                        p = pred[s, k]
                        if p >= 0:
                            v = score[p] + pred_weight[s, k]
                            if v > best:
                                best = v
                                code = _PRED0 + k
                    if entry[s]:
                        v = r2 if (forbid_same[s] and c1 == label[s]) else r1
                        if v > best:
                            best = v
                            code = _ROOT
                    new[s] = best + em[b, t, label[s]]
                    bp[t, s] = code
                score, new = new, score
            # root after frame t: best exit, and best exit with another label than the best's
            r1 = _NEG_INF
            r2 = _NEG_INF
            c1 = -1
            s1 = -1
            s2 = -1
            for i in range(exits.shape[0]):
                s = exits[i]
                v = score[s] + exit_gain[s]
                c = label[s]
                if v > r1:
                    if c != c1:
                        r2 = r1
                        s2 = s1
                    r1 = v
                    c1 = c
                    s1 = s
                elif v > r2 and c != c1:
                    r2 = v
                    s2 = s
            root_src[t, 0] = s1
            root_src[t, 1] = s2
            root_label[t] = c1
        best = _NEG_INF
        s = -1
        for q in range(S):
            v = score[q] + final_gain[q]
            if v > best:
                best = v
                s = q
        out_scores[b] = best
        if s < 0:
            continue
        n = 0
        if exit_word[s] >= 0:
            out_words[b, n] = exit_word[s]
            n += 1
        for t in range(L - 1, 0, -1):
            code = bp[t, s]
            if code == _PRED0 or code == _PRED1:
                s = pred[s, code - _PRED0]
            elif code == _ROOT:
                s = root_src[t - 1, 1] if (forbid_same[s] and root_label[t - 1] == label[s]) else root_src[t - 1, 0]
                if exit_word[s] >= 0:
                    out_words[b, n] = exit_word[s]
                    n += 1
        out_words[b, :n] = out_words[b, :n][::-1].copy()


def decode(em: np.ndarray, lengths: np.ndarray, network, loop: np.ndarray, pred_weight: np.ndarray,
           exit_gain: np.ndarray, final_gain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best word sequence per utterance: ``([B, T] word ids padded with -1, [B] scores)``."""
    B, T, _ = em.shape
    out_words = np.full((B, max(T, 1)), -1, dtype=np.int64)
    out_scores = np.empty(B, dtype=np.float64)
    decode_kernel(em, lengths, network.label, loop, network.pred, pred_weight, network.entry,
                  network.forbid_same, network.initial, exit_gain, final_gain, network.exit_word,
                  out_words, out_scores)
    return out_words, out_scores
