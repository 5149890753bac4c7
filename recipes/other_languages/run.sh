#!/usr/bin/env bash
# Synthetic Italian and Russian corpora in MFA layout (see README.md): install, then synthesize.
# Usage: recipes/other_languages/run.sh [MINUTES]   (default 60 minutes of speech per language)
# then train-align on each (graphemes and the phone dictionary) with one voice held out, scored (docs/own-corpus.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=${1:-60}
python=${PYTHON:-python}
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

# 2. Synthesis: data/other_languages/{it,ru}/{corpus/,dictionary.txt,summary.json}
for language in it ru; do
  $python recipes/other_languages/synthesize.py --language "$language" \
    --out "data/other_languages/$language/corpus" --minutes "$minutes"
done

# 3. One voice (with its speed copies) held out: data/other_languages/{it,ru}/{train,test}/ (links).
# 4. train-align on the rest, dev = the slow copy of the training voice; the held-out voice aligned
#    by the model alone and scored against its TextGrids.
fsttopo=${FSTTOPO:-fsttopo}
for language in it ru; do
  $python recipes/other_languages/split.py --language "$language"
  dev=$([ "$language" = it ] && echo lp-slow || echo nsh-slow)
  for units in graphemes dictionary; do
    out=exp/other/${language}_${units}
    extra=()
    [ "$units" = dictionary ] && extra=(--dictionary "data/other_languages/$language/dictionary.txt")
    $fsttopo train-align "data/other_languages/$language/train" --out "$out" --units "$units" "${extra[@]}" \
      --dev-speakers "$dev" --language "$language" --jobs 2 --threads 2
    $fsttopo align-dir "data/other_languages/$language/test" --model "$out/model.pt" --out "$out/test_alignments"
    $fsttopo score --hyp "$out/test_alignments" --ref "data/other_languages/$language/test" \
      --name "$language $units, held-out voice" --out "$out/test_score.md"
  done
  # 5. The held-out voice next to pocketsphinx 5.1.1 (needs the [bench] extra).
  $python recipes/other_languages/baseline_table.py --corpus "data/other_languages/$language/test" \
    --run "$language graphemes=exp/other/${language}_graphemes" --run "$language dictionary=exp/other/${language}_dictionary" \
    --out "exp/other/${language}_table.md"
done
