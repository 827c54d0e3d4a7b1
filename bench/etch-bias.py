#!/usr/bin/env python3
"""Etch bias on real layouts: defect-free pairs, counted false calls.

usage: etch-bias.py BINARY DEEPPCB_ROOT [COUNT [DIR]]

Takes COUNT (default 70) DeepPCB templates spread over all groups and makes
from each a test that differs only as etching and exposure make boards
differ: every copper region (a connected net) is 0-4 px wider or narrower
over its whole outline, each net by its own amount, the whole board by a
common amount as well, and the image is moved by up to 2 px and scaled by
up to 0.5 % (the scanner). Edges are anti-aliased (drawn at 4x, box-filtered
down) and saved as JPEG, as the scans are. No defect is planted, so every
detection is a false call; the templates' own test images are not used.
Prints the false calls per case by kind and the totals. Deterministic.
Needs numpy, scipy and PIL (python3-numpy, python3-scipy, python3-pil).
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

SUPER = 4


def biased(template, rng):
    """The template with each net's outline moved by its own offset."""
    # DeepPCB draws copper black on white.
    copper = np.asarray(template.convert("L")) < 128
    big = np.kron(copper, np.ones((SUPER, SUPER), dtype=bool))
    labels, nets = ndimage.label(big)
    common = rng.uniform(-1.0, 1.0)
    # Half the width change per edge: a net 0-4 px wider moves each edge 0-2 px.
    offset = np.concatenate([[0.0], common + rng.uniform(-1.0, 1.0, nets)])
    offset = np.clip(offset, -2.0, 2.0) * SUPER
    outside, nearest = ndimage.distance_transform_edt(~big, return_indices=True)
    inside = ndimage.distance_transform_edt(big)
    owner = labels[nearest[0], nearest[1]]
    signed = np.where(big, -inside, outside)
    grown = signed < offset[owner]
    return grown, abs(common)


def scanned(mask, rng):
    """The 4x mask moved, scaled and box-filtered down to 8-bit grey."""
    h, w = mask.shape
    scale = 1.0 + rng.uniform(-0.005, 0.005)
    shift = rng.uniform(-2.0, 2.0, 2) * SUPER
    centre = np.array([h / 2, w / 2])
    matrix = np.eye(2) / scale
    offset = centre - matrix @ (centre + shift)
    moved = ndimage.affine_transform(mask.astype(np.float32), matrix, offset, order=1)
    small = moved.reshape(h // SUPER, SUPER, w // SUPER, SUPER).mean(axis=(1, 3))
    return Image.fromarray(((1.0 - small) * 255).round().astype(np.uint8))


def templates(root, count):
    lines = [l.split()[0] for l in (root / "trainval.txt").read_text().splitlines() if l.strip()]
    step = max(1, len(lines) // count)
    return [root / l.replace(".jpg", "_temp.jpg") for l in lines[::step][:count]]


def main():
    if len(sys.argv) not in (3, 4, 5):
        sys.exit(__doc__)
    binary, root = sys.argv[1], Path(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 70
    work = Path(sys.argv[4]) if len(sys.argv) > 4 else Path(tempfile.mkdtemp())
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(17)
    pairs = []
    for path in templates(root, count):
        reference = Image.open(path).convert("L")
        grown, _ = biased(reference, rng)
        test = work / path.name.replace("_temp.jpg", "_biased.jpg")
        scanned(grown, rng).save(test, quality=90)
        pairs.append((path, test))
    listing = work / "pairs.tsv"
    listing.write_text("".join(f"{r}\t{t}\n" for r, t in pairs))
    out = subprocess.run(
        [binary, "--pairs", str(listing), "--jsonl", "--quiet"],
        capture_output=True,
        text=True,
    )
    if out.returncode not in (0, 1):
        sys.exit(f"{binary}: exit {out.returncode}: {out.stderr.strip()}")
    total, clean, kinds = 0, 0, {}
    for line in out.stdout.splitlines():
        record = json.loads(line)
        if "defects" not in record:
            continue
        found = record["defects"]
        total += len(found)
        clean += not found
        for d in found:
            kinds[d["type"]] = kinds.get(d["type"], 0) + 1
        if found:
            boxes = " ".join(f"{d['type']}@{d['x']},{d['y']},{d['width']}x{d['height']}" for d in found)
            print(f"{Path(record['test']).name}: {boxes}")
    print(f"pairs {len(pairs)} false calls {total} ({total / len(pairs):.3f} per pair), clean {clean}")
    print("by type: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))


if __name__ == "__main__":
    main()
