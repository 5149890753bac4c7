"""Words with several pronunciations: the Alternatives word of hmm_graph and ctc_graph checked
against brute force over every combination of pronunciations, the choice among them
(fsttopo.inference.pronunciation_choice), the lexicon's variants and their use by the aligner."""

import itertools
from pathlib import Path

import pytest
import torch

from fsttopo import full_sum, path_segments, viterbi
from fsttopo.data.dictionary import DictionaryEntry
from fsttopo.data.lexicon import Lexicon
from fsttopo.data.pronounce import pronounce_transcript
from fsttopo.inference.pronunciation_choice import choose_pronunciations
from fsttopo.topology import Alternatives, Transitions, build_graphs, ctc_graph, hmm_graph, word_size

TRANSITIONS = Transitions(0.6, 0.4, 0.9, 0.1)
WORDS = [[2], Alternatives(((1, 3), (3,), (2, 2, 1))), [1], Alternatives(((3, 1), (1, 2)))]
HELD_OUT = Path(__file__).parent / "data" / "held_out"


def _combinations(words):
    options = [w.sequences if isinstance(w, Alternatives) else (tuple(w),) for w in words]
    return [[list(seq) for seq in combo] for combo in itertools.product(*options)]


@pytest.mark.parametrize("topology", ["hmm", "ctc", "ctc-no-forced-blank"])
@pytest.mark.parametrize("seed", range(3))
def test_alternatives_are_the_union_of_every_combination(topology, seed):
    """The full sum over the graph equals the log-sum over the graphs of each combination (each
    path counted once), and the best path is the best of theirs."""
    g = torch.Generator().manual_seed(seed)
    T = 12
    log_probs = torch.randn(1, T, 4, generator=g, dtype=torch.float64).mul(2).log_softmax(-1)
    transitions = TRANSITIONS if topology == "hmm" else None
    scale = 0.7 if topology == "hmm" else 0.0
    graph = build_graphs([WORDS], topology, 4, transitions)
    combos = _combinations(WORDS)
    plain = build_graphs(combos, topology, 4, transitions)
    lp = log_probs.expand(len(combos), -1, -1)
    total = full_sum(log_probs, [T], graph, transition_scale=scale)
    each = full_sum(lp, [T] * len(combos), plain, transition_scale=scale)
    assert float(total[0]) == pytest.approx(float(torch.logsumexp(each, 0)), abs=1e-9)
    got = viterbi(log_probs, [T], graph, transition_scale=scale)
    brute = viterbi(lp, [T] * len(combos), plain, transition_scale=scale, allow_infeasible=True)
    best = int(brute.scores.argmax())
    assert float(got.scores[0]) == pytest.approx(float(brute.scores.max()), abs=1e-9)
    assert got.labels[0].tolist() == brute.labels[best].tolist()
    # the tokens visited tell the combination: each word's positions count every sequence in turn
    visited = {s.index for s in path_segments(got, graph, "token")[0]}
    first, chosen = 0, []
    for word in WORDS:
        inside = sorted(t - first for t in visited if first <= t < first + word_size(word))
        chosen.append(list(word.sequences[word.taken(inside[0])]) if isinstance(word, Alternatives) else word)
        assert inside  # every word is on the path
        first += word_size(word)
    assert chosen == combos[best]


def test_alternatives_errors_and_positions():
    with pytest.raises(ValueError, match="non-empty"):
        Alternatives(())
    with pytest.raises(ValueError, match="non-empty"):
        Alternatives(((1,), ()))
    with pytest.raises(ValueError, match="silence"):
        hmm_graph([[Alternatives(((1,), (0, 2)))]], silence=0)
    with pytest.raises(ValueError, match="blank"):
        ctc_graph([[Alternatives(((1,), (0, 2)))]])
    with pytest.raises(ValueError, match="out of range"):
        build_graphs([[[1], Alternatives(((1,), (5,)))]], "hmm", 3)
    word = Alternatives(((1, 2), (3,), (1, 1, 2)))
    assert word.size == 6 and [word.taken(t) for t in range(6)] == [0, 0, 1, 2, 2, 2]
    with pytest.raises(ValueError, match="outside"):
        word.taken(6)


