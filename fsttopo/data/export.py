"""Write and read :class:`UtteranceAlignment`\\ s: JSON, CTM, Praat TextGrid and Lhotse manifests.

All times are seconds relative to the recording (see :mod:`fsttopo.data.alignment`). Every reader
returns :class:`UtteranceAlignment` objects; :func:`load_alignments` picks the reader from the path.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence
from urllib.parse import unquote

from praatio import textgrid

from .alignment import Pronunciation, TimedToken, UtteranceAlignment
from .atomic import atomic_path, write_text_atomic

if TYPE_CHECKING:  # Lhotse is imported by the functions that take its manifests: writing files needs none
    from lhotse import CutSet, SupervisionSet

__all__ = [
    "WORD_TIER", "PHONE_TIER", "UNTRANSCRIBED_TIER", "SPREAD_TIERS",
    "alignment_to_dict", "alignment_from_dict", "write_json", "write_json_dir", "read_json",
    "write_ctm", "ctm_lines", "read_ctm", "write_textgrid", "read_textgrid",
    "add_to_supervisions", "add_to_cuts", "from_supervisions", "from_cuts",
    "load_alignments", "read_text", "write_text",
]

WORD_TIER = "words"
PHONE_TIER = "phones"
UNTRANSCRIBED_TIER = "untranscribed"
"""TextGrid tier of :attr:`UtteranceAlignment.untranscribed` (written when there are spans)."""
SPREAD_TIERS = {WORD_TIER: "words_sd", PHONE_TIER: "phones_sd"}
"""TextGrid point tiers of the boundary spreads (:attr:`TimedToken.start_sd`, ``end_sd``) of the
interval tier named by the key: one point per boundary time, labelled with its spread in
milliseconds; written when every token of that tier has its spreads."""
_SPREAD_TIME_TOLERANCE = 1e-6  # seconds between a boundary and its spread point when read back
_KINDS = ("word", "phone")

# ---------------------------------------------------------------------------------------- JSON


def _token_dict(token: TimedToken) -> dict[str, Any]:
    return {"symbol": token.symbol, "start": token.start, "end": token.end,
            **({"confidence": token.confidence} if token.confidence is not None else {}),
            **{k: getattr(token, k) for k in ("start_sd", "end_sd") if getattr(token, k) is not None}}


def alignment_to_dict(alignment: UtteranceAlignment) -> dict[str, Any]:
    """JSON-ready dict: ``utterance_id, text, start, duration`` and ``words``/``phones`` as
    lists of ``{"symbol", "start", "end"}`` (seconds, each token's ``confidence`` and the spreads
    of its boundaries ``start_sd`` and ``end_sd``, seconds, when known);
    ``confidence``, ``relative_confidence``, ``low_confidence`` (below the model's calibrated
    threshold) and ``condition_allowance`` (what the recording's condition was allowed) when known; ``pronunciations`` (``{word: {"source", "phones"}}``) when some words
    were not pronounced from the lexicon; ``untranscribed`` (``[[start, end], ...]`` seconds) when
    some audio is not covered by the transcript; ``model`` and ``model_reasons`` when the model was
    chosen per recording (``--model auto``)."""
    return {
        "utterance_id": alignment.utterance_id,
        "text": alignment.text,
        "start": alignment.start,
        "duration": alignment.duration,
        "words": [_token_dict(t) for t in alignment.words],
        "phones": [_token_dict(t) for t in alignment.phones],
        **({"confidence": alignment.confidence} if alignment.confidence is not None else {}),
        **({"relative_confidence": alignment.relative_confidence}
           if alignment.relative_confidence is not None else {}),
        **({"low_confidence": alignment.low_confidence} if alignment.low_confidence is not None else {}),
        **({"condition_allowance": alignment.condition_allowance}
           if alignment.condition_allowance is not None else {}),
        **({"pronunciations": {word: {"source": p.source, "phones": list(p.phones)}
                               for word, p in alignment.pronunciations.items()}} if alignment.pronunciations else {}),
        **({"untranscribed": [[s, e] for s, e in alignment.untranscribed]} if alignment.untranscribed else {}),
        **({"model": alignment.model, "model_reasons": list(alignment.model_reasons)}
           if alignment.model is not None else {}),
    }


def alignment_from_dict(data: Mapping[str, Any]) -> UtteranceAlignment:
    """Inverse of :func:`alignment_to_dict` (``start``, ``phones``, ``confidence``, the spreads,
    ``pronunciations``, ``untranscribed``, ``condition_allowance`` and ``model`` may be missing)."""
    missing = {"utterance_id", "text", "duration", "words"} - set(data)
    if missing:
        raise ValueError(f"alignment JSON misses the keys {sorted(missing)}")

    def tokens(items: Iterable[Mapping[str, Any]]) -> list[TimedToken]:
        try:
            return [TimedToken(str(it["symbol"]), float(it["start"]), float(it["end"]),
                               *(None if it.get(k) is None else float(it[k]) for k in ("confidence", "start_sd", "end_sd")))
                    for it in items]
        except (KeyError, TypeError) as err:
            raise ValueError(f"utterance {data['utterance_id']!r}: tokens need 'symbol', 'start' and 'end' "
                             f"({err})") from err

    try:
        pronunciations = {str(word): Pronunciation(str(p["source"]), tuple(map(str, p["phones"])))
                          for word, p in data.get("pronunciations", {}).items()}
    except (KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"utterance {data['utterance_id']!r}: pronunciations need 'source' and 'phones' "
                         f"per word ({err!r})") from err
    try:
        untranscribed = [(float(s), float(e)) for s, e in data.get("untranscribed", [])]
    except (TypeError, ValueError) as err:
        raise ValueError(f"utterance {data['utterance_id']!r}: untranscribed must be a list of [start, end] "
                         f"seconds ({err})") from err
    return UtteranceAlignment(str(data["utterance_id"]), str(data["text"]), float(data["duration"]),
                              tokens(data["words"]), tokens(data.get("phones", [])),
                              start=float(data.get("start", 0.0)),
                              confidence=None if data.get("confidence") is None else float(data["confidence"]),
                              relative_confidence=None if data.get("relative_confidence") is None
                              else float(data["relative_confidence"]),
                              low_confidence=None if data.get("low_confidence") is None else bool(data["low_confidence"]),
                              pronunciations=pronunciations, untranscribed=untranscribed,
                              condition_allowance=None if data.get("condition_allowance") is None
                              else float(data["condition_allowance"]),
                              model=None if data.get("model") is None else str(data["model"]),
                              model_reasons=[str(r) for r in data.get("model_reasons", [])])


def write_json(alignments: UtteranceAlignment | Sequence[UtteranceAlignment], path: str | Path) -> Path:
    """Write one alignment as a JSON object, or several as a JSON list."""
    data: Any = (alignment_to_dict(alignments) if isinstance(alignments, UtteranceAlignment)
                 else [alignment_to_dict(a) for a in alignments])
    return write_text_atomic(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def _file_name(utterance_id: str, suffix: str) -> str:
    if not utterance_id or utterance_id in {".", ".."} or "/" in utterance_id or "\\" in utterance_id:
        raise ValueError(f"utterance id {utterance_id!r} cannot be used as a file name")
    return utterance_id + suffix


def write_json_dir(alignments: Iterable[UtteranceAlignment], directory: str | Path) -> list[Path]:
    """Write one ``<utterance_id>.json`` per alignment into ``directory``; returns the paths."""
    directory = Path(directory)
    return [write_json(a, directory / _file_name(a.utterance_id, ".json")) for a in alignments]


def read_json(path: str | Path) -> list[UtteranceAlignment]:
    """Read a file written by :func:`write_json` (one object or a list)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [alignment_from_dict(d) for d in (data if isinstance(data, list) else [data])]


# ----------------------------------------------------------------------------------------- CTM


def write_ctm(alignments: Iterable[UtteranceAlignment], path: str | Path, kind: str = "word",
              decimals: int = 3) -> Path:
    """Write ``<utterance_id> 1 <start> <duration> <symbol> [<confidence>]`` lines (seconds) for words
    or phones (:func:`ctm_lines` of each alignment)."""
    return write_text_atomic(path, "".join(ctm_lines(a, kind, decimals) for a in alignments))


def ctm_lines(alignment: UtteranceAlignment, kind: str = "word", decimals: int = 3) -> str:
    """The CTM lines of one alignment's words or phones: ``<utterance_id> 1 <start> <duration>
    <symbol> [<confidence>]`` (seconds); the 6th field is the token's confidence (NIST CTM's score)
    when known.

    Start and end are rounded to ``decimals`` places and the duration is taken between the rounded
    times, so tokens that touch still touch after reading back. CTM fields are separated by
    whitespace, so the utterance id is written with each whitespace character and ``%``
    percent-encoded as UTF-8 (``"spk 1/a%b"`` -> ``"spk%201/a%25b"``); :func:`read_ctm` decodes it.
    Symbols cannot hold whitespace (ValueError).
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    lines = []
    for t in alignment.words if kind == "word" else alignment.phones:
        if any(c.isspace() for c in t.symbol):
            raise ValueError(f"utterance {alignment.utterance_id!r}: CTM symbols cannot contain whitespace "
                             f"(symbol {t.symbol!r})")
        start, end = round(t.start, decimals), round(t.end, decimals)
        score = "" if t.confidence is None else f" {t.confidence:.3f}"
        lines.append(f"{_ctm_id(alignment.utterance_id)} 1 {start:.{decimals}f} {end - start:.{decimals}f} "
                     f"{t.symbol}{score}\n")
    return "".join(lines)


def _ctm_id(utterance_id: str) -> str:
    """The utterance id as one CTM field: whitespace and ``%`` percent-encoded (UTF-8 bytes), so
    ``urllib.parse.unquote`` gives the id back exactly."""
    return "".join("".join(f"%{b:02X}" for b in c.encode("utf-8")) if c.isspace() or c == "%" else c
                   for c in utterance_id)


def _read_ctm_tokens(path: Path) -> dict[str, list[TimedToken]]:
    out: dict[str, list[TimedToken]] = {}
    for num, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields or line.startswith(";;"):
            continue
        if len(fields) not in (5, 6):
            raise ValueError(f"{path}:{num}: expected 'utt channel start duration symbol [confidence]', got {line!r}")
        try:
            start, dur = float(fields[2]), float(fields[3])
        except ValueError as err:
            raise ValueError(f"{path}:{num}: start and duration must be numbers, got {line!r}") from err
        try:
            score = float(fields[5]) if len(fields) == 6 else None
        except ValueError as err:
            raise ValueError(f"{path}:{num}: the confidence (6th field) must be a number, got {line!r}") from err
        out.setdefault(unquote(fields[0]), []).append(TimedToken(fields[4], start, start + dur, score))
    return {utt: sorted(tokens, key=lambda t: t.start) for utt, tokens in out.items()}


def read_ctm(path: str | Path, phone_path: str | Path | None = None,
             durations: Mapping[str, float] | None = None) -> list[UtteranceAlignment]:
    """Read a word CTM (and optionally a phone CTM of the same utterances).

    CTM carries no transcript and no utterance length: ``text`` becomes the words joined by spaces,
    ``start`` 0 and ``duration`` the value in ``durations`` (seconds) or else the last token's end.
    Utterances come in the order of their first line in the word CTM. Percent-escapes in the
    utterance ids (:func:`write_ctm`) are decoded.
    """
    words = _read_ctm_tokens(Path(path))
    phones = _read_ctm_tokens(Path(phone_path)) if phone_path is not None else {}
    extra = sorted(set(phones) - set(words))
    if extra:
        raise ValueError(f"phone CTM has utterances without words in the word CTM: {extra[:5]}")
    out = []
    for utt, ws in words.items():
        ps = phones.get(utt, [])
        duration = durations[utt] if durations is not None and utt in durations else max(t.end for t in ws + ps)
        out.append(UtteranceAlignment(utt, " ".join(t.symbol for t in ws), duration, ws, ps))
    return out


# ------------------------------------------------------------------------------------ TextGrid


def _intervals(tokens: Sequence[TimedToken], utterance_id: str) -> list[tuple[float, float, str]]:
    """TextGrid intervals; a start inside the previous token (float noise) moves to its end."""
    out: list[tuple[float, float, str]] = []
    for t in tokens:
        start = max(t.start, out[-1][1]) if out else t.start
        if t.end <= start:
            raise ValueError(f"utterance {utterance_id!r}: TextGrid intervals need a positive length, "
                             f"{t.symbol!r} spans [{t.start}, {t.end}) s")
        out.append((start, t.end, t.symbol))
    return out


def _spread_points(intervals: Sequence[tuple[float, float, str]],
                   tokens: Sequence[TimedToken]) -> list[tuple[float, str]] | None:
    """One ``(time, "spread in ms")`` point per distinct boundary of ``intervals``, or ``None``
    when some token has no spreads. An end and the next start at the same time are one boundary
    in Praat's point tier, and it gets the wider of their spreads."""
    if not tokens or any(t.boundary_sd is None for t in tokens):
        return None
    points: list[tuple[float, float]] = []
    for (start, end, _), token in zip(intervals, tokens):
        for time, sd in ((start, token.start_sd), (end, token.end_sd)):
            if points and abs(points[-1][0] - time) <= _SPREAD_TIME_TOLERANCE:
                points[-1] = (points[-1][0], max(points[-1][1], sd))
            else:
                points.append((time, sd))
    return [(time, f"{1000.0 * sd:.1f}") for time, sd in points]


def write_textgrid(alignment: UtteranceAlignment, path: str | Path) -> Path:
    """Write a Praat TextGrid (long text format) with interval tiers ``words`` and ``phones`` (and
    ``untranscribed``, intervals labelled ``untranscribed``, when the alignment has such spans).

    The tiers span the utterance ``[start, start + duration]`` (widened to cover every token);
    gaps between tokens become empty intervals. Posterior alignments also get the point tiers
    ``words_sd`` and ``phones_sd`` (:data:`SPREAD_TIERS`): a point at each boundary labelled with
    its spread in ms (0.1 ms resolution), which :func:`read_textgrid` reads back.
    """
    spans = [TimedToken(UNTRANSCRIBED_TIER, s, e) for s, e in alignment.untranscribed if e > s]
    tokens = alignment.words + alignment.phones + spans
    xmin = min([alignment.start] + [t.start for t in tokens])
    xmax = max([alignment.end] + [t.end for t in tokens])
    tg = textgrid.Textgrid(xmin, xmax)
    tiers = [(WORD_TIER, alignment.words), (PHONE_TIER, alignment.phones)]
    if spans:
        tiers.append((UNTRANSCRIBED_TIER, spans))
    spreads = []
    for name, items in tiers:
        intervals = _intervals(items, alignment.utterance_id)
        tg.addTier(textgrid.IntervalTier(name, intervals, xmin, xmax))
        points = _spread_points(intervals, items) if name in SPREAD_TIERS else None
        if points is not None:
            spreads.append(textgrid.PointTier(SPREAD_TIERS[name], points, xmin, xmax))
    for tier in spreads:
        tg.addTier(tier)
    path = Path(path)
    with atomic_path(path) as tmp:
        tg.save(str(tmp), format="long_textgrid", includeBlankSpaces=True)
    return path


def _with_spreads(path: Path, tg: textgrid.Textgrid, name: str, tokens: list[TimedToken]) -> list[TimedToken]:
    """``tokens`` with the spreads of the point tier ``SPREAD_TIERS[name]`` when the TextGrid has it."""
    if SPREAD_TIERS[name] not in tg.tierNames or not tokens:
        return tokens
    tier = tg.getTier(SPREAD_TIERS[name])
    if not isinstance(tier, textgrid.PointTier):
        raise ValueError(f"{path}: tier {SPREAD_TIERS[name]!r} is not a point tier")
    times, spreads = [], []
    for point in tier.entries:
        try:
            spread = float(point.label) / 1000.0
        except ValueError:
            raise ValueError(f"{path}: tier {SPREAD_TIERS[name]!r} has the point {point.label!r} at "
                             f"{point.time} s, not a spread in ms") from None
        times.append(point.time)
        spreads.append(spread)

    def spread_at(time: float, token: TimedToken) -> float:
        i = bisect.bisect_left(times, time - _SPREAD_TIME_TOLERANCE)
        if i == len(times) or times[i] > time + _SPREAD_TIME_TOLERANCE:
            raise ValueError(f"{path}: tier {SPREAD_TIERS[name]!r} has no point at {time} s, a boundary "
                             f"of {token.symbol!r}")
        return spreads[i]

    return [replace(t, start_sd=spread_at(t.start, t), end_sd=spread_at(t.end, t)) for t in tokens]


def read_textgrid(path: str | Path, utterance_id: str | None = None) -> UtteranceAlignment:
    """Read a TextGrid with a ``words`` tier (and optionally ``phones`` and ``untranscribed``) with praatio.

    Empty intervals are gaps. ``utterance_id`` defaults to the file name without its suffix,
    ``text`` is the words joined by spaces, the utterance spans the TextGrid's ``[xmin, xmax]``.
    The point tiers ``words_sd`` and ``phones_sd`` (:func:`write_textgrid`), when present, give
    the tokens' ``start_sd`` and ``end_sd``.
    """
    path = Path(path)
    tg = textgrid.openTextgrid(str(path), includeEmptyIntervals=False)
    if WORD_TIER not in tg.tierNames:
        raise ValueError(f"{path}: no {WORD_TIER!r} tier (tiers: {list(tg.tierNames)})")

    def tokens(name: str) -> list[TimedToken]:
        if name not in tg.tierNames:
            return []
        tier = tg.getTier(name)
        if not isinstance(tier, textgrid.IntervalTier):
            raise ValueError(f"{path}: tier {name!r} is not an interval tier")
        found = [TimedToken(e.label, e.start, e.end) for e in tier.entries if e.label.strip()]
        return _with_spreads(path, tg, name, found) if name in SPREAD_TIERS else found

    words = tokens(WORD_TIER)
    return UtteranceAlignment(utterance_id or path.stem, " ".join(t.symbol for t in words),
                              tg.maxTimestamp - tg.minTimestamp, words, tokens(PHONE_TIER),
                              start=tg.minTimestamp,
                              untranscribed=[(t.start, t.end) for t in tokens(UNTRANSCRIBED_TIER)])


# -------------------------------------------------------------------------------------- Lhotse


def _by_id(alignments: Iterable[UtteranceAlignment]) -> dict[str, UtteranceAlignment]:
    out: dict[str, UtteranceAlignment] = {}
    for a in alignments:
        if a.utterance_id in out:
            raise ValueError(f"utterance {a.utterance_id!r} appears twice")
        out[a.utterance_id] = a
    return out


def add_to_supervisions(alignments: Iterable[UtteranceAlignment], supervisions: SupervisionSet) -> SupervisionSet:
    """A copy of ``supervisions`` with each alignment in the ``alignment`` field of the supervision
    with its id (``"word"`` and ``"phone"``; other supervisions unchanged)."""
    from lhotse import SupervisionSet

    todo = _by_id(alignments)
    out = [todo.pop(s.id).to_supervision(s) if s.id in todo else s for s in supervisions]
    if todo:
        raise ValueError(f"{len(todo)} alignments have no supervision, e.g. {sorted(todo)[:5]}")
    return SupervisionSet.from_segments(out)


def add_to_cuts(alignments: Iterable[UtteranceAlignment], cuts: CutSet) -> CutSet:
    """A copy of ``cuts`` with each alignment attached to the supervisions with its id (in every
    cut that holds one)."""
    from lhotse import CutSet

    todo = _by_id(alignments)
    used: set[str] = set()

    def attach(sup):
        if sup.id not in todo:
            return sup
        used.add(sup.id)
        return todo[sup.id].to_supervision(sup)

    out = CutSet.from_cuts([cut.map_supervisions(attach) for cut in cuts])
    unused = sorted(set(todo) - used)
    if unused:
        raise ValueError(f"{len(unused)} alignments have no supervision in the cuts, e.g. {unused[:5]}")
    return out


def from_supervisions(supervisions: Iterable) -> list[UtteranceAlignment]:
    """Alignments of all supervisions that carry a word alignment (others are skipped)."""
    return [UtteranceAlignment.from_supervision(s) for s in supervisions if s.alignment and "word" in s.alignment]


def from_cuts(cuts: Iterable) -> list[UtteranceAlignment]:
    """Alignments of all supervisions in ``cuts`` that carry a word alignment.

    The utterance start becomes ``cut.start + supervision.start`` (relative to the recording, like
    the alignment times). A supervision in several cuts raises ``ValueError``.
    """
    from lhotse.cut.data import DataCut

    out = []
    for cut in cuts:
        if not isinstance(cut, DataCut):
            raise ValueError(f"cut {cut.id!r} is a {type(cut).__name__}; only single-recording cuts "
                             f"(MonoCut, MultiCut) are supported")
        out += [UtteranceAlignment.from_supervision(s, offset=cut.start)
                for s in cut.supervisions if s.alignment and "word" in s.alignment]
    return list(_by_id(out).values())


# ------------------------------------------------------------------------------------- loading


def _is_our_json(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    first = data[0] if isinstance(data, list) and data else data
    return isinstance(first, dict) and "utterance_id" in first


def load_alignments(path: str | Path) -> list[UtteranceAlignment]:
    """Load alignments from

    - a directory: all ``*.json`` (our JSON) and ``*.TextGrid`` files under it, sub-directories
      included (a TextGrid beside a JSON of the same name, as ``align-dir`` writes them, is the
      same alignment: the JSON is read); a TextGrid's utterance id is its path below the directory
      without the suffix (``spk/utt``, the id ``align-dir`` gives the same file);
    - a ``.json`` file in our format (:func:`write_json`), a ``.ctm`` (word CTM) or a ``.TextGrid``;
    - otherwise a Lhotse SupervisionSet or CutSet manifest (e.g. ``.jsonl.gz``) whose supervisions
      carry alignments.

    Raises ``ValueError`` when nothing is found or an utterance id appears twice.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path} does not exist")
    if path.is_dir():
        jsons = sorted(f for f in path.rglob("*.json") if _is_our_json(f))
        out = [a for f in jsons for a in read_json(f)]
        have_json = {f.with_suffix("") for f in jsons}
        out += [read_textgrid(f, f.relative_to(path).with_suffix("").as_posix()) for f in sorted(path.rglob("*.TextGrid"))
                if f.with_suffix("") not in have_json]
    elif path.suffix == ".json" and _is_our_json(path):
        out = read_json(path)
    elif path.suffix == ".ctm":
        out = read_ctm(path)
    elif path.suffix == ".TextGrid":
        out = [read_textgrid(path)]
    else:
        from lhotse import CutSet, SupervisionSet, load_manifest

        manifest = load_manifest(path)
        if isinstance(manifest, SupervisionSet):
            out = from_supervisions(manifest)
        elif isinstance(manifest, CutSet):
            out = from_cuts(manifest)
        else:
            raise ValueError(f"{path}: expected a SupervisionSet or CutSet manifest, got {type(manifest).__name__}")
    if not out:
        raise ValueError(f"{path}: no alignments found")
    return list(_by_id(out).values())


def write_text(texts: Mapping[str, str], path: str | Path) -> Path:
    """Write a Kaldi-style text file (``<utterance_id> <word> ...`` per line), as :func:`read_text` reads."""
    for utt in texts:
        if not utt or any(c.isspace() for c in utt):
            raise ValueError(f"utterance id {utt!r} must be non-empty without whitespace")
    return write_text_atomic(path, "".join(f"{utt} {' '.join(text.split())}".rstrip() + "\n"
                                           for utt, text in texts.items()))


def read_text(path: str | Path) -> dict[str, str]:
    """Read a Kaldi-style text file: ``<utterance_id> <word> <word> ...`` per line (e.g. decoded text)."""
    out: dict[str, str] = {}
    for num, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        utt, _, text = line.strip().partition(" ")
        if utt in out:
            raise ValueError(f"{path}:{num}: utterance {utt!r} appears twice")
        out[utt] = " ".join(text.split())
    return out
