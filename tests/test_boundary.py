"""Boundary detector, its losses and boundary refinement (fsttopo.models.boundary,
fsttopo.criteria.boundary, fsttopo.align.refine): fast, no corpus."""

import math

import pytest
import torch

from fsttopo.align.refine import (BoundaryRefiner, RefineOptions, enforce_order, pause_edges, refine_alignments,
                                  refine_times)
from fsttopo.criteria.boundary import boundary_bce_loss, boundary_window_loss, pad_boundaries
from fsttopo.data.alignment import TimedToken, UtteranceAlignment
from fsttopo.models.boundary import BoundaryConfig, BoundaryDetector, frames_to_seconds, seconds_to_frames

torch.set_num_threads(1)


def sec(frame: float) -> float:
    """Fractional feature frame -> seconds (frame t is the time (t + 0.5) * 10 ms)."""
    return float(frames_to_seconds(torch.tensor(frame, dtype=torch.float64)))


# ----------------------------------------------------------------------------------- losses

def test_window_loss_hand_computed():
    logits = torch.tensor([[0.0, 1.0, 2.0, 0.0, 5.0]])
    times, valid = pad_boundaries([[sec(1.25)]])  # between frames 1 (weight 0.75) and 2 (weight 0.25)
    loss = boundary_window_loss(logits, torch.tensor([5]), times, valid, radius=1)
    z = math.log(1 + math.e + math.e ** 2 + 1)   # softmax over frames 0..3
    assert loss.item() == pytest.approx(z - (0.75 * 1 + 0.25 * 2), abs=1e-6)


def test_window_loss_excludes_other_boundaries_and_padding():
    logits = torch.tensor([[0.0, 1.0, 2.0, 3.0, 0.0]])
    # boundary A on frame 1, boundary B on frame 3: A's window 0..3 drops frame 3 (B's target);
    # B's window 2..5 loses frame 5 (outside the utterance)
    times, valid = pad_boundaries([[sec(1.0), sec(3.0)]])
    loss = boundary_window_loss(logits, torch.tensor([5]), times, valid, radius=1)
    a = math.log(1 + math.e + math.e ** 2) - 1
    b = math.log(math.e ** 2 + math.e ** 3 + 1) - 3
    assert loss.item() == pytest.approx((a + b) / 2, abs=1e-6)


def test_bce_loss_hand_computed():
    logits = torch.tensor([[1.0, 0.0, -1.0, 7.0]])
    times, valid = pad_boundaries([[sec(0.0)]])
    loss = boundary_bce_loss(logits, torch.tensor([3]), times, valid)   # frame 3 is padding
    sp = lambda x: math.log1p(math.exp(x))  # noqa: E731
    # targets 1, 1/2, 0
    assert loss.item() == pytest.approx((sp(1) - 1 + sp(0) + sp(-1)) / 3, abs=1e-6)


def test_loss_rejects_bad_input():
    with pytest.raises(ValueError, match="finite"):
        pad_boundaries([[float("nan")]])
    with pytest.raises(ValueError, match="logits"):
        boundary_window_loss(torch.zeros(3), torch.tensor([3]), *pad_boundaries([[0.01]]))


# ----------------------------------------------------------------------------------- refinement

def _one(logits, aligned_frame, **options):
    logits = torch.as_tensor(logits, dtype=torch.float64)[None]
    times = torch.tensor([[sec(aligned_frame)]], dtype=torch.float64)
    out = refine_times(logits, torch.tensor([logits.shape[1]]), times, torch.ones(1, 1, dtype=torch.bool),
                       RefineOptions(**options))
    return float(seconds_to_frames(out)[0, 0])


def test_hard_refinement_finds_the_subframe_peak():
    t = torch.arange(30, dtype=torch.float64)
    logits = -2.0 * (t - 12.3) ** 2   # a parabola peaking between frames 12 and 13
    assert _one(logits, 10.0, window=0.05, sigma=10.0, mode="hard") == pytest.approx(12.3, abs=1e-4)


