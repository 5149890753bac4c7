"""The alignment plot drawn by a second process that starts before torch loads.

On the 5.6 s example `fsttopo align` spends 0.4 s importing matplotlib and 0.25-0.35 s drawing its
first figure, against about 0.7 s for everything else beyond ``import torch`` (docs/benchmarks.md,
"Start-up"). A process forked at start-up imports matplotlib and draws a small figure once (fonts,
the Agg renderer, the PNG encoder) while the main process imports torch and aligns; the main
process then sends the arrays and spans and waits for the PNG, which the other process writes
with :func:`fsttopo.data.plot.plot_alignment` as it would have been written in-process (the same
bytes: tested).

Only where ``os.fork`` exists, before torch is imported and while the process has one thread
(forking a process whose other threads hold locks, torch's or a BLAS pool's, is not safe; numpy's
import starts such a pool): :meth:`PlotProcess.start` returns None otherwise, and the caller draws
in-process. The child never returns into the caller's code: it leaves with ``os._exit``.
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path
from types import SimpleNamespace

__all__ = ["PlotProcess"]


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _single_threaded() -> bool:
    """Whether this process runs one thread (Linux: its tasks; elsewhere: the Python threads, which
    do not see a native pool, so there also torch and numpy must not be loaded yet)."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        import threading

        return threading.active_count() == 1 and "numpy" not in sys.modules


def _plain(value):
    """``value`` in a form the other process unpickles without importing torch or fsttopo's aligner
    stack: tensors as numpy arrays, an alignment as a namespace of what the plot reads."""
    if hasattr(value, "detach"):
        return value.detach().cpu().float().numpy()
    if hasattr(value, "words") and hasattr(value, "phones"):
        def tokens(items):
            return [SimpleNamespace(start=t.start, end=t.end, duration=t.duration, center=t.center, symbol=t.symbol)
                    for t in items]
        return SimpleNamespace(start=value.start, end=value.end, utterance_id=value.utterance_id, text=value.text,
                               words=tokens(value.words), phones=tokens(value.phones))
    return value


def _warm_up() -> None:
    """Draw a small figure with what the alignment plot uses, so that the real one finds matplotlib
    loaded and its one-time costs (fonts, renderer, PNG encoder) paid."""
    import io

    import numpy as np

    from .plot import _figure

    fig = _figure(figsize=(2.0, 1.5))
    ax_i, ax_s = fig.subplots(2, 1, sharex=True)
    ax_i.imshow(np.zeros((4, 4)), aspect="auto", origin="lower", cmap="viridis", interpolation="nearest")
    ax_i.axvline(1.0, color="white", lw=0.8, ls="--")
    ax_i.set_title("x", fontsize=9)
    ax_s.broken_barh([(0.0, 1.0)], (-0.4, 0.8), facecolors=["tab:blue"], edgecolor="black", linewidth=0.5)
    ax_s.text(0.5, 0.0, "x", ha="center", va="center", fontsize=7, clip_on=True)
    ax_s.set_yticks([0], ["x"], fontsize=8)
    fig.savefig(io.BytesIO(), format="png", dpi=100)


def _child(requests: int, replies: int) -> None:
    """The other process: warm up, read one pickled ``(args, kwargs)``, draw, reply with the
    pickled path :func:`~fsttopo.data.plot.plot_alignment` returns, or the pickled error (its text
    in a RuntimeError where it cannot be pickled); an empty request (the caller closed without
    drawing) ends it."""
    try:
        _warm_up()
    except Exception:  # the real drawing reports the error, if there is one
        pass
    request = _read_all(requests)
    if not request:
        return
    try:
        from .plot import plot_alignment

        args, kwargs = pickle.loads(request)
        reply = pickle.dumps(plot_alignment(*args, **kwargs))
    except BaseException as err:  # noqa: BLE001 - every failure goes back to the caller
        try:
            reply = pickle.dumps(err)
        except Exception:  # an error that does not pickle: its text
            reply = pickle.dumps(RuntimeError(f"drawing the plot failed: {type(err).__name__}: {err}"))
    _write_all(replies, reply)


class PlotProcess:
    """A forked process that draws one alignment plot (:func:`fsttopo.data.plot.plot_alignment`).

    ``PlotProcess.start()`` as early as possible (before torch is imported), then either
    :meth:`draw` (once) or :meth:`close`; a context manager closes it on the way out."""

    def __init__(self, pid: int, requests: int, replies: int):
        self._pid, self._requests, self._replies = pid, requests, replies

    @classmethod
    def start(cls) -> PlotProcess | None:
        """Fork the drawing process; None where it cannot be done safely (no ``os.fork``, torch
        already imported, or more than one thread in this process): draw in-process then."""
        if not hasattr(os, "fork") or "torch" in sys.modules or not _single_threaded():
            return None
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(request_w)
                os.close(reply_r)
                _child(request_r, reply_w)
                code = 0
            finally:
                os._exit(code)
        os.close(request_r)
        os.close(reply_w)
        return cls(pid, request_w, reply_r)

    def draw(self, *args, **kwargs) -> Path:
        """:func:`~fsttopo.data.plot.plot_alignment` with these arguments, in the other process;
        returns its path when the PNG is written. Its error is raised here as it was raised there
        (a ValueError for bad arguments, an OSError for a full disk); RuntimeError if the process
        ended without an answer."""
        if self._pid is None:
            raise RuntimeError("this plot process has already drawn or been closed")
        payload = pickle.dumps(([_plain(a) for a in args], {k: _plain(v) for k, v in kwargs.items()}))
        try:
            _write_all(self._requests, payload)
        except BrokenPipeError:
            pass  # it died: its exit status below says so
        reply = self._finish()
        if not reply:  # no answer: it exited abnormally, or before reading the request
            raise RuntimeError("the plot process ended before drawing")
        drawn = pickle.loads(reply)
        if isinstance(drawn, BaseException):
            raise drawn
        return drawn

    def close(self) -> None:
        """End the process without drawing (nothing is written); a no-op after :meth:`draw`."""
        if self._pid is not None:
            self._finish()

    def _finish(self) -> bytes | None:
        """Close the request pipe, read the reply, reap the process. None if it exited abnormally."""
        os.close(self._requests)
        reply = _read_all(self._replies)
        os.close(self._replies)
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        return reply if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else None

    def __enter__(self) -> PlotProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
