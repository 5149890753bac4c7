"""Word decoding: lexicon networks in a label topology, unigram/bigram word LMs, Viterbi search."""

from .language_model import BOS, EOS, WordLM
from .network import LexiconNetwork, lexicon_network, pronunciations_of
from .word_decoder import CompiledLM, WordHypothesis, compile_lm, decode_words

__all__ = ["WordLM", "BOS", "EOS", "LexiconNetwork", "lexicon_network", "pronunciations_of", "WordHypothesis",
           "CompiledLM", "compile_lm", "decode_words"]
