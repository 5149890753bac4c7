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
