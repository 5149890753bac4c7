"""Train a posterior model on synthetic data with the full-sum criterion, then evaluate its alignment.

Training score per frame (paper Eq. 6): ``alpha * log p(y|x_t) - beta * log p(y)`` on the arcs of
the HMM or CTC label topology, whose transition weights are scaled by ``gamma``; the loss is the
negative full-sum log-likelihood summed over the batch, divided by its number of frames. Adam.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import torch

from .. import metrics
from ..align import group_segments, path_segments
from ..criteria import framewise_ce, normalized_gradient_loss
from ..engine import full_sum, viterbi
from ..fsa import Fsa, FsaVec
from ..topology import Transitions, build_graphs
from .data import SILENCE, DataConfig, SyntheticBatch, generate_batch
from .models import ModelConfig, build_model
from .priors import PriorConfig, log_prior, static_log_prior

__all__ = ["ExperimentConfig", "Example", "graphs_for", "train", "evaluate", "run_seed"]

CRITERIA = ("full-sum", "normalized-gradient", "framewise-ce")

EVAL_SEED = 1_000_003
"""Seed of the held-out evaluation batch (the same for every training seed)."""


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment (a table row).

    Attributes:
        data: data distribution.
        model: posterior model.
        prior: prior variant (ignored when ``prior_scale == 0``).
        topology: ``"hmm"`` (silence only between words) or ``"ctc"`` (blank anywhere, standard
            CTC with forced blank between equal labels).
        posterior_scale: alpha (> 0).
        prior_scale: beta (>= 0).
        transition_scale: gamma (>= 0); HMM only, with the default :class:`fsttopo.Transitions`
            (speech loop/forward 0.5/0.5, silence 0.96/0.04).
        batch_size: sequences per training step.
        steps: training steps (each on a freshly sampled batch).
        lr: Adam learning rate.
        eval_size: held-out sequences for the metrics.
        static_prior_size: sequences counted for a static prior.
        criterion: ``"full-sum"`` (Eq. 6), ``"normalized-gradient"`` (same loss, gradient of Eq. 11,
            softmax output and a batch/static prior only) or ``"framewise-ce"`` (Eq. 12 against
            the reference alignment: the supervised upper bound).
    """

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    prior: PriorConfig = field(default_factory=PriorConfig)
    topology: str = "hmm"
    posterior_scale: float = 1.0
    prior_scale: float = 0.0
    transition_scale: float = 0.0
    batch_size: int = 32
    steps: int = 300
    lr: float = 0.01
    eval_size: int = 100
    static_prior_size: int = 1000
    criterion: str = "full-sum"

    def __post_init__(self) -> None:
        if self.criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {CRITERIA}, got {self.criterion!r}")
        if self.criterion == "normalized-gradient" and (
                self.model.output != "softmax" or (self.prior_scale > 0 and self.prior.scope == "sequence"
                                                   and self.prior.kind == "posterior")
                or (self.prior_scale > 0 and not self.prior.stop_grad)):
            raise ValueError("normalized-gradient needs the softmax output and a [V] stop-gradient prior "
                             "(batch posterior average or static)")
        if self.topology not in ("hmm", "ctc"):
            raise ValueError(f"topology must be 'hmm' or 'ctc', got {self.topology!r}")
        if not self.posterior_scale > 0:
            raise ValueError(f"posterior_scale must be > 0, got {self.posterior_scale}")
        if self.prior_scale < 0 or self.transition_scale < 0:
            raise ValueError(f"prior_scale and transition_scale must be >= 0, got "
                             f"{self.prior_scale}, {self.transition_scale}")
        if self.prior_scale > 0 and self.prior.kind == "none":
            raise ValueError(f"prior_scale={self.prior_scale} needs a prior kind other than 'none'")
        if self.topology == "ctc" and self.transition_scale != 0:
            raise ValueError("the CTC topology has no transition model: transition_scale must be 0")
        for name in ("batch_size", "steps", "eval_size", "static_prior_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


@dataclass
class Example:
    """One evaluation sequence for plotting: ``posteriors`` ``[T, V]``, ``reference`` and
    ``viterbi`` ``[T]`` frame labels, ``symbols`` per label id."""

    posteriors: torch.Tensor
    reference: torch.Tensor
    viterbi: torch.Tensor
    symbols: list[str]


@functools.lru_cache(maxsize=4096)
def _graph(topology: str, words: tuple[tuple[int, ...], ...], with_transitions: bool, num_classes: int) -> Fsa:
    return build_graphs([[list(w) for w in words]], topology, num_classes,
                        Transitions() if with_transitions else None, blank=SILENCE)[0]


def graphs_for(config: ExperimentConfig, batch: SyntheticBatch, with_transitions: bool) -> FsaVec:
    """The label topology graphs of ``batch`` (HMM with default transitions when asked); each
    distinct transcript is compiled once per process."""
    return FsaVec([_graph(config.topology, tuple(tuple(w) for w in words), with_transitions,
                          config.data.num_classes) for words in batch.words])


def _loss(config: ExperimentConfig, model: torch.nn.Module, batch: SyntheticBatch, graphs: FsaVec,
          static: torch.Tensor | None) -> torch.Tensor:
    """The training loss of one batch per frame (nats)."""
    frames = batch.lengths.sum()
    if config.criterion == "framewise-ce":
        return framewise_ce(model(batch.features, batch.lengths), batch.alignment, batch.lengths, reduction="sum") / frames
    if config.criterion == "normalized-gradient":
        logits = model.logits(batch.features, batch.lengths)
        prior = None
        if config.prior_scale > 0:
            prior = log_prior(config.prior, logits.log_softmax(-1), batch.lengths, static).view(-1).detach()
        return normalized_gradient_loss(
            logits, batch.lengths, graphs, posterior_scale=config.posterior_scale, log_prior=prior,
            prior_scale=config.prior_scale, transition_scale=config.transition_scale, zero_infinity=True).sum() / frames
    log_probs = model(batch.features, batch.lengths)
    scores = config.posterior_scale * log_probs
    if config.prior_scale > 0:
        scores = scores - config.prior_scale * log_prior(config.prior, log_probs, batch.lengths, static)
    ll = full_sum(scores, batch.lengths, graphs, transition_scale=config.transition_scale, zero_infinity=True)
    return -ll.sum() / frames


def train(config: ExperimentConfig, seed: int) -> torch.nn.Module:
    """Train a fresh model (initialized from ``seed``) on batches sampled with ``seed``."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    V = config.data.num_classes
    model = build_model(config.model, V, V)
    static = None
    if config.prior_scale > 0 and config.prior.kind == "static":
        static = static_log_prior(config.data, config.static_prior_size, torch.Generator().manual_seed(seed + 1))
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    for _ in range(config.steps):
        batch = generate_batch(config.data, config.batch_size, gen)
        graphs = graphs_for(config, batch, with_transitions=config.transition_scale > 0)
        loss = _loss(config, model, batch, graphs, static)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


@torch.no_grad()
def evaluate(config: ExperimentConfig, model: torch.nn.Module) -> tuple[dict[str, float], Example]:
    """Metrics of ``model`` on the held-out batch (seed :data:`EVAL_SEED`).

    The alignment is the Viterbi path of the plain posteriors (``alpha = 1``, no prior, no
    transitions) through the training topology. Returns the metrics (keys ``ler`` %, ``fw_ce``
    nats/frame, ``eps_posterior`` %, ``tse`` and ``tse_center`` frames, ``silence`` % of the
    Viterbi alignment) and sequence 0 as an :class:`Example`.
    """
    batch = generate_batch(config.data, config.eval_size, torch.Generator().manual_seed(EVAL_SEED))
    log_probs = model(batch.features, batch.lengths)
    graphs = graphs_for(config, batch, with_transitions=False)
    path = viterbi(log_probs, batch.lengths, graphs)
    if config.topology == "hmm":
        hyp = [[(s.start, s.end) for s in utt] for utt in path_segments(path, graphs, level="word")]
    else:
        hyp = [[(s.start, s.end) for s in group_segments(segs, [len(w) for w in words])]
               for segs, words in zip(path_segments(path, graphs, level="token"), batch.words)]
    result = {
        "ler": metrics.label_error_rate(metrics.greedy_decode(log_probs, batch.lengths, SILENCE), batch.transcripts),
        "fw_ce": metrics.framewise_cross_entropy(log_probs, batch.lengths, batch.alignment),
        "eps_posterior": metrics.mean_label_posterior(log_probs, batch.lengths, SILENCE),
        "tse": metrics.time_stamp_error(hyp, batch.word_spans),
        "tse_center": metrics.time_stamp_error(hyp, batch.word_spans, center=True),
        "silence": metrics.silence_ratio(path.labels, batch.lengths, SILENCE),
    }
    n = int(batch.lengths[0])
    example = Example(log_probs[0, :n].exp(), batch.alignment[0, :n], path.labels[0, :n], config.data.symbols())
    return result, example


def run_seed(config: ExperimentConfig, seed: int) -> tuple[dict[str, float], Example]:
    """Train with ``seed`` and evaluate."""
    return evaluate(config, train(config, seed))
