"""Italian/Russian corpus recipe: text selection, word matching, TextGrid and dictionary files.

The festival test skips unless festival and the Italian voice (festvox-italp16k) are installed.
"""

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fsttopo.data.export import read_textgrid  # noqa: E402
from recipes.other_languages.corpus import (  # noqa: E402
    espeak_spans,
    match_lab_words,
    utterance_alignment,
    word_phones,
    write_dictionary,
    write_utterance,
)
from recipes.other_languages.text import LANGUAGES, clean, select_sentences, transcript, word_positions  # noqa: E402
from recipes.tts.text import split_sentences  # noqa: E402

IT, RU = LANGUAGES["it"], LANGUAGES["ru"]

# A few fortunes as fortunes-it and fortunes-ru write them.
IT_FORTUNE = """Il cervello e' un organo favoloso.  Comincia a lavorare dal momento in cui ti
svegli la mattina e non smette fino a quando entri in ufficio.
\t\t-- Robert Frost"""
IT_OTHER = ['Ho consegnato un cappuccino da 3 tonnellate!', "La CIA sa tutto di te, perche' sei qui.",
            "Nell'altra c'era un po' di latte, dice lui."]
RU_FORTUNE = """Жизнь - это выяснение отношений с Вечностью.
\t\t-- Виктор Гаврилов"""
RU_OTHER = ["Что-то вроде чудесного факела, который попал мне в руки.", "В 2001 году было так.",
            "Это Windows для меня.", "Жизнь - это выяснение отношений с вечностью!"]


# --- text -------------------------------------------------------------------------------------------


def test_italian_accent_apostrophes_become_letters():
    assert clean("Il cervello e' un organo, perche' si'.", IT) == "Il cervello è un organo, perchè sì."
    assert clean("Nell'altra c'era l'uomo.", IT) == "Nell'altra c'era l'uomo."  # elisions stay
    assert clean("Dice 'ciao' a te", IT) == "Dice 'ciaò a te"  # a quote after a vowel is read as an accent
    assert clean("Он сказал: ’да’", RU) == "Он сказал: 'да'"


def test_engine_text_turns_spoken_dashes_into_commas():
    assert IT.engine_text("Die hard - Duri a morire -- e poi, auto-critici.") == "Die hard, Duri a morire, e poi, auto-critici."
    assert IT.engine_text("- Allora, ciao. - No! -") == "Allora, ciao. No!"
    assert RU.engine_text("Жизнь - это сон.") == "Жизнь - это сон."  # festival ru keeps a dash silent


def test_transcript_rules():
    assert transcript("Nell'altra c'era un po di latte!", IT) == ["nell'altra", "c'era", "un", "po", "di", "latte"]
    assert transcript("Sarajevo-Nicosia, è così.", IT) == ["sarajevo-nicosia", "è", "così"]
    assert transcript("Ne ho 3.", IT) is None  # digits
    assert transcript("La CIA sa.", IT) is None  # acronym
    assert transcript("Жизнь - это «выяснение» отношений…", RU) == ["жизнь", "это", "выяснение", "отношений"]
    assert transcript("Это Windows.", RU) is None  # Latin letters in Russian


def test_select_italian_sentences():
    texts = [*split_sentences(IT_FORTUNE), *IT_OTHER]
    selected = select_sentences(texts, IT)
    assert [s.text for s in selected] == [
        "Il cervello è un organo favoloso.",
        "Comincia a lavorare dal momento in cui ti svegli la mattina e non smette fino a quando entri in ufficio.",
        "Nell'altra c'era un pò di latte, dice lui.",
    ]
    assert selected[2].words == "nell'altra c'era un pò di latte dice lui"
    assert [s.id for s in selected] == ["s00000", "s00001", "s00002"]


def test_select_russian_sentences_counts_a_transcript_once():
    selected = select_sentences([*split_sentences(RU_FORTUNE), *RU_OTHER], RU)
    assert [s.words for s in selected] == [
        "жизнь это выяснение отношений с вечностью",
        "что-то вроде чудесного факела который попал мне в руки",
    ]
    assert select_sentences(["Да, да, да."], RU) == []  # fewer than 4 words
    with pytest.raises(ValueError):
        select_sentences([], RU, min_words=5, max_words=4)


# --- word matching and drop rule ---------------------------------------------------------------------


