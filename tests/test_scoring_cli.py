"""`fsttopo score`: alignments from a JSON directory scored against a Lhotse supervision manifest."""

import pytest
from lhotse import SupervisionSegment, SupervisionSet

from fsttopo.cli import main
from fsttopo.data.alignment import TimedToken as T
from fsttopo.data.alignment import UtteranceAlignment as U
from fsttopo.data.export import add_to_supervisions, write_json_dir


@pytest.fixture
def ref_manifest(tmp_path):
    ref = U("u1", "a b", 1.0, [T("a", 0.1, 0.4), T("b", 0.5, 0.9)])
    sups = SupervisionSet.from_segments([SupervisionSegment("u1", "r1", start=0.0, duration=1.0, text="a b")])
    path = tmp_path / "ref.jsonl.gz"
    add_to_supervisions([ref], sups).to_file(path)
    return path


def test_score_command_prints_and_writes_table(tmp_path, ref_manifest, capsys):
    # boundary errors 20, 0, 40, 60 ms -> TSE 30 ms; within 20 ms: 2 of 4; center errors 10, 50 ms;
    # silence 1 - 0.28 - 0.42 s (hyp) and 1 - 0.3 - 0.4 s (ref); WER: 1 substitution in 2 words
    write_json_dir([U("u1", "a b", 1.0, [T("a", 0.12, 0.4), T("b", 0.54, 0.96)])], tmp_path / "hyp")
    (tmp_path / "text").write_text("u1 a c\n")
    main(["score", "--hyp", str(tmp_path / "hyp"), "--ref", str(ref_manifest), "--hyp-text", str(tmp_path / "text"),
          "--name", "ctc", "--out", str(tmp_path / "out" / "table.md")])
    out = capsys.readouterr().out
    row = out.splitlines()[2]
    assert row == "| ctc | 30.0 | 30.0 | 50.0 | 75.0 | 100.0 | 60.0 | 30.0 | 30.0 | - | - | 50.0 | 1 | 2 |"
    assert (tmp_path / "out" / "table.md").read_text() == out


def test_score_command_reports_word_mismatch(tmp_path, ref_manifest):
    write_json_dir([U("u1", "a x", 1.0, [T("a", 0.1, 0.4), T("x", 0.5, 0.9)])], tmp_path / "hyp")
    with pytest.raises(SystemExit, match="fsttopo score: error: utterance 'u1': hypothesis and reference words differ"):
        main(["score", "--hyp", str(tmp_path / "hyp"), "--ref", str(ref_manifest)])
