"""Runner, presets and the `fsttopo synth` command on tiny configurations."""

import json
import math
from dataclasses import replace

import pytest

from fsttopo.cli import main
from fsttopo.synthetic import PRESETS, TABLES, markdown_table, mean_std, resolve, run_rows


def test_mean_std_is_sample_std():
    mu, sd = mean_std([1.0, 2.0, 4.0])
    assert mu == pytest.approx(7 / 3)
    assert sd == pytest.approx(math.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2))
    assert mean_std([5.0]) == (5.0, 0.0)


def test_presets_cover_every_table_row():
    assert [len(TABLES[t]) for t in ("table10", "table11", "table12", "table13")] == [8, 11, 4, 6]
    t10 = PRESETS["table10.4"].config
    assert (t10.prior.kind, t10.prior_scale, t10.posterior_scale) == ("static", 0.5, 0.5)
    t11 = PRESETS["table11.6"].config
    assert (t11.posterior_scale, t11.prior_scale, t11.transition_scale, t11.batch_size) == (0.5, 0.3, 0.2, 100)
    assert (t11.model.kind, t11.model.hidden, t11.data.noise) == ("blstm", 20, 0.5)
    t12 = PRESETS["table12.4"].config
    assert (t12.topology, t12.model.hidden, t12.prior_scale) == ("ctc", 100, 0.0)
    t13 = PRESETS["table13.6"].config
    assert (t13.data.repetitions, t13.data.silence_factor) == ((2, 2), (0.5, 0.5))
    assert resolve("table12.1") == [PRESETS["table12.1"]]
    with pytest.raises(ValueError, match="unknown preset"):
        resolve("table99")


def test_runner_writes_table_and_plot(tmp_path):
    rows = [replace(p, config=replace(p.config, eval_size=5, batch_size=4)) for p in TABLES["default"]]
    results = run_rows(rows, seeds=2, out_dir=tmp_path, steps=2, progress=False)
    assert [r.seeds for r in results] == [[0, 1], [0, 1]]
    table = (tmp_path / "results.md").read_text()
    assert table == markdown_table(results)
    lines = table.splitlines()
    assert len(lines) == 4 and lines[2].startswith("| default.prior |") and lines[3].startswith("| default.no-prior |")
    mu, sd = mean_std(results[0].values["tse"])
    assert f"| {mu:.2f} ± {sd:.2f} |" in lines[2]
    ler_mu, ler_sd = mean_std(results[1].values["ler"])
    assert f"| {ler_mu:.1f} ± {ler_sd:.1f} |" in lines[3]
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["default.no-prior"]["values"]["ler"] == results[1].values["ler"]
    for name in ("alignment_default.prior.png", "alignment_default.no-prior.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_synth_command(tmp_path, capsys):
    main(["synth", "--preset", "table13.5", "--seeds", "1", "--steps", "2", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "| table13.5 | 2 frames/label, r_sil=0.14, beta=0.0, alpha=1.0 | 1 |" in out
    assert (tmp_path / "alignment.png").exists()
    main(["synth", "--list"])
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == len(PRESETS)
    with pytest.raises(SystemExit, match="unknown preset"):
        main(["synth", "--preset", "nope"])
    with pytest.raises(SystemExit, match="seeds must be >= 1"):
        main(["synth", "--seeds", "0"])
