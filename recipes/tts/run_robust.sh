#!/bin/sh
# The robust shipped model (issue 13, docs/augmentation.md): the clean model fine-tuned on augmented
# audio in three stages, dev selection, a fourth run with one more voice and tempo/pitch perturbation
# averaged with the third, the boundary detector trained and tuned for it, shipping, calibration, and
# the degraded-conditions table against pocketsphinx, and the rule that picks a model per recording.
#   bash recipes/tts/run_robust.sh [DATA=data/tts]
# (the stage configs start from exp/tts/hmm_robust*/epoch3.pt: the experiments go to exp/tts)
# The three stages train 3 x 3 epochs of 72 batches (the 2.0 h split at original speed, 4-5 s a
# batch on an idle 2-core machine: 15 min a stage), then 30 min for the flite-slt-var run (2 x 242
# batches) and 10 min for the boundary detector (docs/augmentation.md, "The robust model").
set -e
DATA=${1:-data/tts}
EXP=exp/tts
M=$DATA/manifests
PY=.venv/bin/python
train() {  # $1 = config name (its train.init_from names the previous stage's epoch file), $2 = training cuts;
           # --resume: a run started again continues each stage from its last finished epoch, to the same weights
    .venv/bin/fsttopo train recipes/tts/configs/$1.json --train $2 --dev $M/cuts_dev.jsonl.gz \
        --out $EXP/$1 --threads 2 --resume
}
# 0. The stages train on the original-speed cuts, as the shipped stages did: their on-the-fly speed
#    perturbation (speed_prob 0.5) stands in for prepare.py's 0.9/1.1 copies, which would triple
#    an epoch (208 batches instead of 72).
$PY -c "import sys; from lhotse import load_manifest_lazy
load_manifest_lazy(sys.argv[1]).filter(lambda c: c.supervisions[0].custom['speed'] == 1.0).to_file(sys.argv[2])" \
    $M/cuts_train.jsonl.gz $M/cuts_train_speed1.jsonl.gz
# 1. Three fine-tuning stages from the clean shipped model (mixed clean/augmented batches, speed
#    perturbation, silence padding): LR 2e-4, then 1e-4 twice, new augmentation draws each stage.
train hmm_robust $M/cuts_train_speed1.jsonl.gz
train hmm_robust_stage2 $M/cuts_train_speed1.jsonl.gz
train hmm_robust_stage3 $M/cuts_train_speed1.jsonl.gz
# 2. Dev selection of the alignment options of the last stage. Shipped as $R without a detector
#    for now: the next stage's config starts from $R/model.pt.
R=fsttopo/assets/model_robust
$PY recipes/tts/tune.py --exp $EXP/hmm_robust_stage3
$PY recipes/tts/ship.py --tuned $EXP/hmm_robust_stage3/tuned.json --boundary-detector "" --lm-text "" --out $R
# 3. More voices and tempo/pitch perturbation, averaged with the stage-3 weights (docs/augmentation.md,
#    "More voices"): flite-slt-var joins the training split, 2 epochs from stage 3, then the
#    half-half weight average, shipped with stage 3's options.
$PY recipes/tts/prepare.py --out $DATA --hours 3 --extra-hours 0.3333 --extra-voices flite-slt-var
train hmm_robust_sltvar_pitch $M/cuts_train.jsonl.gz
$PY recipes/tts/average_models.py --models $R/model.pt $EXP/hmm_robust_sltvar_pitch/epoch2.pt --weights 0.5 0.5 \
    --cuts $M/cuts_train.jsonl.gz --out $EXP/robust_soup50
$PY recipes/tts/ship.py --tuned $EXP/hmm_robust_stage3/tuned.json --weights $EXP/robust_soup50/model.pt \
    --boundary-detector "" --lm-text "" --out $EXP/robust_soup50_ship
# 4. The boundary detector (docs/boundaries.md): word targets, noisy copies of half the training cuts
#    through the augmentation chain ending on a 16-bit grid (quiet recordings as a wav file stores
#    them: tests/test_level.py), its refinement settings tuned for this aligner on dev, and on dev and
#    dev through the training augmentation (devaug) for word boundaries next to pauses ("Pause
#    edges") and onset shifts in reverberant audio ("Reverberant onsets").
$PY recipes/tts/train_boundary.py baseline --model $EXP/robust_soup50_ship/model.pt --out $EXP/boundary/baseline_soup50 \
    --methods posterior --splits dev devaug test
$PY recipes/tts/train_boundary.py train --targets word --augment 0.5 --quantize-bits 16 \
    --augment-cache $EXP/boundary/augmented_0.5_seed0_q16.pt --epochs 8 --out $EXP/boundary/word_aug_q16/detector.pt
$PY recipes/tts/train_boundary.py evaluate --detector $EXP/boundary/word_aug_q16/detector.pt \
    --baseline $EXP/boundary/baseline_soup50 --pause-edges --reverb-onsets --out $EXP/boundary/word_aug_q16/results.md
$PY recipes/tts/train_boundary.py ship --detector $EXP/boundary/word_aug_q16/detector.pt \
    --tuned $EXP/boundary/word_aug_q16/results.json --model $EXP/robust_soup50_ship/model.pt --default \
    --out $EXP/robust_soup50_ship/model_refined.pt --refiner-out $EXP/boundary/word_aug_q16/refiner.pt
# 5. Ship as fsttopo/assets/model_robust (`--model robust`) with the detector and no word decoder
#    (an --lm-text that is no file skips it), choose the default number of frame-grid phases and
#    whether (at what penalty) to choose among pronunciation variants on dev and devaug
#    (docs/alignment.md), then calibrate the low-confidence flag with those options, its condition
#    adjustment on dev and devaug (docs/robustness.md).
$PY recipes/tts/ship.py --tuned $EXP/hmm_robust_stage3/tuned.json --weights $EXP/robust_soup50/model.pt \
    --boundary-detector $EXP/boundary/word_aug_q16/refiner.pt --lm-text "" --out $R
$PY recipes/tts/choose_phases.py --model $R --devaug
$PY recipes/tts/choose_variants.py --model $R --devaug
$PY recipes/tts/calibrate_confidence.py --model $R/model.pt --dev $M/cuts_dev.jsonl.gz \
    --test $M/cuts_test.jsonl.gz --test-limit 250 --devaug --out $EXP/calibration_robust
# 6. Degraded test copies and the table against pocketsphinx 5.1.1 and torchaudio (needs the [bench] extra).
$PY recipes/tts/degrade.py --out $DATA/degraded
$PY recipes/tts/eval_conditions.py --degraded $DATA/degraded --out $EXP/conditions --limit 50 --silence-limit 10 --model robust
# 7. The rule that picks one of the two shipped models per recording (--model auto, the default of
#    align, align-dir and align-cuts; docs/alignment.md): chosen on dev and devaug with both models'
#    stored options, and the speech level on dev made quiet (4 min), written to fsttopo/assets/routing.json;
#    then the table with it.
$PY recipes/tts/choose_routing.py
$PY recipes/tts/eval_conditions.py --degraded $DATA/degraded --out $EXP/conditions_auto --limit 50 --silence-limit 10 \
    --model auto --aligners fsttopo,pocketsphinx