def test_soft_refinement_moves_to_the_peak():
    logits = torch.zeros(30)
    logits[13] = 60.0
    assert _one(logits, 11.0, window=0.05, sigma=10.0) == pytest.approx(13.0, abs=1e-6)
    # outside the window it cannot be reached
    assert _one(logits, 6.0, window=0.05, sigma=10.0) == pytest.approx(6.0, abs=0.2)


@pytest.mark.parametrize("mode", ["soft", "hard"])
def test_flat_logits_are_a_no_op(mode):
    # (hard: a peak on the utterance's first or last frame gets no parabola, so only inner frames)
    for frame in (11.0, 11.37, 0.2, 28.9) if mode == "soft" else (11.0, 11.37, 1.2, 27.9):
        assert _one(torch.zeros(30), frame, window=0.04, sigma=0.015, mode=mode) == pytest.approx(frame, abs=1e-9)


def test_enforce_order():
    times = torch.tensor([[0.10, 0.09, 0.20, 0.15, 0.5, 0.0]], dtype=torch.float64)
    valid = torch.tensor([[True, True, True, True, True, False]])
    gaps = torch.tensor([[0.0, 0.01, 0.0, 0.01, 0.0, 0.0]], dtype=torch.float64)
    out = enforce_order(times, valid, gaps, torch.tensor([0.3], dtype=torch.float64))
    assert out[0].tolist() == pytest.approx([0.10, 0.11, 0.20, 0.21, 0.30, 0.0])


def test_refined_alignment_keeps_word_order():
    words = [TimedToken("a", 2.10, 2.20), TimedToken("b", 2.20, 2.30)]   # the utterance starts at 2 s
    phones = [TimedToken("x", 2.10, 2.15), TimedToken("y", 2.15, 2.20), TimedToken("z", 2.20, 2.30)]
    ali = UtteranceAlignment("u", "a b", 0.5, words, phones, start=2.0)
    logits = torch.zeros(1, 50)
    logits[0, 7] = 80.0   # pulls the start of "a" (at frame 9.5) to frame 7
    logits[0, 17] = 80.0  # pulls the shared boundary a|b (19.5) to frame 17; the end of "b" stays
    out = refine_alignments([ali], logits, torch.tensor([50]), RefineOptions(window=0.03, sigma=1.0))[0]
    assert [w.start - 2.0 for w in out.words] == pytest.approx([sec(7.0), sec(17.0)], abs=1e-6)
    assert out.words[1].end == pytest.approx(2.30)
    ends = [w.end for w in out.words]
    assert ends[0] == pytest.approx(out.words[1].start)
    assert all(w.end - w.start >= 0.01 - 1e-9 for w in out.words)
    assert out.phones[0].start == out.words[0].start and out.phones[-1].end == out.words[-1].end
    assert all(p.start <= p.end for p in out.phones)
    # a peak that would put a word's end before its start is held back by the order
    logits = torch.zeros(1, 50)
    logits[0, 5] = 80.0
    short = UtteranceAlignment("v", "a", 0.5, [TimedToken("a", 0.095, 0.105)])   # frames 9..10
    out = refine_alignments([short], logits, torch.tensor([50]), RefineOptions(window=0.06, sigma=1.0))[0]
    assert out.words[0].end - out.words[0].start == pytest.approx(0.01)


def test_soft_refinement_gradcheck():
    torch.manual_seed(0)
    logits = torch.randn(2, 20, dtype=torch.float64, requires_grad=True)
    times = torch.tensor([[0.053, 0.101, 0.149], [0.021, 0.077, 0.0]], dtype=torch.float64, requires_grad=True)
    valid = torch.tensor([[True, True, True], [True, True, False]])
    options = RefineOptions(window=0.04, sigma=0.02, temperature=0.7)
    assert torch.autograd.gradcheck(
        lambda l, t: refine_times(l, torch.tensor([20, 15]), t, valid, options), (logits, times))


