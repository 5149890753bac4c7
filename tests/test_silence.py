"""Silence of any length around and inside real speech stays silence: the words land on the speech
(both shipped models, their stored options, the held-out-voice example with generated silence)."""

import json

import numpy as np
import pytest
import soundfile

from fsttopo.aligner import Aligner, compute_features
from fsttopo.resources import example_paths, model_path

WAV, TXT, REF = example_paths()
TEXT = TXT.read_text().strip()
SPEECH, SR = soundfile.read(WAV, dtype="float32")
REFERENCE = json.loads(REF.read_text())["words"]


@pytest.fixture(scope="module", params=["default", "robust"])
def aligner(request):
    return Aligner.from_file(model_path(request.param))


def silence(seconds: float, level: float = 0.0) -> np.ndarray:
    """Digital silence, or white noise at ``level`` RMS (3e-5: the dither of 16-bit audio)."""
    n = int(seconds * SR)
    return (level * np.random.default_rng(0).standard_normal(n)).astype(np.float32) if level else np.zeros(n, np.float32)


def errors_ms(ali, reference):
    return np.array([abs(h.start - r[0]) for h, r in zip(ali.words, reference)] +
                    [abs(h.end - r[1]) for h, r in zip(ali.words, reference)]) * 1000


def align(aligner, samples):
    return aligner.align([compute_features(samples, SR)], [TEXT]).alignments[0]


QUIET_ROOM = 1e-3  # -60 dBFS room noise


@pytest.mark.parametrize("lead, trail, level", [(30, 0, 0.0), (0, 30, 0.0), (30, 30, 3e-5), (120, 0, 0.0),
                                                 (0, 60, 3e-5), (30, 30, QUIET_ROOM), (60, 60, QUIET_ROOM)])
def test_leading_and_trailing_silence(aligner, lead, trail, level, request):
    if level == QUIET_ROOM and request.node.callspec.params["aligner"] == "default":
        request.applymarker(pytest.mark.xfail(
            strict=True, reason="issue 13: the default model has heard only digital silence; -60 dBFS noise is speech "
                                "to it (the robust model aligns it)"))
    ali = align(aligner, np.concatenate([silence(lead, level), SPEECH, silence(trail, level)]))
    reference = [(w["start"] + lead, w["end"] + lead) for w in REFERENCE]
    errors = errors_ms(ali, reference)
    assert errors.mean() < 25 and errors.max() < 80, (errors.mean(), errors.max())
    assert lead <= ali.words[0].start and ali.words[-1].end <= lead + len(SPEECH) / SR


def test_internal_silence_between_words(aligner):
    """20 s of silence cut into the recording between two words: both words keep their boundaries
    and nothing spans the gap."""
    cut_word = 11  # "now" ends, "you're" starts
    cut = REFERENCE[cut_word]["end"]
    gap = 20.0
    samples = np.concatenate([SPEECH[: int(cut * SR)], silence(gap), SPEECH[int(cut * SR):]])
    ali = align(aligner, samples)
    reference = [(w["start"] + (gap if i > cut_word else 0), w["end"] + (gap if i > cut_word else 0))
                 for i, w in enumerate(REFERENCE)]
    errors = errors_ms(ali, reference)
    assert errors.mean() < 25 and errors.max() < 80, (errors.mean(), errors.max())
    assert ali.words[cut_word].end < cut + 0.1 and ali.words[cut_word + 1].start > cut + gap - 0.1


def test_few_words_in_minutes_of_silence(aligner):
    """Three words in the middle of two minutes of silence: no word stretches over the silence."""
    words = REFERENCE[:3]
    speech = SPEECH[: int((words[-1]["end"] + 0.05) * SR)]
    ali = aligner.align([compute_features(np.concatenate([silence(60), speech, silence(60)]), SR)],
                        [" ".join(w["symbol"] for w in words)]).alignments[0]
    errors = errors_ms(ali, [(w["start"] + 60, w["end"] + 60) for w in words])
    assert errors.max() < 80, errors


def test_a_long_recording_the_model_misreads_still_gives_words_in_order(aligner):
    """65 s of -60 dBFS room noise around the example: the default model takes the noise for speech
    (the QUIET_ROOM xfail above), and the long-form pieces disagree about where the shared words
    are; the merged alignment must still be valid (it raised ValueError on reversed words)."""
    ali = align(aligner, np.concatenate([silence(30, 1e-3), SPEECH, silence(30, 1e-3)]))
    assert len(ali.words) == len(REFERENCE)
    ends = [(w.start, w.end) for w in ali.words]
    assert all(s < e for s, e in ends) and all(a[1] <= b[0] + 1e-9 for a, b in zip(ends, ends[1:]))
