"""Audio -> the features every model of the toolkit takes: 80-dim log-mel filterbanks at 10 ms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .level import normalize_level

__all__ = ["SAMPLE_RATE", "FEATURE_SHIFT", "compute_features", "cut_features", "dynamic_range_db", "high_band_db",
           "lhotse_fbank", "mel_bin_centers", "pad_features", "read_samples"]

SAMPLE_RATE = 16000
FEATURE_SHIFT = 0.01  # seconds per feature frame (Lhotse Fbank default)


def compute_features(audio: np.ndarray | str | Path, sampling_rate: int | None = None,
                     normalize: bool = True, channel: int | None = None) -> torch.Tensor:
    """80-dim log-mel filterbank ``[T', 80]`` float32 at 10 ms, as the recipes' Lhotse ``Fbank``.

    ``audio``: a file path (any format soundfile reads) or mono samples ``[N]`` at ``sampling_rate``.
    Audio at other rates is resampled to 16 kHz; the channels of a multi-channel file are averaged,
    or only ``channel`` (0-based) is taken: a call recorded with one speaker per channel is aligned
    per speaker (ValueError when the file has no such channel). With
    ``normalize`` the whole recording is first scaled to one speech level
    (:func:`fsttopo.data.level.normalize_level`), as every feature the toolkit stores or trains on.
    """
    if isinstance(audio, (str, Path)):
        samples, sampling_rate = read_samples(audio, channel)
    else:
        if channel is not None:
            raise ValueError(f"channel {channel} selects a channel of an audio file; samples given as an array "
                             "must be mono [N]")
        if sampling_rate is None:
            raise ValueError("sampling_rate is required for raw samples")
        samples = np.asarray(audio, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"audio samples must be mono [N], got shape {samples.shape}")
    if samples.size == 0:
        raise ValueError("audio is empty")
    if sampling_rate != SAMPLE_RATE:
        import torchaudio.functional as AF

        samples = AF.resample(torch.from_numpy(samples), sampling_rate, SAMPLE_RATE).numpy()
    if normalize:
        samples = normalize_level(samples, SAMPLE_RATE)[0]
    return torch.from_numpy(np.asarray(_extract_in_chunks(lhotse_fbank, samples), dtype=np.float32))


def read_samples(path: str | Path, channel: int | None = None) -> tuple[np.ndarray, int]:
    """An audio file's mono float32 samples ``[N]`` in [-1, 1] at its own sampling rate, and that
    rate (Hz): the mean of its channels, or only ``channel`` (0-based). ValueError for a file that
    cannot be read or has no such channel."""
    import soundfile

    try:
        samples, sampling_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError) as err:  # unreadable, truncated, unknown format
        raise ValueError(f"cannot read audio file {str(path)!r}: {err}") from err
    return _channel_of(samples, channel, str(path)), sampling_rate


def _channel_of(samples: np.ndarray, channel: int | None, name: str) -> np.ndarray:
    """Mono ``[N]`` from a file's ``[N, C]`` samples: the mean of the channels, or ``channel``."""
    if channel is None:
        return samples.mean(axis=1)
    if not 0 <= channel < samples.shape[1]:
        count = samples.shape[1]
        raise ValueError(f"audio file {name!r} has {count} channel{'s' if count > 1 else ''}: channel {channel} "
                         f"does not exist (channels are numbered from 0)")
    return np.ascontiguousarray(samples[:, channel])


def lhotse_fbank(samples: np.ndarray, sampling_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Lhotse's ``Fbank(FbankConfig(num_mel_bins=80)).extract(samples, sampling_rate)`` ``[T', 80]``
    (the features the models were trained on), computed with torchaudio's Kaldi-compatible fbank and
    Lhotse's settings: importing Lhotse took 0.4-0.6 s of `fsttopo align`'s start-up. Equal to
    Lhotse's to float rounding (``tests/test_startup.py``). ``samples``: mono float ``[N]`` in [-1, 1], at
    least one 25 ms window (ValueError otherwise)."""
    from torchaudio.compliance.kaldi import fbank

    if len(samples) < round(0.025 * sampling_rate):
        raise ValueError(f"audio of {len(samples) / sampling_rate * 1000:.1f} ms is shorter than one 25 ms "
                         "feature window")
    return fbank(torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None], num_mel_bins=80,
                 sample_frequency=float(sampling_rate), frame_length=25.0, frame_shift=10.0, dither=0.0,
                 preemphasis_coefficient=0.97, remove_dc_offset=True, window_type="povey",
                 round_to_power_of_two=True, snip_edges=False, energy_floor=1e-10, raw_energy=True,
                 use_energy=False, low_freq=20.0, high_freq=-400.0).numpy()


ENERGY_SLICE = 6000  # frames


def log_mel_energy_db(features: torch.Tensor) -> torch.Tensor:
    """``[T]`` float64 frame energies ``10 log10(sum_mel exp(feature))`` of ``[T, num_mel]`` log-mel
    features (no overflow), after checking their shape and values."""
    if features.ndim != 2 or features.shape[0] == 0:
        raise ValueError(f"features must be [T >= 1, num_mel], got {tuple(features.shape)}")
    if not bool(torch.isfinite(features).all()):
        raise ValueError("features hold NaN or infinite values")
    # in slices: a float64 copy of an hour's features would be 230 MB more at the peak
    return torch.cat([torch.logsumexp(part.double(), -1) for part in features.split(ENERGY_SLICE)]) * (10 / np.log(10))


def dynamic_range_db(features: torch.Tensor, low: float = 0.10, high: float = 0.95) -> float:
    """How far a recording's loud frames stand above its quiet ones, in dB: the ``high`` minus the
    ``low`` quantile of the frame energies ``10 log10(sum_mel exp(feature))`` of ``[T, 80]``
    log-mel features. About 40-45 dB for clean speech with pauses, 12 at 20 dB SNR of white
    noise, 4 at 10 dB: a noise measure that needs no voice activity detection (the pauses and
    the quietest parts of speech are the low quantile)."""
    energy = log_mel_energy_db(features)
    return float(torch.quantile(energy, high) - torch.quantile(energy, low))


def mel_bin_centers(num_mel: int = 80, low: float = 20.0, high: float = SAMPLE_RATE / 2 - 400.0) -> np.ndarray:
    """``[num_mel]`` centre frequencies (Hz) of the Kaldi mel filterbank of :func:`lhotse_fbank`
    (``low_freq=20``, ``high_freq=-400``: 7.6 kHz at 16 kHz)."""
    mel_low, mel_high = (1127.0 * np.log1p(f / 700.0) for f in (low, high))
    mels = mel_low + (mel_high - mel_low) / (num_mel + 1) * np.arange(1, num_mel + 1)
    return 700.0 * np.expm1(mels / 1127.0)


def high_band_db(features: torch.Tensor, below: float = 25.0, quantile: float = 0.95) -> float:
    """How strong a recording's band above 5 kHz gets against its 0.3-3.4 kHz (telephone) band,
    in dB: per frame, the mean log-mel energy of the bins centred above 5 kHz minus that of the
    bins centred in 0.3-3.4 kHz; of those, the ``quantile`` quantile over the frames of ``[T, 80]``
    log-mel features within ``below`` dB of the recording's loud end (the 99.9th percentile of the
    frame energies: pauses, silence and a noise floor do not count, however long). The frames at
    the top are the fricatives', which carry the upper band in wideband speech."""
    energy = log_mel_energy_db(features)
    centers = mel_bin_centers(features.shape[1])
    upper, phone_band = centers >= 5000.0, (centers >= 300.0) & (centers <= 3400.0)
    # one product gives each frame's upper-band mean minus its phone-band mean
    weights = torch.from_numpy(upper / upper.sum() - phone_band / phone_band.sum())
    balance = features[energy >= torch.quantile(energy, 0.999) - below].double() @ weights
    return float(torch.quantile(balance, quantile)) * 10 / np.log(10)


