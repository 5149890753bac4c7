"""Synthetic alignment data of the paper's sec. 6.1 (Eqs. 26-27).

A reference alignment is sampled first, then features are derived from it:

1. ``N_words`` uniform in ``[num_words[0], num_words[1]]``; each word drawn uniformly from the
   word list and spelled in characters (the default words "helo", "world", "howe", "are", "you"
   give ``|A| = 10`` labels);
2. per label, its number of repetitions (frames) uniform in ``[repetitions[0], repetitions[1]]``;
   ``T_A`` is the number of speech frames;
3. the silence factor ``r_sil`` uniform in ``[silence_factor[0], silence_factor[1]]`` and
   ``T_eps = floor(r_sil * T_A)`` silence frames (rounded down: with the setting of Table 1 this
   gives the 21% silence the paper states; rounding half up would give 23%), each put independently and
   uniformly at one of the ``N_words + 1`` positions before/between/after the words;
4. features ``x_t = (1 - sigma) * onehot(y_t) + sigma * N(0, 1)`` with ``D = |Y| = |A| + 1``
   (Eq. 26).

Label ids: silence/blank ``eps`` is 0, the characters are ``1..|A|`` in sorted order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
import torch

__all__ = ["DEFAULT_WORDS", "SILENCE", "DataConfig", "SyntheticBatch", "generate_batch"]

DEFAULT_WORDS: tuple[str, ...] = ("helo", "world", "howe", "are", "you")
SILENCE = 0


@dataclass(frozen=True)
class DataConfig:
    """Distribution of the synthetic data (paper sec. 6.1).

    Attributes:
        words: word list; each word is spelled in its characters.
        num_words: inclusive range ``(min, max)`` of words per sequence.
        repetitions: inclusive range ``(min, max)`` of frames per label.
        silence_factor: range ``(min, max)`` of ``r_sil``; ``T_eps = floor(r_sil * T_A)``.
        noise: noise scale ``sigma`` of Eq. 26, in ``[0, 1]``.
    """

    words: tuple[str, ...] = DEFAULT_WORDS
    num_words: tuple[int, int] = (1, 3)
    repetitions: tuple[int, int] = (2, 2)
    silence_factor: tuple[float, float] = (0.3, 0.3)
    noise: float = 0.0

    def __post_init__(self) -> None:
        if not self.words or any(not w for w in self.words):
            raise ValueError(f"words must be a non-empty list of non-empty strings, got {self.words!r}")
        for name in ("num_words", "repetitions"):
            lo, hi = getattr(self, name)
            if int(lo) != lo or int(hi) != hi or not 1 <= lo <= hi:
                raise ValueError(f"{name} must be integers with 1 <= min <= max, got {(lo, hi)}")
        lo, hi = self.silence_factor
        if not 0.0 <= lo <= hi or not math.isfinite(hi):
            raise ValueError(f"silence_factor must satisfy 0 <= min <= max < inf, got {(lo, hi)}")
        if not 0.0 <= self.noise <= 1.0:
            raise ValueError(f"noise must be in [0, 1], got {self.noise}")

    @property
    def alphabet(self) -> list[str]:
        """The characters ``A`` in label-id order (id ``i + 1`` is ``alphabet[i]``)."""
        return sorted(set("".join(self.words)))

    @property
    def num_classes(self) -> int:
        """``|Y| = |A| + 1`` (labels plus silence/blank); also the feature dimension ``D``."""
        return len(self.alphabet) + 1

    def spell(self, word: str) -> list[int]:
        """Label ids of a word's characters."""
        alphabet = self.alphabet
        return [alphabet.index(c) + 1 for c in word]

    def symbols(self) -> list[str]:
        """Printable symbol per label id (``"_"`` for silence)."""
        return ["_"] + self.alphabet


@dataclass
class SyntheticBatch:
    """A batch of sequences with their reference alignment.

    Attributes:
        features: ``[B, T, D]`` float32 inputs (Eq. 26), zeros on padding.
        lengths: ``[B]`` int64 number of frames.
        alignment: ``[B, T]`` int64 reference label per frame (0 = silence), ``-1`` on padding.
        words: per sequence, per word, its label ids.
        word_spans: per sequence, per word, reference ``(start, end)`` frames (end exclusive).
    """

    features: torch.Tensor
    lengths: torch.Tensor
    alignment: torch.Tensor
    words: list[list[list[int]]]
    word_spans: list[list[tuple[int, int]]]

    @property
    def transcripts(self) -> list[list[int]]:
        """Per sequence, its label sequence without silence."""
        return [[lab for w in utt for lab in w] for utt in self.words]


def _randint(lo: int, hi: int, generator: torch.Generator) -> int:
    return int(torch.randint(int(lo), int(hi) + 1, (1,), generator=generator))


def _sample_alignment(config: DataConfig, generator: torch.Generator) -> tuple[list[int], list[list[int]], list[tuple[int, int]]]:
    n_words = _randint(*config.num_words, generator)
    picks = torch.randint(0, len(config.words), (n_words,), generator=generator).tolist()
    words = [config.spell(config.words[i]) for i in picks]
    reps = [[_randint(*config.repetitions, generator) for _ in w] for w in words]
    speech = sum(sum(r) for r in reps)
    lo, hi = config.silence_factor
    r_sil = lo + (hi - lo) * float(torch.rand((), generator=generator, dtype=torch.float64))
    n_sil = math.floor(r_sil * speech)
    gaps = torch.bincount(torch.randint(0, n_words + 1, (n_sil,), generator=generator),
                          minlength=n_words + 1).tolist()
    frames, spans = [SILENCE] * gaps[0], []
    for w, (word, rep) in enumerate(zip(words, reps)):
        start = len(frames)
        for lab, r in zip(word, rep):
            frames += [lab] * r
        spans.append((start, len(frames)))
        frames += [SILENCE] * gaps[w + 1]
    return frames, words, spans


def generate_batch(config: DataConfig, batch_size: int, generator: torch.Generator) -> SyntheticBatch:
    """Sample ``batch_size`` sequences (reference alignment and features) from ``config``.

    Deterministic given the state of ``generator`` (a CPU ``torch.Generator``).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    samples = [_sample_alignment(config, generator) for _ in range(batch_size)]
    lengths = torch.tensor([len(s[0]) for s in samples], dtype=torch.int64)
    T, D = int(lengths.max()), config.num_classes
    alignment = torch.full((batch_size, T), -1, dtype=torch.int64)
    for b, (frames, _, _) in enumerate(samples):
        alignment[b, : len(frames)] = torch.tensor(frames)
    valid = (alignment >= 0).unsqueeze(-1)
    onehot = torch.nn.functional.one_hot(alignment.clamp(min=0), D).float()
    noise = torch.randn(batch_size, T, D, generator=generator)
    features = ((1.0 - config.noise) * onehot + config.noise * noise) * valid
    return SyntheticBatch(features, lengths, alignment, [s[1] for s in samples], [s[2] for s in samples])