def test_match_lab_words_accents_hyphens_and_case():
    # festival it: "e'"/"è" comes back as "é", "po'" as "pó", "Sarajevo-Nicosia" as two tokens.
    engine = [("é", 0.3, 0.4), ("un", 0.4, 0.5), ("pó", 0.5, 0.7), ("sarajevo", 0.9, 1.4), ("nicosia", 1.4, 1.9)]
    assert match_lab_words(engine, ["è", "un", "pò", "sarajevo-nicosia"]) == [
        ("è", 0.3, 0.4), ("un", 0.4, 0.5), ("pò", 0.5, 0.7), ("sarajevo-nicosia", 0.9, 1.9)]
    # festival ru keeps the case of the text and "что-то" as one token.
    assert match_lab_words([("Жизнь", 0.2, 0.7), ("-", 0.7, 0.7), ("что-то", 0.9, 1.3)], ["жизнь", "что-то"]) == [
        ("жизнь", 0.2, 0.7), ("что-то", 0.9, 1.3)]  # a silent dash token is skipped


@pytest.mark.parametrize("engine, lab", [
    ([("dodici", 0.3, 0.8), ("anni", 0.8, 1.1)], ["anni"]),  # a number read out: extra token
    ([("cia", 0.3, 0.5), ("t", 0.5, 0.6), ("v", 0.6, 0.7)], ["cia", "tv"]),  # "TV" spelled: t + v joined is fine
    ([("un", 0.3, 0.5)], ["un", "uomo"]),  # a word missing
    ([("un", 0.5, 0.5)], ["un"]),  # no duration
    ([("duri", 0.3, 0.6), ("-", 0.6, 0.9), ("a", 0.9, 1.0)], ["duri", "a"]),  # "- a" read "meno a"
])
def test_match_lab_words_drops(engine, lab):
    expected = [("cia", 0.3, 0.5), ("tv", 0.5, 0.7)] if lab == ["cia", "tv"] else None
    assert match_lab_words(engine, lab) == expected


def test_espeak_spans_place_phones_by_text_position():
    text = "Жизнь - это сон."
    assert word_positions(text) == [(0, 5), (8, 11), (12, 16)]
    # espeak-ng ru events (phone, sample, 1-based text position): "это" comes with the dash's position.
    events = [("Z", 100, 1), ("y", 200, 1), ("_:", 300, 1), ("E", 400, 7), ("t", 500, 7), ("V", 600, 7),
              ("s", 700, 13), ("o", 800, 13), ("n", 900, 13), ("_:", 1000, 16), ("_", 1100, 16)]
    words, phones = espeak_spans(word_positions(text), events, num_samples=1100, sample_rate=1000)
    assert words == [(0.1, 0.3), (0.4, 0.7), (0.7, 1.0)]
    assert [p for p, _, _ in phones] == ["Z", "y", "E", "t", "V", "s", "o", "n"] and phones[0] == ("Z", 0.1, 0.2)
    assert espeak_spans(word_positions(text), events[:6], 1100, 1000) is None  # "сон" gets no phone
    backwards = [("Z", 100, 1), ("E", 400, 9), ("y", 500, 1), ("s", 700, 13)]
    assert espeak_spans(word_positions(text), backwards, 1100, 1000) is None


def test_word_phones_and_alignment_skip_pauses():
    words = [("il", 0.3, 0.4), ("cervello", 0.4, 0.93)]
    phones = [("#", 0.0, 0.3), ("i1", 0.3, 0.35), ("l", 0.35, 0.4), ("tS", 0.4, 0.5), ("e", 0.5, 0.56),
              ("r", 0.56, 0.6), ("v", 0.6, 0.68), ("E1", 0.68, 0.77), ("l", 0.77, 0.81), ("l", 0.81, 0.86),
              ("o", 0.86, 0.93), ("#", 0.93, 1.3)]
    alignment = utterance_alignment("lp-s00000", "Il cervello.", words, phones, duration=1.32)
    assert [t.symbol for t in alignment.phones][:3] == ["i1", "l", "tS"] and len(alignment.phones) == 10
    spans = [(t.symbol, t.start, t.end) for t in alignment.words]
    assert word_phones(spans, [(t.symbol, t.start, t.end) for t in alignment.phones]) == [
        ("i1", "l"), ("tS", "e", "r", "v", "E1", "l", "l", "o")]
    assert word_phones([("il", 1.5, 1.6)], phones) is None
    # a phone apart from every word cannot be placed
    assert utterance_alignment("x", "Il.", [("il", 0.3, 0.35)], [("i1", 0.3, 0.35), ("l", 0.5, 0.6)], 1.0) is None


# --- files -------------------------------------------------------------------------------------------


