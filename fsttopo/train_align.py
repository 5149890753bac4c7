"""Train an aligner on a corpus and align it, in one resumable run (``fsttopo train-align``).

The stages, each recorded in ``OUT/train_align.json`` when done so that a stopped run resumes
where it stopped (a training stage resumes from its last epoch):

1. ``prepare``: the corpus directory into Lhotse manifests with features, dev speakers held out
   (:func:`fsttopo.data.corpus.prepare_corpus`), every unusable file reported;
2. ``units``: the token table and lexicon (graphemes of the transcripts, an MFA pronunciation
   dictionary, or CMUdict), every transcript checked before any training: a word the units cannot
   spell stops the run here, not mid-epoch;
3. ``ctc``: CTC from scratch. The HMM does not train from scratch (all silence after an epoch:
   docs/results.md), so CTC is the bootstrap of every topology;
4. ``final``: the requested topology initialized from the CTC model (skipped for plain CTC;
   ``auto``, the default: the HMM with prior);
5. ``tune``: epoch and alignment options chosen on the dev speakers (:mod:`fsttopo.tuning`), by
   reference times when every dev file has a TextGrid, else by pause edges; with ``auto`` the
   epochs of both stages compete, so the dev speakers decide between CTC and the HMM;
6. ``model``: ``OUT/model.pt``, with the units, the label prior and the tuned options inside;
7. ``align``: every file of the corpus aligned into ``OUT/alignments`` (JSON, TextGrid, CTM;
   :func:`fsttopo.directory.align_directory`), and scored where TextGrids exist.

The number of epochs follows from the corpus size: the CTC stage runs at least ``steps`` optimizer
steps (and at most ``max_epochs`` epochs), so a small corpus gets more epochs; the final stage a
third of them (it refines an aligning model, and longer runs aligned worse on dev).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

__all__ = ["AUTO", "TOPOLOGIES", "UNITS", "TrainAlignConfig", "train_align", "epochs_for", "tuning_candidates",
           "save_tuned_model"]

TOPOLOGIES = {  # --topology -> the objective of the final stage (recipes/tts/configs, docs/results.md)
    "hmm": {"topology": "hmm", "posterior_scale": 0.5, "prior": "batch", "prior_scale": 0.1,
            "transition_scale": 0.0},
    "hmm-transition": {"topology": "hmm", "posterior_scale": 0.7, "prior_scale": 0.0, "transition_scale": 0.3},
    "ctc": {"topology": "ctc"},
    "ctc-no-forced-blank": {"topology": "ctc-no-forced-blank"},
}
AUTO = "auto"
"""``--topology auto``: train CTC, then the HMM with prior from it, and keep whichever aligns the
dev speakers better (on the Italian corpus of docs/own-corpus.md the four topologies were within
0.7 ms on dev and 3.1 ms apart on a held-out voice)."""
UNITS = ("graphemes", "dictionary", "cmudict")
MODEL = {"subsampling": 4, "frontend_channels": 32, "d_model": 128, "num_layers": 4, "num_heads": 4,
         "ffn_dim": 512, "conv_kernel": 15, "dropout": 0.1}
"""The architecture of the shipped English models (1.6 M parameters; 2 CPU cores train it at
about 0.5 s of compute per second of audio and epoch)."""


@dataclass
class TrainAlignConfig:
    """What ``train_align`` does; a resumed run must have the same one.

    Attributes:
        units: ``"graphemes"`` (the characters of the transcripts), ``"dictionary"`` (an MFA
            pronunciation dictionary, ``dictionary``) or ``"cmudict"`` (English phones).
        dictionary: the dictionary file for ``units="dictionary"``.
        language: language code for writing out numbers (num2words, e.g. ``"it"``; graphemes and
            dictionary units).
        topology: the final model's topology (:data:`TOPOLOGIES`), or :data:`AUTO` (CTC or the HMM
            with prior, whichever is better on dev).
        steps: optimizer steps the CTC stage runs at least (epochs rounded up; the final stage
            runs a third of its epochs).
        max_epochs: most epochs of the CTC stage.
        max_duration: seconds of audio per training batch.
        peak_lr: the CTC stage's learning rate (the final stage's is half of it).
        spec_augment: SpecAugment masking in training.
        tune_epochs: epoch files of each tuned stage the tuning compares (evenly spaced, the
            first and the last included; each is encoded on the dev set once).
        criterion: how options are tuned: ``"references"``, ``"pauses"`` or None (references when
            every dev file has them).
        dev_speakers: speakers held out for tuning (None: a seeded ``dev_fraction`` of them).
        dev_fraction: share of speakers held out when ``dev_speakers`` is None.
        jobs: processes for feature extraction.
        seed: seed of the dev split and of training.
        model: the encoder architecture (:class:`fsttopo.models.ModelConfig` fields but num_tokens).
    """

    units: str = "graphemes"
    dictionary: str | None = None
    language: str | None = None
    topology: str = AUTO
    steps: int = 600
    max_epochs: int = 40
    max_duration: float = 30.0
    peak_lr: float = 1e-3
    spec_augment: bool = True
    tune_epochs: int = 4
    criterion: str | None = None
    dev_speakers: list[str] | None = None
    dev_fraction: float = 0.1
    jobs: int = 1
    seed: int = 0
    model: dict = field(default_factory=lambda: dict(MODEL))

    def __post_init__(self) -> None:
        if self.units not in UNITS:
            raise ValueError(f"units must be one of {UNITS}, got {self.units!r}")
        if (self.units == "dictionary") != (self.dictionary is not None):
            raise ValueError("units='dictionary' needs a dictionary file, and a dictionary needs units='dictionary'")
        if self.topology not in (*TOPOLOGIES, AUTO):
            raise ValueError(f"topology must be one of {[*TOPOLOGIES, AUTO]}, got {self.topology!r}")
        if self.steps < 1 or self.max_epochs < 1 or self.tune_epochs < 1 or not self.max_duration > 0 or not self.peak_lr > 0:
            raise ValueError(f"steps, max_epochs, max_duration and peak_lr must be positive: {self}")
        if self.criterion not in (None, "references", "pauses"):
            raise ValueError(f"criterion must be 'references', 'pauses' or None, got {self.criterion!r}")


def epochs_for(train_seconds: float, config: TrainAlignConfig) -> int:
    """Epochs of a training stage: enough for ``config.steps`` batches of ``config.max_duration``
    seconds over ``train_seconds`` of audio, at most ``config.max_epochs``."""
    steps_per_epoch = max(1, math.ceil(train_seconds / config.max_duration))
    return max(1, min(config.max_epochs, math.ceil(config.steps / steps_per_epoch)))


class _State:
    """``OUT/train_align.json``: the config and the result of every finished stage."""

    def __init__(self, out: Path, config: TrainAlignConfig, corpus: Path) -> None:
        from .data.atomic import write_text_atomic

        self._write = write_text_atomic
        self.path = out / "train_align.json"
        settings = {"corpus": str(corpus.resolve()), "config": asdict(config)}
        if self.path.is_file():
            saved = json.loads(self.path.read_text())
            if {"corpus": saved.get("corpus"), "config": saved.get("config")} != json.loads(json.dumps(settings)):
                raise ValueError(f"{out} holds a run of another corpus or with other settings "
                                 f"({self.path}); use another --out, or --restart to start it anew")
            self.stages = saved.get("stages", {})
        else:
            self.stages = {}
        self.settings = settings

    def done(self, stage: str, result: dict[str, Any]) -> None:
        self.stages[stage] = result
        self._write(self.path, json.dumps({**self.settings, "stages": self.stages}, indent=1))


def _units(config: TrainAlignConfig, cut_sets):
    """The units of ``config``; graphemes are the characters of the cut sets' transcripts."""
    from .data.graphemes import GraphemeUnits
    from .data.lexicon import Lexicon

    if config.units == "graphemes":
        texts = [s.text for cuts in cut_sets for c in cuts for s in c.supervisions]
        return GraphemeUnits.from_texts(texts, language=config.language)
    if config.units == "dictionary":
        return Lexicon.from_dictionary(config.dictionary, language=config.language)
    return Lexicon.from_cmudict()


