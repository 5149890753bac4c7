"""Command-line interface: a thin layer that parses arguments and calls the library."""

from __future__ import annotations

import argparse
import gc
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from .names import GARBAGE_PENALTY, METHODS, OOV_MODES, PRECISIONS, TOPOLOGIES, UNTRANSCRIBED_MODES, VARIANT_PENALTY
from .resources import AUTO_MODEL, MODEL_DIR, model_path
from .shards import BLOCK_SIZE

DEFAULT_MODEL = MODEL_DIR / "model.pt"
CHANNEL_HELP = ("the channel of multi-channel audio to align, numbered from 0 (e.g. one speaker of a call recorded "
                "on two channels); default: the mean of the channels")
MODEL_HELP = ("model file, or a shipped model: 'default' (the default; clean speech) or 'robust' (fine-tuned on noisy, "
              "reverberant, telephone and quiet audio; docs/augmentation.md)")
ALIGN_MODEL_HELP = ("'auto' (the default: per recording the shipped default model, or the robust one where the "
                    "recording looks noisy, band-limited, reverberant, quiet or heavily clipped, or the default "
                    "model aligns it unsure; docs/alignment.md), a shipped model: "
                    "'default' (clean speech) or 'robust' (fine-tuned on noisy, reverberant, telephone and quiet "
                    "audio; docs/augmentation.md), or a model file")
LEXICON_HELP = "extra pronunciations ('word PHONE ...' lines, ARPAbet) added to CMUdict"


def _synth(args: argparse.Namespace) -> None:
    from . import synthetic

    if args.list:
        for table, rows in synthetic.TABLES.items():
            for p in rows:
                print(f"{p.name:12} {p.description}")
        return
    from .threads import set_threads

    set_threads(args.threads)
    results = synthetic.run_rows(synthetic.resolve(args.preset), seeds=args.seeds, out_dir=args.out, steps=args.steps,
                                 criterion=args.criterion, output=args.output)
    print(synthetic.markdown_table(results), end="")
    print(f"written: {args.out}/results.md, {args.out}/alignment_*.png")


def _graph(args: argparse.Namespace) -> None:
    from .topology import Transitions, ctc_graph, hmm_graph

    if args.topology == "hmm":
        words = [[int(x) for x in w.split(",")] for w in args.labels]
        fsa = hmm_graph([words], silence=args.blank, transitions=Transitions() if args.transitions else None)[0]
    else:
        seq = [int(x) for w in args.labels for x in w.split(",")]
        fsa = ctc_graph([seq], blank=args.blank, forced_blank=args.topology == "ctc")[0]
    print(fsa.to_dot() if args.dot else fsa.to_str(), end="")


def _training_units(args: argparse.Namespace, train_cuts):
    """The units ``fsttopo train`` trains with: CMUdict, the ``--dictionary`` or the graphemes of
    the training transcripts."""
    from .data.lexicon import Lexicon

    units = args.units or ("dictionary" if args.dictionary else "cmudict")
    if (units == "dictionary") != bool(args.dictionary):
        raise ValueError("--units dictionary and --dictionary go together")
    if units == "cmudict":
        if args.language not in (None, "en"):
            raise ValueError(f"--language {args.language}: CMUdict units are English; use --units graphemes or "
                             "--dictionary for another language")
        return Lexicon.from_cmudict()
    if units == "dictionary":
        return Lexicon.from_dictionary(args.dictionary, language=args.language)
    from .data.graphemes import GraphemeUnits

    return GraphemeUnits.from_texts((sup.text or "" for cut in train_cuts for sup in cut.supervisions),
                                    language=args.language)


def _train(args: argparse.Namespace) -> None:
    import json

    from lhotse import load_manifest_lazy

    from .models import ModelConfig
    from .training import ObjectiveConfig, TrainConfig, train

    if args.threads:
        from .threads import set_threads

        set_threads(args.threads)
    config = json.loads(open(args.config).read())
    train_cuts = load_manifest_lazy(args.train)
    lexicon = _training_units(args, train_cuts)
    model_section = dict(config.get("model", {}))  # a config.json written by train() names num_tokens too
    if model_section.pop("num_tokens", lexicon.num_tokens) != lexicon.num_tokens:
        raise ValueError(f"{args.config}: model.num_tokens must be the units' {lexicon.num_tokens} tokens (blank "
                         "included); leave it out to take it from the units")
    model = ModelConfig(num_tokens=lexicon.num_tokens, **model_section)
    dev = load_manifest_lazy(args.dev) if args.dev else None
    path = train(model, ObjectiveConfig(**config.get("objective", {})), TrainConfig(**config.get("train", {})),
                 train_cuts, dev, lexicon, lexicon.tokens, args.out, resume=args.resume)
    print(f"model: {path}")


