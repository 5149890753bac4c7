"""The pause-offset fit of the boundary recipe (recipes/tts/train_boundary.py ``fit_pause_offsets``):
it recovers a known dynamic-range-dependent bias at pause edges from constructed alignments."""

import pytest
import torch

from fsttopo.align.refine import RefineOptions, refine_alignments
from fsttopo.data.alignment import TimedToken, UtteranceAlignment
from recipes.tts.train_boundary import fit_pause_offsets


def _utterance(i: int, end_bias: float, start_bias: float) -> tuple[UtteranceAlignment, UtteranceAlignment]:
    # three words with pauses between them: reference, and a hypothesis whose word ends before the
    # pauses come end_bias early and whose starts after them start_bias late; junction-free
    ref = [(0.30, 0.70), (1.00, 1.40), (1.80, 2.20)]
    hyp = [(s + start_bias, e - end_bias) for s, e in ref]
    mk = lambda spans: UtteranceAlignment(f"u{i}", "a b c", 3.0, [TimedToken(w, s, e) for w, (s, e) in zip("abc", spans)])  # noqa: E731
    return mk(hyp), mk(ref)


def test_fit_recovers_the_bias_at_each_dynamic_range():
    # 5 dB: ends 60 ms early, starts 20 ms late; 40 dB: ends 10 ms early, starts 15 ms early (which
    # the fit leaves alone: its offsets only move boundaries into their pauses)
    pairs = [_utterance(i, 0.06, 0.02) if i % 2 == 0 else _utterance(i, 0.01, -0.015) for i in range(20)]
    alis = {"dev": [h for h, _ in pairs]}
    refs = {"dev": {r.utterance_id: r for _, r in pairs}}
    ranges = torch.tensor([5.0 if i % 2 == 0 else 40.0 for i in range(20)], dtype=torch.float64)
    inputs = {"dev": (torch.zeros(20, 300), torch.full((20,), 300), ranges)}   # flat logits: refinement moves nothing
    options = fit_pause_offsets(alis, refs, inputs, RefineOptions(window=0.03, sigma=0.02), knots_db=(5.0, 40.0),
                                min_weight=5)
    assert options.pause_knots_db == (5.0, 40.0)
    assert options.pause_end_offsets == pytest.approx((0.06, 0.01), abs=1e-4)
    assert options.pause_start_offsets == pytest.approx((0.02, 0.0), abs=1e-4)
    # the fitted options put the boundaries back on their references, but for the early starts
    out = refine_alignments(alis["dev"], *inputs["dev"][:2], options, ranges)
    for i, a in enumerate(out):
        ref = refs["dev"][a.utterance_id]
        assert [w.end for w in a.words] == pytest.approx([w.end for w in ref.words], abs=1e-4)
        assert [w.start for w in a.words] == pytest.approx([w.start - (0.015 if i % 2 else 0) for w in ref.words],
                                                           abs=1e-4)