def train_align(corpus: str | Path, out: str | Path, config: TrainAlignConfig | None = None, *,
                resume: bool = True, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every stage not yet done (module docstring) and return the stages' results (what
    ``OUT/train_align.json`` holds): ``prepare`` (utterances and hours per split, failed files),
    ``units`` (kind, tokens), ``ctc``/``final`` (epochs, model file), ``tune`` (the choice),
    ``model`` (path, size), ``align`` (files aligned and failed, word-boundary error where the
    corpus has reference TextGrids). ``resume=False`` starts the run anew in ``out``."""
    import shutil

    from lhotse import load_manifest_lazy

    from .aligner import Aligner
    from .data.corpus import format_prepared, prepare_corpus
    from .data.units import units_to_dict
    from .directory import align_directory
    from .models import ModelConfig
    from .training import ObjectiveConfig, TrainConfig, train
    from .training.trainer import check_texts
    from .tuning import epoch_files, tune_alignment_options

    config = config or TrainAlignConfig()
    corpus, out = Path(corpus), Path(out)
    if not corpus.is_dir():
        raise ValueError(f"corpus {str(corpus)!r} is not a directory")
    if not resume and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    state = _State(out, config, corpus)
    stages = state.stages

    if "prepare" not in stages:
        log("== prepare: manifests and features")
        prepared = prepare_corpus(corpus, out / "data", dev_speakers=config.dev_speakers,
                                  dev_fraction=config.dev_fraction, seed=config.seed, num_jobs=config.jobs)
        if "cuts_dev" not in prepared.paths:
            raise ValueError("train-align needs dev speakers to tune on: give --dev-fraction > 0 or --dev-speakers")
        log(format_prepared(prepared))
        state.done("prepare", {"train_cuts": str(prepared.paths["cuts_train"]), "dev_cuts": str(prepared.paths["cuts_dev"]),
                               "train_speakers": prepared.train_speakers, "dev_speakers": prepared.dev_speakers,
                               "split": prepared.split, "utterances": prepared.utterances, "hours": prepared.hours,
                               "failed": sorted({p.file for p in prepared.problems})})
    train_cuts = load_manifest_lazy(stages["prepare"]["train_cuts"]).to_eager()
    dev_cuts = load_manifest_lazy(stages["prepare"]["dev_cuts"]).to_eager()

    units = _units(config, (train_cuts, dev_cuts))
    if "units" not in stages:
        log(f"== units: {config.units}")
        check_texts(train_cuts, dev_cuts, units)  # every unknown word at once, before training
        state.done("units", {"kind": units_to_dict(units)["kind"], "tokens": list(units.tokens)})
    model_config = ModelConfig(num_tokens=units.num_tokens, **config.model)
    train_seconds = 3600 * float(stages["prepare"]["hours"]["train"])
    epochs = epochs_for(train_seconds, config)

    def run(stage: str, objective: dict, peak_lr: float, init_from: str | None, epochs: int) -> None:
        if stage in stages:
            return
        log(f"== {stage}: {objective['topology']}, {epochs} epochs")
        train_config = TrainConfig(epochs=epochs, max_duration=config.max_duration, peak_lr=peak_lr,
                                   spec_augment=config.spec_augment, seed=config.seed, init_from=init_from)
        path = train(model_config, ObjectiveConfig(**objective), train_config, train_cuts, dev_cuts, units,
                     units.tokens, out / stage, resume=True)
        state.done(stage, {"epochs": epochs, "model": str(path), "dir": str(out / stage)})

    run("ctc", TOPOLOGIES["ctc"], config.peak_lr, None, epochs)
    tuned = ["ctc"]
    if config.topology != "ctc":  # a third of the CTC epochs: its first epochs were its best (docs/own-corpus.md)
        objective = TOPOLOGIES["hmm" if config.topology == AUTO else config.topology]
        run("final", objective, config.peak_lr / 2, stages["ctc"]["model"], max(1, -(-epochs // 3)))
        tuned = ["ctc", "final"] if config.topology == AUTO else ["final"]

    if "tune" not in stages:
        has_refs = all(c.supervisions[0].alignment and "word" in c.supervisions[0].alignment for c in dev_cuts)
        criterion = config.criterion or ("references" if has_refs else "pauses")
        log(f"== tune: epoch and alignment options of {' and '.join(tuned)} on {len(dev_cuts)} dev files, "
            f"by {criterion}")
        files = [f for stage in tuned for f in tuning_candidates(epoch_files(stages[stage]["dir"]), config.tune_epochs)]
        choices = tune_alignment_options(files, dev_cuts, criterion, log=log)
        best = min(choices.values(), key=lambda c: c["dev_error_ms"])
        stage = next(s for s in tuned if Path(best["model"]).parent == Path(stages[s]["dir"]))
        state.done("tune", {**best, "stage": stage})
    choice = stages["tune"]

    model_path = out / "model.pt"
    if "model" not in stages:
        save_tuned_model(choice, model_path)
        state.done("model", {"path": str(model_path), "megabytes": round(model_path.stat().st_size / 1e6, 2)})

    if "align" not in stages:
        log("== align: the whole corpus")
        from .output_dir import file_identity

        aligner = Aligner.from_file(model_path)
        result = align_directory(aligner, corpus, out / "alignments", resume=True,
                                 identity={"model": file_identity(model_path)})
        state.done("align", {"aligned": len(result.alignments), "failed": result.failed_files,
                             **_score(result.alignments, corpus, stages["prepare"].get("dev_speakers", []))})
    return stages


def tuning_candidates(files: list[Path], count: int) -> list[Path]:
    """``count`` of the epoch ``files`` (in epoch order), evenly spaced, the first and last included."""
    picked = sorted({round(i * (len(files) - 1) / max(1, count - 1)) for i in range(min(count, len(files)))})
    return [files[i] for i in picked]


def save_tuned_model(choice: dict[str, Any], path: str | Path) -> Path:
    """The epoch file a tuning chose (``choice["model"]``) written to ``path`` with the chosen
    alignment options stored, its units and label prior kept."""
    from .inference import ALIGN_OPTIONS
    from .training import read_model_file, save_model
    from .tuning import VARIANT_OPTIONS

    f = read_model_file(choice["model"])
    options = {k: choice[k] for k in (*ALIGN_OPTIONS, *VARIANT_OPTIONS) if k in choice}
    if choice.get("pause_edges_db"):
        options["pause_edges_db"] = choice["pause_edges_db"]
    save_model(path, f.model, f.objective, f.tokens, align_options=options, log_prior=f.log_prior, units=f.units)
    return Path(path)


def _score(alignments, corpus: Path, dev_speakers: list[str]) -> dict[str, Any]:
    """Mean word-boundary error (ms) against the TextGrids beside the corpus's audio files, over all
    files and over the dev speakers' (empty when the corpus has none); files whose TextGrid has other
    words than the alignment are listed as ``unscored``."""
    from .data.corpus import speaker_of
    from .data.export import read_textgrid
    from .scoring import word_boundary_errors

    errors: dict[str, list[float]] = {"all": [], "dev": []}
    unscored = []
    for ali in alignments:
        grid = corpus / f"{ali.utterance_id}.TextGrid"
        if not grid.is_file():
            continue
        ref = read_textgrid(grid, ali.utterance_id)
        if [w.symbol for w in ali.words] != [w.symbol for w in ref.words]:
            unscored.append(ali.utterance_id)  # the TextGrid spells the words otherwise: no pairing by position
            continue
        pairs = [e for pair in word_boundary_errors(ali, ref) for e in pair]
        errors["all"] += pairs
        if speaker_of(ali.utterance_id, corpus.name) in dev_speakers:
            errors["dev"] += pairs
    return {**{f"word_boundary_error_ms_{k}": round(sum(v) / len(v), 2) for k, v in errors.items() if v},
            **({"unscored": unscored} if unscored else {})}
