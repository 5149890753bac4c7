"""The synthetic data generator (paper sec. 6.1) against its configuration."""

import itertools
import math

import pytest
import torch

from fsttopo.synthetic import SILENCE, DataConfig, generate_batch


def test_default_words_map_to_ten_characters():
    cfg = DataConfig()
    assert cfg.alphabet == ["a", "d", "e", "h", "l", "o", "r", "u", "w", "y"]
    assert cfg.num_classes == 11
    assert cfg.spell("helo") == [4, 3, 5, 6]
    assert cfg.spell("you") == [10, 6, 8]


@pytest.mark.parametrize("reps,r_sil", [((2, 2), (0.3, 0.3)), ((1, 4), (0.0, 1.5)), ((10, 10), (1.0, 1.0))])
def test_lengths_silence_and_spans_follow_the_config(reps, r_sil):
    cfg = DataConfig(num_words=(1, 3), repetitions=reps, silence_factor=r_sil)
    b = generate_batch(cfg, 200, torch.Generator().manual_seed(0))
    words_seen = set()
    for i, words in enumerate(b.words):
        n = int(b.lengths[i])
        ref = b.alignment[i, :n].tolist()
        assert 1 <= len(words) <= 3
        words_seen.add(len(words))
        speech = [t for t, lab in enumerate(ref) if lab != SILENCE]
        t_a, t_eps = len(speech), n - len(speech)
        assert reps[0] * sum(map(len, words)) <= t_a <= reps[1] * sum(map(len, words))
        # T_eps = floor(r_sil * T_A) for some r_sil in the range
        assert math.floor(r_sil[0] * t_a) <= t_eps <= math.floor(r_sil[1] * t_a)
        # each word span holds exactly its labels, each repeated within the range, nothing else
        covered = 0
        for (s, e), word in zip(b.word_spans[i], words):
            frames = ref[s:e]
            runs = [(lab, sum(1 for _ in g)) for lab, g in itertools.groupby(frames)]
            assert [lab for lab, _ in runs] == word
            assert all(reps[0] <= r <= reps[1] for _, r in runs)
            covered += e - s
        assert covered == t_a
        assert b.alignment[i, n:].eq(-1).all()
    assert words_seen == {1, 2, 3}


def test_fixed_silence_factor_gives_exact_ratio():
    cfg = DataConfig(num_words=(1, 1), repetitions=(10, 10), silence_factor=(1.0, 1.0))
    b = generate_batch(cfg, 50, torch.Generator().manual_seed(3))
    valid = b.alignment >= 0
    assert float((b.alignment[valid] == SILENCE).double().mean()) == 0.5


def test_table1_setting_has_the_papers_21_percent_silence():
    # exact corpus-level expectation by enumeration: N_words uniform in {1,2,3}, words uniform,
    # T_A = 2 * (number of labels), T_eps = floor(0.3 T_A)
    lens = [4, 5, 4, 3, 3]
    sil = tot = 0.0
    for n in (1, 2, 3):
        for ws in itertools.product(lens, repeat=n):
            w = 1 / (3 * len(lens) ** n)
            t_a = 2 * sum(ws)
            sil += w * math.floor(0.3 * t_a)
            tot += w * (t_a + math.floor(0.3 * t_a))
    assert round(100 * sil / tot) == 21
    b = generate_batch(DataConfig(noise=0.5), 3000, torch.Generator().manual_seed(2))
    valid = b.alignment >= 0
    assert abs(float((b.alignment[valid] == SILENCE).double().mean()) - sil / tot) < 0.005


def test_silence_is_spread_over_all_gaps():
    cfg = DataConfig(num_words=(2, 2), repetitions=(2, 2), silence_factor=(1.0, 1.0))
    b = generate_batch(cfg, 300, torch.Generator().manual_seed(4))
    gaps = torch.zeros(3)
    for i, spans in enumerate(b.word_spans):
        n = int(b.lengths[i])
        gaps += torch.tensor([spans[0][0], spans[1][0] - spans[0][1], n - spans[1][1]], dtype=torch.float)
    share = gaps / gaps.sum()
    assert torch.allclose(share, torch.full((3,), 1 / 3), atol=0.03)


def test_features_are_noisy_one_hot():
    clean = DataConfig(noise=0.0)
    b = generate_batch(clean, 20, torch.Generator().manual_seed(5))
    valid = b.alignment >= 0
    onehot = torch.nn.functional.one_hot(b.alignment.clamp(min=0), 11).float()
    assert torch.equal(b.features[valid], onehot[valid])
    assert b.features[~valid].abs().sum() == 0
    noisy = generate_batch(DataConfig(noise=0.5), 400, torch.Generator().manual_seed(6))
    valid = noisy.alignment >= 0
    resid = noisy.features - 0.5 * torch.nn.functional.one_hot(noisy.alignment.clamp(min=0), 11).float()
    assert abs(float(resid[valid].std()) - 0.5) < 0.01
    assert abs(float(resid[valid].mean())) < 0.01


def test_same_seed_same_batch():
    a = generate_batch(DataConfig(noise=0.3), 4, torch.Generator().manual_seed(7))
    b = generate_batch(DataConfig(noise=0.3), 4, torch.Generator().manual_seed(7))
    assert torch.equal(a.features, b.features) and a.word_spans == b.word_spans


@pytest.mark.parametrize("kwargs,match", [
    ({"num_words": (0, 2)}, "num_words"), ({"num_words": (3, 2)}, "num_words"),
    ({"repetitions": (1.5, 2)}, "repetitions"), ({"silence_factor": (-0.1, 0.3)}, "silence_factor"),
    ({"silence_factor": (0.5, 0.3)}, "silence_factor"), ({"noise": 1.5}, "noise"), ({"words": ()}, "words"),
])
def test_bad_config_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataConfig(**kwargs)


def test_bad_batch_size_raises():
    with pytest.raises(ValueError, match="batch_size"):
        generate_batch(DataConfig(), 0, torch.Generator())
