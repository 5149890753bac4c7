"""TTS corpus recipe: text selection, phone maps, label matching, speed perturbation, engines.

Engine tests skip when the synthesizer is not installed (Debian festival, flite1-dev, libespeak-ng1).
"""

import ctypes.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recipes.tts.audio import convert  # noqa: E402
from recipes.tts.engines import (  # noqa: E402
    EXTRA_VOICES, PROSODY_RANGES, VOICES, RawUtterance, Voice, espeak_synth, espeak_word_spans, synthesize,
    varied_prosody,
)
from recipes.tts.labels import (  # noqa: E402
    attach_between_word_phones,
    clip_spans,
    match_words,
    merge_clitics,
    reference_labels,
    scale_spans,
)
from recipes.tts.phones import map_phone_spans, radio_to_arpabet  # noqa: E402
from recipes.tts.prepare import Config  # noqa: E402
from recipes.tts.text import Sentence, select_sentences, split_pools, split_sentences, transcript  # noqa: E402

# --- text -------------------------------------------------------------------------------------------


def test_split_sentences_drops_attribution():
    fortune = 'Never put off till tomorrow  what you can do\ntoday. "Why?" he asked.\n\t\t-- Mark Twain'
    assert split_sentences(fortune) == ["Never put off till tomorrow what you can do today.", '"Why?"', "he asked."]


@pytest.mark.parametrize("sentence, words", [
    ("Don't panic, it's (only) a test!", ["don't", "panic", "it's", "only", "a", "test"]),
    ('"I think -- therefore I am."', ["i", "think", "therefore", "i", "am"]),
    ("NASA launched it.", None),  # acronym
    ("It costs 5 dollars.", None),  # digit
    ("A well-known fact.", None),  # hyphenated word
    ("Caf\u00e9 au lait.", None),  # non-ASCII
])
def test_transcript(sentence, words):
    assert transcript(sentence) == words


def test_select_sentences():
    texts = ["One two three four five.", "Too short here.", "one two three four five!", "Six seven eight nine ten zzz."]
    known = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}
    selected = select_sentences(texts, known.__contains__)
    assert selected == [Sentence("s00000", "One two three four five.", "one two three four five")]
    with pytest.raises(ValueError):
        select_sentences(texts, known.__contains__, min_words=0)


def test_split_pools_are_disjoint():
    sentences = [Sentence(f"s{i:05d}", "x", "x") for i in range(100)]
    pools = split_pools(sentences, {"train": 0.7, "dev": 0.1, "test": 0.2}, seed=0)
    assert [len(p) for p in pools.values()] == [70, 10, 20]
    assert sorted(s.id for p in pools.values() for s in p) == [s.id for s in sentences]
    assert pools == split_pools(sentences, {"train": 0.7, "dev": 0.1, "test": 0.2}, seed=0)
    with pytest.raises(ValueError, match="sum to 1"):
        split_pools(sentences, {"train": 0.7, "test": 0.2}, seed=0)


# --- phones and labels ----------------------------------------------------------------------------------


def test_festival_flite_phone_map():
    # festival kal "Hello, the butter." (radio phone set) with reduced and syllabic variants.
    spans = [("pau", 0.0, 0.22), ("hh", 0.22, 0.29), ("ax", 0.29, 0.32), ("l", 0.32, 0.43), ("ow", 0.43, 0.56),
             ("pau", 0.56, 0.7), ("dh", 0.7, 0.73), ("ax", 0.73, 0.77), ("b", 0.77, 0.83), ("ah", 0.83, 0.9),
             ("dx", 0.9, 0.93), ("axr", 0.93, 1.05), ("brth", 1.05, 1.2), ("h#", 1.2, 1.3)]
    assert map_phone_spans(spans) == [
        ("hh", 0.22, 0.29), ("ah", 0.29, 0.32), ("l", 0.32, 0.43), ("ow", 0.43, 0.56), ("dh", 0.7, 0.73),
        ("ah", 0.73, 0.77), ("b", 0.77, 0.83), ("ah", 0.83, 0.9), ("t", 0.9, 0.93), ("er", 0.93, 1.05)]
    assert [radio_to_arpabet(p) for p in ("hv", "nx", "el", "em", "en", "zh")] == ["hh", "n", "l", "m", "n", "zh"]
    with pytest.raises(ValueError, match="'@'"):
        radio_to_arpabet("@")


