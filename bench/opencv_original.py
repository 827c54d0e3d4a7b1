#!/usr/bin/env python3
"""The original OpenCV pipeline, kept as the speed baseline for bench/compare.sh.

usage: opencv_original.py REFERENCE TEST
       opencv_original.py --pairs FILE      (lines REFERENCE<TAB or space>TEST; '#' comments)

Grayscale, threshold at 127 (dark material), bitwise flash/cut masks, external
contours with area > 10, bounding boxes; prints one JSON line per pair.
Needs numpy and opencv-python-headless (bench/compare.sh makes a private venv).
"""
import json
import sys

import cv2


def inspect(reference_path, test_path):
    reference = cv2.imread(reference_path, cv2.IMREAD_GRAYSCALE)
    test = cv2.imread(test_path, cv2.IMREAD_GRAYSCALE)
    if reference is None or test is None or reference.shape != test.shape:
        return {"reference": reference_path, "test": test_path, "error": "unreadable or size mismatch"}
    _, reference_mask = cv2.threshold(reference, 127, 255, cv2.THRESH_BINARY_INV)
    _, test_mask = cv2.threshold(test, 127, 255, cv2.THRESH_BINARY_INV)
    masks = {
        "flash": cv2.bitwise_and(test_mask, cv2.bitwise_not(reference_mask)),
        "cut": cv2.bitwise_and(reference_mask, cv2.bitwise_not(test_mask)),
    }
    defects = []
    for kind, mask in masks.items():
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            if cv2.contourArea(contour) > 10:
                x, y, w, h = cv2.boundingRect(contour)
                defects.append({"kind": kind, "x": x, "y": y, "width": w, "height": h})
    return {"reference": reference_path, "test": test_path, "defects": defects}


def pairs_from(path):
    stream = sys.stdin if path == "-" else open(path)
    for line in stream:
        line = line.strip()
        if line and not line.startswith("#"):
            yield line.split("\t") if "\t" in line else line.split()


def main():
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--pairs":
        pairs = pairs_from(args[1])
    elif len(args) == 2:
        pairs = [args]
    else:
        sys.exit(__doc__)
    for reference, test in pairs:
        print(json.dumps(inspect(reference, test)))


if __name__ == "__main__":
    main()
