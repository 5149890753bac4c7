"""Waveform augmentation (fsttopo.training.augment): every transform measured on generated signals
and the shipped example recording."""

import math
import shutil

import numpy as np
import pytest
import soundfile as sf

from fsttopo.resources import example_paths
from fsttopo.training import augment as A

SR = 16000


@pytest.fixture(scope="module")
def speech():
    samples, sr = sf.read(example_paths()[0], dtype="float32")
    assert sr == SR
    return samples


@pytest.fixture(scope="module")
def babble_sources(speech):
    # other "talkers": the example reversed and a shifted copy, so babble is not the speech itself
    return [speech[::-1].copy(), np.roll(speech, 7919)]


def rng(seed=0):
    return np.random.default_rng(seed)


def snr_db(clean, noisy):
    clean = clean.astype(np.float64)
    return 10 * math.log10(np.mean(clean ** 2) / np.mean((noisy.astype(np.float64) - clean) ** 2))


def welch_psd(x, sr, nperseg=4096):
    """Averaged Hann-windowed periodograms (50 % overlap): ``(freqs in Hz, power per bin)``."""
    window = np.hanning(nperseg)
    hop = nperseg // 2
    frames = np.stack([x[i:i + nperseg] * window for i in range(0, x.size - nperseg + 1, hop)])
    return np.fft.rfftfreq(nperseg, 1 / sr), np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)


def band_power(x, sr, low, high=None):
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / sr)
    return spectrum[(freqs >= low) & (freqs < (high or np.inf))].sum()


def db(ratio):
    return 10 * math.log10(ratio)


# ----------------------------------------------------------------------------- noise

@pytest.mark.parametrize("kind", A.NOISE_KINDS)
@pytest.mark.parametrize("target", [0.0, 10.0, 30.0])
def test_measured_snr_is_the_requested_one(speech, babble_sources, kind, target):
    noisy = A.add_noise(speech, SR, target, kind, rng(1), babble_sources=babble_sources)
    assert noisy.dtype == np.float32 and noisy.shape == speech.shape
    # the issue asks for 0.5 dB; the scaling is exact up to float32 rounding
    assert snr_db(speech, noisy) == pytest.approx(target, abs=0.01)


@pytest.mark.parametrize("kind, slope", [("white", 0.0), ("pink", -1.0), ("brown", -2.0)])
def test_noise_spectrum_slopes(speech, kind, slope):
    noise = A.add_noise(speech, SR, 0.0, kind, rng(2)).astype(np.float64) - speech
    freqs, power = welch_psd(noise, SR)
    band = (freqs >= 50) & (freqs <= 6000)
    fitted = np.polyfit(np.log10(freqs[band]), np.log10(power[band]), 1)[0]
    assert fitted == pytest.approx(slope, abs=0.1)


def test_hum_power_sits_on_mains_harmonics():
    for seed in range(3):
        hum = A.make_noise("hum", 4 * SR, SR, rng(seed))
        freqs, power = welch_psd(hum, SR, nperseg=SR)  # 1 Hz bins
        on_harmonics = max(power[(np.abs(freqs / base - np.round(freqs / base)) * base <= 2) & (freqs > 0)].sum()
                           for base in (50.0, 60.0))
        assert on_harmonics / power.sum() > 0.99


def test_babble_is_made_of_the_sources():
    t = np.arange(SR) / SR
    sources = [np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 1000 * t)]
    babble = A.make_noise("babble", 3 * SR + 123, SR, rng(3), babble_sources=sources)
    freqs, power = welch_psd(babble, SR, nperseg=SR)
    near = lambda f0: power[np.abs(freqs - f0) <= 5].sum()  # noqa: E731
    # the loop seams spread a little energy; all but a few percent stays on the two talkers' tones
    assert (near(440) + near(1000)) / power.sum() > 0.95


def test_filtered_noise_is_band_limited():
    for seed in range(4):
        freqs, power = welch_psd(A.make_noise("filtered", 4 * SR, SR, rng(seed)), SR)
        inside = power[(freqs > 20) & (freqs < 7800)]
        assert db(inside.max() / inside.min()) > 20  # white noise would be flat within a few dB


# ----------------------------------------------------------------------------- reverb

def schroeder_rt60(ir, sr):
    """RT60 from the Schroeder backward-integrated energy decay, fitted between -5 and -35 dB (T30)."""
    edc = np.cumsum(ir[::-1] ** 2)[::-1]
    edc_db = 10 * np.log10(edc / edc[0])
    fit = (edc_db <= -5) & (edc_db >= -35)
    slope = np.polyfit(np.arange(ir.size)[fit] / sr, edc_db[fit], 1)[0]  # dB per second
    return -60.0 / slope


