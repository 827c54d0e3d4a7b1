#!/usr/bin/env python3
"""Registration on line bundles: synthetic defect-free pairs, counted false calls.

usage: line-bundle.py BINARY [DIR]

Each case draws a 640x640 board: six pads with traces, and a bundle of
parallel lines (pitch P, width W px) over the lower half, running off both
borders; the test is the same board scaled by S about the centre and moved
by (DX, DY), lines across or down. There is no defect, so every detection
is a false call: the registration settled part of a line pitch off.
Prints one line per case and how many came out clean. Needs numpy and PIL
(python3-numpy, python3-pil).
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

# pitch, width, scale, dx, dy, lines down (1) or across (0)
CASES = [
    (7, 3, 1.006, 1.3, 0.7, 0),
    (7, 3, 1.006, 1.3, 0.7, 1),
    (8, 4, 1.004, 0.5, 1.5, 0),
    (10, 5, 1.008, -0.7, 2.2, 0),
    (12, 6, 1.006, 1.3, -1.3, 1),
    (6, 3, 1.006, 1.3, 0.7, 0),
    (7, 3, 1.0, 0.4, 1.0, 0),
    (9, 4, 1.01, 0, 0, 0),
    (14, 7, 1.01, 0.5, 0.5, 1),
    (8, 3, 0.995, 1.0, -0.5, 0),
    (5, 2, 1.006, 1.3, 0.7, 0),
    (7, 3, 1.0, -1.0, 2.0, 1),
    (11, 5, 1.0, 1.0, -3.0, 0),
    (9, 3, 1.0, 0.5, -2.5, 1),
    (8, 4, 1.0, 1.5, 3.5, 0),
]

SIZE = 640
SUPER = 4  # drawn at 4x and box-filtered down: anti-aliased edges


def board(pitch, width, scale, shift, down):
    im = Image.new("L", (SIZE * SUPER, SIZE * SUPER), 0)
    d = ImageDraw.Draw(im)
    c = SIZE / 2

    def at(x, y):
        if down:
            x, y = y, x
        return (((x - c) * scale + c + shift[0]) * SUPER, ((y - c) * scale + c + shift[1]) * SUPER)

    def quad(x0, y0, x1, y1):
        d.polygon([at(x0, y0), at(x1, y0), at(x1, y1), at(x0, y1)], fill=255)

    for i in range(6):
        x = 60 + i * 90
        quad(x, 40, x + 40, 80)
        quad(x + 17, 80, x + 23, 250)
    y = 300
    while y < 620:
        quad(-20, y, SIZE + 20, y + width)
        y += pitch
    return im.resize((SIZE, SIZE), Image.BOX)


def false_calls(binary, reference, test):
    out = subprocess.run(
        [binary, str(reference), str(test), "--json"],
        capture_output=True,
        text=True,
    )
    if out.returncode not in (0, 1):
        sys.exit(f"{binary}: exit {out.returncode}: {out.stderr.strip()}")
    return len(json.loads(out.stdout)["results"][0]["defects"])


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    binary = sys.argv[1]
    work = Path(sys.argv[2]) if len(sys.argv) == 3 else Path(tempfile.mkdtemp())
    work.mkdir(parents=True, exist_ok=True)
    clean = 0
    for pitch, width, scale, dx, dy, down in CASES:
        reference, test = work / "reference.png", work / "test.png"
        board(pitch, width, 1.0, (0, 0), down).save(reference)
        board(pitch, width, scale, (dx, dy), down).save(test)
        n = false_calls(binary, reference, test)
        clean += n == 0
        lines = "down" if down else "across"
        print(f"pitch {pitch:2} width {width} scale {scale} shift ({dx}, {dy}) {lines:6}  false calls {n}")
    print(f"clean {clean} of {len(CASES)}")


if __name__ == "__main__":
    main()
