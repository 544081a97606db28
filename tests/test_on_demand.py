"""On demand (Linux): the camera is released while no other process holds the virtual camera's
device open, and opened again when one does. The device here is a plain file standing in for
/dev/videoN, held open by a real subprocess as a call app would hold the device."""
from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from vcam.config import CaptureSettings, EffectSettings, OutputSettings, Settings
from vcam.live.camera_readers import readers
from vcam.live.pipeline import Pipeline
from vcam.live.sources import Source

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")

TIMEOUT = 30.0
BRIGHT = 200   # the webcam's picture; the standby card is dark grey


class Webcam(Source):
    """Fake camera hardware behind the Source interface: a bright picture, paced at ``fps`` as a
    camera paces itself; every one opened and closed is counted, as a webcam's light would show."""

    live = True
    reconnect = True
    opened = 0
    closed = 0

    def __init__(self, fps: float = 30.0) -> None:
        self.name = "webcam"
        self.size = (64, 48)
        self.fps = fps
        self.is_open = True
        self._tick = threading.Event()   # never set: waits pace the frames
        type(self).opened += 1

    def wait(self) -> None:
        pass

    def read(self, out: np.ndarray) -> bool:
        self._tick.wait(1.0 / self.fps)
        out[:] = BRIGHT
        return self.is_open

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            type(self).closed += 1


@pytest.fixture
def webcam():
    Webcam.opened = Webcam.closed = 0
    yield Webcam


@pytest.fixture
def device(tmp_path: Path) -> Path:
    path = tmp_path / "video10"
    path.write_bytes(b"")
    return path


HOLD = "import sys, time; f = open(sys.argv[1]); print('open', flush=True); time.sleep(60)"


@pytest.fixture
def app(device):
    """``app()`` starts a real process that holds ``device`` open (as a call app holds the
    virtual camera) and returns it once it has; all are killed at the end."""
    started = []

    def start() -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", HOLD, str(device)], stdout=subprocess.PIPE, text=True)
        started.append(proc)
        assert proc.stdout.readline().strip() == "open"
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def test_readers_are_the_other_processes_holding_the_device_open(device, app):
    mine = open(device)   # this process's own hold never counts
    try:
        assert readers(device) == []
        holder = app()
        assert readers(device) == [holder.pid]
        assert readers(device, exclude=[holder.pid]) == []
        holder.kill()
        holder.wait()
        assert readers(device) == []
    finally:
        mine.close()
    assert readers(device.with_name("missing")) == []


def settings_for(device: Path, *, on_demand: bool = True) -> Settings:
    return Settings(capture=CaptureSettings(source="demo", width=64, height=48, fps=30.0),
                    effect=EffectSettings("none"),
                    output=OutputSettings(target="virtual", backend="recording", device=str(device),
                                          on_demand=on_demand))


def wait_for(cam, predicate, timeout: float = TIMEOUT) -> bool:
    """Wait until ``predicate()`` holds, looked at as each frame reaches the virtual camera."""
    with cam._cond:
        return cam._cond.wait_for(predicate, timeout)


def brightness(cam) -> float:
    return float(cam.last[-1].mean())


def test_the_camera_is_released_with_no_reader_and_opened_for_one(recording_backend, webcam, device, app):
    pipeline = Pipeline(settings_for(device), source=Webcam(), reopen=Webcam, reader_poll=0.05, reader_grace=0.3)
    pipeline.start()
    try:
        cam = recording_backend.instances[-1]
        assert cam.wait_for(5)
        # No app reads it: after the grace the camera is closed, and the device gets the standby card.
        assert wait_for(cam, lambda: Webcam.closed == 1 and brightness(cam) < 60), (Webcam.closed, brightness(cam))
        assert pipeline.camera_released and pipeline.stats()["camera_released"]
        assert Webcam.opened == 1
        assert cam.closed == 0                      # the virtual camera itself stays open
        n = cam.count
        assert cam.wait_for(n + 3)                  # and fed (the card, repeated)

        # A call app opens the virtual camera: the camera is opened again, its frames flow.
        holder = app()
        assert wait_for(cam, lambda: Webcam.opened == 2 and brightness(cam) == BRIGHT), (Webcam.opened, brightness(cam))
        fresh = cam.fresh
        assert wait_for(cam, lambda: cam.fresh >= fresh + 10)
        assert brightness(cam) == BRIGHT
        assert not pipeline.camera_released and not pipeline.stats()["camera_released"]
        assert Webcam.closed == 1

        # The app leaves: released again.
        holder.kill()
        holder.wait()
        assert wait_for(cam, lambda: Webcam.closed == 2 and brightness(cam) < 60), (Webcam.closed, brightness(cam))
        assert pipeline._capture.releases == 2
        assert pipeline.stats()["error"] is None
    finally:
        pipeline.close()
    assert Webcam.closed == Webcam.opened == 2
    assert cam.closed == 1
    assert not [t.name for t in threading.enumerate() if t.name.startswith("vcam-") and t.is_alive()]


def test_without_on_demand_the_camera_stays_open(recording_backend, webcam, device):
    pipeline = Pipeline(settings_for(device, on_demand=False), source=Webcam(), reopen=Webcam,
                        reader_poll=0.05, reader_grace=0.1)
    with pipeline:
        cam = recording_backend.instances[-1]
        assert cam.wait_for(30)                     # a second at 30 fps: ten times the grace
        assert pipeline.watch is None
        assert Webcam.closed == 0 and not pipeline.camera_released
        assert brightness(cam) == BRIGHT


def test_the_cli_option_says_when_it_cannot_apply(tmp_path):
    """``--on-demand`` reaches the settings; with no virtual camera to watch, the camera stays
    open and the user is told once."""
    done = subprocess.run([sys.executable, "-m", "vcam", "run", "--source", "demo", "--width", "64", "--height", "48",
                           "--output", "null", "--on-demand", "--frames", "5"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("on demand works with a live source and a virtual camera on Linux") == 1, done.stderr


def test_on_demand_switched_on_and_off_while_running(recording_backend, webcam, device):
    """``update()`` applies on_demand live (the panel's box): on, the camera is released with no
    reader; off, it is opened again and stays open."""
    pipeline = Pipeline(settings_for(device, on_demand=False), source=Webcam(), reopen=Webcam,
                        reader_poll=0.05, reader_grace=0.3)
    with pipeline:
        cam = recording_backend.instances[-1]
        assert cam.wait_for(5)
        on = settings_for(device, on_demand=True)
        pipeline.update(on)
        assert pipeline.settings.output.on_demand and pipeline.watch is not None
        assert wait_for(cam, lambda: Webcam.closed == 1 and brightness(cam) < 60), (Webcam.closed, brightness(cam))
        pipeline.update(settings_for(device, on_demand=False))
        assert pipeline.watch is None and not pipeline.settings.output.on_demand
        assert wait_for(cam, lambda: Webcam.opened == 2 and brightness(cam) == BRIGHT), (Webcam.opened, brightness(cam))
        fresh = cam.fresh
        assert wait_for(cam, lambda: cam.fresh >= fresh + 30)   # a second of frames: three graces
        assert Webcam.closed == 1 and not pipeline.camera_released
        assert len(recording_backend.instances) == 1            # the virtual camera was never reopened
