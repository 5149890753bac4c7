"""Degraded copies of the held-out-voice test set, for the degraded-conditions table (issue 13).

Writes, for each condition, ``<out>/<condition>/wav/<id>.wav`` (16 kHz 16-bit mono), their Fbank
features ``<out>/<condition>/feats.lca`` and ``<out>/<condition>/cuts.jsonl`` (a Lhotse CutSet whose
supervisions carry the reference word and phone alignments, shifted where audio is padded), and
``<out>/conditions.json`` (the subset, seeds and parameters).

Conditions (their names are the rows of the table; :data:`CONDITIONS`):

- ``clean``: the test audio as it is;
- ``white20`` / ``white10`` / ``white5``: white Gaussian noise at 20/10/5 dB SNR;
- ``babble10``: babble at 10 dB SNR, 3-7 talkers drawn from *other test utterances* (the babble
  pool, :func:`select_babble_pool`: test utterances outside the subset, never a training voice);
- ``reverb``: an image-source shoebox room of pyroomacoustics (:func:`shoebox_rir`), RT60 0.5 s
  (Sabine via ``pyroomacoustics.inverse_sabine``, corrected until the RIR's Schroeder T20 is
  within 5 % of it), room size, source and microphone drawn per utterance;
- ``telephone``: 8 kHz and the 300-3400 Hz band and back (``telephone(..., codec="band")``);
- ``gain-40``: 40 dB quieter;
- ``silence30``: 30 s of digital silence before and after (reference times shift by 30 s);
- ``clip10`` / ``clip20``: too much input gain: scaled so that the peak would be 10/20 dB over full
  scale, and clipped there (flat tops, as a recorder's converter makes them).

SNR is over the whole clip (:func:`fsttopo.training.augment.add_noise`). Training draws its noise
on the fly from its own seeds and reverberates with fsttopo's synthetic diffuse-tail RIR
(:func:`fsttopo.training.augment.room_impulse_response`); these conditions use other generators
(fixed seeds per condition and utterance, :func:`utterance_rng`), pyroomacoustics' rooms and test
speech for babble, so no test noise or RIR is one that training saw.

The subset (:func:`select_subset`) is the first ``--per-voice`` utterances of each test voice in
id order (``--silence-per-voice`` for ``silence30``, whose utterances are 60 s longer). Re-running
writes the same bytes (wavs, features and manifests).

    python recipes/tts/degrade.py --cuts data/tts/manifests/cuts_test.jsonl.gz --out data/tts/degraded
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np

from fsttopo.training.augment import add_noise, apply_gain, apply_rir, telephone

__all__ = ["CONDITIONS", "SEED", "RT60", "PAD_SECONDS", "Degraded", "degrade", "utterance_rng", "shoebox_rir",
           "schroeder_rt60", "select_subset", "select_babble_pool", "shift_alignment", "write_condition"]

CONDITIONS = ("clean", "white20", "white10", "white5", "babble10", "reverb", "telephone", "gain-40", "silence30",
              "clip10", "clip20")
SEED = 13            # base seed of every condition's draws (issue 13)
RT60 = 0.5           # seconds, the reverb condition's target
PAD_SECONDS = 30.0   # silence30: digital silence before and after, seconds
_NOISE = {"white20": ("white", 20.0), "white10": ("white", 10.0), "white5": ("white", 5.0),
          "babble10": ("babble", 10.0)}
_GAIN_DB = {"gain-40": -40.0}
_CLIP_DB = {"clip10": 10.0, "clip20": 20.0}
_FULL_SCALE = 32767 / 32768  # largest 16-bit sample


@dataclass
class Degraded:
    """A degraded waveform: ``samples`` float32 ``[num_samples]`` (full scale 1.0), ``shift``
    seconds added to every reference time (the padding before the speech), and what was drawn."""

    samples: np.ndarray
    shift: float = 0.0
    info: dict = field(default_factory=dict)


def utterance_rng(condition: str, utterance_id: str, seed: int = SEED) -> np.random.Generator:
    """The generator of one condition's draws for one utterance: fixed by ``seed``, the condition
    name and the utterance id (CRC-32, stable across runs and machines), independent of the order
    or the subset the utterances are processed in."""
    return np.random.default_rng([seed, zlib.crc32(condition.encode()), zlib.crc32(utterance_id.encode())])


# ----------------------------------------------------------------------------- reverberation

def schroeder_rt60(rir: np.ndarray, sr: int, begin_db: float = -5.0, end_db: float = -25.0) -> float:
    """RT60 in seconds of an impulse response from its Schroeder backward-integrated energy decay:
    the least-squares slope between ``begin_db`` and ``end_db`` (default -5 to -25 dB: T20)
    extrapolated to 60 dB."""
    h = np.asarray(rir, dtype=np.float64)
    energy = np.cumsum(h[::-1] ** 2)[::-1]
    if h.ndim != 1 or energy.size < 2 or energy[0] <= 0:
        raise ValueError("rir must be a non-silent 1-D impulse response")
    decay_db = 10 * np.log10(np.maximum(energy / energy[0], 1e-300))
    if decay_db[-1] > end_db:
        raise ValueError(f"the impulse response decays by only {-decay_db[-1]:.1f} dB, less than {-end_db} dB")
    first, last = int(np.argmax(decay_db <= begin_db)), int(np.argmax(decay_db <= end_db))
    t = np.arange(first, last + 1) / sr
    slope = np.polyfit(t, decay_db[first: last + 1], 1)[0]  # dB per second, negative
    return float(-60.0 / slope)


def _room_rir(sr: int, dims: np.ndarray, source: np.ndarray, mic: np.ndarray, rt60: float) -> np.ndarray:
    """The image-source RIR of a shoebox room designed by Sabine for ``rt60`` seconds, cut so that
    its direct path is at sample 0 (pyroomacoustics delays it by the propagation time plus half
    its fractional-delay filter)."""
    import pyroomacoustics as pra

    absorption, max_order = pra.inverse_sabine(rt60, dims)
    room = pra.ShoeBox(dims, fs=sr, materials=pra.Material(absorption), max_order=max_order)
    room.add_source(source)
    room.add_microphone(mic)
    room.compute_rir()
    rir = np.asarray(room.rir[0][0], dtype=np.float64)
    delay = pra.constants.get("frac_delay_length") // 2 + np.linalg.norm(source - mic) / room.c * sr
    return rir[int(round(delay)):]


def shoebox_rir(sr: int, rt60: float, rng: np.random.Generator, tolerance: float = 0.05,
                max_tries: int = 4) -> tuple[np.ndarray, dict]:
    """A pyroomacoustics image-source RIR (float64, direct path at sample 0) of a shoebox room
    whose measured RT60 (:func:`schroeder_rt60`) is ``rt60`` seconds within ``tolerance``.

    Room size (4-7 x 3.5-6 x 2.6-3.4 m), source and microphone (at least 0.5 m from the walls and
    1 m apart) are drawn from ``rng``. ``inverse_sabine`` designs the walls for a Sabine RT60; an
    image-source room decays more slowly than Sabine predicts, so the design target is scaled by
    ``rt60 / measured`` up to ``max_tries`` times. Returns the RIR and its parameters
    (room in m, RT60s in s)."""
    dims = rng.uniform([4.0, 3.5, 2.6], [7.0, 6.0, 3.4])
    while True:
        source, mic = rng.uniform(0.5, dims - 0.5), rng.uniform(0.5, dims - 0.5)
        if np.linalg.norm(source - mic) >= 1.0:
            break
    design = rt60
    for _ in range(max_tries):
        rir = _room_rir(sr, dims, source, mic, design)
        measured = schroeder_rt60(rir, sr)
        if abs(measured - rt60) <= tolerance * rt60:
            break
        design *= rt60 / measured
    info = {"room_m": [round(float(d), 3) for d in dims], "source_m": [round(float(v), 3) for v in source],
            "mic_m": [round(float(v), 3) for v in mic], "sabine_rt60_s": round(design, 4),
            "measured_rt60_s": round(measured, 4)}
    return rir, info


# ----------------------------------------------------------------------------- conditions

def degrade(samples: np.ndarray, sr: int, condition: str, rng: np.random.Generator,
            babble_sources: Sequence[np.ndarray] | None = None) -> Degraded:
    """``samples`` (float ``[num_samples]`` at ``sr``) under ``condition`` (one of :data:`CONDITIONS`),
    drawing from ``rng``; ``babble_sources`` (other speech at ``sr``) for ``babble10``."""
    x = np.asarray(samples, dtype=np.float32)
    if condition == "clean":
        return Degraded(x.copy())
    if condition in _NOISE:
        kind, snr_db = _NOISE[condition]
        sources = list(babble_sources) if kind == "babble" and babble_sources is not None else None
        return Degraded(add_noise(x, sr, snr_db, kind, rng, sources), info={"noise": kind, "snr_db": snr_db})
    if condition == "reverb":
        rir, info = shoebox_rir(sr, RT60, rng)
        return Degraded(apply_rir(x, rir), info=info)
    if condition == "telephone":
        return Degraded(telephone(x, sr, codec="band"), info={"codec": "band"})
    if condition in _GAIN_DB:
        return Degraded(apply_gain(x, _GAIN_DB[condition]), info={"gain_db": _GAIN_DB[condition]})
    if condition in _CLIP_DB:
        over = _CLIP_DB[condition]
        peak = float(np.abs(x).max()) or 1.0
        return Degraded(np.clip(x * np.float32(10 ** (over / 20) / peak), -1.0, 1.0), info={"over_full_scale_db": over})
    if condition == "silence30":
        pad = np.zeros(int(round(PAD_SECONDS * sr)), dtype=np.float32)
        return Degraded(np.concatenate([pad, x, pad]), shift=pad.size / sr, info={"pad_s": pad.size / sr})
    raise ValueError(f"unknown condition {condition!r}; expected one of {', '.join(CONDITIONS)}")


# ----------------------------------------------------------------------------- subsets and manifests

def _voice(cut) -> str:
    return cut.supervisions[0].speaker


def select_subset(cuts, per_voice: int) -> list:
    """The first ``per_voice`` cuts of each voice (supervision speaker) in id order, voices in name
    order."""
    if per_voice < 1:
        raise ValueError(f"per_voice must be at least 1, got {per_voice}")
    by_voice: dict[str, list] = {}
    for cut in sorted(cuts, key=lambda c: c.id):
        by_voice.setdefault(_voice(cut), []).append(cut)
    return [c for voice in sorted(by_voice) for c in by_voice[voice][:per_voice]]


def select_babble_pool(cuts, exclude: set[str], per_voice: int) -> list:
    """Babble talkers: the first ``per_voice`` cuts of each voice in id order that are not in
    ``exclude`` (the evaluated subset), so no utterance babbles over itself."""
    return select_subset([c for c in cuts if c.id not in exclude], per_voice)


def shift_alignment(supervision, shift: float, duration: float):
    """A copy of ``supervision`` covering ``[0, duration)`` of its (degraded) recording, with every
    alignment item moved ``shift`` seconds later."""
    from lhotse.supervision import AlignmentItem
    from lhotse.utils import fastcopy

    alignment = {kind: [AlignmentItem(i.symbol, round(i.start + shift, 6), i.duration, i.score) for i in items]
                 for kind, items in (supervision.alignment or {}).items()}
    return fastcopy(supervision, start=0.0, duration=duration, alignment=alignment)


def _read(path: str) -> tuple[np.ndarray, int]:
    import soundfile

    samples, sr = soundfile.read(path, dtype="float32", always_2d=True)
    return samples.mean(axis=1), sr


def write_condition(cuts: Sequence, condition: str, out_dir: Path, babble_sources: Sequence[np.ndarray],
                    seed: int = SEED, progress: bool = True):
    """Degrade every cut (one supervision each, the recording whole) and write the wavs, features
    and ``cuts.jsonl`` of ``condition`` into ``out_dir``; returns the CutSet."""
    import soundfile
    from lhotse import Recording, RecordingSet, SupervisionSet
    from tqdm import tqdm

    from fsttopo.data.manifests import compute_fbank, cuts_from_manifests

    wav_dir = out_dir / "wav"
    wav_dir.mkdir(parents=True, exist_ok=True)
    recordings, supervisions = [], []
    for cut in tqdm(cuts, desc=condition, unit="utt", disable=not progress):
        samples, sr = _read(cut.recording.sources[0].source)
        result = degrade(samples, sr, condition, utterance_rng(condition, cut.id, seed), babble_sources)
        clipped = int(np.sum(np.abs(result.samples) > _FULL_SCALE))
        path = wav_dir / f"{cut.id}.wav"
        soundfile.write(str(path), np.clip(result.samples, -1.0, _FULL_SCALE), sr, subtype="PCM_16")
        recording = Recording.from_file(str(path), recording_id=cut.id)
        sup = shift_alignment(cut.supervisions[0], result.shift, recording.duration)
        sup.custom = {**(sup.custom or {}), "condition": condition, "degradation": result.info,
                      "clipped_samples": clipped}
        recordings.append(recording)
        supervisions.append(sup)
    out = cuts_from_manifests(RecordingSet.from_recordings(recordings), SupervisionSet.from_segments(supervisions))
    out = compute_fbank(out, out_dir / "feats")
    # plain jsonl: gzip would stamp the time into the file and break byte-identical re-runs
    out.to_file(out_dir / "cuts.jsonl")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cuts", default="data/tts/manifests/cuts_test.jsonl.gz", help="the test cuts (held-out voices)")
    p.add_argument("--out", type=Path, default=Path("data/tts/degraded"))
    p.add_argument("--conditions", default=",".join(CONDITIONS), help="comma-separated subset of the conditions")
    p.add_argument("--per-voice", type=int, default=100, help="utterances per test voice (first in id order)")
    p.add_argument("--silence-per-voice", type=int, default=20,
                   help="utterances per voice for silence30 (60 s longer each; the first of the subset)")
    p.add_argument("--babble-per-voice", type=int, default=20,
                   help="babble talkers per voice, from test utterances outside the subset")
    p.add_argument("--seed", type=int, default=SEED)
    args = p.parse_args(argv)
    conditions = [c for c in args.conditions.split(",") if c]
    unknown = sorted(set(conditions) - set(CONDITIONS))
    if unknown:
        p.error(f"unknown conditions {unknown}; choose from {list(CONDITIONS)}")
    from lhotse import load_manifest_lazy

    all_cuts = load_manifest_lazy(args.cuts).to_eager()
    subset = select_subset(all_cuts, args.per_voice)
    pool = select_babble_pool(all_cuts, {c.id for c in subset}, args.babble_per_voice)
    babble = [_read(c.recording.sources[0].source)[0] for c in pool] if "babble10" in conditions else []
    summary_path = args.out / "conditions.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    for condition in conditions:
        cuts = select_subset(subset, args.silence_per_voice) if condition == "silence30" else subset
        written = write_condition(cuts, condition, args.out / condition, babble, args.seed)
        summary[condition] = {
            "utterances": len(written), "seconds": round(sum(c.duration for c in written), 3),
            "per_voice": args.silence_per_voice if condition == "silence30" else args.per_voice,
            "seed": args.seed, "source": args.cuts, "ids": [c.id for c in written],
            **({"babble_pool": [c.id for c in pool]} if condition == "babble10" else {}),
        }
        print(f"{condition}: {len(written)} utterances, {summary[condition]['seconds'] / 3600:.2f} h -> "
              f"{args.out / condition}")
    args.out.mkdir(parents=True, exist_ok=True)
    summary_path.write_text(json.dumps({k: summary[k] for k in CONDITIONS if k in summary}, indent=1) + "\n")


if __name__ == "__main__":
    main()
