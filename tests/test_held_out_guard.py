"""A regression guard of both shipped models on 8 held-out test utterances (tests/data/held_out/: the
first 4 of 2.5-4 s of each held-out test voice in the degraded-conditions clean set, festival-ked
and flite-rms, taken blind; FLAC, bit-exact 16-bit copies, with the synthesizer's reference word
times), clean and with white or babble noise at 10 dB SNR (fixed seeds; the babble made of the
other 7 utterances). Not the measurement, which is docs/results.md over 100 utterances per
condition: these 8 measure, mean word-boundary error, default model clean 14.3 ms (max 108);
robust clean 17.6 (max 207), white 10 dB 28.5, babble 10 dB 30.6; `--model auto` (each utterance by
the model the routing rule picks) clean 13.9 (max 108), white 10 dB 28.5, babble 10 dB 31.4, where
the default model alone gives 64.0. The issue's targets (clean 10 ms,
10 dB noise 25 ms) are not met on them either; the bounds below are the measured values with
about 10 % to spare, so that a model or alignment change that loses accuracy fails here."""

from pathlib import Path

import numpy as np
import pytest
import soundfile

from fsttopo.aligner import Aligner, compute_features
from fsttopo.data.export import read_json
from fsttopo.resources import model_path
from fsttopo.scoring import word_boundary_errors
from fsttopo.training.augment import add_noise

HELD_OUT = Path(__file__).parent / "data" / "held_out"
REFERENCES = read_json(HELD_OUT / "references.json")
AUDIO = [soundfile.read(HELD_OUT / f"{r.utterance_id}.flac", dtype="float32")[0] for r in REFERENCES]
TEXTS = [" ".join(w.symbol for w in r.words) for r in REFERENCES]
SR = 16000


def condition(name: str) -> list[np.ndarray]:
    if name == "clean":
        return AUDIO
    if name == "white10":
        return [add_noise(x, SR, 10.0, "white", np.random.default_rng(i)) for i, x in enumerate(AUDIO)]
    return [add_noise(x, SR, 10.0, "babble", np.random.default_rng(i), babble_sources=AUDIO[:i] + AUDIO[i + 1:])
            for i, x in enumerate(AUDIO)]


def errors_ms(model: str, samples: list[np.ndarray]) -> np.ndarray:
    features = [compute_features(x, SR) for x in samples]
    if model == "auto":  # each utterance by the model the routing rule picks for it
        from fsttopo.batch_align import align_loaded
        from fsttopo.files import load_aligner

        hyps = [a for a, _ in align_loaded(load_aligner("auto"), range(len(samples)), lambda i: (features[i], {}),
                                           TEXTS, [f"u{i}" for i in range(len(samples))], {}, "unreadable")]
    else:
        hyps = Aligner.from_file(model_path(model)).align(features, TEXTS).alignments
    assert [[w.symbol for w in h.words] for h in hyps] == [[w.symbol for w in r.words] for r in REFERENCES]
    return np.array([e for h, r in zip(hyps, REFERENCES) for pair in word_boundary_errors(h, r) for e in pair])


def test_the_guard_set_is_what_it_says():
    assert len(REFERENCES) == 8 and {r.utterance_id.rsplit("-", 1)[0] for r in REFERENCES} == {"festival-ked", "flite-rms"}
    assert all(2.5 <= x.size / SR <= 4.0 for x in AUDIO)
    assert all(np.all(np.round(x * 32768) == x * 32768) for x in AUDIO)  # 16-bit samples, as synthesized


@pytest.mark.parametrize("model, name, mean_below, max_below", [
    ("default", "clean", 16.0, 120.0),
    ("robust", "clean", 19.5, 230.0),
    ("robust", "white10", 31.5, 300.0),
    ("robust", "babble10", 34.0, 340.0),
    ("auto", "clean", 15.5, 120.0),
    ("auto", "white10", 31.5, 300.0),
    ("auto", "babble10", 35.0, 340.0),
])
def test_shipped_models_on_held_out_utterances(model, name, mean_below, max_below):
    errors = errors_ms(model, condition(name))
    assert errors.mean() < mean_below and errors.max() < max_below, (errors.mean(), errors.max())


def test_the_default_model_fails_in_white_noise_where_the_robust_one_holds():
    noisy = condition("white10")
    assert errors_ms("default", noisy).mean() > 10 * errors_ms("robust", noisy).mean()  # 579 against 28.5 ms
