"""A camera unplugged mid-call: the capture reports it at once and opens the camera again with
back-off, while the virtual camera keeps getting frames (the last one, then a "camera
unavailable" card). The camera is fake hardware (a Source that fails after some frames); the
pipeline, capture, output and the pyvirtualcam registry are the real ones."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from vcam import VcamError
from vcam.config import CaptureSettings, EffectSettings, OutputSettings, Settings
from vcam.live.capture import Capture
from vcam.live.pipeline import Pipeline
from vcam.live.publisher import unavailable_card
from vcam.live.sources import Source

SIZE = (320, 240)
RED, BLUE = (200, 30, 30), (30, 30, 200)
TIMEOUT = 60.0   # only a hung pipeline gets near it


class FlakyCamera(Source):
    """Fake hardware: a camera of one colour that gives ``frames`` frames (None: forever), then
    stops as an unplugged camera does: ``read`` returns False, or raises with ``raises``."""

    live = True
    reconnect = True

    def __init__(self, colour, frames=None, *, raises=False, fps=30.0):
        self.name = "flaky camera"
        self.size = SIZE
        self.fps = fps
        self.colour = np.array(colour, np.uint8)
        self.left = frames
        self.raises = raises
        self.failed = threading.Event()
        self.reads_after_failure = 0
        self.closed = 0

    def wait(self):
        time.sleep(1.0 / self.fps)   # the hardware's own frame interval

    def read(self, out):
        if self.left is not None:
            if self.left <= 0:
                if self.failed.is_set():
                    self.reads_after_failure += 1
                self.failed.set()
                if self.raises:
                    raise OSError(19, "No such device")
                return False
            self.left -= 1
        out[:] = self.colour
        return True

    def close(self):
        self.closed += 1


class Replug:
    """The reopen factory: fails ``failures`` times (camera still unplugged), then gives a blue
    camera. ``on_success`` runs just before it is given back."""

    def __init__(self, failures, on_success=None):
        self.failures = failures
        self.attempts = 0
        self.on_success = on_success
        self.opened = []

    def __call__(self):
        self.attempts += 1
        if self.attempts <= self.failures:
            raise VcamError("no camera at /dev/video0", "connect a camera")
        if self.on_success is not None:
            self.on_success()
        cam = FlakyCamera(BLUE)
        self.opened.append(cam)
        return cam


def settings() -> Settings:
    return Settings(capture=CaptureSettings(source="demo", width=SIZE[0], height=SIZE[1], fps=30.0),
                    output=OutputSettings(target="virtual", backend="recording"),
                    effect=EffectSettings("none"))


def mostly(frame: np.ndarray, colour) -> bool:
    return float(np.mean(np.all(np.abs(frame.astype(int) - colour) <= 8, axis=-1))) > 0.95


def vcam_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("vcam-") and t.is_alive()]


@pytest.mark.parametrize("raises", [False, True], ids=["read-false", "read-raises"])
def test_unplugged_camera_keeps_the_virtual_camera_fed_shows_the_card_and_comes_back(recording_backend, raises):
    first = FlakyCamera(RED, frames=20, raises=raises)
    seen = {}

    def at_replug():   # the moment the camera comes back: what was the output showing?
        seen["stats"] = pipeline.stats()
        seen["count"] = cam.count
        seen["newest"] = cam.newest().copy()

    replug = Replug(failures=2, on_success=at_replug)   # back on the 3rd try: 0.5 + 1 + 2 s later
    pipeline = Pipeline(settings(), source=first, reopen=replug)
    try:
        pipeline.start()
        cam = recording_backend.instances[-1]
        assert mostly(cam.newest_after(5, TIMEOUT), RED)
        assert first.failed.wait(TIMEOUT)
        count_at_failure = cam.count
        assert cam.wait_for(count_at_failure + 3, TIMEOUT)

        # Reported at once (within three frames), while the camera is still gone.
        assert replug.attempts <= 1
        error = pipeline.stats()["error"]
        assert error is not None and "camera unavailable" in error and "reconnecting" in error

        # Back: the new camera's frames reach the virtual camera, the problem is gone.
        assert mostly(cam.newest_after(5, TIMEOUT), BLUE)
        assert replug.attempts == 3
        assert pipeline.stats()["error"] is None
        assert first.closed == 1 and first.reads_after_failure == 0
    finally:
        pipeline.close()

    # During the outage the virtual camera kept getting frames (repeats, then the card) ...
    assert seen["count"] - count_at_failure >= 30
    # ... and what it showed when the camera came back was the card, at the output's size.
    assert np.array_equal(seen["newest"], unavailable_card(*SIZE))
    assert "camera unavailable" in seen["stats"]["error"] and "try 2" in seen["stats"]["error"]
    assert pipeline._publisher.cards == 1
    assert replug.opened[0].closed == 1
    assert vcam_threads() == []


def test_the_card_is_readable_text_on_a_dark_picture():
    card = unavailable_card(640, 360)
    assert card.shape == (360, 640, 3) and card.dtype == np.uint8
    bright = np.mean(card > 200)
    assert 0.005 < bright < 0.2                      # text is there, and it is not a white page
    assert np.mean(np.all(card == 32, axis=-1)) > 0.7   # the rest is the dark ground
    assert unavailable_card(1920, 1080).shape == (1080, 1920, 3)


def test_stopping_while_the_camera_is_gone_ends_at_once(recording_backend):
    first = FlakyCamera(RED, frames=5)
    replug = Replug(failures=10 ** 9)   # never comes back
    pipeline = Pipeline(settings(), source=first, reopen=replug)
    try:
        pipeline.start()
        assert first.failed.wait(TIMEOUT)
        cam = recording_backend.instances[-1]
        assert cam.wait_for(cam.count + 10, TIMEOUT)   # still fed while waiting to reconnect
        assert not pipeline.wait(0)                    # still running: reconnecting, not ended
    finally:
        pipeline.close()
    assert vcam_threads() == []
    assert first.closed == 1
    assert replug.opened == []


def test_a_source_that_does_not_reconnect_ends_as_before(recording_backend):
    first = FlakyCamera(RED, frames=5)
    first.reconnect = False
    replug = Replug(failures=0)
    pipeline = Pipeline(settings(), source=first, reopen=replug)
    try:
        pipeline.start()
        assert pipeline.wait(TIMEOUT)
        assert "stopped giving frames" in pipeline.stats()["error"]
        assert replug.attempts == 0
    finally:
        pipeline.close()


def test_capture_without_reopen_ends_when_the_camera_stops():
    first = FlakyCamera(RED, frames=3)
    capture = Capture(first).start()
    try:
        got = 0
        while (frame := capture.get(timeout=TIMEOUT)) is not None:
            got += 1
            frame.release()
        assert got >= 1
        assert capture.finished.is_set() and "stopped giving frames" in capture.error
        assert not capture.unavailable
    finally:
        capture.stop()
