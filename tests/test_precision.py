"""The acoustic model in bfloat16 (Aligner.set_precision, --precision): the alignment stays within
a few ms of float32's, float32 stays the default, and bad names are refused."""

import copy

import numpy as np
import pytest
import soundfile

from fsttopo.aligner import Aligner, compute_features
from fsttopo.resources import example_paths, model_path

WAV, TXT, _ = example_paths()


@pytest.fixture(scope="module")
def inputs():
    samples, rate = soundfile.read(WAV, dtype="float32")
    return compute_features(samples, rate), TXT.read_text().strip()


@pytest.mark.parametrize("model", ["default", "robust"])
def test_bfloat16_alignment_is_close_to_float32(model, inputs):
    feats, text = inputs
    aligner = Aligner.from_file(model_path(model))
    assert aligner.precision == "float32"
    full = aligner.align([feats], [text])
    half = copy.copy(aligner).set_precision("bfloat16").align([feats], [text])
    diff = np.array([abs(a - b) for x, y in zip(full.alignments[0].words, half.alignments[0].words)
                     for a, b in ((x.start, y.start), (x.end, y.end))]) * 1000
    assert diff.mean() < 0.5 and diff.max() < 5.0, (diff.mean(), diff.max())  # measured: 0.09 / 0.63 ms, 0.07 / 0.37 ms
    gap = (full.log_probs.exp() - half.log_probs.exp()).abs()
    assert 0 < float(gap.max()) < 0.1  # it did run in bfloat16, and stayed close


def test_unknown_precision_is_refused():
    aligner = Aligner.from_file(model_path("default"))
    with pytest.raises(ValueError, match="precision must be one of"):
        aligner.set_precision("float16")


def test_align_dir_takes_the_precision_and_a_resume_keeps_runs_apart(tmp_path):
    """``--precision bfloat16`` reaches the aligner (its words within 1 ms of the float32 run's),
    and is part of the run's identity: resuming a float32 output directory in bfloat16 aligns the
    file again instead of keeping the float32 output."""
    import json
    import shutil

    from fsttopo.cli import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(WAV, corpus / "a.wav")
    shutil.copy(TXT, corpus / "a.txt")
    main(["align-dir", str(corpus), "--out", str(tmp_path / "f32")])
    main(["align-dir", str(corpus), "--out", str(tmp_path / "bf16"), "--precision", "bfloat16"])
    words = [json.loads((tmp_path / run / "a.json").read_text())["words"] for run in ("f32", "bf16")]
    assert len(words[0]) == len(words[1]) and max(abs(x[k] - y[k]) for x, y in zip(*words) for k in ("start", "end")) < 1e-3

    def resume(*extra):
        main(["align-dir", str(corpus), "--out", str(tmp_path / "f32"), "--resume", *extra])
        return json.loads((tmp_path / "f32" / "manifest.jsonl").read_text().splitlines()[0])

    assert resume()["status"] == "skipped-up-to-date"
    row = resume("--precision", "bfloat16")
    assert row["status"] == "aligned" and row["model"]["precision"] == "bfloat16"
