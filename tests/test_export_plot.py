"""fsttopo.data.plot: the features/posteriors/segments figure and the boundary-error curves are written as PNGs."""

import numpy as np
import pytest
import torch

from fsttopo.data.alignment import TimedToken as T
from fsttopo.data.alignment import UtteranceAlignment as U
from fsttopo.data.plot import plot_alignment, plot_boundary_errors

HYP = U("u1", "hello world", 1.2, [T("hello", 0.1, 0.5), T("world", 0.56, 1.0)],
        [T("hh", 0.1, 0.2), T("ah", 0.2, 0.3), T("l", 0.3, 0.4), T("ow", 0.4, 0.5)])
REF = U("u1", "hello world", 1.2, [T("hello", 0.12, 0.52), T("world", 0.52, 1.04)])


def test_plot_writes_png(tmp_path):
    feats = torch.randn(120, 80)  # 10 ms
    log_post = torch.randn(30, 6).log_softmax(-1)  # 40 ms, log-probabilities
    path = plot_alignment(feats, log_post, HYP, tmp_path / "sub" / "u1.png", ["<b>", "hh", "ah", "l", "ow", "w"],
                          frame_shift=0.04, reference=REF)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    # a large vocabulary as probabilities (numpy), no reference
    post = np.random.default_rng(0).dirichlet(np.ones(200), size=30)
    path = plot_alignment(feats.numpy(), post, HYP, tmp_path / "big.png", [f"t{i}" for i in range(200)], 0.04)
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_plot_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="2 token symbols for 6 posterior columns"):
        plot_alignment(torch.randn(10, 4), torch.randn(3, 6), HYP, tmp_path / "x.png", ["a", "b"], 0.04)
    with pytest.raises(ValueError, match="features must be a non-empty 2-D array"):
        plot_alignment(torch.randn(10), torch.randn(3, 2), HYP, tmp_path / "x.png", ["a", "b"], 0.04)
    with pytest.raises(ValueError, match="positive seconds"):
        plot_alignment(torch.randn(10, 4), torch.randn(3, 2), HYP, tmp_path / "x.png", ["a", "b"], 0.0)


def test_boundary_error_plot(tmp_path):
    path = plot_boundary_errors({"a": [0.0, 10.0, 35.5], "b": np.array([5.0, 200.0])}, tmp_path / "cdf.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="b: errors must be"):
        plot_boundary_errors({"a": [1.0], "b": [-1.0]}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="no aligners"):
        plot_boundary_errors({}, tmp_path / "x.png")


def test_a_long_title_is_cut_to_the_figure_with_an_ellipsis():
    from fsttopo.data.plot import _fitted

    assert _fitted("utt: a short text", 96) == "utt: a short text"
    long = "utt: " + "word " * 100
    cut = _fitted(long, 96)
    assert len(cut) <= 96 and cut.endswith("\u2026") and long.startswith(cut[:-1])
