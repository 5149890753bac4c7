"""Dense intersection of graphs with per-frame log-probabilities: full-sum, soft alignment, Viterbi.

A path through utterance ``b``'s graph takes one frame-consuming arc per frame ``t < lengths[b]``
and then one arc into the final state. Its score is (paper Eq. 6, log domain)::

    sum_t  alpha * log p(y_t | x)  -  beta * log p(y_t)  +  gamma * w(arc_t)   +  gamma * w(final arc)

with ``alpha = posterior_scale``, ``beta = prior_scale``, ``gamma = transition_scale``, ``y_t`` the
arc label and ``w`` the arc score stored in the graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from ..fsa import FsaVec
from . import recursion
from .dense_graph import DenseGraph, compile_graph

BACKENDS = ("auto", "torch", "numba")


SMALL_WORK = 100_000
"""``"auto"`` on CPU runs the forward-backward of one utterance of at most this many frames x graph
states with the torch backend: its frame loop then costs less than loading Numba and its compiled
kernels (about 0.6 s of CPU, most of `fsttopo align`'s start-up on a short file). The two backends'
posteriors agree to float rounding (``tests/test_engine_brute.py``), so an utterance's posterior
boundaries do not depend on what it is batched with beyond that; Viterbi keeps Numba (in float32
the backends add in different orders and may break a near-tie differently)."""


def _kernels(emissions: torch.Tensor, graph: DenseGraph, backend: str, best_path: bool = False):
    """The module that runs the frame recursions over ``emissions`` ``[B, T, V]`` and ``graph``:
    Numba on CPU, torch on other devices and, unless ``best_path``, for a single small utterance
    (:data:`SMALL_WORK`)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    device = emissions.device
    B, T = emissions.shape[:2]
    small = not best_path and B == 1 and T * graph.in_label.shape[1] <= SMALL_WORK
    if backend == "torch" or (backend == "auto" and (device.type != "cpu" or small)):
        return recursion
    if device.type != "cpu":
        raise ValueError(f"the numba backend runs on CPU tensors only, got device {device}")
    from . import numba_kernels

    return numba_kernels

__all__ = ["full_sum", "soft_alignment", "state_posteriors", "viterbi", "ViterbiResult", "NoPathError",
           "prepare_inputs", "scaled_emissions"]


class NoPathError(ValueError):
    """No path of the graph fits the utterance's frames (e.g. more labels than frames).

    Attributes:
        utterances: batch indices of the utterances without a path.
    """

    def __init__(self, utterances: list[int], message: str) -> None:
        super().__init__(message)
        self.utterances = list(utterances)


@dataclass
class ViterbiResult:
    """Best path per utterance.

    Attributes:
        labels: ``[B, T]`` int64 label emitted at each frame, ``-1`` on padding frames.
        states: ``[B, T]`` int64 graph state entered at each frame, ``-1`` on padding frames.
        arcs: ``[B, T]`` int64 arc index (into ``FsaVec.arcs``) taken at each frame, ``-1`` on padding.
        scores: ``[B]`` best path score (same scaling as :func:`full_sum`); ``-inf`` when infeasible.
        lengths: ``[B]`` int64 frames per utterance.
    """

    labels: torch.Tensor
    states: torch.Tensor
    arcs: torch.Tensor
    scores: torch.Tensor
    lengths: torch.Tensor


def scaled_emissions(
    log_probs: torch.Tensor,
    lengths: torch.Tensor | Sequence[int],
    posterior_scale: float,
    log_prior: torch.Tensor | None,
    prior_scale: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate per-frame log-probabilities and lengths, and apply the posterior and prior scales.

    Args:
        log_probs: ``[B, T, V]`` float32/float64; frames past ``lengths[b]`` may hold anything.
        lengths: ``[B]`` integer frame counts, each in ``[0, T]``.
        posterior_scale: alpha (> 0).
        log_prior: ``[V]`` log label prior, needed when ``prior_scale != 0``.
        prior_scale: beta.

    Returns:
        ``lengths`` as ``[B]`` int64 on the input device, and the emissions
        ``alpha * log_probs - beta * log_prior`` (``[B, T, V]``).
    """
    if not torch.is_tensor(log_probs):
        raise TypeError(f"log_probs must be a torch.Tensor, got {type(log_probs).__name__}")
    if log_probs.ndim != 3:
        raise ValueError(f"log_probs must have shape [B, T, V], got {tuple(log_probs.shape)}")
    if log_probs.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"log_probs must be float32 or float64, got {log_probs.dtype}")
    B, T, V = log_probs.shape
    device = log_probs.device
    lengths = torch.as_tensor(lengths)
    if lengths.ndim != 1 or lengths.shape[0] != B:
        raise ValueError(f"lengths must have shape [{B}], got {tuple(lengths.shape)}")
    if lengths.is_floating_point() or lengths.dtype == torch.bool:
        raise ValueError(f"lengths must be integers (frames), got {lengths.dtype}")
    lengths = lengths.to(device=device, dtype=torch.int64)
    lens_cpu = lengths.cpu()
    if bool((lens_cpu < 0).any()) or bool((lens_cpu > T).any()):
        bad = int(torch.nonzero((lens_cpu < 0) | (lens_cpu > T))[0])
        raise ValueError(f"lengths[{bad}] = {int(lens_cpu[bad])} is outside [0, T={T}]")
    if not (posterior_scale > 0):
        raise ValueError(f"posterior_scale must be > 0, got {posterior_scale}")
    top = log_probs.detach().amax()  # one pass; NaN and +inf both propagate to the max
    if bool(torch.isnan(top)) or bool(top == float("inf")):
        valid = torch.arange(T, device=device)[None, :] < lengths[:, None]
        bad = (torch.isnan(log_probs) | (log_probs == float("inf"))).any(dim=2) & valid
        if bool(bad.any()):
            b, t = (int(x) for x in torch.nonzero(bad)[0])
            raise ValueError(f"log_probs contain NaN or +inf (utterance {b}, frame {t})")

    emissions = log_probs * posterior_scale if posterior_scale != 1.0 else log_probs
    if prior_scale != 0.0:
        if log_prior is None:
            raise ValueError(f"prior_scale={prior_scale} needs a log_prior")
        if not torch.is_tensor(log_prior) or log_prior.shape != (V,):
            shape = tuple(log_prior.shape) if torch.is_tensor(log_prior) else type(log_prior).__name__
            raise ValueError(f"log_prior must have shape [V={V}], got {shape}")
        if bool(torch.isnan(log_prior).any()) or bool((log_prior == float("inf")).any()):
            raise ValueError("log_prior contains NaN or +inf")
        emissions = emissions - prior_scale * log_prior.to(device=device, dtype=log_probs.dtype)
    return lengths, emissions


def prepare_inputs(
    log_probs: torch.Tensor,
    lengths: torch.Tensor | Sequence[int],
    graphs: FsaVec,
    posterior_scale: float,
    log_prior: torch.Tensor | None,
    prior_scale: float,
    transition_scale: float,
) -> tuple[DenseGraph, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Validate the engine's inputs and apply the scales (for code built on the engine, e.g. soft-DP).

    Returns (compiled graph, lengths [B] int64, emissions [B,T,V], slot weights [B,N,M],
    final-arc weights [B,F])."""
    if torch.is_tensor(log_probs) and log_probs.ndim == 3:
        if not isinstance(graphs, FsaVec):
            raise TypeError(f"graphs must be an FsaVec, got {type(graphs).__name__}")
        if len(graphs) != log_probs.shape[0]:
            raise ValueError(f"got {len(graphs)} graphs for a batch of {log_probs.shape[0]} utterances")
    lengths, emissions = scaled_emissions(log_probs, lengths, posterior_scale, log_prior, prior_scale)
    graph = compile_graph(graphs, log_probs.device)
    if graph.max_label >= log_probs.shape[2]:
        raise ValueError(f"graph label id {graph.max_label} out of range for log_probs with "
                         f"V={log_probs.shape[2]} classes")
    # padding frames may hold anything (even NaN): every backend ignores frames past lengths[b]

    scores = graphs.scores.to(device=log_probs.device, dtype=log_probs.dtype)
    neg_inf = scores.new_full((), float("-inf"))
    weights = _scaled(scores, graph.in_arc, transition_scale, neg_inf)
    final = _scaled(scores, graph.final_arc, transition_scale, neg_inf)
    return graph, lengths, emissions, weights, final


def _scaled(scores: torch.Tensor, arc_index: torch.Tensor, scale: float, neg_inf: torch.Tensor) -> torch.Tensor:
    mask = arc_index >= 0
    if scale == 0.0:
        return torch.where(mask, neg_inf.new_zeros(()), neg_inf)
    return torch.where(mask, scores[arc_index.clamp(min=0)] * scale, neg_inf)


class _FullSum(torch.autograd.Function):
    """log-likelihood [B] from emissions [B,T,V], slot weights [B,N,M], final weights [B,F].

    The backward pass runs the beta recursion itself instead of differentiating through T steps.
    """

    @staticmethod
    def forward(ctx, emissions, weights, final, graph: DenseGraph, lengths, kernels):
        alpha = kernels.forward(emissions, weights, graph, lengths)
        total = torch.logsumexp(recursion.final_scores(alpha[:, -1], final, graph), dim=1)
        ctx.graph = graph
        ctx.kernels = kernels
        ctx.save_for_backward(emissions, weights, alpha, final, lengths, total)
        return total

    @staticmethod
    def backward(ctx, grad_total):
        emissions, weights, alpha, final, lengths, total = ctx.saved_tensors
        graph = ctx.graph
        end = recursion.end_weights(final, graph)
        g = grad_total.to(emissions.dtype)
        grad_em = grad_w = grad_f = None
        if ctx.needs_input_grad[1]:
            occ_em, occ_w = ctx.kernels.backward_occupancy(emissions, weights, alpha, end, total, graph, lengths)
            grad_w = occ_w * g[:, None, None]
        elif ctx.needs_input_grad[0]:
            occ_em = _emission_occupancy(emissions, weights, alpha, end, total, graph, lengths, ctx.kernels)
        if ctx.needs_input_grad[0]:
            grad_em = occ_em.mul_(g[:, None, None])
        if ctx.needs_input_grad[2]:
            ok = torch.isfinite(total)
            fin = recursion.final_scores(alpha[:, -1], final, graph) - torch.where(ok, total, 0.0)[:, None]
            grad_f = torch.where(ok[:, None], fin.exp(), 0.0) * g[:, None]
        return grad_em, grad_w, grad_f, None, None, None


def full_sum(
    log_probs: torch.Tensor,
    lengths: torch.Tensor | Sequence[int],
    graphs: FsaVec,
    *,
    posterior_scale: float = 1.0,
    log_prior: torch.Tensor | None = None,
    prior_scale: float = 0.0,
    transition_scale: float = 1.0,
    zero_infinity: bool = False,
    backend: str = "auto",
) -> torch.Tensor:
    """Log of the sum over all paths of each graph (paper Eq. 6); the negative is the loss.

    Args:
        log_probs: ``[B, T, V]`` float32/float64 per-frame log-probabilities (log-softmax output).
        lengths: ``[B]`` number of valid frames per utterance (``<= T``).
        graphs: ``B`` graphs (e.g. from :func:`fsttopo.ctc_graph` / :func:`fsttopo.hmm_graph`).
        posterior_scale: alpha, scales ``log_probs``.
        log_prior: ``[V]`` log label prior ``log p(y)``; needed when ``prior_scale != 0``.
        prior_scale: beta; ``beta * log_prior`` is subtracted from every frame.
        transition_scale: gamma, scales the graph's arc scores.
        zero_infinity: return 0 (and zero gradients) for utterances with no path in their number
            of frames instead of ``-inf``, like ``torch.nn.functional.ctc_loss``.
        backend: ``"auto"`` (compiled Numba kernels on CPU, torch on other devices and for the
            forward-backward of one small utterance, :data:`SMALL_WORK`), ``"torch"``
            (the plain-torch reference, any device) or ``"numba"`` (CPU only).

    Returns:
        ``[B]`` log-likelihoods, differentiable w.r.t. ``log_probs``, ``log_prior`` and
        ``graphs.scores``. The gradient w.r.t. ``log_probs`` is ``posterior_scale`` times the soft
        alignment (:func:`soft_alignment`); utterances without a path get ``-inf`` and zero gradient.
    """
    graph, lengths, emissions, weights, final = prepare_inputs(
        log_probs, lengths, graphs, posterior_scale, log_prior, prior_scale, transition_scale)
    kernels = _kernels(emissions, graph, backend)
    total = _FullSum.apply(emissions, weights, final, graph, lengths, kernels)
    if zero_infinity:
        total = torch.where(torch.isfinite(total), total, total.new_zeros(()))
    return total


@torch.no_grad()
def soft_alignment(
    log_probs: torch.Tensor,
    lengths: torch.Tensor | Sequence[int],
    graphs: FsaVec,
    *,
    posterior_scale: float = 1.0,
    log_prior: torch.Tensor | None = None,
    prior_scale: float = 0.0,
    transition_scale: float = 1.0,
    backend: str = "auto",
) -> torch.Tensor:
    """Posterior probability of each label at each frame under the graph (paper Eq. 9).

    Same arguments as :func:`full_sum` (without ``zero_infinity``). Returns ``[B, T, V]`` (dtype of ``log_probs``); each valid
    frame sums to 1, padding frames and utterances without a path are all zeros.
    """
    graph, lengths, emissions, weights, final = prepare_inputs(
        log_probs, lengths, graphs, posterior_scale, log_prior, prior_scale, transition_scale)
    return _label_occupancy(emissions, weights, final, graph, lengths, _kernels(emissions, graph, backend))


def _label_occupancy(emissions: torch.Tensor, weights: torch.Tensor, final: torch.Tensor, graph: DenseGraph,
                     lengths: torch.Tensor, kernels) -> torch.Tensor:
    """Forward-backward over prepared inputs: posterior occupancy of each label ``[B, T, V]``."""
    alpha = kernels.forward(emissions, weights, graph, lengths)
    total = torch.logsumexp(recursion.final_scores(alpha[:, -1], final, graph), dim=1)
    return _emission_occupancy(emissions, weights, alpha, recursion.end_weights(final, graph), total, graph,
                               lengths, kernels)


def _emission_occupancy(emissions: torch.Tensor, weights: torch.Tensor, alpha: torch.Tensor, end: torch.Tensor,
                        total: torch.Tensor, graph: DenseGraph, lengths: torch.Tensor, kernels) -> torch.Tensor:
    """Posterior occupancy of each label ``[B, T, V]`` (the gradient of the log-likelihood w.r.t. the
    emissions). Where every state is entered by arcs of one label (the topologies' graphs), it is the
    state occupancy ``[B, T, N]`` summed per label: one exp per state and frame instead of one per arc
    (the full-sum backward took 136 instead of 216 ms at B=16, T=500, S=100); other graphs take the
    per-arc occupancy."""
    first = graph.in_label[:, :, :1]
    if not bool(((graph.in_label == first) | ~graph.in_mask).all()):
        return kernels.backward_occupancy(emissions, weights, alpha, end, total, graph, lengths)[0]
    occ = kernels.state_occupancy(emissions, weights, alpha, end, total, graph, lengths)
    B, T, N = occ.shape
    labels = first[:, None, :, 0].clamp(min=0).expand(B, T, N)  # states without entering arcs have occupancy 0
    return torch.zeros_like(emissions).scatter_add_(2, labels, occ)


@torch.no_grad()
def state_posteriors(
    log_probs: torch.Tensor,
    lengths: torch.Tensor | Sequence[int],
    graphs: FsaVec,
    *,
    posterior_scale: float = 1.0,
    log_prior: torch.Tensor | None = None,
    prior_scale: float = 0.0,
    transition_scale: float = 1.0,
    backend: str = "auto",
) -> torch.Tensor:
    """Posterior probability that the arc taken at each frame enters each graph state.

    Same arguments as :func:`soft_alignment`. Where :func:`soft_alignment` sums over the states
    that share a label, this keeps them apart (e.g. the silence before word 3 from the one after
    it), which is what posterior-mean segment boundaries need
    (:func:`fsttopo.align.expected_segments`).

    Returns:
        ``[B, T, N]`` (dtype of ``log_probs``; ``N`` = largest number of states in the batch, state
        ids as in ``graphs``); each valid frame sums to 1; padding frames, padding states and
        utterances without a path are zeros.
    """
    graph, lengths, emissions, weights, final = prepare_inputs(
        log_probs, lengths, graphs, posterior_scale, log_prior, prior_scale, transition_scale)
    kernels = _kernels(emissions, graph, backend)
    alpha = kernels.forward(emissions, weights, graph, lengths)
    total = torch.logsumexp(recursion.final_scores(alpha[:, -1], final, graph), dim=1)
    return kernels.state_occupancy(emissions, weights, alpha, recursion.end_weights(final, graph), total, graph,
                                   lengths)


@torch.no_grad()
def viterbi(
    log_probs: torch.Tensor,
    lengths: torch.Tensor | Sequence[int],
    graphs: FsaVec,
    *,
    posterior_scale: float = 1.0,
    log_prior: torch.Tensor | None = None,
    prior_scale: float = 0.0,
    transition_scale: float = 1.0,
    allow_infeasible: bool = False,
    backend: str = "auto",
) -> ViterbiResult:
    """Best path of each graph through the frames (max instead of sum in Eq. 6).

    Same arguments as :func:`full_sum`. An utterance whose graph has no path in its number of
    frames (e.g. more labels than frames) raises ``ValueError`` unless ``allow_infeasible=True``,
    which returns score ``-inf`` and all ``-1`` labels/states/arcs for it.

    Returns:
        :class:`ViterbiResult` (tensors on the CPU except ``scores``, which stays on the input device).
    """
    graph, lengths, emissions, weights, final = prepare_inputs(
        log_probs, lengths, graphs, posterior_scale, log_prior, prior_scale, transition_scale)
    kernels = _kernels(emissions, graph, backend, best_path=True)
    best, arcs = kernels.viterbi_path(emissions, weights, final, graph, lengths)
    feasible = torch.isfinite(best)
    if not allow_infeasible and not bool(feasible.all()):
        bad = torch.nonzero(~feasible).flatten().tolist()
        raise NoPathError(
            bad, f"no path through the graph of utterance(s) {bad} in their number of frames "
            f"(lengths {[int(lengths[b]) for b in bad]}): e.g. more labels than frames; "
            "pass allow_infeasible=True to get -inf scores and empty paths instead")
    arcs_safe = arcs.clamp(min=0)
    labels = torch.where(arcs >= 0, graphs.arcs[arcs_safe, 2], -1)
    states = torch.where(arcs >= 0, graphs.arcs[arcs_safe, 1], -1)
    return ViterbiResult(labels=labels, states=states, arcs=arcs, scores=best, lengths=lengths.cpu())
