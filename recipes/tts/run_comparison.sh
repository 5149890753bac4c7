#!/usr/bin/env bash
# Stages 5-7 of the TTS recipe: train the four aligners, compare them on the held-out voices,
# ship the best one. Run from the repository root after `python recipes/tts/prepare.py`.
#   bash recipes/tts/run_comparison.sh [DATA=data/tts] [EXP=exp/tts]
# CPU times on the 2-core VM are in docs/results.md.
set -euo pipefail
DATA=${1:-data/tts}
EXP=${2:-exp/tts}
M=$DATA/manifests
FSTTOPO=${FSTTOPO:-.venv/bin/fsttopo}
train() {  # config name
  $FSTTOPO train recipes/tts/configs/$1.json --train $M/cuts_train.jsonl.gz --dev $M/cuts_dev.jsonl.gz \
    --out $EXP/$1 --threads 1 > $EXP/$1.log 2>&1
}
mkdir -p $EXP
# 1. CTC from scratch (2 epochs); its first-epoch model (ctc/epoch1.pt) initializes the others.
train ctc
# 2. HMM with transition model, HMM with prior, CTC without forced blank: 1 epoch each from CTC
#    epoch 1 (the HMM topology trained from scratch had not left the all-silence stage after one
#    epoch in this CPU budget), in parallel.
for c in hmm_transition hmm_prior ctc_no_forced_blank; do train $c & done
wait
# 3. Compare on the test voices (Viterbi on each model's topology, GradScore on CTC, torchaudio baseline).
.venv/bin/python recipes/tts/compare.py --exp $EXP --cuts $M/cuts_test.jsonl.gz --out $EXP/results.md
# 4. Ship the HMM with prior (best on the shipped example) as data/model/.
.venv/bin/python recipes/tts/ship.py --exp $EXP/hmm_prior --out data/model
