"""The thin CLI and the end-to-end demo."""

import subprocess
import sys

from test_fsa_topology import CTC_11

import fsttopo
from fsttopo.cli import main
from fsttopo.demo import make_batch, run_demo


def test_graph_command_prints_k2_text(capsys):
    main(["graph", "ctc", "1,1"])
    assert capsys.readouterr().out == CTC_11
    main(["graph", "hmm", "1,2", "3", "--transitions", "--dot"])
    assert capsys.readouterr().out == fsttopo.hmm_graph(
        [[[1, 2], [3]]], silence=0, transitions=fsttopo.Transitions())[0].to_dot()


def test_graph_command_reports_bad_labels():
    proc = subprocess.run([sys.executable, "-m", "fsttopo.cli", "graph", "ctc", "1,0"], capture_output=True, text=True)
    assert proc.returncode != 0 and "contains the blank id 0" in proc.stderr


def test_generated_batch_matches_its_description():
    import torch

    b = make_batch(16, noise=0.0, generator=torch.Generator().manual_seed(1))
    for i, words in enumerate(b.words):
        ref = b.reference[i, : b.lengths[i]]
        speech = int((ref != 0).sum())
        assert speech == sum(b.word_spans[i][w][1] - b.word_spans[i][w][0] for w in range(len(words)))
        assert int((ref == 0).sum()) == round(0.3 * speech)
        assert torch.all(b.reference[i, b.lengths[i]:] == -1)
    assert torch.equal(b.features.argmax(-1)[b.reference >= 0], b.reference[b.reference >= 0])


def test_demo_learns_an_alignment(tmp_path):
    metrics = run_demo(steps=120, out_dir=tmp_path)
    assert metrics["frame_accuracy"] > 0.85
    assert metrics["word_boundary_error_frames"] < 1.5
    assert (tmp_path / "alignment.png").stat().st_size > 0