def decay_asymmetry(features: torch.Tensor, span: int = 5, quantile: float = 0.02) -> float:
    """How much more slowly a recording's energy falls than it rises: its steepest rise over its
    steepest fall, from the slopes of the frame energy ``10 log10(sum_mel exp(feature))`` of
    ``[T, 80]`` log-mel features (smoothed over 3 frames) across ``span`` frames, the ``1 -
    quantile`` and the ``quantile`` quantiles. About 1 for dry speech, clean or noisy (a noise
    floor flattens rises and falls alike: medians 1.0-1.1, none above 2, from clean to 5 dB SNR of
    white noise, babble, telephone band and -40 dB on the TTS test voices), 2-4.6 (median 2.9)
    under reverberation of RT60 0.5 s, whose tail slows every fall and no onset. 1.0 (no
    evidence) for recordings of fewer than ``span + 3`` frames."""
    energy = log_mel_energy_db(features)
    if energy.shape[0] < span + 3:
        return 1.0
    smooth = torch.nn.functional.avg_pool1d(energy[None, None], 3, stride=1)[0, 0]
    slopes = smooth[span:] - smooth[:-span]
    rise, fall = float(torch.quantile(slopes, 1 - quantile)), float(-torch.quantile(slopes, quantile))
    if rise <= 0 or fall <= 0:  # constant energy (digital silence, a steady tone)
        return 1.0
    return rise / fall


def pad_features(features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """``[T_i, F]`` tensors -> ``([B, T_max, F], lengths [B])``, zero padded."""
    lengths = torch.tensor([f.shape[0] for f in features])
    out = features[0].new_zeros(len(features), int(lengths.max()), features[0].shape[1])
    for i, f in enumerate(features):
        out[i, : f.shape[0]] = f
    return out, lengths


def cut_features(cut) -> torch.Tensor:
    """``[T', 80]`` float32 features of a Lhotse cut: its stored ones, else computed from its audio
    (the cuts of ``fsttopo prepare --no-features``)."""
    if cut.has_features:
        return torch.from_numpy(cut.load_features()).float()
    return compute_features(cut.load_audio()[0], cut.sampling_rate)


CHUNK_FRAMES = 6000
"""Feature frames (60 s) computed at once: the extractor holds every windowed frame of its input
(about 8 KB per 10 ms frame: 2.9 GB for an hour), so longer audio is taken in chunks."""


def _extract_in_chunks(extract, samples: np.ndarray, chunk: int = CHUNK_FRAMES, context: int = 4) -> np.ndarray:
    """``extract(samples, SAMPLE_RATE)`` ``[T', F]`` over chunks of ``chunk`` frames whose samples
    reach ``context`` frames beyond each side (a 25 ms window reaches 1.2 frames past its 10 ms
    hop), so every kept frame sees the samples it would see in one pass; equal to one pass up to
    float rounding (the edges of the recording are those of the one pass)."""
    hop = round(FEATURE_SHIFT * SAMPLE_RATE)
    n = samples.shape[0]
    out, first = [], 0
    while True:
        lo, hi = max(0, hop * (first - context)), hop * (first + chunk + context)
        feats = np.asarray(extract(samples[lo: min(hi, n)], SAMPLE_RATE))
        skip = first - lo // hop
        if hi >= n:
            out.append(feats[skip:])
            return np.concatenate(out)
        out.append(feats[skip: skip + chunk])
        first += chunk