def test_refinement_rejects_bad_options():
    with pytest.raises(ValueError, match="sigma"):
        RefineOptions(sigma=0.0)
    with pytest.raises(ValueError, match="mode"):
        RefineOptions(mode="max")


def test_pause_edges_hand_worked():
    # words [0.1, 0.5] [0.5, 0.9] [1.2, 1.5] in 2 s; one word [0, 0.4] filling its 0.4 s (padded row)
    times = torch.tensor([[0.1, 0.5, 0.5, 0.9, 1.2, 1.5], [0.0, 0.4, 0, 0, 0, 0]], dtype=torch.float64)
    valid = torch.tensor([[True] * 6, [True, True] + [False] * 4])
    side, room = pause_edges(times, valid, torch.tensor([2.0, 0.4], dtype=torch.float64))
    assert side.tolist() == [[-1, 0, 0, 1, -1, 1], [-1, 1, 0, 0, 0, 0]]
    assert room.flatten().tolist() == pytest.approx([0.1, 0, 0, 0.3, 0.3, 0.5] + [0] * 6)


def test_pause_offsets_move_only_pause_edges_into_their_pause():
    words = [TimedToken("a", 0.10, 0.50), TimedToken("b", 0.50, 0.90), TimedToken("c", 0.92, 1.50)]
    ali = UtteranceAlignment("u", "a b c", 2.0, words)
    flat = torch.zeros(1, 200)
    # offsets over the dynamic range: at 15 dB halfway between the knots 10 and 20 dB
    options = RefineOptions(window=0.05, sigma=0.02, pause_knots_db=(10, 20), pause_start_offsets=(0.04, 0.02),
                            pause_end_offsets=(0.06, 0.04))
    out = refine_alignments([ali], flat, torch.tensor([200]), options, torch.tensor([15.0]))[0]
    # flat logits: each pause edge moves by its offset, at most the pause's length (20 ms between b
    # and c: b's end moves to 0.92 and c's start to 0.90, which the word order lifts to 0.92); the
    # shared boundary a|b stays
    assert [t for w in out.words for t in (w.start, w.end)] == pytest.approx(
        [0.07, 0.50, 0.50, 0.92, 0.92, 1.55], abs=1e-9)
    with pytest.raises(ValueError, match="ranges_db"):
        refine_alignments([ali], flat, torch.tensor([200]), options)
    # beyond the last knot the last offsets hold
    far = refine_alignments([ali], flat, torch.tensor([200]), options, torch.tensor([60.0]))[0]
    assert (far.words[0].start, far.words[2].end) == pytest.approx((0.08, 1.54), abs=1e-9)
    # without pause settings the same flat logits move nothing
    same = refine_alignments([ali], flat, torch.tensor([200]), RefineOptions(window=0.05, sigma=0.02))[0]
    assert [t for w in same.words for t in (w.start, w.end)] == pytest.approx(
        [t for w in words for t in (w.start, w.end)], abs=1e-9)


def test_dynamic_range_of_features():
    from fsttopo.data.features import compute_features, dynamic_range_db

    rng = torch.Generator().manual_seed(0)
    t = torch.arange(16000) / 16000
    tone = 0.3 * torch.sin(2 * math.pi * 440 * t) * (t > 0.5)           # 0.5 s of silence, then a tone
    noise = torch.randn(16000, generator=rng)
    clean = compute_features((tone + 1e-4 * noise).numpy(), 16000)
    noisy = compute_features((tone + 0.03 * noise).numpy(), 16000)
    assert dynamic_range_db(clean) > 40 > 15 > dynamic_range_db(noisy) > 0
    # the energy of a frame is the sum over the mel bins: a constant log-mel frame of 80 bins at
    # log(1) and one at log(100) are 20 dB apart
    frames = torch.cat([torch.zeros(50, 80), torch.full((50, 80), math.log(100.0))])
    assert dynamic_range_db(frames, 0.1, 0.9) == pytest.approx(20.0, abs=1e-6)
    with pytest.raises(ValueError, match="NaN"):
        dynamic_range_db(torch.full((3, 80), float("nan")))


