"""Word decoding benchmark: our exact lexicon-network Viterbi (``fsttopo.decode.decode_words``, CTC
topology) vs flashlight-text's lexicon beam search (``torchaudio.models.decoder.ctc_decoder``, the
decoder of torchaudio and fairseq), on the same posteriors, lexicon, LM and word score.

With the ``recipes/tts`` data (``exp/tts/ctc/model.pt``, the test manifest and the training text
pool): the CTC model's posteriors of the first ``--batch`` test cuts and a bigram LM of the pool,
given to flashlight as an ARPA file (``WordLM.to_arpa``; flashlight's KenLM scores are log10, so its
LM weight is ``lm_scale * ln 10``). Without them: the shipped model on the shipped example repeated,
the first ``--vocab-size`` CMUdict words plus the example's, no LM. Prints time per batch, the ratio
ours / peer, and the WER of each against the references and of flashlight against ours.
flashlight-text is not a dependency: ``pip install flashlight-text`` (``make bench`` does).

    python benchmarks/decode.py [--batch 16] [--beams 50,500]
"""

from __future__ import annotations

import argparse
import math
import platform
import tempfile
from pathlib import Path

import torch

from fsttopo.aligner import Aligner, compute_features
from fsttopo.decode import WordLM, compile_lm, decode_words, lexicon_network, pronunciations_of
from fsttopo.scoring import word_error_rate

from engine import timeit  # benchmarks/engine.py: median after a warm-up, in ms

ROOT = Path(__file__).resolve().parent.parent
CPU = torch.device("cpu")


def inputs(batch: int, vocab_size: int):
    """(aligner, log_probs, lengths, LM or None, vocabulary, references, description)."""
    model, cuts_path, text = (ROOT / "exp/tts/ctc/model.pt", ROOT / "data/tts/manifests/cuts_test.jsonl.gz",
                              ROOT / "data/tts/text/train.jsonl")
    if model.exists() and cuts_path.exists() and text.exists():
        import sys

        from lhotse import load_manifest_lazy

        sys.path.insert(0, str(ROOT))
        from recipes.tts.text import pool_transcripts

        aligner = Aligner.from_file(model)
        cuts = load_manifest_lazy(cuts_path).to_eager().subset(first=batch)
        log_probs, lengths = aligner.posteriors([torch.from_numpy(c.load_features()).float() for c in cuts])
        texts = pool_transcripts(text)
        lm = WordLM.bigram_from_texts(texts, {w for t in texts for w in t.split() if w in aligner.lexicon})
        refs = {str(i): c.supervisions[0].text for i, c in enumerate(cuts)}
        return aligner, log_probs, lengths, lm, lm.words, refs, f"recipes/tts CTC model, first {batch} test cuts"
    from fsttopo.data.lexicon import _cmudict_first_pronunciations

    aligner = Aligner.from_file(ROOT / "fsttopo/assets/model/model.pt")
    wav = next((ROOT / "fsttopo/assets/example").glob("*.wav"))
    transcript = wav.with_suffix(".txt").read_text().strip()
    log_probs, lengths = aligner.posteriors([compute_features(wav)] * batch)
    vocab = sorted(set(sorted(_cmudict_first_pronunciations())[:vocab_size]) | set(transcript.split()))
    refs = {str(i): transcript for i in range(batch)}
    return aligner, log_probs, lengths, None, vocab, refs, f"shipped model, the shipped example x {batch}, no LM"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--vocab-size", type=int, default=12000, help="fallback vocabulary size (CMUdict words)")
    p.add_argument("--beams", default="50,500", help="flashlight beam sizes (50 is its default)")
    p.add_argument("--lm-scale", type=float, default=1.0)
    p.add_argument("--word-penalty", type=float, default=-2.0)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    aligner, log_probs, lengths, lm, vocab, refs, source = inputs(args.batch, args.vocab_size)
    prons = pronunciations_of(aligner.lexicon, vocab)
    network = lexicon_network(prons, "ctc", num_classes=len(aligner.tokens))
    lm_scale = args.lm_scale if lm is not None else 0.0
    our_lm = compile_lm(lm if lm is not None else WordLM.uniform(vocab), network)  # once, as a Recognizer does

    def ours():
        return decode_words(log_probs, lengths, network, our_lm, lm_scale=lm_scale, word_penalty=args.word_penalty)

    t_ours = timeit(ours, CPU, args.repeats)
    ours_text = {str(i): h.text for i, h in enumerate(ours())}
    peers = []
    try:
        from flashlight.lib.text.decoder import LexiconDecoder  # noqa: F401
        from torchaudio.models.decoder import ctc_decoder
    except ImportError:
        ctc_decoder = None
    if ctc_decoder is not None:
        emissions = torch.cat([log_probs, torch.full_like(log_probs[..., :1], -1e30)], -1).float().contiguous()
        with tempfile.TemporaryDirectory() as tmp:
            lex = Path(tmp) / "lexicon.txt"
            lex.write_text("".join(f"{w} {' '.join(aligner.tokens[t] for t in prons[w])}\n" for w in vocab))
            arpa = str(lm.to_arpa(Path(tmp) / "lm.arpa")) if lm is not None else None
            for beam in (int(b) for b in args.beams.split(",")):
                # flashlight needs a word-separator token; ours has none: an impossible extra class
                decoder = ctc_decoder(str(lex), aligner.tokens + ["|"], lm=arpa, beam_size=beam, beam_threshold=1000,
                                      blank_token=aligner.tokens[0], sil_token="|", word_score=args.word_penalty,
                                      lm_weight=lm_scale * math.log(10), sil_score=0.0)

                def flashlight():
                    return decoder(emissions, lengths.to(torch.int32))

                t = timeit(flashlight, CPU, args.repeats)
                text = {str(i): " ".join(h[0].words) for i, h in enumerate(flashlight())}
                peers.append((f"flashlight lexicon beam search, beam {beam}", t, text))
    print(f"{source}; vocabulary {len(vocab)} words" + (f", {len(lm.bigram)} bigrams" if lm is not None else "")
          + f"; network {network.num_states} states; {int(lengths.sum())} frames in {len(lengths)} utterances; "
          f"{platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}, median of "
          f"{args.repeats}")
    print("| operation | ours [ms] | peer | peer [ms] | ours / peer | WER ours [%] | WER peer [%] | peer vs ours [%] |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    op = "decode_words (exact Viterbi, numba)"
    wer_ours = word_error_rate(ours_text, refs)
    if not peers:
        print(f"| {op} | {t_ours:.1f} | flashlight-text not installed | - | - | {wer_ours:.1f} | - | - |")
    for name, t, text in peers:
        print(f"| {op} | {t_ours:.1f} | {name} | {t:.1f} | {t_ours / t:.2f} | {wer_ours:.1f} | "
              f"{word_error_rate(text, refs):.1f} | {word_error_rate(text, ours_text):.1f} |")


if __name__ == "__main__":
    main()
