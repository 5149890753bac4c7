#!/usr/bin/env bash
# Synthetic Italian and Russian corpora in MFA layout (see README.md): install, then synthesize.
# Usage: recipes/other_languages/run.sh [MINUTES]   (default 60 minutes of speech per language)
# Later steps (fsttopo prepare / train-align on these corpora) are to be added below.
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
