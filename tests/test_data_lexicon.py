import pytest

from fsttopo.data import BLANK, PHONES, Lexicon
from fsttopo.data.lexicon import strip_stress

# Hand-checked CMUdict entries (first pronunciation), stress removed.
CMUDICT = {
    "hello": "HH AH0 L OW1",
    "world": "W ER1 L D",
    "don't": "D OW1 N T",
    "speech": "S P IY1 CH",
    "measure": "M EH1 ZH ER0",
}


@pytest.fixture(scope="module")
def lexicon():
    return Lexicon.from_cmudict()


def test_token_table(lexicon):
    assert lexicon.tokens[0] == BLANK == "<blk>"
    assert lexicon.num_tokens == 40 == len(lexicon.tokens)
    assert lexicon.tokens[1:] == sorted(lexicon.tokens[1:])
    assert len(set(PHONES)) == 39
    assert lexicon.token_id("<blk>") == 0
    assert lexicon.token_id("aa") == 1
    assert lexicon.token_id("zh") == 39
    with pytest.raises(ValueError, match="'AA'"):
        lexicon.token_id("AA")


@pytest.mark.parametrize("word", sorted(CMUDICT))
def test_pronounce_matches_cmudict(lexicon, word):
    expected = [p.rstrip("012").lower() for p in CMUDICT[word].split()]
    assert lexicon.pronounce(word) == expected
    assert lexicon.pronounce(word.upper()) == expected


def test_encode(lexicon):
    ids = {p: i + 1 for i, p in enumerate(sorted(PHONES))}
    hello = [ids[p] for p in ("hh", "ah", "l", "ow")]
    world = [ids[p] for p in ("w", "er", "l", "d")]
    assert hello == [16, 3, 21, 25]
    assert lexicon.encode_words("hello world") == [hello, world]
    assert lexicon.encode("hello  world") == hello + world


def test_unknown_word_is_named(lexicon):
    assert "qwzzkx" not in lexicon
    with pytest.raises(ValueError, match="qwzzkx"):
        lexicon.encode("hello qwzzkx")
    with pytest.raises(ValueError, match="no words"):
        lexicon.encode_words("   ")


def test_custom_lexicon_validates_phones():
    lexicon = Lexicon({"Ab": ["ae", "b"]})
    assert lexicon.pronounce("ab") == ["ae", "b"]
    with pytest.raises(ValueError, match="outside"):
        Lexicon({"x": ["AE1"]})
    with pytest.raises(ValueError, match="empty"):
        Lexicon({"x": []})


def test_strip_stress():
    assert [strip_stress(p) for p in ("AH0", "OW1", "EY2", "HH")] == ["ah", "ow", "ey", "hh"]
