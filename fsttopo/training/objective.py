"""The training objective: transcripts -> topology graphs -> full-sum loss with scales and priors.

Any of our topologies (HMM with silence, CTC, CTC without forced blank), the scales of Eq. 6, a
prior estimator from :mod:`fsttopo.criteria`, optional normalized gradients (Eq. 11) and
intermediate CTC losses (seed 002); or, with ``criterion="aligner"``, the Aligner-Encoder loss
with optional InterAligner and InterCTC terms (issue 16, docs/aligner_encoder.md).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import torch

from ..criteria import PosteriorPrior, RunningPrior, aligner_loss, apply_prior, normalized_gradient_loss, \
    pad_token_sequences
from ..engine import full_sum
from ..fsa import FsaVec
from ..topology import TOPOLOGIES, Transitions, build_graphs

__all__ = ["TOPOLOGIES", "ObjectiveConfig", "Objective", "build_graphs"]

PRIORS = ("none", "batch", "sequence", "running")
CRITERIA = ("full_sum", "aligner")


@dataclass
class ObjectiveConfig:
    """Loss settings (paper Eq. 6 scales; priors as in Tables 8/10/11)."""

    topology: str = "ctc"
    posterior_scale: float = 1.0
    prior_scale: float = 0.0
    transition_scale: float = 0.0
    transitions: tuple[float, float, float, float] = (0.5, 0.5, 0.96, 0.04)
    prior: str = "none"
    prior_stop_gradient: bool = True
    running_prior_decay: float = 0.99
    normalized_gradient: bool = False
    inter_weight: float = 0.3
    criterion: str = "full_sum"          # "aligner": Aligner-Encoder loss (the model needs aligner=True)
    inter_aligner_weight: float = 0.3    # weight of the mean InterAligner loss (aligner criterion)

    def __post_init__(self) -> None:
        self.transitions = tuple(self.transitions)
        if self.criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {CRITERIA}, got {self.criterion!r}")
        if self.criterion == "aligner" and (self.prior != "none" or self.normalized_gradient):
            raise ValueError("the aligner criterion takes no prior and no normalized gradients")
        if self.topology not in TOPOLOGIES:
            raise ValueError(f"topology must be one of {TOPOLOGIES}, got {self.topology!r}")
        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}, got {self.prior!r}")
        if self.prior == "none" and self.prior_scale != 0.0:
            raise ValueError("prior_scale != 0 needs a prior estimator (prior='batch'|'sequence'|'running')")
        if self.normalized_gradient and self.prior_scale != 0.0 and not self.prior_stop_gradient:
            raise ValueError("normalized gradients treat the prior as a constant: use prior_stop_gradient=True")

    def to_dict(self) -> dict:
        return asdict(self)


class Objective(torch.nn.Module):
    """Computes the per-frame training loss of a batch. Holds the prior estimator (its state, e.g.
    the running average, is saved with the checkpoint)."""

    def __init__(self, config: ObjectiveConfig, num_classes: int, blank: int = 0):
        super().__init__()
        self.config = config
        self.num_classes = num_classes
        self.blank = blank
        self.transitions = Transitions(*config.transitions) if config.transition_scale != 0 else None
        if config.prior == "running":
            self.prior = RunningPrior(num_classes, decay=config.running_prior_decay,
                                      stop_gradient=config.prior_stop_gradient)
        elif config.prior in ("batch", "sequence"):
            self.prior = PosteriorPrior(scope=config.prior, stop_gradient=config.prior_stop_gradient)
        else:
            self.prior = None

    def graphs(self, words: list[list[list[int]]]) -> FsaVec:
        return build_graphs(words, self.config.topology, self.num_classes, self.transitions, self.blank)

    def sequence_loss(self, log_probs: torch.Tensor, lengths: torch.Tensor, graphs: FsaVec,
                      logits: torch.Tensor | None = None) -> torch.Tensor:
        """``[B]`` negative log-likelihoods (nats) of one output layer."""
        c = self.config
        log_prior = self.prior(log_probs, lengths) if self.prior is not None else None
        if c.normalized_gradient:
            if logits is None:
                raise ValueError("normalized gradients need the head's logits (plain softmax head)")
            if log_prior is not None and log_prior.ndim == 2:
                raise ValueError("normalized gradients support [V] priors (prior='batch'|'running') only")
            return normalized_gradient_loss(
                logits, lengths, graphs, posterior_scale=c.posterior_scale, log_prior=log_prior,
                prior_scale=c.prior_scale, transition_scale=c.transition_scale, zero_infinity=True)
        if log_prior is not None and log_prior.ndim == 2:  # per-sequence prior
            scores = apply_prior(log_probs, log_prior, c.prior_scale, posterior_scale=c.posterior_scale)
            return -full_sum(scores, lengths, graphs, transition_scale=c.transition_scale, zero_infinity=True)
        return -full_sum(log_probs, lengths, graphs, posterior_scale=c.posterior_scale,
                         log_prior=log_prior, prior_scale=c.prior_scale if log_prior is not None else 0.0,
                         transition_scale=c.transition_scale, zero_infinity=True)

    def forward(self, output, words: list[list[list[int]]], logits: torch.Tensor | None = None,
                decoder: torch.nn.Module | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss per output frame: ``(sum_b NLL_b + inter_weight * mean_k sum_b NLL_k_b) / frames``;
        for the aligner criterion see :meth:`aligner_forward`.

        Args:
            output: :class:`fsttopo.models.ModelOutput`.
            words: per utterance, per word, token ids.
            logits: final-layer logits (only for normalized gradients).
            decoder: the model's :class:`~fsttopo.models.aligner_decoder.AlignerDecoder` (aligner criterion).
        """
        if self.config.criterion == "aligner":
            return self.aligner_forward(output, words, decoder)
        graphs = self.graphs(words)
        frames = output.lengths.sum().clamp(min=1)
        main = self.sequence_loss(output.log_probs, output.lengths, graphs, logits).sum() / frames
        stats = {"loss": main.item()}
        loss = main
        if output.inter_log_probs and self.config.inter_weight > 0:
            inter = torch.stack([
                -full_sum(lp, output.lengths, graphs, zero_infinity=True).sum() / frames
                for lp in output.inter_log_probs]).mean()
            stats["inter_loss"] = inter.item()
            loss = loss + self.config.inter_weight * inter
        return loss, stats

    def alignable(self, output, words: list[list[list[int]]]):
        """``(output, words)`` without the utterances an Aligner-Encoder cannot learn: fewer encoder
        frames than tokens + 1 (EOS). They are dropped with a warning naming them (batch index,
        frames, tokens) rather than failing a whole training run on one odd utterance."""
        tokens = torch.tensor([sum(len(w) for w in ws) for ws in words], device=output.lengths.device)
        keep = output.lengths >= tokens + 1
        if bool(keep.all()):
            return output, words
        short = [f"utterance {b}: {int(output.lengths[b])} frames for {int(tokens[b])} tokens + EOS"
                 for b in torch.nonzero(~keep)[:, 0].tolist()]
        warnings.warn(f"aligner loss: dropped {len(short)} utterance(s) of the batch with T < U + 1: "
                      + "; ".join(short), stacklevel=2)
        idx = torch.nonzero(keep)[:, 0]
        kept = type(output)(None, output.lengths[idx], [lp[idx] for lp in output.inter_log_probs],
                            output.hidden[idx], [h[idx] for h in output.aligner_hidden])
        return kept, [words[i] for i in idx.tolist()]

    def aligner_nll(self, decoder: torch.nn.Module, hidden: torch.Tensor, lengths: torch.Tensor,
                    targets: torch.Tensor, target_lengths: torch.Tensor) -> torch.Tensor:
        """``[B]`` Aligner-Encoder NLL (nats, EOS included) of one layer's hidden states ``[B, T, d]``."""
        log_probs = decoder(hidden, lengths, targets, target_lengths)
        return aligner_loss(log_probs, targets, target_lengths, decoder.eos, reduction="none")

    def aligner_forward(self, output, words: list[list[list[int]]], decoder: torch.nn.Module | None
                        ) -> tuple[torch.Tensor, dict[str, float]]:
        """Aligner criterion, per token (EOS included, ``N = sum_b (U_b + 1)``):
        ``(sum_b NLL_b + inter_weight * mean_k sum_b CTC_k_b + inter_aligner_weight * mean_j sum_b
        NLL_j_b) / N`` over the InterCTC layers ``k`` and InterAligner layers ``j``."""
        if decoder is None or output.hidden is None:
            raise ValueError("the aligner criterion needs an aligner model (ModelConfig.aligner=True) and its decoder")
        output, words = self.alignable(output, words)
        if not words:
            return output.hidden.sum() * 0.0, {"loss": float("nan")}
        targets, target_lengths = pad_token_sequences([[t for w in ws for t in w] for ws in words],
                                                      pad=decoder.eos, device=output.hidden.device)
        count = (target_lengths + 1).sum()
        main = self.aligner_nll(decoder, output.hidden, output.lengths, targets, target_lengths).sum() / count
        stats = {"loss": main.item()}
        loss = main
        if output.inter_log_probs and self.config.inter_weight > 0:
            graphs = self.graphs(words)
            inter = torch.stack([-full_sum(lp, output.lengths, graphs, zero_infinity=True).sum() / count
                                 for lp in output.inter_log_probs]).mean()
            stats["inter_loss"] = inter.item()
            loss = loss + self.config.inter_weight * inter
        if output.aligner_hidden and self.config.inter_aligner_weight > 0:
            inter_aligner = torch.stack([
                self.aligner_nll(decoder, h, output.lengths, targets, target_lengths).sum() / count
                for h in output.aligner_hidden]).mean()
            stats["inter_aligner_loss"] = inter_aligner.item()
            loss = loss + self.config.inter_aligner_weight * inter_aligner
        return loss, stats
