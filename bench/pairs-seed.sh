#!/usr/bin/env bash
# Prints COUNT pairs (default 40) of the seed images for defect-detect
# --pairs: good.png against defect1..4.png in turn, so one reference serves
# every pair (prepared once) and the tests are 1130x1100 RGBA PNGs.
# Usage: bench/pairs-seed.sh SEED_DIR [COUNT] > pairs.tsv
set -euo pipefail
dir=${1:?usage: $0 SEED_DIR [COUNT]}
count=${2:-40}
for ((i = 0; i < count; i++)); do
    printf '%s/good.png\t%s/defect%d.png\n' "$dir" "$dir" $((i % 4 + 1))
done
