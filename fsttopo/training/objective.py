"""The training objective: transcripts -> topology graphs -> full-sum loss with scales and priors.

Any of our topologies (HMM with silence, CTC, CTC without forced blank), the scales of Eq. 6, a
prior estimator from :mod:`fsttopo.criteria`, optional normalized gradients (Eq. 11) and
intermediate CTC losses (seed 002).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ..criteria import PosteriorPrior, RunningPrior, apply_prior, normalized_gradient_loss
from ..engine import full_sum
from ..fsa import FsaVec
from ..topology import TOPOLOGIES, Transitions, build_graphs

__all__ = ["TOPOLOGIES", "ObjectiveConfig", "Objective", "build_graphs"]

PRIORS = ("none", "batch", "sequence", "running")


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

    def __post_init__(self) -> None:
        self.transitions = tuple(self.transitions)
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

    def forward(self, output, words: list[list[list[int]]], logits: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss per output frame: ``(sum_b NLL_b + inter_weight * mean_k sum_b NLL_k_b) / frames``.

        Args:
            output: :class:`fsttopo.models.ModelOutput`.
            words: per utterance, per word, token ids.
            logits: final-layer logits (only for normalized gradients).
        """
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