def test_decay_asymmetry_of_features():
    from fsttopo.data.features import decay_asymmetry

    # frame energies in dB (80 equal log-mel bins; 10 log10(80) added to every frame cancels in
    # the slopes): a burst that starts and stops abruptly is symmetric; the same burst dying away
    # at 120 dB/s (60 dB in 0.5 s, a room of RT60 0.5 s) falls 6 dB per 5 frames, while the top 2 %
    # of its rises (6 of 292 slopes, around the one onset step smoothed over 3 frames) average 20
    def frames(db):
        return torch.tensor(db, dtype=torch.float64)[:, None].expand(-1, 80) * (math.log(10) / 10)

    burst = [0.0] * 100 + [60.0] * 100 + [0.0] * 100
    assert decay_asymmetry(frames(burst)) == pytest.approx(1.0, abs=1e-9)
    decaying = [0.0] * 100 + [60.0] * 100 + [max(0.0, 60.0 - 1.2 * k) for k in range(100)]
    assert decay_asymmetry(frames(decaying)) == pytest.approx(20.0 / 6.0, rel=0.05)
    assert decay_asymmetry(torch.zeros(7, 80)) == 1.0          # too short to tell
    assert decay_asymmetry(torch.zeros(50, 80)) == 1.0         # constant energy
    with pytest.raises(ValueError, match="NaN"):
        decay_asymmetry(torch.full((20, 80), float("nan")))


def test_onset_shifts_move_word_starts_and_junctions_not_ends_before_pauses():
    words = [TimedToken("a", 0.10, 0.50), TimedToken("b", 0.50, 0.90), TimedToken("c", 1.20, 1.50)]
    ali = UtteranceAlignment("u", "a b c", 2.0, words)
    flat = torch.zeros(1, 200)
    options = RefineOptions(window=0.05, sigma=0.02, reverb_knots=(1.5, 3.0), reverb_onset_shifts=(0.0, -0.03))
    assert options.has_reverb_settings and not options.has_pause_settings
    # asymmetry 2.25, halfway between the knots: every start and the junction a|b 15 ms earlier
    out = refine_alignments([ali], flat, torch.tensor([200]), options, None, torch.tensor([2.25]))[0]
    assert [t for w in out.words for t in (w.start, w.end)] == pytest.approx(
        [0.085, 0.485, 0.485, 0.90, 1.185, 1.50], abs=1e-9)
    dry = refine_alignments([ali], flat, torch.tensor([200]), options, None, torch.tensor([1.0]))[0]
    assert [t for w in dry.words for t in (w.start, w.end)] == pytest.approx(
        [t for w in words for t in (w.start, w.end)], abs=1e-9)
    with pytest.raises(ValueError, match="asymmetries"):
        refine_alignments([ali], flat, torch.tensor([200]), options)
    assert RefineOptions(**options.to_dict()) == options
    for bad in (dict(reverb_knots=(2.0, 1.5), reverb_onset_shifts=(0.0, -0.01)),
                dict(reverb_knots=(1.5,), reverb_onset_shifts=(0.0, -0.01)),
                dict(reverb_knots=(1.5,), reverb_onset_shifts=(-0.2,))):
        with pytest.raises(ValueError, match="reverb"):
            RefineOptions(**bad)


