"""Draw the GradScore matrix with its best path, like the paper's Figure 1 (``gradscore.png``).

Trains a tiny convolutional CTC model for a few seconds on synthetic data in the spirit of the
paper's sec. 6.1 (words "helo world howe are you" spelled as characters, every character held for
2-5 frames, silence frames between words; features are the noisy one-hot code of the frame's
label), then computes ``G = log ||d log p_CTC(a_s | a_<s, x) / d x_t||_{0.1}`` (blank gradient
masked) on a held-out utterance and plots ``log softmax_t(G)`` with the GradScoreExt path and
the true segments.

Run: ``.venv/bin/python docs/figures/make_gradscore_figure.py`` (about 10-20 s on 2 CPU cores).
"""

from __future__ import annotations

import random
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from fsttopo.align import ctc_label_scores_fn, grad_score_ext, align_frame_scores, gradient_log_norms  # noqa: E402

WORDS = ["helo", "world", "howe", "are", "you"]
CHARS = sorted(set("".join(WORDS)))  # 10 labels; id 0 is blank/silence
V = len(CHARS) + 1
OUT = Path(__file__).with_name("gradscore.png")


def sample(rng: random.Random) -> tuple[list[int], list[int]]:
    """(frame labels with 0 = silence, label sequence) of one synthetic utterance."""
    words = [rng.choice(WORDS) for _ in range(rng.randint(2, 3))]
    frames: list[int] = [0] * rng.randint(1, 4)
    labels: list[int] = []
    for w in words:
        for c in w:
            lab = CHARS.index(c) + 1
            labels.append(lab)
            frames += [lab] * rng.randint(2, 5)
        frames += [0] * rng.randint(1, 4)
    return frames, labels


def features(frames: list[int], gen: torch.Generator) -> torch.Tensor:
    """``[T, V]`` noisy one-hot features."""
    x = torch.nn.functional.one_hot(torch.tensor(frames), V).float()
    return x + 0.6 * torch.randn(x.shape, generator=gen)


def batch(rng: random.Random, gen: torch.Generator, n: int):
    utts = [sample(rng) for _ in range(n)]
    T = max(len(f) for f, _ in utts)
    x = torch.zeros(n, T, V)
    for i, (f, _) in enumerate(utts):
        x[i, : len(f)] = features(f, gen)
    return x, torch.tensor([len(f) for f, _ in utts]), [lab for _, lab in utts], [f for f, _ in utts]


def main() -> None:
    rng, gen = random.Random(0), torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv1d(V, 64, 5, padding=2), torch.nn.ReLU(),
                              torch.nn.Conv1d(64, 64, 5, padding=2), torch.nn.ReLU(), torch.nn.Conv1d(64, V, 1))
    model = lambda x: net(x.transpose(1, 2)).transpose(1, 2)  # noqa: E731 - [B, T, V] -> logits [B, T, V]
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for step in range(300):
        x, lengths, targets, _ = batch(rng, gen, 16)
        flat = torch.tensor([lab for t in targets for lab in t])
        loss = torch.nn.functional.ctc_loss(model(x).log_softmax(-1).transpose(0, 1), flat, lengths,
                                            torch.tensor([len(t) for t in targets]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"CTC loss after {step + 1} steps: {loss.item():.3f}")

    net.eval()
    x, lengths, targets, frames = batch(rng, gen, 1)
    fn = ctc_label_scores_fn(model, lengths, targets, mask_blank_grad=True)
    G = gradient_log_norms(fn, x, lengths, [len(targets[0])], p=0.1)
    scores = grad_score_ext(G, lengths, [len(targets[0])])
    ali = align_frame_scores(scores, lengths, targets)
    lsm = G[0].log_softmax(dim=1)  # log softmax over time (Eq. 43), [S, T]

    truth, t = [], 0
    for f in frames[0] + [-1]:
        if truth and truth[-1][0] == f:
            truth[-1][2] = t + 1
        else:
            truth.append([f, t, t + 1])
        t += 1
    truth = [(a, e) for f, a, e in truth if f > 0]
    hyp = [(sg.start, sg.end) for sg in ali.segments[0]]
    err = sum(abs(a - ha) + abs(e - he) for (a, e), (ha, he) in zip(truth, hyp)) / (2 * len(hyp))
    print(f"mean boundary error of GradScoreExt vs the synthetic truth: {err:.2f} frames")

    S, T = lsm.shape
    fig, ax = plt.subplots(figsize=(max(6.0, T / 8), max(3.0, S / 3)))
    im = ax.imshow(lsm.clamp(min=-15).numpy(), aspect="auto", origin="lower", cmap="viridis",
                   interpolation="nearest")
    fig.colorbar(im, ax=ax, label=r"$\log\,\mathrm{softmax}_t\,G$")
    for s, (a, e) in enumerate(truth):
        ax.add_patch(plt.Rectangle((a - 0.5, s - 0.5), e - a, 1, fill=False, ec="red", lw=1.2))
    tok = ali.tokens[0]
    path_t = [t for t in range(T) if tok[t] >= 0]
    ax.plot(path_t, [int(tok[t]) for t in path_t], "w.", ms=5, label="GradScoreExt path")
    ax.plot([], [], "s", mfc="none", mec="red", label="true segment")
    ax.set_yticks(range(S), [CHARS[lab - 1] for lab in targets[0]])
    ax.set_xlabel("input frame t")
    ax.set_ylabel("label s")
    ax.set_title(r"$\log\,\mathrm{softmax}_t\,\log\|\nabla_{x_t}\log p_{CTC}(a_s|a_{<s},x)\|_{0.1}$")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT, dpi=120)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
