"""Long recordings (fsttopo.inference.long_form): the windowed encoder, the beam Viterbi anchors,
pieces aligned and merged as the whole utterance would be, and transcript problems found before
the model runs."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
import torch

from fsttopo.engine import viterbi
from fsttopo.inference import long_form
from fsttopo.inference.beam_viterbi import beam_viterbi_arcs
from fsttopo.inference.chunked import encode_chunked, window_plan
from fsttopo.inference.transcript_check import min_model_frames
from fsttopo.models import AlignmentModel, ModelConfig
from fsttopo.resources import example_paths
from fsttopo.topology import ctc_graph, hmm_graph


@lru_cache(maxsize=1)
def _aligner():
    from fsttopo.files import load_aligner

    return load_aligner()


@lru_cache(maxsize=1)
def _example(repeats: int):
    """The shipped example repeated: features ``[T', 80]`` and the transcript."""
    from fsttopo.aligner import compute_features

    import soundfile

    audio, text, _ = example_paths()

    samples, rate = soundfile.read(str(audio), dtype="float32")
    return compute_features(np.tile(samples, repeats), rate), " ".join([text.read_text().strip()] * repeats)


def test_window_plan_covers_every_frame_once():
    plan = window_plan(1001, 300, 50)
    assert plan[:, 1].tolist() == [0, 300, 600, 900] and plan[-1, 2] == 1001
    assert plan[:, 2].tolist() == [300, 600, 900, 1001]
    # every window spans 300 + 2 x 50 frames: the edges' missing context moves to the other side
    assert plan[:, 0].tolist() == [0, 250, 550, 601] and plan[:, 3].tolist() == [400, 650, 950, 1001]
    assert window_plan(150, 300, 50).tolist() == [[0, 0, 150, 150]]


def test_windows_without_enough_sound_grow_until_they_hold_it():
    """Two windows over 1640 frames ([0, 1500) and [140, 1640), cores [0, 1000) and [1000, 1640));
    a window with fewer than 60 active frames grows by the least e on each side that gives it 60,
    what an edge takes away going to the other side."""
    active = torch.zeros(1640, dtype=torch.bool)
    active[750:890] = True  # both windows hold these 140 frames
    plan = window_plan(1640, 1000, 250, active, min_active=60)
    assert plan.tolist() == window_plan(1640, 1000, 250).tolist() == [[0, 0, 1000, 1500], [140, 1000, 1640, 1640]]
    active[:] = False
    active[1500:1540] = True
    active[1600:] = True  # window 0 needs [1500, 1620): 2e = 120; window 1 holds all 80
    assert plan_rows(window_plan(1640, 1000, 250, active, min_active=60)) == [(0, 1620), (140, 1640)]
    active[1500:1540] = False  # 40 active frames: both grow as far as they may
    assert plan_rows(window_plan(1640, 1000, 250, active, min_active=60)) == [(0, 1640), (0, 1640)]
    assert plan_rows(window_plan(1640, 1000, 250, active, min_active=60, max_span=1560)) == [(0, 1560), (80, 1640)]
    with pytest.raises(ValueError, match="one flag per model frame"):
        window_plan(1640, 1000, 250, active[:-1], min_active=60)


def plan_rows(plan):
    return [(int(lo), int(hi)) for lo, _, _, hi in plan]


def test_stitched_encoder_equals_full_pass_when_windows_see_everything():
    """Bookkeeping: windows starting on the 4x grid, cores stitched, the shorter last window padded."""
    torch.manual_seed(0)
    model = AlignmentModel(ModelConfig(num_tokens=6, d_model=32, num_layers=2, num_heads=2, ffn_dim=64,
                                       frontend_channels=8)).eval()
    feats = torch.randn(603, 80)
    with torch.no_grad():
        full = model(feats[None], torch.tensor([603])).log_probs[0]
    stitched = encode_chunked(model, feats, core=40, context=200, batch_size=3)
    assert stitched.shape == full.shape
    torch.testing.assert_close(stitched, full, atol=2e-5, rtol=0)


def test_stitched_encoder_is_close_to_full_pass_on_speech():
    """The shipped model on 34 s of speech in 10 s windows with 5 s of context."""
    aligner = _aligner()
    feats, _ = _example(6)
    full, _ = aligner.posteriors([feats])
    stitched = encode_chunked(aligner.model, feats, core=250, context=125)
    assert stitched.shape == full[0].shape
    diff = (stitched.exp() - full[0].exp()).abs()  # full attention: not exact (docs/alignment.md)
    assert float(diff.max()) < 0.1 and float(diff.mean()) < 1e-3


@pytest.mark.parametrize("topology", ["hmm", "ctc"])
def test_beam_viterbi_equals_exact_viterbi(topology):
    torch.manual_seed(1)
    T, V, S = 400, 8, 60
    labels = torch.randint(1, V, (S,)).tolist()
    words = [labels[i: i + 3] for i in range(0, S, 3)]
    graphs = hmm_graph([words], silence=0) if topology == "hmm" else ctc_graph([labels])
    # speech-like scores: each frame favours the label the diagonal path would emit
    scores = torch.randn(T, V).log_softmax(-1)
    scores[torch.arange(T), torch.tensor(labels)[torch.arange(T) * S // T]] += 3.0
    exact = viterbi(scores[None], [T], graphs).arcs[0]
    assert torch.equal(beam_viterbi_arcs(scores, graphs, beam=30.0), exact)


def test_plan_pieces_partitions_words_and_cuts_in_pauses():
    K = 200
    starts = torch.arange(K) * 10
    ends = starts + 7 - (torch.arange(K) % 5 == 0).long() * 4  # every fifth pause is long (7 frames)
    pieces = long_form.plan_pieces(starts, ends, 2000, piece=300, context_words=2)
    assert pieces[0].core_first == 0 and pieces[0].first == 0 and pieces[-1].core_last == pieces[-1].last == K
    assert all(a.core_last == b.core_first and a.core_end == b.core_start for a, b in zip(pieces, pieces[1:]))
    for p in pieces[1:]:  # the long pauses follow words 0, 5, 10, ...: cut in them, 2 words of context
        assert p.core_first % 5 == 1 and p.first == p.core_first - 2
        assert ends[p.core_first - 1] <= p.core_start <= starts[p.core_first]
        assert ends[p.first - 1] <= p.start <= starts[p.first]
    assert all(150 <= p.core_end - p.core_start <= 450 for p in pieces)


def _boundaries(alignment) -> np.ndarray:
    return np.array([(w.start, w.end) for w in alignment.words])


@pytest.mark.parametrize("variants", [False, True])
def test_segmented_alignment_equals_unsegmented(variants):
    """67 s of the example repeated: posterior method on 4 phases, in 15 s pieces and whole; with
    ``variants`` each piece chooses its words' pronunciations (no penalty, so some switch), as the
    whole does."""
    aligner = _aligner()
    feats, text = _example(12)
    options = aligner._check_options({**aligner.align_options, "pronunciation_variants": variants,
                                      "variant_penalty": 0.0})
    options.pop("refine_boundaries", None)  # needs features; align_encoded has only log-probs
    encoded = aligner.encode([feats], options["phases"])
    duration = feats.shape[0] * 0.01
    whole_out = aligner.align_encoded(encoded, [text], [duration], **options)
    whole = whole_out.alignments[0]
    first = aligner._encode_texts([text])[0]
    switched = sum(w.phones != f.phones for w, f in zip(whole_out.transcripts[0].words, first.words))
    assert (switched > 0) == variants
    config = long_form.LongFormConfig(piece_seconds=15.0)
    pieces = long_form.align_long_encoded(aligner, [lp[0, :n[0]] for lp, n in encoded], text, duration,
                                          options=options, config=config)
    assert [w.symbol for w in pieces.words] == [w.symbol for w in whole.words]
    assert [p.symbol for p in pieces.phones] == [p.symbol for p in whole.phones]
    assert np.abs(_boundaries(pieces) - _boundaries(whole)).max() < 1e-3
    assert abs(pieces.confidence - whole.confidence) < 0.02  # pieces averaged, not frames (docs)


def test_align_routes_long_utterances(monkeypatch):
    aligner = _aligner()
    feats, text = _example(6)
    monkeypatch.setattr(long_form, "LONG_FORM", long_form.LongFormConfig(min_seconds=20.0, piece_seconds=10.0,
                                                                         window_seconds=10.0, context_seconds=2.0))
    called = []
    real = long_form.align_long_encoded
    monkeypatch.setattr(long_form, "align_long_encoded", lambda *a, **k: called.append(1) or real(*a, **k))
    out = aligner.align([feats, feats[:500]], [text, "you know some time"], offsets=[10.0, 0.0], method="viterbi",
                        phases=1)  # the posterior method on 4 phases: test_segmented_alignment_equals_unsegmented
    assert called == [1]
    ali = out.alignments[0]
    assert ali.start == 10.0 and len(ali.words) == len(text.split()) and ali.words[0].start >= 10.0
    assert out.log_probs.shape[:2] == (2, -(-feats.shape[0] // 4)) and out.lengths[1] == 125


def test_min_model_frames():
    assert min_model_frames([[1, 2], [2, 3]], "hmm") == 4
    assert min_model_frames([[1, 2], [2, 3]], "ctc") == 5  # the blank between the two 2s
    assert min_model_frames([[1, 2], [2, 3]], "ctc-no-forced-blank") == 4


def test_transcript_problems_are_reported_before_the_model_runs(monkeypatch, tmp_path):
    aligner = _aligner()

    def no_model(*args, **kwargs):
        raise AssertionError("the model ran")

    monkeypatch.setattr(aligner.model, "forward", no_model)
    feats, text = _example(1)
    with pytest.raises(ValueError, match="qwzxv"):
        aligner.align([feats], [text + " qwzxv"], oov="error")
    with pytest.raises(ValueError, match="too long for the audio"):
        aligner.align([feats[:100]], [text])

    import fsttopo.files as files
    from fsttopo.inference import recording_check

    monkeypatch.setattr(recording_check, "checked_features", no_model)  # reading the audio's features
    audio, _, _ = example_paths()
    with pytest.raises(ValueError, match="too long for the audio"):
        files.align_audio_file(aligner, audio, " ".join([text] * 10), tmp_path)
    with pytest.raises(ValueError, match="qwzxv"):
        files.align_audio_file(aligner, audio, "qwzxv", tmp_path, oov="error")
    assert not list(tmp_path.iterdir())


def test_plot_of_a_long_recording_shows_its_first_minute():
    from fsttopo.data.alignment import TimedToken, UtteranceAlignment
    from fsttopo.files import _first_seconds

    ali = UtteranceAlignment("u", "a b", 90.0, [TimedToken("a", 10.0, 10.5), TimedToken("b", 70.0, 70.5)],
                             [TimedToken("ah", 10.0, 10.5), TimedToken("b", 70.0, 70.5)])
    feats, log_probs, part = _first_seconds(torch.zeros(9000, 80), torch.zeros(2250, 40), ali, 0.04)
    assert feats.shape[0] == 6000 and log_probs.shape[0] == 1500 and part.duration == 60.0
    assert [w.symbol for w in part.words] == ["a"] and [p.symbol for p in part.phones] == ["ah"]


@pytest.mark.parametrize("extra", [0, 77, 131])
def test_features_in_chunks_equal_one_pass(extra):
    from lhotse import Fbank, FbankConfig

    from fsttopo.data.features import _extract_in_chunks

    x = np.random.RandomState(0).randn(16000 * 7 + extra).astype(np.float32) * 0.1
    extract = Fbank(FbankConfig(num_mel_bins=80)).extract
    whole = np.asarray(extract(x, 16000))
    chunked = _extract_in_chunks(extract, x, chunk=150)
    assert chunked.shape == whole.shape
    np.testing.assert_allclose(chunked, whole, atol=1e-5, rtol=0)