def test_pause_window_reaches_a_peak_the_junction_window_does_not():
    # a peak 70 ms after each of two boundaries: the end of "b" (before a pause) reaches it with the
    # pause window; the shared boundary a|b, with the ordinary 30 ms window, stays where it was
    words = [TimedToken("a", 0.005, 0.505), TimedToken("b", 0.505, 1.005)]
    ali = UtteranceAlignment("u", "a b", 2.0, words)
    logits = torch.zeros(1, 200)
    logits[0, 57] = logits[0, 107] = 50.0
    options = RefineOptions(window=0.03, sigma=1.0, mode="hard", pause_window=0.1, pause_sigma=1.0)
    out = refine_alignments([ali], logits, torch.tensor([200]), options)[0]
    assert out.words[0].end == pytest.approx(0.505, abs=0.006)
    assert out.words[1].end == pytest.approx(sec(107.0), abs=1e-6)


def test_pause_options_round_trip_and_checks():
    options = RefineOptions(window=0.04, pause_window=0.12, pause_sigma=0.05, pause_knots_db=[0, 10],
                            pause_start_offsets=[0, -0.01], pause_end_offsets=[0.08, 0.02])
    assert options.pause_knots_db == (0.0, 10.0) and options.has_pause_settings
    detector = BoundaryDetector(BoundaryConfig(channels=8, dilations=(1,)))
    assert BoundaryRefiner.from_dict(BoundaryRefiner(detector, options).to_dict()).options == options
    old = {k: v for k, v in RefineOptions(window=0.04).to_dict().items() if not k.startswith("pause")}
    assert not RefineOptions(**old).has_pause_settings        # files written before pause settings
    for bad in ({"pause_end_offsets": (-0.06,)}, {"pause_start_offsets": (0.3,)}, {"pause_window": 0.0},
                {"pause_sigma": float("nan")}, {"pause_knots_db": (10, 0), "pause_end_offsets": (0, 0),
                                                 "pause_start_offsets": (0, 0)},
                {"pause_knots_db": (0, 10)}, {"pause_end_offsets": ()}):
        with pytest.raises(ValueError, match="pause_"):
            RefineOptions(**bad)
    with pytest.raises(ValueError, match="pause_side"):
        refine_times(torch.zeros(1, 20), torch.tensor([20]), torch.tensor([[0.05]]), torch.tensor([[True]]),
                     options, torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, 2))


# ----------------------------------------------------------------------------------- detector

def test_detector_padding_and_level():
    torch.manual_seed(0)
    det = BoundaryDetector(BoundaryConfig(channels=16, dilations=(1, 2))).eval()
    a, b = torch.randn(30, 80), torch.randn(45, 80)
    x = torch.zeros(2, 45, 80)
    x[0, :30], x[1] = a, b
    batched = det(x, torch.tensor([30, 45]))
    alone = det(a[None], torch.tensor([30]))
    assert torch.allclose(batched[0, :30], alone[0], atol=1e-5)
    assert torch.isinf(batched[0, 30:]).all()
    louder = det(a[None] + 3.0, torch.tensor([30]))   # + 3 nats of log-mel = a gain change
    assert torch.allclose(louder, alone, atol=1e-4)
    with pytest.raises(ValueError, match="features"):
        det(torch.zeros(1, 10, 40), torch.tensor([10]))


def test_default_detector_size():
    assert 50_000 <= BoundaryDetector().num_parameters <= 200_000


