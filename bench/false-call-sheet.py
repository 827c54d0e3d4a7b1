#!/usr/bin/env python3
"""Contact sheets of the eval's false calls, to look at what they are.

    bench/false-call-sheet.py FALSE_CALLS DEEPPCB_ROOT OUT_PREFIX [PER_SHEET]

FALSE_CALLS is the file `eval deeppcb ... --false-calls FILE` writes.
Each false call is shown as the reference's and the test's crop around
its box (red), at least 64 px square, numbered in the file's order (the
misses it also lists are skipped), so a verdict per number can be kept
beside it, as in bench/false-call-audit.tsv. Writes OUT_PREFIX-0.png,
OUT_PREFIX-40.png, ...; needs Pillow.
"""
import os
import sys

from PIL import Image, ImageDraw

SIDE, ZOOM, COLUMNS = 64, 3, 5


def false_calls(path):
    rows = (line.rstrip("\n").split("\t") for line in open(path))
    return [r for r in rows if len(r) >= 6 and r[1] != "miss"]


def tile(root, row):
    """The reference and test crops of one false call, boxes drawn."""
    image = row[0].split(" ")[0]
    x1, y1, x2, y2 = map(int, row[5].split())
    cx, cy = (x1 + x2) // 2, (y1 + y2) // 2
    half = max(SIDE // 2, (x2 - x1) // 2 + 8, (y2 - y1) // 2 + 8)
    crop = (cx - half, cy - half, cx + half, cy + half)
    scale = SIDE * ZOOM / (2 * half)
    out = []
    for suffix in ("_temp.jpg", "_test.jpg"):
        path = os.path.join(root, image.replace(".jpg", suffix))
        picture = Image.open(path).convert("RGB").crop(crop)
        picture = picture.resize((SIDE * ZOOM, SIDE * ZOOM), Image.NEAREST)
        box = [(v - o) * scale for v, o in zip((x1, y1, x2 + 1, y2 + 1), crop[:2] * 2)]
        ImageDraw.Draw(picture).rectangle(box, outline="red")
        out.append(picture)
    return out


def sheet(root, rows, first):
    cell_w, cell_h = 2 * SIDE * ZOOM + 10, SIDE * ZOOM + 20
    lines = (len(rows) + COLUMNS - 1) // COLUMNS
    picture = Image.new("RGB", (COLUMNS * cell_w, lines * cell_h), "white")
    draw = ImageDraw.Draw(picture)
    for k, row in enumerate(rows):
        ox, oy = (k % COLUMNS) * cell_w, (k // COLUMNS) * cell_h
        for j, crop in enumerate(tile(root, row)):
            picture.paste(crop, (ox + j * SIDE * ZOOM, oy + 20))
        name = os.path.basename(row[0].split(" ")[0])
        label = f"#{first + k} {name} {row[1]} {row[2]} a{row[4]}"
        draw.text((ox, oy + 4), label, fill="black")
    return picture


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    calls = false_calls(sys.argv[1])
    per = int(sys.argv[4]) if len(sys.argv) == 5 else 40
    for first in range(0, len(calls), per):
        out = f"{sys.argv[3]}-{first}.png"
        sheet(sys.argv[2], calls[first : first + per], first).save(out)
        print(out)


if __name__ == "__main__":
    main()
