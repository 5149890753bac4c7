"""Label prior estimators on hand-computed examples, stop-gradient behaviour, checkpoints."""

import io
import math

import pytest
import torch

import fsttopo
from fsttopo.criteria import (
    PosteriorPrior,
    RunningPrior,
    StaticPrior,
    apply_prior,
    label_counts,
    log_prior_from_counts,
    posterior_log_prior,
    transcription_counts,
)

NAN = float("nan")


def test_count_prior_from_alignment_by_hand():
    ali = torch.tensor([[0, 0, 1, 2, -1], [2, 2, 0, -1, -1]])
    counts = label_counts(ali, 4, lengths=[4, 3])
    assert counts.tolist() == [3.0, 1.0, 3.0, 0.0]
    # a flat [N] alignment counts every entry
    assert label_counts(torch.tensor([3, 3, 1]), 4).tolist() == [0.0, 1.0, 0.0, 2.0]
    prior = log_prior_from_counts(counts, smoothing=1.0)
    expected = torch.tensor([4 / 11, 2 / 11, 4 / 11, 1 / 11]).log()
    torch.testing.assert_close(prior, expected)
    with pytest.raises(ValueError, match=r"classes \[3\] have count 0"):
        log_prior_from_counts(counts)


def test_transcription_prior_with_silence_share_by_hand():
    counts = transcription_counts([[1, 2], [3]], 4, silence=0, durations=2.0, silence_share=0.2)
    # 3 labels x 2 frames = 6 label frames; silence is 20% of all frames: 6 * 0.2 / 0.8 = 1.5
    torch.testing.assert_close(counts, torch.tensor([1.5, 2.0, 2.0, 2.0], dtype=torch.float64))
    torch.testing.assert_close(log_prior_from_counts(counts),
                               torch.tensor([1.5 / 7.5, 2 / 7.5, 2 / 7.5, 2 / 7.5]).log())


def test_transcription_prior_with_frame_counts_by_hand():
    durations = torch.tensor([99.0, 1.0, 2.0, 3.0])  # the silence entry is ignored
    counts = transcription_counts([[1, 2, 2], [3]], 4, silence=0, durations=durations, num_frames=[10, 2])
    # utt 0: 1 + 2 + 2 = 5 label frames -> 5 silence frames; utt 1: 3 label frames > 2 -> 0 silence
    torch.testing.assert_close(counts, torch.tensor([5.0, 1.0, 4.0, 3.0], dtype=torch.float64))


def test_static_prior_returns_its_buffer_and_round_trips():
    log_prior = torch.tensor([0.5, 0.25, 0.25]).log()
    prior = StaticPrior(log_prior)
    out = prior(torch.zeros(2, 4, 3), [4, 2])
    torch.testing.assert_close(out, log_prior)
    assert not out.requires_grad
    buf = io.BytesIO()
    torch.save(torch.nn.Sequential(prior).state_dict(), buf)
    buf.seek(0)
    restored = torch.nn.Sequential(StaticPrior(torch.zeros(3)))
    restored.load_state_dict(torch.load(buf))
    torch.testing.assert_close(restored[0](), log_prior)


def _hand_batch():
    probs = torch.tensor([
        [[0.7, 0.2, 0.1], [0.4, 0.4, 0.2], [0.1, 0.1, 0.8]],
        [[0.6, 0.3, 0.1], [NAN, NAN, NAN], [NAN, NAN, NAN]],  # padding may hold anything
    ], dtype=torch.float64)
    return probs.log(), torch.tensor([3, 1])


def test_posterior_prior_per_sequence_by_hand():
    log_probs, lengths = _hand_batch()
    seq = posterior_log_prior(log_probs, lengths, per_sequence=True)
    expected = torch.tensor([[1.2 / 3, 0.7 / 3, 1.1 / 3], [0.6, 0.3, 0.1]], dtype=torch.float64).log()
    torch.testing.assert_close(seq, expected)
    torch.testing.assert_close(PosteriorPrior("sequence")(log_probs, lengths), expected)


def test_posterior_prior_per_batch_by_hand():
    log_probs, lengths = _hand_batch()
    expected = torch.tensor([1.8 / 4, 1.0 / 4, 1.2 / 4], dtype=torch.float64).log()
    torch.testing.assert_close(posterior_log_prior(log_probs, lengths), expected)
    torch.testing.assert_close(PosteriorPrior("batch")(log_probs, lengths), expected)


def test_posterior_prior_of_an_empty_sequence_is_uniform():
    log_probs, _ = _hand_batch()
    out = posterior_log_prior(log_probs, torch.tensor([3, 0]), per_sequence=True)
    torch.testing.assert_close(out[1], torch.full((3,), -math.log(3), dtype=torch.float64))
    with pytest.raises(ValueError, match="no valid frames"):
        posterior_log_prior(log_probs, torch.tensor([0, 0]))


@pytest.mark.parametrize("scope", ["sequence", "batch"])
def test_posterior_prior_gradient_passes_or_stops(scope):
    log_probs, lengths = _hand_batch()
    weights = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    lp = log_probs.clone().requires_grad_()
    assert not PosteriorPrior(scope, stop_gradient=True)(lp, lengths).requires_grad
    (PosteriorPrior(scope, stop_gradient=False)(lp, lengths) * weights).sum().backward()
    # d log(mean_t p_tv) / d log p_tv = p_tv / sum_t' p_t'v, over the frames of the average
    p = torch.where(torch.isnan(log_probs), 0.0, log_probs.exp())
    denom = p.sum(1, keepdim=True) if scope == "sequence" else p.sum((0, 1), keepdim=True)
    torch.testing.assert_close(lp.grad, weights * p / denom)
    assert torch.all(lp.grad[1, 1:] == 0)


