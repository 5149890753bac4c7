"""Offline G2P (fsttopo.data.g2p): eSpeak NG's phones mapped to ARPAbet, checked against
hand-written pronunciations and CMUdict."""

import kaldialign
import pytest

from fsttopo.data.g2p import EspeakG2P, default_g2p, ipa_to_arpabet
from fsttopo.data.lexicon import PHONES


@pytest.mark.parametrize("word, phones", [
    # not in CMUdict, written by hand
    ("zorblax", "z ao r b l ae k s"),
    ("labor-saving", "l ey b er s ey v ih ng"),
    ("half-life", "hh ae f l ay f"),
    ("Brexit", "b r eh k s ih t"),
    # CMUdict words (first pronunciation, no stress), for the mapping of each kind of sound
    ("thought", "th ao t"), ("judge", "jh ah jh"), ("measure", "m eh zh er"), ("church", "ch er ch"),
    ("singing", "s ih ng ih ng"), ("yesterday", "y eh s t er d ey"), ("nation", "n ey sh ah n"),
    ("button", "b ah t ah n"), ("hurry", "hh er iy"), ("hour", "aw er"), ("boy", "b oy"), ("how", "hh aw"),
])
def test_hand_checked_words(word, phones):
    assert default_g2p()(word) == phones.split()


def test_a_close_guess_within_one_phone():
    # CMUdict-style "k ow v ih d"; eSpeak's American rules give the vowel of "cot"
    guess = default_g2p()("covid")
    assert kaldialign.edit_distance("k ow v ih d".split(), guess)["total"] <= 1


def test_measured_error_rates_on_held_out_cmudict_words():
    """The numbers in docs/alignment.md: 2000 CMUdict words, seed 0 (recipes/g2p/evaluate.py)."""
    from recipes.g2p.evaluate import error_rates, test_words

    per, wer, _ = error_rates(test_words(2000, 0), EspeakG2P())
    assert per == pytest.approx(0.103, abs=0.0005) and wer == pytest.approx(0.413, abs=0.0005)


def test_every_phone_is_arpabet_and_deterministic():
    g2p = EspeakG2P()
    words = ["xylophone", "Nguyen", "pneumonia", "rhythm", "queue", "Worcestershire"]
    first = [g2p(w) for w in words]
    assert all(set(p) <= set(PHONES) for p in first)
    assert [EspeakG2P()(w) for w in words] == first


def test_errors():
    with pytest.raises(ValueError, match="'123'.*no letters"):
        default_g2p()("123")
    with pytest.raises(ValueError, match="'\\?'.*has no ARPAbet phone"):
        ipa_to_arpabet("h?")
    assert ipa_to_arpabet("hˈɜːɹi") == ["hh", "er", "iy"]  # one er for the r-coloured vowel and its r

