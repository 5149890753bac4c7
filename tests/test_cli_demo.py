"""The thin CLI: the `graph` command (the `synth` command is tested in test_synth_runner.py)."""

import subprocess
import sys

from test_fsa_topology import CTC_11

import fsttopo
from fsttopo.cli import main


def test_graph_command_prints_k2_text(capsys):
    main(["graph", "ctc", "1,1"])
    assert capsys.readouterr().out == CTC_11
    main(["graph", "hmm", "1,2", "3", "--transitions", "--dot"])
    assert capsys.readouterr().out == fsttopo.hmm_graph(
        [[[1, 2], [3]]], silence=0, transitions=fsttopo.Transitions())[0].to_dot()


def test_graph_command_reports_bad_labels():
    proc = subprocess.run([sys.executable, "-m", "fsttopo.cli", "graph", "ctc", "1,0"], capture_output=True, text=True)
    assert proc.returncode != 0 and "contains the blank id 0" in proc.stderr

