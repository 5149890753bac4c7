"""The Aligner-Encoder decoder (Stooke et al. 2024): RNN-T's text-only recurrence without a lattice.

A prediction network (embedding + LSTM, started from a start symbol) reads the previous tokens; a
joint network ``Linear(h_u) + Linear(g_u) -> tanh -> Linear(V)`` combines encoder frame ``h_u``
with prediction state ``g_u``; softmax. Output position ``u`` reads encoder frame ``u`` only, so
the encoder must move the ``u``-th token's information to its ``u``-th frame. The EOS id is also
the start symbol; our aligner models reuse the blank id 0 for both (an aligner model never emits
blank otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

__all__ = ["AlignerDecoder", "AlignerDecoding"]


@dataclass
class AlignerDecoding:
    """Greedy decoding of a batch.

    Attributes:
        tokens: per utterance, the emitted token ids (EOS and everything after it left out).
        log_probs: ``[B, T, V]`` the decoder's log-probabilities at each frame, fed its own greedy
            tokens; frames after an utterance stopped (EOS emitted or its frames used up) put all
            mass on EOS.
    """

    tokens: list[list[int]]
    log_probs: torch.Tensor


class AlignerDecoder(nn.Module):
    """Prediction + joint network: ``hidden [B, T, d]`` -> token log-probs per output position.

    Args:
        d_model: encoder hidden size ``d``.
        num_tokens: output vocabulary ``V`` (EOS included).
        embed_dim, lstm_dim, joint_dim: sizes of the token embedding, the LSTM state and the joint layer.
        eos: EOS and start-symbol id.
    """

    def __init__(self, d_model: int, num_tokens: int, embed_dim: int = 128, lstm_dim: int = 256,
                 joint_dim: int = 256, eos: int = 0):
        super().__init__()
        if not 0 <= eos < num_tokens:
            raise ValueError(f"eos = {eos} out of range for {num_tokens} tokens")
        self.eos = eos
        self.embed = nn.Embedding(num_tokens, embed_dim)
        self.lstm = nn.LSTM(embed_dim, lstm_dim, batch_first=True)
        self.joint_encoder = nn.Linear(d_model, joint_dim)
        self.joint_prediction = nn.Linear(lstm_dim, joint_dim)
        self.joint_output = nn.Linear(joint_dim, num_tokens)

    def joint(self, hidden: torch.Tensor, prediction: torch.Tensor) -> torch.Tensor:
        """``hidden [B, L, d]``, ``prediction [B, L, H]`` -> log-probs ``[B, L, V]``."""
        x = torch.tanh(self.joint_encoder(hidden) + self.joint_prediction(prediction))
        return self.joint_output(x).log_softmax(-1)

    def prediction(self, targets: torch.Tensor) -> torch.Tensor:
        """Prediction-network states ``[B, U_max + 1, H]`` for ``targets [B, U_max]`` (after the
        start symbol): what the joint network reads at positions ``0..U_max``."""
        start = targets.new_full((targets.shape[0], 1), self.eos)
        states, _ = self.lstm(self.embed(torch.cat([start, targets.clamp(min=0)], 1)))
        return states

    def forward(self, hidden: torch.Tensor, lengths: torch.Tensor, targets: torch.Tensor,
                target_lengths: torch.Tensor, prediction: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced log-probs ``[B, U_max + 1, V]``: position ``u`` reads ``hidden[:, u]`` and
        the tokens ``targets[:, :u]`` (after the start symbol); position ``U_b`` should predict EOS.

        Args:
            hidden: ``[B, T, d]`` encoder output (final or intermediate layer).
            lengths: ``[B]`` valid frames per utterance; each needs ``lengths[b] >= U_b + 1``
                (ValueError naming the utterance otherwise).
            targets: ``[B, U_max]`` int64 token ids (padding past ``target_lengths`` is fed but only
                affects positions after ``U_b``, which the loss ignores).
            target_lengths: ``[B]`` tokens per utterance.
            prediction: ``self.prediction(targets)`` when already computed: it does not depend on
                the encoder, so gradient alignment computes it once, outside the differentiated graph.
        """
        short = lengths.to(target_lengths.device) < target_lengths + 1
        if bool(short.any()):
            b = int(torch.nonzero(short)[0])
            raise ValueError(f"utterance {b}: {int(target_lengths[b])} tokens + EOS need {int(target_lengths[b]) + 1} "
                             f"encoder frames, it has {int(lengths[b])} (an Aligner-Encoder needs T >= U + 1)")
        if prediction is None:
            prediction = self.prediction(targets)
        return self.joint(hidden[:, : targets.shape[1] + 1], prediction)

    @torch.no_grad()
    def greedy_decode(self, hidden: torch.Tensor, lengths: torch.Tensor | Sequence[int]) -> AlignerDecoding:
        """Scan the frames in order, emit the arg-max token at each, feed it back, stop at EOS or at
        the utterance's last frame. The loop runs over output positions (inherent to autoregressive
        decoding), each step batched over the utterances; it ends when every utterance has stopped.

        Args:
            hidden: ``[B, T, d]`` encoder output.
            lengths: ``[B]`` valid frames.
        """
        B, T, _ = hidden.shape
        lengths = torch.as_tensor(lengths, device=hidden.device)
        V = self.joint_output.out_features
        log_probs = hidden.new_full((B, T, V), float("-inf"))
        log_probs[..., self.eos] = 0.0
        emitted = torch.full((B, T), -1, dtype=torch.int64, device=hidden.device)
        done = lengths <= 0
        prev = torch.full((B, 1), self.eos, dtype=torch.int64, device=hidden.device)
        state = None
        for t in range(T):
            if bool(done.all()):
                break
            prediction, state = self.lstm(self.embed(prev), state)
            step = self.joint(hidden[:, t:t + 1], prediction)[:, 0]  # [B, V]
            best = step.argmax(-1)
            log_probs[:, t] = torch.where(done[:, None], log_probs[:, t], step)
            emitted[:, t] = torch.where(done | (best == self.eos), -1, best)
            done = done | (best == self.eos) | (t + 1 >= lengths)
            prev = best[:, None]
        tokens = [[int(x) for x in row if x >= 0] for row in emitted.cpu()]
        return AlignerDecoding(tokens, log_probs)
