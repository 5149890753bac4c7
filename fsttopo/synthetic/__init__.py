"""The synthetic alignment lab (paper sec. 6.1, 7.1.1, App. A.5).

- :mod:`.data`: the generator of sec. 6.1 (reference alignment, word spans, Eq. 26 features);
- :mod:`.models`: FFNN (Eq. 28, optional perfect initialization) and 2-layer BLSTM;
- :mod:`.priors`: the prior variants of Tables 10-13;
- :mod:`.train`: full-sum training with HMM/CTC topology and alpha/beta/gamma, and evaluation;
- :mod:`.presets`: one preset per row of Tables 10-13, and ``default``;
- :mod:`.runner`: several seeds per preset, Markdown table and alignment plot.
"""

from .data import DEFAULT_WORDS, SILENCE, DataConfig, SyntheticBatch, generate_batch
from .models import BLSTM, FFNN, ModelConfig, build_model
from .presets import PRESETS, TABLES, Preset, resolve
from .priors import PriorConfig, log_prior, static_log_prior
from .runner import METRICS, RowResult, markdown_table, mean_std, run_rows
from .train import ExperimentConfig, evaluate, run_seed, train

__all__ = [
    "DEFAULT_WORDS", "SILENCE", "DataConfig", "SyntheticBatch", "generate_batch",
    "ModelConfig", "FFNN", "BLSTM", "build_model",
    "PriorConfig", "log_prior", "static_log_prior",
    "ExperimentConfig", "train", "evaluate", "run_seed",
    "Preset", "PRESETS", "TABLES", "resolve",
    "METRICS", "RowResult", "run_rows", "markdown_table", "mean_std",
]