def test_trained_detector_finds_the_reference_boundaries():
    """The loss falls on a tiny constructed batch, and refining boundaries that are 2 frames off
    puts them on the reference (segments of constant random spectra, boundaries between frames)."""
    torch.manual_seed(0)
    T = 80
    edges = [[12, 30, 47, 66], [9, 25, 52]]        # a new segment starts on these frames
    feats = torch.zeros(2, T, 80)
    for i, e in enumerate(edges):
        for lo, hi in zip([0] + e, e + [T]):
            feats[i, lo:hi] = torch.randn(80) * 2
    feats += 0.05 * torch.randn_like(feats)
    lengths = torch.tensor([T, 70])
    # the change between frames k - 1 and k is at frame position k - 0.5
    ref = [[sec(k - 0.5) for k in e] for e in edges]
    times, valid = pad_boundaries(ref)
    det = BoundaryDetector(BoundaryConfig(channels=32, dilations=(1, 2), dropout=0.0))
    opt = torch.optim.Adam(det.parameters(), lr=3e-3)
    losses = []
    for _ in range(150):
        loss = boundary_window_loss(det(feats, lengths), lengths, times, valid, radius=4)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    det.eval()
    with torch.no_grad():
        logits = det(feats, lengths)
    off = times + 0.02 * torch.tensor([[1, -1, 1, -1], [-1, 1, 1, 0]])
    refined = refine_times(logits, lengths, off, valid, RefineOptions(window=0.04, sigma=0.05))
    assert (refined - times)[valid].abs().max().item() < 0.003


# ----------------------------------------------------------------------------------- model file + Aligner

def test_model_file_carries_the_detector_and_the_aligner_refines(tmp_path):
    from fsttopo.align.refine import BoundaryRefiner
    from fsttopo.aligner import Aligner
    from fsttopo.data.lexicon import Lexicon
    from fsttopo.models import AlignmentModel, ModelConfig
    from fsttopo.training import ObjectiveConfig, save_model
    from fsttopo.training.checkpoint import read_model_file

    torch.manual_seed(0)
    lexicon = Lexicon.from_cmudict()
    model = AlignmentModel(ModelConfig(num_tokens=lexicon.num_tokens, d_model=32, num_layers=1, num_heads=2,
                                       ffn_dim=64, conv_kernel=3))
    objective = ObjectiveConfig(topology="hmm")
    refiner = BoundaryRefiner(BoundaryDetector(BoundaryConfig(channels=16, dilations=(1,))),
                              RefineOptions(window=0.04, sigma=0.02))
    save_model(tmp_path / "m.pt", model, objective, lexicon.tokens, boundary_refiner=refiner)
    save_model(tmp_path / "plain.pt", model, objective, lexicon.tokens)
    f = read_model_file(tmp_path / "m.pt")
    assert f.boundary_refiner is not None and f.boundary_refiner.options == refiner.options
    assert read_model_file(tmp_path / "plain.pt").boundary_refiner is None
    feats, text = [torch.randn(300, 80), torch.randn(200, 80)], ["hello world", "a test"]
    aligner = Aligner.from_file(tmp_path / "m.pt", lexicon)
    plain = aligner.align(feats, text, method="viterbi", offsets=[0.0, 3.0]).alignments
    refined = aligner.align(feats, text, method="viterbi", offsets=[0.0, 3.0], refine_boundaries=True).alignments
    expected = f.boundary_refiner(plain, feats)
    for r, e, p in zip(refined, expected, plain):
        assert [x for w in r.words for x in (w.start, w.end)] == pytest.approx(
            [x for w in e.words for x in (w.start, w.end)])
        assert all(abs(a.start - b.start) <= 0.04 + 1e-9 for a, b in zip(r.words, p.words))
        assert all(a.end - a.start >= 0.01 - 1e-9 for a in r.words)
    assert refined[1].start == 3.0
    # stored as a default, and refused without a detector
    save_model(tmp_path / "on.pt", model, objective, lexicon.tokens, boundary_refiner=refiner,
               align_options={"refine_boundaries": True})
    on = Aligner.from_file(tmp_path / "on.pt", lexicon)
    assert [w.start for w in on.align(feats, text, method="viterbi").alignments[0].words] == pytest.approx(
        [w.start for w in aligner.align(feats, text, method="viterbi", refine_boundaries=True).alignments[0].words])
    with pytest.raises(ValueError, match="no boundary detector"):
        Aligner.from_file(tmp_path / "plain.pt", lexicon).align(feats, text, refine_boundaries=True)
    with pytest.raises(ValueError, match="refine_boundaries must be true or false"):
        aligner.align(feats, text, refine_boundaries=1)
    with pytest.raises(ValueError, match="needs a boundary detector"):
        Aligner(model, objective, lexicon.tokens, lexicon, {"refine_boundaries": True})


