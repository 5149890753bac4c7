"""The offset fits of the boundary recipe (recipes/tts/train_boundary.py ``fit_pause_offsets``,
``fit_onset_shifts``): they recover a known dynamic-range-dependent bias at pause edges and a
decay-asymmetry-dependent delay of onsets from constructed alignments."""

import pytest
import torch

from fsttopo.align.refine import RefineOptions, refine_alignments
from fsttopo.data.alignment import TimedToken, UtteranceAlignment
from recipes.tts.train_boundary import fit_onset_shifts, fit_pause_offsets


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
    dry = torch.ones(20, dtype=torch.float64)                                  # decay asymmetries
    inputs = {"dev": (torch.zeros(20, 300), torch.full((20,), 300), ranges, dry)}  # flat logits: refinement moves nothing
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


def _reverberant(i: int, delay: float) -> tuple[UtteranceAlignment, UtteranceAlignment]:
    # a junction (a|b) and a pause (b | c): the hypothesis has every word start and the junction
    # ``delay`` late and the word ends before the pauses where they are
    ref = [(0.30, 0.70), (0.70, 1.10), (1.50, 1.90)]
    hyp = [(0.30 + delay, 0.70 + delay), (0.70 + delay, 1.10), (1.50 + delay, 1.90)]
    mk = lambda spans: UtteranceAlignment(f"u{i}", "a b c", 2.5, [TimedToken(w, s, e) for w, (s, e) in zip("abc", spans)])  # noqa: E731
    return mk(hyp), mk(ref)


def test_onset_fit_recovers_a_reverberant_delay_and_leaves_dry_audio_alone():
    # asymmetry 3: onsets 30 ms late; asymmetry 1 (dry): onsets 10 ms late, which the fit leaves to
    # the ordinary settings (its first knot stays 0); asymmetry 2.25: halfway
    asym = torch.tensor([3.0, 1.0] * 10, dtype=torch.float64)
    pairs = [_reverberant(i, 0.03 if a == 3.0 else 0.01) for i, a in enumerate(asym.tolist())]
    alis = {"dev": [h for h, _ in pairs]}
    refs = {"dev": {r.utterance_id: r for _, r in pairs}}
    inputs = {"dev": (torch.zeros(20, 250), torch.full((20,), 250), torch.full((20,), 45.0, dtype=torch.float64), asym)}
    options = fit_onset_shifts(alis, refs, inputs, RefineOptions(window=0.03, sigma=0.02), knots=(1.5, 3.0),
                               min_weight=5)
    assert options.reverb_knots == (1.5, 3.0)
    assert options.reverb_onset_shifts == pytest.approx((0.0, -0.03), abs=1e-4)
    out = refine_alignments(alis["dev"], *inputs["dev"][:2], options, *inputs["dev"][2:])
    for a, (_, ref), x in zip(out, pairs, asym.tolist()):
        left = 0.0 if x == 3.0 else 0.01
        assert [t for w in a.words for t in (w.start, w.end)] == pytest.approx(
            [0.30 + left, 0.70 + left, 0.70 + left, 1.10, 1.50 + left, 1.90], abs=1e-4)
    # onsets that come early are not moved later: the shifts only ever advance onsets
    early = [_reverberant(i, -0.02) for i in range(20)]
    fitted = fit_onset_shifts({"dev": [h for h, _ in early]}, {"dev": {r.utterance_id: r for _, r in early}},
                              {"dev": (*inputs["dev"][:3], torch.full((20,), 3.0, dtype=torch.float64))},
                              RefineOptions(window=0.03, sigma=0.02), knots=(1.5, 3.0), min_weight=5)
    assert fitted.reverb_onset_shifts == (0.0, 0.0)


def test_tuning_inputs_in_chunks_equal_the_refiners_on_the_whole_split():
    """train_boundary tunes on what the aligner's refiner computes (BoundaryRefiner.inputs, the
    detector on the words with their context), 16 utterances at a time, then concatenated."""
    from fsttopo.align.refine import BoundaryRefiner
    from fsttopo.models.boundary import BoundaryConfig, BoundaryDetector
    from recipes.tts.train_boundary import refiner_inputs

    torch.manual_seed(0)
    refiner = BoundaryRefiner(BoundaryDetector(BoundaryConfig(channels=16, dilations=(1, 2))))
    alis, feats = [], {}
    for i in range(37):  # three chunks of different padded lengths
        frames = 120 + 7 * i
        feats[f"u{i}"] = torch.randn(frames, 80)
        alis.append(UtteranceAlignment(f"u{i}", "a b", frames / 100,
                                       [TimedToken("a", 0.1, 0.5), TimedToken("b", 0.5, frames / 100 - 0.1)]))
    got = refiner_inputs(refiner, alis, feats)
    whole = refiner.inputs(alis, [feats[a.utterance_id] for a in alis])
    for g, w in zip(got, whole):
        torch.testing.assert_close(g, w, rtol=0, atol=1e-5)
    options = RefineOptions(window=0.06, sigma=0.02)
    chunked = refine_alignments(alis, got[0], got[1], options, got[2], got[3])
    direct = BoundaryRefiner(refiner.detector, options)(alis, [feats[a.utterance_id] for a in alis])
    # padded to other lengths, the detector's float32 sums differ in the last bits
    assert [t for a in chunked for w in a.words for t in (w.start, w.end)] == pytest.approx(
        [t for a in direct for w in a.words for t in (w.start, w.end)], abs=1e-6)
