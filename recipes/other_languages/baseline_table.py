"""The held-out voice of a synthesized corpus: fsttopo's trained models next to pocketsphinx 5.1.1
(its US-English acoustic model, every word pronounced by CMUdict or fsttopo's offline English G2P:
what a user with pocketsphinx alone can do for another language), on the same utterances with the
same words, scored against the synthesizer's TextGrids (docs/own-corpus.md).

    python recipes/other_languages/baseline_table.py --corpus data/other_languages/it/test \\
        --run it_graphemes=exp/other/it_graphemes --run it_dictionary=exp/other/it_dictionary \\
        --out exp/other/it_table.md

Each ``--run`` is a train-align output whose ``test_alignments/`` holds the held-out voice aligned
by its ``model.pt`` (``fsttopo align-dir``); the words pocketsphinx aligns are the first run's
model's normalization of the transcripts. Columns as the degraded-conditions table
(:mod:`recipes.tts.condition_table`): a failed utterance's words are left out of the mean and
count as not within 20/50/100 ms.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tqdm import tqdm

from fsttopo.aligner import Aligner
from fsttopo.data.export import load_alignments, read_textgrid
from recipes.tts.condition_table import ConditionScores, summarize
from recipes.tts.pocketsphinx_align import PocketsphinxAligner, _read_16k


def references(corpus: Path) -> dict[str, object]:
    """The TextGrids of ``corpus`` by ``spk/name`` id (the ids align-dir gives)."""
    ids = {g: g.relative_to(corpus).with_suffix("").as_posix() for g in sorted(corpus.rglob("*.TextGrid"))}
    return {uid: read_textgrid(g, uid) for g, uid in ids.items()}


class WordsAsGiven(PocketsphinxAligner):
    """pocketsphinx aligning exactly the given words: one missing from its dictionary is pronounced
    by fsttopo's English lexicon and G2P as a whole (``left-shift`` one word, as the grapheme model
    has it, not two as the English normalization would make it)."""

    def words(self, text: str) -> list[str]:
        from fsttopo.data.pronounce import pronounce_transcript

        out = text.split()
        for word in out:
            if self.decoder.lookup_word(word) is None:
                phones = " ".join(p.upper() for w in pronounce_transcript(self.lexicon, word, "g2p").words
                                  for p in w.phones)
                self.decoder.add_word(word, phones, True)
                self.added[word] = phones
        return out


def pocketsphinx_hypotheses(corpus: Path, refs: dict, normalize) -> dict[str, object]:
    """pocketsphinx's alignment of every reference utterance (None where it fails)."""
    aligner = WordsAsGiven()
    out = {}
    for uid in tqdm(refs, desc="pocketsphinx", unit="utt"):
        lab = next(p for p in (corpus / f"{uid}.lab", corpus / f"{uid}.txt") if p.is_file())
        result = aligner.align(_read_16k(str(corpus / f"{uid}.wav")), normalize(lab.read_text(encoding="utf-8")), uid)
        out[uid] = result.alignment
    return out


def row(name: str, s: ConditionScores) -> str:
    def f(x):
        return "-" if x is None else f"{x:.1f}"
    return (f"| {name} | {f(s.mean_ms)} | {f(s.median_ms)} | {f(s.p90_ms)} | {f(s.max_ms)} | "
            + " | ".join(f"{s.within_ms[t]:.1f}" for t in (20, 50, 100))
            + f" | {s.words_failed} of {s.words} ({s.utterances_failed} utts) |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, required=True, help="the held-out voice's corpus directory (TextGrids)")
    p.add_argument("--run", action="append", required=True, help="NAME=train-align output directory")
    p.add_argument("--out", type=Path, required=True, help="Markdown table (and a .json beside it)")
    args = p.parse_args()
    refs = references(args.corpus)
    runs = dict(r.split("=", 1) for r in args.run)
    hyps = {name: {a.utterance_id: a for a in load_alignments(Path(out) / "test_alignments")}
            for name, out in runs.items()}
    scores = {name: summarize({u: h.get(u) for u in refs}, refs) for name, h in hyps.items()}
    first = Aligner.from_file(Path(next(iter(runs.values()))) / "model.pt")
    ps = pocketsphinx_hypotheses(args.corpus, refs, lambda text: first.normalize([text])[0])
    scores["pocketsphinx 5.1.1"] = summarize(ps, refs)
    aligned = {u for u, h in ps.items() if h is not None}  # the utterances pocketsphinx managed
    for name, h in hyps.items() if aligned else ():  # Cyrillic words get no English pronunciation
        scores[f"{name}, pocketsphinx's utterances"] = summarize({u: h.get(u) for u in aligned},
                                                                 {u: refs[u] for u in aligned})
    rows = [row(name, s) for name, s in scores.items()]
    table = "\n".join(["| aligner | mean [ms] | median [ms] | p90 [ms] | max [ms] | <=20 ms [%] | <=50 ms [%] | "
                       "<=100 ms [%] | words failed |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
                       *rows])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table + "\n", encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps({k: v.to_dict() for k, v in scores.items()}, indent=1))
    print(table)


if __name__ == "__main__":
    main()
