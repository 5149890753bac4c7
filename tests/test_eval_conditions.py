"""recipes/tts/eval_conditions.py: a batch that fails is retried per utterance, and an utterance
that still fails is counted, not dropped."""

from __future__ import annotations

from lhotse import SupervisionSegment

from fsttopo.data.alignment import TimedToken, UtteranceAlignment
from recipes.tts.eval_conditions import _with_fallback


class _Cut:
    def __init__(self, utt: str):
        self.id = utt
        self.supervisions = [SupervisionSegment(utt, utt, 0.0, 1.0, text="w")]


def _align(part):
    if any(c.id == "bad" for c in part):
        raise ValueError("too short")
    return [UtteranceAlignment(c.id, "w", 1.0, [TimedToken("w", 0.1, 0.5)]) for c in part]


def test_fallback_counts_failures():
    hyps, errors = _with_fallback(_align, [_Cut("a"), _Cut("bad"), _Cut("b")])
    assert set(hyps) == {"a", "bad", "b"} and hyps["bad"] is None and hyps["a"].words[0].start == 0.1
    assert errors == {"bad": "too short"}


def test_no_fallback_when_the_batch_aligns():
    hyps, errors = _with_fallback(_align, [_Cut("a"), _Cut("b")])
    assert set(hyps) == {"a", "b"} and not errors


def test_fsttopo_rows_are_cached_under_the_code_that_made_them(tmp_path):
    from recipes.tts.eval_conditions import code_hash

    (tmp_path / "sub").mkdir()
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    (tmp_path / "notes.txt").write_text("not code")
    first = code_hash(tmp_path)
    assert code_hash(tmp_path) == first and len(first) == 16
    (tmp_path / "notes.txt").write_text("changed, still not code")
    assert code_hash(tmp_path) == first
    (tmp_path / "sub" / "b.py").write_text("y = 3\n")
    assert code_hash(tmp_path) != first
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    assert code_hash(tmp_path) == first
    (tmp_path / "sub" / "b.py").rename(tmp_path / "b.py")  # same bytes, another file
    assert code_hash(tmp_path) != first
