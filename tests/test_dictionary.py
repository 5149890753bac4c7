"""MFA pronunciation dictionaries: the columns, several pronunciations, bad lines named by
file:line, and the lexicon of any phone set built from them."""

import pytest

from fsttopo.data.dictionary import DictionaryEntry, read_dictionary, word_key
from fsttopo.data.lexicon import Lexicon, read_lexicon_file


def write(tmp_path, text, name="d.dict", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_plain_probability_and_silence_columns(tmp_path):
    path = write(tmp_path, "ciao\tʧ a o\n"
                           "Città 0.8 ʧ i t t a\n"
                           "città\t1.0\tʧ i tː a\n"
                           "uomo\t0.99\t0.05\t1.0\t0.7\tw ɔ m o\n"
                           "\n"
                           "sei 1.0 0.2 0.9 1.1 s ɛ i\n")
    d = read_dictionary(path)
    assert d["ciao"] == [DictionaryEntry(("ʧ", "a", "o"))]
    assert [e.phones for e in d["città"]] == [("ʧ", "i", "t", "t", "a"), ("ʧ", "i", "tː", "a")]
    assert [e.probability for e in d["città"]] == [0.8, 1.0]
    assert d["uomo"] == [DictionaryEntry(("w", "ɔ", "m", "o"), 0.99, 0.05, 1.0, 0.7)]
    assert d["sei"] == [DictionaryEntry(("s", "ɛ", "i"), 1.0, 0.2, 0.9, 1.1)]


def test_keys_are_case_folded_nfc_and_repeats_dropped(tmp_path):
    decomposed = "Citta\u0300"  # a + combining grave accent
    d = read_dictionary(write(tmp_path, f"{decomposed} ʧ i t t a\nCITTÀ ʧ i t t a\nSTRASSE s t r a s ə\n"))
    assert list(d) == ["città", "strasse"] and len(d["città"]) == 1
    assert word_key("Straße") == "strasse" and word_key("ЁЖ") == "ёж"


@pytest.mark.parametrize("line,match", [
    ("word", "has no phones"),
    ("word 0.5", "has no phones"),
    ("word 1.5 a b", r"probability 1.5 is not in \(0, 1\]"),
    ("word 0 a b", r"probability 0 is not in \(0, 1\]"),
    ("word\t-0.1\ta b", r"not in \(0, 1\]"),
    ("word 0.9 0.1 1.0 a b", "expected 0, 1 or 4 probability columns"),
    ("word\tx\ta b", "'x' is not a number"),
    ("word 0.9 1.5 1.0 1.0 a", r"silence probability 1.5 is not in \[0, 1\]"),
    ("word 0.9 0.5 0 1.0 a", "correction factors must be > 0"),
])
def test_bad_lines_are_named_by_file_and_line(tmp_path, line, match):
    path = write(tmp_path, f"good a b\n{line}\n")
    with pytest.raises(ValueError, match=match) as err:
        read_dictionary(path)
    assert f"{path}:2: word 'word'" in str(err.value)


def test_bad_files(tmp_path):
    with pytest.raises(ValueError, match="not UTF-8 text"):
        read_dictionary(write(tmp_path, b"good a\nbad \xff b\n"))
    with pytest.raises(ValueError, match=r"d.dict:2: not UTF-8"):
        read_dictionary(write(tmp_path, b"good a\nbad \xff b\n"))
    with pytest.raises(ValueError, match="does not exist"):
        read_dictionary(tmp_path / "missing.dict")
    with pytest.raises(ValueError, match="has no pronunciations"):
        read_dictionary(write(tmp_path, "\n\n"))


def test_numeric_phones_need_tabs(tmp_path):
    d = read_dictionary(write(tmp_path, "deux\td 2\n"))
    assert d["deux"][0].phones == ("d", "2")


def test_lexicon_of_a_dictionary(tmp_path):
    path = write(tmp_path, "città\t0.3\tʧ i t t a\ncittà\t1.0\tʧ i tː a\nuomo\tw ɔ m o\n"
                           "là\t0.5\tl a\nlà\t0.5\tl aː\n")
    lexicon = Lexicon.from_dictionary(path, language="it")
    assert lexicon.tokens == ["<blk>", "a", "aː", "i", "l", "m", "o", "t", "tː", "w", "ɔ", "ʧ"]
    assert not lexicon.cmudict and lexicon.language == "it"
    assert lexicon.pronounce("CITTÀ") == ["ʧ", "i", "tː", "a"]  # the most probable
    assert lexicon.pronounce("là") == ["l", "a"]  # the first of equally probable ones
    assert [e.probability for e in lexicon.pronunciations("città")] == [0.3, 1.0]  # all kept, file order
    assert "Uomo" in lexicon and "donna" not in lexicon
    assert lexicon.normalize("Città, uomo! 21") == "città uomo ventuno"
    assert lexicon.encode_words("uomo città") == [[9, 10, 5, 6], [11, 3, 8, 1]]
    with pytest.raises(ValueError, match="not in the pronunciation dictionary: 'donna'"):
        lexicon.encode_words("uomo donna")
    more = lexicon.with_words({"donna": ["m", "o"]})
    assert more.tokens == lexicon.tokens and more.pronunciations("donna")[0].phones == ("m", "o")
    with pytest.raises(ValueError, match="outside the lexicon's 11 phones"):
        lexicon.with_words({"x": ["zz"]})


def test_cmudict_lexicon_and_lexicon_files_are_unchanged(tmp_path):
    lexicon = Lexicon.from_cmudict()
    assert lexicon.cmudict and lexicon.num_tokens == 40 and lexicon.pronounce("Hello") == ["hh", "ah", "l", "ow"]
    # every distinct CMUdict pronunciation, stress removed, pronounce()'s first (cmudict: HH AH0 L OW1, HH EH0 L OW1)
    assert [e.phones for e in lexicon.pronunciations("hello")] == [("hh", "ah", "l", "ow"), ("hh", "eh", "l", "ow")]
    extra = read_lexicon_file(write(tmp_path, "FSTTOPO EH1 F # comment\n", "extra.txt"))
    assert Lexicon.from_cmudict(extra).pronounce("fsttopo") == ["eh", "f"]
    with pytest.raises(ValueError, match="outside the 39 ARPAbet phones"):
        Lexicon({"x": ["ʧ"]})
