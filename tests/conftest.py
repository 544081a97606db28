"""Shared fixtures for the end-to-end tests: fake virtual-camera hardware registered through
pyvirtualcam's own backend registry, and a real public-domain portrait (scikit-image's astronaut).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")   # before Qt is imported: real widgets, no display


class RecordingBackend:
    """A pyvirtualcam backend that records what it is sent instead of feeding a device.

    Every frame's shape and dtype are kept; copies of only the last ``KEEP`` frames, so a long run
    stays small. Every instance built is appended to ``instances`` so a test can reach the one the
    pipeline opened. ``fresh`` counts frames that are not a repeat of the previous one (the output
    stage repeats its last buffer to keep a camera fed; a new frame always comes in another buffer).
    """

    KEEP = 10
    instances: list["RecordingBackend"] = []

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: Optional[str], **kw) -> None:
        self.width = width
        self.height = height
        self.fps = fps
        self.fourcc = fourcc
        self._device = device or "/dev/recording0"
        self.kw = kw
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self.shapes: list[tuple[tuple[int, ...], np.dtype]] = []
        self.last: list[np.ndarray] = []
        self.fresh = 0
        self._last_address = None
        self.closed = 0
        type(self).instances.append(self)

    def send(self, frame: np.ndarray) -> None:
        address = frame.__array_interface__["data"][0]
        with self._cond:
            self.shapes.append((frame.shape, frame.dtype))
            self.last.append(frame.copy())
            del self.last[:-self.KEEP]
            self.fresh += address != self._last_address
            self._last_address = address
            self._cond.notify_all()

    def close(self) -> None:
        self.closed += 1

    def device(self) -> str:
        return self._device

    def native_fourcc(self):
        return None

    # -- for tests ---------------------------------------------------------------------------
    @property
    def count(self) -> int:
        with self._lock:
            return len(self.shapes)

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        """Wait until ``count`` frames in all have arrived (a Condition, no sleep loop)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.shapes) >= count, timeout)

    def frames(self) -> list[np.ndarray]:
        """Copies of the last frames, reshaped to (height, width, 3)."""
        with self._lock:
            return [f.reshape(self.height, self.width, 3) for f in self.last]

    def newest(self) -> np.ndarray:
        return self.frames()[-1]

    def newest_after(self, fresh: int, timeout: float = 30.0) -> np.ndarray:
        """Wait for ``fresh`` more new (not repeated) frames, then return the newest frame."""
        with self._cond:
            target = self.fresh + fresh
            assert self._cond.wait_for(lambda: self.fresh >= target, timeout), \
                f"fewer than {fresh} new frames within {timeout} s"
            return self.last[-1].reshape(self.height, self.width, 3)


@pytest.fixture
def recording_backend():
    """Register ``RecordingBackend`` as pyvirtualcam backend 'recording'; yields the class."""
    import pyvirtualcam

    previous = pyvirtualcam.camera.BACKENDS.get("recording")
    RecordingBackend.instances = []
    pyvirtualcam.register_backend("recording", RecordingBackend)
    try:
        yield RecordingBackend
    finally:
        if previous is None:
            pyvirtualcam.camera.BACKENDS.pop("recording", None)
        else:
            pyvirtualcam.register_backend("recording", previous)
        RecordingBackend.instances = []


@pytest.fixture(scope="session")
def astronaut_rgb() -> np.ndarray:
    """NASA's astronaut portrait (public domain), RGB uint8 512x512."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@pytest.fixture
def astronaut_png(tmp_path: Path, astronaut_rgb: np.ndarray) -> Path:
    path = tmp_path / "astronaut.png"
    assert cv2.imwrite(str(path), cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2BGR))
    return path


# Regions (rows, columns) of the astronaut picture that are clearly person and clearly background,
# checked against MediaPipe's matte of it (alpha 255 and 0 there): her face, the orange suit, and
# the grey wall in the top-right corner, and the striped flag on the left.
REGIONS = {
    "face": (slice(90, 170), slice(190, 260)),
    "suit": (slice(300, 400), slice(60, 250)),
    "background": (slice(0, 100), slice(440, 512)),
    "flag": (slice(20, 200), slice(0, 60)),
}


@pytest.fixture(scope="session")
def regions() -> dict:
    return REGIONS


@pytest.fixture(scope="session")
def qapp():
    """The one QApplication of the test run (Qt's offscreen platform unless told otherwise)."""
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(["vcam-tests"])
