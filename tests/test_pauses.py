"""No pause shorter than one output frame: posterior-mean boundaries leave slivers of silence
between words that pause-counting tools would count; the aligner closes them."""

import pytest
from praatio import textgrid

from fsttopo import cli
from fsttopo.aligner import Aligner
from fsttopo.data.alignment import TimedToken, UtteranceAlignment, close_short_pauses
from fsttopo.files import align_audio_file
from fsttopo.resources import example_paths


def test_close_short_pauses_by_hand():
    ali = UtteranceAlignment("u", "a b c", 2.0,
                             [TimedToken("a", 0.01, 0.5, 0.9), TimedToken("b", 0.52, 1.0), TimedToken("c", 1.3, 1.97)],
                             [TimedToken("x", 0.01, 0.5), TimedToken("y", 0.52, 1.0), TimedToken("z", 1.3, 1.97)])
    closed = close_short_pauses(ali, 0.04)
    assert [(w.symbol, w.start, w.end, w.confidence) for w in closed.words] == [
        ("a", 0.0, pytest.approx(0.51), 0.9), ("b", pytest.approx(0.51), 1.0, None), ("c", 1.3, 2.0, None)]
    assert [(p.start, p.end) for p in closed.phones] == [(w.start, w.end) for w in closed.words]
    assert close_short_pauses(ali, 0.0) is ali
    with pytest.raises(ValueError, match="min_pause must be"):
        close_short_pauses(ali, float("nan"))


def test_textgrid_of_the_example_has_no_sliver_pauses(tmp_path):
    aligner = Aligner.from_file(cli.DEFAULT_MODEL)
    wav, txt, _ = example_paths()
    align_audio_file(aligner, wav, txt.read_text(), tmp_path, plot=False)
    grid = textgrid.openTextgrid(str(tmp_path / f"{wav.stem}.TextGrid"), includeEmptyIntervals=True)
    for tier in ("words", "phones"):
        pauses = [e.end - e.start for e in grid.getTier(tier).entries if not e.label.strip()]
        assert all(p >= aligner.frame_shift - 1e-9 for p in pauses), (tier, sorted(pauses)[:3])
    kept = align_audio_file(aligner, wav, txt.read_text(), tmp_path / "raw", plot=False, min_pause=0.0)
    assert any(0 < b.start - a.end < 0.01 for a, b in zip(kept.words, kept.words[1:]))  # what it closes
