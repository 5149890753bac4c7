"""Word decoding: lexicon networks in a label topology, a unigram LM, exact Viterbi search."""

from .language_model import UnigramLM
from .network import LexiconNetwork, lexicon_network, pronunciations_of
from .word_decoder import WordHypothesis, decode_words

__all__ = ["UnigramLM", "LexiconNetwork", "lexicon_network", "pronunciations_of", "WordHypothesis", "decode_words"]