def _load_aligner(args: argparse.Namespace, routed: bool = False):
    """The aligner of ``args.model`` with ``--lexicon``, on ``--device`` at ``--precision``; with
    ``routed`` (align, align-dir, align-cuts), ``auto`` gives both shipped models and the rule that
    picks one per recording (:class:`~fsttopo.routed_aligner.RoutedAligner`); elsewhere it is refused."""
    if getattr(args, "threads", 0):
        from .threads import set_threads

        set_threads(args.threads)
    if args.model == AUTO_MODEL:
        if not routed:
            raise ValueError("--model auto picks a model per recording for align, align-dir and align-cuts; here "
                             "give one: default or robust (or a model file)")
        from .routed_aligner import load_routed_aligner

        default = _one_aligner(args, model_path("default"))
        # one lexicon for both: the robust model was fine-tuned from the default one, on its units
        aligner = load_routed_aligner(default, _one_aligner(args, model_path("robust"), default.lexicon))
    else:
        aligner = _one_aligner(args, args.model)
    # the imported modules and the model live as long as the command: the garbage collector's later
    # passes skip them (0.1 s of a short file's alignment)
    gc.freeze()
    return aligner


def _one_aligner(args: argparse.Namespace, model: str, lexicon=None):
    """The aligner of one model file (with ``lexicon``: that one, ``--lexicon`` already added)."""
    from .aligner import Aligner
    from .data.lexicon import Lexicon, read_lexicon_file
    from .shards import local_device

    aligner = Aligner.from_file(model, lexicon)
    if args.lexicon and lexicon is None:
        if not (isinstance(aligner.lexicon, Lexicon) and aligner.lexicon.cmudict):
            raise ValueError(f"--lexicon adds ARPAbet words to CMUdict models; {model} was trained with other "
                             "units (add words to its pronunciation dictionary and retrain, or use --oov phone-loop)")
        aligner.lexicon = aligner.lexicon.with_words(read_lexicon_file(args.lexicon))
    return aligner.to(local_device(getattr(args, "device", "cpu"))).set_precision(getattr(args, "precision", "float32"))


def _check_output(path: str) -> None:
    """Refuse an output path that cannot become a directory before any work is done (nothing is
    created here: a run that fails on a bad option writes nothing)."""
    import os

    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output directory {path!r} is an existing file")
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"output directory {path!r}: {str(parent)!r} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"output directory {path!r}: no permission to write in {str(parent)!r}")


def _transcript(args: argparse.Namespace) -> str:
    """The words to align: ``--text`` or the transcript file (which must exist)."""
    if (args.transcript is None) == (args.text is None):
        raise ValueError("give the transcript as a file (TRANSCRIPT) or as words with --text, not both or neither")
    if args.text is not None:
        return args.text
    path = Path(args.transcript)
    if not path.is_file():
        raise ValueError(f"transcript file {args.transcript!r} does not exist (give the words themselves with "
                         f"--text \"...\")")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"transcript file {args.transcript!r} is not UTF-8 text (byte {err.start}: "
                         f"{err.object[err.start:err.start + 1]!r}); convert it, e.g. iconv -f latin1 -t utf-8") from None


def _check_channel(audio: str, channel: int | None) -> None:
    """ValueError for an unreadable audio file, or one without ``channel``, from its header."""
    from .audio_batches import audio_info

    channels = audio_info(audio).channels
    if channel is not None and not 0 <= channel < channels:
        raise ValueError(f"--channel {channel}: {audio} has {channels} channel{'s' if channels > 1 else ''} "
                         "(numbered from 0)")


@contextmanager
def _condition_warnings() -> Iterator[list[str]]:
    """Record the recording-condition warnings raised inside (every one, not once per place) and
    print them afterwards one line each, not in Python's file:line form; other warnings are shown
    as usual. Yields the list of the printed messages, filled when the block ends."""
    from .inference.recording_check import RECORDING_WARNINGS

    printed: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        for condition in RECORDING_WARNINGS:
            warnings.simplefilter("always", condition)
        yield printed
    for w in caught:
        if issubclass(w.category, RECORDING_WARNINGS):
            print(f"warning: {w.message}", file=sys.stderr)
            printed.append(str(w.message))
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _align(args: argparse.Namespace) -> None:
    from .data.plot_process import PlotProcess

    transcript = _transcript(args)
    _check_output(args.out)
    # the process that draws the plot while this one loads torch and aligns (None: draw here);
    # forked before numpy, torch and their thread pools are loaded
    with (None if args.no_plot else PlotProcess.start()) or nullcontext() as plot_process, \
            _condition_warnings() as printed:
        _check_channel(args.audio, args.channel)  # names a missing or unreadable file before the model loads
        from .files import align_audio_file

        aligner = _load_aligner(args, routed=True)
        ali = align_audio_file(aligner, args.audio, transcript, args.out, plot=not args.no_plot,
                               plot_process=plot_process, channel=args.channel, **_alignment_options(args))
    degraded = bool(printed)
    if ali.model is not None:
        print(f"model: {ali.model}" + (f" (the recording shows {', '.join(ali.model_reasons)})" if ali.model_reasons
                                       else " (the recording looks like clean wideband speech)"))
    for w in ali.words:
        notes = ([] if w.confidence is None else [f"{w.confidence:.2f}"]) + (
            [] if w.boundary_sd is None else [f"+-{1000 * w.boundary_sd:.0f} ms"])
        print(f"{w.start:8.3f} {w.end:8.3f}  {w.symbol}" + (f"  ({', '.join(notes)})" if notes else ""))
    for start, end in ali.untranscribed:
        print(f"untranscribed audio at {start:.2f}-{end:.2f} s: the transcript does not cover it")
    if ali.confidence is not None:
        # a model calibrated with a condition adjustment has allowed for the recording's condition already
        used = aligner.aligners[ali.model] if ali.model is not None else aligner
        caveat = degraded and used.confidence_adjustment is None
        verdict = {True: "LOW: the transcript may not match the audio" + (
                       ", or the recording's condition lowers it: right transcripts of such recordings are often "
                       "flagged too (--model robust allows for it)" if caveat else ""),
                   False: "ok", None: "not calibrated"}
        allowed = ("" if not ali.condition_allowance else
                   f" + {ali.condition_allowance:.3f} allowed for the recording: noise, echo, dynamic range")
        print(f"confidence {ali.confidence:.3f}, relative {ali.relative_confidence:.3f}{allowed} "
              f"({verdict[ali.low_confidence]}; mean posterior of the aligned labels, and its ratio to the "
              "best labels')")
    print(f"written: {args.out}/{Path(args.audio).stem}.{{json,TextGrid,ctm" + ("" if args.no_plot else ",png") + "}")


