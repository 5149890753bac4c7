"""Word language model for lexicon-constrained decoding: a unigram model estimated from text."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping

__all__ = ["UnigramLM"]


@dataclass(frozen=True)
class UnigramLM:
    """Word log-probabilities (natural log), maximum-likelihood from counts.

    Attributes:
        log_probs: word -> ``log P(word)``; the vocabulary of the decoder is its keys.
    """

    log_probs: Mapping[str, float]

    def __post_init__(self) -> None:
        if not self.log_probs:
            raise ValueError("UnigramLM needs at least one word")
        for word, lp in self.log_probs.items():
            if not word or any(c.isspace() for c in word):
                raise ValueError(f"UnigramLM word {word!r} must be non-empty without whitespace")
            if not (lp <= 0.0) or math.isnan(lp):
                raise ValueError(f"UnigramLM log-probability of {word!r} must be <= 0, got {lp}")

    @classmethod
    def from_texts(cls, texts: Iterable[str], vocabulary: Iterable[str] | None = None) -> "UnigramLM":
        """Relative frequencies of the whitespace-separated words of ``texts``.

        Args:
            texts: training sentences (the words as the references spell them).
            vocabulary: when given, only these words are kept (e.g. the words a lexicon can
                pronounce); probabilities are renormalised over what is kept.
        """
        counts = Counter(word for text in texts for word in text.split())
        if vocabulary is not None:
            keep = set(vocabulary)
            counts = Counter({w: c for w, c in counts.items() if w in keep})
        total = sum(counts.values())
        if total == 0:
            raise ValueError("no words to estimate a UnigramLM from (empty texts, or none in the vocabulary)")
        return cls({w: math.log(c / total) for w, c in sorted(counts.items())})

    @classmethod
    def uniform(cls, words: Iterable[str]) -> "UnigramLM":
        """Every word equally likely (decoding with the lexicon alone)."""
        words = sorted(set(words))
        if not words:
            raise ValueError("UnigramLM.uniform needs at least one word")
        return cls({w: -math.log(len(words)) for w in words})

    def __len__(self) -> int:
        return len(self.log_probs)
