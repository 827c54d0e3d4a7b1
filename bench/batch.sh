#!/usr/bin/env bash
# Batch throughput and peak memory of the release binary, whole process:
# the 1,000 DeepPCB trainval pairs and 40 seed pairs.
# Usage: bench/batch.sh DEEPPCB_ROOT SEED_DIR [extra defect-detect flags]
# Needs GNU time (/usr/bin/time) and hyperfine (Debian: apt-get install time hyperfine).
set -euo pipefail
deeppcb=${1:?usage: $0 DEEPPCB_ROOT SEED_DIR [flags]}
seed=${2:?usage: $0 DEEPPCB_ROOT SEED_DIR [flags]}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
cargo build --release --quiet
bin=$PWD/target/release/defect-detect
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$here/pairs-deeppcb.sh" "$deeppcb" > "$work/deeppcb.tsv"
"$here/pairs-seed.sh" "$seed" 40 > "$work/seed.tsv"
for set in deeppcb seed; do
    pairs=$(wc -l < "$work/$set.tsv")
    echo "== $set: $pairs pairs, $(nproc) cores"
    # Exit status 1 (defects found) is the expected outcome here.
    hyperfine --warmup 1 --runs 5 -i --export-json "$work/$set.json" \
        "$bin --pairs $work/$set.tsv --json --quiet $* > /dev/null"
    mean=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][0]['mean'])" "$work/$set.json")
    python3 -c "import sys; print(f'{sys.argv[1]}: {int(sys.argv[2])/float(sys.argv[3]):.1f} pairs/s (mean {float(sys.argv[3]):.2f} s)')" "$set" "$pairs" "$mean"
    /usr/bin/time -v "$bin" --pairs "$work/$set.tsv" --json --quiet "$@" > /dev/null 2> "$work/time.txt" || true
    grep -E 'Maximum resident set size|Elapsed \(wall' "$work/time.txt"
done
