"""The live pipeline end to end: a real picture in, the real MediaPipe model, frames out through
pyvirtualcam's own registry into a recording backend (or into a video file)."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from helpers import count_frames
from pyvirtualcam.util import encode_fourcc

from vcam import VcamError
from vcam.config import CaptureSettings, EffectSettings, OutputSettings, Settings
from vcam.live.pipeline import Pipeline

GREEN = (0, 177, 64)
TIMEOUT = 60.0   # generous: only a hung pipeline ever gets near it


def live_settings(source: Path | str, effect: EffectSettings, **output) -> Settings:
    return Settings(capture=CaptureSettings(source=str(source), width=320, height=240, fps=30.0),
                    output=OutputSettings(target="virtual", backend="recording", **output),
                    effect=effect)


def vcam_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("vcam-") and t.is_alive()]


def close_to(a: np.ndarray, b: np.ndarray, tol: int = 8) -> float:
    """Share of pixels whose every channel is within ``tol`` of the other picture."""
    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return float(np.mean(np.all(d <= tol, axis=-1)))


def equal_to_color(a: np.ndarray, colour) -> float:
    return float(np.mean(np.all(a == np.array(colour, np.uint8), axis=-1)))


@pytest.fixture
def started(recording_backend):
    """Start a pipeline and always close it; yields (pipeline, its recording backend)."""
    pipelines = []

    def start(settings: Settings, **kw):
        p = Pipeline(settings, **kw)
        pipelines.append(p)
        p.start()
        assert len(recording_backend.instances) == len(pipelines)
        return p, recording_backend.instances[-1]

    yield start
    for p in pipelines:
        p.close()


def test_frames_reach_the_virtual_camera_with_the_frame_size(started, astronaut_png):
    n = 12
    pipeline, cam = started(live_settings(astronaut_png, EffectSettings("color", color=GREEN)), max_frames=n)
    assert pipeline.wait(TIMEOUT)
    # the picture's own size (files keep theirs), RGB as pyvirtualcam's 'raw ' fourcc
    assert (cam.width, cam.height) == (512, 512)
    assert cam.fourcc == encode_fourcc("raw ")
    assert pipeline.frames_sent == n
    stats = pipeline.stats()
    assert stats["frames"] == n
    assert cam.count == n + stats["repeats"]   # repeats keep the camera fed; nothing else is sent
    assert cam.fresh == n
    for shape, dtype in cam.shapes:
        assert shape == (512 * 512 * 3,) and dtype == np.uint8
    assert len(cam.last) == min(cam.count, cam.KEEP)


def test_person_kept_background_coloured(started, astronaut_png, astronaut_rgb, regions):
    pipeline, cam = started(live_settings(astronaut_png, EffectSettings("color", color=GREEN)), max_frames=8)
    assert pipeline.wait(TIMEOUT)
    out = cam.newest()
    for part in ("face", "suit"):
        r = regions[part]
        assert close_to(out[r], astronaut_rgb[r]) > 0.95, part
    r = regions["background"]
    assert equal_to_color(out[r], GREEN) > 0.95
    assert close_to(out[r], astronaut_rgb[r]) < 0.05
    # and over the whole picture: some of it is the person, some of it the colour
    green = equal_to_color(out, GREEN)
    assert 0.2 < green < 0.8


def test_capture_pool_never_grows(started, astronaut_png):
    """At most one frame waits between capture and processing: three buffers are always enough."""
    pipeline, cam = started(live_settings(astronaut_png, EffectSettings("blur")), max_frames=40)
    assert pipeline.wait(TIMEOUT)
    assert pipeline._capture.frames >= 40
    assert pipeline._capture.pool.grown == 0


def test_output_pool_never_grows(started, astronaut_png):
    """Frames come three times faster than the output takes them: the newest wins and the
    preallocated output buffers are still enough."""
    pipeline, cam = started(live_settings(astronaut_png, EffectSettings("blur"), fps=10.0), max_frames=15)
    assert pipeline.wait(TIMEOUT)
    assert pipeline.frames_sent == 15
    assert pipeline.stats()["dropped"] > 0
    assert pipeline._capture.pool.grown == 0
    assert pipeline._out_pool.grown == 0


def test_live_update_switches_effect(started, astronaut_png, astronaut_rgb, regions):
    pipeline, cam = started(live_settings(astronaut_png, EffectSettings("color", color=GREEN)))
    assert cam.wait_for(5, TIMEOUT)
    flag = regions["flag"]
    coloured = cam.newest()
    assert equal_to_color(coloured[flag], GREEN) > 0.95

    pipeline.update(pipeline.settings.replace(effect=EffectSettings("blur", blur=20.0)))
    assert pipeline.settings.effect.effect == "blur"
    blurred = cam.newest_after(4, TIMEOUT)
    assert equal_to_color(blurred[flag], GREEN) < 0.01
    # the striped flag behind her is smoothed: much less variance than in the picture
    assert blurred[flag].astype(np.float32).var() < 0.5 * astronaut_rgb[flag].astype(np.float32).var()
    for part in ("face", "suit"):
        assert close_to(blurred[regions[part]], astronaut_rgb[regions[part]]) > 0.95, part

    pipeline.update(pipeline.settings.replace(effect=EffectSettings("none")))
    plain = cam.newest_after(4, TIMEOUT)
    np.testing.assert_array_equal(plain, astronaut_rgb)
    assert pipeline.stats()["error"] is None


def test_live_source_switch(started, astronaut_png, astronaut_rgb):
    """Switching the source while running keeps the output size (frames are scaled to it); a
    source that cannot be opened raises and the running one stays."""
    pipeline, cam = started(live_settings(astronaut_png, EffectSettings("none")))
    assert cam.wait_for(3, TIMEOUT)
    np.testing.assert_array_equal(cam.newest(), astronaut_rgb)
    demo = pipeline.settings.replace(capture=CaptureSettings(source="demo", width=640, height=480))
    pipeline.update(demo)
    switched = cam.newest_after(4, TIMEOUT)
    assert switched.shape == (512, 512, 3)
    assert close_to(switched, astronaut_rgb) < 0.5
    assert pipeline.stats()["source"] == "demo"
    with pytest.raises(VcamError, match="/dev/video57"):
        pipeline.update(demo.replace(capture=CaptureSettings(source="/dev/video57")))
    assert pipeline.settings == demo
    cam.newest_after(3, TIMEOUT)
    assert pipeline.stats()["source"] == "demo"
    assert pipeline.stats()["error"] is None


def _bad_background(kind: str, tmp_path: Path) -> str:
    if kind == "missing":
        return str(tmp_path / "no-such-background.jpg")
    path = tmp_path / "corrupt.jpg"
    path.write_bytes(b"\xff\xd8 this is not a JPEG at all " * 50)
    return str(path)


@pytest.mark.parametrize("kind", ["missing", "corrupt"])
def test_bad_background_update_raises_and_keeps_running(started, astronaut_png, regions, tmp_path, kind):
    pipeline, cam = started(live_settings(astronaut_png, EffectSettings("color", color=GREEN)))
    assert cam.wait_for(3, TIMEOUT)
    before = pipeline.settings
    bad = before.replace(effect=EffectSettings("replace", background=_bad_background(kind, tmp_path)))
    with pytest.raises(VcamError) as info:
        pipeline.update(bad)
    assert "background" in str(info.value)
    assert pipeline.settings == before
    # frames keep coming, still with the previous effect
    newer = cam.newest_after(5, TIMEOUT)
    assert equal_to_color(newer[regions["background"]], GREEN) > 0.95
    assert pipeline.stats()["error"] is None


def test_close_twice_leaves_no_threads(recording_backend, astronaut_png):
    pipeline = Pipeline(live_settings(astronaut_png, EffectSettings("blur")))
    pipeline.start()
    cam = recording_backend.instances[-1]
    assert cam.wait_for(3, TIMEOUT)
    assert set(vcam_threads()) >= {"vcam-capture", "vcam-process", "vcam-output"}
    pipeline.close()
    pipeline.close()
    assert vcam_threads() == []
    assert cam.closed == 1
    sent = cam.count
    assert pipeline.wait(0)          # a closed pipeline counts as finished
    assert cam.count == sent         # and sends nothing more


def test_stats_report_rate_and_stages(started, astronaut_png):
    pipeline, cam = started(live_settings(astronaut_png, EffectSettings("blur")), max_frames=15)
    assert pipeline.wait(TIMEOUT)
    s = pipeline.stats()
    assert s["fps"] > 0
    assert s["frames"] == 15
    assert {"segment", "matte", "composite"} <= set(s["stages"])
    for stage in ("segment", "matte", "composite"):
        assert 0 <= s["stages"][stage]["median_ms"] <= s["stages"][stage]["p95_ms"]
    assert s["size"] == [512, 512]
    assert s["source"] == str(astronaut_png)
    assert "recording" in s["output"]
    assert s["error"] is None


def test_video_file_output(tmp_path):
    target = tmp_path / "out.mp4"
    settings = Settings(capture=CaptureSettings(source="demo", width=320, height=240, fps=30.0),
                        output=OutputSettings(target=str(target)), effect=EffectSettings("blur"))
    with Pipeline(settings, max_frames=30) as pipeline:
        assert pipeline.wait(TIMEOUT)
    assert pipeline.stats()["error"] is None
    assert vcam_threads() == []
    assert count_frames(target, (240, 320, 3)) == 30
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]   # no '.partial' left


def test_start_failure_closes_everything(recording_backend, tmp_path):
    """A source that cannot be opened raises one VcamError and leaves nothing running."""
    pipeline = Pipeline(live_settings(tmp_path / "missing.png", EffectSettings("blur")))
    with pytest.raises(VcamError, match="missing.png"):
        pipeline.start()
    assert vcam_threads() == []
    assert recording_backend.instances == []
    pipeline.close()


def test_preloading_a_backend_that_cannot_load_still_starts(started, astronaut_png):
    """``preload`` only imports ahead of time: a backend that cannot be loaded is reported when
    it is chosen, and the pipeline starts and publishes anyway; no preload thread is left."""
    from vcam import segment

    assert segment.load("no-such-backend") == "unknown segmentation backend 'no-such-backend'"
    assert segment.load("onnx") is None
    pipeline, cam = started(live_settings(astronaut_png, EffectSettings("none")), max_frames=3,
                            preload=("no-such-backend", "onnx"))
    assert pipeline.wait(TIMEOUT)
    assert cam.count >= 3
    assert "vcam-preload" not in vcam_threads()


def test_opencv_runs_on_the_calling_thread_only_where_cores_are_few():
    import cv2

    from vcam.engine import share_cores

    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(4)
        share_cores(cores=8)
        assert cv2.getNumThreads() == 4       # many cores: OpenCV's pool is left as it is
        share_cores(cores=2)
        assert cv2.getNumThreads() == 1       # two: each operation on the thread that calls it
    finally:
        cv2.setNumThreads(before)
