"""Named configurations: one preset per row of the paper's Tables 10-13 (Table 1 is a subset of
Table 11), grouped by table, plus ``default`` (a quick two-row comparison).

Choices not given in the paper (kept here, documented in docs/synthetic.md): Adam; FFNN rows
batch 32, 400 steps, lr 0.02; BLSTM rows batch 100 (as in the paper), 300 steps, lr 0.01;
posterior-average priors over the mini-batch; evaluation on 100 held-out sequences. ``paper``
holds the published mean and std per metric (``None`` where the source text lost the value).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .data import DataConfig
from .models import ModelConfig
from .priors import PriorConfig
from .train import ExperimentConfig

__all__ = ["Preset", "PRESETS", "TABLES", "resolve"]

Paper = dict[str, "tuple[float, float] | None"]


@dataclass(frozen=True)
class Preset:
    """A named experiment: ``config`` and the paper's numbers for it (keys of the metrics)."""

    name: str
    description: str
    config: ExperimentConfig
    paper: Paper | None = None


def _paper(ler, ce, eps, tse) -> Paper:
    return {"ler": ler, "fw_ce": ce, "eps_posterior": eps, "tse": tse}


_FFNN = ExperimentConfig(model=ModelConfig("ffnn"), batch_size=32, steps=400, lr=0.02)
_HIGH_RATE = DataConfig(num_words=(1, 1), repetitions=(10, 10), silence_factor=(1.0, 1.0))
_SG = PriorConfig("posterior", stop_grad=True)
_NOSG = PriorConfig("posterior", stop_grad=False)
_STATIC = PriorConfig("static")
_NONE = PriorConfig("none")


def _t10(i: int, prior: PriorConfig, beta: float, alpha: float, paper: Paper) -> Preset:
    what = {"posterior": f"posterior avg. ({'stop-grad' if prior.stop_grad else 'no stop-grad'})",
            "static": "static (reference counts)", "none": "no prior"}[prior.kind]
    cfg = replace(_FFNN, data=_HIGH_RATE, prior=prior, prior_scale=beta, posterior_scale=alpha)
    return Preset(f"table10.{i}", f"{what}, beta={beta}, alpha={alpha}", cfg, paper)


_TABLE10 = [
    _t10(1, _SG, 0.5, 0.5, _paper((0.0, 0.0), (0.00, 0.00), (50, 0), (0.0, 0.0))),
    _t10(2, _SG, 1.0, 1.0, _paper((0.5, 1.1), (0.05, 0.10), (50, 0), (0.1, 0.2))),
    _t10(3, _NOSG, 0.5, 0.5, _paper((33.8, 26.0), (1.79, 1.94), (45, 15), (0.4, 1.2))),
    _t10(4, _STATIC, 0.5, 0.5, _paper((108.2, 10.1), (11.39, 0.74), (0, 0), (19.5, 0.0))),
    _t10(5, _STATIC, 0.1, 0.5, _paper((8.7, 20.8), (0.39, 0.86), (52, 3), (0.6, 1.2))),
    _t10(6, _STATIC, 0.03, 0.1, _paper((11.8, 11.0), (0.28, 0.11), (50, 8), (0.9, 1.4))),
    _t10(7, _NONE, 0.0, 0.5, _paper((36.9, 25.3), (2.19, 1.78), (64, 13), (5.7, 5.1))),
    _t10(8, _NONE, 0.0, 1.0, _paper((65.9, 32.0), (5.28, 4.26), (68, 27), (11.2, 5.5))),
]

_NOISY = DataConfig(num_words=(1, 3), repetitions=(2, 2), silence_factor=(0.3, 0.3), noise=0.5)
_BLSTM = ExperimentConfig(data=_NOISY, model=ModelConfig("blstm", hidden=20), batch_size=100, steps=300, lr=0.01)


def _t11(i: int, alpha: float, beta: float, gamma: float, paper: Paper) -> Preset:
    cfg = replace(_BLSTM, prior=_SG if beta > 0 else _NONE, posterior_scale=alpha, prior_scale=beta,
                  transition_scale=gamma)
    return Preset(f"table11.{i}", f"alpha={alpha}, beta={beta}, gamma={gamma}", cfg, paper)