@pytest.mark.parametrize("rt60", [0.3, 0.6, 1.2])
def test_impulse_response_decays_at_the_requested_rt60(rt60):
    for seed in range(3):
        assert schroeder_rt60(A.room_impulse_response(SR, rt60, rng(seed)), SR) == pytest.approx(rt60, rel=0.2)


def test_longer_rt60_decays_longer():
    estimates = [schroeder_rt60(A.room_impulse_response(SR, rt60, rng(4)), SR) for rt60 in (0.2, 0.4, 0.8)]
    assert estimates == sorted(estimates)


def test_reverberate_keeps_length_level_and_timing(speech):
    wet = A.reverberate(speech, SR, 0.5, rng(5))
    assert wet.shape == speech.shape and wet.dtype == np.float32
    rms = lambda x: math.sqrt(np.mean(x.astype(np.float64) ** 2))  # noqa: E731
    assert rms(wet) == pytest.approx(rms(speech), rel=1e-5)
    # the direct path has no delay: the cross-correlation peaks at lag 0
    xcorr = [np.dot(wet[lag:], speech[:speech.size - lag]) for lag in range(0, 200)]
    assert int(np.argmax(xcorr)) == 0
    assert not np.allclose(wet, speech, atol=1e-3)


# ----------------------------------------------------------------------------- level

@pytest.mark.parametrize("gain", [-40.0, -6.0, 0.0, 3.5, 10.0])
def test_gain_changes_rms_by_exactly_the_requested_db(speech, gain):
    out = A.apply_gain(speech, gain)
    measured = db(np.mean(out.astype(np.float64) ** 2) / np.mean(speech.astype(np.float64) ** 2))
    assert measured == pytest.approx(gain, abs=1e-4)


def test_clip_bounds_the_peak_and_leaves_the_rest(speech):
    level = 0.2
    out = A.clip(speech, level)
    assert np.max(np.abs(out)) <= level
    below = np.abs(speech) < level
    assert np.array_equal(out[below], speech[below])
    assert np.all(np.abs(out[~below]) == np.float32(level))


# ----------------------------------------------------------------------------- telephone

@pytest.mark.parametrize("n", [4 * SR, 4 * SR + 7])
def test_telephone_band_removes_energy_above_4khz(n):
    white = rng(6).standard_normal(n).astype(np.float32)
    out = A.telephone(white, SR, "band")
    assert out.shape == white.shape
    assert db(band_power(out, SR, 4000) / band_power(white, SR, 4000)) < -30
    # speech-band content passes: a 1 kHz tone keeps its level within 1 dB
    tone = np.sin(2 * np.pi * 1000 * np.arange(n) / SR).astype(np.float32)
    assert abs(db(band_power(A.telephone(tone, SR, "band"), SR, 900, 1100) / band_power(tone, SR, 900, 1100))) < 1


def test_telephone_keeps_length_at_other_rates():
    for sr in (8000, 22050, 44100):
        x = rng(7).standard_normal(sr + 3).astype(np.float32) * 0.1
        assert A.telephone(x, sr, "band").shape == x.shape


def test_mulaw_round_trip_error_is_bounded(speech):
    # at 8 kHz the resampling is the identity, so mulaw - band is the mu-law quantization error alone
    narrow = speech[::2].copy()
    band = A.telephone(narrow, 8000, "band").astype(np.float64)
    coded = A.telephone(narrow, 8000, "mulaw").astype(np.float64)
    mu = 255
    # half a code step (1/mu in the compressed domain) times the expansion's slope, with 3 % margin
    # for the slope between the value and its code
    bound = 1.03 * (math.log1p(mu) / mu ** 2) * (1 + mu * np.abs(band))
    assert np.all(np.abs(coded - band) <= bound + 1e-6)
    assert db(np.sum(band ** 2) / np.sum((coded - band) ** 2)) > 35


def sox_has_gsm():
    return shutil.which("sox") is not None and "gsm" in A._sox_formats()


