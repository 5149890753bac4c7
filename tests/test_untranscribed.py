"""Transcripts that do not cover the audio (issue 15): the garbage path of the ``untranscribed`` option.

The graph operation against brute-force enumeration, the option off as before, and the shipped
model on its example with 3 s of speech it does not transcribe (the example reversed in time)
before, after and inside it: words within 50 ms of the reference, the untranscribed span within
100 ms of the extra speech (docs/alignment.md, "Transcripts that do not cover the audio")."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from reference import brute_viterbi, enumerate_paths, path_scores
from fsttopo import resources
from fsttopo.aligner import Aligner, compute_features
from fsttopo.data.alignment import TimedToken, UtteranceAlignment
from fsttopo.data.export import (alignment_from_dict, alignment_to_dict, read_json, read_textgrid, write_json,
                                 write_textgrid)
from fsttopo.engine import state_posteriors, viterbi
from fsttopo.inference.garbage import (frame_runs, garbage_scores, garbage_state_mask, path_garbage_frames,
                                       posterior_garbage_frames)
from fsttopo.scoring import word_boundary_errors
from fsttopo.topology import AnyLabels, Transitions, build_graphs, with_garbage, word_start_tokens

TOPOLOGY_CASES = ["ctc", "ctc-no-forced-blank", "hmm"]
EXTRA = 3.0  # seconds of untranscribed speech


def _graphs(topology: str, words, min_inner_frames: int = 1):
    transitions = Transitions() if topology == "hmm" else None
    plain = build_graphs(words, topology, 3, transitions)
    return plain, with_garbage(plain, 3, word_start_tokens(words), min_inner_frames)


@pytest.mark.parametrize("topology", TOPOLOGY_CASES)
def test_garbage_graph_best_path_is_the_brute_force_one(topology):
    words = [[[1], [2]]]
    _, graphs = _graphs(topology, words)
    for seed in range(4):
        torch.manual_seed(seed)
        scores = garbage_scores(torch.randn(1, 4, 3).log_softmax(-1), penalty=0.5)  # [1, 4, V + 1]
        best, labels = brute_viterbi(graphs[0], scores[0])
        result = viterbi(scores, torch.tensor([4]), graphs)
        assert float(result.scores[0]) == pytest.approx(best, abs=1e-4)
        assert result.labels[0].tolist() == labels


@pytest.mark.parametrize("topology", TOPOLOGY_CASES)
def test_paths_without_garbage_are_the_original_ones(topology):
    words = [[[1], [2]]]
    plain, graphs = _graphs(topology, words)
    scores = torch.randn(6, 4).log_softmax(-1)
    def labelled(fsa):
        return sorted((tuple(labels), round(score, 5)) for score, labels in path_scores(fsa, scores))
    with_g = labelled(graphs[0])
    assert [p for p in with_g if 3 not in p[0]] == labelled(plain[0])
    assert any(3 in p[0] for p in with_g)


@pytest.mark.parametrize("topology", TOPOLOGY_CASES)
def test_garbage_graph_keeps_the_invariants(topology):
    words = [[[1, 2], AnyLabels((1, 2), 2), [2]]]
    _, graphs = _graphs(topology, words, min_inner_frames=2)
    fsa = graphs[0]
    src, dst, lab = fsa.arcs.T
    assert torch.equal(src, src.sort(stable=True).values) and bool((src <= dst).all())
    assert bool((lab[dst == fsa.final_state] == -1).all()) and bool((dst[lab == -1] == fsa.final_state).all())
    garbage = lab == 3
    for name in ("token", "word") if topology == "hmm" else ("token",):
        assert bool((fsa.aux[name][garbage] == -1).all())
    # garbage at the start, at the end and before each word after the first, never inside one
    runs = []
    for arcs, _ in enumerate_paths(fsa, 7):
        labels = lab[arcs].tolist()
        tokens = fsa.aux["token"][arcs].tolist()
        for s, e in frame_runs(torch.tensor([labels]) == 3, [7])[0]:
            before = max([t for t in tokens[:s] if t >= 0], default=None)
            after = min([t for t in tokens[e:] if t >= 0], default=None)
            runs.append((before, after, e - s))
    inner = [(b, a, n) for b, a, n in runs if b is not None and a is not None]
    assert {(b, a) for b, a, _ in inner} == {(1, 2), (2, 3)}  # word starts: tokens 2 and 3
    assert min(n for _, _, n in inner) == 2  # min_inner_frames
    assert {a for b, a, _ in runs if b is None} == {0} and {b for b, a, _ in runs if a is None} == {3}


def test_garbage_frames_of_paths_and_posteriors():
    words = [[[1], [2]]]
    _, graphs = _graphs("ctc", words)
    # [1, T=4, V+1=4]: frames 0-1 fit only the garbage label, frames 2 and 3 the words
    scores = torch.tensor([[[-9.0, -9.0, -9.0, -0.1]] * 2 + [[-5.0, -0.1, -5.0, -5.0], [-5.0, -5.0, -0.1, -5.0]]])
    path = viterbi(scores, torch.tensor([4]), graphs)
    assert path_garbage_frames(path.labels, 3).tolist() == [[True, True, False, False]]
    occupancy = state_posteriors(scores, torch.tensor([4]), graphs)
    assert posterior_garbage_frames(occupancy, graphs, 3).tolist() == [[True, True, False, False]]
    assert int(garbage_state_mask(graphs, 3, occupancy.shape[2]).sum()) == 3  # at the start, between, at the end


def test_garbage_scores_column():
    scores = torch.tensor([[[0.0, -1.0, -3.0], [-0.5, -2.0, -0.7]]])
    out = garbage_scores(scores, penalty=2.0)
    assert out.shape == (1, 2, 4) and torch.equal(out[..., :3], scores)
    assert out[0, :, 3].tolist() == pytest.approx([-3.0, -2.7])
    with pytest.raises(ValueError, match="garbage_penalty"):
        garbage_scores(scores, penalty=-1.0)


def test_frame_runs():
    mask = torch.tensor([[True, True, False, True], [False, True, True, True]])
    assert frame_runs(mask, [4, 3]) == [[(0, 2), (3, 4)], [(1, 3)]]


# ---------------------------------------------------------------------------------- output


def _alignment() -> UtteranceAlignment:
    return UtteranceAlignment("u", "a b", 6.0, [TimedToken("a", 3.2, 3.5), TimedToken("b", 3.5, 4.0)],
                              [TimedToken("AH", 3.2, 3.5)], untranscribed=[(0.0, 3.1), (4.5, 6.0)])


def test_untranscribed_json_and_textgrid_round_trip(tmp_path):
    ali = _alignment()
    assert alignment_from_dict(json.loads(json.dumps(alignment_to_dict(ali)))).untranscribed == ali.untranscribed
    assert read_json(write_json([ali], tmp_path / "a.json"))[0] == ali
    assert read_textgrid(write_textgrid(ali, tmp_path / "u.TextGrid")).untranscribed == ali.untranscribed
    plain = UtteranceAlignment("u", "a", 1.0, [TimedToken("a", 0.2, 0.5)])
    assert "untranscribed" not in alignment_to_dict(plain)
    assert read_textgrid(write_textgrid(plain, tmp_path / "p.TextGrid")).untranscribed == []


def test_untranscribed_spans_are_checked():
    with pytest.raises(ValueError, match="untranscribed"):
        UtteranceAlignment("u", "a", 6.0, [TimedToken("a", 0.2, 0.5)], untranscribed=[(2.0, 3.0), (1.0, 1.5)])
    with pytest.raises(ValueError, match="untranscribed"):
        alignment_from_dict({"utterance_id": "u", "text": "", "duration": 1.0, "words": [], "untranscribed": [1.0]})


# ------------------------------------------------------------------------ the shipped model


@pytest.fixture(scope="module")
def aligner():
    return Aligner.from_file(resources.default_model_path())


@pytest.fixture(scope="module")
def example():
    wav, txt, ref = resources.example_paths()
    audio, sr = sf.read(wav)
    return audio, sr, txt.read_text().strip(), read_json(ref)[0]


def _extra_speech(audio: np.ndarray, sr: int) -> np.ndarray:
    """3 s of the example reversed in time, from its first loud sample (speech the transcript lacks)."""
    reversed_ = audio[::-1]
    first = int(np.argmax(np.abs(reversed_) > 0.05 * np.abs(reversed_).max()))
    return reversed_[first:first + int(EXTRA * sr)].copy()


def _align(aligner, audio, sr, text, **options) -> UtteranceAlignment:
    features = compute_features(torch.tensor(audio, dtype=torch.float32), sampling_rate=sr)
    return aligner.align([features], [text], **options).alignments[0]


def _moved(ref: UtteranceAlignment, shift: float, first: int = 0) -> UtteranceAlignment:
    words = [TimedToken(w.symbol, w.start + shift * (i >= first), w.end + shift * (i >= first))
             for i, w in enumerate(ref.words)]
    return UtteranceAlignment(ref.utterance_id, ref.text, ref.duration + shift, words)


def _covers(spans, start: float, end: float, tolerance: float = 0.1) -> bool:
    return any(abs(s - start) <= tolerance and abs(e - end) <= tolerance for s, e in spans)


def test_clean_example_is_unchanged(aligner, example):
    audio, sr, text, ref = example
    off = _align(aligner, audio, sr, text)
    assert off.untranscribed == [] and _align(aligner, audio, sr, text, untranscribed=False) == off
    for mode in ("edges", "anywhere"):
        on = _align(aligner, audio, sr, text, untranscribed=mode)
        assert on.untranscribed == []
        mean = {k: np.mean(word_boundary_errors(a, ref)) for k, a in (("off", off), ("on", on))}
        assert abs(mean["on"] - mean["off"]) <= 1.0, (mode, mean)


@pytest.mark.parametrize("pause_edges_db", [None, 30.0])
@pytest.mark.parametrize("where", ["before", "after", "middle"])
def test_speech_outside_the_transcript_goes_to_untranscribed(aligner, example, where, pause_edges_db):
    # the gap around untranscribed speech is no pause: with pause_edges_db the word after the
    # speech in the middle was moved onto an energy step inside it (102 ms off; now 45.6 ms)
    audio, sr, text, ref = example
    extra = _extra_speech(audio, sr)
    cut = {"before": 0, "after": len(audio), "middle": int(round(ref.words[8].end * sr))}[where]  # after "her"
    first_moved = {"before": 0, "after": len(ref.words), "middle": 9}[where]
    mode = "anywhere" if where == "middle" else "edges"
    ali = _align(aligner, np.concatenate([audio[:cut], extra, audio[cut:]]), sr, text, untranscribed=mode,
                 pause_edges_db=pause_edges_db)
    errors = [e for pair in word_boundary_errors(ali, _moved(ref, EXTRA, first_moved)) for e in pair]
    assert max(errors) <= 50.0, max(errors)
    assert _covers(ali.untranscribed, cut / sr, cut / sr + EXTRA), ali.untranscribed


def test_cli_prints_the_untranscribed_audio(example, tmp_path, capsys):
    from fsttopo import cli

    audio, sr, text, _ = example
    wav = tmp_path / "before.wav"
    sf.write(wav, np.concatenate([_extra_speech(audio, sr), audio]), sr)
    cli.main(["align", str(wav), "--text", text, "--out", str(tmp_path / "out"), "--no-plot", "--untranscribed",
              "--method", "viterbi", "--phases", "1"])
    printed = capsys.readouterr().out
    assert "untranscribed audio at 0.00-" in printed and "the transcript does not cover it" in printed
    assert read_json(tmp_path / "out" / "before.json")[0].untranscribed
    assert "untranscribed" in (tmp_path / "out" / "before.TextGrid").read_text()


# ----------------------------------------------------------------------------------- errors


def test_untranscribed_errors(aligner):
    features = [torch.zeros(300, aligner.model.config.num_features)]
    with pytest.raises(ValueError, match="untranscribed works with the viterbi and posterior methods"):
        aligner.align(features, ["you know"], method="gradscore", phases=1, untranscribed=True)
    with pytest.raises(ValueError, match="garbage_penalty"):
        aligner.align(features, ["you know"], untranscribed=True, garbage_penalty=-1.0)
    with pytest.raises(ValueError, match="untranscribed must be false, true or one of"):
        aligner.align(features, ["you know"], untranscribed="yes")
    with pytest.raises(ValueError, match="not supported"):
        aligner.align([torch.zeros(6100, aligner.model.config.num_features)], ["you know"], untranscribed=True)
    with pytest.raises(ValueError, match="min_inner_frames"):
        with_garbage(build_graphs([[[1]]], "ctc", 3), 3, [[]], min_inner_frames=0)