def _corpus_run(args: argparse.Namespace) -> dict:
    """The shard, worker and batching options of align-dir and align-cuts, for the library."""
    from .shards import resolve_shard

    if args.jobs < 1:
        raise ValueError(f"--jobs {args.jobs}: give at least 1 worker process")
    if args.block_size < 1:
        raise ValueError(f"--block-size {args.block_size}: give at least 1 file per block")
    return {"shard": resolve_shard(args.shard), "jobs": args.jobs, "threads": args.threads or None,
            "block_size": args.block_size}


def _report_problems(command: str, problems: list, what: str, total: int, listed_in: Path) -> None:
    from .corpus_check import problem_summary

    if problems:
        print(f"fsttopo {command}: {problem_summary(problems, total, what)}, listed in {listed_in}", file=sys.stderr)
        sys.exit(3)


def _align_cuts(args: argparse.Namespace) -> None:
    from lhotse import load_manifest_lazy

    from .cut_corpus import ALIGNED_CUTS, align_cuts_to_dir
    from .shards import shard_output_dir

    if not Path(args.cuts).is_file():
        raise ValueError(f"cuts manifest {args.cuts!r} does not exist")
    run = _corpus_run(args)
    out = shard_output_dir(args.out, run["shard"])
    _check_output(str(out))
    result = align_cuts_to_dir(_load_aligner(args, routed=True), load_manifest_lazy(args.cuts), out, args.max_duration, **run,
                               resume=args.resume, identity=_model_identity(args), **_alignment_options(args))
    kept = f" ({result.kept} kept up to date)" if result.kept else ""
    print(f"aligned {result.aligned + result.kept} utterances{kept}: {out}/{ALIGNED_CUTS}, {out}/json/, "
          f"{out}/manifest.jsonl")
    _warn_conditions(result, out, routed=args.model == AUTO_MODEL)
    _report_problems("align-cuts", result.problems, "not aligned", result.cuts, out / "failed.tsv")


def _model_identity(args: argparse.Namespace) -> dict:
    from .output_dir import file_identity

    if args.model == AUTO_MODEL:  # the outputs depend on both models and on the rule between them
        from .resources import ROUTING_FILE

        model = {name: file_identity(model_path(name)) for name in ("default", "robust")}
        model["routing"] = file_identity(ROUTING_FILE)
    else:
        model = file_identity(args.model)
    identity = {"model": model, "lexicon": file_identity(args.lexicon) if args.lexicon else None}
    if args.precision != "float32":  # an earlier float32 run's outputs stay resumable
        identity["precision"] = args.precision
    return identity


