"""Frames scaled, with buffers made once: halvings shared by the stages that read a smaller frame
(:class:`Halvings`), a fast anti-aliased downscale to one size (:class:`Downscaler`), the taps of
a bilinear upscale (:func:`bilinear_columns`), and a picture scaled and cropped to cover a frame
(:func:`cover_fit`, made once per background, never per frame)."""
from __future__ import annotations

import logging
from typing import Optional

import cv2
import numpy as np

log = logging.getLogger(__name__)


def cover_fit(img: np.ndarray, width: int, height: int, *, top: float = 0.5) -> np.ndarray:
    """Scale and crop ``img`` to fill ``width`` x ``height`` without distortion: centred, or
    with ``top`` of what is cut taken from the top (0.5: as much from the top as the bottom)."""
    h, w = img.shape[:2]
    scale = max(width / w, height / h)
    cw, ch = min(w, round(width / scale)), min(h, round(height / scale))
    x0, y0 = (w - cw) // 2, round((h - ch) * top)
    crop = img[y0:y0 + ch, x0:x0 + cw]
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(crop, (width, height), interpolation=interp)


def bilinear_columns(width: int, small_width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each of ``width`` columns: the two columns of a ``small_width`` picture it lies
    between and the weight of the second (pixel centres aligned, as OpenCV's bilinear scale)."""
    fx = np.maximum(0.0, (np.arange(width) + 0.5) * (small_width / width) - 0.5)
    x0 = np.minimum(fx.astype(np.int64), small_width - 1)
    return x0, np.minimum(x0 + 1, small_width - 1), (fx - x0).astype(np.float32)


class Downscaler:
    """Scale frames of one size down to another, fast and without aliasing.

    Halving with a 2x2 block average is OpenCV's fastest scaling path (several times faster
    than one general area resize of a 720p frame straight to 256x144), so a frame is halved
    while it stays at least the target size (an odd edge row or column is dropped), and a last
    short step, if any, reaches the exact size.
    """

    def __init__(self, src_size: tuple, dst_size: tuple, channels: int = 3) -> None:
        (w, h), (dw, dh) = src_size, dst_size
        self.src_size, self.dst_size = (w, h), (dw, dh)
        self._steps = []   # (crop of the previous image, size, buffer)
        while w // 2 >= dw and h // 2 >= dh:
            crop = (slice(0, h - h % 2), slice(0, w - w % 2))
            w, h = w // 2, h // 2
            shape = (h, w, channels) if channels > 1 else (h, w)
            self._steps.append((crop, (w, h), np.empty(shape, np.uint8)))
        self._last = (w, h) != (dw, dh)
        if self._steps and not self._last:
            self._steps[-1] = self._steps[-1][:2] + (None,)   # the last halving writes into dst

    def __call__(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        image = src
        for i, (crop, size, buf) in enumerate(self._steps):
            final = i == len(self._steps) - 1 and not self._last
            image = cv2.resize(image[crop], size, dst=dst if final else buf, interpolation=cv2.INTER_AREA)
        if self._last:
            cv2.resize(image, self.dst_size, dst=dst, interpolation=cv2.INTER_AREA)
        elif not self._steps:
            np.copyto(dst, src)
        return dst


class Halvings:
    """A frame halved ``k`` times (2x2 block means, as :class:`Downscaler` halves), each level made
    at most once per frame and shared by the stages that read a smaller frame (the matte's motion
    test, the blur behind the person, clean edges). :meth:`next_frame` before each frame; a level
    asked of another picture (auto-frame's crop) is made afresh for that picture."""

    def __init__(self) -> None:
        self._frame: Optional[np.ndarray] = None
        self._shape: tuple[int, ...] = ()
        self._levels: list[np.ndarray] = []
        self._made = 0

    def next_frame(self) -> None:
        self._frame = None

    def level(self, frame: np.ndarray, k: int) -> np.ndarray:
        if frame is not self._frame:
            if frame.shape != self._shape:
                self._levels, self._shape = [], frame.shape
            self._frame, self._made = frame, 0
        while len(self._levels) < k:
            src = frame if not self._levels else self._levels[-1]
            self._levels.append(np.empty((src.shape[0] // 2, src.shape[1] // 2) + src.shape[2:], np.uint8))
        for i in range(self._made, k):
            src = frame if i == 0 else self._levels[i - 1]
            h, w = src.shape[:2]
            cv2.resize(src[:h - h % 2, :w - w % 2], (w // 2, h // 2), dst=self._levels[i], interpolation=cv2.INTER_AREA)
        self._made = max(self._made, k)
        return frame if k == 0 else self._levels[k - 1]
