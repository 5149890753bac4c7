"""The aligner end to end on a small random model: features, methods, exports (independent checks
of the shipped model live in test_shipped_model.py)."""

import json

import numpy as np
import pytest
import torch

from fsttopo.aligner import ALIGN_OPTIONS, Aligner, compute_features
from fsttopo.files import align_audio_file
from fsttopo.data.export import read_textgrid
from fsttopo.data.lexicon import Lexicon
from fsttopo.models import AlignmentModel, ModelConfig
from fsttopo.training import ObjectiveConfig, save_model


@pytest.fixture(scope="module")
def lexicon():
    return Lexicon.from_cmudict()


def random_aligner(lexicon, topology):
    torch.manual_seed(0)
    model = AlignmentModel(ModelConfig(num_tokens=lexicon.num_tokens, d_model=32, num_layers=1, num_heads=2,
                                       ffn_dim=64, conv_kernel=3))
    return Aligner(model, ObjectiveConfig(topology=topology, transition_scale=0.3 if topology == "hmm" else 0.0),
                   lexicon.tokens, lexicon)


def test_compute_features_resamples_and_matches_frame_count(tmp_path):
    import soundfile

    samples = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1  # 1 s at 8 kHz
    soundfile.write(tmp_path / "a.wav", samples, 8000)
    feats = compute_features(tmp_path / "a.wav")
    assert feats.shape[1] == 80 and abs(feats.shape[0] - 100) <= 2  # 10 ms frames
    with pytest.raises(ValueError, match="sampling_rate is required"):
        compute_features(samples)


@pytest.mark.parametrize("topology,method", [("hmm", "viterbi"), ("ctc", "viterbi"),
                                             ("ctc-no-forced-blank", "viterbi"), ("hmm", "posterior"),
                                             ("ctc", "posterior"), ("ctc-no-forced-blank", "posterior"),
                                             ("ctc", "gradscore"),
                                             ("ctc", "gradscore-ext")])
def test_alignment_covers_every_word_in_order(lexicon, topology, method):
    aligner = random_aligner(lexicon, topology)
    feats = [torch.randn(300, 80), torch.randn(220, 80)]
    texts = ["hello world", "this is a test"]
    out = aligner.align(feats, texts, ["a", "b"], method=method, offsets=[0.0, 1.5])
    for ali, text, f in zip(out.alignments, texts, feats):
        assert [w.symbol for w in ali.words] == text.split()
        assert [p.symbol for p in ali.phones] == [lexicon.tokens[t] for t in lexicon.encode(text)]
        assert all(a.end <= b.start + 1e-9 for a, b in zip(ali.words, ali.words[1:]))
        assert ali.words[0].start >= ali.start and ali.words[-1].end <= ali.start + f.shape[0] * 0.01 + 1e-9
    assert out.alignments[1].start == 1.5


def test_align_audio_file_writes_all_formats(lexicon, tmp_path):
    import soundfile

    soundfile.write(tmp_path / "x.wav", np.random.default_rng(1).standard_normal(32000).astype(np.float32) * 0.1,
                    16000)
    aligner = random_aligner(lexicon, "hmm")
    save_model(tmp_path / "m.pt", aligner.model, aligner.objective, aligner.tokens)
    loaded = Aligner.from_file(tmp_path / "m.pt")
    ali = align_audio_file(loaded, tmp_path / "x.wav", "good morning", tmp_path / "out")
    back = read_textgrid(tmp_path / "out" / "x.TextGrid")
    assert [w.symbol for w in back.words] == ["good", "morning"]
    assert json.loads((tmp_path / "out" / "x.json").read_text())["words"][0]["symbol"] == "good"
    assert (tmp_path / "out" / "x.ctm").read_text().split()[4] == "good"
    assert (tmp_path / "out" / "x.png").stat().st_size > 0
    assert ali.words[1].symbol == "morning"


def test_bad_inputs(lexicon):
    aligner = random_aligner(lexicon, "ctc")
    with pytest.raises(ValueError, match="method must be one of"):
        aligner.align([torch.randn(100, 80)], ["hello"], method="dtw")
    with pytest.raises(ValueError, match="feature tensors for"):
        aligner.align([torch.randn(100, 80)], ["hello", "world"])
    with pytest.raises(ValueError, match="xyzzyq"):
        aligner.align([torch.randn(100, 80)], ["hello xyzzyq"], oov="error")
    with pytest.raises(ValueError, match="no path"):
        aligner.align([torch.randn(8, 80)], ["this is a much longer sentence than two frames allow"])


def test_punctuation_around_words_is_dropped(lexicon):
    aligner = random_aligner(lexicon, "hmm")
    feats = [torch.randn(120, 80, generator=torch.Generator().manual_seed(0))]
    plain = aligner.align(feats, ["hello world"], method="viterbi").alignments[0]
    punct = aligner.align(feats, ['"Hello, world!" --'], method="viterbi").alignments[0]
    assert [w.symbol for w in punct.words] == ["Hello", "world"] and punct.text == "Hello world"
    assert [(w.start, w.end) for w in punct.words] == [(w.start, w.end) for w in plain.words]


