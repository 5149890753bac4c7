"""Units travel in model files: dictionary, grapheme and CMUdict token tables round-trip through
save_model / Aligner.from_file; old files without units read as CMUdict; training checks every
transcript up front and normalizes the texts it encodes."""

import pytest
import torch
from lhotse import CutSet
from lhotse.testing.dummies import dummy_cut, dummy_supervision

from fsttopo.aligner import Aligner
from fsttopo.data.graphemes import GraphemeUnits
from fsttopo.data.lexicon import Lexicon
from fsttopo.data.units import units_from_dict, units_to_dict
from fsttopo.models import AlignmentModel, ModelConfig
from fsttopo.resources import MODEL_DIR
from fsttopo.training import ObjectiveConfig, TrainConfig, save_model, train
from fsttopo.training.checkpoint import read_model_file
from fsttopo.training.data import CutBatches, check_training_texts

DICTIONARY = "ciao\tʧ a o\ncittà\t0.4\tʧ i t t a\ncittà\t1.0\tʧ i tː a\nuomo\tw ɔ m o\n"


def tiny_model(num_tokens):
    torch.manual_seed(0)
    return AlignmentModel(ModelConfig(num_tokens=num_tokens, d_model=32, num_layers=1, num_heads=2, ffn_dim=64,
                                      conv_kernel=3))


def saved(tmp_path, lexicon, name="m.pt", **kw):
    path = tmp_path / name
    save_model(path, tiny_model(lexicon.num_tokens), ObjectiveConfig(topology="hmm"), lexicon.tokens, **kw)
    return path


@pytest.fixture
def dictionary(tmp_path):
    (tmp_path / "it.dict").write_text(DICTIONARY, encoding="utf-8")
    return Lexicon.from_dictionary(tmp_path / "it.dict", language="it")


def test_dictionary_units_round_trip_and_align(tmp_path, dictionary):
    path = saved(tmp_path, dictionary, units=units_to_dict(dictionary))
    aligner = Aligner.from_file(path)
    lexicon = aligner.lexicon
    assert aligner.tokens == dictionary.tokens == lexicon.tokens and not lexicon.cmudict
    assert lexicon.pronounce("città") == ["ʧ", "i", "tː", "a"]
    assert [e.probability for e in lexicon.pronunciations("città")] == [0.4, 1.0]
    out = aligner.align([torch.randn(200, 80)], ["Ciao, città!"], method="viterbi")
    ali = out.alignments[0]
    assert [w.symbol for w in ali.words] == ["ciao", "città"]
    assert [p.symbol for p in ali.phones] == ["ʧ", "a", "o", "ʧ", "i", "tː", "a"]
    with pytest.raises(ValueError, match="'donna'.*g2p' guesses ARPAbet phones"):
        aligner.align([torch.randn(200, 80)], ["ciao donna"])
    loop = aligner.align([torch.randn(200, 80)], ["ciao donna"], oov="phone-loop").alignments[0]
    assert [w.symbol for w in loop.words] == ["ciao", "donna"]


def test_grapheme_units_round_trip_and_align(tmp_path):
    units = GraphemeUnits.from_texts(["Привет, ёлка!"], language="ru")
    aligner = Aligner.from_file(saved(tmp_path, units, units=units_to_dict(units)))
    assert isinstance(aligner.lexicon, GraphemeUnits) and aligner.lexicon.language == "ru"
    assert aligner.tokens == units.tokens == ["<blk>", "а", "в", "е", "и", "к", "л", "п", "р", "т", "ё"]
    ali = aligner.align([torch.randn(150, 80)], ["Ёлка, привет!"], method="viterbi").alignments[0]
    assert [w.symbol for w in ali.words] == ["ёлка", "привет"]
    assert "".join(p.symbol for p in ali.phones) == "ёлкапривет"


def test_units_dicts_round_trip():
    lexicon = Lexicon.from_cmudict({"fsttopo": ["f", "s", "t"]})
    assert units_to_dict(Lexicon.from_cmudict()) == {"kind": "cmudict"}
    again = units_from_dict(units_to_dict(lexicon))
    assert again.cmudict and again.pronounce("fsttopo") == ["f", "s", "t"]
    units = GraphemeUnits("abc", language="it")
    assert units_from_dict(units_to_dict(units)).tokens == units.tokens
    with pytest.raises(ValueError, match="unknown kind of units 'klingon'"):
        units_from_dict({"kind": "klingon"})
    with pytest.raises(ValueError, match="malformed 'graphemes' units"):
        units_from_dict({"kind": "graphemes"})