def _transcripts(lexicon, texts):
    return [pronounce_transcript(lexicon, t, variants=True) for t in texts]


@pytest.mark.parametrize("penalty", [0.0, 3.0])
def test_choice_is_the_best_combination_whatever_the_batch(penalty):
    lexicon = Lexicon.from_entries({"the": [DictionaryEntry(("dh", "ah")), DictionaryEntry(("dh", "iy"))],
                                    "cat": [DictionaryEntry(("k", "ae", "t"))]})
    ids = {p: lexicon.token_id(p) for p in lexicon.phones}
    T = 10
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(3, T, lexicon.num_tokens, generator=g, dtype=torch.float64).log_softmax(-1)
    scores[0, 2:5, ids["iy"]] += 6.0  # utterance 0 says "dh iy" ...
    scores[1, 2:5, ids["ah"]] += 6.0  # ... utterance 1 "dh ah"
    texts = ["the cat", "the cat", "cat the"]
    chosen = choose_pronunciations(scores, torch.tensor([T, T, 8]), _transcripts(lexicon, texts), "hmm",
                                   variant_penalty=penalty)
    for b, (text, out) in enumerate(zip(texts, chosen)):
        assert not out.has_variants
        combos = {"the": [("dh", "ah"), ("dh", "iy")], "cat": [("k", "ae", "t")]}
        options = list(itertools.product(*[combos[w] for w in text.split()]))
        plain = build_graphs([[[ids[p] for p in seq] for seq in combo] for combo in options], "hmm", lexicon.num_tokens)
        length = [T, T, 8][b]
        cost = torch.tensor([penalty * sum(seq == ("dh", "iy") for seq in combo) for combo in options])
        best = viterbi(scores[b:b + 1].expand(len(options), -1, -1), [length] * len(options), plain).scores - cost
        assert [w.phones for w in out.words] == list(options[int(best.argmax())])
        alone = choose_pronunciations(scores[b:b + 1, :length], torch.tensor([length]),
                                      _transcripts(lexicon, [text]), "hmm", variant_penalty=penalty)[0]
        assert [w.phones for w in alone.words] == [w.phones for w in out.words]
    assert chosen[0].words[0].phones == ("dh", "iy") and chosen[1].words[0].phones == ("dh", "ah")


def test_cmudict_variants_and_replaced_words():
    lexicon = Lexicon.from_cmudict()
    assert [e.phones for e in lexicon.pronunciations("the")] == [("dh", "ah"), ("dh", "iy")]
    assert [e.phones for e in lexicon.pronunciations("To")] == [("t", "uw"), ("t", "ih"), ("t", "ah")]
    assert [e.phones for e in lexicon.pronunciations("cat")] == [("k", "ae", "t")]
    own = Lexicon.from_cmudict({"the": ["dh", "iy"]})
    assert [e.phones for e in own.pronunciations("the")] == [("dh", "iy")]
    added = lexicon.with_words({"to": ["t", "ah"]})
    assert [e.phones for e in added.pronunciations("to")] == [("t", "ah")]
    assert len(added.pronunciations("the")) == 2
    words = pronounce_transcript(lexicon, "the cat to", variants=True)
    assert [len(w.variants) for w in words.words] == [2, 0, 3]
    assert pronounce_transcript(lexicon, "the cat to").has_variants is False
    picked = words.with_choices([1, 0, 2])
    assert [w.phones for w in picked.words] == [("dh", "iy"), ("k", "ae", "t"), ("t", "ah")]
    assert list(picked) == [[lexicon.token_id(p) for p in w.phones] for w in picked.words]
    with pytest.raises(ValueError, match="no variant 1"):
        words.with_choices([0, 1, 0])
    with pytest.raises(ValueError, match="2 choices for 3 words"):
        words.with_choices([0, 0])