def _warn_conditions(result, out: Path, routed: bool = False) -> None:
    """The corpus commands' lines about the recordings that look noisy (``OUT/noisy.tsv``),
    band-limited (``OUT/band_limited.tsv``), clipped (``OUT/clipped.tsv``) or reverberant
    (``OUT/reverberant.tsv``), from a :class:`~fsttopo.directory.DirectoryResult` or
    :class:`~fsttopo.cut_corpus.CutsResult`'s counts; ``routed``: aligned with ``--model auto``."""
    from .inference.band_check import BAND_ADVICE, BAND_LIMITED_BELOW_DB
    from .inference.clip_check import CLIP_ADVICE, CLIPPED_ABOVE_PERCENT
    from .inference.noise_check import ADVICE, NOISY_BELOW_DB
    from .inference.reverb_check import REVERB_ADVICE, REVERBERANT_ABOVE
    from .output_dir import BAND_LIMITED_LIST, CLIPPED_LIST, NOISY_LIST, REVERBERANT_LIST

    # the shipped rule routes every recording these three lists hold to the robust model (test_model_routing)
    routed_advice = "the robust model, trained for it, aligned them (--model auto)"
    if routed and result.robust:
        print(f"the robust model aligned {result.robust} of them (noisy, band-limited or reverberant: "
              "\"model\": \"robust\" in their JSON, \"aligned_by\" in the manifest)")
    if result.noisy:
        print(f"warning: {result.noisy} of them look noisy (listed in {out}/{NOISY_LIST} with their dynamic range, "
              f"below {NOISY_BELOW_DB:.0f} dB): {routed_advice if routed else ADVICE}", file=sys.stderr)
    if result.band_limited:
        print(f"warning: {result.band_limited} of them look band-limited (listed in {out}/{BAND_LIMITED_LIST} with "
              f"the level of their band above 5 kHz, below {BAND_LIMITED_BELOW_DB:.0f} dB): "
              f"{routed_advice if routed else BAND_ADVICE}", file=sys.stderr)
    if result.reverberant:
        print(f"warning: {result.reverberant} of them look reverberant (listed in {out}/{REVERBERANT_LIST} with how "
              f"many times more slowly their energy falls than it rises, above {REVERBERANT_ABOVE:g}): "
              f"{routed_advice if routed else REVERB_ADVICE}", file=sys.stderr)
    if result.clipped:
        print(f"warning: {result.clipped} of them look clipped (listed in {out}/{CLIPPED_LIST} with the share of "
              f"their loud samples flat on the peak level, above {CLIPPED_ABOVE_PERCENT:g} %): {CLIP_ADVICE}",
              file=sys.stderr)


def _align_dir(args: argparse.Namespace) -> None:
    from .directory import align_directory
    from .shards import shard_output_dir

    run = _corpus_run(args)
    out = shard_output_dir(args.out, run["shard"])
    _check_output(str(out))
    result = align_directory(_load_aligner(args, routed=True), args.directory, out, args.max_duration, resume=args.resume,
                             identity=_model_identity(args), channel=args.channel, **run, **_alignment_options(args))
    kept = f" ({result.kept} kept up to date)" if result.kept else ""
    print(f"aligned {result.aligned + result.kept} utterances{kept}: {out}/ (JSON and TextGrid per file, "
          "alignments.ctm, confidence.tsv: lowest first, uncertain_words.tsv: word times to check, "
          "manifest.jsonl)")
    _warn_conditions(result, out, routed=args.model == AUTO_MODEL)
    _report_problems("align-dir", result.problems, "not aligned", result.files, out / "failed.tsv")


def _merge_alignments(args: argparse.Namespace) -> None:
    from .merge import merge_alignments

    kind = merge_alignments(args.shards, args.out)
    print(f"merged {len(args.shards)} shards of {kind}: {args.out}/")


def _validate(args: argparse.Namespace) -> None:
    from .corpus_check import format_report, problem_summary, validate_corpus, write_problems

    report = validate_corpus(_load_aligner(args), args.directory, args.oov)
    print(format_report(report), end="")
    if args.out:
        print(f"written: {write_problems(report.problems, args.out)}")
    if not report.clean:
        print(f"fsttopo validate: {problem_summary(report.problems, report.files, 'with problems')}", file=sys.stderr)
        sys.exit(3)


def _add_split_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dev-speakers", help="comma-separated dev speakers (default: --dev-fraction of them, drawn)")
    p.add_argument("--dev-fraction", type=float, default=0.1, help="share of speakers for dev (a single "
                   "speaker: of its utterances)")
    p.add_argument("--seed", type=int, default=0, help="seed of the dev draw (and of training)")
    p.add_argument("--jobs", type=int, default=1, help="feature extraction processes")


def _dev_speakers(args: argparse.Namespace) -> list[str] | None:
    return [s.strip() for s in args.dev_speakers.split(",") if s.strip()] if args.dev_speakers else None


def _prepare(args: argparse.Namespace) -> None:
    from .data.corpus import format_prepared, prepare_corpus

    result = prepare_corpus(args.corpus, args.out, dev_speakers=_dev_speakers(args), dev_fraction=args.dev_fraction, seed=args.seed,
                            num_jobs=args.jobs, features=not args.no_features)
    print(format_prepared(result), end="")


def _train_align(args: argparse.Namespace) -> None:
    import json

    from .train_align import TrainAlignConfig, train_align

    if args.threads:
        from .threads import set_threads

        set_threads(args.threads)
    _check_output(args.out)
    units = "dictionary" if args.dictionary else args.units
    config = TrainAlignConfig(units=units, dictionary=args.dictionary, language=args.language, topology=args.topology,
                              steps=args.steps, criterion=args.criterion, dev_speakers=_dev_speakers(args),
                              dev_fraction=args.dev_fraction, jobs=args.jobs, seed=args.seed)
    stages = train_align(args.corpus, args.out, config, resume=not args.restart)
    print(json.dumps({k: stages[k] for k in ("tune", "model", "align") if k in stages}, indent=1))
    print(f"model: {args.out}/model.pt (fsttopo align --model {args.out}/model.pt ...); alignments: "
          f"{args.out}/alignments/")


