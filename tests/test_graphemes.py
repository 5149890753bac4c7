"""Grapheme units: Italian and Russian sentences normalized and encoded (token ids written by
hand), the table built from texts, unknown characters and digits named."""

import pytest

from fsttopo.data.graphemes import GraphemeUnits
from fsttopo.data.pronounce import pronounce_transcript
from fsttopo.topology import AnyLabels

ITALIAN = "'abcdefghilmnopqrstuvzàèéìòù"
RUSSIAN = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"


def test_italian_sentence():
    units = GraphemeUnits(ITALIAN, language="it")
    # ids: ' 1, a-z 2..22 (no j k w x y), à 23 è 24 é 25 ì 26 ò 27 ù 28
    assert units.tokens[:3] == ["<blk>", "'", "a"] and units.tokens[22:] == ["z", "à", "è", "é", "ì", "ò", "ù"]
    text = units.normalize("L’uomo è già qui, perche\u0301? 21 città!")  # typographic apostrophe, decomposed é
    assert text == "l'uomo è già qui perché ventuno città"
    assert units.encode_words(text) == [
        [11, 1, 20, 14, 12, 14], [24], [8, 10, 23], [16, 20, 10], [15, 6, 17, 4, 9, 25],
        [21, 6, 13, 19, 20, 13, 14], [4, 10, 19, 19, 23]]
    assert units.encode("qui è") == [16, 20, 10, 24]


def test_russian_sentence():
    units = GraphemeUnits(RUSSIAN, language="ru")
    # ids: а..я 1..32 in code point order, ё (U+0451) after я: 33
    assert units.token_id("а") == 1 and units.token_id("я") == 32 and units.token_id("ё") == 33
    text = units.normalize("Ёжик, привет! «Ещё» 2 ёлки.")
    assert text == "ёжик привет ещё два ёлки"
    assert units.encode_words(text) == [[33, 7, 9, 11], [16, 17, 9, 3, 6, 19], [6, 26, 33], [5, 3, 1],
                                        [33, 12, 11, 9]]


def test_word_internal_punctuation_stays_only_if_in_the_table():
    with_apostrophe = GraphemeUnits.from_texts(["L'uomo e l'altro."])
    assert "'" in with_apostrophe.tokens and "." not in with_apostrophe.tokens
    assert with_apostrophe.normalize("l'uomo") == "l'uomo"
    without = GraphemeUnits.from_texts(["L'uomo e l'altro."], word_internal="")
    assert "'" not in without.tokens and without.normalize("l'uomo, half-life") == "l uomo half life"


def test_from_texts_sorts_the_characters_after_normalization():
    units = GraphemeUnits.from_texts(["Ciao, Città!", "ÈCCO"], language="it")
    assert units.tokens == ["<blk>", "a", "c", "i", "o", "t", "à", "è"]
    assert "città" in units and "CIAO" in units and "ciao!" not in units and "x" not in units


def test_unknown_characters_and_digits_are_named():
    units = GraphemeUnits(ITALIAN)  # no language: numbers stay digits
    with pytest.raises(ValueError, match=r"'xilofono' \('x'\)"):
        units.encode_words(units.normalize("uno xilofono"))
    with pytest.raises(ValueError, match=r"'21' \('21'\).*language"):
        units.encode_words(units.normalize("anni 21"))
    with pytest.raises(ValueError, match="characters not in the grapheme table: 'x'"):
        units.pronounce("xilofono")
    with pytest.raises(ValueError, match="case-folded"):
        GraphemeUnits("aB")


def test_pronounce_transcript_with_graphemes():
    units = GraphemeUnits(ITALIAN, language="it")
    words = pronounce_transcript(units, "Ciao, xilofono!", oov="phone-loop")
    assert words.text == "ciao xilofono" and words[0] == [4, 10, 2, 14] and isinstance(words[1], AnyLabels)
    for oov in ("g2p", "error"):  # the G2P's phones are ARPAbet: never for graphemes
        with pytest.raises(ValueError, match=r"'xilofono' \('x'\).*phone-loop"):
            pronounce_transcript(units, "ciao xilofono", oov=oov)
    assert pronounce_transcript(units, "ciao")[0] == [4, 10, 2, 14]


def test_a_dash_or_quote_alone_or_around_a_word_is_punctuation_even_when_it_is_in_the_table():
    from fsttopo.data.graphemes import GraphemeUnits

    units = GraphemeUnits.from_texts(["dell'arte", "porta-finestra"])
    assert "-" in units.tokens and "'" in units.tokens
    assert "-" not in units and "'arte" not in units and "porta-" not in units and "dell'arte" in units
    assert units.normalize("- Dell'arte, -porta-finestra- 'arte' -") == "dell'arte porta-finestra arte"
