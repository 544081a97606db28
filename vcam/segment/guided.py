"""A matting model (MODNet, RVM) kept to where the person is by the selfie model.

Matting models give real edges (hair, soft rims) but on their own they miss people in wide
scenes and groups, or half a body, and now and then matte a lamp. The selfie model, following the
person, rarely does either. Here both run on each frame, and the matting model's alpha is held
between the selfie matte's grey-scale erosion and dilation over ``GUIDE_REACH`` of the diagonal:
deep inside the person as the selfie model sees them it may not drop below the selfie matte, far
outside it may not rise above it, and near the selfie model's edge, where the matting model is
better, it is free. The selfie model costs a few milliseconds next to the matting model's
hundreds.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

GUIDE_REACH = 0.03   # share of the matte's diagonal within which the matting model is free


class Guided:
    def __init__(self, matting, selfie) -> None:
        self.matting = matting
        self.selfie = selfie
        self.model_type = getattr(matting, "model_type", "matting")
        self.crop_ok = False
        self.name = f"{matting.name} (selfie-guided)"
        self.output_size = getattr(matting, "output_size", None)
        self._for: Optional[tuple[int, int]] = None
        self._guide = self._low = self._high = self._out = None
        self._disc = None

    def _buffers(self, h: int, w: int) -> None:
        if self._for == (h, w):
            return
        self._for = (h, w)
        self._guide = np.empty((h, w), np.float32)
        self._low = np.empty((h, w), np.float32)
        self._high = np.empty((h, w), np.float32)
        self._out = np.empty((h, w), np.float32)
        r = max(1, round(GUIDE_REACH * float(np.hypot(h, w))))
        self._disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))

    def _fuse(self, matte: np.ndarray, guide: np.ndarray) -> np.ndarray:
        h, w = matte.shape
        self._buffers(h, w)
        cv2.resize(guide, (w, h), dst=self._guide, interpolation=cv2.INTER_LINEAR)
        cv2.erode(self._guide, self._disc, dst=self._low)
        cv2.dilate(self._guide, self._disc, dst=self._high)
        np.maximum(matte, self._low, out=self._out)
        np.minimum(self._out, self._high, out=self._out)
        self.output_size = (w, h)
        return self._out

    def segment(self, frame: np.ndarray) -> np.ndarray:
        guide = self.selfie.segment(frame)
        return self._fuse(self.matting.segment(frame), guide)

    def segment_photo(self, frame: np.ndarray) -> np.ndarray:
        still = getattr(self.selfie, "segment_photo", None)
        guide = still(frame) if still is not None else self.selfie.segment(frame)
        return self._fuse(self.matting.segment(frame), guide)

    def reset(self) -> None:
        for part in (self.matting, self.selfie):
            reset = getattr(part, "reset", None)
            if reset is not None:
                reset()

    def close(self) -> None:
        for part in (self.matting, self.selfie):
            part.close()
