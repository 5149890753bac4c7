"""The names users pick from (topologies, alignment methods), in a module without heavy imports so
that the command line can offer them without loading torch."""

TOPOLOGIES = ("hmm", "ctc", "ctc-no-forced-blank")
"""Label topologies: HMM with optional silence between words, CTC, CTC without forced blanks."""

METHODS = ("viterbi", "posterior", "gradscore", "gradscore-ext")
"""Alignment methods of :meth:`fsttopo.aligner.Aligner.align`."""

PRECISIONS = ("float32", "bfloat16")
"""What the acoustic model may compute in (:meth:`fsttopo.aligner.Aligner.set_precision`)."""

OOV_MODES = ("g2p", "phone-loop", "error")
"""What :meth:`fsttopo.aligner.Aligner.align` does with words outside the lexicon (guess their phones,
align any phones, refuse; see :mod:`fsttopo.data.pronounce`)."""

UNTRANSCRIBED_MODES = ("edges", "anywhere")
"""Where the ``untranscribed`` align option lets audio the transcript does not cover be: before the
first word and after the last (``edges``), or also between words (``anywhere``; see
:mod:`fsttopo.inference.garbage` for how much less reliable that is)."""

GARBAGE_PENALTY = 1.0
"""Default of the ``garbage_penalty`` align option: nats per model frame by which the garbage label
of untranscribed audio scores below the best non-blank label (:mod:`fsttopo.inference.garbage`;
chosen in docs/alignment.md, "Transcripts that do not cover the audio")."""

VARIANT_PENALTY = 8.0
"""Default of the ``variant_penalty`` align option: nats a pronunciation other than the word's own
costs on the path that chooses among a word's pronunciations
(:mod:`fsttopo.inference.pronunciation_choice`; chosen in docs/alignment.md, "Pronunciation variants")."""
