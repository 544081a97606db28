"""Score mattes against true masks: IoU at alpha 0.5, mean and median.

    vcam process ../shared/eval/portraits/images --effect matte -o /tmp/mattes
    python benchmarks/score_mattes.py /tmp/mattes ../shared/eval/portraits/masks

Masks may be smaller than the pictures: each is scaled to its matte (nearest) before comparing.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np


def iou(matte: np.ndarray, mask: np.ndarray) -> float:
    if mask.shape != matte.shape:
        mask = cv2.resize(mask, matte.shape[::-1], interpolation=cv2.INTER_NEAREST)
    a, b = matte >= 128, mask > 127
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mattes", type=Path)
    ap.add_argument("masks", type=Path)
    args = ap.parse_args()
    scores = {}
    for mask_path in sorted(args.masks.glob("*.png")):
        matte_path = args.mattes / mask_path.name
        matte = cv2.imread(str(matte_path), cv2.IMREAD_GRAYSCALE)
        if matte is None:
            print(f"missing matte {matte_path}", file=sys.stderr)
            return 2
        scores[mask_path.stem] = iou(matte, cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE))
    values = np.array(list(scores.values()))
    print(f"{len(values)} mattes: mean IoU {values.mean():.4f}, median {np.median(values):.4f}, min {values.min():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
