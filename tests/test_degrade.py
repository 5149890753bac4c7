"""recipes/tts/degrade.py: the degraded test conditions are deterministic and do what they say."""

from __future__ import annotations

import math

import numpy as np
import pytest
from lhotse import SupervisionSegment
from lhotse.supervision import AlignmentItem

from recipes.tts.degrade import (CONDITIONS, PAD_SECONDS, RT60, degrade, schroeder_rt60, select_babble_pool,
                                 select_subset, shift_alignment, shoebox_rir, utterance_rng)

SR = 16000


def _speech_like(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """Amplitude-modulated harmonics with silent edges: voiced-speech-like energy, peak < 0.5."""
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    x = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3)) / k for k, f in enumerate((140, 280, 420, 900), 1))
    envelope = np.clip(np.sin(np.pi * t / seconds) * 1.5, 0, 1) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    return (0.2 * x * envelope).astype(np.float32)


def _snr_db(clean: np.ndarray, degraded: np.ndarray) -> float:
    noise = degraded.astype(np.float64) - clean
    return 10 * math.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(noise ** 2))


@pytest.mark.parametrize("condition", [c for c in CONDITIONS if c != "reverb"])
def test_deterministic(condition):
    x = _speech_like()
    sources = [_speech_like(0.7, seed=s) for s in (1, 2, 3)]
    a = degrade(x, SR, condition, utterance_rng(condition, "utt1"), sources)
    b = degrade(x, SR, condition, utterance_rng(condition, "utt1"), sources)
    assert a.samples.tobytes() == b.samples.tobytes() and a.shift == b.shift and a.info == b.info
    assert a.samples.dtype == np.float32


def test_reverb_deterministic_and_time_aligned():
    x = _speech_like()
    a = degrade(x, SR, "reverb", utterance_rng("reverb", "utt1"))
    b = degrade(x, SR, "reverb", utterance_rng("reverb", "utt1"))
    assert a.samples.tobytes() == b.samples.tobytes() and a.info == b.info
    assert a.samples.shape == x.shape and a.shift == 0.0
    # level kept; the direct path is at sample 0, so the onset does not move
    assert np.mean(a.samples.astype(np.float64) ** 2) == pytest.approx(np.mean(x.astype(np.float64) ** 2), rel=1e-4)
    lag = np.argmax(np.correlate(a.samples[:4000], x[:4000], mode="full")) - 3999
    assert abs(lag) <= 2


def test_seeds_differ_per_utterance_and_condition():
    x = _speech_like()
    a = degrade(x, SR, "white10", utterance_rng("white10", "utt1")).samples
    assert a.tobytes() != degrade(x, SR, "white10", utterance_rng("white10", "utt2")).samples.tobytes()
    assert a.tobytes() != degrade(x, SR, "white10", utterance_rng("white10", "utt1", seed=14)).samples.tobytes()


@pytest.mark.parametrize("condition,snr", [("white20", 20.0), ("white10", 10.0), ("white5", 5.0), ("babble10", 10.0)])
def test_snr(condition, snr):
    x = _speech_like()
    sources = [_speech_like(0.7, seed=s) for s in (1, 2, 3)]
    y = degrade(x, SR, condition, utterance_rng(condition, "u"), sources).samples
    assert abs(_snr_db(x, y) - snr) < 0.1


def test_babble_needs_sources():
    with pytest.raises(ValueError, match="babble"):
        degrade(_speech_like(), SR, "babble10", utterance_rng("babble10", "u"))


def test_gain():
    x = _speech_like()
    y = degrade(x, SR, "gain-40", utterance_rng("gain-40", "u")).samples
    ratio_db = 10 * math.log10(np.mean(y.astype(np.float64) ** 2) / np.mean(x.astype(np.float64) ** 2))
    assert ratio_db == pytest.approx(-40.0, abs=1e-3)


