"""Waveform augmentation for training aligners that hold up on real-world audio.

Every function takes a mono waveform, ``samples``: a 1-D float numpy array of shape
``[num_samples]`` at ``sr`` samples per second (full scale is amplitude 1.0), and returns a new
float32 array; the input is never modified. Random draws come only from the
``numpy.random.Generator`` passed in, so a seed fixes the result. Bad input raises ``ValueError``
naming the problem; a codec whose external tool is not installed raises ``RuntimeError`` naming
the tool.

Nothing here moves speech in time, except :func:`speed` and :func:`tempo`, which return the factor
by which label times scale (:func:`pitch_shift` keeps them): the reverb's direct path, the
telephone band filter (zero phase) and the codec delay compensation all keep the words where the
transcript's alignment labels put them.
"""

from __future__ import annotations

import math
import numbers
import shutil
import subprocess
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

import numpy as np
import torch
import torchaudio.functional as taf

__all__ = [
    "NOISE_KINDS", "TELEPHONE_CODECS", "AugmentConfig", "augment", "add_noise", "make_noise",
    "reverberate", "room_impulse_response", "apply_rir", "apply_gain", "clip", "telephone", "speed",
    "tempo", "pitch_shift", "quantize",
]

NOISE_KINDS = ("white", "pink", "brown", "babble", "hum", "tone", "filtered")
TELEPHONE_CODECS = ("band", "mulaw", "gsm", "mp3", "opus")

TELEPHONE_SR = 8000
# ITU-T G.712 telephone channel pass band, Hz
TELEPHONE_BAND = (300.0, 3400.0)
# external codecs delay their output (mp3: about 1100 samples at 8 kHz); we search this far for it
MAX_CODEC_DELAY_S = 0.25


# ----------------------------------------------------------------------------- input checks

def _check_audio(samples: np.ndarray, what: str = "samples") -> np.ndarray:
    """``samples`` as float64 after checking it is a non-empty, finite, mono float array."""
    if not isinstance(samples, np.ndarray):
        raise ValueError(f"{what} must be a numpy array, got {type(samples).__name__}")
    if samples.ndim != 1:
        raise ValueError(f"{what} must be mono audio of shape [num_samples], got shape {samples.shape}")
    if samples.size == 0:
        raise ValueError(f"{what} is empty")
    if not np.issubdtype(samples.dtype, np.floating):
        raise ValueError(f"{what} must be a float array (amplitude, full scale 1.0), got dtype {samples.dtype}")
    if not np.all(np.isfinite(samples)):
        raise ValueError(f"{what} contains NaN or infinite values")
    return samples.astype(np.float64)


def _check_sr(sr: int) -> int:
    if isinstance(sr, bool) or not isinstance(sr, numbers.Integral) or sr <= 0:
        raise ValueError(f"sample rate sr must be a positive integer (Hz), got {sr!r}")
    return int(sr)


