"""Choosing among a word's pronunciations with the acoustic model (the ``pronunciation_variants`` align option).

A lexicon often has several pronunciations of a word: CMUdict gives "the" as ``dh ah`` and ``dh
iy``, "to" as ``t uw``, ``t ih`` and ``t ah``, "and" as ``ah n d`` and ``ae n d``; an MFA
dictionary lists a speaker's reduced forms. One fixed pronunciation puts the phones of a form the
speaker did not say on the audio, and the word's edges move to make room for it. Here the graph
holds every pronunciation of such a word side by side (:class:`fsttopo.topology.Alternatives`), the
best path through the utterance's frames picks one per word (Kaldi's and MFA's alignment do the
same with their lexicon FSTs), and the alignment runs on the chosen ones as if the transcript
had been pronounced so: every option (posterior boundaries, phases, refinement) works as before.

The choice is made once, on the first phase's scores, with the same blank penalty, prior and
transitions as the alignment. A pronunciation other than the word's own (the lexicon's most
probable, CMUdict's first) costs ``variant_penalty`` nats on the path, and one less probable than
the best ``-log`` of the ratio of their probabilities (an MFA dictionary's): the acoustic model must
prefer it by that much. Without the penalty the model's frame scores, which tell reduced vowels
(``ah``, ``ih``, ``iy``) apart poorly, swap in a wrong variant about as often as a right one
(docs/alignment.md). Each utterance chooses on its own frames: the choice does not depend on what
it is batched with.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from ..align.segments import path_segments
from ..data.pronounce import PronouncedTranscript
from ..engine import viterbi
from ..fsa import FsaVec
from ..names import VARIANT_PENALTY
from ..topology import Alternatives, Transitions, build_graphs, word_size

__all__ = ["VARIANT_PENALTY", "check_variant_penalty", "choose_pronunciations"]


def check_variant_penalty(value: object) -> float:
    """``value`` as a float, ValueError unless it is a finite number >= 0 (nats)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ValueError(f"variant_penalty must be a finite number of nats >= 0, got {value!r}")
    return float(value)


def choose_pronunciations(
    scores: torch.Tensor,
    lengths: torch.Tensor,
    transcripts: Sequence[PronouncedTranscript],
    topology: str,
    transitions: Transitions | None = None,
    transition_scale: float = 0.0,
    variant_penalty: float = VARIANT_PENALTY,
) -> list[PronouncedTranscript]:
    """Each transcript with every word that has variants pronounced as the best path takes it.

    Args:
        scores: ``[B, T, V]`` float emission scores (log domain, model frames), as the alignment uses.
        lengths: ``[B]`` int valid frames per utterance.
        transcripts: ``B`` transcripts from :func:`fsttopo.data.pronounce.pronounce_transcript`
            with ``variants=True``; the words without variants keep their pronunciation.
        topology: graph topology (:data:`fsttopo.topology.TOPOLOGIES`).
        transitions, transition_scale: HMM transition weights and their scale, as the alignment's.
        variant_penalty: nats (>= 0) a pronunciation other than the word's own costs (module docstring).

    Returns:
        ``B`` transcripts without variants. A transcript whose variant graph has no path in its
        frames keeps its first pronunciations (the alignment then says why it cannot place them).
    """
    if scores.ndim != 3 or scores.shape[0] != len(transcripts) or len(lengths) != len(transcripts):
        raise ValueError(f"scores must be [B, T, V] with one row and length per transcript, got "
                         f"{tuple(scores.shape)}, {len(lengths)} lengths, {len(transcripts)} transcripts")
    variant_penalty = check_variant_penalty(variant_penalty)
    out = [t.with_choices([0] * len(t)) for t in transcripts]
    todo = [b for b, t in enumerate(transcripts) if t.has_variants]
    if not todo:
        return out
    words = [transcripts[b].variant_words() for b in todo]
    graphs = _with_variant_costs(build_graphs(words, topology, scores.shape[-1], transitions),
                                 words, [transcripts[b].variant_costs(variant_penalty) for b in todo],
                                 transition_scale if transitions is not None else 0.0)
    index = torch.tensor(todo)
    # the torch backend whatever the batch: one utterance's choice never depends on its batch (the
    # backends may break a float32 near-tie differently), and a short file's path needs no Numba
    path = viterbi(scores[index.to(scores.device)], torch.as_tensor(lengths)[index], graphs,
                   transition_scale=1.0, allow_infeasible=True, backend="torch")
    segments = path_segments(path, graphs, level="token")
    for row, b in enumerate(todo):
        if not torch.isfinite(path.scores[row]):  # keeps its first pronunciations
            continue
        visited = {seg.index for seg in segments[row]}
        choices, first = [], 0
        for word in words[row]:
            size = word_size(word)
            if isinstance(word, Alternatives):
                choices.append(word.taken(min(t for t in visited if first <= t < first + size) - first))
            else:
                choices.append(0)
            first += size
        out[b] = transcripts[b].with_choices(choices)
    return out


def _with_variant_costs(graphs: FsaVec, words: list[list], costs: list[list[tuple[float, ...]]],
                        transition_scale: float) -> FsaVec:
    """``graphs`` with arc weights ``transition_scale * weight - cost``, where an arc entering the
    first state of a word's sequence (from another state) pays that sequence's cost: the weights
    :func:`~fsttopo.engine.viterbi` then takes at ``transition_scale=1``."""
    B = len(words)
    width = max(sum(word_size(w) for w in utt) for utt in words)
    table = torch.zeros(B, width, dtype=graphs.scores.dtype)
    for b, (utt, utt_costs) in enumerate(zip(words, costs)):
        first, alternatives = 0, iter(utt_costs)
        for word in utt:
            if isinstance(word, Alternatives):
                head = first
                for seq, cost in zip(word.sequences, next(alternatives)):
                    table[b, head] = cost
                    head += len(seq)
            first += word_size(word)
    token = graphs.aux["token"]
    entering = (graphs.arcs[:, 0] != graphs.arcs[:, 1]) & (token >= 0)
    cost = torch.where(entering, table[graphs.arc_batch, token.clamp(min=0)], torch.zeros((), dtype=table.dtype))
    return FsaVec.from_tensors(graphs.arcs, graphs.scores * transition_scale - cost, graphs.aux,
                               graphs.arc_splits[1:] - graphs.arc_splits[:-1], graphs.num_states)