def test_the_aligner_takes_the_variant_the_speaker_said():
    """festival-ked-s00360 (held out): the synthesizer said "from a to b" with "a" as ``ey``
    (CMUdict's second pronunciation, its first is ``ah``). With the first pronunciation the robust
    model puts "to" into the 0.22 s pause before it, 207 ms early; choosing among the variants
    (no penalty) takes ``ey``, as the reference phones have it, and "to" starts within 30 ms."""
    from fsttopo.aligner import Aligner, compute_features
    from fsttopo.data.export import read_json
    from fsttopo.resources import model_path

    import soundfile

    ref = next(r for r in read_json(HELD_OUT / "references.json") if r.utterance_id == "festival-ked-s00360")
    audio, sr = soundfile.read(HELD_OUT / "festival-ked-s00360.flac", dtype="float32")
    features = [compute_features(audio, sr)]
    text = [ref.text]
    aligner = Aligner.from_file(model_path("robust"))
    said = tuple(p.symbol for p in ref.phones if ref.words[7].start - 1e-6 <= p.start and p.end <= ref.words[7].end + 1e-6)
    assert ref.words[7].symbol == "a" and said == ("ey",)
    first = aligner.align(features, text, pronunciation_variants=False)
    chosen = aligner.align(features, text, pronunciation_variants=True, variant_penalty=0.0)
    assert abs(first.alignments[0].words[8].start - ref.words[8].start) > 0.15
    assert chosen.transcripts[0].words[7].phones == said
    assert abs(chosen.alignments[0].words[8].start - ref.words[8].start) < 0.03
    phones = [p.symbol for p in chosen.alignments[0].phones]
    assert phones[-5:] == ["ey", "t", "uw", "b", "iy"]  # the phone tier says which was taken
    # the same choice and times when aligned with the other held-out utterances
    others = [r for r in read_json(HELD_OUT / "references.json") if r.utterance_id != ref.utterance_id][:3]
    batch = features + [compute_features(*soundfile.read(HELD_OUT / f"{r.utterance_id}.flac", dtype="float32"))
                        for r in others]
    together = aligner.align(batch, text + [r.text for r in others], pronunciation_variants=True, variant_penalty=0.0)
    assert together.transcripts[0].words[7].phones == said
    assert [t for w in together.alignments[0].words for t in (w.start, w.end)] == pytest.approx(
        [t for w in chosen.alignments[0].words for t in (w.start, w.end)], abs=1e-6)


def test_variants_need_a_lattice_method():
    from fsttopo.inference.options import check_align_options

    base = {"method": "gradscore", "blank_penalty": 0.0, "prior_scale": 0.0, "posterior_scale": 1.0, "phases": 1,
            "time_shift": 0.0}
    with pytest.raises(ValueError, match="pronunciation_variants works with the viterbi and posterior"):
        check_align_options({**base, "pronunciation_variants": True}, 4)
    with pytest.raises(ValueError, match="variant_penalty must be a finite number"):
        check_align_options({**base, "method": "viterbi", "variant_penalty": -1.0}, 4)
    with pytest.raises(ValueError, match="pronunciation_variants must be true or false"):
        check_align_options({**base, "method": "viterbi", "pronunciation_variants": "yes"}, 4)


def test_cli_turns_the_stored_choice_off(tmp_path):
    """The shipped default model stores the option on; --no-pronunciation-variants aligns with the
    first pronunciations, as the library does with pronunciation_variants=False."""
    from fsttopo import cli
    from fsttopo.aligner import Aligner, compute_features
    from fsttopo.data.export import read_json
    from fsttopo.resources import example_paths, model_path

    wav, txt, _ = example_paths()
    aligner = Aligner.from_file(model_path("default"))
    assert aligner.align_options["pronunciation_variants"] is True
    expected = aligner.align([compute_features(wav)], [txt.read_text()], pronunciation_variants=False).alignments[0]
    # a method that cannot choose leaves the stored default aside rather than refusing
    assert aligner.align([compute_features(wav)], [txt.read_text()], method="gradscore", phases=1).alignments
    cli.main(["align", str(wav), str(txt), "--out", str(tmp_path), "--no-plot", "--no-pronunciation-variants"])
    got = read_json(next(tmp_path.glob("*.json")))[0]
    assert [p.symbol for p in got.phones] == [p.symbol for p in expected.phones]
    assert [t for w in got.words for t in (w.start, w.end)] == pytest.approx(
        [t for w in expected.words for t in (w.start, w.end)], abs=1e-6)