def _transcribe(args: argparse.Namespace) -> None:
    from pathlib import Path

    from .data.export import write_text
    from .recognizer import load_recognizer, transcribe_audio_files, transcribe_cuts

    if bool(args.audio) == bool(args.cuts):
        raise ValueError("give audio files or --cuts, not both or neither")
    if args.align_out and args.cuts:
        raise ValueError("--align-out aligns audio files; for cuts, put the decoded text into the supervisions "
                         "and run 'fsttopo align-cuts'")
    aligner = _load_aligner(args)
    options = {key: getattr(args, key) for key in ("lm_scale", "word_penalty", "blank_penalty", "prior_scale")}
    recognizer = load_recognizer(aligner, args.model, decoder=args.decoder, lm_text=args.lm_text,
                                 lm_arpa=args.lm_arpa, **options)
    if args.save_decoder:
        recognizer.save(args.save_decoder)
    if args.cuts:
        from lhotse import load_manifest_lazy

        texts = transcribe_cuts(recognizer, load_manifest_lazy(args.cuts), args.max_duration)
    else:
        stems = [Path(a).stem for a in args.audio]
        if len(set(stems)) < len(stems):
            raise ValueError(f"audio files with the same name would share an utterance id: "
                             f"{sorted({s for s in stems if stems.count(s) > 1})}")
        with _condition_warnings():
            decoded = transcribe_audio_files(recognizer, args.audio, args.max_duration)
        texts = {Path(a).stem: decoded[str(a)] for a in args.audio}
        if args.align_out:
            from .files import align_audio_file

            for audio, text in zip(args.audio, texts.values()):
                if text:
                    align_audio_file(aligner, audio, text, args.align_out)
            print(f"alignments of the decoded words: {args.align_out}/")
    if args.out:
        print(f"written: {write_text(texts, args.out)}")
    else:
        for utt, text in texts.items():
            print(f"{utt} {text}")


def _add_alignment_options(p: argparse.ArgumentParser) -> None:
    stored = " (default: the value stored with the model, else %s)"
    p.add_argument("--model", default=AUTO_MODEL, type=model_path, help=ALIGN_MODEL_HELP)
    p.add_argument("--lexicon", help=LEXICON_HELP)
    p.add_argument("--device", default="cpu", help="where the acoustic model runs: cpu (default), cuda, cuda:1 "
                   "(the graph search runs on the CPU)")
    p.add_argument("--precision", choices=PRECISIONS, default="float32",
                   help="what the acoustic model computes in: float32 (default) or bfloat16 (faster on CPUs with "
                   "AMX/AVX512-BF16 and on GPUs, slower elsewhere; alignments differ in the last digits)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads of torch and the graph search together, per "
                   "process (default: every core; on a shared machine give each process its share)")
    p.add_argument("--method", choices=METHODS, help="best path, posterior-mean boundaries or gradient-based"
                   + stored % "viterbi")
    p.add_argument("--topology", choices=TOPOLOGIES,
                   help="graph topology for viterbi/posterior (default: the model's training topology)")
    p.add_argument("--blank-penalty", type=float, help="subtract from blank/silence log-probs" + stored % 0)
    p.add_argument("--prior-scale", type=float, help="divide by the mean posterior to this power" + stored % 0)
    p.add_argument("--posterior-scale", type=float, help="scale the log-probs (< 1 flattens)" + stored % 1)
    p.add_argument("--phases", type=int, help="average over the input shifted by 0..N-1 feature frames, "
                   "N up to the model's downsampling" + stored % 1)
    p.add_argument("--time-shift", type=float, help="seconds added to every boundary" + stored % 0)
    p.add_argument("--min-pause", type=float, help="seconds; shorter pauses between words are closed "
                   "(default: one model frame, 0.04 s for the shipped model; 0 keeps them)")
    p.add_argument("--oov", choices=OOV_MODES, default="g2p",
                   help="words outside the lexicon: guess their phones offline (g2p, the default; CMUdict models only, "
                   "for dictionary and grapheme models it names them and stops), align each as any "
                   "phone sequence (phone-loop: phone label 'spn'; viterbi and posterior methods) or name them "
                   "and stop (error)")
    p.add_argument("--untranscribed", nargs="?", const="edges", choices=UNTRANSCRIBED_MODES,
                   help="the transcript may not cover the whole audio: speech or music before and after its words "
                   "(edges, the default) or also between them (anywhere: at least 2 s, less reliable) goes to a "
                   "garbage label, reported as untranscribed spans, instead of stretching words over it; viterbi and "
                   "posterior methods, recordings up to 60 s")
    p.add_argument("--garbage-penalty", type=float, help="with --untranscribed: nats per model frame by which the "
                   "garbage label scores below the best phone; larger keeps more audio with the transcript"
                   + stored % GARBAGE_PENALTY)
    p.add_argument("--pause-edges-db", type=float, help="move word edges at pauses to where the frame energy crosses "
                   "this many dB below the loud end, within 0.1 s (train-align tunes it; 0: off)" + stored % "off")
    p.add_argument("--pronunciation-variants", action=argparse.BooleanOptionalAction, default=None,
                   help="a word with several lexicon pronunciations (CMUdict's 'the': dh ah or dh iy; a dictionary's "
                   "alternatives) takes the one that fits the audio best; viterbi and posterior methods"
                   + stored % "off")
    p.add_argument("--variant-penalty", type=float, help="with --pronunciation-variants: nats a pronunciation other "
                   "than the word's own must win by" + stored % VARIANT_PENALTY)
    p.add_argument("--keep-silence", dest="trim_silence", action="store_const", const=False, default=None,
                   help="let the model see all of long digital silence (by default runs over 2 s are left out "
                   "but 0.5 s next to the sound; docs/alignment.md)")


