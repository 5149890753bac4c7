#!/usr/bin/env bash
# Stages 5-7 of the TTS recipe: train the four aligners, compare them on the held-out voices,
# ship the best one. Run from the repository root after `python recipes/tts/prepare.py`.
#   bash recipes/tts/run_comparison.sh [DATA=data/tts] [EXP=exp/tts]
# CPU times on the 2-core VM are in docs/results.md. The configs' init_from paths assume EXP=exp/tts.
set -euo pipefail
DATA=${1:-data/tts}
EXP=${2:-exp/tts}
M=$DATA/manifests
FSTTOPO=${FSTTOPO:-.venv/bin/fsttopo}
train() {  # config name [threads]; one thread per job when two jobs share the two cores
  $FSTTOPO train recipes/tts/configs/$1.json --train $M/cuts_train.jsonl.gz --dev $M/cuts_dev.jsonl.gz \
    --out $EXP/$1 --threads ${2:-1} > $EXP/$1.log 2>&1
}
mkdir -p $EXP
# 1. CTC from scratch, 6 epochs. The HMM topology trained from scratch was still all silence
#    after its first epoch (TSE 612 ms on the example), so the HMM with prior starts from CTC's
#    first epoch (5 epochs, beside CTC's remaining 5).
train ctc &
CTC=$!
while [ ! -f $EXP/ctc/epoch1.pt ]; do kill -0 $CTC || exit 1; sleep 10; done
train hmm_prior &
HMM=$!
# 2. Fine-tuned 3 epochs each: CTC without forced blank from CTC, the HMM with transition model from
#    the HMM with prior (same topology, other scales).
wait $CTC
train ctc_no_forced_blank &
wait $HMM
train hmm_transition
wait
# 3. The short schedule (the first session's): CTC 2 epochs of 120 s batches, then the HMM with prior
#    1 epoch from CTC's first; alone on both cores.
train ctc_short 2
train hmm_prior_short 2
# 4. Compare on the test voices (Viterbi on each model's topology, GradScore on CTC, torchaudio baseline;
#    WER of word decoding with a bigram LM of the training text pool).
.venv/bin/python recipes/tts/compare.py --exp $EXP --cuts $M/cuts_test.jsonl.gz --dev $M/cuts_dev.jsonl.gz \
    --lm-text $DATA/text/train.jsonl --out $EXP/results.md
# 5. Ship the model with the lowest dev TSE (its dev-selected epoch, penalty and prior scale) as fsttopo/assets/model/,
#    with its word decoder.
.venv/bin/python recipes/tts/ship.py --tuned $EXP/tuned.json --lm-text $DATA/text/train.jsonl --out fsttopo/assets/model
# 6. The default number of frame-grid phases: the fewest within 0.2 ms of the best on dev (docs/alignment.md)
.venv/bin/python recipes/tts/choose_phases.py --model fsttopo/assets/model
# 7. Whether (at what penalty) to choose among pronunciation variants: on if it lowers dev (docs/alignment.md)
.venv/bin/python recipes/tts/choose_variants.py --model fsttopo/assets/model
# 8. Calibrate the low-confidence flag, with the options chosen above, on the dev voice with wrong
#    transcripts, check it on test voices
.venv/bin/python recipes/tts/calibrate_confidence.py --model fsttopo/assets/model/model.pt --dev $M/cuts_dev.jsonl.gz \
    --test $M/cuts_test.jsonl.gz --test-limit 250 --out $EXP/calibration
