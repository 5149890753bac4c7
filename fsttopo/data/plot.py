"""Plots: features, posteriors and word/phone segments of one utterance (paper Figs. 5/6), and the
distribution of word-boundary errors of several aligners."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from .atomic import atomic_path

if TYPE_CHECKING:  # neither is imported at run time: the plot process (plot_process.py) draws without torch
    import torch

    from .alignment import TimedToken, UtteranceAlignment

__all__ = ["plot_alignment", "plot_boundary_errors", "pyplot", "save_figure"]

_MAX_ROWS = 50
"""Posterior rows shown: all labels up to this vocabulary size, else only labels that win a frame."""


def _array(x: torch.Tensor | np.ndarray, name: str) -> np.ndarray:
    arr = x.detach().cpu().float().numpy() if hasattr(x, "detach") else np.asarray(x, dtype=np.float32)
    if arr.ndim != 2 or 0 in arr.shape:
        raise ValueError(f"{name} must be a non-empty 2-D array [frames, dims], got shape {arr.shape}")
    return arr


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _figure(**kwargs):
    """A matplotlib figure outside pyplot (importing pyplot took a third of `fsttopo align`'s plot)."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def save_figure(fig, path: str | Path, dpi: int = 100, tight: bool = True) -> Path:
    """Write ``fig`` as an image to ``path`` (parent directories made; the format from its suffix;
    atomically: a reader sees the old file or the whole new one), close it (a pyplot figure), return
    the path. ``tight=False`` keeps the figure's own margins (``tight_layout`` draws the figure once
    more to measure it)."""
    if tight:
        fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=path.suffix[1:] or "png")
    if fig.canvas.manager is not None:
        pyplot().close(fig)
    return path