def _add_corpus_options(p: argparse.ArgumentParser, items: str) -> None:
    p.add_argument("--max-duration", type=float, default=200.0, help="seconds of audio per batch")
    p.add_argument("--jobs", type=int, default=1, help="worker processes, each with a copy of the model and --threads "
                   "threads (default: the cores shared out among them); the outputs are the same for any number")
    p.add_argument("--shard", metavar="I/N", help=f"align only shard I of N (0-based: 0/2 and 1/2 are the halves; "
                   f"blocks of --block-size {items} dealt in turn) into OUT/shard-I-of-N; put the shards together "
                   "with 'fsttopo merge-alignments'. Under torchrun (RANK and WORLD_SIZE set) the default is shard "
                   "RANK of WORLD_SIZE (docs/large-corpora.md)")
    p.add_argument("--block-size", type=int, default=BLOCK_SIZE, help=f"{items} per block, the unit given to a shard "
                   f"or worker and batched on its own (default {BLOCK_SIZE}); shards to merge must share it")


def _alignment_options(args: argparse.Namespace) -> dict:
    return {key: getattr(args, key) for key in
            ("method", "topology", "blank_penalty", "prior_scale", "posterior_scale", "phases", "time_shift", "oov",
             "min_pause", "untranscribed", "garbage_penalty", "trim_silence", "pause_edges_db",
             "pronunciation_variants", "variant_penalty")}