def test_files_without_units_are_cmudict(tmp_path):
    cmudict = Lexicon.from_cmudict()
    f = read_model_file(saved(tmp_path, cmudict))
    assert f.units == {"kind": "cmudict"}
    assert Aligner.from_file(tmp_path / "m.pt").lexicon.tokens == cmudict.tokens
    for name in ("model", "model_robust"):  # the shipped files are read as they are
        assert read_model_file(MODEL_DIR.parent / name / "model.pt").units == {"kind": "cmudict"}


def test_a_lexicon_of_another_token_table_is_refused(tmp_path, dictionary):
    path = saved(tmp_path, dictionary, units=units_to_dict(dictionary))
    with pytest.raises(ValueError, match="the model's token table .* differs from the lexicon's"):
        Aligner.from_file(path, Lexicon.from_cmudict())
    with pytest.raises(ValueError, match="token table"):  # a dictionary file whose units are not its tokens
        Aligner.from_file(saved(tmp_path, dictionary, "bad.pt", units={"kind": "cmudict"}))


def cuts(*texts):
    return CutSet.from_cuts(dummy_cut(i, supervisions=[dummy_supervision(i, text=t)]) for i, t in enumerate(texts))


def test_training_text_check_names_every_unknown_word(dictionary):
    problems = check_training_texts(cuts("Ciao, città!", "ciao donna", "donna uomo", "ciao zorro", "?!"), dictionary)
    assert problems[0] == "unknown word 'donna': 2 time(s), e.g. in cut dummy-mono-cut-0001"
    assert problems[1].startswith("unknown word 'zorro': 1 time(s)")
    assert problems[2].startswith("cut dummy-mono-cut-0004: text has no words")
    assert check_training_texts(cuts("Ciao, città!", "uomo."), dictionary) == []
    graphemes = GraphemeUnits("abc")
    assert check_training_texts(cuts("abc, cab", "abd"), graphemes) == [
        "unknown word 'abd': 1 time(s), e.g. in cut dummy-mono-cut-0001"]


def test_train_stops_before_the_first_epoch(tmp_path, dictionary):
    config = ModelConfig(num_tokens=dictionary.num_tokens, d_model=32, num_layers=1, num_heads=2, ffn_dim=64,
                         conv_kernel=3)
    with pytest.raises(ValueError, match=r"(?s)2 problem\(s\).*'donna'.*dev: unknown word 'zorro'"):
        train(config, ObjectiveConfig(), TrainConfig(epochs=1), cuts("ciao donna"), cuts("zorro"), dictionary,
              dictionary.tokens, tmp_path / "exp")
    assert not (tmp_path / "exp").exists()


def test_batches_encode_normalized_texts(dictionary):
    batches = CutBatches(dictionary)
    batches.features = lambda cs: [torch.zeros(20, 80) for _ in cs]  # no stored features needed here
    batch = batches[cuts("Ciao, città!")]
    assert batch["texts"] == ["ciao città"]
    assert batch["words"] == [[dictionary.encode_words("ciao")[0], dictionary.encode_words("città")[0]]]
    cmudict = CutBatches(Lexicon.from_cmudict())
    cmudict.features = batches.features
    assert cmudict[cuts("That's funny, isn't it?")]["texts"] == ["That's funny isn't it"]


def test_cli_train_units_and_lexicon_options(tmp_path, dictionary):
    import argparse
    import json

    from fsttopo.cli import _load_aligner, main

    (tmp_path / "config.json").write_text(json.dumps({"model": {"d_model": 32, "num_layers": 1, "num_heads": 2,
                                                                "ffn_dim": 64}, "train": {"epochs": 1}}))
    cuts("Ciao, donna!").to_file(tmp_path / "train.jsonl.gz")
    base = ["train", str(tmp_path / "config.json"), "--train", str(tmp_path / "train.jsonl.gz"), "--out",
            str(tmp_path / "exp")]
    for extra, message in ((["--units", "dictionary"], "--units dictionary and --dictionary go together"),
                           (["--dictionary", str(tmp_path / "it.dict")], "unknown word 'donna': 1 time"),
                           (["--units", "cmudict", "--language", "it"], "CMUdict units are English")):
        with pytest.raises(SystemExit, match=message):
            main(base + extra)
    model = saved(tmp_path, dictionary, units=units_to_dict(dictionary))
    (tmp_path / "extra.txt").write_text("donna D AO1 N AH0\n")
    with pytest.raises(ValueError, match="--lexicon adds ARPAbet words to CMUdict models"):
        _load_aligner(argparse.Namespace(model=str(model), lexicon=str(tmp_path / "extra.txt"), threads=0))
