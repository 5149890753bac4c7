"""fsttopo.data.export: JSON, CTM, TextGrid and Lhotse manifests written and read back."""

import json
import re
from dataclasses import replace

import pytest
from lhotse import CutSet, MonoCut, Recording, SupervisionSegment, SupervisionSet, load_manifest
from lhotse.audio import AudioSource
from praatio import textgrid

from fsttopo.data import export as E
from fsttopo.data.alignment import TimedToken, UtteranceAlignment


def _utt(uid: str = "rec1-0", start: float = 0.5) -> UtteranceAlignment:
    """Words 'hello world' in [start, start + 1.5) of the recording, with gaps before, between, after."""
    s = start
    return UtteranceAlignment(
        uid, "Hello, world!", 1.5,
        [TimedToken("hello", s + 0.1, s + 0.5), TimedToken("world", s + 0.625, s + 1.25)],
        [TimedToken("hh", s + 0.1, s + 0.2), TimedToken("ah", s + 0.2, s + 0.35), TimedToken("l", s + 0.35, s + 0.4),
         TimedToken("ow", s + 0.4, s + 0.5), TimedToken("w", s + 0.625, s + 1.25)],
        start=start)


def _flat(tokens):
    return [(t.symbol, t.start, t.end) for t in tokens]


def _assert_close(a: UtteranceAlignment, b: UtteranceAlignment, text: bool = True, abs_tol: float = 1e-9):
    assert a.utterance_id == b.utterance_id and a.start == pytest.approx(b.start, abs=abs_tol)
    assert a.duration == pytest.approx(b.duration, abs=abs_tol)
    if text:
        assert a.text == b.text
    for x, y in ((a.words, b.words), (a.phones, b.phones)):
        assert [t.symbol for t in x] == [t.symbol for t in y]
        assert [v for t in x for v in (t.start, t.end)] == pytest.approx([v for t in y for v in (t.start, t.end)],
                                                                         abs=abs_tol)


# --------------------------------------------------------------------------------------- JSON

def test_json_single_list_and_directory_round_trip(tmp_path):
    a, b = _utt(), _utt("rec2-0", start=0.0)
    assert E.read_json(E.write_json(a, tmp_path / "one.json")) == [a]
    assert json.loads((tmp_path / "one.json").read_text())["words"][1] == {"symbol": "world", "start": 1.125,
                                                                          "end": 1.75}
    assert E.read_json(E.write_json([a, b], tmp_path / "list.json")) == [a, b]
    paths = E.write_json_dir([a, b], tmp_path / "dir")
    assert [p.name for p in paths] == ["rec1-0.json", "rec2-0.json"]
    assert E.load_alignments(tmp_path / "dir") == [a, b]
    assert E.load_alignments(tmp_path / "list.json") == [a, b]


def test_json_errors(tmp_path):
    with pytest.raises(ValueError, match="misses the keys"):
        E.alignment_from_dict({"utterance_id": "u", "words": []})
    with pytest.raises(ValueError, match="need 'symbol', 'start' and 'end'"):
        E.alignment_from_dict({"utterance_id": "u", "text": "", "duration": 1, "words": [{"symbol": "a"}]})
    with pytest.raises(ValueError, match="cannot be used as a file name"):
        E.write_json_dir([_utt("a/b")], tmp_path)


# ---------------------------------------------------------------------------------------- CTM

def test_ctm_lines_and_round_trip(tmp_path):
    a = _utt()
    E.write_ctm([a], tmp_path / "w.ctm")
    E.write_ctm([a], tmp_path / "p.ctm", kind="phone")
    assert (tmp_path / "w.ctm").read_text().splitlines() == ["rec1-0 1 0.600 0.400 hello",
                                                            "rec1-0 1 1.125 0.625 world"]
    assert (tmp_path / "p.ctm").read_text().splitlines()[1] == "rec1-0 1 0.700 0.150 ah"
    (back,) = E.read_ctm(tmp_path / "w.ctm", tmp_path / "p.ctm", durations={"rec1-0": 2.0})
    # CTM has no transcript and no utterance start: words joined, start 0, given duration
    assert back.text == "hello world" and back.start == 0.0 and back.duration == 2.0
    assert back.words == a.words
    assert [t.end for t in back.phones] == pytest.approx([t.end for t in a.phones])
    (words_only,) = E.load_alignments(tmp_path / "w.ctm")
    assert words_only.duration == 1.75 and words_only.phones == []