@pytest.mark.skipif(not sox_has_gsm(), reason="sox with GSM support is not installed")
def test_gsm_through_sox_keeps_length_and_timing(speech):
    band = A.telephone(speech, SR, "band")
    coded = A.telephone(speech, SR, "gsm")
    assert coded.shape == speech.shape and np.all(np.isfinite(coded))
    assert not np.allclose(coded, band, atol=1e-3)
    assert np.corrcoef(coded, band)[0, 1] > 0.95
    xcorr = [np.dot(coded[lag:], band[:band.size - lag]) for lag in range(0, 400)]
    assert int(np.argmax(xcorr)) == 0  # the codec delay was removed
    assert np.array_equal(coded, A.telephone(speech, SR, "gsm"))  # deterministic (no dither)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
@pytest.mark.parametrize("codec", ["mp3", "opus"])
def test_ffmpeg_codecs_keep_length_and_timing(speech, codec):
    band = A.telephone(speech, SR, "band")
    coded = A.telephone(speech, SR, codec)
    assert coded.shape == speech.shape
    assert np.corrcoef(coded, band)[0, 1] > 0.8
    xcorr = [np.dot(coded[lag:], band[:band.size - lag]) for lag in range(0, 400)]
    assert int(np.argmax(xcorr)) <= 2


@pytest.mark.parametrize("codec, tool", [("gsm", "sox"), ("mp3", "ffmpeg"), ("opus", "ffmpeg")])
def test_missing_codec_tool_is_named(speech, monkeypatch, codec, tool):
    monkeypatch.setattr(A.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match=f"needs {tool} on PATH"):
        A.telephone(speech, SR, codec)


# ----------------------------------------------------------------------------- speed

def test_speed_changes_duration_and_reports_the_time_scale():
    tone = np.sin(2 * np.pi * 1000 * np.arange(2 * SR) / SR).astype(np.float32)
    fast, scale = A.speed(tone, SR, 1.1)
    assert scale == pytest.approx(1 / 1.1)
    assert fast.size == math.ceil(tone.size * scale)
    freqs = np.fft.rfftfreq(fast.size, 1 / SR)
    assert freqs[np.argmax(np.abs(np.fft.rfft(fast)))] == pytest.approx(1100, abs=2)


def test_quantize_matches_a_16_bit_wav_within_one_step(tmp_path):
    x = (0.01 * np.random.default_rng(0).standard_normal(4000)).astype(np.float32)
    q = A.quantize(x, 16)
    sf.write(tmp_path / "q.wav", x, SR, subtype="PCM_16")
    stored, _ = sf.read(tmp_path / "q.wav", dtype="float32")
    assert np.max(np.abs(q - stored)) <= 1 / 32768 + 1e-9
    assert np.all(np.abs(np.round(q * 32768) - q * 32768) < 1e-6)  # on the grid
    assert np.max(np.abs(q - x)) <= 0.5 / 32768 + 1e-9
    assert np.array_equal(A.quantize(np.array([1.5, -1.5]), 8), np.array([127 / 128, -1.0], np.float32))
    with pytest.raises(ValueError, match="bits"):
        A.quantize(x, 1)


def test_the_chain_quantizes_last(speech):
    quiet = A.AugmentConfig(reverb_prob=0, noise_prob=0, telephone_prob=0, gain_prob=1, gain_db_range=(-40, -40),
                            clip_prob=0, quantize_bits=16)
    y, applied = A.augment(speech, SR, quiet, rng(0))
    assert applied == ["gain -40.00dB", "quantize 16 bit"]
    assert np.array_equal(y, A.quantize(A.apply_gain(speech, -40.0), 16))
    assert np.unique(y).size < 400  # -40 dB speech keeps a few hundred of the 65536 16-bit levels
    with pytest.raises(ValueError, match="quantize_bits"):
        A.AugmentConfig(quantize_bits=40)


needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")


def tone_bursts(freq=1010.0, starts=(0.3, 0.9, 1.5), length=0.2, seconds=2.0):
    t = np.arange(int(seconds * SR)) / SR
    on = np.zeros_like(t, dtype=bool)
    for a in starts:
        on |= (t >= a) & (t < a + length)
    return (0.5 * np.sin(2 * np.pi * freq * t) * on).astype(np.float32)


def burst_onsets(x):
    """Times (s) where the 5 ms energy rises through a quarter of its peak."""
    energy = np.convolve(x.astype(np.float64) ** 2, np.ones(80) / 80, "same")
    rising = np.flatnonzero(np.diff((energy > 0.25 * energy.max()).astype(int)) == 1)
    return rising / SR


def peak_hz(x):
    return np.fft.rfftfreq(x.size, 1 / SR)[np.argmax(np.abs(np.fft.rfft(x)))]


