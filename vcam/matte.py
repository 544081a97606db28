"""From the model's low-resolution matte to a full-resolution 8-bit alpha.

Temporal smoothing runs at model resolution (tens of thousands of pixels, not millions), then the
matte is scaled once to the frame. The smoothing state is explicit, owned here, and ``reset()``
when the source changes or between unrelated images.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from vcam import kernels
from vcam.config import MatteSettings

# The largest share of the previous matte a still pixel keeps at smoothing=1.
MAX_KEEP = 0.9


class Matte:
    def __init__(self, settings: MatteSettings = MatteSettings()) -> None:
        self.settings = settings
        self._state: Optional[np.ndarray] = None
        self._small_u8: Optional[np.ndarray] = None
        self._alpha: Optional[np.ndarray] = None

    def reset(self) -> None:
        """Forget the previous frames (new source, or the next of unrelated images)."""
        self._state = None

    def update(self, raw: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """Smooth ``raw`` (float32, model resolution) against the previous frames and return an
        uint8 alpha of ``size`` (width, height). The returned buffer is reused by the next call."""
        if raw.ndim != 2 or raw.dtype != np.float32:
            raise ValueError(f"expected a float32 2-D matte, got {raw.dtype} {raw.shape}")
        if self._state is None or self._state.shape != raw.shape:
            self._state = np.clip(raw, 0.0, 1.0)
            self._small_u8 = np.empty(raw.shape, np.uint8)
        keep = MAX_KEEP * self.settings.smoothing
        m = self.settings
        kernels.smooth_matte(raw, self._state, self._small_u8, keep, m.motion, m.threshold, m.softness)
        w, h = size
        if self._alpha is None or self._alpha.shape != (h, w):
            self._alpha = np.empty((h, w), np.uint8)
        if self._small_u8.shape == (h, w):
            np.copyto(self._alpha, self._small_u8)
        else:
            cv2.resize(self._small_u8, (w, h), dst=self._alpha, interpolation=cv2.INTER_LINEAR)
        return self._alpha
