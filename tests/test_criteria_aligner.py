"""The Aligner-Encoder loss against hand-worked values, its float64 gradient and its input checks."""

import math

import pytest
import torch

from fsttopo.criteria import aligner_loss, aligner_targets, pad_token_sequences


def test_hand_computed_example_with_eos():
    # V = 3 (0 = EOS), utterance 0: tokens [1, 2] -> positions 0, 1, then EOS at 2; utterance 1:
    # tokens [2] -> position 0, EOS at 1, position 2 ignored
    p = torch.tensor([
        [[0.1, 0.7, 0.2], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]],
        [[0.3, 0.3, 0.4], [0.8, 0.1, 0.1], [0.0001, 0.4999, 0.5]],
    ], dtype=torch.float64)
    targets = torch.tensor([[1, 2], [2, 0]])
    lengths = torch.tensor([2, 1])
    per_utt = aligner_loss(p.log(), targets, lengths, eos=0, reduction="none")
    expected = torch.tensor([-(math.log(0.7) + math.log(0.5) + math.log(0.6)),
                             -(math.log(0.4) + math.log(0.8))], dtype=torch.float64)
    torch.testing.assert_close(per_utt, expected)
    torch.testing.assert_close(aligner_loss(p.log(), targets, lengths, reduction="sum"), expected.sum())
    torch.testing.assert_close(aligner_loss(p.log(), targets, lengths), expected.sum() / 5)  # 3 + 2 positions


def test_targets_append_eos_after_each_utterance():
    targets, lengths = pad_token_sequences([[4, 5, 6], [7]], pad=0)
    assert targets.tolist() == [[4, 5, 6], [7, 0, 0]] and lengths.tolist() == [3, 1]
    assert aligner_targets(targets, lengths, eos=0).tolist() == [[4, 5, 6, 0], [7, 0, 0, 0]]


def test_gradcheck_float64():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 5, dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([[1, 3, 2], [4, 0, 0]])
    lengths = torch.tensor([3, 1])
    assert torch.autograd.gradcheck(
        lambda x: aligner_loss(x.log_softmax(-1), targets, lengths, eos=0), (logits,))


def test_an_utterance_does_not_depend_on_its_batch():
    torch.manual_seed(1)
    lp = torch.randn(3, 6, 5).log_softmax(-1)
    targets = torch.tensor([[1, 2, 3, 4], [2, 2, 0, 0], [3, 0, 0, 0]])
    lengths = torch.tensor([4, 2, 1])
    batch = aligner_loss(lp, targets, lengths, reduction="none")
    for b in range(3):
        alone = aligner_loss(lp[b:b + 1, : int(lengths[b]) + 1], targets[b:b + 1, : int(lengths[b])],
                             lengths[b:b + 1], reduction="none")
        torch.testing.assert_close(alone, batch[b:b + 1])


def test_bad_inputs_are_named():
    lp = torch.randn(1, 3, 4).log_softmax(-1)
    with pytest.raises(ValueError, match="3 tokens \\+ EOS need 4 output positions"):
        aligner_loss(lp, torch.tensor([[1, 2, 3]]), torch.tensor([3]))
    with pytest.raises(ValueError, match="other than the EOS id 0"):
        aligner_loss(lp, torch.tensor([[1, 0]]), torch.tensor([2]))
    with pytest.raises(ValueError, match="not a token id in \\[0, 4\\)"):
        aligner_loss(lp, torch.tensor([[7]]), torch.tensor([1]))
    with pytest.raises(ValueError, match="target_lengths\\[0\\] = 2 is outside"):
        aligner_loss(lp, torch.tensor([[1]]), torch.tensor([2]))
