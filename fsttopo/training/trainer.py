"""Full-sum training of an :class:`~fsttopo.models.AlignmentModel` on Lhotse cuts.

AdamW with the paper's one-cycle schedule, SpecAugment, checkpoint/resume, and DDP through
``torchrun`` (``torch.distributed`` with gloo on CPU, nccl on CUDA; Lhotse's sampler shards the
data per rank).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torchaudio
from lhotse import CutSet
from tqdm import tqdm

from ..criteria import pad_token_sequences
from ..models import AlignmentModel, ModelConfig, ModelOutput
from .checkpoint import save_model
from .label_prior import estimate_log_prior
from .augment import AugmentConfig
from ..data.units import units_to_dict
from .data import AugmentedCutBatches, CutBatches, WordEncoder, check_training_texts, make_sampler
from .objective import Objective, ObjectiveConfig
from .schedule import one_cycle_scheduler

__all__ = ["TrainConfig", "SpecAugment", "train_step", "train", "check_texts"]


@dataclass
class TrainConfig:
    epochs: int = 10
    max_duration: float = 120.0   # seconds of audio per batch (per process)
    peak_lr: float = 1e-3
    weight_decay: float = 1e-2
    grad_clip: float = 5.0
    spec_augment: bool = True
    seed: int = 0
    init_from: str | None = None  # model file or checkpoint whose weights initialize the model
    prior_hours: float = 0.5      # training audio the label prior stored with each model is estimated on
    augment: dict | None = None   # AugmentConfig fields: features computed from augmented audio (cuts need audio)
    silence_pad: float = 0.0      # with augment: up to this many seconds of silence added at each end first
    speed_prob: float = 0.0       # with augment: share of cuts speed-perturbed by a factor in speed_range
    speed_range: tuple[float, float] = (0.9, 1.1)
    digital_silence_prob: float = 0.0  # with augment: share of batches padded with digital silence, no noise
    digital_silence_pad: float = 0.0   # ... up to this many seconds at each end of every cut
    tempo_prob: float = 0.0      # with augment: share of cuts whose tempo changes (pitch kept; needs sox)
    tempo_range: tuple[float, float] = (0.9, 1.1)
    pitch_prob: float = 0.0      # with augment: share of cuts whose pitch moves (tempo kept; needs sox)
    pitch_range: tuple[float, float] = (-2.0, 2.0)  # semitones

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.max_duration <= 0 or self.peak_lr <= 0 or not self.prior_hours > 0:
            raise ValueError(f"invalid training config: {self}")


class SpecAugment(torch.nn.Module):
    """Frequency and time masking (Park et al. 2019) on ``[B, T, F]`` features, iid per utterance."""

    def __init__(self, freq_width: int = 15, num_freq: int = 2, time_width: int = 20, num_time: int = 4):
        super().__init__()
        self.freq = torchaudio.transforms.FrequencyMasking(freq_width, iid_masks=True)
        self.time = torchaudio.transforms.TimeMasking(time_width, iid_masks=True, p=0.1)
        self.num_freq, self.num_time = num_freq, num_time

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = features.transpose(1, 2).unsqueeze(1)  # [B, 1, F, T]
        for _ in range(self.num_freq):
            x = self.freq(x)
        for _ in range(self.num_time):
            x = self.time(x)
        return x.squeeze(1).transpose(1, 2)


def train_step(model: torch.nn.Module, objective: Objective, batch: dict, optimizer: torch.optim.Optimizer,
               scheduler=None, augment: SpecAugment | None = None, grad_clip: float = 5.0) -> dict[str, float]:
    """One optimizer step on a batch from :class:`CutBatches`; returns the loss statistics."""
    model.train()
    objective.train()
    features = batch["features"]
    if augment is not None:
        features = augment(features)
    if objective.config.normalized_gradient:
        # the loss needs the head's logits; DDP only syncs gradients through its own forward
        if isinstance(model, torch.nn.parallel.DistributedDataParallel):
            raise ValueError("normalized gradients are not supported with DDP; train on one process")
        hidden, lengths, inter = model.encode(features, batch["lengths"])
        logits = model.logits(hidden)
        output = ModelOutput(logits.log_softmax(-1), lengths, inter)
        loss, stats = objective(output, batch["words"], logits=logits)
    else:
        output = model(features, batch["lengths"])
        decoder = getattr(model, "module", model).aligner_decoder  # DDP wraps the model in .module
        loss, stats = objective(output, batch["words"], decoder=decoder)
    optimizer.zero_grad()
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    stats["grad_norm"] = float(norm)
    return stats


@torch.no_grad()
def evaluate(model: AlignmentModel, objective: Objective, loader) -> float:
    """Mean final-layer loss over a loader (no augmentation, eval mode): per output frame, or for
    aligner models per token (EOS included)."""
    model.eval()
    objective.eval()
    total, count = 0.0, 0
    for batch in loader:
        out = model(batch["features"], batch["lengths"])
        if model.config.aligner:
            out, words = objective.alignable(out, batch["words"])
            if not words:
                continue
            targets, target_lengths = pad_token_sequences([[t for w in ws for t in w] for ws in words],
                                                          pad=model.config.blank, device=out.lengths.device)
            nll = objective.aligner_nll(model.aligner_decoder, out.hidden, out.lengths, targets, target_lengths)
            count += int((target_lengths + 1).sum())
        else:
            nll = objective.sequence_loss(out.log_probs, out.lengths, objective.graphs(batch["words"]))
            count += int(out.lengths.sum())
        total += float(nll.sum())
    return total / max(count, 1)


def _log_prior(model: AlignmentModel, train_cuts: CutSet, config: TrainConfig, device) -> torch.Tensor | None:
    """The label prior stored with the model; ``None`` for aligner models, which have no frame
    posteriors to divide (their alignments come from gradients, not a lattice)."""
    if model.config.aligner:
        return None
    return estimate_log_prior(model, train_cuts, config.prior_hours, config.max_duration, device)


def check_texts(train_cuts: CutSet, dev_cuts: CutSet | None, lexicon: WordEncoder) -> None:
    """ValueError listing the problems of the training and dev transcripts, if any."""
    problems = [*check_training_texts(train_cuts, lexicon),
                *(f"dev: {p}" for p in (check_training_texts(dev_cuts, lexicon) if dev_cuts is not None else []))]
    if problems:
        raise ValueError(f"{len(problems)} problem(s) in the training transcripts, found before training:\n  "
                         + "\n  ".join(problems))


def train(model_config: ModelConfig, objective_config: ObjectiveConfig, config: TrainConfig,
          train_cuts: CutSet, dev_cuts: CutSet | None, lexicon: WordEncoder, tokens: list[str],
          out_dir: str | Path, resume: bool = False) -> Path:
    """Train and write ``out_dir/checkpoint.pt`` (every epoch, for resume), ``out_dir/epoch<N>.pt``
    (the model after each epoch) and ``out_dir/model.pt`` (the final model).

    Under ``torchrun`` (``WORLD_SIZE`` > 1) the process group is initialized here, the model is
    wrapped in DDP and only rank 0 writes files and shows progress.

    ``lexicon`` (a :class:`~fsttopo.data.lexicon.Lexicon`, :class:`~fsttopo.data.graphemes.GraphemeUnits`
    or :class:`~fsttopo.data.lexicon.SubwordUnits`) is stored in every model file
    (:func:`~fsttopo.data.units.units_to_dict`); its ``tokens`` must be ``tokens``. Every training
    and dev transcript is checked first (:func:`~fsttopo.training.data.check_training_texts`):
    ValueError listing every unknown word before the first epoch.
    """
    if list(tokens) != list(lexicon.tokens) or model_config.num_tokens != len(tokens):
        raise ValueError(f"the token table ({len(tokens)} tokens), the lexicon's ({lexicon.num_tokens}) and the "
                         f"model's num_tokens ({model_config.num_tokens}) must agree")
    units = units_to_dict(lexicon)
    # aligner models have no lattice: their files default to the gradient alignment
    align_options = {"method": "gradscore-ext"} if model_config.aligner else None
    check_texts(train_cuts, dev_cuts, lexicon)
    out = Path(out_dir)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = torch.distributed.get_rank() if distributed else 0
    world = torch.distributed.get_world_size() if distributed else 1
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(config.seed)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(
            {"model": model_config.to_dict(), "objective": objective_config.to_dict(), "train": asdict(config)},
            indent=2))

    model = AlignmentModel(model_config).to(device)
    objective = Objective(objective_config, model_config.num_tokens, model_config.blank).to(device)
    sampler = make_sampler(train_cuts, config.max_duration, shuffle=True, seed=config.seed,
                           world_size=world if distributed else None, rank=rank if distributed else None)
    dataset = (AugmentedCutBatches(lexicon, AugmentConfig(**config.augment), config.seed,
                                   silence_pad=config.silence_pad,
                                   speed_prob=config.speed_prob, speed_range=tuple(config.speed_range),
                                   digital_silence_prob=config.digital_silence_prob,
                                   digital_silence_pad=config.digital_silence_pad,
                                   tempo_prob=config.tempo_prob, tempo_range=tuple(config.tempo_range),
                                   pitch_prob=config.pitch_prob, pitch_range=tuple(config.pitch_range))
               if config.augment is not None else CutBatches(lexicon))
    loader = torch.utils.data.DataLoader(dataset, sampler=sampler, batch_size=None, num_workers=0)
    steps_per_epoch = max(sum(1 for _ in make_sampler(train_cuts, config.max_duration, shuffle=False,
                                                      world_size=world if distributed else None,
                                                      rank=rank if distributed else None)), 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.peak_lr, weight_decay=config.weight_decay)
    scheduler = one_cycle_scheduler(optimizer, steps_per_epoch * config.epochs, config.peak_lr)
    if config.init_from:
        init = torch.load(config.init_from, map_location=device, weights_only=False)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in init["model"].items()})
    start_epoch, log = 0, []
    ckpt_path = out / "checkpoint.pt"
    if resume and ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location=device, weights_only=False)
        model.load_state_dict(ckpt["model"])
        objective.load_state_dict(ckpt["objective"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        start_epoch, log = ckpt["epoch"] + 1, ckpt.get("log", [])
        # dropout and SpecAugment draw from torch's generator: restored, the resumed epochs are
        # those of an uninterrupted run, bit for bit
        if "torch_rng" in ckpt:
            torch.set_rng_state(ckpt["torch_rng"])
        if "cuda_rng" in ckpt and device.type == "cuda":
            torch.cuda.set_rng_state_all(ckpt["cuda_rng"])
    net = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    augment = SpecAugment() if config.spec_augment else None
    dev_loader = None
    if dev_cuts is not None and rank == 0:
        dev_loader = torch.utils.data.DataLoader(
            CutBatches(lexicon), sampler=make_sampler(dev_cuts, config.max_duration, shuffle=False), batch_size=None)
    log_prior = None
    for epoch in range(start_epoch, config.epochs):
        sampler.set_epoch(epoch)
        if isinstance(dataset, AugmentedCutBatches):
            dataset.set_epoch(epoch)
        progress = tqdm(loader, total=steps_per_epoch, desc=f"epoch {epoch + 1}/{config.epochs}",
                        disable=rank != 0, unit="batch")
        losses = []
        for batch in progress:
            batch["features"] = batch["features"].to(device)
            batch["lengths"] = batch["lengths"].to(device)
            stats = train_step(net, objective, batch, optimizer, scheduler, augment, config.grad_clip)
            if math.isfinite(stats["loss"]):
                losses.append(stats["loss"])
            progress.set_postfix(loss=f"{stats['loss']:.3f}", lr=f"{scheduler.get_last_lr()[0]:.1e}")
        if rank == 0:
            entry = {"epoch": epoch + 1, "train_loss": sum(losses) / max(len(losses), 1)}
            if dev_loader is not None:
                entry["dev_loss"] = evaluate(model, objective, dev_loader)
            log.append(entry)
            print(json.dumps(entry), flush=True)
            log_prior = _log_prior(model, train_cuts, config, device)
            save_model(out / f"epoch{epoch + 1}.pt", model, objective_config, tokens, log_prior=log_prior, units=units,
                       align_options=align_options)
            torch.save({"model": model.state_dict(), "objective": objective.state_dict(),
                        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                        "epoch": epoch, "model_config": model_config.to_dict(),
                        "objective_config": objective_config.to_dict(), "tokens": list(tokens), "units": units,
                        "log": log, "torch_rng": torch.get_rng_state(),
                        **({"cuda_rng": torch.cuda.get_rng_state_all()} if device.type == "cuda" else {})},
                       ckpt_path)
    if rank == 0:
        if log_prior is None:  # resumed with no epoch left to run
            log_prior = _log_prior(model, train_cuts, config, device)
        save_model(out / "model.pt", model, objective_config, tokens, extra={"log": log}, log_prior=log_prior,
                   units=units, align_options=align_options)
    if distributed:
        torch.distributed.barrier()
    return out / "model.pt"