def test_running_prior_updates_by_hand_and_round_trips():
    log_probs, lengths = _hand_batch()
    prior = RunningPrior(3, decay=0.75)
    first = prior(log_probs, lengths)
    batch = torch.tensor([1.8 / 4, 1.0 / 4, 1.2 / 4], dtype=torch.float64)
    step1 = 0.75 * torch.full((3,), 1 / 3, dtype=torch.float64) + 0.25 * batch
    torch.testing.assert_close(first, step1.log())
    second = prior(log_probs[:1], lengths[:1])
    step2 = 0.75 * step1 + 0.25 * torch.tensor([1.2 / 3, 0.7 / 3, 1.1 / 3], dtype=torch.float64)
    torch.testing.assert_close(second, step2.log())

    state = io.BytesIO()
    torch.save(prior.state_dict(), state)
    state.seek(0)
    restored = RunningPrior(3, decay=0.75)
    restored.load_state_dict(torch.load(state))
    restored.eval()  # eval mode: no update, returns the stored prior
    torch.testing.assert_close(restored(log_probs, lengths), step2.log().float(), check_dtype=False)
    torch.testing.assert_close(restored(log_probs, lengths), step2.log().float(), check_dtype=False)


def test_running_prior_gradient_passes_or_stops():
    log_probs, lengths = _hand_batch()
    lp = log_probs.clone().requires_grad_()
    assert not RunningPrior(3, decay=0.5)(lp, lengths).requires_grad
    prior = RunningPrior(3, decay=0.5, stop_gradient=False)
    out = prior(lp, lengths)
    out.sum().backward()
    # log(d * old + (1 - d) * sum_bt p / N): gradient (1 - d) * p / N / new
    p = torch.where(torch.isnan(log_probs), 0.0, log_probs.exp())
    torch.testing.assert_close(lp.grad, 0.5 * p / 4 / out.detach().exp())
    assert not prior.log_prior.requires_grad


def test_apply_prior_matches_engine_scales():
    torch.manual_seed(1)
    lp = torch.randn(2, 6, 4, dtype=torch.float64).log_softmax(-1)
    lengths = torch.tensor([6, 4])
    graphs = fsttopo.ctc_graph([[1, 2], [3]])
    prior = torch.tensor([0.5, 0.2, 0.2, 0.1], dtype=torch.float64).log()
    ours = fsttopo.full_sum(apply_prior(lp, prior, 0.3, posterior_scale=0.7), lengths, graphs)
    ref = fsttopo.full_sum(lp, lengths, graphs, posterior_scale=0.7, log_prior=prior, prior_scale=0.3)
    torch.testing.assert_close(ours, ref)
    # a per-sequence prior is the same as running each sequence with its own [V] prior
    per_seq = torch.stack([prior, prior.flip(0)])
    ours = fsttopo.full_sum(apply_prior(lp, per_seq, 0.3, posterior_scale=0.7), lengths, graphs)
    for b in range(2):
        ref_b = fsttopo.full_sum(lp[b:b + 1], lengths[b:b + 1], fsttopo.ctc_graph([[[1, 2], [3]][b]]),
                                 posterior_scale=0.7, log_prior=per_seq[b], prior_scale=0.3)
        torch.testing.assert_close(ours[b:b + 1], ref_b)


def test_prior_errors():
    lp = torch.zeros(2, 3, 4)
    with pytest.raises(ValueError, match="label id 4"):
        label_counts(torch.tensor([[0, 4, 1], [0, 0, 0]]), 4)
    with pytest.raises(ValueError, match="lengths"):
        label_counts(torch.zeros(2, 3, dtype=torch.int64), 4, lengths=[3, 5])
    with pytest.raises(ValueError, match="integer"):
        label_counts(torch.zeros(2, 3), 4)
    with pytest.raises(ValueError, match="silence"):
        transcription_counts([[0, 1]], 4, silence=0, durations=1.0, silence_share=0.1)
    with pytest.raises(ValueError, match="int label ids"):
        transcription_counts([[1], [2.5]], 4, silence=0, durations=1.0, silence_share=0.1)
    with pytest.raises(ValueError, match="exactly one"):
        transcription_counts([[1]], 4, silence=0, durations=1.0)
    with pytest.raises(ValueError, match="silence_share"):
        transcription_counts([[1]], 4, silence=0, durations=1.0, silence_share=1.0)
    with pytest.raises(ValueError, match="durations"):
        transcription_counts([[1]], 4, silence=0, durations=torch.ones(3), silence_share=0.1)
    with pytest.raises(ValueError, match=r"\[B, T, V\]"):
        posterior_log_prior(torch.zeros(3, 4), None)
    with pytest.raises(ValueError, match="lengths"):
        PosteriorPrior()(lp, [3, 4])
    with pytest.raises(ValueError, match="scope"):
        PosteriorPrior("epoch")
    with pytest.raises(ValueError, match="decay"):
        RunningPrior(4, decay=1.0)
    with pytest.raises(ValueError, match="classes"):
        RunningPrior(5)(lp, [3, 3])
    with pytest.raises(ValueError, match="log_prior must have shape"):
        apply_prior(lp, torch.zeros(3, 4), 1.0)
