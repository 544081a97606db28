"""Short versions of ``benchmarks/endurance.py``: a few hundred frames of soak, a few starts and
stops, a few dozen live switches, through the real pipeline into pyvirtualcam backends that count
frames and note when each arrives. Frames and gaps are counted relative to the frame interval;
nothing here asserts a speed."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import endurance  # noqa: E402
from helpers import needs_mediapipe  # noqa: E402

SOAK_FRAMES = 300
CYCLES = 10
SWITCHES = 40
MAX_GAP = 5.0   # frame intervals; the output stage repeats a frame after 1.5 (room for a busy CI machine)


@pytest.fixture
def arrival_backends():
    """The benchmark's arrival backends registered with pyvirtualcam, and removed afterwards."""
    import pyvirtualcam

    endurance.ArrivalBackend.instances = []
    endurance.ArrivalBackendI420.instances = []
    endurance.register_backends()
    yield
    for name in (endurance.BACKEND, endurance.BACKEND_I420):
        pyvirtualcam.camera.BACKENDS.pop(name, None)
    endurance.ArrivalBackend.instances = []
    endurance.ArrivalBackendI420.instances = []


def test_soak_keeps_memory_and_leaves_no_thread(arrival_backends):
    r = endurance.soak(SOAK_FRAMES)
    assert r["error"] is None
    assert r["frames"] == SOAK_FRAMES
    assert r["received"] >= SOAK_FRAMES
    # Short runs are noisy (allocator, caches): a generous bound that a per-frame leak of a
    # 640x480 buffer (0.9 MB a frame, 130 MB over the 150 frames measured) still exceeds.
    assert r["rss_growth_mb"] < 50
    assert r["device_closed"] == 1
    assert r["threads_left"] == []


def test_start_stop_leaves_no_thread_and_closes_every_device(arrival_backends):
    r = endurance.start_stop(CYCLES)
    assert r["errors"] == []
    assert r["short_cycles"] == 0
    # pyvirtualcam opens an I420 device twice (asked RGB, told I420): every one is closed once
    assert r["devices_opened"] == 2 * CYCLES
    assert r["devices_closed"] == r["devices_opened"]
    assert r["threads_left"] == []
    if r["open_files_after_first"] is not None:   # Linux
        assert r["open_files_after_last"] <= r["open_files_after_first"] + 3


def test_switching_while_running_never_starves_the_virtual_camera(arrival_backends):
    # The benchmark's pipeline imports both backends at start, as the panel's does.
    r = endurance.switching(SWITCHES)
    assert r["failed_updates"] == []
    assert r["error"] is None
    assert r["stalls"] == 0
    assert r["running_at_end"]
    assert r["backend_loads"] >= SWITCHES // 5 - 1       # both backends (or both models) loaded live
    assert r["new_frames"] >= 2 * SWITCHES                # two new frames after every switch
    # The virtual camera gets a frame (new or repeated) at least every MAX_GAP intervals.
    assert r["gaps_over"][f"{MAX_GAP:g}"] == 0, r["long_gaps"]
    assert r["threads_left"] == []


def _first_switch(mode: str) -> dict:
    """``benchmarks/endurance.py --first-switch MODE`` in a fresh process, so that its switch to
    mediapipe really is the first use of mediapipe there."""
    import json
    import subprocess

    done = subprocess.run([sys.executable, str(BENCHMARKS / "endurance.py"), "--first-switch", mode],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@needs_mediapipe
def test_a_first_switch_to_mediapipe_imports_nothing_and_keeps_the_camera_fed():
    """Importing mediapipe (half a second of interpreter work, mostly matplotlib) while frames
    are published competes with the output thread for the GIL; a pipeline asked to preload it
    imports it at start, so the switch itself only builds the model."""
    plain = _first_switch("plain")
    assert plain["error"] is None and plain["segmenter"] == "mediapipe/general"
    assert "mediapipe" in plain["packages_imported_by_switch"]   # what preloading takes away

    r = _first_switch("preload")
    assert r["error"] is None and r["segmenter"] == "mediapipe/general"
    assert r["fresh_frames_arrived"]
    assert r["modules_imported_by_switch"] == 0, r["packages_imported_by_switch"]
    # A new or repeated frame at least every 3 intervals across the switch (the output repeats
    # its last frame after 1.5).
    assert r["longest_gap_intervals"] <= 3.0, r


def test_the_gap_count_sees_a_starved_camera(arrival_backends):
    """The arrival backend itself: a pause of 5 intervals between frames is counted."""
    import time

    import numpy as np

    cam = endurance.ArrivalBackend(width=4, height=4, fps=100.0, fourcc=0, device=None)
    frames = [np.zeros((4, 4, 3), np.uint8) for _ in range(2)]
    cam.send(frames[0])
    time.sleep(0.05)   # 5 intervals at 100 fps: a gap of at least that
    cam.send(frames[1])
    cam.send(frames[1])
    assert cam.count == 3 and cam.fresh == 2
    assert cam.gaps()["gaps_over"]["3"] == 1
    assert cam.longest_gap >= 5.0


def test_a_closed_pipeline_is_freed_without_the_cycle_collector(arrival_backends):
    """Its frame buffers, model and threads go as soon as the last reference does: a pipeline
    caught in a reference cycle kept several MB each until Python's cycle collector ran (100
    starts and stops grew by 272 MB before)."""
    import gc
    import weakref

    from vcam.live.pipeline import Pipeline
    from vcam.live.sources import open_source

    settings = endurance.settings_for(320, 240, 30.0, endurance.BACKEND_I420, pacing=False)
    pipeline = Pipeline(settings, source=open_source(settings.capture, live=False), max_frames=3)
    pipeline.start()
    assert pipeline.wait(60)
    pipeline.close()
    parts = {"pipeline": pipeline, "capture": pipeline._capture, "engine": pipeline._engine,
             "output pool": pipeline._out_pool, "capture pool": pipeline._capture.pool,
             "frame": pipeline._capture.pool.acquire()}
    refs = {name: weakref.ref(obj) for name, obj in parts.items()}
    del parts, pipeline
    gc.disable()
    try:
        assert [name for name, ref in refs.items() if ref() is not None] == []
    finally:
        gc.enable()


def test_a_closed_pool_lets_go_of_its_frames():
    from vcam.live.mailbox import FramePool

    pool = FramePool((4, 4, 3), count=2)
    out = pool.acquire()
    pool.close()
    pool.close()                     # safe twice
    out.release()                    # released after close: dropped, not kept
    assert out.pool is None
    late = pool.acquire()            # a closed pool still hands out a frame, tied to nothing
    assert late.pool is None and late.image.shape == (4, 4, 3)