@needs_sox
@pytest.mark.parametrize("factor", [0.8, 1.25])
def test_tempo_moves_events_by_the_factor_and_keeps_the_pitch(factor):
    x = tone_bursts()
    y, scale = A.tempo(x, SR, factor)
    assert scale == pytest.approx(1 / factor)
    assert abs(y.size - x.size / factor) <= SR * 0.005
    assert peak_hz(y) == pytest.approx(1010, abs=3)  # the pitch stays
    np.testing.assert_allclose(burst_onsets(y), np.array([0.3, 0.9, 1.5]) * scale, atol=0.010)
    rms = lambda v: float(np.sqrt(np.mean(v[np.abs(v) > 0.05] ** 2)))  # noqa: E731
    assert rms(y) == pytest.approx(rms(x), rel=0.05)
    assert np.array_equal(y, A.tempo(x, SR, factor)[0])  # repeatable


@needs_sox
@pytest.mark.parametrize("semitones", [-3.0, 2.0])
def test_pitch_shift_moves_frequencies_and_keeps_the_timing(semitones):
    x = tone_bursts()
    y = A.pitch_shift(x, SR, semitones)
    assert y.shape == x.shape and y.dtype == np.float32
    assert peak_hz(y) == pytest.approx(1010 * 2 ** (semitones / 12), rel=0.005)
    np.testing.assert_allclose(burst_onsets(y), [0.3, 0.9, 1.5], atol=0.025)
    assert np.array_equal(y, A.pitch_shift(x, SR, semitones))
    assert np.array_equal(A.pitch_shift(x, SR, 0.0), x)


def test_tempo_and_pitch_shift_check_their_input(monkeypatch):
    x = tone_bursts()
    for bad in (0.4, 2.5, float("nan")):
        with pytest.raises(ValueError, match="tempo factor"):
            A.tempo(x, SR, bad)
    with pytest.raises(ValueError, match="semitones"):
        A.pitch_shift(x, SR, 13.0)
    with pytest.raises(ValueError, match="empty"):
        A.tempo(np.zeros(0, np.float32), SR, 1.1)
    monkeypatch.setattr(A.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="needs sox on PATH"):
        A.pitch_shift(x, SR, 1.0)


# ----------------------------------------------------------------------------- the random chain

ALL_ON = A.AugmentConfig(reverb_prob=1, noise_prob=1, telephone_prob=1, gain_prob=1, clip_prob=1)


def test_augment_is_deterministic_under_a_seed(speech, babble_sources):
    first, applied = A.augment(speech, SR, ALL_ON, rng(10), babble_sources)
    again, applied_again = A.augment(speech, SR, ALL_ON, rng(10), babble_sources)
    other, _ = A.augment(speech, SR, ALL_ON, rng(11), babble_sources)
    assert np.array_equal(first, again) and applied == applied_again
    assert not np.array_equal(first, other)
    assert first.shape == speech.shape and first.dtype == np.float32


def test_augment_lists_every_step(speech, babble_sources):
    for seed in range(4):
        _, applied = A.augment(speech, SR, ALL_ON, rng(seed), babble_sources)
        steps = [a.split()[0] for a in applied]
        assert steps[:5] == ["reverb", "noise", "telephone", "gain", "clip"]
    nothing = A.AugmentConfig(reverb_prob=0, noise_prob=0, telephone_prob=0, gain_prob=0, clip_prob=0)
    out, applied = A.augment(speech, SR, nothing, rng(0))
    assert applied == [] and np.array_equal(out, speech)


def test_augment_records_what_it_did(speech, babble_sources):
    only = dict(reverb_prob=0, noise_prob=0, telephone_prob=0, gain_prob=0, clip_prob=0)
    out, applied = A.augment(speech, SR, A.AugmentConfig(**{**only, "gain_prob": 1}), rng(12))
    (step,) = applied
    gain = float(step.split()[1].removesuffix("dB"))
    assert db(np.mean(out.astype(np.float64) ** 2) / np.mean(speech.astype(np.float64) ** 2)) == \
        pytest.approx(gain, abs=0.01)
    out, applied = A.augment(speech, SR, A.AugmentConfig(**{**only, "noise_prob": 1}), rng(13), babble_sources)
    (step,) = applied
    assert snr_db(speech, out) == pytest.approx(float(step.split("=")[1].removesuffix("dB")), abs=0.01)