def _check_finite(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _check_rng(rng: np.random.Generator) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")
    return rng


def _power(x: np.ndarray) -> float:
    """Mean square over the whole clip."""
    return float(np.mean(np.square(x)))


# ----------------------------------------------------------------------------- spectral shaping

def _shape_spectrum(x: np.ndarray, gain_of_freq, sr: int, pad: bool) -> np.ndarray:
    """``x`` filtered by the real, zero-phase magnitude response ``gain_of_freq(f_hz)``.

    Zero phase keeps every sound where it was (alignment labels stay valid). With ``pad`` the FFT is
    zero-padded so that the filter's response does not wrap from one end of the clip to the other;
    stationary noise does not need it.
    """
    n = x.size
    n_fft = 1 << (n + (sr // 4 if pad else 0) - 1).bit_length()
    spectrum = np.fft.rfft(x, n_fft)
    spectrum *= gain_of_freq(np.fft.rfftfreq(n_fft, 1.0 / sr))
    return np.fft.irfft(spectrum, n_fft)[:n]


def _butterworth_gain(freqs: np.ndarray, low_hz: float | None, high_hz: float | None, order: int) -> np.ndarray:
    """Magnitude of a Butterworth high-pass at ``low_hz`` times a low-pass at ``high_hz`` (either may be None)."""
    gain = np.ones_like(freqs)
    if high_hz is not None:
        gain /= np.sqrt(1.0 + (freqs / high_hz) ** (2 * order))
    if low_hz is not None:
        with np.errstate(divide="ignore"):
            gain /= np.sqrt(1.0 + (low_hz / freqs) ** (2 * order))
    return gain


# ----------------------------------------------------------------------------- noise

def _colored_noise(n: int, sr: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise whose power spectrum falls as ``1 / f**exponent`` (1: pink, 2: brown)."""
    def gain(freqs: np.ndarray) -> np.ndarray:
        out = np.zeros_like(freqs)
        # DC is left out: 1/f has no finite value there, and a DC offset is not a sound
        out[1:] = freqs[1:] ** (-exponent / 2.0)
        return out
    return _shape_spectrum(rng.standard_normal(n), gain, sr, pad=False)


def _babble(n: int, sources: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """3 to 7 talkers drawn from ``sources``, each at unit RMS, started at a random offset and looped."""
    talkers = int(rng.integers(3, 8))
    picks = rng.choice(len(sources), size=talkers, replace=len(sources) < talkers)
    total = np.zeros(n)
    for index in picks:
        source = sources[index]
        offset = int(rng.integers(source.size))
        # np.resize repeats the source cyclically, so short sources loop to fill the clip
        total += np.resize(np.roll(source, -offset), n) / math.sqrt(_power(source))
    return total


def _hum(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Mains hum: 50 or 60 Hz and its harmonics below Nyquist (at most 10), amplitudes falling as 1/h."""
    base = float(rng.choice([50.0, 60.0]))
    harmonics = max(1, min(10, int((sr / 2 - 1) // base)))
    t = np.arange(n) / sr
    total = np.zeros(n)
    for h in range(1, harmonics + 1):
        amplitude = rng.uniform(0.3, 1.0) / h
        total += amplitude * np.sin(2 * np.pi * base * h * t + rng.uniform(0, 2 * np.pi))
    return total


def _tones(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """1 to 3 steady sinusoids (beeps, whistles), frequencies log-uniform in 100 Hz..min(4 kHz, 0.45 sr)."""
    high = min(4000.0, 0.45 * sr)
    low = min(100.0, high / 2)
    t = np.arange(n) / sr
    total = np.zeros(n)
    for _ in range(int(rng.integers(1, 4))):
        freq = math.exp(rng.uniform(math.log(low), math.log(high)))
        total += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
    return total


def _filtered(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """White noise through a random low-pass or band-pass (Butterworth order 1-4): the coloured,
    band-limited spectra of recorded fans, traffic and room noise."""
    order = int(rng.integers(1, 5))
    if rng.random() < 0.5:
        low, high = None, math.exp(rng.uniform(math.log(200.0), math.log(0.4 * sr)))
    else:
        center = math.exp(rng.uniform(math.log(200.0), math.log(0.3 * sr)))
        half_width = math.sqrt(rng.uniform(1.5, 4.0))
        low, high = center / half_width, min(center * half_width, 0.49 * sr)
    return _shape_spectrum(rng.standard_normal(n), lambda f: _butterworth_gain(f, low, high, order), sr, pad=False)


def _check_babble_sources(sources: list[np.ndarray] | None) -> list[np.ndarray]:
    if sources is None or len(sources) == 0:
        raise ValueError("babble noise needs babble_sources: a list of other speech waveforms at the same sr")
    checked = [_check_audio(s, f"babble_sources[{i}]") for i, s in enumerate(sources)]
    for i, source in enumerate(checked):
        if _power(source) == 0.0:
            raise ValueError(f"babble_sources[{i}] is silent (all zeros)")
    return checked


def make_noise(kind: str, num_samples: int, sr: int, rng: np.random.Generator,
               babble_sources: list[np.ndarray] | None = None) -> np.ndarray:
    """Noise of ``kind`` (one of :data:`NOISE_KINDS`), float64 of shape ``[num_samples]``, arbitrary level.

    ``babble_sources`` (only for ``"babble"``): speech waveforms at the same ``sr``, each 1-D.
    """
    sr = _check_sr(sr)
    _check_rng(rng)
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral) or num_samples <= 0:
        raise ValueError(f"num_samples must be a positive integer, got {num_samples!r}")
    if kind == "white":
        return rng.standard_normal(num_samples)
    if kind == "pink":
        return _colored_noise(num_samples, sr, 1.0, rng)
    if kind == "brown":
        return _colored_noise(num_samples, sr, 2.0, rng)
    if kind == "babble":
        return _babble(num_samples, _check_babble_sources(babble_sources), rng)
    if kind == "hum":
        return _hum(num_samples, sr, rng)
    if kind == "tone":
        return _tones(num_samples, sr, rng)
    if kind == "filtered":
        return _filtered(num_samples, sr, rng)
    raise ValueError(f"unknown noise kind {kind!r}; expected one of {', '.join(NOISE_KINDS)}")


def add_noise(samples: np.ndarray, sr: int, snr_db: float, kind: str, rng: np.random.Generator,
              babble_sources: list[np.ndarray] | None = None) -> np.ndarray:
    """``samples`` plus noise of ``kind`` scaled so that the clip's SNR is exactly ``snr_db``.

    SNR is ``10 log10(mean(samples**2) / mean(noise**2))`` over the whole clip, in dB.
    Returns float32 of shape ``[num_samples]``.
    """
    speech = _check_audio(samples)
    snr_db = _check_finite(snr_db, "snr_db")
    speech_power = _power(speech)
    if speech_power == 0.0:
        raise ValueError("samples are silent (all zeros): no signal level to set the SNR against")
    noise = make_noise(kind, speech.size, sr, rng, babble_sources)
    noise_power = _power(noise)
    if noise_power == 0.0:
        raise ValueError(f"{kind} noise came out silent for a clip of {speech.size} samples (too short)")
    scale = math.sqrt(speech_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    return (speech + scale * noise).astype(np.float32)


# ----------------------------------------------------------------------------- reverberation

def room_impulse_response(sr: int, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic room impulse response, float64 of shape ``[round(1.2 * rt60 * sr) + 1]``.

    A unit direct path at sample 0 followed by Gaussian noise whose energy decays by 60 dB in
    ``rt60`` seconds (the statistical model of a diffuse late reverberant field). The reverberant
    tail carries 0.5 to 4 times the direct path's energy (direct-to-reverberant ratio +3 to -6 dB).
    """
    sr = _check_sr(sr)
    rt60 = _check_finite(rt60, "rt60")
    _check_rng(rng)
    if rt60 <= 0:
        raise ValueError(f"rt60 must be positive (seconds), got {rt60}")
    length = int(round(1.2 * rt60 * sr))
    if length < 2:
        raise ValueError(f"rt60={rt60} s is shorter than two samples at sr={sr}")
    t = np.arange(1, length + 1) / sr
    # amplitude falls by 10**-3 (energy by 60 dB) at t = rt60
    tail = rng.standard_normal(length) * np.exp(-math.log(1000.0) * t / rt60)
    tail *= math.sqrt(rng.uniform(0.5, 4.0) / np.sum(np.square(tail)))
    return np.concatenate([[1.0], tail])


def _fft_convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Linear convolution of ``x`` with ``h``, cut to ``x``'s length."""
    n_fft = 1 << (x.size + h.size - 2).bit_length()
    return np.fft.irfft(np.fft.rfft(x, n_fft) * np.fft.rfft(h, n_fft), n_fft)[: x.size]


def reverberate(samples: np.ndarray, sr: int, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """``samples`` in a synthetic room (:func:`room_impulse_response`), float32 of the input's shape.

    The tail past the end of the clip is dropped (the length stays, and so do label times: the
    direct path has no delay), and the level is brought back to the input's RMS.
    """
    return apply_rir(samples, room_impulse_response(sr, rt60, rng))


def apply_rir(samples: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """``samples`` convolved with the room impulse response ``rir`` (1-D, same sample rate, its
    direct path at sample 0 so that label times stay valid), float32 of the input's shape: the
    tail past the end of the clip is dropped and the level is brought back to the input's RMS.
    (:func:`reverberate` with its synthetic RIR; evaluation passes measured or simulated ones.)"""
    speech = _check_audio(samples)
    wet = _fft_convolve(speech, _check_audio(rir, "rir"))
    wet_power = _power(wet)
    if wet_power == 0.0:
        # silence in, silence out
        return np.zeros(speech.size, dtype=np.float32)
    return (wet * math.sqrt(_power(speech) / wet_power)).astype(np.float32)


# ----------------------------------------------------------------------------- level

def apply_gain(samples: np.ndarray, gain_db: float) -> np.ndarray:
    """``samples`` times ``10**(gain_db / 20)``, float32. Peaks may leave [-1, 1]; :func:`clip` bounds them."""
    x = _check_audio(samples)
    return (x * 10.0 ** (_check_finite(gain_db, "gain_db") / 20.0)).astype(np.float32)


def _check_bits(bits: int, name: str) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 32:
        raise ValueError(f"{name} must be an integer from 2 to 32, got {bits!r}")
    return bits


def quantize(samples: np.ndarray, bits: int = 16) -> np.ndarray:
    """``samples`` rounded to the grid of a signed ``bits``-bit integer file (step ``2 / 2^bits``,
    full scale 1.0; values beyond it saturate): within one step of what a PCM wav written and read
    back holds (libsndfile writes with a 32767 scale). Returns float32 of the input's shape."""
    x = _check_audio(samples)
    top = 2 ** (_check_bits(bits, "bits") - 1)
    return (np.clip(np.round(x * top), -top, top - 1) / top).astype(np.float32)


def clip(samples: np.ndarray, level: float) -> np.ndarray:
    """Hard clipping at amplitude ``level`` (> 0, full scale 1.0): the saturated input stage of a recorder."""
    x = _check_audio(samples)
    level = _check_finite(level, "level")
    if level <= 0:
        raise ValueError(f"clip level must be positive (amplitude), got {level}")
    return np.clip(x, -level, level).astype(np.float32)


# ----------------------------------------------------------------------------- telephone

def _resample(x: np.ndarray, orig_sr: int, new_sr: int) -> np.ndarray:
    """Sinc resampling with a steeper anti-aliasing filter than torchaudio's default: the default
    (6 zero crossings, roll-off 0.99) lets 4-4.5 kHz through a round trip via 8 kHz only 11-15 dB
    down; 16 zero crossings with the cut at 0.95 of Nyquist (3.8 kHz, still above the 3.4 kHz
    telephone band) take it 37-50 dB down."""
    return taf.resample(torch.from_numpy(x), orig_sr, new_sr, lowpass_filter_width=16, rolloff=0.95).numpy()


def _mu_law(x: np.ndarray) -> np.ndarray:
    """G.711 mu-law (8 bits) round trip. The codec saturates at full scale, hence the clip."""
    wave = torch.from_numpy(np.clip(x, -1.0, 1.0))
    return taf.mu_law_decoding(taf.mu_law_encoding(wave, 256), 256).numpy().astype(np.float64)


@lru_cache(maxsize=None)
def _sox_formats() -> frozenset[str]:
    """The audio file formats the installed ``sox`` was built with (``sox -h`` lists them)."""
    text = subprocess.run(["sox", "-h"], capture_output=True, text=True).stdout
    for line in text.splitlines():
        if line.startswith("AUDIO FILE FORMATS:"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def _run_tool(command: list[str], data: bytes) -> bytes:
    done = subprocess.run(command, input=data, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({' '.join(command)}): "
                           f"{done.stderr.decode(errors='replace').strip()[-500:]}")
    return done.stdout


def _need_sox(what: str) -> None:
    if shutil.which("sox") is None:
        raise RuntimeError(f"{what} needs sox on PATH, and sox is not installed")


def _sox_raw(sr: int) -> list[str]:
    """sox's arguments for mono little-endian float32 at ``sr`` on a pipe."""
    return ["-t", "raw", "-e", "floating-point", "-b", "32", "-L", "-r", str(sr), "-c", "1"]


def _sox_codec(x: np.ndarray, fmt: str) -> np.ndarray:
    """Round trip through sox's ``fmt`` encoder at 8 kHz (raw float32 through pipes, no temp files)."""
    _need_sox(f"telephone codec {fmt!r}")
    if fmt not in _sox_formats():
        raise RuntimeError(f"telephone codec {fmt!r} needs sox built with {fmt} support; the installed sox lacks it")
    raw = _sox_raw(TELEPHONE_SR)
    # -R: repeatable, -D: no dither (sox dithers with random noise when it reduces bit depth)
    coded = _run_tool(["sox", "-R", "-D", *raw, "-", "-t", fmt, "-"], np.clip(x, -1, 1).astype("<f4").tobytes())
    decoded = _run_tool(["sox", "-R", "-D", "-t", fmt, "-", *raw, "-"], coded)
    return np.frombuffer(decoded, dtype="<f4").astype(np.float64)


_FFMPEG_ENCODERS = {
    "mp3": ["-c:a", "libmp3lame", "-b:a", "16k", "-f", "mp3"],
    "opus": ["-c:a", "libopus", "-b:a", "12k", "-f", "ogg"],
}


def _ffmpeg_codec(x: np.ndarray, codec: str) -> np.ndarray:
    """Round trip through ffmpeg's ``codec`` encoder at 8 kHz (raw float32 through pipes)."""
    if shutil.which("ffmpeg") is None:
        raise RuntimeError(f"telephone codec {codec!r} needs ffmpeg on PATH, and ffmpeg is not installed")
    raw = ["-f", "f32le", "-ar", str(TELEPHONE_SR), "-ac", "1"]
    base = ["ffmpeg", "-nostdin", "-loglevel", "error"]
    coded = _run_tool([*base, *raw, "-i", "pipe:0", *_FFMPEG_ENCODERS[codec], "pipe:1"],
                      np.clip(x, -1, 1).astype("<f4").tobytes())
    decoded = _run_tool([*base, "-i", "pipe:0", *raw, "pipe:1"], coded)
    return np.frombuffer(decoded, dtype="<f4").astype(np.float64)


def _fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` cut or zero-padded at the end to ``n`` samples."""
    return x[:n] if x.size >= n else np.concatenate([x, np.zeros(n - x.size)])


def _undo_delay(decoded: np.ndarray, reference: np.ndarray, max_lag: int) -> np.ndarray:
    """``decoded`` shifted back by the lag (0..``max_lag`` samples) at which it best matches
    ``reference``, at ``reference``'s length: encoder delay would move the words away from their
    alignment labels."""
    n = reference.size
    decoded = _fit_length(decoded, max(decoded.size, n + max_lag))
    n_fft = 1 << (decoded.size + n - 1).bit_length()
    # cross-correlation at lags 0..max_lag: sum_t decoded[t + lag] * reference[t]
    xcorr = np.fft.irfft(np.fft.rfft(decoded, n_fft) * np.conj(np.fft.rfft(reference, n_fft)), n_fft)
    lag = int(np.argmax(xcorr[: max_lag + 1]))
    return decoded[lag: lag + n]


def telephone(samples: np.ndarray, sr: int, codec: str) -> np.ndarray:
    """``samples`` through a telephone channel, float32 of the input's shape, at ``sr``.

    Every codec resamples to 8 kHz (torchaudio), band-passes to the 300-3400 Hz telephone band
    (zero phase), codes, and resamples back to ``sr``:
    ``"band"`` no coding; ``"mulaw"`` G.711 8-bit mu-law (torchaudio); ``"gsm"`` GSM 06.10 through
    ``sox``; ``"mp3"`` (16 kbit/s) and ``"opus"`` (12 kbit/s) through ``ffmpeg``. The external tools
    must be on PATH (``RuntimeError`` naming the tool otherwise); their encoder delay is removed.
    """
    x = _check_audio(samples)
    sr = _check_sr(sr)
    if codec not in TELEPHONE_CODECS:
        raise ValueError(f"unknown telephone codec {codec!r}; expected one of {', '.join(TELEPHONE_CODECS)}")
    narrow = _resample(x, sr, TELEPHONE_SR)
    narrow = _shape_spectrum(narrow, lambda f: _butterworth_gain(f, *TELEPHONE_BAND, order=4), TELEPHONE_SR, pad=True)
    if codec == "mulaw":
        narrow = _mu_law(narrow)
    elif codec in ("gsm", "mp3", "opus"):
        decoded = _sox_codec(narrow, codec) if codec == "gsm" else _ffmpeg_codec(narrow, codec)
        narrow = _undo_delay(decoded, narrow, int(MAX_CODEC_DELAY_S * TELEPHONE_SR))
    wide = _resample(narrow, TELEPHONE_SR, sr)
    # resampling rounds the length up; keep exactly the input's length so label times still fit
    return _fit_length(wide, x.size).astype(np.float32)


# ----------------------------------------------------------------------------- speed

def speed(samples: np.ndarray, sr: int, factor: float) -> tuple[np.ndarray, float]:
    """``samples`` played ``factor`` times faster (pitch moves with it, as Kaldi's speed perturbation),
    by resampling. Returns ``(float32 [about num_samples / factor], time_scale)``: multiply label
    times in seconds by ``time_scale`` (the exact ``1 / factor`` used, ``factor`` is rounded to a
    ratio of integers up to 100 to keep the resampling kernel small).
    """
    x = _check_audio(samples)
    sr = _check_sr(sr)
    factor = _check_finite(factor, "speed factor")
    if not 0.5 <= factor <= 2.0:
        raise ValueError(f"speed factor must be within [0.5, 2.0], got {factor}")
    ratio = Fraction(factor).limit_denominator(100)
    # reading ratio.numerator samples where there were ratio.denominator makes the audio faster
    y = taf.resample(torch.from_numpy(x), ratio.numerator, ratio.denominator).numpy()
    return y.astype(np.float32), ratio.denominator / ratio.numerator


def _sox_effect(x: np.ndarray, sr: int, effect: list[str], what: str) -> np.ndarray:
    """``x`` through one sox effect (raw float32 through pipes, repeatable, no dither)."""
    _need_sox(what)
    raw = _sox_raw(sr)
    out = _run_tool(["sox", "-R", "-D", *raw, "-", *raw, "-", *effect], x.astype("<f4").tobytes())
    return np.frombuffer(out, dtype="<f4").astype(np.float64)


def tempo(samples: np.ndarray, sr: int, factor: float) -> tuple[np.ndarray, float]:
    """``samples`` played ``factor`` times faster with the pitch kept (sox's ``tempo -s``: WSOLA
    tuned for speech, as sox-based tempo perturbation does it). Returns ``(float32 [about
    num_samples / factor], time_scale)``: multiply label times in seconds by ``time_scale``
    (= ``1 / factor``). WSOLA moves single events by a few ms around that (measured: tone-burst
    onsets within 4 ms of it at 0.8, 8-9 ms late at 1.25). ``factor`` in [0.5, 2]; needs sox
    (``RuntimeError``).
    """
    x = _check_audio(samples)
    sr = _check_sr(sr)
    factor = _check_finite(factor, "tempo factor")
    if not 0.5 <= factor <= 2.0:
        raise ValueError(f"tempo factor must be within [0.5, 2.0], got {factor}")
    return _sox_effect(x, sr, ["tempo", "-s", f"{factor:.6f}"], "tempo").astype(np.float32), 1.0 / factor


def pitch_shift(samples: np.ndarray, sr: int, semitones: float) -> np.ndarray:
    """``samples`` with every frequency moved by ``semitones`` (in [-12, 12]) and the duration kept
    (sox's ``pitch``: WSOLA tempo change, then resampling; formants move with the pitch, like a
    shorter or longer vocal tract). Returns float32 of the input's length. Events move by some ms
    (tone-burst onsets: 9-20 ms late at -3 semitones, up to 5 ms early at +3), which full-sum
    training, needing only transcripts, does not see; do not use it where label times must hold to
    the ms. Needs sox (``RuntimeError``).
    """
    x = _check_audio(samples)
    sr = _check_sr(sr)
    semitones = _check_finite(semitones, "semitones")
    if not -12.0 <= semitones <= 12.0:
        raise ValueError(f"semitones must be within [-12, 12], got {semitones}")
    if semitones == 0:
        return x.astype(np.float32)
    shifted = _sox_effect(x, sr, ["pitch", f"{100 * semitones:.3f}"], "pitch_shift")
    return _fit_length(shifted, x.size).astype(np.float32)


# ----------------------------------------------------------------------------- random chain

def _default_noise_weights() -> dict[str, float]:
    return {"white": 1.0, "pink": 1.0, "brown": 0.5, "babble": 2.0, "hum": 0.5, "tone": 0.5, "filtered": 2.0}


@dataclass(frozen=True)
class AugmentConfig:
    """The random chain :func:`augment` draws, in its order: reverb, noise, telephone, gain, clipping.

    A step whose probability is 0 is off; a noise kind or codec whose weight is 0 is never drawn.
    Ranges are ``(low, high)``, drawn uniformly.
    """

    reverb_prob: float = 0.3
    rt60_range: tuple[float, float] = (0.2, 1.0)                 # seconds
    noise_prob: float = 0.8
    snr_db_range: tuple[float, float] = (0.0, 30.0)              # dB, speech over noise
    noise_weights: dict[str, float] = field(default_factory=_default_noise_weights)
    telephone_prob: float = 0.1
    telephone_weights: dict[str, float] = field(default_factory=lambda: {"band": 1.0, "mulaw": 1.0})
    gain_prob: float = 1.0
    gain_db_range: tuple[float, float] = (-40.0, 10.0)           # dB
    clip_prob: float = 0.05
    clip_fraction_range: tuple[float, float] = (0.1, 0.6)        # clip level, fraction of the clip's peak
    # a recorder saturates at full scale: after the chain, samples beyond +-1 are clipped (and listed)
    full_scale_clip: bool = True
    # then round to the grid of a `quantize_bits` integer file (None: keep float): quiet speech
    # stored in 16 bits loses its faint parts to the grid, which float gain alone never shows
    quantize_bits: int | None = None

    def __post_init__(self) -> None:
        if self.quantize_bits is not None:
            _check_bits(self.quantize_bits, "quantize_bits (or None)")
        for name in ("reverb_prob", "noise_prob", "telephone_prob", "gain_prob", "clip_prob"):
            value = _check_finite(getattr(self, name), name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value}")
        for name in ("rt60_range", "snr_db_range", "gain_db_range", "clip_fraction_range"):
            bounds = getattr(self, name)
            if len(bounds) != 2:
                raise ValueError(f"{name} must be (low, high), got {bounds!r}")
            low, high = (_check_finite(v, name) for v in bounds)
            if low > high:
                raise ValueError(f"{name} must be (low, high) with low <= high, got {getattr(self, name)}")
        if self.rt60_range[0] <= 0:
            raise ValueError(f"rt60_range must be positive seconds, got {self.rt60_range}")
        if not (0 < self.clip_fraction_range[0] and self.clip_fraction_range[1] <= 1):
            raise ValueError(f"clip_fraction_range must lie in (0, 1], got {self.clip_fraction_range}")
        _check_weights(self.noise_weights, NOISE_KINDS, "noise_weights", self.noise_prob > 0)
        _check_weights(self.telephone_weights, TELEPHONE_CODECS, "telephone_weights", self.telephone_prob > 0)


def _check_weights(weights: dict[str, float], known: tuple[str, ...], name: str, needed: bool) -> None:
    unknown = sorted(set(weights) - set(known))
    if unknown:
        raise ValueError(f"{name} has unknown keys {unknown}; expected some of {', '.join(known)}")
    for key, value in weights.items():
        if _check_finite(value, f"{name}[{key!r}]") < 0:
            raise ValueError(f"{name}[{key!r}] must be >= 0, got {value}")
    if needed and sum(weights.values()) <= 0:
        raise ValueError(f"{name} are all zero, but the step's probability is not: nothing to draw")


def _draw(weights: dict[str, float], rng: np.random.Generator) -> str:
    keys = sorted(weights)  # a fixed order, so the same seed draws the same key
    p = np.array([weights[k] for k in keys], dtype=np.float64)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def augment(samples: np.ndarray, sr: int, config: AugmentConfig, rng: np.random.Generator,
            babble_sources: list[np.ndarray] | None = None) -> tuple[np.ndarray, list[str]]:
    """A random chain of the transforms above drawn from ``config``; ``(float32 [num_samples], applied)``.

    ``applied`` lists each step taken with its drawn parameters, in order, e.g.
    ``["reverb rt60=0.410s", "noise babble snr=12.30dB", "gain -7.20dB"]``. The output keeps the
    input's length and timing. With a babble weight above 0, ``babble_sources`` (other speech at the
    same ``sr``) are required.
    """
    x = _check_audio(samples).astype(np.float32)
    sr = _check_sr(sr)
    _check_rng(rng)
    if not isinstance(config, AugmentConfig):
        raise ValueError(f"config must be an AugmentConfig, got {type(config).__name__}")
    if config.noise_prob > 0 and config.noise_weights.get("babble", 0) > 0 and not babble_sources:
        raise ValueError("the config draws babble noise but no babble_sources were given "
                         "(pass other speech waveforms, or set noise_weights['babble'] = 0)")
    applied: list[str] = []
    # every probability is drawn, taken or not, so that one step's parameters never shift the next
    # step's draws: switching a step on or off leaves the rest of the chain as it was
    take = {step: rng.random() < getattr(config, f"{step}_prob")
            for step in ("reverb", "noise", "telephone", "gain", "clip")}
    if take["reverb"]:
        rt60 = rng.uniform(*config.rt60_range)
        x = reverberate(x, sr, rt60, rng)
        applied.append(f"reverb rt60={rt60:.3f}s")
    # silence has no level to set an SNR against: the noise step is skipped (and not listed)
    if take["noise"] and _power(x.astype(np.float64)) > 0:
        kind = _draw(config.noise_weights, rng)
        snr_db = rng.uniform(*config.snr_db_range)
        x = add_noise(x, sr, snr_db, kind, rng, babble_sources)
        applied.append(f"noise {kind} snr={snr_db:.2f}dB")
    if take["telephone"]:
        codec = _draw(config.telephone_weights, rng)
        x = telephone(x, sr, codec)
        applied.append(f"telephone {codec}")
    if take["gain"]:
        gain_db = rng.uniform(*config.gain_db_range)
        x = apply_gain(x, gain_db)
        applied.append(f"gain {gain_db:+.2f}dB")
    peak = float(np.max(np.abs(x)))
    if take["clip"] and peak > 0:
        level = peak * rng.uniform(*config.clip_fraction_range)
        x = clip(x, level)
        applied.append(f"clip level={level:.4g}")
    if config.full_scale_clip and float(np.max(np.abs(x))) > 1.0:
        x = clip(x, 1.0)
        applied.append("clip level=1 (full scale)")
    if config.quantize_bits is not None:
        x = quantize(x, config.quantize_bits)
        applied.append(f"quantize {config.quantize_bits} bit")
    return x, applied
