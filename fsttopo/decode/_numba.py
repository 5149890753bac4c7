"""Compiled exact Viterbi search through a :class:`~fsttopo.decode.network.LexiconNetwork` (one
thread per utterance).

Once per frame the root gives every word ``w`` its entry score ``max_x e_x + lm(h_x, w)`` over the
exits ``x`` (score ``e_x``, completed word ``h_x``). With a backoff LM,
``lm(h, w) = bigram(h, w)`` for the pairs seen in training and ``backoff(h) + unigram(w)`` otherwise,
so the maximum is the larger of: ``unigram(w) + max_x (e_x + backoff(h_x))`` (one maximum for all
words, or the best exit with another label where forced blanks forbid the word's first label), and
the seen pairs ``(h, w)`` one by one. The first term also covers seen pairs at their backoff estimate,
which is never above ``bigram(h, w)`` for the interpolated estimator of
:meth:`~fsttopo.decode.language_model.WordLM.bigram_from_texts`: the search is exact.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..engine.numba_threads import start_numba_pool

_NEG_INF = -math.inf
start_numba_pool()

# back-pointer codes per (frame, state)
_LOOP, _PRED0, _PRED1, _ROOT = 0, 1, 2, 3


@numba.njit(parallel=True, cache=True)
def decode_kernel(em, lengths, label, loop, pred, pred_weight, word, first_state, exit_state, exit_history,
                  exit_gain, exit_restricts, uni, backoff, end, pair_start, pair_word, pair_lp, boost, lm_scale,
                  word_penalty, out_words, out_scores):
    B = em.shape[0]
    S = label.shape[0]
    W = first_state.shape[0]
    X = exit_state.shape[0]
    first_label = np.empty(W, dtype=np.int64)
    for w in range(W):
        first_label[w] = label[first_state[w]]
    is_first = np.full(S, -1, dtype=np.int64)
    for w in range(W):
        is_first[first_state[w]] = w
    # per history its exits: the free ones (any word may follow) and at most one restricted one
    # (CTC with forced blank: its label may not start the next word)
    restricted_label = np.full(W + 1, -1, dtype=np.int64)
    for x in range(X):
        if exit_restricts[x]:
            restricted_label[exit_history[x]] = label[exit_state[x]]
    for b in numba.prange(B):
        L = lengths[b]
        if L == 0:
            out_scores[b] = 0.0
            continue
        bp = np.zeros((L, S), dtype=np.int8)
        root_src = np.full((L, W), -1, dtype=np.int32)
        score = np.full(S, _NEG_INF)
        new = np.empty(S)
        entry = np.empty(W)
        e = np.empty(X)
        free = np.empty(W + 1)  # best free exit score per history
        free_x = np.empty(W + 1, dtype=np.int64)
        restricted = np.empty(W + 1)  # the restricted exit's score per history
        restricted_x = np.empty(W + 1, dtype=np.int64)
        # frame 0: the leading silence/blank, or a first word after the sentence start
        for w in range(W):
            entry[w] = backoff[W] + uni[w]
        for i in range(pair_start[W], pair_start[W + 1]):
            entry[pair_word[i]] = pair_lp[i]
        score[0] = em[b, 0, label[0]]
        for w in range(W):
            s = first_state[w]
            score[s] = em[b, 0, label[s]] + lm_scale * entry[w] + word_penalty
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
                    w = is_first[s]
                    if w >= 0 and entry[w] > best:
                        best = entry[w]
                        code = _ROOT
                    new[s] = best + em[b, t, label[s]]
                    bp[t, s] = code
                score, new = new, score
            if t == L - 1:
                break
            # root after frame t: entry score of every word for frame t + 1
            g1 = _NEG_INF
            g2 = _NEG_INF
            c1 = -1
            x1 = -1
            x2 = -1
            free[:] = _NEG_INF
            restricted[:] = _NEG_INF
            for x in range(X):
                e[x] = score[exit_state[x]] + exit_gain[x]
                h = exit_history[x]
                if exit_restricts[x]:
                    restricted[h] = e[x]
                    restricted_x[h] = x
                elif e[x] > free[h]:
                    free[h] = e[x]
                    free_x[h] = x
                g = e[x] + lm_scale * backoff[exit_history[x]]
                c = label[exit_state[x]] if exit_restricts[x] else -1
                if g > g1:
                    if c != c1 or c < 0:
                        g2 = g1
                        x2 = x1
                    g1 = g
                    c1 = c
                    x1 = x
                elif g > g2 and (c != c1 or c < 0):
                    g2 = g
                    x2 = x
            for w in range(W):
                second = c1 >= 0 and c1 == first_label[w]
                entry[w] = (g2 if second else g1) + lm_scale * uni[w]
                root_src[t, w] = x2 if second else x1
            # seen pairs: a history can only beat the shared term if its best exit plus its largest
            # bigram gain over the unigram reaches the smallest shared maximum (skipping is exact)
            floor = g1 if c1 < 0 else g2
            for h in range(W + 1):
                top = max(free[h], restricted[h])
                if top == _NEG_INF or top + lm_scale * boost[h] <= floor:
                    continue
                for i in range(pair_start[h], pair_start[h + 1]):
                    w = pair_word[i]
                    v = free[h]
                    x = free_x[h]
                    if restricted[h] > v and restricted_label[h] != first_label[w]:
                        v = restricted[h]
                        x = restricted_x[h]
                    v += lm_scale * pair_lp[i]
                    if v > entry[w]:
                        entry[w] = v
                        root_src[t, w] = x
            for w in range(W):
                entry[w] += word_penalty
        best = _NEG_INF
        xb = -1
        for x in range(X):
            v = score[exit_state[x]] + lm_scale * end[exit_history[x]]
            if v > best:
                best = v
                xb = x
        out_scores[b] = best
        if xb < 0:
            continue
        s = exit_state[xb]
        n = 0
        for t in range(L - 1, 0, -1):
            code = bp[t, s]
            if code == _PRED0 or code == _PRED1:
                s = pred[s, code - _PRED0]
            elif code == _ROOT:
                out_words[b, n] = word[s]
                n += 1
                s = exit_state[root_src[t - 1, is_first[s]]]
        if word[s] >= 0:
            out_words[b, n] = word[s]
            n += 1
        out_words[b, :n] = out_words[b, :n][::-1].copy()
