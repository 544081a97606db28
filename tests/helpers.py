"""Helpers shared by the test modules (tests/ is on sys.path, beside conftest.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Optional

import cv2
import pytest

# The mediapipe backend is an optional extra (`pip install '.[mediapipe]'`, Python 3.10 to 3.12).
HAS_MEDIAPIPE = importlib.util.find_spec("mediapipe") is not None
needs_mediapipe = pytest.mark.skipif(not HAS_MEDIAPIPE, reason="mediapipe is not installed (the optional "
                                     "extra: pip install '.[mediapipe]', Python 3.10 to 3.12)")

# What `v4l2-ctl --list-formats-ext` prints for a webcam with two formats.
V4L2_CTL = """ioctl: VIDIOC_ENUM_FMT
	Type: Video Capture

	[0]: 'MJPG' (Motion-JPEG, compressed)
		Size: Discrete 1280x720
			Interval: Discrete 0.033s (30.000 fps)
			Interval: Discrete 0.067s (15.000 fps)
		Size: Discrete 640x480
			Interval: Discrete 0.033s (30.000 fps)
	[1]: 'YUYV' (YUYV 4:2:2)
		Size: Discrete 640x480
			Interval: Discrete 0.017s (60.000 fps)
"""


def count_frames(path: Path, shape: Optional[tuple[int, ...]] = None) -> int:
    """Decode a video to its end; every frame must have ``shape`` when given."""
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), path
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert shape is None or frame.shape == shape
        n += 1
    cap.release()
    return n

# What `v4l2-ctl --list-formats-ext` prints for a Logitech C920 (YUYV, H264 and MJPG; trimmed to
# the sizes that matter, intervals as the camera lists them).
V4L2_CTL_C920 = """ioctl: VIDIOC_ENUM_FMT
	Type: Video Capture

	[0]: 'YUYV' (YUYV 4:2:2)
		Size: Discrete 640x480
			Interval: Discrete 0.033s (30.000 fps)
			Interval: Discrete 0.042s (24.000 fps)
			Interval: Discrete 0.050s (20.000 fps)
			Interval: Discrete 0.067s (15.000 fps)
			Interval: Discrete 0.100s (10.000 fps)
			Interval: Discrete 0.133s (7.500 fps)
			Interval: Discrete 0.200s (5.000 fps)
		Size: Discrete 160x90
			Interval: Discrete 0.033s (30.000 fps)
			Interval: Discrete 0.200s (5.000 fps)
		Size: Discrete 320x240
			Interval: Discrete 0.033s (30.000 fps)
			Interval: Discrete 0.200s (5.000 fps)
		Size: Discrete 800x600
			Interval: Discrete 0.042s (24.000 fps)
			Interval: Discrete 0.200s (5.000 fps)
		Size: Discrete 960x720
			Interval: Discrete 0.067s (15.000 fps)
			Interval: Discrete 0.200s (5.000 fps)
		Size: Discrete 1024x576
			Interval: Discrete 0.067s (15.000 fps)
			Interval: Discrete 0.200s (5.000 fps)
		Size: Discrete 1280x720
			Interval: Discrete 0.100s (10.000 fps)
			Interval: Discrete 0.133s (7.500 fps)
			Interval: Discrete 0.200s (5.000 fps)
		Size: Discrete 1920x1080
			Interval: Discrete 0.200s (5.000 fps)
		Size: Discrete 2304x1536
			Interval: Discrete 0.500s (2.000 fps)
	[1]: 'H264' (H.264, compressed)
		Size: Discrete 1920x1080
			Interval: Discrete 0.033s (30.000 fps)
	[2]: 'MJPG' (Motion-JPEG, compressed)
		Size: Discrete 1280x720
			Interval: Discrete 0.033s (30.000 fps)
			Interval: Discrete 0.042s (24.000 fps)
			Interval: Discrete 0.067s (15.000 fps)
		Size: Discrete 1920x1080
			Interval: Discrete 0.033s (30.000 fps)
			Interval: Discrete 0.042s (24.000 fps)
			Interval: Discrete 0.067s (15.000 fps)
"""


class SweptPortrait:
    """Synthetic frames with known motion: the astronaut (scikit-image's public-domain portrait),
    cut out by vcam's own photo matte once, laid over a generated gradient at a given horizontal
    position, head and shoulders up from the bottom of the frame. ``frame(cx)`` returns the
    picture (RGB uint8) and the true mask (float32) with the portrait centred at ``cx`` pixels;
    ``frame(None)`` the empty room."""

    def __init__(self, size: tuple[int, int] = (1280, 720), height: float = 0.75) -> None:
        import numpy as np
        from skimage import data

        from vcam.config import EffectSettings, Settings
        from vcam.engine import Engine

        self.size = w, h = size
        astro = data.astronaut()
        engine = Engine(Settings(effect=EffectSettings("cutout")))
        try:
            mask = engine.process(astro, np.empty_like(astro), {}, photo=True) >= 128
        finally:
            engine.close()
        ys, _ = np.nonzero(mask)
        scale = height * h / (ys.max() - ys.min() + 1)
        self.person = cv2.resize(astro, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA).astype(np.float32)
        self.mask = cv2.resize(mask.astype(np.float32), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
        self.room = (np.float32((60, 90, 140)) * (1 - t) + np.float32((200, 180, 150)) * t
                     + np.zeros((h, w, 3), np.float32))
        self.top = h - self.person.shape[0] + round(0.15 * self.person.shape[0])   # cut at the bottom

    def frame(self, cx, cx2=None):
        """The picture and true mask with the portrait centred at ``cx`` (a second at ``cx2``)."""
        import numpy as np

        w, h = self.size
        picture, alpha = self.room.copy(), np.zeros((h, w), np.float32)
        for x in (cx, cx2):
            if x is None:
                continue
            m = np.float32([[1, 0, x - self.person.shape[1] / 2], [0, 1, self.top]])
            a = cv2.warpAffine(self.mask, m, (w, h))
            p = cv2.warpAffine(self.person, m, (w, h))
            picture = p * a[..., None] + picture * (1 - a[..., None])
            alpha = np.maximum(alpha, a)
        return np.clip(picture + 0.5, 0, 255).astype(np.uint8), alpha


def head_middle(alpha, band: float = 0.3) -> float:
    """The middle of a mask's head and shoulders (the rows ``band`` of its height below its top),
    between 3% and 97% of their pixels, in pixels: what auto-frame centres."""
    import numpy as np

    rows = np.flatnonzero((alpha >= 0.5).any(axis=1))
    part = alpha[rows[0]:rows[0] + round(band * alpha.shape[0])] >= 0.5
    cols = np.cumsum(part.sum(axis=0))
    return (np.searchsorted(cols, 0.03 * cols[-1]) + np.searchsorted(cols, 0.97 * cols[-1]) + 1) / 2
