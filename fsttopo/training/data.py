"""Lhotse glue for training and alignment: CutSet -> padded feature batches with token transcripts."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import torch

from ..data.features import pad_features
from ..data.lexicon import WordEncoder
from ..data.pronounce import normalize_transcript

if TYPE_CHECKING:  # Lhotse takes 0.4-0.6 s to import: only the functions that take manifests import it
    from lhotse import CutSet
    from lhotse.dataset.sampling.base import CutSampler

__all__ = ["WordEncoder", "CutBatches", "AugmentedCutBatches", "make_sampler", "pad_features", "check_training_texts"]


def _supervision_text(cut) -> str:
    if len(cut.supervisions) != 1:
        raise ValueError(f"cut {cut.id} has {len(cut.supervisions)} supervisions; expected exactly 1")
    return cut.supervisions[0].text or ""


def check_training_texts(cuts: CutSet, lexicon: WordEncoder) -> list[str]:
    """Every problem of the cuts' transcripts, read once, as training will encode them (after
    the lexicon's ``normalize``): one line per unknown word with its count and an example cut,
    most frequent first, then one per cut without exactly one supervision, without words, or that
    the lexicon cannot encode otherwise. Empty when training can encode every cut."""
    unknown: dict[str, list] = {}  # word -> [count, first cut id]
    problems = []
    contains = getattr(lexicon, "__contains__", None)
    for cut in cuts:
        try:
            text = normalize_transcript(lexicon, _supervision_text(cut))
            missing = [w for w in text.split() if contains is not None and not contains(w)]
            for word in missing:
                unknown.setdefault(word, [0, cut.id])[0] += 1
            if not missing:
                lexicon.encode_words(text)
        except ValueError as err:
            problems.append(f"cut {cut.id}: {err}")
    words = [f"unknown word {w!r}: {n} time(s), e.g. in cut {cut_id}"
             for w, (n, cut_id) in sorted(unknown.items(), key=lambda item: -item[1][0])]
    return words + problems


class CutBatches(torch.utils.data.Dataset):
    """Map-style dataset for Lhotse samplers: a CutSet (one supervision per cut, features attached)
    -> ``dict(features [B, T', F] float32, lengths [B] frames, words, texts, cut_ids)``; ``texts``
    are the transcripts after the lexicon's ``normalize`` (punctuation dropped, numbers written
    out; :func:`fsttopo.data.pronounce.normalize_transcript`), ``words`` their token ids."""

    def __init__(self, lexicon: WordEncoder):
        self.lexicon = lexicon

    def features(self, cuts: list) -> list[torch.Tensor]:
        """``[T'_i, F]`` features of each cut: the stored ones, else computed from its audio
        (:func:`~fsttopo.data.features.cut_features`, as ``fsttopo prepare --no-features`` cuts need)."""
        from ..data.features import cut_features

        return [cut_features(cut) for cut in cuts]

    def __getitem__(self, cuts: CutSet) -> dict:
        cuts = cuts.sort_by_duration(ascending=False)
        texts = [normalize_transcript(self.lexicon, _supervision_text(cut)) for cut in cuts]
        features, lengths = pad_features(self.features(list(cuts)))
        return {
            "features": features,
            "lengths": lengths,
            "words": [self.lexicon.encode_words(t) for t in texts],
            "texts": texts,
            "cut_ids": [c.id for c in cuts],
        }


class AugmentedCutBatches(CutBatches):
    """:class:`CutBatches` whose features are computed from each cut's audio after a random chain
    of :func:`fsttopo.training.augment.augment` (noise, reverberation, telephone, gain, clipping).

    The chain of a cut depends only on ``(seed, epoch, cut id)``, so a run is reproducible and a
    cut hears new conditions every epoch (:meth:`set_epoch`). Babble is made of the other cuts of
    the batch (a cut alone babbles with itself reversed). ``silence_pad`` seconds at most of digital
    silence are first added at each end (uniformly drawn), so that the noise covers long pauses as
    users' recordings have them: the model learns that noise without speech is silence. That moves
    the speech in time, which full-sum training (transcripts only) does not mind; with
    ``silence_pad=0`` the cut's time labels stay valid.

    With probability ``speed_prob`` a cut is first played faster or slower by a factor drawn
    uniformly from ``speed_range`` (:func:`~fsttopo.training.augment.speed`, Kaldi's speed
    perturbation: tempo and pitch move together), which full-sum training can take because it needs
    no times. Its draw comes after the chain's, so ``speed_prob=0`` leaves earlier runs unchanged.

    With probability ``digital_silence_prob`` a whole batch instead gets up to ``digital_silence_pad``
    seconds of digital silence at each end of every cut and no additive noise, so that the silence
    stays exact zeros: edited and synthesized files have minutes of it, and a model that has heard
    silence only under noise drifts words into it (tests/test_silence.py). The draw is per batch
    because the batch is padded to its longest cut: one long cut would make the whole batch long.
    It has a random stream of its own, so ``digital_silence_prob=0`` leaves earlier runs unchanged.

    With probability ``tempo_prob`` a cut's speech is first played faster or slower with its pitch
    kept (:func:`~fsttopo.training.augment.tempo`, factor uniform in ``tempo_range``), and with
    probability ``pitch_prob`` its pitch and formants move by semitones uniform in ``pitch_range``
    with its tempo kept (:func:`~fsttopo.training.augment.pitch_shift`): other speakers' voices,
    before the room, the noise and the channel. Both need sox and draw from a random stream of
    their own, so with both at 0 earlier runs are unchanged.
    """

    def __init__(self, lexicon: WordEncoder, config, seed: int = 0, *, silence_pad: float = 0.0,
                 speed_prob: float = 0.0, speed_range: tuple[float, float] = (0.9, 1.1),
                 digital_silence_prob: float = 0.0, digital_silence_pad: float = 0.0,
                 tempo_prob: float = 0.0, tempo_range: tuple[float, float] = (0.9, 1.1),
                 pitch_prob: float = 0.0, pitch_range: tuple[float, float] = (-2.0, 2.0)):
        super().__init__(lexicon)
        for name, value in (("silence_pad", silence_pad), ("digital_silence_pad", digital_silence_pad)):
            if not 0 <= value < float("inf"):
                raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value}")
        if not 0 <= digital_silence_prob <= 1:
            raise ValueError(f"digital_silence_prob must be in [0, 1], got {digital_silence_prob}")
        for name, value in (("speed_prob", speed_prob), ("tempo_prob", tempo_prob), ("pitch_prob", pitch_prob)):
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        for name, (low, high), (least, most) in (("speed_range", speed_range, (0.5, 2.0)),
                                                 ("tempo_range", tempo_range, (0.5, 2.0)),
                                                 ("pitch_range", pitch_range, (-12.0, 12.0))):
            if not least <= low <= high <= most:
                raise ValueError(f"{name} must be (low, high) with {least:g} <= low <= high <= {most:g}, "
                                 f"got {(low, high)}")
        self.config = config
        self.seed = seed
        self.silence_pad = silence_pad
        self.speed_prob = speed_prob
        self.speed_range = tuple(map(float, speed_range))
        self.tempo_prob, self.tempo_range = tempo_prob, tuple(map(float, tempo_range))
        self.pitch_prob, self.pitch_range = pitch_prob, tuple(map(float, pitch_range))
        self.digital_silence_prob = digital_silence_prob
        self.digital_silence_pad = digital_silence_pad
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def features(self, cuts: list) -> list[torch.Tensor]:
        import dataclasses
        import zlib

        import numpy as np

        from ..data.features import compute_features
        from .augment import augment, pitch_shift, speed, tempo

        audio = [cut.load_audio()[0].astype(np.float32) for cut in cuts]
        config, pad = self.config, self.silence_pad
        if self.digital_silence_prob:
            batch_key = zlib.crc32(" ".join(cut.id for cut in cuts).encode("utf-8"))
            if np.random.default_rng([self.seed, self.epoch, batch_key, 1]).uniform() < self.digital_silence_prob:
                config, pad = dataclasses.replace(config, noise_prob=0.0), self.digital_silence_pad
        out = []
        for i, (cut, samples) in enumerate(zip(cuts, audio)):
            key = zlib.crc32(cut.id.encode("utf-8"))
            rng = np.random.default_rng([self.seed, self.epoch, key])
            if self.tempo_prob or self.pitch_prob:
                voice_rng = np.random.default_rng([self.seed, self.epoch, key, 2])
                if self.tempo_prob and voice_rng.uniform() < self.tempo_prob:
                    samples, _ = tempo(samples, cut.sampling_rate, voice_rng.uniform(*self.tempo_range))
                if self.pitch_prob and voice_rng.uniform() < self.pitch_prob:
                    samples = pitch_shift(samples, cut.sampling_rate, voice_rng.uniform(*self.pitch_range))
            others = [a for j, a in enumerate(audio) if j != i] or [samples[::-1].copy()]
            if pad:
                lead, trail = (int(rng.uniform(0, pad) * cut.sampling_rate) for _ in range(2))
                samples = np.concatenate([np.zeros(lead, np.float32), samples, np.zeros(trail, np.float32)])
            noisy, _ = augment(samples, cut.sampling_rate, config, rng, babble_sources=others)
            if self.speed_prob and rng.uniform() < self.speed_prob:
                noisy, _ = speed(noisy, cut.sampling_rate, rng.uniform(*self.speed_range))
            out.append(compute_features(noisy, cut.sampling_rate))
        return out


_NUM_BUCKETS = 10


def make_sampler(cuts: CutSet, max_duration: float, shuffle: bool, seed: int = 0,
                 world_size: int | None = None, rank: int | None = None) -> CutSampler:
    """Dynamic bucketing by duration (``max_duration`` seconds of audio per batch); with
    ``world_size``/``rank`` each DDP process sees its own share. Up to 10 duration buckets (fewer
    for fewer cuts: Lhotse needs a cut per bucket and two buckets; one cut is not bucketed)."""
    from lhotse.dataset import DynamicBucketingSampler, DynamicCutSampler

    num_buckets = sum(1 for _ in itertools.islice(cuts, _NUM_BUCKETS))
    if num_buckets == 0:
        raise ValueError("the cut set is empty")
    if num_buckets == 1:
        return DynamicCutSampler(cuts, max_duration=max_duration, shuffle=shuffle, seed=seed,
                                 world_size=world_size, rank=rank, drop_last=False)
    return DynamicBucketingSampler(cuts, max_duration=max_duration, shuffle=shuffle, num_buckets=num_buckets,
                                   seed=seed, world_size=world_size, rank=rank, drop_last=False)
