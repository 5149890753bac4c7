"""Words of unknown pronunciation: the AnyLabels garbage word of hmm_graph and ctc_graph, checked
against brute force over every label sequence it stands for, and its use by the aligner
(oov="phone-loop")."""

import itertools
from pathlib import Path

import pytest
import torch

from fsttopo.resources import EXAMPLE_DIR
from fsttopo import expected_segments, path_segments, state_posteriors, viterbi
from fsttopo.topology import AnyLabels, Transitions, build_graphs, ctc_graph, hmm_graph

TRANSITIONS = Transitions(0.6, 0.4, 0.9, 0.1)


@pytest.mark.parametrize("seed", range(3))
def test_any_labels_word_is_the_best_of_every_label_sequence(seed):
    g = torch.Generator().manual_seed(seed)
    log_probs = torch.randn(1, 7, 4, generator=g, dtype=torch.float64).mul(2).log_softmax(-1)
    unknown = AnyLabels(labels=(1, 2, 3), max_labels=3)
    graph = hmm_graph([[[2], unknown, [1, 3]]], silence=0, transitions=TRANSITIONS, num_classes=4)
    got = viterbi(log_probs, [7], graph, transition_scale=0.7)
    seqs = [list(s) for n in (1, 2, 3) for s in itertools.product((1, 2, 3), repeat=n)]
    graphs = hmm_graph([[[2], s, [1, 3]] for s in seqs], silence=0, transitions=TRANSITIONS, num_classes=4)
    brute = viterbi(log_probs.expand(len(seqs), -1, -1), [7] * len(seqs), graphs, transition_scale=0.7,
                    allow_infeasible=True)
    best = int(brute.scores.argmax())
    assert float(got.scores[0]) == pytest.approx(float(brute.scores.max()), abs=1e-6)
    assert got.labels[0].tolist() == brute.labels[best].tolist()
    # the unknown word is one token (position 1) and one word (index 1)
    tokens = path_segments(got, graph, "token")[0]
    words = path_segments(got, graph, "word")[0]
    assert [s.index for s in tokens] == [0, 1, 2, 3] and [s.index for s in words] == [0, 1, 2]
    assert (tokens[1].start, tokens[1].end) == (words[1].start, words[1].end)


def test_expected_segments_of_an_any_labels_word_sum_the_paths():
    g = torch.Generator().manual_seed(5)
    log_probs = torch.randn(1, 6, 3, generator=g, dtype=torch.float64).log_softmax(-1)
    graph = hmm_graph([[[1], AnyLabels((1, 2), 2)]], silence=0, num_classes=3)
    occ = state_posteriors(log_probs, [6], graph)
    segs = expected_segments(occ, graph, "word")[0]
    # brute force: every path of the graph with its probability
    fsa = graph[0]
    arcs = fsa.arcs.tolist()
    out = {}
    for src, dst, lab in arcs:
        out.setdefault(src, []).append((dst, lab))
    final = fsa.num_states - 1
    paths = [([0], 0.0)]
    for t in range(6):
        paths = [(p + [d], lp + float(log_probs[0, t, lab])) for p, lp in paths for d, lab in out.get(p[-1], [])
                 if lab >= 0]
    paths = [(p, lp) for p, lp in paths if any(d == final for d, lab in out.get(p[-1], []))]
    total = torch.logsumexp(torch.tensor([lp for _, lp in paths]), 0)
    word_of = {}
    for (src, dst, lab), w in zip(arcs, fsa.aux["word"].tolist()):
        word_of[dst] = w
    for k in range(2):
        start = sum(float(torch.exp(torch.tensor(lp) - total)) * next(t for t, s in enumerate(p[1:]) if word_of[s] == k)
                    for p, lp in paths)
        end = sum(float(torch.exp(torch.tensor(lp) - total)) * (1 + max(t for t, s in enumerate(p[1:]) if word_of[s] == k))
                  for p, lp in paths)
        assert segs[k].start == pytest.approx(start, abs=1e-6) and segs[k].end == pytest.approx(end, abs=1e-6)


