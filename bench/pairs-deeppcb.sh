#!/usr/bin/env bash
# Prints the DeepPCB pairs list for defect-detect --pairs: one
# `REFERENCE<TAB>TEST` line per entry of ROOT/trainval.txt, whose lines name
# `groupG/N/X.jpg groupG/N_not/X.txt`; the images are `X_temp.jpg` (the
# template) and `X_test.jpg` beside each other.
# Usage: bench/pairs-deeppcb.sh ROOT > pairs.tsv
set -euo pipefail
root=${1:?usage: $0 DEEPPCB_ROOT}
while read -r image _; do
    [[ -z $image || $image == \#* ]] && continue
    stem=${image%.jpg}
    printf '%s/%s_temp.jpg\t%s/%s_test.jpg\n' "$root" "$stem" "$root" "$stem"
done < "$root/trainval.txt"
