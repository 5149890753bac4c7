"""Draw the GradScore matrix with its best path, like the paper's Figure 1 (``gradscore.png``).

Trains a tiny convolutional CTC model (receptive field 9 frames) for a few seconds on the
synthetic data of the paper's sec. 6.1 (:mod:`fsttopo.synthetic.data`: words "helo world howe are
you" spelled in characters, 2-5 frames per character, silence between words, noisy one-hot
features), then computes ``G = log ||d log p_CTC(a_s | a_<s, x) / d x_t||_{0.1}`` (blank gradient
masked) and plots ``log softmax_t(G)`` of a held-out utterance with the GradScoreExt path and the
true token segments. Also prints the word time stamp error (TSE) of GradScore and GradScoreExt on
32 held-out utterances.

Run: ``.venv/bin/python docs/figures/make_gradscore_figure.py`` (about 10 s; one torch thread, as
intra-op threads only slow these tiny tensors down on a shared 2-core CPU).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from fsttopo.align import (  # noqa: E402
    align_frame_scores, ctc_label_scores_fn, grad_score, grad_score_ext, gradient_log_norms)
from fsttopo.align import group_segments  # noqa: E402
from fsttopo.metrics import time_stamp_error  # noqa: E402
from fsttopo.synthetic.data import DataConfig, generate_batch  # noqa: E402

CONFIG = DataConfig(num_words=(2, 3), repetitions=(2, 5), silence_factor=(0.3, 0.6), noise=0.3)
OUT = Path(__file__).with_name("gradscore.png")


def train_model(gen: torch.Generator, steps: int = 300):
    """A conv CTC model ``x [B, T, D] -> logits [B, T, V]`` trained with torch's ctc_loss."""
    D = V = CONFIG.num_classes
    net = torch.nn.Sequential(torch.nn.Conv1d(D, 64, 5, padding=2), torch.nn.ReLU(),
                              torch.nn.Conv1d(64, 64, 5, padding=2), torch.nn.ReLU(), torch.nn.Conv1d(64, V, 1))
    model = lambda x: net(x.transpose(1, 2)).transpose(1, 2)  # noqa: E731
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(steps):
        data = generate_batch(CONFIG, 16, gen)
        targets = data.transcripts
        loss = torch.nn.functional.ctc_loss(
            model(data.features).log_softmax(-1).transpose(0, 1), torch.tensor([x for t in targets for x in t]),
            data.lengths, torch.tensor([len(t) for t in targets]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"CTC loss after {steps} steps: {loss.item():.3f}")
    net.eval()
    return model


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    model = train_model(gen)

    test = generate_batch(CONFIG, 32, gen)
    targets = test.transcripts
    label_lengths = [len(t) for t in targets]
    fn = ctc_label_scores_fn(model, test.lengths, targets, mask_blank_grad=True)
    G = gradient_log_norms(fn, test.features, test.lengths, label_lengths, p=0.1)
    alignments = {
        "GradScore": align_frame_scores(grad_score(G, test.lengths, label_lengths), test.lengths, targets),
        "GradScoreExt": align_frame_scores(grad_score_ext(G, test.lengths, label_lengths), test.lengths, targets),
    }
    for name, ali in alignments.items():
        hyp = [[(s.start, s.end) for s in group_segments(segs, [len(w) for w in words])]
               for segs, words in zip(ali.segments, test.words)]
        print(f"{name}: word TSE {time_stamp_error(hyp, test.word_spans):.2f} frames "
              f"(left/right), {time_stamp_error(hyp, test.word_spans, center=True):.2f} frames (center)")

    b = 0
    T, S = int(test.lengths[b]), label_lengths[b]
    lsm = G[b, :S, :T].log_softmax(dim=1)  # log softmax over time (Eq. 43), [S, T]
    ref = test.alignment[b, :T]
    change = torch.ones(T, dtype=torch.bool)
    change[1:] = ref[1:] != ref[:-1]
    starts = torch.nonzero(change).flatten().tolist()
    runs = [(a, e) for a, e in zip(starts, starts[1:] + [T]) if ref[a] != 0]  # one run per token

    fig, ax = plt.subplots(figsize=(max(6.0, T / 8), max(3.0, S / 3)))
    im = ax.imshow(lsm.clamp(min=-15).numpy(), aspect="auto", origin="lower", cmap="viridis",
                   interpolation="nearest")
    fig.colorbar(im, ax=ax, label=r"$\log\,\mathrm{softmax}_t\,G$")
    for s, (a, e) in enumerate(runs):
        ax.add_patch(plt.Rectangle((a - 0.5, s - 0.5), e - a, 1, fill=False, ec="red", lw=1.2))
    tok = alignments["GradScoreExt"].tokens[b]
    path_t = [t for t in range(T) if tok[t] >= 0]
    ax.plot(path_t, [int(tok[t]) for t in path_t], "w.", ms=5, label="GradScoreExt path")
    ax.plot([], [], "s", mfc="none", mec="red", label="true segment")
    symbols = CONFIG.symbols()
    ax.set_yticks(range(S), [symbols[lab] for lab in targets[b]])
    ax.set_xlabel("input frame t")
    ax.set_ylabel("label s")
    ax.set_title(r"$\log\,\mathrm{softmax}_t\,\log\|\nabla_{x_t}\log p_{CTC}(a_s|a_{<s},x)\|_{0.1}$")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT, dpi=120)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
