"""Bad input gets one clear line and leaves nothing behind: every option and path is checked before
the work, and a run that fails writes no file."""

import re
import subprocess
import sys

import numpy as np
import pytest
import torch

import fsttopo
from fsttopo import cli
from fsttopo.files import align_file, load_aligner
from fsttopo.resources import example_paths

WAV, TXT, _ = example_paths()


def run_cli(*args):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([str(a) for a in args])
    return str(exit_info.value.code)


@pytest.mark.parametrize("extra, message", [
    (["--time-shift", "2"], r"time_shift must be in \[-0.5, 0.5\] seconds, got 2.0"),
    (["--prior-scale", "1e6"], r"prior_scale must be in \[0, 1000\], got 1000000.0"),
    (["--posterior-scale", "0"], r"posterior_scale must be in \(0, 1000\]"),
    (["--phases", "9"], "phases must be an integer from 1 to the model's downsampling 4"),
    (["--model", "missing.pt"], "model file 'missing.pt' does not exist"),
    (["--lexicon", "missing.txt"], "lexicon file 'missing.txt' does not exist"),
    (["--threads", "-1"], "threads must be >= 1, got -1"),
    (["--variant-penalty", "-2"], r"variant_penalty must be a finite number of nats >= 0, got -2.0"),
    (["--method", "gradscore", "--phases", "1", "--pronunciation-variants"],
     "pronunciation_variants works with the viterbi and posterior methods, not 'gradscore'"),
])
def test_bad_options_write_nothing(tmp_path, extra, message):
    out = tmp_path / "out"
    assert re.search(message, run_cli("align", WAV, TXT, "--out", out, *extra))
    assert not out.exists()


def test_a_transcript_argument_must_be_a_file(tmp_path):
    out = tmp_path / "out"
    message = run_cli("align", WAV, "sentence", "--out", out)
    assert "transcript file 'sentence' does not exist" in message and "--text" in message
    assert "not both or neither" in run_cli("align", WAV, "--out", out)
    assert "not both or neither" in run_cli("align", WAV, TXT, "--text", "you know", "--out", out)
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    assert "is not UTF-8 text (byte 3" in run_cli("align", WAV, tmp_path / "latin1.txt", "--out", out)
    assert not out.exists()


def test_bad_audio_and_out_paths(tmp_path):
    (tmp_path / "file").write_text("x")
    assert "cannot read audio file" in run_cli("align", tmp_path / "none.wav", TXT, "--out", tmp_path / "o")
    assert "is an existing file" in run_cli("align", WAV, TXT, "--out", tmp_path / "file")
    assert "is a file, not a directory" in run_cli("align", WAV, TXT, "--out", tmp_path / "file" / "sub")
    assert "not an fsttopo model file" in run_cli("align", WAV, TXT, "--out", tmp_path / "o", "--model", TXT)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_device_without_cuda_is_named(tmp_path):
    assert "CUDA is not available" in run_cli("align", WAV, TXT, "--out", tmp_path / "o", "--device", "cuda")


def test_version():
    proc = subprocess.run([sys.executable, "-m", "fsttopo.cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == f"fsttopo {fsttopo.__version__}"


def test_align_file_one_call_api():
    ali = align_file(WAV, TXT.read_text())
    assert [w.symbol for w in ali.words] == TXT.read_text().split()
    assert ali.utterance_id == WAV.stem and 0 < ali.words[0].start < ali.words[-1].end <= ali.duration
    assert fsttopo.align_file is align_file


def test_api_rejects_bad_features_by_name():
    aligner = load_aligner()
    cases = [(torch.zeros(0, 80), "has 0 feature frames"), (torch.zeros(10, 40), r"float \[T', 80\] tensor"),
             (torch.full((50, 80), float("nan")), "NaN or infinite"), (torch.zeros(50), r"float \[T', 80\] tensor"),
             (np.zeros((50, 80), np.float32), r"float \[T', 80\] tensor")]
    for feats, message in cases:
        with pytest.raises(ValueError, match=message):
            aligner.align([feats], ["you"])
    with pytest.raises(ValueError, match="transition_scale must be a finite number >= 0, got nan"):
        aligner.align([torch.zeros(50, 80)], ["you"], transition_scale=float("nan"))
