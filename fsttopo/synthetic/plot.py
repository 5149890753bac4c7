"""Plot one alignment: model posteriors with the reference and the Viterbi path on top."""

from __future__ import annotations

from pathlib import Path

from .train import Example

__all__ = ["plot_alignment"]


def plot_alignment(example: Example, path: str | Path, title: str = "") -> Path:
    """Write a PNG of ``example`` (posteriors in grey, reference green, Viterbi red) to ``path``."""
    from ..data.plot import pyplot, save_figure

    plt = pyplot()
    T, V = example.posteriors.shape
    fig, ax = plt.subplots(figsize=(max(6.0, 0.12 * T + 2), 3.5))
    ax.imshow(example.posteriors.T.numpy(), aspect="auto", origin="lower", cmap="Greys",
              interpolation="nearest", vmin=0.0, vmax=1.0)
    t = range(T)
    ax.step(t, example.reference.numpy(), where="mid", color="tab:green", lw=2.5, label="reference")
    ax.step(t, example.viterbi.numpy(), where="mid", color="tab:red", lw=1.2, ls="--", label="Viterbi")
    ax.set_yticks(range(V), example.symbols)
    ax.set_xlabel("frame")
    ax.set_ylabel("label")
    ax.set_title(title or "posteriors (grey), reference and Viterbi alignment", fontsize=9)
    ax.legend(loc="upper right", fontsize=8)
    return save_figure(fig, path)