def test_textgrid_round_trip(tmp_path):
    words = [("жизнь", 0.177, 0.737), ("это", 0.964, 1.253)]
    phones = [("pau", 0.0, 0.177), ("zh", 0.177, 0.377), ("ii", 0.377, 0.457), ("z", 0.457, 0.567),
              ("nn", 0.567, 0.737), ("pau", 0.737, 0.964), ("ee", 0.964, 1.153), ("t", 1.153, 1.223),
              ("ay", 1.223, 1.253), ("pau", 1.253, 1.5)]
    alignment = utterance_alignment("nsh-s00001", "Жизнь - это.", words, phones, duration=1.51)
    write_utterance(tmp_path / "nsh", alignment)
    assert (tmp_path / "nsh" / "nsh-s00001.lab").read_text(encoding="utf-8") == "Жизнь - это.\n"
    grid = tmp_path / "nsh" / "nsh-s00001.TextGrid"
    text = grid.read_text(encoding="utf-8")
    assert text.startswith('File type = "ooTextFile"') and 'name = "words"' in text and 'name = "phones"' in text
    assert 'text = ""' in text  # pauses are empty intervals
    back = read_textgrid(grid)
    assert [(t.symbol, t.start, t.end) for t in back.words] == words
    assert [t.symbol for t in back.phones] == ["zh", "ii", "z", "nn", "ee", "t", "ay"]
    assert back.duration == pytest.approx(1.51)


def test_dictionary_format(tmp_path):
    path = tmp_path / "dictionary.txt"
    lines = write_dictionary(path, [("Città", ("tS", "i", "t", "t", "a1")), ("città", ("tS", "i", "t", "t", "a1")),
                                    ("e", ("e1",)), ("e", ("E1",)), ("vuoto", ())])
    assert lines == 3
    assert path.read_text(encoding="utf-8") == "città\ttS i t t a1\ne\tE1\ne\te1\n"


# --- festival (skips without the Debian voices) ------------------------------------------------------

LP = Path("/usr/share/festival/voices/italian/lp_diphone")


@pytest.mark.skipif(shutil.which("festival") is None or not LP.exists(), reason="festival's Italian lp voice is missing")
def test_festival_italian_latin1(tmp_path):
    from recipes.other_languages.synthesize import VOICES
    from recipes.tts.engines import synthesize
    from recipes.tts.text import Sentence

    sentence = Sentence("s00000", "Perchè la città è già qui.", "perchè la città è già qui")
    [raw] = synthesize(VOICES["it"][0], [sentence], tmp_path)
    words = match_lab_words(raw.words, sentence.words.split())
    assert words is not None and [w for w, _, _ in words] == sentence.words.split()
    assert abs(raw.label_end - raw.duration) < 0.05


def test_the_held_out_voice_and_its_speed_copies_never_reach_the_training_split(tmp_path):
    import json

    from recipes.other_languages.split import split_corpus

    groups = {"lp": ["lp", "lp-slow"], "pc": ["pc", "pc-fast"]}
    (tmp_path / "summary.json").write_text(json.dumps({"hold_out_together": groups}))
    for speaker in ("lp", "lp-slow", "pc", "pc-fast"):
        (tmp_path / "corpus" / speaker).mkdir(parents=True)
        for suffix in (".wav", ".lab"):
            (tmp_path / "corpus" / speaker / f"{speaker}-u1{suffix}").write_text(speaker)
    assert split_corpus(tmp_path, "pc") == {"test": ["pc", "pc-fast"], "train": ["lp", "lp-slow"]}
    assert sorted(p.name for p in (tmp_path / "train").iterdir()) == ["lp", "lp-slow"]
    link = tmp_path / "test" / "pc-fast" / "pc-fast-u1.lab"
    assert link.is_symlink() and link.read_text() == "pc-fast"
    assert split_corpus(tmp_path, "pc")["train"] == ["lp", "lp-slow"]  # a re-run replaces the trees


def test_extra_voices_come_after_the_others_and_are_held_out_together():
    from recipes.other_languages.synthesize import speakers

    plain = [s.name for s in speakers("it")]
    extra = speakers("it", extra=True)
    # the plain speakers first and unchanged, so with the same per-speaker quota they read the
    # same sentences as without the extra voices
    assert [s.name for s in extra][: len(plain)] == plain == ["lp", "lp-slow", "lp-fast", "pc", "pc-slow", "pc-fast"]
    assert [(s.name, s.voice.engine, s.voice.speaker, s.speed) for s in extra[len(plain):]] == [
        ("espeak-it", "espeak-ng", "espeak", 1.0), ("espeak-it-m3", "espeak-ng", "espeak", 1.0),
        ("espeak-it-f1", "espeak-ng", "espeak", 1.0)]
    ru_plain = speakers("ru")
    ru_extra = speakers("ru", extra=True)
    assert ru_extra[: len(ru_plain)] == ru_plain
    # Russian's extras are espeak-ng variants outside the held-out group "espeak"
    assert [(s.voice.engine_voice, s.voice.speaker) for s in ru_extra[len(ru_plain):]] == [
        ("ru+m1", "espeak-extra"), ("ru+f3", "espeak-extra"), ("ru+m5", "espeak-extra")]
    assert not {s.voice.engine_voice for s in ru_extra[len(ru_plain):]} & {s.voice.engine_voice for s in ru_plain}
