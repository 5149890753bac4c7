"""Word decoding benchmark: our exact lexicon-network Viterbi (``fsttopo.decode.decode_words``, CTC
topology) vs flashlight-text's lexicon beam search (``torchaudio.models.decoder.ctc_decoder``, the
decoder torchaudio and fairseq use), on the same posteriors, lexicon and word score, no LM.

Posteriors: the CTC model of ``recipes/tts`` on the test cuts when ``exp/tts/ctc/model.pt`` and the
manifests exist (vocabulary: the training text pool), else the shipped model on the shipped example
repeated (vocabulary: the first ``--vocab-size`` CMUdict words plus the example's). Prints time per
batch and the ratio ours / peer, and how often the two outputs agree (WER of one against the other).
flashlight-text is not a dependency: ``pip install flashlight-text`` (``make bench`` does).

    python benchmarks/decode.py [--batch 16] [--beam 50]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from fsttopo.aligner import Aligner, compute_features
from fsttopo.data.lexicon import Lexicon
from fsttopo.decode import WordLM, decode_words, lexicon_network, pronunciations_of
from fsttopo.scoring import word_error_rate

ROOT = Path(__file__).resolve().parent.parent


def posteriors_and_words(batch: int, vocab_size: int) -> tuple[Aligner, torch.Tensor, torch.Tensor, list[str], dict, str]:
    model, cuts_path, text = (ROOT / "exp/tts/ctc/model.pt", ROOT / "data/tts/manifests/cuts_test.jsonl.gz",
                              ROOT / "data/tts/text/train.jsonl")
    if model.exists() and cuts_path.exists() and text.exists():
        from lhotse import load_manifest_lazy

        aligner = Aligner.from_file(model)
        cuts = load_manifest_lazy(cuts_path).to_eager().subset(first=batch)
        log_probs, lengths = aligner.posteriors([torch.from_numpy(c.load_features()).float() for c in cuts])
        vocab = {w for line in text.read_text().splitlines() for w in json.loads(line)["words"].split()}
        refs = {str(i): c.supervisions[0].text for i, c in enumerate(cuts)}
        source = f"recipes/tts CTC model, first {batch} test cuts"
    else:
        aligner = Aligner.from_file(ROOT / "data/model/model.pt")
        wav = next((ROOT / "data/example").glob("*.wav"))
        transcript = wav.with_suffix(".txt").read_text().strip()
        log_probs, lengths = aligner.posteriors([compute_features(wav)] * batch)
        from fsttopo.data.lexicon import _cmudict_first_pronunciations

        vocab = set(sorted(_cmudict_first_pronunciations())[:vocab_size]) | set(transcript.split())
        refs = {str(i): transcript for i in range(batch)}
        source = f"shipped model, the shipped example x {batch}"
    lexicon: Lexicon = aligner.lexicon
    vocab = sorted(w for w in vocab if w in lexicon)
    return aligner, log_probs, lengths, vocab, refs, source


def timeit(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--vocab-size", type=int, default=12000, help="fallback vocabulary size (CMUdict words)")
    p.add_argument("--beam", type=int, default=50, help="flashlight beam size (its default)")
    p.add_argument("--word-penalty", type=float, default=-1.0)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    aligner, log_probs, lengths, vocab, refs, source = posteriors_and_words(args.batch, args.vocab_size)
    prons = pronunciations_of(aligner.lexicon, vocab)
    network = lexicon_network(prons, "ctc", num_classes=len(aligner.tokens))
    lm = WordLM.uniform(vocab)

    def ours():
        return decode_words(log_probs, lengths, network, lm, lm_scale=0.0, word_penalty=args.word_penalty)

    rows = [("decode_words (exact Viterbi, numba)", timeit(ours, args.repeats))]
    ours_text = {str(i): h.text for i, h in enumerate(ours())}
    peer = None
    try:
        from torchaudio.models.decoder import ctc_decoder
    except ImportError:
        ctc_decoder = None
    if ctc_decoder is not None:
        try:
            import flashlight.lib.text  # noqa: F401
        except ImportError:
            ctc_decoder = None
    if ctc_decoder is not None:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            lex = Path(tmp) / "lexicon.txt"
            lex.write_text("".join(f"{w} {' '.join(aligner.tokens[t] for t in prons[w])}\n" for w in vocab))
            # flashlight needs a word-separator token; ours has none, so it gets an impossible extra class
            decoder = ctc_decoder(str(lex), aligner.tokens + ["|"], lm=None, beam_size=args.beam,
                                  blank_token=aligner.tokens[0], sil_token="|", word_score=args.word_penalty,
                                  lm_weight=0.0, sil_score=0.0, log_add=False)
        emissions = torch.cat([log_probs, torch.full_like(log_probs[..., :1], -1e30)], -1).float().contiguous()

        def flashlight():
            return decoder(emissions, lengths.to(torch.int32))

        peer = timeit(flashlight, args.repeats)
        peer_text = {str(i): " ".join(h[0].words) for i, h in enumerate(flashlight())}
    print(f"{source}; vocabulary {len(vocab)} words, network {network.num_states} states, "
          f"{int(lengths.sum())} frames in {len(lengths)} utterances; "
          f"{platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}, "
          f"median of {args.repeats}")
    print("| operation | ours [ms] | peer | peer [ms] | ours / peer |")
    print("| --- | ---: | --- | ---: | ---: |")
    for op, t in rows:
        if peer is None:
            print(f"| {op} | {t:.1f} | flashlight-text not installed | - | - |")
        else:
            print(f"| {op} | {t:.1f} | flashlight lexicon beam search, beam {args.beam} | {peer:.1f} | {t / peer:.2f} |")
    print(f"\nWER against the references: ours {word_error_rate(ours_text, refs):.1f} %" + (
        f", flashlight {word_error_rate(peer_text, refs):.1f} %; flashlight vs ours "
        f"{word_error_rate(peer_text, ours_text):.1f} %" if peer is not None else ""))


if __name__ == "__main__":
    main()