def test_ctm_rounding_keeps_touching_tokens_touching(tmp_path):
    # 0.1006 + 0.2004 = 0.3010: rounding start and duration separately would overlap the next word
    a = UtteranceAlignment("u", "a b", 1.0, [TimedToken("a", 0.1006, 0.3010), TimedToken("b", 0.3010, 0.5)])
    (back,) = E.read_ctm(E.write_ctm([a], tmp_path / "x.ctm", decimals=2))
    assert _flat(back.words) == [("a", 0.1, pytest.approx(0.3)), ("b", 0.3, pytest.approx(0.5))]


def test_ctm_errors(tmp_path):
    (tmp_path / "bad.ctm").write_text("u 1 0.0 hello\n")
    with pytest.raises(ValueError, match="bad.ctm:1: expected"):
        E.read_ctm(tmp_path / "bad.ctm")
    (tmp_path / "bad.ctm").write_text("u 1 x 0.1 hello\n")
    with pytest.raises(ValueError, match="must be numbers"):
        E.read_ctm(tmp_path / "bad.ctm")
    with pytest.raises(ValueError, match="whitespace"):
        E.write_ctm([UtteranceAlignment("u", "", 1.0, [TimedToken("a b", 0, 1)])], tmp_path / "x.ctm")
    with pytest.raises(ValueError, match="kind"):
        E.write_ctm([_utt()], tmp_path / "x.ctm", kind="char")


# ------------------------------------------------------------------------------------ TextGrid

def _parse_long_textgrid(text: str) -> dict[str, list[tuple[float, float, str]]]:
    """Independent reader of Praat's long text format: tier name -> (xmin, xmax, text) intervals."""
    tiers = {}
    for block in re.split(r"\n\s*item \[\d+\]:\s*\n", text)[1:]:
        assert re.search(r'class = "IntervalTier"', block)
        name = re.search(r'name = "(.*)"', block).group(1)
        ivs = re.findall(r'xmin = (\S+)\s*\n\s*xmax = (\S+)\s*\n\s*text = "((?:[^"]|"")*)"', block)
        tiers[name] = [(float(x0), float(x1), t.replace('""', '"')) for x0, x1, t in ivs]
    return tiers


def test_textgrid_written_and_read_back(tmp_path):
    a = _utt()
    path = E.write_textgrid(a, tmp_path / "rec1-0.TextGrid")
    tiers = _parse_long_textgrid(path.read_text())
    assert list(tiers) == ["words", "phones"]
    # utterance [0.5, 2.0]; gaps are empty intervals
    assert tiers["words"] == [(0.5, 0.6, ""), (0.6, 1.0, "hello"), (1.0, 1.125, ""), (1.125, 1.75, "world"),
                              (1.75, 2.0, "")]
    assert [iv[2] for iv in tiers["phones"]] == ["", "hh", "ah", "l", "ow", "", "w", ""]
    assert [iv[0] for iv in tiers["phones"]] == pytest.approx([0.5, 0.6, 0.7, 0.85, 0.9, 1.0, 1.125, 1.75])

    tg = textgrid.openTextgrid(str(path), includeEmptyIntervals=False)  # praatio's own parser
    assert [tuple(e) for e in tg.getTier("words").entries] == [(0.6, 1.0, "hello"), (1.125, 1.75, "world")]
    assert (tg.minTimestamp, tg.maxTimestamp) == (0.5, 2.0)

    back = E.read_textgrid(path)
    _assert_close(back, a, text=False)
    assert back.text == "hello world"
    assert E.load_alignments(tmp_path) == [back]