def test_espeak_word_spans():
    # "Hello, big world." at 22050 Hz; events (phoneme, sample, 1-based text position) as libespeak-ng
    # sends them: a phone ends where the next event starts.
    text = "Hello, big world."
    events = [("h", 264, 1), ("@", 1384, 1), ("l", 2536, 1), ("oU", 4776, 1), ("_:", 9226, 6),
              ("b", 12000, 8), ("I", 13000, 8), ("g", 14000, 8), ("w", 15000, 12), ("3:", 16000, 12),
              ("l", 18000, 12), ("d", 19000, 12), ("_:", 20000, 17), ("_", 20154, 17)]
    spans = espeak_word_spans(text, ["hello", "big", "world"], events, 20154, 22050)
    assert spans == [("hello", 264 / 22050, 9226 / 22050), ("big", 12000 / 22050, 15000 / 22050),
                     ("world", 15000 / 22050, 20000 / 22050)]
    # espeak joins "of the" into one phonological word: "the" gets no phone, the utterance is dropped.
    merged = [("V", 0, 1), ("v", 900, 1), ("D", 1500, 1), ("@", 2000, 1), ("_", 3000, 7)]
    assert espeak_word_spans("of the", ["of", "the"], merged, 3000, 22050) is None


def test_merge_and_match_words():
    # flite: "world's" -> world + 's, "don't" -> dont, sentence-initial "A" -> _a.
    flite = [("_a", 0.1, 0.2), ("world", 0.2, 0.5), ("'s", 0.5, 0.6), ("dont", 0.7, 0.9)]
    assert merge_clitics(flite)[1] == ("world's", 0.2, 0.6)
    expected = [("a", 0.1, 0.2), ("world's", 0.2, 0.6), ("don't", 0.7, 0.9)]
    assert match_words(flite, ["a", "world's", "don't"]) == expected
    # festival: the clitic has no segments (0, 0) and the previous word already spans its phones.
    festival = [("Hello", 0.22, 0.56), ("world", 1.33, 1.67), ("'s", 0.0, 0.0)]
    assert match_words(festival, ["hello", "world's"]) == [("hello", 0.22, 0.56), ("world's", 1.33, 1.67)]
    assert match_words(festival, ["hello", "worlds", "x"]) is None
    assert match_words([("mister", 0.1, 0.4)], ["mr"]) is None
    assert match_words([("a", 0.1, 0.1)], ["a"]) is None  # no duration


def test_linking_r_joins_the_previous_word():
    # festival ked "you were afraid": a linking r between "were" and "afraid" belongs to no word.
    words = [("were", 0.37, 0.47), ("afraid", 0.52, 0.9)]
    phones = [("w", 0.37, 0.42), ("er", 0.42, 0.47), ("r", 0.47, 0.52), ("ah", 0.52, 0.6), ("f", 0.6, 0.7),
              ("r", 0.7, 0.75), ("ey", 0.75, 0.85), ("d", 0.85, 0.9)]
    assert attach_between_word_phones(words, phones) == [("were", 0.37, 0.52), ("afraid", 0.52, 0.9)]
    # before the first word: joins the word that starts where it ends
    assert attach_between_word_phones([("a", 0.2, 0.3)], [("r", 0.1, 0.2), ("ah", 0.2, 0.3)]) == [("a", 0.1, 0.3)]
    # apart from every word (pauses on both sides)
    assert attach_between_word_phones([("a", 0.2, 0.3)], [("r", 0.4, 0.5)]) is None


def test_reference_labels_drop_rule(tmp_path):
    words = [("hi", 0.1, 0.4)]
    phones = [("pau", 0.0, 0.1), ("hh", 0.1, 0.2), ("ay", 0.2, 0.4), ("pau", 0.4, 0.5)]
    ok = RawUtterance("u", tmp_path / "u.wav", words, phones, label_end=0.5, duration=0.549)
    assert reference_labels(ok, ["hi"]) == ([("hi", 0.1, 0.4)], [("hh", 0.1, 0.2), ("ay", 0.2, 0.4)])
    late = RawUtterance("u", tmp_path / "u.wav", words, phones, label_end=0.5, duration=0.551)
    assert reference_labels(late, ["hi"]) is None
    espeak = RawUtterance("u", tmp_path / "u.wav", words, None, label_end=0.5, duration=0.5)
    assert reference_labels(espeak, ["hi"]) == ([("hi", 0.1, 0.4)], None)


