"""Lhotse glue for training and alignment: CutSet -> padded feature batches with token transcripts."""

from __future__ import annotations

import itertools
from typing import Protocol

import torch
from lhotse import CutSet
from lhotse.dataset import DynamicBucketingSampler, DynamicCutSampler
from lhotse.dataset.sampling.base import CutSampler

__all__ = ["WordEncoder", "CutBatches", "make_sampler", "pad_features"]


class WordEncoder(Protocol):
    """What batches need from a lexicon: text -> per word its token ids (id 0 = blank/silence)."""

    def encode_words(self, text: str) -> list[list[int]]: ...


def pad_features(features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """``[T_i, F]`` tensors -> ``([B, T_max, F], lengths [B])``, zero padded."""
    lengths = torch.tensor([f.shape[0] for f in features])
    out = features[0].new_zeros(len(features), int(lengths.max()), features[0].shape[1])
    for i, f in enumerate(features):
        out[i, : f.shape[0]] = f
    return out, lengths


class CutBatches(torch.utils.data.Dataset):
    """Map-style dataset for Lhotse samplers: a CutSet (one supervision per cut, features attached)
    -> ``dict(features [B, T', F] float32, lengths [B] frames, words, texts, cut_ids)``."""

    def __init__(self, lexicon: WordEncoder):
        self.lexicon = lexicon

    def __getitem__(self, cuts: CutSet) -> dict:
        cuts = cuts.sort_by_duration(ascending=False)
        feats, texts = [], []
        for cut in cuts:
            if len(cut.supervisions) != 1:
                raise ValueError(f"cut {cut.id} has {len(cut.supervisions)} supervisions; expected exactly 1")
            feats.append(torch.from_numpy(cut.load_features()).float())
            texts.append(cut.supervisions[0].text)
        features, lengths = pad_features(feats)
        return {
            "features": features,
            "lengths": lengths,
            "words": [self.lexicon.encode_words(t) for t in texts],
            "texts": texts,
            "cut_ids": [c.id for c in cuts],
        }


_NUM_BUCKETS = 10


def make_sampler(cuts: CutSet, max_duration: float, shuffle: bool, seed: int = 0,
                 world_size: int | None = None, rank: int | None = None) -> CutSampler:
    """Dynamic bucketing by duration (``max_duration`` seconds of audio per batch); with
    ``world_size``/``rank`` each DDP process sees its own share. Up to 10 duration buckets (fewer
    for fewer cuts: Lhotse needs a cut per bucket and two buckets; one cut is not bucketed)."""
    num_buckets = sum(1 for _ in itertools.islice(cuts, _NUM_BUCKETS))
    if num_buckets == 0:
        raise ValueError("the cut set is empty")
    if num_buckets == 1:
        return DynamicCutSampler(cuts, max_duration=max_duration, shuffle=shuffle, seed=seed,
                                 world_size=world_size, rank=rank, drop_last=False)
    return DynamicBucketingSampler(cuts, max_duration=max_duration, shuffle=shuffle, num_buckets=num_buckets,
                                   seed=seed, world_size=world_size, rank=rank, drop_last=False)
