"""The shipped model (data/model/model.pt, with its dev-tuned alignment defaults) on the shipped
example recording (data/example/, a voice held out of training): every word boundary within 40 ms
of the synthesizer's reference (issue 6), and a mean within 20 ms."""

from pathlib import Path

import pytest

from fsttopo.aligner import Aligner, align_audio_file
from fsttopo.cli import DEFAULT_MODEL
from fsttopo.data.export import read_json
from fsttopo.scoring import word_boundary_errors

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "example"


@pytest.fixture(scope="module")
def aligner():
    return Aligner.from_file(DEFAULT_MODEL)


def test_shipped_model_aligns_every_word_of_the_example(aligner, tmp_path):
    wav = next(EXAMPLE.glob("*.wav"))
    transcript = wav.with_suffix(".txt").read_text().strip()
    ref = read_json(wav.with_suffix(".json"))[0]
    hyp = align_audio_file(aligner, wav, transcript, tmp_path, plot=False)
    assert [w.symbol for w in hyp.words] == [w.symbol for w in ref.words]
    assert all(a.end <= b.start + 1e-9 for a, b in zip(hyp.words, hyp.words[1:]))
    errors = [e for pair in word_boundary_errors(hyp, ref) for e in pair]
    assert sum(errors) / len(errors) <= 20.0 and max(errors) <= 40.0, (sum(errors) / len(errors), max(errors))
    assert (tmp_path / f"{wav.stem}.TextGrid").exists() and (tmp_path / f"{wav.stem}.json").exists()


def test_shipped_model_is_small_and_documented():
    assert DEFAULT_MODEL.stat().st_size < 8e6
    assert (DEFAULT_MODEL.parent / "config.json").exists()