@pytest.mark.parametrize("forced_blank", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_ctc_any_labels_is_the_best_of_every_label_sequence(forced_blank, seed):
    g = torch.Generator().manual_seed(seed)
    log_probs = torch.randn(1, 8, 4, generator=g, dtype=torch.float64).mul(2).log_softmax(-1)
    unknown = AnyLabels(labels=(1, 2, 3), max_labels=3)
    graph = ctc_graph([[2, unknown, 2]], forced_blank=forced_blank, num_classes=4)
    got = viterbi(log_probs, [8], graph)
    seqs = [list(s) for n in (1, 2, 3) for s in itertools.product((1, 2, 3), repeat=n)]
    graphs = ctc_graph([[2, *s, 2] for s in seqs], forced_blank=forced_blank, num_classes=4)
    brute = viterbi(log_probs.expand(len(seqs), -1, -1), [8] * len(seqs), graphs, allow_infeasible=True)
    best = int(brute.scores.argmax())
    assert float(got.scores[0]) == pytest.approx(float(brute.scores.max()), abs=1e-9)
    assert got.labels[0].tolist() == brute.labels[best].tolist()
    assert {s.index for s in path_segments(got, graph, "token")[0]} <= {0, 1, 2}


def test_any_labels_errors():
    with pytest.raises(ValueError, match="max_labels"):
        AnyLabels((1,), 0)
    with pytest.raises(ValueError, match="silence"):
        hmm_graph([[AnyLabels((0, 1), 2)]], silence=0)
    with pytest.raises(ValueError, match="blank"):
        ctc_graph([[AnyLabels((0, 1), 2)]])
    with pytest.raises(ValueError, match="out of range"):
        build_graphs([[[1], AnyLabels((1, 5), 2)]], "ctc", 3)


EXAMPLE = EXAMPLE_DIR


def test_shipped_aligner_places_an_unknown_word_where_the_known_one_was(tmp_path):
    from fsttopo import cli
    from fsttopo.aligner import UNKNOWN_PHONE
    from fsttopo.data.export import read_json

    wav = next(EXAMPLE.glob("*.wav"))
    transcript = wav.with_suffix(".txt").read_text().strip()
    respelled = " ".join("zorblax" if w == "year" else w for w in transcript.split())
    with pytest.raises(SystemExit, match="'zorblax'"):
        cli.main(["align", str(wav), "--text", respelled, "--out", str(tmp_path / "a"), "--no-plot", "--oov", "error"])
    cli.main(["align", str(wav), "--text", respelled, "--out", str(tmp_path / "b"), "--no-plot", "--oov", "phone-loop"])
    cli.main(["align", str(wav), "--text", transcript, "--out", str(tmp_path / "c"), "--no-plot"])
    ours = read_json(tmp_path / "b" / f"{wav.stem}.json")[0]
    known = read_json(tmp_path / "c" / f"{wav.stem}.json")[0]
    ref = read_json(wav.with_suffix(".json"))[0]
    assert [w.symbol for w in ours.words] == respelled.split()
    k = transcript.split().index("year")
    assert [p.symbol for p in ours.phones].count(UNKNOWN_PHONE) == 1
    # the garbage word takes the real word's place: it overlaps the reference word's span (measured:
    # 99 ms early, 55 ms late, overlap/union 0.68 with the fixed training prior and the options re-tuned
    # on dev for it, issue 12; 0.82 with the batch prior: a phone loop is freer than the word's phones,
    # and the stronger silence penalty lets it take part of the short "the" before it)
    a, b = ours.words[k], ref.words[k]
    overlap = min(a.end, b.end) - max(a.start, b.start)
    assert overlap / (max(a.end, b.end) - min(a.start, b.start)) >= 0.65
    # the change is local: words more than 3 positions away keep their boundaries (measured: the
    # three words before move by 8-23 ms, the short "of" after it loses 65 ms to the phone loop)
    moved = [i for i, (a, b) in enumerate(zip(ours.words, known.words))
             if max(abs(a.start - b.start), abs(a.end - b.end)) > 1e-3]
    assert all(abs(i - k) <= 3 for i in moved), moved
    cli.main(["align", str(wav), "--text", respelled, "--out", str(tmp_path / "d"), "--oov", "phone-loop", "--no-plot",
              "--topology", "ctc", "--method", "viterbi"])
    assert [w.symbol for w in read_json(tmp_path / "d" / f"{wav.stem}.json")[0].words] == respelled.split()
    with pytest.raises(SystemExit, match="viterbi and posterior"):
        cli.main(["align", str(wav), "--text", respelled, "--out", str(tmp_path / "e"), "--oov", "phone-loop",
                  "--method", "gradscore", "--phases", "1"])


def test_align_dir_with_phone_loop_aligns_unknown_words(tmp_path, capsys):
    import shutil

    from fsttopo import cli
    from fsttopo.data.export import read_json

    wav = next(EXAMPLE.glob("*.wav"))
    words = wav.with_suffix(".txt").read_text().split()
    (tmp_path / "in").mkdir()
    shutil.copy(wav, tmp_path / "in" / "x.wav")
    (tmp_path / "in" / "x.txt").write_text(" ".join("zorblax" if w == "year" else w for w in words))
    with pytest.raises(SystemExit) as exit_:  # x.wav is listed as failed, the run goes on
        cli.main(["align-dir", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--oov", "error"])
    assert exit_.value.code == 3
    assert "x.wav\tunknown-words\t1 word(s) of x.txt not in the lexicon: 'zorblax'" in \
        (tmp_path / "out" / "failed.tsv").read_text()
    cli.main(["align-dir", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--oov", "phone-loop"])
    assert "zorblax" in [w.symbol for w in read_json(tmp_path / "out" / "x.json")[0].words]


def _example():
    from fsttopo.aligner import Aligner, compute_features

    wav = next(EXAMPLE.glob("*.wav"))
    model = EXAMPLE.parent / "model" / "model.pt"
    return Aligner.from_file(model), compute_features(wav), wav.with_suffix(".txt").read_text().strip()


RESPELLED = {"leave": "leeve", "year": "yeer", "time": "tyme"}  # outside CMUdict; the G2P gives CMUdict's phones


def test_oov_modes_through_the_aligner():
    from fsttopo.data.alignment import Pronunciation

    aligner, feats, transcript = _example()
    respelled = " ".join(RESPELLED.get(w, w) for w in transcript.split())
    known = aligner.align([feats], [transcript], method="viterbi").alignments[0]
    guessed = aligner.align([feats], [respelled], method="viterbi").alignments[0]  # oov="g2p" is the default
    # the G2P's phones equal the lexicon's for these spellings: the same graph, the same boundaries
    assert [w.symbol for w in guessed.words] == respelled.split()
    assert [(w.start, w.end) for w in guessed.words] == [(w.start, w.end) for w in known.words]
    assert [p.symbol for p in guessed.phones] == [p.symbol for p in known.phones]
    assert guessed.pronunciations == {
        "leeve": Pronunciation("g2p", ("l", "iy", "v")), "yeer": Pronunciation("g2p", ("y", "ih", "r")),
        "tyme": Pronunciation("g2p", ("t", "ay", "m"))}
    assert known.pronunciations == {}
    with pytest.raises(ValueError, match="3 word\\(s\\) not in the lexicon.*'tyme', 'leeve', 'yeer'"):
        aligner.align([feats], [respelled], oov="error")
    loop = aligner.align([feats], [respelled], method="posterior", oov="phone-loop").alignments[0]
    assert loop.pronunciations == {w: Pronunciation("phone-loop") for w in ("tyme", "leeve", "yeer")}
    with pytest.raises(ValueError, match="oov must be one of"):
        aligner.align([feats], [respelled], oov="guess")
    # gradient methods take the G2P's phones too
    grad = aligner.align([feats], [respelled], method="gradscore", phases=1).alignments[0]
    assert grad.pronunciations == guessed.pronunciations


def test_the_json_names_the_pronunciation_used(tmp_path):
    import json

    from fsttopo import cli
    from fsttopo.data.export import read_json

    wav = next(EXAMPLE.glob("*.wav"))
    respelled = " ".join("bownd" if w == "bound" else w for w in wav.with_suffix(".txt").read_text().split())
    cli.main(["align", str(wav), "--text", respelled, "--out", str(tmp_path), "--no-plot"])
    raw = json.loads((tmp_path / f"{wav.stem}.json").read_text())
    assert raw["pronunciations"] == {"bownd": {"source": "g2p", "phones": ["b", "ow", "n", "d"]}}
    ali = read_json(tmp_path / f"{wav.stem}.json")[0]
    assert ali.pronunciations["bownd"].phones == ("b", "ow", "n", "d")
    assert "bownd" in [w.symbol for w in ali.words]


LABELS = tuple(range(1, 40))  # the 39 phones


@pytest.mark.parametrize("topology", ["hmm", "ctc"])
def test_phone_loop_graphs_grow_linearly_with_the_unknown_words(topology):
    """No state has more than about two labels' worth of entering arcs, however many slots and words
    (the engine's frame-sized tables are states x that in-degree), and states and arcs add up per word."""
    import torch

    from fsttopo.engine.dense_graph import compile_graph

    sizes = {}
    for count in (1, 2, 40):
        words = [[[3, 4]] + [AnyLabels(LABELS, 10)] * count]  # consecutive unknown words: the widest fans
        graphs = build_graphs(words, topology, 40, TRANSITIONS if topology == "hmm" else None)
        dense = compile_graph(graphs, torch.device("cpu"))
        assert dense.in_src.shape[2] <= 2 * len(LABELS) + 2
        sizes[count] = (int(graphs.num_states[0]), graphs.arcs.shape[0])
    per_word = [sizes[2][i] - sizes[1][i] for i in range(2)]
    assert [sizes[40][i] - sizes[1][i] for i in range(2)] == [39 * x for x in per_word]
    states, arcs = per_word
    assert states == 39 * 10 + (1 if topology == "hmm" else 10)  # the slots, the silence or blanks
    assert arcs <= 3 * 39 * 39 * 10  # slot to slot, into every slot from the word before, self-loops


_FORTY_WORDS = """
import random, resource, sys
from pathlib import Path
from fsttopo.aligner import Aligner, compute_features
from fsttopo.data.pronounce import pronounce_transcript
aligner = Aligner.from_file(Path(sys.argv[1]) / "model" / "model.pt")
feats = compute_features(next((Path(sys.argv[1]) / "example").glob("*.wav")))
rng = random.Random(0)
words = []
while len(words) < 40:  # made-up words of 7 letters (9 phone slots each)
    word = "".join(rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou") for _ in range(3)) + "x"
    if word not in aligner.lexicon:
        words.append(word)
aligner.align([feats], ["the cat"], method="posterior")  # compile the kernels before measuring
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for method in ("viterbi", "posterior"):
    out = aligner.align([feats], [" ".join(words)], method=method, oov="phone-loop").alignments[0]
    assert [w.symbol for w in out.words] == words
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
"""


def test_forty_unknown_words_align_in_bounded_memory():
    """The issue's case: 40 unknown words in one utterance with oov='phone-loop' once tried to allocate
    25.6 GB. Measured in a fresh process (peak resident memory, which includes torch's allocations,
    unlike tracemalloc): about 350 MB above the model's own peak for both methods (1.5 GB when the
    posteriors took one table entry per arc slot and frame)."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", _FORTY_WORDS, str(EXAMPLE.parent)], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent, check=True)
    assert float(run.stdout.split()[-1]) < 600


def test_pronounce_transcript_sources():
    from fsttopo.data.lexicon import Lexicon
    from fsttopo.data.pronounce import pronounce_transcript

    lexicon = Lexicon.from_cmudict()
    out = pronounce_transcript(lexicon, "Dr. Zorblax's x-ray, a half-life!")
    assert out.text == "doctor Zorblax's x-ray a half life"
    assert [w.source for w in out.words] == ["lexicon", "g2p", "lexicon", "lexicon", "lexicon", "lexicon"]
    assert out.words[2].phones == tuple(lexicon.pronounce("x-ray"))  # CMUdict's hyphenated entry, whole
    assert list(out)[0] == [lexicon.token_id(p) for p in lexicon.pronounce("doctor")]
    assert list(out.pronunciations) == ["Zorblax's"]
    loop = pronounce_transcript(lexicon, "the zorblaxification", oov="phone-loop")
    assert loop[1] == AnyLabels(tuple(range(1, 40)), 10)  # 18 letters + 2, capped
    with pytest.raises(ValueError, match="2 word\\(s\\) not in the lexicon.*'qqzx', 'zorblax'.*oov='g2p'"):
        pronounce_transcript(lexicon, "qqzx the zorblax qqzx", oov="error")
    with pytest.raises(ValueError, match="'#': it has no letters"):
        pronounce_transcript(lexicon, "#", oov="g2p")
    with pytest.raises(ValueError, match="oov must be one of"):
        pronounce_transcript(lexicon, "the cat", oov="skip")
    with pytest.raises(ValueError, match="text has no words"):
        pronounce_transcript(lexicon, " -- ")


def test_pronunciations_json_round_trip_and_errors():
    from fsttopo.data.alignment import Pronunciation, TimedToken, UtteranceAlignment
    from fsttopo.data.export import alignment_from_dict, alignment_to_dict

    ali = UtteranceAlignment("u", "tyme zorblax", 1.0, [TimedToken("tyme", 0.0, 0.5), TimedToken("zorblax", 0.5, 1.0)],
                             pronunciations={"tyme": Pronunciation("g2p", ("t", "ay", "m")),
                                             "zorblax": Pronunciation("phone-loop")})
    data = alignment_to_dict(ali)
    assert data["pronunciations"] == {"tyme": {"source": "g2p", "phones": ["t", "ay", "m"]},
                                      "zorblax": {"source": "phone-loop", "phones": []}}
    assert alignment_from_dict(data) == ali
    assert "pronunciations" not in alignment_to_dict(UtteranceAlignment("u", "a", 1.0, [TimedToken("a", 0, 1)]))
    with pytest.raises(ValueError, match="pronunciations need 'source' and 'phones'"):
        alignment_from_dict({**data, "pronunciations": {"tyme": ["t"]}})
    with pytest.raises(ValueError, match="source must be one of"):
        Pronunciation("guess", ("t",))
    with pytest.raises(ValueError, match="a g2p pronunciation must not be empty"):
        Pronunciation("g2p")