def test_unreadable_audio_is_named(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    for path in (tmp_path / "empty.wav", tmp_path / "missing.wav"):
        with pytest.raises(ValueError, match=f"cannot read audio file '{path}'"):
            compute_features(path)


def test_model_file_alignment_defaults(lexicon, tmp_path):
    """A model file's stored blank penalty / prior scale are the aligner's defaults: aligning without
    options equals aligning with those values given, and differs from aligning with none."""
    base = random_aligner(lexicon, "hmm")
    save_model(tmp_path / "m.pt", base.model, base.objective, base.tokens,
               align_options={"blank_penalty": 3.0, "prior_scale": 0.5})
    tuned = Aligner.from_file(tmp_path / "m.pt", lexicon)
    assert tuned.align_options == {**ALIGN_OPTIONS, "blank_penalty": 3.0, "prior_scale": 0.5}
    feats, text = [torch.randn(300, 80)], ["hello world"]

    def bounds(aligner, **kw):
        return [(p.start, p.end) for p in aligner.align(feats, text, **kw).alignments[0].phones]

    assert bounds(tuned) == bounds(base, blank_penalty=3.0, prior_scale=0.5)
    assert bounds(tuned, blank_penalty=0.0, prior_scale=0.0) == bounds(base)
    assert bounds(tuned) != bounds(base)
    with pytest.raises(ValueError, match="unknown alignment options"):
        Aligner(base.model, base.objective, base.tokens, lexicon, {"blank": 1.0})
    with pytest.raises(ValueError, match="prior_scale must be a finite number"):
        Aligner(base.model, base.objective, base.tokens, lexicon, {"prior_scale": float("nan")})
    with pytest.raises(ValueError, match="method must be one of"):
        Aligner(base.model, base.objective, base.tokens, lexicon, {"method": "best"})
    with pytest.raises(ValueError, match="phases must be an integer from 1 to the model's downsampling 4"):
        Aligner(base.model, base.objective, base.tokens, lexicon, {"phases": 5})
    with pytest.raises(ValueError, match=r"posterior_scale must be in \(0, 1000\], got 0.0"):
        base.align(feats, text, posterior_scale=0.0)
    with pytest.raises(ValueError, match=r"prior_scale must be in \[0, 1000\], got 1000000.0"):
        base.align(feats, text, prior_scale=1e6)
    with pytest.raises(ValueError, match=r"time_shift must be in \[-0.5, 0.5\] seconds, got 2.0"):
        base.align(feats, text, time_shift=2.0)
    with pytest.raises(ValueError, match="transition_scale must be a finite number >= 0, got nan"):
        base.align(feats, text, transition_scale=float("nan"))
    with pytest.raises(ValueError, match="aligns one phase only"):
        base.align(feats, text, method="gradscore", phases=2)


@pytest.mark.parametrize("topology", ["hmm", "ctc"])
def test_posterior_method_tends_to_viterbi_for_a_sharp_posterior(lexicon, topology):
    """With the log-probs scaled by 1000, all posterior mass is on the best path: the expected
    boundaries become the Viterbi ones (random model, so boundaries are far from trivial)."""
    aligner = random_aligner(lexicon, topology)
    feats, text = [torch.randn(300, 80)], ["hello world again"]

    def bounds(**kw):
        ali = aligner.align(feats, text, **kw).alignments[0]
        return np.array([(t.start, t.end) for t in ali.words + ali.phones])

    sharp = bounds(method="posterior", posterior_scale=1000.0)
    np.testing.assert_allclose(sharp, bounds(method="viterbi", posterior_scale=1000.0), atol=1e-6)
    assert not np.allclose(bounds(method="posterior"), sharp, atol=1e-3)


def test_phases_average_the_shifted_alignments_and_time_shift_moves_every_boundary(lexicon):
    """phases=2 is the mean of the alignment of the features and of the features without their
    first frame (whose times are then 10 ms later); time_shift adds to every unclipped boundary."""
    aligner = random_aligner(lexicon, "hmm")
    feats, text = torch.randn(300, 80), ["hello world again"]

    def bounds(f, **kw):
        ali = aligner.align([f], text, **kw).alignments[0]
        return np.array([(t.start, t.end) for t in ali.words + ali.phones])

    base, later = bounds(feats), bounds(feats[1:]) + 0.01
    two = bounds(feats, phases=2)
    inside = (base > 0.05) & (base < 2.95)  # neither phase clipped to the utterance
    np.testing.assert_allclose(two[inside], (base[inside] + later[inside]) / 2, atol=1e-9)
    assert two.min() >= 0.0 and two.max() <= 3.0
    shifted = bounds(feats, time_shift=-0.02)
    inside = (base > 0.02) & (base < 3.0)
    np.testing.assert_allclose(shifted[inside], base[inside] - 0.02, atol=1e-9)