def test_textgrid_float_noise_and_errors(tmp_path):
    # Lhotse-style ends rounded to 1e-8 s may overlap the next start slightly: the start moves
    a = UtteranceAlignment("u", "a b", 1.0, [TimedToken("a", 0.0, 0.30000001), TimedToken("b", 0.3, 0.6)])
    back = E.read_textgrid(E.write_textgrid(a, tmp_path / "u.TextGrid"))
    assert _flat(back.words) == [("a", 0.0, 0.30000001), ("b", 0.30000001, 0.6)]
    zero = UtteranceAlignment("u", "a", 1.0, [TimedToken("a", 0.5, 0.5)])
    with pytest.raises(ValueError, match="positive length"):
        E.write_textgrid(zero, tmp_path / "z.TextGrid")
    tg = textgrid.Textgrid(0.0, 1.0)
    tg.addTier(textgrid.IntervalTier("other", [(0.1, 0.2, "x")], 0.0, 1.0))
    tg.save(str(tmp_path / "o.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    with pytest.raises(ValueError, match="no 'words' tier"):
        E.read_textgrid(tmp_path / "o.TextGrid")


def _with_spreads(a: UtteranceAlignment) -> UtteranceAlignment:
    """``a`` with made-up boundary spreads: 1, 2, 3, ... ms in token order, start before end."""
    def spread(tokens, first):
        return [replace(t, start_sd=(first + 2 * i) / 1000, end_sd=(first + 2 * i + 1) / 1000)
                for i, t in enumerate(tokens)]
    return replace(a, words=spread(a.words, 1), phones=spread(a.phones, 11))


def test_textgrid_keeps_the_boundary_spreads(tmp_path):
    a = _with_spreads(_utt())
    path = E.write_textgrid(a, tmp_path / "rec1-0.TextGrid")
    tg = textgrid.openTextgrid(str(path), includeEmptyIntervals=False)
    assert tg.tierNames == ("words", "phones", "words_sd", "phones_sd")
    # one point per boundary, labelled in ms: 'hello' [0.6, 1.0) 1/2 ms, 'world' [1.125, 1.75) 3/4 ms
    assert [tuple(p) for p in tg.getTier("words_sd").entries] == [(0.6, "1.0"), (1.0, "2.0"), (1.125, "3.0"),
                                                                  (1.75, "4.0")]
    # hh|ah|l|ow are adjacent: an end and the next start are one point with the wider spread
    # (hh 11/12, ah 13/14, l 15/16, ow 17/18, w 19/20 ms)
    phones = [tuple(p) for p in tg.getTier("phones_sd").entries]
    assert [label for _, label in phones] == ["11.0", "13.0", "15.0", "17.0", "18.0", "19.0", "20.0"]
    assert [time for time, _ in phones] == pytest.approx([0.6, 0.7, 0.85, 0.9, 1.0, 1.125, 1.75])

    back = E.read_textgrid(path)
    _assert_close(back, a, text=False)
    assert [v for t in back.words for v in (t.start_sd, t.end_sd)] == pytest.approx([0.001, 0.002, 0.003, 0.004])
    assert [v for t in back.phones for v in (t.start_sd, t.end_sd)] == pytest.approx(
        [0.011, 0.013, 0.013, 0.015, 0.015, 0.017, 0.017, 0.018, 0.019, 0.020])


def test_textgrid_spreads_only_when_every_token_has_them(tmp_path):
    a = _with_spreads(_utt())
    partial = replace(a, words=[a.words[0], replace(a.words[1], start_sd=None)], phones=_utt().phones)
    tg = textgrid.openTextgrid(str(E.write_textgrid(partial, tmp_path / "p.TextGrid")), includeEmptyIntervals=False)
    assert tg.tierNames == ("words", "phones")
    back = E.read_textgrid(tmp_path / "p.TextGrid")
    assert all(t.start_sd is None and t.end_sd is None for t in back.words + back.phones)


def test_textgrid_bad_spread_tier_is_refused(tmp_path):
    def grid(points, kind=textgrid.PointTier):
        tg = textgrid.Textgrid(0.0, 1.0)
        tg.addTier(textgrid.IntervalTier("words", [(0.1, 0.5, "a")], 0.0, 1.0))
        tg.addTier(kind("words_sd", points, 0.0, 1.0))
        tg.save(str(tmp_path / "g.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
        return tmp_path / "g.TextGrid"

    with pytest.raises(ValueError, match="no point at 0.5 s, a boundary of 'a'"):
        E.read_textgrid(grid([(0.1, "3.0")]))
    with pytest.raises(ValueError, match="'x' at 0.5 s, not a spread in ms"):
        E.read_textgrid(grid([(0.1, "3.0"), (0.5, "x")]))
    with pytest.raises(ValueError, match="'words_sd' is not a point tier"):
        E.read_textgrid(grid([(0.1, 0.5, "3.0")], kind=textgrid.IntervalTier))
    (word,) = E.read_textgrid(grid([(0.1, "3.0"), (0.5, "4.5")])).words
    assert (word.start_sd, word.end_sd) == pytest.approx((0.003, 0.0045))


# -------------------------------------------------------------------------------------- Lhotse

def test_supervision_manifest_round_trip(tmp_path):
    a, b = _utt(), _utt("rec2-0", start=0.0)
    sups = SupervisionSet.from_segments([
        SupervisionSegment("rec1-0", "rec1", start=0.5, duration=1.5, text="Hello, world!"),
        SupervisionSegment("rec2-0", "rec2", start=0.0, duration=1.5, text="Hello, world!"),
        SupervisionSegment("rec3-0", "rec3", start=0.0, duration=1.0, text="unaligned"),
    ])
    out = E.add_to_supervisions([a, b], sups)
    assert sups["rec1-0"].alignment is None  # input unchanged
    out.to_file(tmp_path / "sups.jsonl.gz")
    loaded = load_manifest(tmp_path / "sups.jsonl.gz")
    assert loaded["rec1-0"].alignment["word"][0].symbol == "hello"
    assert loaded["rec3-0"].alignment is None
    back = E.load_alignments(tmp_path / "sups.jsonl.gz")
    assert [x.utterance_id for x in back] == ["rec1-0", "rec2-0"]
    _assert_close(back[0], a)
    _assert_close(back[1], b)
    with pytest.raises(ValueError, match="have no supervision"):
        E.add_to_supervisions([_utt("nope")], sups)
    with pytest.raises(ValueError, match="appears twice"):
        E.add_to_supervisions([a, a], sups)


def test_cut_manifest_round_trip_uses_cut_offset(tmp_path):
    rec = Recording("rec1", [AudioSource("file", [0], "/nonexistent.wav")], sampling_rate=16000,
                    num_samples=48000, duration=3.0)
    # the cut starts 0.25 s into the recording; its supervision starts 0.25 s into the cut
    sup = SupervisionSegment("rec1-0", "rec1", start=0.25, duration=1.5, text="Hello, world!")
    cuts = CutSet.from_cuts([MonoCut("c1", start=0.25, duration=2.0, channel=0, recording=rec, supervisions=[sup])])
    a = _utt()
    E.add_to_cuts([a], cuts).to_file(tmp_path / "cuts.jsonl.gz")
    (back,) = E.load_alignments(tmp_path / "cuts.jsonl.gz")
    _assert_close(back, a)
    assert back.start == 0.5
    with pytest.raises(ValueError, match="no supervision in the cuts"):
        E.add_to_cuts([_utt("nope")], cuts)


def test_load_alignments_errors_and_read_text(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        E.load_alignments(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no alignments found"):
        E.load_alignments(tmp_path / "empty")
    E.write_json(_utt(), tmp_path / "d" / "x.json")
    E.write_json([_utt()], tmp_path / "d" / "y.json")
    with pytest.raises(ValueError, match="'rec1-0' appears twice"):
        E.load_alignments(tmp_path / "d")
    (tmp_path / "text").write_text("u1 hello   world\nu2\n\n")
    assert E.read_text(tmp_path / "text") == {"u1": "hello world", "u2": ""}


def test_a_directory_tree_loads_as_align_dir_names_its_files(tmp_path):
    """Corpus layout (spk/utt.TextGrid) and align-dir's output (spk/utt.json beside spk/utt.TextGrid):
    the same ids, ``spk/utt``, and one alignment per file pair."""
    a = _utt("spk1/u1", start=0.0)
    E.write_textgrid(a, (tmp_path / "refs" / "spk1").mkdir(parents=True) or tmp_path / "refs" / "spk1" / "u1.TextGrid")
    (ref,) = E.load_alignments(tmp_path / "refs")
    assert ref.utterance_id == "spk1/u1" and [w.symbol for w in ref.words] == ["hello", "world"]
    out = tmp_path / "hyp" / "spk1"
    out.mkdir(parents=True)
    E.write_json(a, out / "u1.json")
    E.write_textgrid(a, out / "u1.TextGrid")
    assert E.load_alignments(tmp_path / "hyp") == [a]
