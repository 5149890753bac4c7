"""The G2P option not shipped: letter-to-phone rules learned from CMUdict, for comparison with eSpeak.

1. Letters and phones are aligned by hard EM: every letter emits 0, 1 or 2 phones
   (``x`` -> ``k s``, silent ``e`` -> nothing), scored by ``-log P(phones | letter)``, three
   passes from co-occurrence counts.
2. Each letter's phones are then predicted from the letters around it: the widest context window
   (up to 5 letters each side) seen in training gives its most frequent phones; a window is kept
   only when it predicts something other than the narrower one it backs off to (what keeps the
   table small).

Trained on CMUdict's letters-only words minus the 2000 test words and the 2000 words used to tune
eSpeak's mapping (:func:`recipes.g2p.evaluate.test_words`, seed 0), tested on the same 2000 words as
eSpeak (docs/alignment.md)::

    python -m recipes.g2p.letter_model
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict

import kaldialign

from fsttopo.data.lexicon import _cmudict_first_pronunciations

WINDOWS = [(5, 5), (4, 5), (4, 4), (3, 4), (3, 3), (2, 3), (2, 2), (1, 2), (1, 1), (0, 1), (0, 0)]
"""(left, right) letter windows from widest to the letter alone, each inside the one before (the
left side shrinks first: English spelling looks ahead, as in the silent final e)."""
_PAD = "#"


def split_words(seed: int = 0) -> tuple[list[str], list[str]]:
    """(training words, the 2000 test words of recipes/g2p/evaluate.py)."""
    words = sorted(w for w in _cmudict_first_pronunciations() if re.fullmatch(r"[a-z]+", w))
    random.Random(seed).shuffle(words)
    return words[4000:], words[:2000]


def align(pairs: list[tuple[str, tuple[str, ...]]], passes: int = 3) -> list[list[tuple[str, ...]]]:
    """Per word, the phones each letter emits (hard EM, module docstring)."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for word, phones in pairs:  # start: every letter with every phone of its word, and with nothing
        for letter in word:
            counts[letter][()] += 1
            for p in phones:
                counts[letter][(p,)] += 1
    for _ in range(passes):
        cost = _costs(counts)
        counts = defaultdict(Counter)
        for word, phones in pairs:
            for letter, chunk in zip(word, _best_alignment(word, phones, cost) or ()):
                counts[letter][chunk] += 1
    cost = _costs(counts)
    return [_best_alignment(w, p, cost) for w, p in pairs]


def _costs(counts: dict[str, Counter]) -> dict[str, dict[tuple[str, ...], float]]:
    return {letter: {chunk: -math.log(n / sum(c.values())) for chunk, n in c.items()} for letter, c in counts.items()}


def _chunk_cost(letter_cost: dict[tuple[str, ...], float], chunk: tuple[str, ...]) -> float:
    """``-log P(chunk | letter)``; a chunk never seen with the letter: 20 for one phone, and for two
    the costs of its phones plus 5 (the first pass has seen no two-phone chunks at all)."""
    if chunk in letter_cost:
        return letter_cost[chunk]
    if len(chunk) == 2:
        return _chunk_cost(letter_cost, chunk[:1]) + _chunk_cost(letter_cost, chunk[1:]) + 5.0
    return 20.0


def _best_alignment(word: str, phones: tuple[str, ...], cost) -> list[tuple[str, ...]] | None:
    """Cheapest split of ``phones`` into one chunk of 0-2 phones per letter (None if impossible)."""
    inf = float("inf")
    n, m = len(word), len(phones)
    best = [[inf] * (m + 1) for _ in range(n + 1)]
    back = [[0] * (m + 1) for _ in range(n + 1)]
    best[0][0] = 0.0
    for i in range(n):
        letter_cost = cost.get(word[i], {})
        for j in range(m + 1):
            if best[i][j] == inf:
                continue
            for size in (0, 1, 2):
                if j + size > m:
                    break
                c = _chunk_cost(letter_cost, tuple(phones[j:j + size]))
                if best[i][j] + c < best[i + 1][j + size]:
                    best[i + 1][j + size] = best[i][j] + c
                    back[i + 1][j + size] = size
    if best[n][m] == inf:
        return None
    chunks, j = [], m
    for i in range(n, 0, -1):
        size = back[i][j]
        chunks.append(tuple(phones[j - size:j]))
        j -= size
    return chunks[::-1]


def _context(word: str, i: int, left: int, right: int) -> str:
    pad = max(max(w) for w in WINDOWS)
    padded = _PAD * pad + word + _PAD * pad
    return padded[i + pad - left:i + pad] + "[" + word[i] + "]" + padded[i + pad + 1:i + pad + 1 + right]


def train(pairs: list[tuple[str, tuple[str, ...]]]) -> dict[str, tuple[str, ...]]:
    """Context -> phones table (module docstring)."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for (word, _), chunks in zip(pairs, align(pairs)):
        for i, chunk in enumerate(chunks or ()):  # None: no split into 0-2 phones per letter
            for left, right in WINDOWS:
                counts[_context(word, i, left, right)][chunk] += 1
    table = {}
    for context, c in counts.items():
        guess = c.most_common(1)[0][0]
        narrower = _backoff(context)
        if narrower is None or counts[narrower].most_common(1)[0][0] != guess:
            table[context] = guess
    return table


def _backoff(context: str) -> str | None:
    left, rest = context.split("[", 1)
    letter, right = rest.split("]", 1)
    k = WINDOWS.index((len(left), len(right)))
    if k + 1 == len(WINDOWS):
        return None
    nl, nr = WINDOWS[k + 1]
    return (left[len(left) - nl:] if nl else "") + "[" + letter + "]" + right[:nr]


def pronounce(table: dict[str, tuple[str, ...]], word: str) -> list[str]:
    """Phones of ``word``: per letter, the widest window in ``table``."""
    out: list[str] = []
    for i in range(len(word)):
        for left, right in WINDOWS:
            chunk = table.get(_context(word, i, left, right))
            if chunk is not None:
                out.extend(chunk)
                break
    return out


def main() -> None:
    lexicon = _cmudict_first_pronunciations()
    train_words, test = split_words()
    table = train([(w, lexicon[w]) for w in train_words])
    errors = phones = wrong = 0
    for word in test:
        distance = kaldialign.edit_distance(list(lexicon[word]), pronounce(table, word))["total"]
        errors, phones, wrong = errors + distance, phones + len(lexicon[word]), wrong + (distance > 0)
    size = sum(len(c) + 1 + len(" ".join(p)) + 1 for c, p in table.items())
    print(f"{len(train_words)} training words, {len(table)} contexts (~{size / 1e6:.1f} MB as text); "
          f"{len(test)} test words: phone error rate {100 * errors / phones:.1f} %, "
          f"word error rate {100 * wrong / len(test):.1f} %")


if __name__ == "__main__":
    main()
