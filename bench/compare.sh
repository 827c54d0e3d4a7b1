#!/usr/bin/env bash
# Whole-process timing of defect-detect against the original OpenCV pipeline
# (bench/opencv_original.py) and, for one pair, odiff; side by side in one
# hyperfine run per case, medians reported; then peak memory with GNU time.
#
# usage: bench/compare.sh [SEED_DIR] [DEEPPCB_ROOT]
#   SEED_DIR      good.png + defect1..4.png (default ../shared/data/seed; drawn
#                 by `make_sample --seed-like` when absent)
#   DEEPPCB_ROOT  folder with trainval.txt (default ../shared/data/deeppcb-trainval;
#                 case (c) is skipped when absent)
#
# Needs: cargo, hyperfine and GNU time (Debian: apt-get install hyperfine time),
# python3 with venv, npm. Installs nothing globally: numpy and
# opencv-python-headless go into target/bench/venv, odiff-bin 4.5 into
# target/bench/node. Results go to target/bench/*.md and stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-../shared/data/seed}
deeppcb=${2:-../shared/data/deeppcb-trainval}
work=target/bench
mkdir -p "$work"

for tool in hyperfine /usr/bin/time python3 npm; do
    command -v "$tool" >/dev/null || { echo "compare.sh: needs $tool" >&2; exit 2; }
done
[ -x "$work/venv/bin/python" ] || python3 -m venv "$work/venv"
"$work/venv/bin/python" -c 'import cv2, numpy' 2>/dev/null ||
    "$work/venv/bin/pip" install -q numpy opencv-python-headless
odiff="$work/node/node_modules/@odiff/linux-x64/odiff"
[ -x "$odiff" ] || npm install --silent --prefix "$work/node" odiff-bin@4.5 >/dev/null
python="$work/venv/bin/python"
cargo build --release -q --bin defect-detect --example decode
dd=target/release/defect-detect

if [ ! -f "$seed/good.png" ]; then
    seed="$work/seed-like"
    cargo run --release -q --example make_sample -- --seed-like "$seed"
fi

# (a) one pair
hyperfine -N -i -w 5 -r 40 --export-json "$work/one-pair.json" \
    -n defect-detect "$dd $seed/good.png $seed/defect2.png --json" \
    -n opencv-original "$python bench/opencv_original.py $seed/good.png $seed/defect2.png" \
    -n odiff "$odiff $seed/good.png $seed/defect2.png $work/odiff-diff.png"

# Peak memory and page faults of one pair, which cost differently from one
# machine to the next (a fault's price, huge pages): the medians of five runs.
one_pair_memory() {
    local name=$1; shift
    for _ in 1 2 3 4 5; do
        # Both tools exit non-zero when the images differ: not a failure.
        { /usr/bin/time -f '%M %R' "$@" 2>&1 >/dev/null || true; } | tail -1
    done | sort -n | awk -v name="$name" 'NR == 3 {print "one pair, " name ": peak RSS " $1 " kB, " $2 " page faults (median of 5)"}'
}
one_pair_memory defect-detect "$dd" "$seed/good.png" "$seed/defect2.png" --json
one_pair_memory odiff "$odiff" "$seed/good.png" "$seed/defect2.png" "$work/odiff-diff.png"

# (b) 40 pairs of the original size
: > "$work/seed40.tsv"
for _ in $(seq 10); do
    for i in 1 2 3 4; do printf '%s\t%s\n' "$seed/good.png" "$seed/defect$i.png" >> "$work/seed40.tsv"; done
done
hyperfine -N -i -w 2 -r 10 --export-json "$work/seed40.json" \
    -n defect-detect "$dd --pairs $work/seed40.tsv --json --quiet" \
    -n opencv-original "$python bench/opencv_original.py --pairs $work/seed40.tsv"

# (c) the DeepPCB pairs, defaults
if [ -f "$deeppcb/trainval.txt" ]; then
    bench/pairs-deeppcb.sh "$deeppcb" > "$work/deeppcb.tsv"
    hyperfine -N -i -w 1 -r 5 --export-json "$work/deeppcb.json" \
        -n defect-detect "$dd --pairs $work/deeppcb.tsv --json --quiet" \
        -n defect-detect-exact "$dd --pairs $work/deeppcb.tsv --json --quiet --align none --tolerance 0" \
        -n opencv-original "$python bench/opencv_original.py --pairs $work/deeppcb.tsv" \
        -n decoding-limit "target/release/examples/decode --pairs $work/deeppcb.tsv"
    for n in 1 4; do
        for _ in $(seq $n); do cat "$work/deeppcb.tsv"; done > "$work/deeppcb-x$n.tsv"
        /usr/bin/time -v "$dd" --pairs "$work/deeppcb-x$n.tsv" --json --quiet 2> "$work/time-x$n.txt" > /dev/null || true
        echo "peak RSS, $(wc -l < "$work/deeppcb-x$n.tsv") DeepPCB pairs: $(awk -F': ' '/Maximum resident/ {print $2}' "$work/time-x$n.txt") kB"
    done
fi
# Medians, and throughput for the batches.
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
for case, pairs in (("one-pair", 1), ("seed40", 40), ("deeppcb", 1000)):
    path = os.path.join(work, case + ".json")
    if not os.path.exists(path):
        continue
    print(f"| {case} | command | median | pairs/s |")
    print("| --- | --- | --- | --- |")
    for r in json.load(open(path))["results"]:
        m = r["median"]
        print(f"| {case} | {r['command']} | {m * 1000:.1f} ms | {pairs / m:.1f} |")
    medians = {r["command"]: r["median"] for r in json.load(open(path))["results"]}
    if "decoding-limit" in medians and "defect-detect" in medians:
        ratio = medians["decoding-limit"] / medians["defect-detect"]
        print(f"defect-detect at {ratio:.2f} of the decoding limit's pairs/s")
PY