def test_scale_and_clip_spans():
    spans = [("a", 0.0, 1.1), ("b", 1.1, 2.2)]
    assert scale_spans(spans, 1.1) == [("a", 0.0, 1.1 / 1.1), ("b", 1.1 / 1.1, 2.2 / 1.1)]
    assert scale_spans([("a", 0.9, 1.8)], 0.9) == [("a", 1.0, 2.0)]
    with pytest.raises(ValueError):
        scale_spans(spans, 0.0)
    assert clip_spans(spans, 2.0) == [("a", 0.0, 1.1), ("b", 1.1, 2.0)]
    with pytest.raises(ValueError, match="after the end"):
        clip_spans(spans, 1.0)


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")
@pytest.mark.parametrize("speed", [0.9, 1.1])
def test_sox_speed_moves_events_to_time_over_speed(tmp_path, speed):
    rate = 22050  # an engine rate: conversion resamples to 16 kHz as well
    audio = np.zeros(int(1.5 * rate), dtype=np.float32)
    clicks = [0.5, 1.0]
    for t in clicks:
        audio[int(t * rate)] = 0.9
    soundfile.write(str(tmp_path / "in.wav"), audio, rate, subtype="PCM_16")
    convert(tmp_path / "in.wav", tmp_path / "out.wav", speed)
    out, out_rate = soundfile.read(str(tmp_path / "out.wav"))
    assert out_rate == 16000
    assert abs(len(out) / out_rate - 1.5 / speed) < 2 / out_rate
    peaks = sorted(np.argsort(-np.abs(out))[:2] / out_rate)
    np.testing.assert_allclose(peaks, [c / speed for c in clicks], atol=1e-3)


def test_config_keeps_speakers_in_one_split():
    config = Config(out=Path("unused"))
    assert {config.split_of(v) for v in config.voices if v.name in ("festival-slt", "flite-slt")} == {"train"}
    assert all(v.free for v in config.voices)
    assert any(not v.free for v in Config(out=Path("unused"), mbrola=True).voices)
    with pytest.raises(ValueError, match="slt"):
        Config(out=Path("unused"), test_voices=("flite-slt",))
    with pytest.raises(ValueError, match="unknown voice"):
        Config(out=Path("unused"), test_voices=("nobody",))
    with pytest.raises(ValueError, match="speeds"):
        Config(out=Path("unused"), speeds=(1.0,))


def test_extra_voices_train_on_their_own_budget():
    base = Config(out=Path("unused"), hours=3.0)
    extra = Config(out=Path("unused"), hours=3.0, extra_hours=1.5)
    assert not set(base.voices) & set(EXTRA_VOICES)
    assert extra.voices[:len(base.voices)] == base.voices  # same order: the same sentence shuffles
    for voice in base.voices:
        assert extra.quota(voice) == base.quota(voice)
    assert sum(base.quota(v) for v in base.voices) == pytest.approx(3.0 * 3600)
    assert sum(extra.quota(v) for v in EXTRA_VOICES) == pytest.approx(1.5 * 3600)
    assert {extra.split_of(v) for v in EXTRA_VOICES} == {"train"}
    with pytest.raises(ValueError, match="extra_hours"):
        Config(out=Path("unused"), extra_hours=-1.0)
    one = Config(out=Path("unused"), hours=3.0, extra_hours=0.5, extra_voices=("flite-slt-var",))  # its third of 1.5 h
    assert one.voices == base.voices + (EXTRA_VOICE["flite-slt-var"],)
    # the same voice at the same place with the same seconds: the same sentences as with all extra voices
    assert one.quota(one.voices[-1]) == pytest.approx(extra.quota(EXTRA_VOICE["flite-slt-var"]))
    with pytest.raises(ValueError, match="unknown extra voices"):
        Config(out=Path("unused"), extra_hours=1.0, extra_voices=("festival-kal",))


@pytest.mark.parametrize("engine", ["espeak-ng", "flite"])
def test_varied_prosody_is_fixed_per_utterance_and_in_range(engine):
    draws = [varied_prosody(engine, f"voice-s{i:05d}") for i in range(200)]
    assert draws[0] == varied_prosody(engine, "voice-s00000")
    for name, (low, high) in PROSODY_RANGES[engine].items():
        values = [d[name] for d in draws]
        assert low <= min(values) and max(values) <= high
        assert max(values) - min(values) > 0.8 * (high - low)  # the whole range is used
    with pytest.raises(ValueError, match="no varied prosody"):
        Voice("x", "festival", "kal_diphone", "kal", (), varied_prosody=True)


# --- engines (skipped where not installed) -----------------------------------------------------------

SENTENCE = Sentence("s00000", "Hello, the world's weather is nice.", "hello the world's weather is nice")
VOICE = {v.name: v for v in VOICES}
EXTRA_VOICE = {v.name: v for v in EXTRA_VOICES}


