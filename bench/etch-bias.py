#!/usr/bin/env python3
"""Etch bias on real layouts: DeepPCB boards etched and scanned differently.

usage: etch-bias.py BINARY DEEPPCB_ROOT [COUNT [DIR]]
       etch-bias.py --defects DEEPPCB_ROOT [COUNT [DIR]]

Takes COUNT (default 70) DeepPCB pairs spread over all groups and redraws
an image of each as etching, exposure and the scanner make boards differ:
every copper region (a connected net) is 0-4 px wider or narrower over its
whole outline, each net by its own amount around a common one for the
board, but never to under 2 px of width or spacing (that would be a short
or an open); the image is moved by up to 2 px, scaled by up to 0.5 % and warped
smoothly by up to 1 px more (a scanner's non-uniform motion). Edges are
anti-aliased (drawn at 4x, box-filtered down) and saved as JPEG, as the
scans are. Deterministic.

By default the template is redrawn and compared with itself: there is no
defect, so every detection is a false call; they are printed per board
with the totals. With --defects the test image is redrawn instead, its
annotated defects etched with it, and DIR is laid out as DeepPCB is, so
that `eval deeppcb DIR DIR/trainval.txt` measures recall and false calls
on boards whose etching differs from their template's.
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
    # DeepPCB draws copper black on white; specks under 10 px are the
    # scanner's, not copper, and are not etched.
    copper = np.asarray(template.convert("L")) < 128
    copper = despeckled(despeckled(copper, 10), 10, hole=True)
    big = np.kron(copper, np.ones((SUPER, SUPER), dtype=bool))
    labels, nets = ndimage.label(big)
    common = rng.uniform(-1.0, 1.0)
    # Half the width change per edge: a net 0-4 px wider moves each edge 0-2 px.
    offset = np.concatenate([[0.0], common + rng.uniform(-1.0, 1.0, nets)])
    offset = np.clip(offset, -2.0, 2.0) * SUPER
    outside, nearest = ndimage.distance_transform_edt(~big, return_indices=True)
    inside = ndimage.distance_transform_edt(big)
    wanted = offset[labels[nearest[0], nearest[1]]]
    # A board that passes keeps 2 px of width and of spacing: etching that
    # closes a gap or parts a trace makes a short or an open, a defect.
    span = 2 * 3 * SUPER + 1
    gap, width = (ndimage.maximum_filter(d, size=span) for d in (outside, inside))
    wanted = np.clip(wanted, -(width - SUPER), gap - SUPER)
    return np.where(big, -inside, outside) < wanted


def despeckled(mask, area, hole=False):
    """`mask` without components (or, with `hole`, holes) under `area` px."""
    target = ~mask if hole else mask
    labels, n = ndimage.label(target)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    small = (sizes < area) & (np.arange(n + 1) > 0)
    cleaned = target & ~small[labels]
    return ~cleaned if hole else cleaned


def scanned(mask, rng):
    """The 4x mask moved, scaled, warped and box-filtered down to 8-bit grey."""
    h, w = mask.shape
    scale = 1.0 + rng.uniform(-0.005, 0.005)
    shift = rng.uniform(-2.0, 2.0, 2)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32) / SUPER
    source = []
    for axis, at in enumerate((y, x)):
        # Two smooth waves of about 200-600 px across the image, 1 px at most.
        wave = np.zeros_like(at)
        for _ in range(2):
            period, phase = rng.uniform(200, 600), rng.uniform(0, 2 * np.pi)
            direction = rng.uniform(0, 2 * np.pi)
            along = x * np.cos(direction) + y * np.sin(direction)
            wave += 0.5 * np.sin(2 * np.pi * along / period + phase)
        centre = (h if axis == 0 else w) / SUPER / 2
        source.append(((at - centre) / scale + centre - shift[axis] + wave) * SUPER)
    moved = ndimage.map_coordinates(mask.astype(np.float32), source, order=1)
    small = moved.reshape(h // SUPER, SUPER, w // SUPER, SUPER).mean(axis=(1, 3))
    return Image.fromarray(((1.0 - small) * 255).round().astype(np.uint8))


def entries(root, count):
    """COUNT lines of trainval.txt, spread over the list."""
    lines = [l.split() for l in (root / "trainval.txt").read_text().splitlines() if l.strip()]
    step = max(1, len(lines) // count)
    return lines[::step][:count]


def redrawn(path, rng):
    return scanned(biased(Image.open(path).convert("L"), rng), rng)


def false_calls(binary, root, count, work, rng):
    pairs = []
    for image, _ in entries(root, count):
        reference = root / image.replace(".jpg", "_temp.jpg")
        test = work / Path(image).name.replace(".jpg", "_etched.jpg")
        redrawn(reference, rng).save(test, quality=90)
        pairs.append((reference, test))
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


def with_defects(root, count, work, rng):
    listing = []
    for image, truth in entries(root, count):
        for name in (image, truth):
            (work / name).parent.mkdir(parents=True, exist_ok=True)
        stem = image[: -len(".jpg")]
        temp = work / f"{stem}_temp.jpg"
        temp.unlink(missing_ok=True)
        temp.symlink_to(root / f"{stem}_temp.jpg")
        redrawn(root / f"{stem}_test.jpg", rng).save(work / f"{stem}_test.jpg", quality=90)
        (work / truth).write_text((root / truth).read_text())
        listing.append(f"{image} {truth}\n")
    (work / "trainval.txt").write_text("".join(listing))
    print(f"wrote {len(listing)} pairs; now run: eval deeppcb {work} {work}/trainval.txt")


def main():
    args = sys.argv[1:]
    defects = args[:1] == ["--defects"]
    if defects:
        args = ["-"] + args[1:]
    if len(args) not in (2, 3, 4):
        sys.exit(__doc__)
    binary, root = args[0], Path(args[1])
    count = int(args[2]) if len(args) > 2 else 70
    work = Path(args[3]) if len(args) > 3 else Path(tempfile.mkdtemp())
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(17)
    if defects:
        with_defects(root, count, work, rng)
    else:
        false_calls(binary, root, count, work, rng)


if __name__ == "__main__":
    main()