_TABLE11 = [
    _t11(1, 0.5, 0.5, 0.0, _paper((10.5, 5.2), (0.54, 0.09), None, None)),
    _t11(2, 0.5, 0.2, 0.0, _paper((5.9, 4.7), (0.51, 0.06), (23, 4), (0.3, 0.1))),
    _t11(3, 0.5, 0.5, 0.1, _paper((9.4, 5.8), (0.55, 0.05), (15, 3), (0.3, 0.1))),
    _t11(4, 0.5, 0.5, 0.2, _paper((7.7, 5.4), (0.52, 0.05), (16, 2), (0.3, 0.0))),
    _t11(5, 0.5, 0.5, 0.3, _paper((7.8, 5.7), (0.53, 0.08), (15, 3), (0.3, 0.1))),
    _t11(6, 0.5, 0.3, 0.2, _paper((4.7, 4.4), (0.50, 0.10), (18, 4), (0.3, 0.1))),
    _t11(7, 0.5, 0.0, 0.5, _paper((5.0, 5.0), (0.45, 0.06), (20, 3), (0.2, 0.1))),
    _t11(8, 0.5, 0.0, 0.2, _paper((7.8, 9.7), (0.52, 0.15), (24, 2), (0.3, 0.2))),
    _t11(9, 0.5, 0.0, 0.1, _paper((7.2, 5.0), (0.57, 0.08), (26, 4), (0.4, 0.1))),
    _t11(10, 0.5, 0.0, 0.0, _paper((6.7, 6.5), (0.60, 0.13), (30, 3), (0.5, 0.1))),
    _t11(11, 1.0, 0.0, 0.0, _paper((63.7, 14.3), (3.57, 0.63), (11, 20), (1.3, 0.3))),
]


def _t12(i: int, hidden: int, topology: str, paper: Paper) -> Preset:
    cfg = replace(_BLSTM, model=ModelConfig("blstm", hidden=hidden), topology=topology, prior=_NONE)
    return Preset(f"table12.{i}", f"BLSTM {hidden} dims, {topology.upper()} topology", cfg, paper)


_TABLE12 = [
    _t12(1, 20, "hmm", _paper((63.7, 14.3), (3.57, 0.63), (11, 20), (1.3, 0.3))),
    _t12(2, 20, "ctc", _paper((14.2, 8.2), (0.41, 0.07), (39, 4), (1.3, 0.5))),
    _t12(3, 100, "hmm", _paper((14.8, 9.7), (2.04, 0.56), (41, 7), (1.1, 0.1))),
    _t12(4, 100, "ctc", _paper((5.5, 4.7), (0.21, 0.05), (29, 3), (0.5, 0.6))),
]


def _t13(i: int, reps: int, r_sil: float, beta: float, alpha: float, paper: Paper) -> Preset:
    data = DataConfig(num_words=(1, 1), repetitions=(reps, reps), silence_factor=(r_sil, r_sil))
    cfg = replace(_FFNN, data=data, prior=_SG if beta > 0 else _NONE, prior_scale=beta, posterior_scale=alpha)
    return Preset(f"table13.{i}", f"{reps} frames/label, r_sil={r_sil}, beta={beta}, alpha={alpha}", cfg, paper)


_TABLE13 = [
    _t13(1, 10, 1.0, 0.5, 0.5, _paper((0.0, 0.0), (0.00, 0.00), (50, 0), (0.0, 0.0))),
    _t13(2, 10, 0.2, 0.5, 0.5, _paper((0.0, 0.0), (0.00, 0.00), (17, 0), (0.0, 0.0))),
    _t13(3, 10, 0.2, 0.0, 1.0, _paper((45.6, 29.2), (4.90, 4.01), (51, 26), (7.9, 6.0))),
    _t13(4, 2, 0.14, 0.5, 0.5, _paper((1.5, 3.2), (0.09, 0.05), (15, 3), (0.0, 0.0))),
    _t13(5, 2, 0.14, 0.0, 1.0, _paper((0.0, 0.0), (0.00, 0.00), (14, 0), (0.0, 0.0))),
    _t13(6, 2, 0.5, 0.0, 1.0, _paper((0.0, 0.0), (0.00, 0.00), (19, 0), (0.0, 0.0))),
]

_DEFAULT = [
    Preset("default.prior", "FFNN, 10 frames/label, 50% silence: stop-grad posterior prior, beta=alpha=0.5",
           replace(_TABLE10[0].config, steps=250)),
    Preset("default.no-prior", "same without prior, alpha=0.5", replace(_TABLE10[6].config, steps=250)),
]

TABLES: dict[str, list[Preset]] = {
    "default": _DEFAULT, "table10": _TABLE10, "table11": _TABLE11, "table12": _TABLE12, "table13": _TABLE13,
}
PRESETS: dict[str, Preset] = {p.name: p for rows in TABLES.values() for p in rows}


def resolve(name: str) -> list[Preset]:
    """The rows of a table (``"table10"``) or a single row (``"table10.3"``)."""
    if name in TABLES:
        return TABLES[name]
    if name in PRESETS:
        return [PRESETS[name]]
    raise ValueError(f"unknown preset {name!r}; tables: {', '.join(TABLES)}; rows: e.g. table10.1 "
                     f"(`fsttopo synth --list` lists all)")
