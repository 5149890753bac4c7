#!/usr/bin/env bash
# Synthetic Italian and Russian corpora in MFA layout (see README.md): install, synthesize, hold one
# voice out, train-align on the rest (graphemes and the phone dictionary), score the held-out voice
# next to pocketsphinx, compare the topologies on Italian and score the own recordings per voice
# (docs/own-corpus.md; 59 minutes on 2 cores).
# Usage: recipes/other_languages/run.sh [MINUTES]   (default 90 minutes of speech per language)
#   EXTRA_VOICES=0 recipes/other_languages/run.sh 60   the earlier corpora: festival's voices (and
#                                                      Russian's held-out espeak-ng ones) only
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=${1:-90}
extra=()
[ "${EXTRA_VOICES:-1}" = 1 ] && extra=(--extra-voices)
python=${PYTHON:-python}
fsttopo=${FSTTOPO:-fsttopo}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

# 1. Debian packages (root): festival voices, fortunes, espeak-ng, sox.
packages=(festival festvox-italp16k festvox-itapc16k festvox-ru fortunes-it fortunes-ru
          espeak-ng libespeak-ng1 sox)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

# 2. Synthesis: data/other_languages/{it,ru}/{corpus/,dictionary.txt,summary.json}. With the extra
#    voices (three espeak-ng voices each, after festival's: 90 minutes = 10 per speaker, as 60 were
#    without them) festival's speakers read the same sentences as without them.
# 3. One voice (with its speed copies) held out: data/other_languages/{it,ru}/{train,test}/ (links).
# 4. train-align on the rest, dev = the slow copy of the festival training voice; the held-out voice
#    aligned by the model alone and scored against its TextGrids.
for language in it ru; do
  rm -rf "data/other_languages/$language"
  $python recipes/other_languages/synthesize.py --language "$language" \
    --out "data/other_languages/$language/corpus" --minutes "$minutes" "${extra[@]}"
  $python recipes/other_languages/split.py --language "$language"
  dev=$([ "$language" = it ] && echo lp-slow || echo nsh-slow)
  for units in graphemes dictionary; do
    out=exp/other/${language}_${units}
    args=()
    [ "$units" = dictionary ] && args=(--dictionary "data/other_languages/$language/dictionary.txt")
    # --topology hmm: the table's rows (the default, auto, may keep the CTC stage instead)
    $fsttopo train-align "data/other_languages/$language/train" --out "$out" --units "$units" "${args[@]}" \
      --topology hmm --dev-speakers "$dev" --language "$language" --jobs 2 --threads 2
    $fsttopo align-dir "data/other_languages/$language/test" --model "$out/model.pt" --out "$out/test_alignments"
    $fsttopo score --hyp "$out/test_alignments" --ref "data/other_languages/$language/test" \
      --name "$language $units, held-out voice" --out "$out/test_score.md"
  done
  # 5. The held-out voice next to pocketsphinx 5.1.1 (needs the [bench] extra).
  $python recipes/other_languages/baseline_table.py --corpus "data/other_languages/$language/test" \
    --run "$language graphemes=exp/other/${language}_graphemes" --run "$language dictionary=exp/other/${language}_dictionary" \
    --out "exp/other/${language}_table.md"
done

# 6. The paper's question on Italian: HMM with prior (the runs above), HMM with transitions, CTC
#    without forced blank (a run each) and CTC (the bootstrap stage of the graphemes run).
for topology in hmm-transition ctc-no-forced-blank; do
  out=exp/other/it_graphemes_$topology
  $fsttopo train-align data/other_languages/it/train --out "$out" --units graphemes --topology "$topology" \
    --dev-speakers lp-slow --language it --jobs 2 --threads 2
  $fsttopo align-dir data/other_languages/it/test --model "$out/model.pt" --out "$out/test_alignments"
  $fsttopo score --hyp "$out/test_alignments" --ref data/other_languages/it/test \
    --name "it graphemes, $topology, held-out voice" --out "$out/test_score.md"
done
$python recipes/other_languages/compare_stages.py --run exp/other/it_graphemes \
  --test data/other_languages/it/test --out exp/other/it_graphemes/stages.md

# 7. The own-recordings columns of docs/own-corpus.md: each run's alignment of its own corpus per speaker.
for language in it ru; do
  $python recipes/other_languages/voice_table.py --corpus "data/other_languages/$language/train" \
    --run "$language graphemes=exp/other/${language}_graphemes" --run "$language dictionary=exp/other/${language}_dictionary" \
    --out "exp/other/${language}_voices.md"
done
