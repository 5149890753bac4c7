"""The names users pick from (topologies, alignment methods), in a module without heavy imports so
that the command line can offer them without loading torch."""

TOPOLOGIES = ("hmm", "ctc", "ctc-no-forced-blank")
"""Label topologies: HMM with optional silence between words, CTC, CTC without forced blanks."""

METHODS = ("viterbi", "posterior", "gradscore", "gradscore-ext")
"""Alignment methods of :meth:`fsttopo.aligner.Aligner.align`."""

OOV_MODES = ("g2p", "phone-loop", "error")
"""What :meth:`fsttopo.aligner.Aligner.align` does with words outside the lexicon (guess their phones,
align any phones, refuse; see :mod:`fsttopo.data.pronounce`)."""
