"""A small end-to-end run on generated data: compile graphs, train with the full-sum loss, align.

The data follow the paper's synthetic recipe in miniature (sec. 6.1): words are spelled in
characters, each character repeats for a few frames, silence is spread before/between/after words,
and features are noisy one-hot vectors of the reference frame labels (Eq. 26). A one-layer
feed-forward model is trained with the HMM full-sum loss and a stop-gradient posterior-average
prior (the paper's best setting for this model, Table 10); the Viterbi alignment of a held-out
batch is then compared with the reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from .align import Segment, path_segments
from .engine import full_sum, viterbi
from .topology import hmm_graph

WORDS = ("helo", "world", "howe", "are", "you")
CHARS = sorted(set("".join(WORDS)))
SILENCE = 0
SYMBOLS = {0: "_", **{i + 1: c for i, c in enumerate(CHARS)}}


@dataclass
class Batch:
    features: torch.Tensor        # [B, T, V] float32
    lengths: torch.Tensor         # [B] frames
    words: list[list[list[int]]]  # per utterance, per word, label ids
    reference: torch.Tensor       # [B, T] int64 reference frame labels, -1 on padding
    word_spans: list[list[tuple[int, int]]]  # reference (start, end) frame per word, end exclusive


def make_batch(batch_size: int, noise: float, generator: torch.Generator) -> Batch:
    """Generated utterances of 1-3 words, 2-4 frames per character, silence 30% of speech frames."""
    utts, refs, spans = [], [], []
    for _ in range(batch_size):
        n_words = int(torch.randint(1, 4, (1,), generator=generator))
        idx = torch.randint(0, len(WORDS), (n_words,), generator=generator).tolist()
        words = [[CHARS.index(c) + 1 for c in WORDS[i]] for i in idx]
        reps = [[int(torch.randint(2, 5, (1,), generator=generator)) for _ in w] for w in words]
        speech = sum(sum(r) for r in reps)
        n_sil = round(0.3 * speech)
        # silence frames fall uniformly into the n_words + 1 gaps
        gaps = torch.bincount(torch.randint(0, n_words + 1, (n_sil,), generator=generator),
                              minlength=n_words + 1).tolist()
        frames, word_span = [SILENCE] * gaps[0], []
        for w, (word, rep) in enumerate(zip(words, reps)):
            start = len(frames)
            for lab, r in zip(word, rep):
                frames += [lab] * r
            word_span.append((start, len(frames)))
            frames += [SILENCE] * gaps[w + 1]
        utts.append(words)
        refs.append(torch.tensor(frames))
        spans.append(word_span)
    lengths = torch.tensor([len(r) for r in refs])
    T, V = int(lengths.max()), len(CHARS) + 1
    reference = torch.full((batch_size, T), -1, dtype=torch.int64)
    for b, r in enumerate(refs):
        reference[b, : len(r)] = r
    onehot = torch.nn.functional.one_hot(reference.clamp(min=0), V).float()
    features = (1 - noise) * onehot + noise * torch.randn(batch_size, T, V, generator=generator)
    return Batch(features, lengths, utts, reference, spans)


def word_boundary_error(hyp: list[list[Segment]], ref: list[list[tuple[int, int]]]) -> float:
    """Mean over words of (|start diff| + |end diff|) / 2, in frames."""
    diffs = [(abs(h.start - r[0]) + abs(h.end - r[1])) / 2 for hs, rs in zip(hyp, ref) for h, r in zip(hs, rs)]
    return sum(diffs) / max(len(diffs), 1)


def run_demo(steps: int = 300, batch_size: int = 32, noise: float = 0.3, seed: int = 0,
             out_dir: str | Path = "exp/demo") -> dict:
    """Train a tiny model on generated data and align a held-out batch. Returns the metrics."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    V = len(CHARS) + 1
    model = torch.nn.Linear(V, V)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    alpha, beta = 0.5, 0.5
    progress = tqdm(range(steps), desc="training (HMM full-sum, prior)", unit="step")
    for _ in progress:
        batch = make_batch(batch_size, noise, gen)
        graphs = hmm_graph(batch.words, silence=SILENCE, num_classes=V)
        log_probs = model(batch.features).log_softmax(-1)
        valid = (torch.arange(log_probs.shape[1])[None] < batch.lengths[:, None]).float()[..., None]
        # posterior average over the batch's frames, with stop-gradient (paper Table 10)
        prior = ((log_probs.exp() * valid).sum((0, 1)) / valid.sum()).log().detach()
        ll = full_sum(log_probs, batch.lengths, graphs, posterior_scale=alpha,
                      log_prior=prior, prior_scale=beta)
        loss = -(ll / batch.lengths).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        progress.set_postfix(loss=f"{loss.item():.3f}")

    test = make_batch(8, noise, gen)
    graphs = hmm_graph(test.words, silence=SILENCE, num_classes=V)
    with torch.no_grad():
        log_probs = model(test.features).log_softmax(-1)
    result = viterbi(log_probs, test.lengths, graphs)
    words = path_segments(result, graphs, level="word")
    valid = test.reference >= 0
    frame_acc = (result.labels[valid] == test.reference[valid]).float().mean().item()
    tse = word_boundary_error(words, test.word_spans)

    print("\nutterance 0")
    print("  reference:", "".join(SYMBOLS[int(x)] for x in test.reference[0, : test.lengths[0]]))
    print("  viterbi:  ", "".join(SYMBOLS[int(x)] for x in result.labels[0, : test.lengths[0]]))
    for seg, (rs, re) in zip(words[0], test.word_spans[0]):
        text = "".join(SYMBOLS[lab] for lab in test.words[0][seg.index])
        print(f"  word {seg.index} {text!r:8} frames [{seg.start:3d}, {seg.end:3d})   reference [{rs:3d}, {re:3d})")
    print(f"\nframe accuracy {frame_acc:.3f}, word boundary error {tse:.2f} frames over {len(test.words)} utterances")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plot = out / "alignment.png"
    _plot(log_probs[0, : test.lengths[0]].exp(), test.reference[0, : test.lengths[0]],
          result.labels[0, : test.lengths[0]], plot)
    print(f"plot: {plot}")
    return {"frame_accuracy": frame_acc, "word_boundary_error_frames": tse, "plot": str(plot)}


def _plot(posteriors: torch.Tensor, reference: torch.Tensor, path_labels: torch.Tensor, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 3.5))
    ax.imshow(posteriors.T.numpy(), aspect="auto", origin="lower", cmap="Greys", interpolation="nearest")
    t = torch.arange(len(reference))
    ax.step(t, reference.numpy(), where="mid", color="tab:green", lw=2, label="reference")
    ax.step(t, path_labels.numpy(), where="mid", color="tab:red", lw=1, ls="--", label="Viterbi")
    ax.set_yticks(range(len(SYMBOLS)), [SYMBOLS[i] for i in range(len(SYMBOLS))])
    ax.set_xlabel("frame")
    ax.set_ylabel("label")
    ax.set_title("posteriors (grey) with reference and Viterbi alignment")
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
