"""Capture and virtual camera modes: the mode asked of a camera is checked against what it lists
and what it gives, the pipeline works at the size the camera really gives, and a virtual camera
that refuses a size says so with the fix."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import V4L2_CTL, V4L2_CTL_C920

from vcam import VcamError
from vcam.config import CaptureSettings, EffectSettings, OutputSettings, Settings
from vcam.live.devices import mode_note, nearest_mode, parse_v4l2_modes
from vcam.live.pipeline import Pipeline
from vcam.live.sinks import VirtualCameraSink
from vcam.live.sources import CameraSource

TIMEOUT = 60.0
C920 = parse_v4l2_modes(V4L2_CTL_C920)
SMALL = parse_v4l2_modes(V4L2_CTL)   # 1280x720 at 30 and 15, 640x480 at 60 and 30


# -- choosing a mode -------------------------------------------------------------------------------
@pytest.mark.parametrize("modes, asked, chosen", [
    pytest.param(C920, (1280, 720, 30.0), (1280, 720, 30.0), id="listed-in-mjpg"),
    pytest.param(C920, (1920, 1080, 60.0), (1920, 1080, 30.0), id="rate-too-high"),
    pytest.param(C920, (1920, 1080, 25.0), (1920, 1080, 24.0), id="nearest-rate"),
    pytest.param(C920, (1000, 700, 30.0), (960, 720, 15.0), id="nearest-size-by-area-and-shape"),
    pytest.param(C920, (3840, 2160, 30.0), (2304, 1536, 2.0), id="larger-than-any"),
    pytest.param(C920, (16, 16, 30.0), (160, 90, 30.0), id="smaller-than-any"),
    pytest.param(SMALL, (1920, 1080, 30.0), (1280, 720, 30.0), id="widescreen-keeps-its-shape"),
    pytest.param(SMALL, (640, 480, 45.0), (640, 480, 60.0), id="rate-tie-takes-the-higher"),
    pytest.param(SMALL, (800, 600, 30.0), (640, 480, 30.0), id="same-shape-before-same-area"),
])
def test_nearest_mode_of_a_real_mode_list(modes, asked, chosen):
    assert nearest_mode(modes, *asked) == chosen


def test_nearest_mode_without_a_list_or_rates():
    assert nearest_mode({}, 1280, 720, 30.0) is None
    assert nearest_mode({(640, 480): []}, 1280, 720, 25.0) == (640, 480, 25.0)


def test_mode_note_says_what_was_asked_what_is_given_and_how_to_choose():
    assert mode_note("camera 0", (1280, 720, 30.0), (1280, 720, 30.0)) is None
    assert mode_note("camera 0", (1280, 720, 30.0), (1280, 720, 29.97)) is None   # as cameras report 30
    note = mode_note("camera 0", (1920, 1080, 60.0), (1920, 1080, 30.0), (1920, 1080, 30.0))
    assert note.startswith("camera 0 cannot give 1920x1080 at 60 fps; using 1920x1080 at 30 fps, the nearest mode it lists")
    assert "vcam doctor" in note and "--width" in note and "--fps" in note
    note = mode_note("camera 0", (1280, 720, 30.0), (640, 480, 30.0), (1280, 720, 30.0))
    assert "using 640x480 at 30 fps, what it gave" in note   # not what the list promised


# -- a camera that gives another size than asked ---------------------------------------------------
@pytest.fixture
def small_video(tmp_path: Path) -> Path:
    """A 160x120 video at 25 fps with a bright square: what a camera gives when it ignores the
    size asked of it (OpenCV reads it through the same VideoCapture a webcam uses)."""
    path = tmp_path / "camera.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (160, 120))
    frame = np.full((120, 160, 3), 40, np.uint8)
    frame[30:90, 50:110] = (40, 200, 240)
    for _ in range(1500):
        writer.write(frame)
    writer.release()
    return path


def test_a_camera_that_gives_another_size_says_so(small_video):
    source = CameraSource(str(small_video), 640, 480, 30.0, modes=SMALL, api=cv2.CAP_FFMPEG)
    try:
        assert source.size == (160, 120) and source.fps == pytest.approx(25.0)
        assert source.asked == (640, 480, 30.0)
        assert source.note.startswith(f"camera {small_video} cannot give 640x480 at 30 fps; "
                                      "using 160x120 at 25 fps, what it gave")
        out = np.empty((120, 160, 3), np.uint8)
        assert source.read(out) and out[60, 80].tolist() == pytest.approx([240, 200, 40], abs=12)   # RGB
    finally:
        source.close()


def test_the_pipeline_publishes_at_the_size_the_camera_gives(small_video, recording_backend):
    settings = Settings(capture=CaptureSettings(source=str(small_video), width=640, height=480, fps=30.0),
                        effect=EffectSettings("color", color=(0, 177, 64)),
                        output=OutputSettings(target="virtual", backend="recording", pacing=False))
    source = CameraSource(str(small_video), 640, 480, 30.0, modes={}, api=cv2.CAP_FFMPEG)
    with Pipeline(settings, source=source, max_frames=5) as pipeline:
        assert pipeline.wait(TIMEOUT)
        stats = pipeline.stats()
    cam = recording_backend.instances[-1]
    assert (cam.width, cam.height) == (160, 120)               # the device opened at the given size
    assert cam.count >= 5
    assert {shape for shape, _ in cam.shapes} == {(120 * 160 * 3,)}   # pyvirtualcam sends them flat
    frame = cam.newest()
    # composited at that size: no person in the picture, so the colour replaces nearly all of it
    assert np.mean(np.all(frame == (0, 177, 64), axis=-1)) > 0.5
    assert stats["size"] == [160, 120]
    assert stats["error"] is None
    assert "cannot give 640x480" in stats["capture_note"]


def test_a_camera_opened_again_keeps_its_mode_and_tells_it_once(tmp_path, recording_backend, caplog):
    """A camera that stops (here: a 30-frame video read to its end) is opened again with the same
    OpenCV backend and modes, and what it gives is not told a second time."""
    path = tmp_path / "short.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (160, 120))
    for _ in range(30):
        writer.write(np.full((120, 160, 3), 90, np.uint8))
    writer.release()
    settings = Settings(capture=CaptureSettings(source=str(path), width=640, height=480, fps=30.0),
                        effect=EffectSettings("none"),
                        output=OutputSettings(target="virtual", backend="recording", pacing=False))
    caplog.set_level("WARNING", logger="vcam.live.sources")
    first = CameraSource(str(path), 640, 480, 30.0, modes={}, api=cv2.CAP_FFMPEG)
    with Pipeline(settings, source=first) as pipeline:
        cam = recording_backend.instances[-1]
        with cam._cond:   # looked at as each frame (new or repeated) reaches the virtual camera
            assert cam._cond.wait_for(lambda: pipeline._capture.source is not first, TIMEOUT), pipeline.stats()
        again = pipeline._capture.source
        cam.newest_after(3)                      # frames from the camera opened again
        assert pipeline.stats()["capture_note"] == first.note
    assert isinstance(again, CameraSource) and again.size == (160, 120) and again.api == cv2.CAP_FFMPEG
    told = [r.message for r in caplog.records if "cannot give 640x480" in r.message]
    assert told == [first.note]


# -- a virtual camera that refuses the size --------------------------------------------------------
class RefusingBackend:
    """Fake v4l2loopback hardware that another program streams to in another format: it refuses
    the format with the words pyvirtualcam's v4l2loopback backend uses."""

    def __init__(self, *, width, height, fps, fourcc, device, **kw) -> None:
        raise RuntimeError(f"Virtual camera device {device or '/dev/video10'} could not be configured: "
                           "Device or resource busy")


