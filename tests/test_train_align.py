"""``train-align`` end to end on a generated corpus in a made-up language (fsttopo.synthetic.tone_corpus):
prepare, graphemes, CTC from scratch then the HMM, tuning on the dev speaker, the model file,
the corpus aligned and scored against the true times; a new utterance aligned by the model alone;
resuming; unknown words stopped before training."""

import json

import numpy as np
import pytest

from fsttopo import cli
from fsttopo.aligner import Aligner, compute_features
from fsttopo.synthetic.tone_corpus import write_tone_corpus
from fsttopo.train_align import TrainAlignConfig, epochs_for, train_align

TINY = {"subsampling": 4, "frontend_channels": 16, "d_model": 64, "num_layers": 2, "num_heads": 2, "ffn_dim": 128,
        "conv_kernel": 7, "dropout": 0.0}


def config(**changes) -> TrainAlignConfig:
    return TrainAlignConfig(**{"units": "graphemes", "steps": 350, "max_duration": 10.0, "peak_lr": 2e-3,
                               "spec_augment": False, "dev_speakers": ["čeněk"], "model": dict(TINY), **changes})


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train_align")
    corpus = write_tone_corpus(tmp / "corpus", utterances=20)
    stages = train_align(corpus.root, tmp / "run", config(), log=lambda line: None)
    return corpus, tmp / "run", stages


def test_every_stage_ran_and_the_corpus_is_aligned_within_tolerance(run):
    corpus, out, stages = run
    assert list(stages) == ["prepare", "units", "ctc", "final", "tune", "model", "align"]
    assert stages["prepare"]["dev_speakers"] == ["čeněk"] and stages["prepare"]["utterances"] == {"train": 40, "dev": 20}
    assert stages["units"] == {"kind": "graphemes", "tokens": ["<blk>", *sorted("aèilmorsu")]}
    assert stages["tune"]["criterion"] == "references"  # every dev file has a TextGrid
    # --topology auto (the default): the epochs of both stages compete on dev, the winner's stage is named
    from fsttopo.train_align import tuning_candidates
    from fsttopo.tuning import epoch_files

    compared = sum(len(tuning_candidates(epoch_files(stages[s]["dir"]), 4)) for s in ("ctc", "final"))
    assert stages["tune"]["epochs"] == compared
    assert stages["tune"]["stage"] in ("ctc", "final")
    assert stages["tune"]["model"].startswith(stages[stages["tune"]["stage"]]["dir"])
    assert stages["align"]["aligned"] == 60 and stages["align"]["failed"] == []
    # the true times of a held-out speaker, letters of 90-150 ms, 40 ms model frames
    assert stages["align"]["word_boundary_error_ms_dev"] < 40, stages["align"]
    assert (out / "alignments" / "čeněk" / "čeněk_000.TextGrid").is_file()
    assert json.loads((out / "train_align.json").read_text())["stages"]["model"]["path"] == str(out / "model.pt")


def test_the_model_file_alone_aligns_a_new_utterance(run, tmp_path):
    corpus, out, _ = run
    new = write_tone_corpus(tmp_path / "new", speakers=("dora",), utterances=1, seed=7)
    (name, words), = new.words.items()
    aligner = Aligner.from_file(out / "model.pt")  # units, prior and tuned options inside
    text = (new.root / f"{name}.lab").read_text()
    ali = aligner.align([compute_features(new.root / f"{name}.wav")], [text]).alignments[0]
    errors = [abs(h.start - s) for h, (_, s, _) in zip(ali.words, words)] + \
             [abs(h.end - e) for h, (_, _, e) in zip(ali.words, words)]
    assert [w.symbol for w in ali.words] == [w for w, _, _ in words]
    assert 1000 * np.mean(errors) < 40, errors


def test_a_second_run_resumes_and_other_settings_are_refused(run):
    corpus, out, stages = run
    assert train_align(corpus.root, out, config(), log=lambda line: None) == stages
    with pytest.raises(ValueError, match="other settings"):
        train_align(corpus.root, out, config(steps=10), log=lambda line: None)


def test_an_unknown_word_stops_the_run_before_training(tmp_path):
    corpus = write_tone_corpus(tmp_path / "corpus", speakers=("anna", "boris"), utterances=3)
    dictionary = tmp_path / "dict.txt"
    dictionary.write_text("mari\tm a r i\nil\ti l\n", encoding="utf-8")  # most words are missing
    with pytest.raises(ValueError, match="not in the lexicon|unknown|problem"):
        train_align(corpus.root, tmp_path / "run", config(units="dictionary", dictionary=str(dictionary),
                                                          dev_speakers=["boris"]), log=lambda line: None)
    assert not (tmp_path / "run" / "ctc").exists()


def test_epochs_follow_from_the_corpus_size():
    c = TrainAlignConfig(steps=600, max_duration=30.0, max_epochs=40)
    assert epochs_for(3600.0, c) == 5      # 120 batches an epoch
    assert epochs_for(60.0, c) == 40       # 2 batches an epoch: capped
    assert epochs_for(36000.0, c) == 1
    with pytest.raises(ValueError, match="units"):
        TrainAlignConfig(units="letters")
    with pytest.raises(ValueError, match="dictionary"):
        TrainAlignConfig(units="dictionary")


def test_cli_names_a_missing_corpus(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train-align", str(tmp_path / "nothing"), "--out", str(tmp_path / "run")])
    assert "is not a directory" in str(exit_info.value.code)
