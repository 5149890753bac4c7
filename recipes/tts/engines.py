"""Speech synthesis with the word and phone timings the engine used.

Three engines, each returning :class:`RawUtterance` (the engine's own wav, and its label times in
seconds from the start of that wav):

- festival (``festival -b`` on a generated Scheme script): ``word_start``/``word_end`` of the
  Word relation and ``segment_start``/``segment_end`` of the Segment relation;
- flite through its C API, via the helper ``flite_align.c`` built by the prepare stage;
- espeak-ng through ``libespeak-ng`` (ctypes) in synchronous mode with phoneme events: phone
  starts are the events' sample positions; phones go to words by the text position of their event
  (espeak's own WORD events come early and split some words differently).
"""

from __future__ import annotations

import ctypes
import re
import subprocess
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from .text import Sentence

__all__ = ["Voice", "VOICES", "EXTRA_VOICES", "PROSODY_RANGES", "RawUtterance", "synthesize", "varied_prosody",
           "espeak_synth", "espeak_word_spans"]

Span = tuple[str, float, float]


PROSODY_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "espeak-ng": {"rate": (130, 230), "pitch": (20, 80), "range": (15, 85)},
    "flite": {"stretch": (0.8, 1.25), "f0_mean": (90.0, 250.0)},
}
"""Engine -> prosody parameter -> uniform range of ``varied_prosody`` voices. espeak-ng (integers,
both ends included): words per minute (its default 175), base pitch and pitch range (0-100, default
50). flite: ``duration_stretch`` (> 1 slower) and the F0 the voice is moved to (Hz; slt's own is
about 170)."""


@dataclass(frozen=True)
class Voice:
    """A synthetic voice.

    Attributes:
        name: corpus name, also the Lhotse speaker label (``"flite-rms"``).
        engine: ``"festival"``, ``"flite"`` or ``"espeak-ng"``.
        engine_voice: the engine's voice id (festival voice function without ``voice_``, flite
            voice, espeak-ng voice name).
        speaker: the person (or formant model) behind it; voices of one speaker share a split.
        packages: Debian packages that provide it.
        free: True for Debian ``main``; False for the MBROLA voices (non-commercial licence).
        share: its amount of audio relative to the other voices (the formant espeak-ng variants
            get half a share each, so that they make up half of the training audio, not two thirds).
        encoding: the character encoding festival's voice reads and writes its words in (the
            Italian diphone voices: ``"iso-8859-1"``; festival itself does not decode UTF-8).
        varied_prosody: every utterance gets its own prosody, drawn from the engine's ranges in
            :data:`PROSODY_RANGES` by a generator seeded with the utterance id (espeak-ng: rate,
            pitch and pitch range; flite: duration stretch and mean F0), so one voice is many
            speaking styles and re-runs read each sentence the same way (festival: not supported).
    """

    name: str
    engine: str
    engine_voice: str
    speaker: str
    packages: tuple[str, ...]
    free: bool = True
    share: float = 1.0
    encoding: str = "utf-8"
    varied_prosody: bool = False

    def __post_init__(self) -> None:
        if self.varied_prosody and self.engine not in PROSODY_RANGES:
            raise ValueError(f"voice {self.name!r}: {self.engine} has no varied prosody "
                             f"(only {sorted(PROSODY_RANGES)})")


_FESTIVAL = ("festival",)
_MBROLA = ("festival",)  # festvox-usN (contrib) pulls in mbrola and mbrola-usN (non-free)
VOICES: tuple[Voice, ...] = (
    Voice("festival-kal", "festival", "kal_diphone", "kal", _FESTIVAL + ("festvox-kallpc16k",)),
    Voice("festival-ked", "festival", "ked_diphone", "ked", _FESTIVAL + ("festvox-kdlpc16k",)),
    Voice("festival-slt", "festival", "cmu_us_slt_arctic_hts", "slt", _FESTIVAL + ("festvox-us-slt-hts",)),
    Voice("flite-awb", "flite", "awb", "awb", ("flite1-dev",)),
    Voice("flite-rms", "flite", "rms", "rms", ("flite1-dev",)),
    Voice("flite-slt", "flite", "slt", "slt", ("flite1-dev",)),
    Voice("espeak-us", "espeak-ng", "en-us", "espeak", ("libespeak-ng1",), share=0.5),
    Voice("espeak-us-m1", "espeak-ng", "en-us+m1", "espeak-m1", ("libespeak-ng1",), share=0.5),
    Voice("espeak-us-m3", "espeak-ng", "en-us+m3", "espeak-m3", ("libespeak-ng1",), share=0.5),
    Voice("espeak-us-f1", "espeak-ng", "en-us+f1", "espeak-f1", ("libespeak-ng1",), share=0.5),
    Voice("espeak-us-klatt", "espeak-ng", "en-us+klatt", "espeak-klatt", ("libespeak-ng1",), share=0.5),
    Voice("espeak-gb-m4", "espeak-ng", "en+m4", "espeak-m4", ("libespeak-ng1",), share=0.5),
    Voice("festival-us1", "festival", "us1_mbrola", "us1", _MBROLA + ("festvox-us1",), free=False),
    Voice("festival-us2", "festival", "us2_mbrola", "us2", _MBROLA + ("festvox-us2",), free=False),
    Voice("festival-us3", "festival", "us3_mbrola", "us3", _MBROLA + ("festvox-us3",), free=False),
)


