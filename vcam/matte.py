"""From the model's low-resolution matte to a full-resolution 8-bit alpha.

Temporal smoothing runs at model resolution (tens of thousands of pixels, not millions), then the
matte is scaled once to the frame. The smoothing state is explicit, owned here, and ``reset()``
when the source changes or between unrelated images.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from vcam import kernels, scaling
from vcam.config import MatteSettings

# The largest share of the previous matte a still pixel keeps at smoothing=1: judged by the
# matte's own change, or (picture_motion) by the picture's, which tells stillness far more surely.
MAX_KEEP = 0.9
MAX_KEEP_PICTURE = 0.95
# Levels of change (the largest of a pixel's three channels, on the frame halved to about
# PICTURE_WIDTH pixels wide, past the noise floor below) that count as moving. Coarser or less
# sensitive, a low-contrast edge (fair hair over a pale wall) moves without counting as motion, and
# the matte it leaves behind fades over several frames: a trail.
PICTURE_MOVES = 5.0
PICTURE_WIDTH = 320
# The camera's noise and compression change a still pixel too, and a change that lets the matte
# move lets its flicker through: this share of each frame's median change (most of a frame is
# still), held within these levels, is taken off every pixel's change first (docs/design.md, "Smoothing
# at matte resolution"). A noisier camera raises the floor; a shaken one cannot raise it past NOISE_MAX.
NOISE_SHARE = 0.75
NOISE_MIN = 1.0
NOISE_MAX = 3.0
# Where the picture is still, changes of the matte under this (alpha units) are not followed
# (kernels.smooth_matte's ``hold``), at smoothing 1; in proportion below.
HOLD = 0.06


class Matte:
    def __init__(self, settings: MatteSettings = MatteSettings()) -> None:
        self.settings = settings
        self._state: Optional[np.ndarray] = None
        self._small_u8: Optional[np.ndarray] = None
        self._alpha: Optional[np.ndarray] = None
        self._change: Optional[np.ndarray] = None
        self._shrink: Optional[scaling.Downscaler] = None

    def reset(self) -> None:
        """Forget the previous frames (new source, or the next of unrelated images)."""
        self._state = None

    def _picture_change(self, frame: np.ndarray, shape: tuple[int, int],
                        halvings: Optional[scaling.Halvings] = None) -> bool:
        """Fill ``self._change`` (of ``shape``) with how much ``frame`` moved since the last one,
        measured at a size reached by halving alone (cheap: 320x180 for 720p); False when there is
        no previous frame to compare with."""
        size = (frame.shape[1], frame.shape[0])
        if self._shrink is None or self._shrink.src_size != size:
            k = max(0, int(np.ceil(np.log2(max(1.0, size[0] / PICTURE_WIDTH)))))
            w, h = max(1, size[0] >> k), max(1, size[1] >> k)
            self._k = k if size[0] >> k and size[1] >> k else None   # a shared halving fits exactly
            self._shrink = scaling.Downscaler(size, (w, h))
            self._small_rgb = np.empty((h, w, 3), np.uint8)
            self._previous = None
            self._coarse = np.zeros((h, w), np.float32)
            self._counts = np.zeros(256, np.int32)
        small = (halvings.level(frame, self._k) if halvings is not None and self._k is not None
                 else self._shrink(frame, self._small_rgb))
        if self._previous is None:   # the first frame: nothing to compare with yet
            self._previous = small.copy()
            return False
        kernels.image_change(small, self._previous, self._coarse, np.float32(1.0 / PICTURE_MOVES),
                             np.float32(NOISE_SHARE), np.float32(NOISE_MIN), np.float32(NOISE_MAX),
                             self._counts)
        if self._change.shape != shape:
            self._change = np.empty(shape, np.float32)
        cv2.resize(self._coarse, shape[::-1], dst=self._change, interpolation=cv2.INTER_LINEAR)
        return True

    def update(self, raw: np.ndarray, size: tuple[int, int], frame: Optional[np.ndarray] = None,
               halvings: Optional[scaling.Halvings] = None, *, scaled: bool = True) -> np.ndarray:
        """Smooth ``raw`` (float32, model resolution) against the previous frames and return an
        uint8 alpha of ``size`` (width, height). The returned buffer is reused by the next call.
        With ``frame`` (RGB, the picture the matte is of), smoothing follows the picture: strong
        where it is still, none where it moves; ``halvings`` shares the frame's halvings with the
        other stages. ``scaled=False``: return the smoothed matte (uint8) at model resolution
        for a caller that scales it itself (auto-frame: one warp straight to the framed alpha)."""
        if raw.ndim != 2 or raw.dtype != np.float32:
            raise ValueError(f"expected a float32 2-D matte, got {raw.dtype} {raw.shape}")
        m = self.settings
        fresh = self._state is None or self._state.shape != raw.shape
        if fresh:
            self._state = np.clip(raw, 0.0, 1.0)
            self._small_u8 = np.empty(raw.shape, np.uint8)
            self._change = np.zeros((1, 1), np.float32)
            self._shrink = None
        by_picture = m.picture_motion and frame is not None and m.smoothing > 0
        if by_picture:
            by_picture = self._picture_change(frame, raw.shape, halvings) and not fresh
        keep = (MAX_KEEP_PICTURE if by_picture else MAX_KEEP) * m.smoothing
        kernels.smooth_matte(raw, self._state, self._change, self._small_u8, keep, m.motion,
                             m.threshold, m.softness, by_picture, HOLD * m.smoothing if by_picture else 0.0)
        if not scaled:
            return self._small_u8
        w, h = size
        if self._alpha is None or self._alpha.shape != (h, w):
            self._alpha = np.empty((h, w), np.uint8)
        if self._small_u8.shape == (h, w):
            np.copyto(self._alpha, self._small_u8)
        else:
            cv2.resize(self._small_u8, (w, h), dst=self._alpha, interpolation=cv2.INTER_LINEAR)
        return self._alpha