def test_speech_span_hand_worked():
    from fsttopo.align.refine import speech_span

    ali = UtteranceAlignment("u", "a b", 10.0, [TimedToken("a", 4.0, 4.5), TimedToken("b", 4.6, 5.25)], start=2.0)
    # words 2.0-3.25 s after the features start, 1 s of context: frames 100 .. 425
    assert speech_span(ali, 1000) == (100, 425)
    assert speech_span(ali, 300) == (100, 300)  # cut at the features' end
    assert speech_span(ali, 1000, context=3.0) == (0, 625)
    assert speech_span(UtteranceAlignment("e", "", 1.0, []), 70) == (0, 70)


@pytest.mark.parametrize("noise_seconds", [0.0, 0.5, 60.0])
def test_refinement_does_not_depend_on_the_noise_around_the_words(noise_seconds):
    """The detector normalizes by the mean of its input: a minute of noise on both sides moved
    it, and the refined boundaries with it (tests/test_silence.py). With DETECTOR_CONTEXT of
    features around the words, what lies further out changes nothing."""
    torch.manual_seed(0)
    refiner = BoundaryRefiner(BoundaryDetector(BoundaryConfig(channels=16, dilations=(1, 2))),
                              RefineOptions(window=0.08, sigma=0.03, pause_window=0.16))
    speech = torch.randn(500, 80) + 2.0
    quiet = torch.randn(150, 80) - 6.0  # 1.5 s before and after: more than the context
    words = [TimedToken("a", 1.62, 2.01), TimedToken("b", 2.33, 2.9), TimedToken("c", 2.9, 3.41)]
    base = UtteranceAlignment("u", "a b c", 8.0, words)
    plain = refiner([base], [torch.cat([quiet, speech, quiet])])[0]
    pad = round(noise_seconds * 100)
    noise = torch.randn(pad, 80) - 6.0
    shifted = UtteranceAlignment("u", "a b c", 8.0 + 2 * noise_seconds,
                                 [TimedToken(w.symbol, w.start + pad / 100, w.end + pad / 100) for w in words])
    padded = refiner([shifted], [torch.cat([noise, quiet, speech, quiet, noise.flip(0)])])[0]
    got = [t - pad / 100 for w in padded.words for t in (w.start, w.end)]
    assert got == pytest.approx([t for w in plain.words for t in (w.start, w.end)], abs=1e-9)
    assert [(w.start, w.end) for w in plain.words] != [(w.start, w.end) for w in words]  # it did refine


def test_a_gap_holding_untranscribed_speech_takes_no_pause_offsets():
    """Flat logits leave every boundary where it is, so only the pause offsets (0.1 s into each
    pause) move them: with an untranscribed span between the words, a's end and b's start border
    speech, not a pause, and stay."""
    from dataclasses import replace

    from fsttopo.align.refine import refine_word_times

    options = RefineOptions(pause_window=0.05, pause_sigma=0.02, pause_knots_db=(0.0,), pause_start_offsets=(0.1,),
                            pause_end_offsets=(0.1,), min_word=0.01, shift=0.0)
    words = [TimedToken("a", 0.3, 0.7), TimedToken("b", 1.2, 1.6)]
    plain = UtteranceAlignment("u", "a b", 2.0, words)
    logits, lengths = torch.zeros(1, 200), torch.tensor([200])
    for ali, expected in ((plain, [0.2, 0.8, 1.1, 1.7]), (replace(plain, untranscribed=[(0.8, 1.1)]), [0.2, 0.7, 1.2, 1.7])):
        refined = refine_word_times([ali], logits, lengths, options)[1]
        assert refined[0].tolist() == pytest.approx(expected, abs=1e-9), ali.untranscribed
