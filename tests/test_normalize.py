"""Text normalization (fsttopo.data.normalize): hand-worked expansions of transcripts as users write
them, the token -> words mapping, and compounds kept whole or split by the lexicon."""

import pytest

from fsttopo.data.lexicon import Lexicon
from fsttopo.data.normalize import normalize_text, normalize_tokens, number_words


@pytest.fixture(scope="module")
def known():
    return Lexicon.from_cmudict().__contains__


def test_the_issue_sentence(known):
    assert normalize_text("Dr. Smith paid $5.50 on the 3rd of May 1999.", known) == (
        "doctor Smith paid five dollars fifty cents on the third of May nineteen ninety nine")


def test_every_original_token_maps_to_its_words(known):
    assert normalize_tokens("Dr. Smith paid $5 million -- and/or 21st!", known) == [
        ("Dr.", ["doctor"]), ("Smith", ["Smith"]), ("paid", ["paid"]), ("$5", ["five", "million", "dollars"]),
        ("million", []),  # read with the amount before it
        ("--", []), ("and/or", ["and", "or"]), ("21st!", ["twenty", "first"])]


@pytest.mark.parametrize("written, said", [
    ("1,234", "one thousand two hundred thirty four"),
    ("105", "one hundred five"),          # American reading: no "and"
    ("007", "zero zero seven"),
    ("3.14", "three point one four"),
    ("12%", "twelve percent"),
    ("2.5%", "two point five percent"),
    ("$1", "one dollar"),
    ("$1.01", "one dollar one cent"),
    ("$5.5", "five dollars fifty cents"),
    ("$3.00", "three dollars"),
    ("£3.50", "three pounds fifty pence"),
    ("€2", "two euros"),
    ("1st", "first"), ("2nd", "second"), ("3rd", "third"), ("11th", "eleventh"), ("101st", "one hundred first"),
    ("10:30", "ten thirty"), ("7:05", "seven oh five"), ("9:00", "nine o'clock"),
    ("1/2", "one half"), ("3/4", "three quarters"), ("2/3", "two thirds"), ("1/5", "one fifth"),
    ("2005", "two thousand five"), ("1900", "nineteen hundred"), ("2099", "twenty ninety nine"),
    ("1999", "nineteen ninety nine"), ("1100", "eleven hundred"),
    ("1066", "one thousand sixty six"),   # no year context: a plain number
    ("mp3", "mp three"),
])
def test_numbers(known, written, said):
    assert normalize_text(written, known) == said


def test_years_need_context_below_1100(known):
    assert normalize_text("in 1066 and 1066 people", known) == "in ten sixty six and one thousand sixty six people"
    assert normalize_text("from 1990-1995", known) == "from nineteen ninety nineteen ninety five"


@pytest.mark.parametrize("written, said", [
    ("Dr. Who", "doctor Who"), ("Mr. and Mrs. Jones", "mister and missus Jones"), ("Ms. Lee", "ms Lee"),
    ("St. Louis", "saint Louis"), ("Prof. X", "professor X"), ("Jr.", "junior"), ("Mt. Fuji", "mount Fuji"),
    ("Kramer vs. Kramer", "Kramer versus Kramer"), ("pens, etc.", "pens et cetera"),
    ("(e.g. this)", "for example this"), ("i.e.", "that is"), ("salt & pepper", "salt and pepper"),
    ("No. 5", "number five"), ("No. way", "No way"), ("no", "no"), ("2 + 2 = 4", "two plus two equals four"),
])
def test_abbreviations(known, written, said):
    assert normalize_text(written, known) == said


def test_compounds_split_only_when_the_lexicon_lacks_them(known):
    assert not known("half-life") and known("x-ray") and known("well-known")
    assert normalize_text("a half-life, an x-ray, well-known labor-saving R&D", known) == (
        "a half life an x-ray well-known labor saving R and D")
    # without a lexicon every compound is split
    assert normalize_text("x-ray and/or") == "x ray and or"


def test_lexicon_words_and_punctuation(known):
    assert normalize_text("'em o'clock u.s. don't", known) == "'em o'clock u.s. don't"
    assert normalize_text('"Hello, world!" -- (twice)...', known) == "Hello world twice"
    assert normalize_text("   ", known) == ""


def test_number_words_is_num2words_without_hyphens():
    assert number_words("21") == ["twenty", "one"]
    assert number_words("1,000,000") == ["one", "million"]


def test_lexicon_normalize_uses_it():
    lexicon = Lexicon.from_cmudict()
    assert lexicon.normalize("Dr. Smith's 2 half-lives") == "doctor Smith's two half lives"
