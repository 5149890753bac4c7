"""The plot process of `fsttopo align` (fsttopo.data.plot_process): the PNG it draws is the one
drawn in-process, byte for byte; its errors reach the caller; the command's own process never
loads matplotlib. Each case runs in a fresh interpreter: the process is forked before torch loads,
and this one has torch."""

import subprocess
import sys

import pytest

from fsttopo.resources import example_paths

WAV, TXT, _ = example_paths()

pytestmark = pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no os.fork on this platform")


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


_ALIGN = f"""
import sys
from fsttopo.data.plot_process import PlotProcess
process = PlotProcess.start()
assert process is not None and "torch" not in sys.modules
from fsttopo.aligner import Aligner, compute_features
from fsttopo.resources import default_model_path
aligner = Aligner.from_file(default_model_path())
feats = compute_features({str(WAV)!r})
result = aligner.align([feats], [open({str(TXT)!r}).read()], ["x"])
args = (feats, result.log_probs[0, : result.lengths[0]], result.alignments[0])
"""


def test_the_plot_process_draws_the_same_png_as_this_process(tmp_path):
    code = _ALIGN + f"""
from fsttopo.data.plot import plot_alignment
print(process.draw(*args, {str(tmp_path / "forked.png")!r}, aligner.tokens, aligner.frame_shift,
                   frame_offset=aligner.frame_offset))
plot_alignment(*args, {str(tmp_path / "here.png")!r}, aligner.tokens, aligner.frame_shift,
               frame_offset=aligner.frame_offset)
print("matplotlib" in sys.modules)
"""
    lines = _run(code).split()
    assert lines == [str(tmp_path / "forked.png"), "True"]
    forked, here = (tmp_path / "forked.png").read_bytes(), (tmp_path / "here.png").read_bytes()
    assert forked[:8] == b"\x89PNG\r\n\x1a\n" and len(forked) > 10_000
    assert forked == here
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forked.png", "here.png"]  # no temporary file left


def test_an_error_in_the_plot_process_reaches_the_caller_and_writes_nothing(tmp_path):
    code = _ALIGN + f"""
try:
    process.draw(*args, {str(tmp_path / "x.png")!r}, aligner.tokens[:5], aligner.frame_shift)
except ValueError as err:  # as plot_alignment raises it in-process
    print(err)
try:
    process.draw(*args, {str(tmp_path / "x.png")!r}, aligner.tokens, aligner.frame_shift)
except RuntimeError as err:
    print(err)
"""
    lines = _run(code).splitlines()
    assert lines == ["got 5 token symbols for 40 posterior columns",
                     "this plot process has already drawn or been closed"]
    assert list(tmp_path.iterdir()) == []


def test_a_plot_process_closed_without_drawing_ends_and_none_starts_beside_threads_or_torch():
    code = """
import os, sys, threading
from fsttopo.data.plot_process import PlotProcess
with PlotProcess.start() as process:
    pid = process._pid
try:
    os.waitpid(pid, os.WNOHANG)
except ChildProcessError:
    print("reaped")
release = threading.Event()
waiting = threading.Thread(target=release.wait)
waiting.start()
print(PlotProcess.start())  # another thread could hold a lock the child would need
release.set()
waiting.join()
import torch
print(PlotProcess.start())
"""
    assert _run(code).split() == ["reaped", "None", "None"]


def test_fsttopo_align_writes_the_plot_without_loading_matplotlib_itself(tmp_path):
    code = ("import sys\nfrom fsttopo import cli\n"
            f"cli.main(['align', {str(WAV)!r}, {str(TXT)!r}, '--out', {str(tmp_path)!r}])\n"
            "print('loaded:', 'matplotlib' in sys.modules)")
    assert _run(code).splitlines()[-1] == "loaded: False"
    png = tmp_path / f"{WAV.stem}.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".TextGrid", ".ctm", ".json", ".png"]


def test_a_failed_alignment_ends_the_plot_process_and_writes_nothing(tmp_path):
    code = ("import sys\nfrom fsttopo import cli\n"
            "try:\n"
            f"    cli.main(['align', {str(WAV)!r}, '--text', 'hello ' * 200, '--out', {str(tmp_path / 'out')!r}])\n"
            "except SystemExit as err:\n"
            "    print('error:', err.code)\n"
            "import os\ntry:\n    os.waitpid(-1, os.WNOHANG)\n    print('a child is left')\n"
            "except ChildProcessError:\n    print('no child left')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    error, children = out.stdout.splitlines()
    assert "the transcript is too long for the audio" in error and children == "no child left"
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