def test_augment_clips_at_full_scale_and_says_so(speech):
    loud = A.AugmentConfig(reverb_prob=0, noise_prob=0, telephone_prob=0, gain_prob=1, clip_prob=0,
                           gain_db_range=(10.0, 10.0))
    out, applied = A.augment(speech, SR, loud, rng(0))
    assert np.max(np.abs(out)) <= 1.0
    assert applied == ["gain +10.00dB", "clip level=1 (full scale)"]


def test_augmented_audio_makes_the_models_features(speech, babble_sources):
    # the trainer's input: the shipped model's 80-dim filterbank, one frame per 10 ms as the clean audio
    from fsttopo.aligner import compute_features

    clean = compute_features(speech, SR)
    for seed in range(3):
        out, _ = A.augment(speech, SR, ALL_ON, rng(seed), babble_sources)
        features = compute_features(out, SR)
        assert features.shape == clean.shape and bool(features.isfinite().all())


# ----------------------------------------------------------------------------- bad input

GOOD = np.zeros(100, dtype=np.float32) + 0.1


@pytest.mark.parametrize("call, message", [
    (lambda: A.add_noise(np.zeros(0, np.float32), SR, 10, "white", rng()), "empty"),
    (lambda: A.add_noise(np.array([0.1, np.nan], np.float32), SR, 10, "white", rng()), "NaN"),
    (lambda: A.add_noise(np.array([0.1, np.inf]), SR, 10, "white", rng()), "infinite"),
    (lambda: A.add_noise(np.zeros((2, 100), np.float32), SR, 10, "white", rng()), "mono"),
    (lambda: A.add_noise(np.ones(100, np.int16), SR, 10, "white", rng()), "float"),
    (lambda: A.add_noise([0.1, 0.2], SR, 10, "white", rng()), "numpy array"),
    (lambda: A.add_noise(GOOD, 0, 10, "white", rng()), "sample rate"),
    (lambda: A.add_noise(GOOD, -8000, 10, "white", rng()), "sample rate"),
    (lambda: A.add_noise(GOOD, 16000.5, 10, "white", rng()), "sample rate"),
    (lambda: A.add_noise(GOOD, SR, float("nan"), "white", rng()), "snr_db must be a finite"),
    (lambda: A.add_noise(GOOD, SR, float("inf"), "white", rng()), "snr_db must be a finite"),
    (lambda: A.add_noise(GOOD, SR, 10, "purple", rng()), "unknown noise kind"),
    (lambda: A.add_noise(GOOD, SR, 10, "white", 0), "numpy.random.Generator"),
    (lambda: A.add_noise(np.zeros(100, np.float32), SR, 10, "white", rng()), "silent"),
    (lambda: A.add_noise(GOOD, SR, 10, "babble", rng()), "babble_sources"),
    (lambda: A.add_noise(GOOD, SR, 10, "babble", rng(), [np.zeros(10)]), r"babble_sources\[0\] is silent"),
    (lambda: A.reverberate(GOOD, SR, 0.0, rng()), "rt60 must be positive"),
    (lambda: A.reverberate(GOOD, SR, float("nan"), rng()), "rt60 must be a finite"),
    (lambda: A.apply_gain(GOOD, float("inf")), "gain_db"),
    (lambda: A.clip(GOOD, 0.0), "clip level must be positive"),
    (lambda: A.telephone(GOOD, SR, "amr"), "unknown telephone codec"),
    (lambda: A.speed(GOOD, SR, 0.0), "speed factor"),
    (lambda: A.augment(GOOD, SR, A.AugmentConfig(), rng()), "babble_sources"),
    (lambda: A.augment(GOOD, SR, {"noise_prob": 1}, rng()), "AugmentConfig"),
    (lambda: A.AugmentConfig(noise_prob=1.5), "noise_prob must be a probability"),
    (lambda: A.AugmentConfig(snr_db_range=(30, 0)), "low <= high"),
    (lambda: A.AugmentConfig(rt60_range=(0, 1)), "rt60_range must be positive"),
    (lambda: A.AugmentConfig(clip_fraction_range=(0.5, 2)), "clip_fraction_range"),
    (lambda: A.AugmentConfig(noise_weights={"pink": 1, "violet": 1}), "unknown keys"),
    (lambda: A.AugmentConfig(noise_weights={"pink": -1}), ">= 0"),
    (lambda: A.AugmentConfig(noise_weights={"pink": 0}), "all zero"),
    (lambda: A.AugmentConfig(telephone_weights={"amr": 1}), "unknown keys"),
])
def test_bad_input_raises_value_error_naming_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call()
