"""Effects: put the person over a blurred, replaced or coloured background.

A :class:`Compositor` is built for one frame size; everything it needs per frame (the blurred
background, the scaled background picture) lives in buffers made here once. Backgrounds are
loaded and scaled when the compositor is built, so a bad file fails before it replaces anything.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from vcam import kernels, media
from vcam.config import EffectSettings
from vcam.errors import VcamError
from vcam.resources import VIDEO_SUFFIXES

log = logging.getLogger(__name__)

# Blur at reduced resolution: a Gaussian of sigma s on a frame scaled down by f looks the same
# as sigma s*f at full size once scaled back up, for a fraction of the cost.
BLUR_SIGMA_SMALL = 2.0   # the least sigma kept at reduced size: 2 to 4 pixels there


class _VideoBackground:
    """A looping background video, scaled to cover the frame, one step per output frame."""

    def __init__(self, path: Path, size: tuple[int, int]) -> None:
        self._video = media.VideoReader(path, "background")
        w, h = self._size = size
        fw, fh = self._video.size
        scale = max(w / fw, h / fh)
        cw, ch = min(fw, round(w / scale)), min(fh, round(h / scale))
        x0, y0 = (fw - cw) // 2, (fh - ch) // 2
        self._crop = (slice(y0, y0 + ch), slice(x0, x0 + cw))
        self._scaled = np.empty((h, w, 3), np.uint8)

    def read_into(self, out: np.ndarray) -> None:
        bgr = self._video.read(loop=True)
        if bgr is None:
            return  # keep the last good background rather than fail mid-call
        cv2.resize(bgr[self._crop], self._size, dst=self._scaled, interpolation=cv2.INTER_AREA)
        cv2.cvtColor(self._scaled, cv2.COLOR_BGR2RGB, dst=out)

    def close(self) -> None:
        self._video.close()


class Compositor:
    """``apply(frame, alpha, out)`` writes the effect of ``settings`` for frames of ``size``."""

    def __init__(self, settings: EffectSettings, size: tuple[int, int]) -> None:
        self.settings = settings
        self.size = w, h = size
        self._bg = np.empty((h, w, 3), np.uint8)
        self._video: Optional[_VideoBackground] = None
        self._colour = np.array(settings.color, np.uint8)
        effect = settings.effect
        if effect == "replace":
            path = media.check_file(Path(settings.background).expanduser(), "background")
            if path.suffix.lower() in VIDEO_SUFFIXES:
                self._video = _VideoBackground(path, size)
                self._video.read_into(self._bg)
            else:
                self._bg[...] = media.cover_fit(media.load_image(path, "background"), w, h)
        elif effect == "blur":
            sigma = settings.blur * h / 720.0
            # A power of two keeps the scale-down on OpenCV's fast halving path.
            factor = 1 << max(0, int(np.log2(max(1.0, sigma / BLUR_SIGMA_SMALL))))
            small = (max(1, w // factor), max(1, h // factor))
            self._shrink = kernels.Downscaler(size, small)
            self._small = np.empty((small[1], small[0], 3), np.uint8)
            self._small_blur = np.empty_like(self._small)
            self._sigma_small = sigma / factor

    def _blur_background(self, frame: np.ndarray) -> None:
        self._shrink(frame, self._small)
        cv2.GaussianBlur(self._small, (0, 0), self._sigma_small, dst=self._small_blur, borderType=cv2.BORDER_REFLECT)
        cv2.resize(self._small_blur, self.size, dst=self._bg, interpolation=cv2.INTER_LINEAR)

    def apply(self, frame: np.ndarray, alpha: np.ndarray, out: np.ndarray) -> None:
        """Composite ``frame`` (RGB uint8) by ``alpha`` (uint8, same height and width) into ``out``."""
        effect = self.settings.effect
        if effect in ("none", "cutout"):   # a cut-out is the frame itself, made RGBA by the caller
            np.copyto(out, frame)
        elif effect == "color":
            kernels.blend_color(frame, self._colour, alpha, out)
        elif effect == "matte":
            cv2.cvtColor(alpha, cv2.COLOR_GRAY2RGB, dst=out)
        else:
            if effect == "blur":
                self._blur_background(frame)
            elif self._video is not None:
                self._video.read_into(self._bg)
            kernels.blend(frame, self._bg, alpha, out)

    def close(self) -> None:
        if self._video is not None:
            self._video.close()
            self._video = None