@pytest.mark.parametrize("condition, over_db", [("clip10", 10.0), ("clip20", 20.0)])
def test_clipping_flattens_the_peaks_at_full_scale(condition, over_db):
    from fsttopo.data.clipping import clipped_percent

    x = _speech_like()
    y = degrade(x, SR, condition, utterance_rng(condition, "u")).samples
    scaled = x * 10 ** (over_db / 20) / np.abs(x).max()  # the peak that far over full scale
    assert np.abs(y).max() == 1.0 and np.allclose(y, np.clip(scaled, -1.0, 1.0), atol=1e-6)
    assert np.mean(np.abs(scaled) > 1.0) > 0 and clipped_percent(y) > 1.0  # flagged as clipped


def test_telephone_removes_the_high_band():
    x = _speech_like() + 0.05 * np.sin(2 * np.pi * 6000 * np.arange(SR) / SR).astype(np.float32)
    y = degrade(x, SR, "telephone", utterance_rng("telephone", "u")).samples
    spectrum = np.abs(np.fft.rfft(y)) / np.abs(np.fft.rfft(x)).max()
    assert y.shape == x.shape and spectrum[6000] < 1e-3


def test_silence_padding_shifts_reference_by_30s():
    x = _speech_like()
    d = degrade(x, SR, "silence30", utterance_rng("silence30", "u"))
    pad = int(PAD_SECONDS * SR)
    assert d.shift == PAD_SECONDS == 30.0
    assert d.samples.size == x.size + 2 * pad
    assert not d.samples[:pad].any() and not d.samples[-pad:].any()
    assert np.array_equal(d.samples[pad:-pad], x)
    sup = SupervisionSegment("u", "u", 0.0, 1.0, text="a b", alignment={
        "word": [AlignmentItem("a", 0.123456, 0.2), AlignmentItem("b", 0.4, 0.35)],
        "phone": [AlignmentItem("ah", 0.123456, 0.2), AlignmentItem("b", 0.4, 0.35)]})
    shifted = shift_alignment(sup, d.shift, d.samples.size / SR)
    assert shifted.duration == pytest.approx(61.0)
    for kind in ("word", "phone"):
        for old, new in zip(sup.alignment[kind], shifted.alignment[kind]):
            assert new.start - old.start == pytest.approx(30.0, abs=1e-9)
            assert new.duration == old.duration and new.symbol == old.symbol


def test_shoebox_rir_rt60():
    rir, info = shoebox_rir(SR, RT60, np.random.default_rng(0))
    measured = schroeder_rt60(rir, SR)  # independent of the tolerance loop: recomputed here
    assert abs(measured - RT60) <= 0.25 * RT60
    assert info["measured_rt60_s"] == pytest.approx(measured, abs=1e-3)
    # the RIR starts with its direct path (cut at the propagation delay): a clear peak at sample 0 or 1
    head = np.abs(rir[:6])
    assert int(np.argmax(head)) <= 1 and head[:2].max() > 3 * head[2:].max()


def test_schroeder_rt60_of_an_exponential_decay():
    rng = np.random.default_rng(1)
    t = np.arange(int(1.2 * SR)) / SR
    h = rng.standard_normal(t.size) * np.exp(-math.log(1000.0) * t / 0.4)  # 60 dB in 0.4 s
    assert schroeder_rt60(h, SR) == pytest.approx(0.4, rel=0.05)


class _Cut:
    def __init__(self, cut_id: str, voice: str):
        self.id = cut_id
        self.supervisions = [SupervisionSegment(cut_id, cut_id, 0.0, 1.0, speaker=voice)]


def test_subset_and_babble_pool():
    cuts = [_Cut(f"{v}-s{i:03d}", v) for v in ("b-voice", "a-voice") for i in (5, 1, 3, 2, 4)]
    subset = select_subset(cuts, 2)
    assert [c.id for c in subset] == ["a-voice-s001", "a-voice-s002", "b-voice-s001", "b-voice-s002"]
    pool = select_babble_pool(cuts, {c.id for c in subset}, 2)
    assert [c.id for c in pool] == ["a-voice-s003", "a-voice-s004", "b-voice-s003", "b-voice-s004"]


def test_unknown_condition():
    with pytest.raises(ValueError, match="unknown condition"):
        degrade(_speech_like(), SR, "underwater", utterance_rng("x", "u"))
