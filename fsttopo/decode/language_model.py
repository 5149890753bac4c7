"""Word language models for lexicon-constrained decoding: unigram, and backoff bigram with
interpolated absolute discounting, estimated from text (natural-log probabilities)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

__all__ = ["WordLM", "BOS", "EOS"]

BOS = "<s>"
EOS = "</s>"


def _check_word(word: str, what: str) -> None:
    if not isinstance(word, str) or not word or any(c.isspace() for c in word):
        raise ValueError(f"WordLM {what} {word!r} must be a non-empty string without whitespace")


@dataclass(frozen=True)
class WordLM:
    """A unigram or backoff bigram word LM.

    ``log P(w | h)`` is ``bigram[(h, w)]`` when present, else ``backoff[h] + unigram[w]`` (a missing
    backoff weight is 0). ``h`` is a word or :data:`BOS` (sentence start); ``w`` a word or
    :data:`EOS` (sentence end). Without an ``EOS`` entry in ``unigram`` the sentence end costs
    nothing (a plain unigram LM).

    Attributes:
        unigram: word -> ``log P(word)``; its keys other than ``EOS`` are the vocabulary.
        bigram: ``(history, word)`` -> ``log P(word | history)``.
        backoff: history -> log backoff weight.
    """

    unigram: Mapping[str, float]
    bigram: Mapping[tuple[str, str], float] = field(default_factory=dict)
    backoff: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not any(w != EOS for w in self.unigram):
            raise ValueError("WordLM needs at least one word")
        for word, lp in self.unigram.items():
            _check_word(word, "word")
            if word == BOS:
                raise ValueError(f"{BOS} is a history, not a word to predict")
            if math.isnan(lp) or lp > 0.0:
                raise ValueError(f"WordLM log-probability of {word!r} must be <= 0, got {lp}")
        for (h, w), lp in self.bigram.items():
            if h != BOS and h not in self.unigram or w not in self.unigram or h == EOS:
                raise ValueError(f"WordLM bigram ({h!r}, {w!r}) uses a word outside the unigram vocabulary")
            if math.isnan(lp) or lp > 0.0:
                raise ValueError(f"WordLM log-probability of {w!r} after {h!r} must be <= 0, got {lp}")
        for h, lp in self.backoff.items():
            if h != BOS and h not in self.unigram or not math.isfinite(lp):
                raise ValueError(f"WordLM backoff weight of {h!r} must be finite and for a vocabulary word")

    @property
    def words(self) -> list[str]:
        """The vocabulary (sorted)."""
        return sorted(w for w in self.unigram if w != EOS)

    @property
    def order(self) -> int:
        return 2 if self.bigram else 1

    def __len__(self) -> int:
        return len(self.words)

    def log_prob(self, word: str, history: str = BOS) -> float:
        """``log P(word | history)``; ``word`` may be :data:`EOS` (0 for a unigram LM without it)."""
        if word == EOS and EOS not in self.unigram:
            return 0.0
        if word not in self.unigram:
            raise ValueError(f"word {word!r} is not in the LM vocabulary")
        lp = self.bigram.get((history, word))
        return lp if lp is not None else self.backoff.get(history, 0.0) + self.unigram[word]

    def sentence_log_prob(self, words: Iterable[str]) -> float:
        """``log P(words, EOS)`` with each word conditioned on the previous one (or on BOS)."""
        total, history = 0.0, BOS
        for w in words:
            total += self.log_prob(w, history)
            history = w
        return total + self.log_prob(EOS, history)

    # ------------------------------------------------------------------ estimation
    @classmethod
    def unigram_from_texts(cls, texts: Iterable[str], vocabulary: Iterable[str] | None = None) -> "WordLM":
        """Relative frequencies of the whitespace-separated words of ``texts``, renormalised over
        ``vocabulary`` when given (e.g. the words a lexicon can pronounce); no sentence-end term."""
        counts = Counter(word for text in texts for word in text.split())
        if vocabulary is not None:
            keep = set(vocabulary)
            counts = Counter({w: c for w, c in counts.items() if w in keep})
        total = sum(counts.values())
        if total == 0:
            raise ValueError("no words to estimate a WordLM from (empty texts, or none in the vocabulary)")
        return cls({w: math.log(c / total) for w, c in sorted(counts.items())})

    @classmethod
    def bigram_from_texts(cls, texts: Iterable[str], vocabulary: Iterable[str] | None = None,
                          discount: float = 0.7) -> "WordLM":
        """Bigram with interpolated absolute discounting (Ney et al. 1994), sentence start/end.

        ``P(w | h) = max(c(h, w) - D, 0) / c(h) + D * n(h) / c(h) * P(w)`` with ``n(h)`` the number
        of different words seen after ``h`` and ``P(w)`` the relative frequency (``EOS`` included).
        A word outside ``vocabulary`` breaks the context: no bigram spans it.
        """
        if not 0.0 < discount < 1.0:
            raise ValueError(f"discount must be in (0, 1), got {discount}")
        keep = None if vocabulary is None else set(vocabulary)
        uni, bi = Counter(), Counter()
        for text in texts:
            tokens = [BOS, *text.split(), EOS]
            for h, w in zip(tokens, tokens[1:]):
                known_w = w == EOS or keep is None or w in keep
                if known_w:
                    uni[w] += 1
                if known_w and (h == BOS or keep is None or h in keep):
                    bi[(h, w)] += 1
        if not any(w != EOS for w in uni):
            raise ValueError("no words to estimate a WordLM from (empty texts, or none in the vocabulary)")
        total = sum(uni.values())
        unigram = {w: math.log(c / total) for w, c in sorted(uni.items())}
        history_count, history_types = Counter(), Counter()
        for (h, _), c in bi.items():
            history_count[h] += c
            history_types[h] += 1
        backoff = {h: math.log(discount * history_types[h] / c) for h, c in history_count.items()}
        bigram = {(h, w): math.log((c - discount) / history_count[h] + math.exp(backoff[h] + unigram[w]))
                  for (h, w), c in sorted(bi.items())}
        return cls(unigram, bigram, backoff)

    @classmethod
    def uniform(cls, words: Iterable[str]) -> "WordLM":
        """Every word equally likely (decoding with the lexicon alone)."""
        words = sorted(set(words))
        if not words:
            raise ValueError("WordLM.uniform needs at least one word")
        return cls({w: -math.log(len(words)) for w in words})

    # ------------------------------------------------------------------ serialisation
    def to_arpa(self, path: str | Path) -> Path:
        """Write the LM in the ARPA text format (log10; KenLM, SRILM and flashlight read it).

        Needs a sentence end (``EOS`` in ``unigram``), as ARPA models have one:
        :meth:`bigram_from_texts` estimates it."""
        if EOS not in self.unigram:
            raise ValueError(f"an ARPA model needs a sentence end: this LM has no {EOS!r} (use bigram_from_texts)")
        ln10 = math.log(10.0)
        words = [EOS, *self.words]
        lines = ["\\data\\", f"ngram 1={len(words) + 1}"] + ([f"ngram 2={len(self.bigram)}"] if self.bigram else [])
        lines += ["", "\\1-grams:", f"-99\t{BOS}\t{self.backoff.get(BOS, 0.0) / ln10:.7f}"]
        for w in words:
            backoff = f"\t{self.backoff[w] / ln10:.7f}" if w in self.backoff else ""
            lines.append(f"{self.unigram[w] / ln10:.7f}\t{w}{backoff}")
        if self.bigram:
            lines += ["", "\\2-grams:"]
            lines += [f"{lp / ln10:.7f}\t{h} {w}" for (h, w), lp in self.bigram.items()]
        lines += ["", "\\end\\", ""]
        path = Path(path)
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    @classmethod
    def from_arpa(cls, path: str | Path) -> "WordLM":
        """Read a unigram or bigram ARPA model (e.g. from KenLM's ``lmplz -o 2``); ``<unk>`` is dropped.

        The decoder's search is exact when every listed bigram is at least as likely as its backoff
        estimate (true for interpolated estimates, as :meth:`bigram_from_texts`); a model where some
        listed pair is less likely than its backoff estimate gets that pair scored at the higher value."""
        ln10 = math.log(10.0)
        unigram, bigram, backoff, section = {}, {}, {}, None
        for num, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("ngram ") or line == "\\data\\":
                continue
            if line == "\\end\\":
                break
            if line.startswith("\\") and line.endswith("-grams:"):
                section = int(line[1:line.index("-")])
                if section > 2:
                    raise ValueError(f"{path}:{num}: only unigram and bigram ARPA models are supported, got "
                                     f"{section}-grams")
                continue
            fields = line.split()
            if section is None or len(fields) not in (section + 1, section + 2):
                raise ValueError(f"{path}:{num}: not an ARPA {section}-gram line: {raw!r}")
            lp, ngram = float(fields[0]) * ln10, fields[1:section + 1]
            if "<unk>" in ngram:
                continue
            if len(fields) == section + 2:
                backoff[ngram[-1] if section == 1 else " ".join(ngram)] = float(fields[-1]) * ln10
            if section == 1 and ngram[0] != BOS:
                unigram[ngram[0]] = lp
            elif section == 2:
                bigram[(ngram[0], ngram[1])] = lp
        return cls(unigram, bigram, {h: b for h, b in backoff.items() if " " not in h})

    def to_dict(self) -> dict:
        """JSON-ready: ``{"unigram": {...}, "bigram": [[h, w, lp], ...], "backoff": {...}}``."""
        return {"unigram": dict(self.unigram), "bigram": [[h, w, lp] for (h, w), lp in self.bigram.items()],
                "backoff": dict(self.backoff)}

    @classmethod
    def from_dict(cls, data: Mapping) -> "WordLM":
        if not isinstance(data, Mapping) or "unigram" not in data:
            raise ValueError("a WordLM dict needs 'unigram'")
        bigram = {(h, w): float(lp) for h, w, lp in data.get("bigram", [])}
        return cls(dict(data["unigram"]), bigram, dict(data.get("backoff", {})))
