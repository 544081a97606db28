"""A matting model (MODNet, RVM) kept to where the person is by the selfie model.

Matting models give real edges (hair, soft rims) but on their own they miss people in wide
scenes and groups, or half a body, and now and then matte a lamp. The selfie model, following the
person, rarely does either. Here both run on each frame, and the matting model's alpha is held
between the selfie matte's grey-scale erosion and dilation over ``GUIDE_REACH`` of the diagonal:
deep inside the person as the selfie model sees them it may not drop below the selfie matte, far
outside it may not rise above it, and near the selfie model's edge, where the matting model is
better, it is free. Where the matting model has missed a person the selfie model sees (a small
figure in a street, a group: it covers less than ``TRUST_LOW`` of them), that person is taken from
the selfie matte instead, and blended between ``TRUST_LOW`` and ``TRUST_HIGH``. So a matting
model's worst misses (a group in a street) are no worse than the selfie model's, and where it
does cover the person (most video) the guide changes next to nothing; docs/models.md, "Matting
models", has the figures (``benchmarks/quality.py``). The selfie model costs a few milliseconds
next to the matting model's hundreds.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from vcam.segment import Segmenter

GUIDE_REACH = 0.03   # share of the matte's diagonal within which the matting model is free
TRUST_LOW, TRUST_HIGH = 0.7, 0.95   # the matting model's mean alpha over a person the selfie model sees
COARSE = 4           # people are counted on the matte scaled down this many times


class Hold:
    """The rule above, with its buffers (sized on the first matte, and again when it changes)."""

    def __init__(self) -> None:
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
        self._coarse = (max(1, w // COARSE), max(1, h // COARSE))
        self._small_guide = np.empty(self._coarse[::-1], np.float32)
        self._small_matte = np.empty(self._coarse[::-1], np.float32)
        self._inside = np.empty(self._coarse[::-1], np.uint8)
        self._person = np.empty(self._coarse[::-1], np.uint8)
        self._labels = np.empty(self._coarse[::-1], np.int32)
        self._trust_small = np.empty(self._coarse[::-1], np.float32)
        self._trust = np.empty((h, w), np.float32)
        rc = max(1, round(r / COARSE))
        self._small_disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * rc + 1, 2 * rc + 1))

    def _trusted(self, matte: np.ndarray) -> Optional[np.ndarray]:
        """How far to take the matting model, per pixel, where it has missed somebody the selfie
        model sees; None when it covers every person (the common case: nothing more is done)."""
        cv2.resize(self._guide, self._coarse, dst=self._small_guide, interpolation=cv2.INTER_AREA)
        cv2.resize(matte, self._coarse, dst=self._small_matte, interpolation=cv2.INTER_AREA)
        cv2.compare(self._small_guide, 0.5, cv2.CMP_GE, dst=self._inside)
        count, _ = cv2.connectedComponents(self._inside, labels=self._labels, connectivity=8)
        trust = np.ones(count, np.float32)   # per person (label 0: nobody), a few entries
        for label in range(1, count):
            cv2.compare(self._labels, label, cv2.CMP_EQ, dst=self._person)
            cover = cv2.mean(self._small_matte, mask=self._person)[0]
            trust[label] = min(1.0, max(0.0, cover - TRUST_LOW) / (TRUST_HIGH - TRUST_LOW))
        if trust.min() >= 1.0:
            return None
        np.take(trust, self._labels, out=self._trust_small)
        # the person's own soft rim, outside the selfie matte's 0.5, goes with them
        cv2.erode(self._trust_small, self._small_disc, dst=self._trust_small)
        cv2.resize(self._trust_small, self._for[::-1], dst=self._trust, interpolation=cv2.INTER_LINEAR)
        return self._trust

    def __call__(self, matte: np.ndarray, guide: np.ndarray) -> np.ndarray:
        """``matte`` (the matting model's, float32) held to ``guide`` (the selfie model's, any
        size): a float32 matte of ``matte``'s size, reused by the next call."""
        h, w = matte.shape
        self._buffers(h, w)
        cv2.resize(guide, (w, h), dst=self._guide, interpolation=cv2.INTER_LINEAR)
        cv2.erode(self._guide, self._disc, dst=self._low)
        cv2.dilate(self._guide, self._disc, dst=self._high)
        np.maximum(matte, self._low, out=self._out)
        np.minimum(self._out, self._high, out=self._out)
        trust = self._trusted(matte)
        if trust is not None:   # out = guide + trust * (out - guide)
            np.subtract(self._out, self._guide, out=self._out)
            np.multiply(self._out, trust, out=self._out)
            np.add(self._out, self._guide, out=self._out)
        return self._out


class Guided(Segmenter):
    def __init__(self, matting, selfie) -> None:
        self.matting = matting
        self.selfie = selfie
        self.model_type = matting.model_type   # a matting model's: it sees the whole frame
        self.name = f"{matting.name} (selfie-guided)"
        self.output_size = matting.output_size
        self.provider = matting.provider   # where the matting model runs
        self._hold = Hold()

    def _fuse(self, matte: np.ndarray, guide: np.ndarray) -> np.ndarray:
        out = self._hold(matte, guide)
        self.output_size = (out.shape[1], out.shape[0])
        return out

    def segment(self, frame: np.ndarray) -> np.ndarray:
        guide = self.selfie.segment(frame)
        return self._fuse(self.matting.segment(frame), guide)

    def segment_photo(self, frame: np.ndarray) -> np.ndarray:
        return self._fuse(self.matting.segment(frame), self.selfie.segment_photo(frame))

    def reset(self) -> None:
        for part in (self.matting, self.selfie):
            part.reset()

    def close(self) -> None:
        for part in (self.matting, self.selfie):
            part.close()
