"""The shipped model (data/model/model.pt) aligns the shipped example recording (data/example/, a
voice held out of training) within 40 ms of the synthesizer's reference on every word boundary."""

from pathlib import Path

import pytest

from fsttopo.aligner import Aligner, align_audio_file
from fsttopo.cli import DEFAULT_MODEL
from fsttopo.data.export import read_json

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "example"


@pytest.fixture(scope="module")
def aligner():
    return Aligner.from_file(DEFAULT_MODEL)


def test_shipped_example_within_40ms(aligner, tmp_path):
    wav = next(EXAMPLE.glob("*.wav"))
    transcript = wav.with_suffix(".txt").read_text().strip()
    ref = read_json(wav.with_suffix(".json"))[0]
    hyp = align_audio_file(aligner, wav, transcript, tmp_path, plot=False)
    assert [w.symbol for w in hyp.words] == [w.symbol for w in ref.words]
    errors = [max(abs(h.start - r.start), abs(h.end - r.end)) for h, r in zip(hyp.words, ref.words)]
    assert max(errors) <= 0.040, f"largest word boundary error {max(errors) * 1000:.1f} ms"


def test_shipped_model_is_small_and_documented():
    assert DEFAULT_MODEL.stat().st_size < 8e6
    assert (DEFAULT_MODEL.parent / "config.json").exists()
