"""Phone and word error rates of :class:`fsttopo.data.g2p.EspeakG2P` against CMUdict.

The test words: CMUdict's letters-only words (first pronunciation, stress removed), sorted,
shuffled with ``random.Random(seed)``, the first ``count`` (seed 0, 2000: the numbers in
docs/alignment.md). Phone error rate = edit distance / reference phones; word error rate = share
of words with any phone wrong.

    python -m recipes.g2p.evaluate [--count 2000] [--seed 0] [--show 20]
"""

from __future__ import annotations

import argparse
import random
import re

import kaldialign

from fsttopo.data.g2p import EspeakG2P
from fsttopo.data.lexicon import _cmudict_first_pronunciations


def test_words(count: int, seed: int) -> list[str]:
    """``count`` CMUdict words of letters only, drawn reproducibly with ``seed``."""
    words = sorted(w for w in _cmudict_first_pronunciations() if re.fullmatch(r"[a-z]+", w))
    random.Random(seed).shuffle(words)
    return words[:count]


def error_rates(words: list[str], g2p: EspeakG2P) -> tuple[float, float, list[tuple[str, list[str], list[str]]]]:
    """(phone error rate, word error rate, the wrong words with hypothesis and reference)."""
    lexicon = _cmudict_first_pronunciations()
    errors = phones = 0
    wrong = []
    for word in words:
        ref, hyp = list(lexicon[word]), g2p(word)
        distance = kaldialign.edit_distance(ref, hyp)["total"]
        errors += distance
        phones += len(ref)
        if distance:
            wrong.append((word, hyp, ref))
    return errors / phones, len(wrong) / len(words), wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=20, help="print this many wrong words")
    args = parser.parse_args()
    per, wer, wrong = error_rates(test_words(args.count, args.seed), EspeakG2P())
    print(f"{args.count} words, seed {args.seed}: phone error rate {100 * per:.1f} %, word error rate {100 * wer:.1f} %")
    for word, hyp, ref in wrong[: args.show]:
        print(f"  {word}: {' '.join(hyp)}  (CMUdict {' '.join(ref)})")


if __name__ == "__main__":
    main()
