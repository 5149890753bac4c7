#!/usr/bin/env bash
# Issue 16: train the three Aligner-Encoder variants and the CTC model of the same budget (two runs at
# a time, one thread each), then evaluate them on the held-out test voices (docs/aligner_encoder.md).
# Run from the repository root after `python recipes/tts/prepare.py`.
#   bash recipes/tts/run_aligner.sh [DATA=data/tts] [EXP=exp/tts_aligner]
set -euo pipefail
DATA=${1:-data/tts}
EXP=${2:-exp/tts_aligner}
M=$DATA/manifests
FSTTOPO=${FSTTOPO:-.venv/bin/fsttopo}
PYTHON=${PYTHON:-.venv/bin/python}
train() {  # config name
  $FSTTOPO train recipes/tts/configs/$1.json --train $M/cuts_train.jsonl.gz --dev $M/cuts_dev.jsonl.gz \
    --out $EXP/$1 --threads 1 > $EXP/$1.log 2>&1
}
mkdir -p $EXP
train aligner & A=$!
train ctc_budget & B=$!
wait $A; wait $B
train aligner_interctc & A=$!
train interaligner_interctc & B=$!
wait $A; wait $B
$PYTHON recipes/tts/eval_aligner.py --exp $EXP --cuts $M/cuts_test.jsonl.gz --out $EXP/results.md --threads 2
