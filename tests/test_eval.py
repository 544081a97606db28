"""Segmentation quality on real people: ``../shared/eval`` portraits against their masks.

The evaluation files stay where they are (never copied into the repository); without them this
test skips.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "eval"
PORTRAITS = EVAL / "portraits"
MIN_MEAN_IOU = 0.83


def iou(matte: np.ndarray, mask: np.ndarray) -> float:
    if mask.shape != matte.shape:
        mask = cv2.resize(mask, (matte.shape[1], matte.shape[0]), interpolation=cv2.INTER_NEAREST)
    person, truth = matte >= 128, mask > 127
    union = np.logical_or(person, truth).sum()
    return float(np.logical_and(person, truth).sum() / union) if union else 1.0


def test_portrait_mattes_match_the_masks(tmp_path):
    images, masks = PORTRAITS / "images", PORTRAITS / "masks"
    if not images.is_dir() or not masks.is_dir():
        pytest.skip(f"no evaluation portraits at {PORTRAITS}")
    out = tmp_path / "mattes"
    result = subprocess.run([sys.executable, "-m", "vcam", "process", str(images), "--effect", "matte", "-o", str(out)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    pictures = sorted(p for p in images.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    assert pictures
    scores = {}
    for picture in pictures:
        mask_path = masks / f"{picture.stem}.png"
        if not mask_path.exists():
            continue
        matte = cv2.imread(str(out / f"{picture.stem}.png"), cv2.IMREAD_UNCHANGED)
        assert matte is not None, f"no matte for {picture.name}"
        image = cv2.imread(str(picture), cv2.IMREAD_UNCHANGED)
        assert matte.ndim == 2 and matte.dtype == np.uint8
        assert matte.shape == image.shape[:2], picture.name
        mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
        scores[picture.stem] = iou(matte, mask)
    assert len(scores) >= 0.9 * len(pictures)
    values = np.array(list(scores.values()))
    worst = min(scores, key=scores.get)
    print(f"\n{len(values)} portraits: mean IoU {values.mean():.4f}, median {np.median(values):.4f}, "
          f"worst {worst} {scores[worst]:.4f}")
    assert values.mean() >= MIN_MEAN_IOU
