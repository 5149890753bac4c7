"""The shipped example in the formats and rates users' recordings come in (stereo 44.1 kHz FLAC,
48 kHz 24-bit WAV, 8-bit mu-law WAV, Ogg Vorbis, 22 kHz MP3, odd file names): each aligns within the shipped
model's guard of tests/test_shipped_model.py (mean <= 20 ms, every boundary within 50 ms)."""

import json

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio.functional as AF

from fsttopo.files import align_file
from fsttopo.resources import example_paths

WAV, TXT, REF = example_paths()
REFERENCE = json.loads(REF.read_text())["words"]


def resampled(x, sr, rate):
    return AF.resample(torch.from_numpy(x), sr, rate).numpy()


@pytest.mark.parametrize("name, rate, channels, subtype", [
    ("stereo 44k ü.flac", 44100, 2, "PCM_16"),
    ("studio.48k.wav", 48000, 1, "PCM_24"),
    ("phone-ulaw.wav", 16000, 1, "ULAW"),
    ("voice (1).ogg", 16000, 1, "VORBIS"),
    ("podcast.mp3", 22050, 1, "MPEG_LAYER_III"),
])
def test_formats_and_rates_align_as_the_original(tmp_path, name, rate, channels, subtype):
    x, sr = sf.read(WAV, dtype="float32")
    y = resampled(x, sr, rate) if rate != sr else x
    path = tmp_path / name
    sf.write(path, np.stack([y] * channels, axis=1) if channels > 1 else y, rate, subtype=subtype)
    assert sf.info(str(path)).samplerate == rate and sf.info(str(path)).channels == channels
    ali = align_file(path, TXT.read_text())
    assert [w.symbol for w in ali.words] == [r["symbol"] for r in REFERENCE]
    errors = 1000 * np.array([abs(h.start - r["start"]) for h, r in zip(ali.words, REFERENCE)] +
                             [abs(h.end - r["end"]) for h, r in zip(ali.words, REFERENCE)])
    assert errors.mean() <= 20.0 and errors.max() <= 50.0, (errors.mean(), errors.max())