def _fitted(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars`` characters with an ellipsis (a long transcript's title would run
    off the figure: about 12 characters of 9 pt text per inch)."""
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"


def _draw_tokens(ax, row: float, tokens: Sequence[TimedToken], color: str) -> None:
    from matplotlib.colors import to_rgba

    # one bar collection per row, tokens alternately lighter and darker
    ax.broken_barh([(t.start, t.duration) for t in tokens], (row - 0.4, 0.8),
                   facecolors=[to_rgba(color, 0.35 + 0.25 * (i % 2)) for i in range(len(tokens))],
                   edgecolor="black", linewidth=0.5)
    for t in tokens:
        ax.text(t.center, row, t.symbol, ha="center", va="center", fontsize=7, clip_on=True)


def plot_alignment(features: torch.Tensor | np.ndarray, posteriors: torch.Tensor | np.ndarray,
                   alignment: UtteranceAlignment, path: str | Path, token_symbols: Sequence[str],
                   frame_shift: float, feature_shift: float = 0.01,
                   reference: UtteranceAlignment | None = None, frame_offset: float = 0.0) -> Path:
    """Write a PNG with three panels over a common time axis (seconds in the recording):

    1. ``features`` ``[T', F]`` (e.g. log-mel fbank), frame ``i`` at
       ``alignment.start + i * feature_shift``, with the word boundaries of ``reference`` (or of
       ``alignment`` without one) as vertical lines;
    2. ``posteriors`` ``[T, V]`` at the model frame rate, frame ``t`` at
       ``alignment.start + frame_offset + t * frame_shift``, darker = more probable, labels named by
       ``token_symbols``; more than 50 labels: only those that are the best label of some frame;
    3. the words and phones of ``alignment`` (and of ``reference``) as labelled spans (rows
       without tokens are left out).

    Args:
        features: ``[T', F]`` features, one row per feature frame.
        posteriors: ``[T, V]`` probabilities, or log-probabilities (taken as such when no value is
            positive).
        alignment: the hypothesis alignment (seconds).
        path: PNG file to write.
        token_symbols: name of each of the ``V`` labels.
        frame_shift: seconds per model frame (e.g. 0.04).
        feature_shift: seconds per feature frame (e.g. 0.01).
        reference: optional reference alignment of the same utterance.
        frame_offset: seconds from the start of the audio to the start of model frame 0 (see
            :attr:`fsttopo.aligner.Aligner.frame_offset`).

    Returns:
        ``path``.
    """
    feats = _array(features, "features")
    post = _array(posteriors, "posteriors")
    if post.max() <= 0:
        post = np.exp(post)
    if len(token_symbols) != post.shape[1]:
        raise ValueError(f"got {len(token_symbols)} token symbols for {post.shape[1]} posterior columns")
    if not (frame_shift > 0 and feature_shift > 0):
        raise ValueError(f"frame_shift and feature_shift must be positive seconds, got {frame_shift}, {feature_shift}")

    t0 = alignment.start
    rows = (np.arange(post.shape[1]) if post.shape[1] <= _MAX_ROWS else np.unique(post.argmax(1)))
    lines = reference.words if reference is not None else alignment.words
    end = max([t0 + feats.shape[0] * feature_shift, t0 + post.shape[0] * frame_shift, alignment.end]
              + [t.end for t in alignment.words + alignment.phones])

    spans = [("words", alignment.words, "tab:blue"), ("phones", alignment.phones, "tab:blue")]
    if reference is not None:
        spans += [("ref words", reference.words, "tab:green"), ("ref phones", reference.phones, "tab:green")]
    spans = [s for s in spans if s[1]]  # no empty rows (e.g. a reference without phones)
    width, height = min(30.0, max(8.0, 4.0 * (end - t0))), 7.5
    fig = _figure(figsize=(width, height))
    # margins in inches, fixed: room for the row names on the left, the time axis below, the title
    fig.subplots_adjust(left=0.75 / width, right=1 - 0.15 / width, bottom=0.5 / height, top=1 - 0.35 / height,
                        hspace=0.12)
    ax_f, ax_p, ax_s = fig.subplots(
        3, 1, sharex=True,
        gridspec_kw={"height_ratios": [2.0, max(1.5, 0.08 * len(rows)), 0.4 * len(spans) + 0.4]})

    ax_f.imshow(feats.T, aspect="auto", origin="lower", cmap="viridis", interpolation="nearest",
                extent=(t0, t0 + feats.shape[0] * feature_shift, 0, feats.shape[1]))
    for t in lines:
        for x in (t.start, t.end):
            ax_f.axvline(x, color="white", lw=0.8, ls="--")
    ax_f.set_ylabel("feature")
    ax_f.set_title(_fitted(f"{alignment.utterance_id}: {alignment.text}", round(12 * width)), fontsize=9)

    p0 = t0 + frame_offset
    ax_p.imshow(post[:, rows].T, aspect="auto", origin="lower", cmap="Greys", interpolation="nearest",
                vmin=0.0, vmax=1.0, extent=(p0, p0 + post.shape[0] * frame_shift, -0.5, len(rows) - 0.5))
    ax_p.set_yticks(range(len(rows)), [token_symbols[i] for i in rows], fontsize=max(4, 8 - len(rows) // 15))
    ax_p.set_ylabel("posterior")

    for i, (_, tokens, color) in enumerate(spans):
        _draw_tokens(ax_s, len(spans) - 1 - i, tokens, color)
    ax_s.set_yticks(range(len(spans)), [name for name, _, _ in reversed(spans)], fontsize=8)
    ax_s.set_ylim(-0.6, len(spans) - 0.4)
    ax_s.set_xlim(t0, end)
    ax_s.set_xlabel("time [s]")

    return save_figure(fig, path, tight=False)


def plot_boundary_errors(errors_ms: Mapping[str, Sequence[float]], path: str | Path,
                         title: str = "word-boundary error", max_ms: float = 150.0) -> Path:
    """Write a PNG with one curve per aligner: the share of word boundaries (%) whose absolute error
    is at most ``x`` ms, for ``x`` in ``[0, max_ms]``.

    Args:
        errors_ms: aligner name -> absolute boundary errors in ms (e.g. both boundaries of every word,
            from :func:`fsttopo.scoring.word_boundary_errors`); each non-empty, finite, >= 0.
        path: PNG file to write.
        title: axes title.
        max_ms: right end of the x axis.

    Returns:
        ``path``.
    """
    plt = pyplot()

    if not errors_ms:
        raise ValueError("no aligners to plot")
    fig, ax = plt.subplots(figsize=(7.0, 4.5))
    colors = plt.get_cmap("tab20").colors
    for i, (name, errors) in enumerate(errors_ms.items()):
        e = np.sort(np.asarray(errors, dtype=np.float64))
        if e.ndim != 1 or e.size == 0 or not np.isfinite(e).all() or (e < 0).any():
            raise ValueError(f"{name}: errors must be a non-empty list of finite ms >= 0")
        ax.step(np.concatenate([[0.0], e]), 100 * np.arange(e.size + 1) / e.size, where="post",
                color=colors[(2 * i) % 20 + (2 * i) // 20 % 2], label=f"{name} (mean {(e.mean()):.1f} ms)")
    for x in (20, 50):
        ax.axvline(x, color="grey", lw=0.6, ls=":")
    ax.set_xlim(0, max_ms)
    ax.set_ylim(0, 100)
    ax.set_xlabel("absolute error [ms]")
    ax.set_ylabel("boundaries within [%]")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    return save_figure(fig, path)