_VARIED_ESPEAK_VARIANTS = ("m2", "m4", "m5", "m6", "m7", "f2", "f3", "f4", "klatt2", "klatt3", "klatt4", "Andy",
                           "Annie", "belinda", "david", "ed", "linda", "max", "paul", "quincy", "robert", "steph",
                           "zac", "grandpa")

EXTRA_VOICES: tuple[Voice, ...] = (
    Voice("flite-slt-var", "flite", "slt", "slt", ("flite1-dev",), share=12.0, varied_prosody=True),
    *(Voice(f"espeak-var-{variant.lower()}", "espeak-ng", f"en-us+{variant}", f"espeak-var-{variant.lower()}",
            ("libespeak-ng1",), varied_prosody=True) for variant in _VARIED_ESPEAK_VARIANTS),
)
"""More training voices (``prepare.py --extra-hours``), all of Debian main, each with a varied
prosody per utterance: flite's slt with its duration and pitch moved (a third of the extra audio:
the only flite voice that trains, and the flite voices are the test voices' kind), and 24 more
espeak-ng variants with varied rate, pitch and pitch range. They come on top of :data:`VOICES`
with their own budget, so the :data:`VOICES` corpus stays the same with or without them. (flite's
kal16 diphone voice is left out: its segment times end about 0.1 s after its audio, so its labels
cannot be trusted.)"""


ESPEAK_DEFAULT_PROSODY: dict[str, int] = {"rate": 175, "pitch": 50, "range": 50}
"""espeak-ng's own values of those parameters (what every other voice speaks with)."""

_ESPEAK_PARAMETER = {"rate": 1, "pitch": 3, "range": 4}  # espeak_PARAMETER: espeakRATE, PITCH, RANGE


def varied_prosody(engine: str, utt_id: str) -> dict[str, float]:
    """The prosody a ``varied_prosody`` voice of ``engine`` reads utterance ``utt_id`` with
    (:data:`PROSODY_RANGES`; espeak-ng's values are ints, flite's rounded to 3 decimals)."""
    rng = np.random.default_rng(zlib.crc32(utt_id.encode("utf-8")))
    ranges = PROSODY_RANGES[engine]
    if engine == "espeak-ng":
        return {name: int(rng.integers(low, high + 1)) for name, (low, high) in ranges.items()}
    return {name: round(float(rng.uniform(low, high)), 3) for name, (low, high) in ranges.items()}


@dataclass(frozen=True)
class RawUtterance:
    """One synthesized sentence as the engine produced it.

    Attributes:
        id: utterance id.
        wav: the engine's wav file (its native sampling rate).
        words: word spans ``(name, start, end)`` in seconds. festival/flite: the engine's word
            tokens (clitics such as ``'s`` may be separate tokens); espeak-ng: the transcript words,
            or none where its phones do not fit them (see :func:`espeak_word_spans`).
        phones: festival/flite phone spans in seconds, pauses included; None for espeak-ng.
        label_end: end of the last label, pauses included, in seconds.
        duration: length of the wav in seconds.
    """

    id: str
    wav: Path
    words: list[Span]
    phones: list[Span] | None
    label_end: float
    duration: float


