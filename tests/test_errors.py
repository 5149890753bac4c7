"""Bad inputs raise ValueError/TypeError naming the problem."""

import pytest
import torch

import fsttopo


@pytest.fixture
def ok():
    return torch.randn(2, 10, 5).log_softmax(-1), torch.tensor([10, 8]), fsttopo.ctc_graph([[1, 2], [3]])


@pytest.mark.parametrize("fn", [fsttopo.full_sum, fsttopo.viterbi, fsttopo.soft_alignment])
class TestEngineInputs:
    def test_wrong_rank(self, fn, ok):
        lp, lens, g = ok
        with pytest.raises(ValueError, match=r"shape \[B, T, V\]"):
            fn(lp[0], lens, g)

    def test_wrong_dtype(self, fn, ok):
        lp, lens, g = ok
        with pytest.raises(ValueError, match="float32 or float64"):
            fn(lp.half(), lens, g)

    def test_batch_mismatch(self, fn, ok):
        lp, lens, g = ok
        with pytest.raises(ValueError, match="3 graphs for a batch of 2"):
            fn(lp, lens, fsttopo.ctc_graph([[1], [2], [3]]))

    def test_lengths_shape(self, fn, ok):
        lp, _, g = ok
        with pytest.raises(ValueError, match=r"lengths must have shape \[2\]"):
            fn(lp, torch.tensor([10, 8, 3]), g)

    def test_lengths_too_long(self, fn, ok):
        lp, _, g = ok
        with pytest.raises(ValueError, match=r"lengths\[1\] = 11 is outside \[0, T=10\]"):
            fn(lp, torch.tensor([10, 11]), g)

    def test_float_lengths(self, fn, ok):
        lp, _, g = ok
        with pytest.raises(ValueError, match="integers"):
            fn(lp, torch.tensor([10.0, 8.0]), g)

    def test_label_out_of_range(self, fn, ok):
        lp, lens, _ = ok
        with pytest.raises(ValueError, match="label id 7 out of range .* V=5"):
            fn(lp, lens, fsttopo.ctc_graph([[1, 7], [3]]))

    def test_nan(self, fn, ok):
        lp, lens, g = ok
        lp = lp.clone()
        lp[1, 3, 2] = float("nan")
        with pytest.raises(ValueError, match=r"NaN or \+inf \(utterance 1, frame 3\)"):
            fn(lp, lens, g)

    def test_nan_in_padding_is_ignored(self, fn, ok):
        lp, lens, g = ok
        clean = fn(lp, lens, g)
        lp = lp.clone()
        lp[1, 9] = float("nan")  # utterance 1 has 8 frames
        dirty = fn(lp, lens, g)
        if isinstance(clean, torch.Tensor):
            torch.testing.assert_close(clean, dirty)
        else:
            assert torch.equal(clean.labels, dirty.labels)

    def test_prior_without_log_prior(self, fn, ok):
        lp, lens, g = ok
        with pytest.raises(ValueError, match="needs a log_prior"):
            fn(lp, lens, g, prior_scale=0.5)

    def test_prior_shape(self, fn, ok):
        lp, lens, g = ok
        with pytest.raises(ValueError, match=r"log_prior must have shape \[V=5\]"):
            fn(lp, lens, g, prior_scale=0.5, log_prior=torch.zeros(4))

    def test_graphs_type(self, fn, ok):
        lp, lens, _ = ok
        with pytest.raises(TypeError, match="FsaVec"):
            fn(lp, lens, [[1, 2], [3]])

    def test_bad_backend(self, fn, ok):
        lp, lens, g = ok
        with pytest.raises(ValueError, match="backend must be one of"):
            fn(lp, lens, g, backend="cuda")


def test_viterbi_infeasible_more_labels_than_frames():
    lp = torch.randn(1, 3, 5).log_softmax(-1)
    with pytest.raises(ValueError, match="more labels than frames"):
        fsttopo.viterbi(lp, [3], fsttopo.ctc_graph([[1, 2, 3, 4]]))


class TestTopologyInputs:
    def test_blank_inside_targets(self):
        with pytest.raises(ValueError, match=r"targets\[1\]: contains the blank id 0"):
            fsttopo.ctc_graph([[1], [2, 0]])

    def test_negative_label(self):
        with pytest.raises(ValueError, match="negative label id -3"):
            fsttopo.ctc_graph([[1, -3]])

    def test_label_vs_num_classes(self):
        with pytest.raises(ValueError, match="label id 9 out of range for 5 classes"):
            fsttopo.ctc_graph([[1, 9]], num_classes=5)

    def test_blank_out_of_range(self):
        with pytest.raises(ValueError, match="blank id 5 out of range"):
            fsttopo.ctc_graph([[1]], blank=5, num_classes=5)

    def test_silence_inside_word(self):
        with pytest.raises(ValueError, match="contains the silence id 0"):
            fsttopo.hmm_graph([[[1, 0]]], silence=0)

    def test_silence_out_of_range(self):
        with pytest.raises(ValueError, match="silence id 7 out of range"):
            fsttopo.hmm_graph([[[1]]], silence=7, num_classes=5)

    def test_empty_word(self):
        with pytest.raises(ValueError, match=r"words\[0\]\[1\] is empty"):
            fsttopo.hmm_graph([[[1], []]], silence=0)

    def test_bad_transition_probability(self):
        with pytest.raises(ValueError, match="speech_loop must be a probability"):
            fsttopo.Transitions(speech_loop=0.0)

    def test_non_integer_label(self):
        with pytest.raises(ValueError, match="must be integers"):
            fsttopo.ctc_graph([[1.5]])