@pytest.fixture
def refusing_backend():
    import pyvirtualcam

    pyvirtualcam.register_backend("refusing", RefusingBackend)
    yield
    pyvirtualcam.camera.BACKENDS.pop("refusing", None)


def test_a_refused_size_is_one_clear_error_with_the_fix(refusing_backend):
    with pytest.raises(VcamError) as caught:
        VirtualCameraSink(1280, 720, 30.0, device="/dev/video10", backend="refusing")
    text = str(caught.value)
    assert text.startswith("the virtual camera /dev/video10 refused 1280x720 at 30 fps "
                           "('refusing' backend: Virtual camera device /dev/video10 could not be configured: "
                           "Device or resource busy)")
    assert "fuser -v /dev/video10" in text and "--width" in text and "--output-device" in text
    assert "modprobe" not in text   # the module is there: loading it is not the fix


CLI_WITH_A_REFUSING_DEVICE = """
import sys
import pyvirtualcam
sys.path.insert(0, sys.argv[1])
from test_modes import RefusingBackend
pyvirtualcam.register_backend("refusing", RefusingBackend)
from vcam.cli import main
sys.exit(main(["run", "--source", "demo", "--width", "320", "--height", "240", "--frames", "5"]))
"""


def test_the_cli_exits_non_zero_when_the_virtual_camera_refuses(tmp_path):
    """The real CLI in a fresh process, with every virtual camera backend failing: the absent
    v4l2loopback module, and a device that refuses the format. The refusal is what is told."""
    tests = str(Path(__file__).parent)
    done = subprocess.run([sys.executable, "-c", CLI_WITH_A_REFUSING_DEVICE, tests], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("vcam: error:")]
    assert len(errors) == 1, done.stderr
    assert "refused 320x240 at 30 fps" in errors[0] and "fuser -v" in errors[0]
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []
