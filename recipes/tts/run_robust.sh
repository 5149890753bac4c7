#!/bin/sh
# The robust shipped model (issue 13, docs/augmentation.md): the clean model fine-tuned on augmented
# audio in three stages, dev selection, the boundary detector re-tuned for it, shipping, calibration,
# and the degraded-conditions table against pocketsphinx.
#   bash recipes/tts/run_robust.sh [DATA=data/tts]
# (the stage configs start from exp/tts/hmm_robust*/epoch3.pt: the experiments go to exp/tts)
# About 70 min of training on 2 cores (3 x 3 epochs of 71 batches, 4-5 s a batch on an idle machine).
set -e
DATA=${1:-data/tts}
EXP=exp/tts
M=$DATA/manifests
PY=.venv/bin/python
train() {  # $1 = config name (its train.init_from names the previous stage's epoch file)
    .venv/bin/fsttopo train recipes/tts/configs/$1.json --train $M/cuts_train.jsonl.gz --dev $M/cuts_dev.jsonl.gz \
        --out $EXP/$1 --threads 2
}
# 1. Three fine-tuning stages from the clean shipped model (mixed clean/augmented batches, speed
#    perturbation, silence padding): LR 2e-4, then 1e-4 twice, new augmentation draws each stage.
train hmm_robust
train hmm_robust_stage2
train hmm_robust_stage3
# 2. Dev selection of the alignment options of the last stage, shipped without the detector first.
$PY recipes/tts/tune.py --exp $EXP/hmm_robust_stage3
$PY recipes/tts/ship.py --tuned $EXP/hmm_robust_stage3/tuned.json --lm-text /nonexistent --out $EXP/robust_ship
# 3. The boundary detector (docs/boundaries.md), its refinement settings tuned on dev for this aligner.
#    Dev and dev through the training augmentation (devaug) are both tuned on, with separate
#    settings for word boundaries next to pauses (docs/boundaries.md, "Pause edges") and onset
#    shifts for reverberant audio ("Reverberant onsets").
$PY recipes/tts/train_boundary.py baseline --model $EXP/robust_ship/model.pt --out $EXP/boundary/baseline --methods posterior \
    --splits dev devaug test
#    The shipped one is the word-target detector trained with noisy copies of half the cuts (word_aug).
$PY recipes/tts/train_boundary.py train --targets word --augment 0.5 --augment-cache $EXP/boundary/augmented_0.5_seed0.pt \
    --epochs 8 --max-minutes 14 --out $EXP/boundary/word_aug/detector.pt
$PY recipes/tts/train_boundary.py evaluate --detector $EXP/boundary/word_aug/detector.pt --baseline $EXP/boundary/baseline \
    --pause-edges --reverb-onsets --out $EXP/boundary/word_aug/results.md
$PY recipes/tts/train_boundary.py ship --detector $EXP/boundary/word_aug/detector.pt --tuned $EXP/boundary/word_aug/results.json \
    --model $EXP/robust_ship/model.pt --default --out $EXP/robust_ship/model_refined.pt \
    --refiner-out $EXP/boundary/word_aug/refiner.pt
# 4. Ship as fsttopo/assets/model_robust (`--model robust`) with the detector and no word decoder
#    (an --lm-text that is no file skips it), calibrate the low-confidence flag.
R=fsttopo/assets/model_robust
$PY recipes/tts/ship.py --tuned $EXP/hmm_robust_stage3/tuned.json --boundary-detector $EXP/boundary/word_aug/refiner.pt \
    --lm-text "" --out $R
$PY recipes/tts/calibrate_confidence.py --model $R/model.pt --dev $M/cuts_dev.jsonl.gz \
    --test $M/cuts_test.jsonl.gz --test-limit 250 --out $EXP/calibration_robust
#    The default number of frame-grid phases, chosen on dev and devaug (docs/alignment.md).
$PY recipes/tts/choose_phases.py --model $R --devaug
# 5. Degraded test copies and the table against pocketsphinx 5.1.1 and torchaudio (needs the [bench] extra).
$PY recipes/tts/degrade.py --out $DATA/degraded
$PY recipes/tts/eval_conditions.py --degraded $DATA/degraded --out $EXP/conditions --limit 50 --silence-limit 10 --model robust
