import pytest

from fsttopo.data import BLANK, PHONES, Lexicon, SubwordUnits
from fsttopo.data.lexicon import read_lexicon_file, strip_stress

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
    # every unknown word at once, each once, in order
    with pytest.raises(ValueError, match=r"2 word\(s\) not in the lexicon \(CMUdict\): 'qwzzkx', 'zzqv2'"):
        lexicon.encode_words("qwzzkx hello zzqv2 qwzzkx")
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


def test_subword_units(tmp_path):
    sentencepiece = pytest.importorskip("sentencepiece")
    texts = ["hello world this is a test", "another sentence with words", "the world says hello"] * 30
    units = SubwordUnits.train(texts, vocab_size=30)
    assert units.tokens[0] == BLANK and units.tokens[1] == "<unk>"
    assert units.num_tokens == len(units.tokens) <= 31
    # Independently: each word encoded by sentencepiece itself, ids shifted by one.
    processor = sentencepiece.SentencePieceProcessor(model_proto=units.model_proto)
    expected = [[i + 1 for i in processor.encode(w)] for w in ("hello", "world")]
    assert units.encode_words("hello world") == expected
    assert units.encode("hello world") == expected[0] + expected[1]
    pieces = [units.tokens[i] for i in expected[0]]
    assert "".join(pieces).replace("\u2581", "") == "hello"
    assert units.token_id(pieces[0]) == expected[0][0]
    units.save(tmp_path / "units.model")
    assert SubwordUnits.load(tmp_path / "units.model").tokens == units.tokens
    with pytest.raises(ValueError, match="not in the token table"):
        units.token_id("<nope>")


def test_lexicon_file_adds_words(tmp_path, lexicon):
    path = tmp_path / "extra.txt"
    path.write_text("# names\nZORBLAX  Z AO1 R B L AE2 K S\nyeer y ih r\nyeer y ih1 r ah\n\n")
    extra = read_lexicon_file(path)
    assert extra == {"zorblax": ("z", "ao", "r", "b", "l", "ae", "k", "s"), "yeer": ("y", "ih", "r")}
    merged = Lexicon.from_cmudict(extra)
    assert merged.pronounce("Zorblax") == ["z", "ao", "r", "b", "l", "ae", "k", "s"]
    assert merged.pronounce("hello") == lexicon.pronounce("hello")
    (tmp_path / "bad.txt").write_text("word q x\n")
    with pytest.raises(ValueError, match=r"bad.txt:1: 'q' is not one of the 39"):
        read_lexicon_file(tmp_path / "bad.txt")
    (tmp_path / "empty.txt").write_text("ok ow k ey\nlonely\n")
    with pytest.raises(ValueError, match=r"empty.txt:2: word 'lonely' has no phones"):
        read_lexicon_file(tmp_path / "empty.txt")


def test_normalize_drops_punctuation_around_words_not_in_the_lexicon(lexicon):
    assert lexicon.normalize('"Hello, world!" -- said Mr. Smith (twice)...') == "Hello world said mister Smith twice"
    assert lexicon.normalize("'em o'clock u.s. don't") == "'em o'clock u.s. don't"  # CMUdict words as they are
    assert lexicon.normalize("qqzx! ...") == "qqzx"  # still unknown: encode_words will name it


def test_cmudict_taken_from_the_cache_equals_the_checked_construction(lexicon):
    # from_cmudict uses the cached parse as it is (start-up); the checking constructor must agree
    from fsttopo.data.lexicon import _parse_cmudict

    checked = Lexicon(_parse_cmudict())
    assert set(lexicon.words) == set(checked.words) and len(lexicon.words) > 100_000
    assert all(lexicon.pronounce(w) == checked.pronounce(w) for w in checked.words)
    assert all(w == w.lower() for w in lexicon.words)