def _check_utterance(raw, with_phones):
    assert abs(raw.label_end - raw.duration) < 0.05
    words, phones = reference_labels(raw, SENTENCE.words.split())
    assert [w for w, _, _ in words] == SENTENCE.words.split()
    starts = [s for _, s, _ in words]
    assert starts == sorted(starts) and all(s < e <= raw.duration + 0.01 for _, s, e in words)
    if with_phones:
        assert [p for p, _, _ in phones[:4]] == ["hh", "ah", "l", "ow"]  # festival/flite: hh ax l ow
        assert phones[0][1] == words[0][1] and phones[3][2] == words[0][2]
    else:
        assert phones is None


KAL = Path("/usr/share/festival/voices/english/kal_diphone")


@pytest.mark.skipif(shutil.which("festival") is None or not KAL.exists(), reason="festival's kal is missing")
def test_festival_engine(tmp_path):
    [raw] = synthesize(VOICE["festival-kal"], [SENTENCE], tmp_path, flite_helper=tmp_path / "unused")
    assert soundfile.info(str(raw.wav)).samplerate == 16000
    _check_utterance(raw, with_phones=True)


@pytest.mark.skipif(shutil.which("gcc") is None or not Path("/usr/include/flite/flite.h").exists(),
                    reason="gcc or flite1-dev is not installed")
def test_flite_engine(tmp_path):
    from recipes.tts.install import build_flite_helper

    helper = build_flite_helper(tmp_path / "flite_align")
    [raw] = synthesize(VOICE["flite-rms"], [SENTENCE], tmp_path, flite_helper=helper)
    _check_utterance(raw, with_phones=True)


@pytest.mark.skipif(shutil.which("gcc") is None or not Path("/usr/include/flite/flite.h").exists(),
                    reason="gcc or flite1-dev is not installed")
def test_flite_varied_prosody(tmp_path):
    import torch
    import torchaudio

    from recipes.tts.install import build_flite_helper

    helper = build_flite_helper(tmp_path / "flite_align")
    [plain] = synthesize(VOICE["flite-slt"], [SENTENCE], tmp_path / "plain", flite_helper=helper)
    varied = EXTRA_VOICE["flite-slt-var"]
    [raw] = synthesize(varied, [SENTENCE], tmp_path / "varied", flite_helper=helper)
    _check_utterance(raw, with_phones=True)
    prosody = varied_prosody("flite", raw.id)
    # the words take `stretch` times as long (the pauses at the ends are not stretched alike)
    speech = [words[-1][2] - words[0][1] for words in (plain.words, raw.words)]
    assert speech[1] / speech[0] == pytest.approx(prosody["stretch"], rel=0.05)

    def median_f0(wav):
        samples, rate = soundfile.read(str(wav), dtype="float32")
        return float(torchaudio.functional.detect_pitch_frequency(torch.from_numpy(samples), rate).median())

    assert median_f0(raw.wav) == pytest.approx(prosody["f0_mean"], rel=0.15)
    assert abs(median_f0(plain.wav) - 170) < 25  # slt's own pitch


@pytest.mark.skipif(ctypes.util.find_library("espeak-ng") is None, reason="libespeak-ng is not installed")
def test_espeak_engine(tmp_path):
    [raw] = synthesize(VOICE["espeak-us"], [SENTENCE], tmp_path, flite_helper=tmp_path / "unused")
    assert soundfile.info(str(raw.wav)).samplerate == 22050
    _check_utterance(raw, with_phones=False)


@pytest.mark.skipif(ctypes.util.find_library("espeak-ng") is None, reason="libespeak-ng is not installed")
def test_espeak_rate_and_its_reset():
    def seconds(prosody=None):
        samples, _, rate = espeak_synth("en-us+m2", SENTENCE.text, prosody)
        return samples.size / rate

    default = seconds()
    slow, fast = seconds({"rate": 130}), seconds({"rate": 230})
    assert fast < 0.7 * slow  # speaking time falls with the words per minute (130/230 = 0.57)
    assert slow > default > fast  # espeak-ng's default is 175
    assert seconds() == pytest.approx(default, rel=0.01)  # the next call without prosody is back at the defaults


@pytest.mark.skipif(ctypes.util.find_library("espeak-ng") is None, reason="libespeak-ng is not installed")
def test_varied_espeak_voice(tmp_path):
    voice = EXTRA_VOICE["espeak-var-andy"]
    assert voice.varied_prosody
    [raw] = synthesize(voice, [SENTENCE], tmp_path)
    _check_utterance(raw, with_phones=False)
