"""recipes/tts/choose_phases.py: the rule (fewest phases within the tolerance on every split) on
hand-made numbers, and the stored default read back by the aligner."""

import json
import shutil
from pathlib import Path

from fsttopo.aligner import Aligner
from fsttopo.resources import model_path
from recipes.tts.choose_phases import choose, store


def test_fewest_phases_within_the_tolerance_on_every_split():
    dev = {1: 12.58, 2: 12.34, 4: 12.17}
    assert choose({"dev": dev}, 0.2) == 2
    assert choose({"dev": dev}, 0.5) == 1
    assert choose({"dev": dev}, 0.1) == 4
    # a split where 2 phases are worse than the tolerance decides for all
    assert choose({"dev": dev, "devaug": {1: 24.3, 2: 24.0, 4: 23.7}}, 0.2) == 4


def test_stored_phases_are_the_aligners_default(tmp_path):
    shutil.copytree(Path(model_path("default")).parent, tmp_path / "m")
    store(tmp_path / "m", 1, {"chosen": 1})
    assert Aligner.from_file(tmp_path / "m" / "model.pt").align_options["phases"] == 1
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["align"]["phases"] == 1 and config["phases_selection"] == {"chosen": 1}


def test_variants_rule_on_hand_made_numbers(tmp_path):
    from recipes.tts.choose_variants import choose as choose_variants

    dev = {"off": 12.34, "1.0": 12.37, "2.0": 12.30, "4.0": 12.21, "8.0": 12.18, "16.0": 12.22}
    assert choose_variants({"dev": dev}) == 8.0
    # the best penalty over the splits must lower every split, else the option stays off
    devaug = {"off": 23.19, "1.0": 23.83, "2.0": 23.76, "4.0": 23.64, "8.0": 23.25, "16.0": 23.20}
    assert choose_variants({"dev": dev, "devaug": devaug}) is None
    assert choose_variants({"dev": dev, "devaug": {**devaug, "8.0": 23.1}}) == 8.0
    shutil.copytree(Path(model_path("default")).parent, tmp_path / "m")
    from recipes.tts.choose_phases import store_align_options

    store_align_options(tmp_path / "m", {"pronunciation_variants": True, "variant_penalty": 8.0}, "variants_selection",
                        {"chosen": 8.0})
    options = Aligner.from_file(tmp_path / "m" / "model.pt").align_options
    assert options["pronunciation_variants"] is True and options["variant_penalty"] == 8.0