def _score(args: argparse.Namespace) -> None:
    from pathlib import Path

    from .data.export import load_alignments, read_text
    from .scoring import markdown_table, score_alignments

    hyp_texts = read_text(args.hyp_text) if args.hyp_text else None
    scores = score_alignments(load_alignments(args.hyp), load_alignments(args.ref), hyp_texts)
    table = markdown_table({args.name or Path(args.hyp).name: scores})
    print(table, end="")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(table, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    from . import __version__

    parser = argparse.ArgumentParser(prog="fsttopo", description="Alignment modelling with FSA label topologies.")
    parser.add_argument("--version", action="version", version=f"fsttopo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    synth = sub.add_parser("synth", help="synthetic alignment lab: run a preset (paper Tables 10-13) over seeds")
    synth.add_argument("--preset", default="default", help="a table (table10) or one row (table10.1); see --list")
    synth.add_argument("--seeds", type=int, default=3, help="random seeds 0..N-1 per row")
    synth.add_argument("--steps", type=int, default=None, help="override the presets' training steps")
    synth.add_argument("--threads", type=int, default=1, help="torch threads")
    synth.add_argument("--criterion", choices=["full-sum", "normalized-gradient", "framewise-ce"],
                       help="override the presets' training criterion")
    synth.add_argument("--output", choices=["softmax", "blank-separated"], help="override the presets' output layer")
    synth.add_argument("--out", default="exp/synth", help="directory for results.md, results.json, plots")
    synth.add_argument("--list", action="store_true", help="list the presets and exit")
    synth.set_defaults(func=_synth)

    graph = sub.add_parser("graph", help="print a topology graph in k2 text format or Graphviz DOT")
    graph.add_argument("topology", choices=TOPOLOGIES)
    graph.add_argument("labels", nargs="+", help="words as comma-separated label ids, e.g. 1,2,2 3")
    graph.add_argument("--blank", type=int, default=0, help="blank (CTC) or silence (HMM) id")
    graph.add_argument("--transitions", action="store_true", help="HMM: default loop/forward weights")
    graph.add_argument("--dot", action="store_true", help="print Graphviz DOT instead of k2 text")
    graph.set_defaults(func=_graph)

    train = sub.add_parser("train", help="train an aligner with a full-sum loss on Lhotse cuts")
    train.add_argument("config", help="JSON with 'model', 'objective', 'train' sections (see recipes/tts/configs)")
    train.add_argument("--train", required=True, help="training cuts manifest (features attached)")
    train.add_argument("--dev", help="dev cuts manifest")
    train.add_argument("--out", required=True, help="experiment directory (checkpoint.pt, model.pt, config.json)")
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    train.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    train.add_argument("--units", choices=("cmudict", "graphemes", "dictionary"),
                       help="what the model's tokens are: CMUdict's 39 ARPAbet phones (English; the default), the "
                       "characters of the training transcripts (graphemes: any language, no lexicon needed) or the "
                       "phones of a pronunciation dictionary (--dictionary); stored in the model file, so align "
                       "needs nothing more (docs/own-corpus.md)")
    train.add_argument("--dictionary", help="Montreal Forced Aligner pronunciation dictionary ('word phone phone ...' "
                       "lines, any phone set, optional probabilities); implies --units dictionary")
    train.add_argument("--language", help="language of the transcripts for writing numbers out (num2words code: it, "
                       "ru, de, ...; graphemes and dictionary units; default: numbers are not written out, a word "
                       "with digits is reported as unknown)")
    train.set_defaults(func=_train)

    align = sub.add_parser("align", help="align a recording with its transcript (JSON, TextGrid, CTM, plot)")
    align.add_argument("audio", help="audio file (any rate; resampled to 16 kHz)")
    align.add_argument("transcript", nargs="?", help="a text file holding the words (UTF-8)")
    align.add_argument("--text", help="instead: the words themselves, e.g. --text \"hello world\"")
    align.add_argument("--out", default="exp/align", help="output directory")
    align.add_argument("--no-plot", action="store_true")
    align.add_argument("--channel", type=int, help=CHANNEL_HELP)
    _add_alignment_options(align)
    align.set_defaults(func=_align)

    align_c = sub.add_parser("align-cuts", help="align every cut of a Lhotse CutSet (batched)")
    align_c.add_argument("cuts", help="cuts manifest with features and one supervision per cut")
    align_c.add_argument("--out", required=True, help="output directory (cuts_aligned.jsonl.gz, json/, failed.tsv, "
                         "manifest.jsonl), replaced as a whole when the run ends")
    _add_corpus_options(align_c, "cuts")
    align_c.add_argument("--resume", action="store_true", help="keep the outputs of cuts whose manifest entry, model "
                         "and options are unchanged since the last run (its manifest.jsonl), align the rest")
    _add_alignment_options(align_c)
    align_c.set_defaults(func=_align_cuts)

    align_d = sub.add_parser("align-dir", help="align every audio file of a directory tree with the transcript "
                             "beside it (NAME.wav + NAME.txt or NAME.lab, as Montreal Forced Aligner corpora)")
    align_d.add_argument("directory", help="root of the corpus; sub-directories (e.g. speakers) are searched")
    align_d.add_argument("--out", required=True, help="output directory (mirrors the input tree)")
    _add_corpus_options(align_d, "files")
    align_d.add_argument("--resume", action="store_true", help="keep the outputs of files whose inputs, model "
                         "and options are unchanged since the last run (its manifest.jsonl), align the rest")
    align_d.add_argument("--channel", type=int, help=CHANNEL_HELP + "; a file without it fails alone")
    _add_alignment_options(align_d)
    align_d.set_defaults(func=_align_dir)

    merge = sub.add_parser("merge-alignments", help="put the outputs of the shards of one align-dir or align-cuts "
                           "run (--shard I/N, torchrun) together: what one process writes")
    merge.add_argument("shards", nargs="+", help="the shards' output directories (OUT/shard-I-of-N), all N of them")
    merge.add_argument("--out", required=True, help="merged output directory")
    merge.set_defaults(func=_merge_alignments)

    validate = sub.add_parser("validate", help="report every problem of a corpus directory (as align-dir reads "
                              "it) without aligning: transcripts, audio, unknown words, audio too short")
    validate.add_argument("directory", help="root of the corpus")
    validate.add_argument("--model", default=str(DEFAULT_MODEL), type=model_path, help=MODEL_HELP)
    validate.add_argument("--lexicon", help=LEXICON_HELP)
    validate.add_argument("--oov", choices=OOV_MODES, default="g2p", help="as align-dir: unknown words are "
                          "listed, and a problem only with 'error'")
    validate.add_argument("--out", help="also write the problems as 'file reason message' TSV to this file")
    validate.set_defaults(func=_validate)

    prep = sub.add_parser("prepare", help="Lhotse manifests for 'fsttopo train' from a corpus directory as "
                          "align-dir reads it (speaker sub-directories; NAME.TextGrid: reference alignment)")
    prep.add_argument("corpus", help="root of the corpus; speaker = first directory below it (files in the root: "
                      "the root's name)")
    prep.add_argument("--out", required=True, help="output directory (recordings, supervisions, cuts_train, "
                      "cuts_dev manifests, failed.tsv, prepare.json; replaced as a whole)")
    _add_split_options(prep)
    prep.add_argument("--no-features", action="store_true", help="store no features: training computes them from "
                      "the audio")
    prep.set_defaults(func=_prepare)

    ta = sub.add_parser("train-align", help="prepare a corpus directory, train an aligner on it from scratch, tune "
                        "it on its dev speakers and align every file (resumable; docs/own-corpus.md)")
    ta.add_argument("corpus", help="corpus directory as align-dir and prepare read it (speaker sub-directories, "
                    "NAME.lab/.txt beside NAME.wav; NAME.TextGrid: reference times, used for tuning and scoring)")
    ta.add_argument("--out", required=True, help="run directory: data/, ctc/, final/, model.pt, alignments/, "
                    "train_align.json (what is done; a re-run resumes)")
    ta.add_argument("--units", choices=("graphemes", "dictionary", "cmudict"), default="graphemes",
                    help="tokens: the transcripts' characters (default: any alphabetic language, no lexicon), a "
                    "pronunciation dictionary's phones (--dictionary) or CMUdict's (English)")
    ta.add_argument("--dictionary", help="Montreal Forced Aligner pronunciation dictionary; implies --units dictionary")
    ta.add_argument("--language", help="language code for writing numbers out (num2words: it, ru, de, ...)")
    ta.add_argument("--topology", choices=("auto", "hmm", "hmm-transition", "ctc", "ctc-no-forced-blank"),
                    default="auto",
                    help="the final model's topology (CTC is always trained first: the HMM does not start from "
                    "scratch); auto (default): CTC or the HMM with prior, whichever aligns the dev speakers better")
    ta.add_argument("--steps", type=int, default=600, help="optimizer steps of each training stage at least "
                    "(epochs follow from the corpus size)")
    ta.add_argument("--criterion", choices=("references", "pauses"), help="how alignment options are tuned on the "
                    "dev speakers (default: references when every dev file has a TextGrid, else pause edges)")
    _add_split_options(ta)
    ta.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ta.add_argument("--restart", action="store_true", help="start anew instead of resuming OUT")
    ta.set_defaults(func=_train_align)

    trans = sub.add_parser("transcribe", help="decode words from audio files or a CutSet (lexicon + bigram "
                           "LM in the model's topology, exact Viterbi)")
    trans.add_argument("audio", nargs="*", help="audio files (any rate; resampled to 16 kHz)")
    trans.add_argument("--cuts", help="instead: every cut of this manifest (features attached)")
    trans.add_argument("--model", default=str(DEFAULT_MODEL), type=model_path, help=MODEL_HELP)
    trans.add_argument("--device", default="cpu", help="where the acoustic model runs: cpu (default), cuda")
    trans.add_argument("--lexicon", help=LEXICON_HELP)
    trans.add_argument("--decoder", help="decoder file: LM + options (default: decoder.json[.gz] beside the model)")
    trans.add_argument("--lm-text", help="instead: build a bigram LM from this text (one sentence per line)")
    trans.add_argument("--lm-arpa", help="instead: a unigram or bigram ARPA LM (e.g. KenLM's lmplz -o 2)")
    trans.add_argument("--save-decoder", help="write the decoder (LM + options) to this file")
    trans.add_argument("--lm-scale", type=float, help="LM weight (default: stored, else 1)")
    trans.add_argument("--word-penalty", type=float, help="score added per word (default: stored, else 0)")
    trans.add_argument("--blank-penalty", type=float, help="subtract from blank/silence log-probs (default: "
                       "stored, else 0)")
    trans.add_argument("--prior-scale", type=float, help="divide by the mean posterior to this power (default: "
                       "stored, else 0)")
    trans.add_argument("--max-duration", type=float, default=200.0, help="seconds of audio per batch")
    trans.add_argument("--out", help="write 'utt word ...' lines (the --hyp-text of 'fsttopo score') here")
    trans.add_argument("--align-out", help="also align the decoded words of each audio file with the model's "
                       "stored alignment options: JSON, TextGrid, CTM and plot in this directory")
    trans.set_defaults(func=_transcribe)

    score = sub.add_parser("score", help="alignment accuracy against reference alignments (TSE in ms, WER)")
    score.add_argument("--hyp", required=True, help="alignments: Lhotse supervisions/cuts manifest, JSON file "
                       "or a directory of JSON/TextGrid files")
    score.add_argument("--ref", required=True, help="reference alignments, same forms as --hyp")
    score.add_argument("--hyp-text", help="decoded text per utterance ('utt word word ...' lines) for the WER")
    score.add_argument("--name", help="row name in the table (default: the --hyp file name)")
    score.add_argument("--out", help="also write the Markdown table to this file")
    score.set_defaults(func=_score)

    args = parser.parse_args(argv)
    try:
        args.func(args)
    except ValueError as err:
        sys.exit(f"fsttopo {args.command}: error: {err}")
    except OSError as err:  # a path the checks could not foresee (disk full, permissions changed)
        sys.exit(f"fsttopo {args.command}: error: {err.strerror or err}: {err.filename or ''}".rstrip(": "))
    except KeyboardInterrupt:
        resumable = args.command in ("align-dir", "align-cuts")
        print(f"fsttopo {args.command}: interrupted; the previous output is as it was"
              + ("; what was aligned so far stays beside it (OUT.partial-*) for a run with --resume" if resumable
                 else ", and no partial output file is left"), file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
