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
