"""Long digital silence left out of what the model sees: the plan on constructed features, the time
mapping by hand, and the aligner's result with minutes of silence equal to its result with the
margins only (aligned without trimming), shifted."""

import numpy as np
import pytest
import soundfile
import torch

from fsttopo.aligner import Aligner, compute_features
from fsttopo.data.alignment import TimedToken, UtteranceAlignment
from fsttopo.inference.silence_trim import SILENT_LOG_MEL, SilenceTrim, plan_trim
from fsttopo.resources import default_model_path, example_paths


def frames(pattern: list[tuple[int, bool]]) -> torch.Tensor:
    """``[T, 80]`` features: runs of (frames, silent?)."""
    rows = [torch.full((n, 80), -15.9 if silent else -3.0) for n, silent in pattern]
    return torch.cat(rows)


def test_long_runs_keep_their_margins_and_lose_whole_blocks():
    feats = frames([(1000, True), (100, False), (150, True), (100, False), (503, True), (30, False), (700, True)])
    trim = plan_trim(feats, min_run=2.0, margin=0.5, block=4)
    kept = trim.kept
    # leading 10 s: 9.5 s (950 frames, a multiple of 4 after rounding down: 948) left out
    assert int(kept[0]) == 948
    # the 1.5 s run is not long enough: all kept; the 5.03 s run keeps 50 frames each side
    inner_start = 1000 + 100 + 150 + 100
    dropped_inner = set(range(inner_start + 50, inner_start + 503 - 50)) - set(kept.tolist())
    assert len(dropped_inner) == (503 - 100) // 4 * 4
    assert all(i in set(kept.tolist()) for i in range(1000, inner_start))
    # trailing 7 s: the 0.5 s next to the sound stays
    tail_start = inner_start + 503 + 30
    assert int(kept[-1]) < tail_start + 50 + 4 and int(kept[-1]) >= tail_start + 49
    assert trim.apply(feats).shape == (kept.numel(), 80)
    assert bool((feats.mean(1)[kept] >= SILENT_LOG_MEL).sum() == 230)  # every sound frame kept


def test_nothing_is_left_out_of_short_silence_or_of_a_recording_that_is_all_silence():
    assert not plan_trim(frames([(150, True), (100, False), (190, True)])).trimmed
    assert not plan_trim(frames([(5000, True)])).trimmed
    with pytest.raises(ValueError, match="planned for"):
        plan_trim(frames([(10, False)])).apply(torch.zeros(11, 80))


def test_times_map_back_across_a_left_out_range_by_hand():
    kept = torch.cat([torch.arange(0, 10), torch.arange(110, 120)])  # frames 10..109 left out
    trim = SilenceTrim(kept, 120)
    assert trim.to_original(0.05) == pytest.approx(0.05)
    assert trim.to_original(0.105) == pytest.approx(1.105)   # compressed frame 10.5 -> 110.5
    assert trim.to_original(0.2) == pytest.approx(1.2)       # the end
    assert trim.to_original(2.105, offset=2.0) == pytest.approx(3.105)
    ali = UtteranceAlignment("u", "a b", 0.2, [TimedToken("a", 0.02, 0.09), TimedToken("b", 0.11, 0.19)])
    back = trim.restore(ali)
    assert back.duration == pytest.approx(1.2)
    assert [(w.start, w.end) for w in back.words] == [pytest.approx((0.02, 0.09)), pytest.approx((1.11, 1.19))]


@pytest.fixture(scope="module")
def aligner():
    return Aligner.from_file(default_model_path())


def test_minutes_of_silence_align_as_the_margins_alone(aligner):
    wav, txt, _ = example_paths()
    speech, sr = soundfile.read(wav, dtype="float32")
    text = txt.read_text()
    long = np.concatenate([np.zeros(60 * sr, np.float32), speech, np.zeros(45 * sr, np.float32)])
    feats = compute_features(long, sr)
    trim = plan_trim(feats, block=aligner.model.config.subsampling)
    dropped_lead = int(trim.kept[0])  # frames before the first kept one
    short = trim.apply(feats)
    got = aligner.align([feats], [text], trim_silence=True).alignments[0]
    ref = aligner.align([short], [text], trim_silence=False).alignments[0]
    assert got.duration == pytest.approx(long.shape[0] / sr, abs=0.01)
    for g, r in zip(got.words, ref.words):  # same alignment, moved by what was left out in front
        assert g.start == pytest.approx(r.start + dropped_lead * 0.01, abs=1e-6)
        assert g.end == pytest.approx(r.end + dropped_lead * 0.01, abs=1e-6)
    out = aligner.align([feats], [text])
    full = aligner.align([feats], [text], trim_silence=False)
    assert out.log_probs.shape == full.log_probs.shape and torch.equal(out.lengths, full.lengths)
    with pytest.raises(ValueError, match="trim_silence must be true or false"):
        aligner.align([feats], [text], trim_silence="yes")


def test_a_recording_of_digital_silence_is_refused_and_fails_alone_in_a_corpus(tmp_path, capsys):
    """All zeros (a muted recording, the wrong channel) has no speech: aligned anyway, its words came
    out on nothing (100 ms from the example's times on average, with a low confidence and a noise
    warning). It is refused, named, and in a corpus fails alone; speech with long silence around it
    is not (tests/test_silence.py)."""
    from fsttopo import cli

    wav, txt, _ = example_paths()
    speech, sr = soundfile.read(wav, dtype="float32")
    text = txt.read_text().strip()
    aligner = Aligner.from_file(default_model_path())
    silent = compute_features(np.zeros_like(speech), sr)
    with pytest.raises(ValueError, match="utterance 'muted': its audio is digital silence throughout"):
        aligner.align([compute_features(speech, sr), silent], [text, text], ["speech", "muted"])
    # dither alone is scaled up to the speech level like any recording (fsttopo/data/level.py): noise,
    # which the noise check flags, not digital silence
    dithered = (3e-5 * np.random.default_rng(0).standard_normal(speech.size)).astype(np.float32)
    assert len(aligner.align([compute_features(dithered, sr)], [text]).alignments[0].words) == len(text.split())
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, samples in (("speech", speech), ("muted", np.zeros_like(speech))):
        soundfile.write(corpus / f"{name}.wav", samples, sr)
        (corpus / f"{name}.txt").write_text(text)
    with pytest.raises(SystemExit):
        cli.main(["align-dir", str(corpus), "--out", str(tmp_path / "out")])
    failed = (tmp_path / "out" / "failed.tsv").read_text().splitlines()[1:]
    assert len(failed) == 1 and failed[0].startswith("muted.wav\t") and "digital silence throughout" in failed[0]
    assert (tmp_path / "out" / "speech.json").exists()