def synthesize(
    voice: Voice, sentences: Sequence[Sentence], out_dir: Path, flite_helper: Path | None = None
) -> list[RawUtterance]:
    """Synthesize ``sentences`` with ``voice`` into ``out_dir/<voice>-<sentence id>.wav``.

    Sentences the engine fails on are left out of the result. ``flite_helper`` (the compiled
    ``flite_align.c``) is needed for flite voices only.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    items = [(f"{voice.name}-{s.id}", s) for s in sentences]
    if voice.engine == "festival":
        return _festival(voice.engine_voice, items, out_dir, voice.encoding)
    if voice.engine == "flite":
        if flite_helper is None:
            raise ValueError(f"voice {voice.name!r} needs the flite helper binary")
        return _flite(flite_helper, voice.engine_voice, items, out_dir, voice.varied_prosody)
    if voice.engine == "espeak-ng":
        return _espeak(voice.engine_voice, items, out_dir, voice.varied_prosody)
    raise ValueError(f"unknown engine {voice.engine!r}")


def _parse_labels(stdout: str, out_dir: Path) -> list[RawUtterance]:
    """Read ``U id`` / ``W name start end`` / ``P name start end`` / ``E`` blocks (seconds)."""
    result, current = [], None
    for line in stdout.splitlines():
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "U" and len(fields) >= 2:
            current = (fields[1], [], [])
        elif current is not None and fields[0] in ("W", "P") and len(fields) == 4:
            span = (fields[1], float(fields[2]), float(fields[3]))
            (current[1] if fields[0] == "W" else current[2]).append(span)
        elif current is not None and fields == ["E"]:
            utt_id, words, phones = current
            wav = out_dir / f"{utt_id}.wav"
            info = soundfile.info(str(wav))
            label_end = max(end for _, _, end in phones) if phones else 0.0
            result.append(RawUtterance(utt_id, wav, words, phones, label_end, info.frames / info.samplerate))
            current = None
    return result


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_FESTIVAL_DEFINE = """
(define (fsttopo_synth id text path)
  (let ((utt (utt.synth (eval (list 'Utterance 'Text text)))))
    (utt.save.wave utt path 'riff)
    (format t "U %s\\n" id)
    (mapcar (lambda (w) (format t "W %s %f %f\\n" (item.name w) (item.feat w "word_start")
                                (item.feat w "word_end")))
            (utt.relation.items utt 'Word))
    (mapcar (lambda (s) (format t "P %s %f %f\\n" (item.name s) (item.feat s "segment_start")
                                (item.feat s "segment_end")))
            (utt.relation.items utt 'Segment))
    (format t "E\\n")))
"""


def _festival(
    engine_voice: str, items: list[tuple[str, Sentence]], out_dir: Path, encoding: str = "utf-8"
) -> list[RawUtterance]:
    lines = [_FESTIVAL_DEFINE, f"(voice_{engine_voice})"]
    for utt_id, sentence in items:
        path = out_dir / f"{utt_id}.wav"
        arguments = " ".join(_scheme_string(a) for a in (utt_id, sentence.text, str(path)))
        lines.append(f"(fsttopo_synth {arguments})")
    script = out_dir / f".festival-{items[0][0]}.scm"
    script.write_text("\n".join(lines) + "\n", encoding=encoding)
    try:
        run = subprocess.run(["festival", "-b", str(script)], capture_output=True, text=True, check=False,
                             encoding=encoding, errors="replace")
    finally:
        script.unlink()
    return _parse_labels(run.stdout, out_dir)


def _flite(
    helper: Path, engine_voice: str, items: list[tuple[str, Sentence]], out_dir: Path, varied: bool = False
) -> list[RawUtterance]:
    def line(utt_id: str, text: str) -> str:
        if not varied:
            return f"{utt_id}\t{text}\n"
        prosody = varied_prosody("flite", utt_id)
        return f"{utt_id}\t{text}\t{prosody['stretch']}\t{prosody['f0_mean']}\n"

    stdin = "".join(line(utt_id, sentence.text) for utt_id, sentence in items)
    command = [str(helper), engine_voice, str(out_dir)]
    run = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)
    return _parse_labels(run.stdout, out_dir)


# --- espeak-ng -------------------------------------------------------------------------------------

_EVENT_PHONEME = 7
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_CHARS_UTF8 = 1
_POS_CHARACTER = 1


class _EspeakEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_EspeakEvent))


class _Espeak:
    """libespeak-ng in synchronous mode; collects samples and phoneme events of one call."""

    def __init__(self) -> None:
        self.lib = ctypes.CDLL("libespeak-ng.so.1")
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_void_p, ctypes.c_void_p,
        ]
        self.sample_rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INITIALIZE_PHONEME_EVENTS)
        if self.sample_rate <= 0:
            raise RuntimeError("espeak_Initialize failed")
        self.samples: list[np.ndarray] = []
        self.events: list[tuple[str, int, int]] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: libespeak-ng holds the pointer
        self.lib.espeak_SetSynthCallback(self._callback)
        self.voice = ""
        self.prosody: dict[str, int] = dict(ESPEAK_DEFAULT_PROSODY)

    def _collect(self, wav, num_samples, events) -> int:
        if num_samples > 0:
            self.samples.append(np.ctypeslib.as_array(wav, (num_samples,)).copy())
        i = 0
        while events[i].type != 0:
            event = events[i]
            if event.type == _EVENT_PHONEME:
                self.events.append((event.id.decode("utf-8", "replace"), event.sample, event.text_position))
            i += 1
        return 0

    def synth(
        self, voice: str, text: str, prosody: dict[str, int] | None = None
    ) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
        """Samples (int16) and phoneme events ``(name, sample, text position 1-based)``.

        ``prosody`` sets espeak-ng parameters (:data:`PROSODY_RANGES` names) for this call; the
        others, and all of them without it, are at espeak-ng's defaults (the parameters outlive a
        change of voice, so they are set again after a call with other values).
        """
        if voice != self.voice:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ValueError(f"espeak-ng has no voice {voice!r}")
            self.voice = voice
        wanted = {**ESPEAK_DEFAULT_PROSODY, **(prosody or {})}
        for name, value in wanted.items():
            if self.prosody[name] != value:
                if self.lib.espeak_SetParameter(_ESPEAK_PARAMETER[name], value, 0) != 0:
                    raise ValueError(f"espeak-ng refused {name}={value}")
        self.prosody = wanted
        self.samples, self.events = [], []
        data = text.encode("utf-8")
        self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        samples = np.concatenate(self.samples) if self.samples else np.zeros(0, dtype=np.int16)
        return samples, self.events


_espeak_instance: _Espeak | None = None


def espeak_synth(
    engine_voice: str, text: str, prosody: dict[str, int] | None = None
) -> tuple[np.ndarray, list[tuple[str, int, int]], int]:
    """``(samples int16, phoneme events (name, sample, text position 1-based), sample rate)`` of ``text``.

    ``prosody``: espeak-ng rate / pitch / range for this text (see :func:`varied_prosody`), or
    the voice's own. One libespeak-ng instance serves the whole process.
    """
    global _espeak_instance
    if _espeak_instance is None:
        _espeak_instance = _Espeak()
    samples, events = _espeak_instance.synth(engine_voice, text, prosody)
    return samples, events, _espeak_instance.sample_rate


def espeak_word_spans(
    text: str, words: Sequence[str], events: Sequence[tuple[str, int, int]], num_samples: int, sample_rate: int
) -> list[Span] | None:
    """Word spans (seconds) from espeak-ng phoneme events, or None if they do not fit the words.

    A phone starts at its event's sample and ends where the next event (phone or pause) starts,
    the last one at ``num_samples``. Pauses are the phones whose name starts with ``_``. A phone
    belongs to the whitespace token of ``text`` that contains its text position; tokens that are
    only punctuation or ``--`` carry no word. Returns None when a non-pause phone falls outside
    every word, a word gets no phone, or the phones' words go backwards.
    """
    token_words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)
                   if m.group().strip("\"'()[],.;:!?-")]
    if len(token_words) != len(words):
        return None
    bounds: list[list[int]] = [[] for _ in words]
    last_word = 0
    for k, (name, sample, position) in enumerate(events):
        if name.startswith("_"):
            continue
        end = events[k + 1][1] if k + 1 < len(events) else num_samples
        char = position - 1
        index = next((i for i, (a, b) in enumerate(token_words) if a <= char < b), None)
        if index is None or index < last_word:
            return None
        last_word = index
        bounds[index].extend((sample, end))
    if any(not b for b in bounds):
        return None
    return [(word, min(b) / sample_rate, max(b) / sample_rate) for word, b in zip(words, bounds)]


def _espeak(
    engine_voice: str, items: list[tuple[str, Sentence]], out_dir: Path, varied: bool = False
) -> list[RawUtterance]:
    result = []
    for utt_id, sentence in items:
        prosody = varied_prosody("espeak-ng", utt_id) if varied else None
        samples, events, sample_rate = espeak_synth(engine_voice, sentence.text, prosody)
        if not events or samples.size == 0:
            continue
        words = espeak_word_spans(sentence.text, sentence.words.split(), events, samples.size, sample_rate)
        wav = out_dir / f"{utt_id}.wav"
        soundfile.write(str(wav), samples, sample_rate, subtype="PCM_16")
        label_end = events[-1][1] / sample_rate
        result.append(RawUtterance(utt_id, wav, words or [], None, label_end, samples.size / sample_rate))
    return result
