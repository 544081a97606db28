"""A first start: the image kernels are compiled (tens of seconds) off the path to the first
picture, the camera is live meanwhile, the room is never shown without its effect, and the
compiled kernels go to vcam's own cache folder."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from vcam import jit, segment
from vcam.config import CaptureSettings, EffectSettings, OutputSettings, SegmentSettings, Settings
from vcam.live.pipeline import Pipeline
from vcam.segment.onnx import OnnxSegmenter

TIMEOUT = 60.0


class SlowModel:
    """Holds a first start's kernel preparation: a segmentation backend, registered through vcam's
    own registry, that runs the bundled model but waits in its first frame until
    :meth:`release` (the preparation runs the settings' engine on tiny frames, model included)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        slow = self

        class Gated(OnnxSegmenter):
            def segment(self, frame):
                slow.entered.set()
                slow.gate.wait(TIMEOUT)
                return super().segment(frame)

        segment.register("gated", lambda s: Gated(dataclasses.replace(s, backend="onnx")))

    def release(self) -> None:
        self.gate.set()


@pytest.fixture
def slow_model():
    SlowKernels().release()   # a kernel not yet warmed: this process's kernels are not all ready
    slow = SlowModel()
    yield slow
    slow.release()
    segment.unregister("gated")


class SlowKernels:
    """Holds the warm-up of every registered kernel until :meth:`release`: a kernel registered
    for warm-up whose sample waits, as a first compile does."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()

        def touch(a):
            return a[0] + 1

        self.kernel = njit(cache=False)(touch)   # a kernel of its own: a registered one is kept once
        jit.register(self.kernel, self._sample)

    def _sample(self) -> None:
        self.entered.set()
        self.gate.wait(TIMEOUT)
        self.kernel(np.zeros(1, np.int32))

    def release(self) -> None:
        self.gate.set()


@pytest.fixture
def slow_kernels():
    slow = SlowKernels()
    yield slow
    slow.release()   # a later warm-up in this process runs the sample at once


def settings(effect: str, source: str, backend: str = "gated") -> Settings:
    return Settings(capture=CaptureSettings(source=source, width=320, height=240, fps=30.0),
                    segment=SegmentSettings(backend=backend, threads=1),
                    output=OutputSettings(target="virtual", backend="recording"),
                    effect=EffectSettings(effect))


def wait(condition, timeout: float = TIMEOUT) -> bool:
    done = threading.Event()
    deadline = threading.Timer(timeout, done.set)
    deadline.start()
    try:
        while not done.is_set():
            if condition():
                return True
            done.wait(0.02)
        return condition()
    finally:
        deadline.cancel()


def card_share(picture: np.ndarray) -> float:
    """The share of ``picture`` that is the card's plain dark grey."""
    return float(np.mean(np.all(picture == 32, axis=-1)))


def test_the_camera_is_live_while_the_kernels_are_prepared_and_the_room_never_shows(
        recording_backend, slow_model, astronaut_png):
    pipeline = Pipeline(settings("blur", str(astronaut_png)), kernels_in_background=True)
    try:
        pipeline.start()   # returns with the preparation still held
        assert slow_model.entered.wait(TIMEOUT) and not slow_model.gate.is_set()
        cam = recording_backend.instances[-1]
        assert pipeline.stats()["preparing"] is True
        assert cam.wait_for(5), "no frame went out while the kernels were prepared"
        assert wait(lambda: pipeline.preview() is not None)
        output, source = pipeline.preview()
        assert source.std() > 30 and card_share(output) > 0.8   # the panel sees the camera, and the card
        assert card_share(cam.frames()[-1]) > 0.8   # the virtual camera shows the card, not the room
        slow_model.release()
        assert wait(lambda: pipeline.stats()["preparing"] is False)
        assert cam.wait_for(cam.count + 5)
        assert card_share(cam.frames()[-1]) < 0.01 and cam.frames()[-1].std() > 30   # the effect, on the picture
    finally:
        pipeline.close()


def test_with_no_effect_the_camera_picture_goes_out_while_the_kernels_are_prepared(
        recording_backend, slow_model, astronaut_png):
    pipeline = Pipeline(settings("none", str(astronaut_png)), kernels_in_background=True)
    try:
        pipeline.start()
        assert slow_model.entered.wait(TIMEOUT)
        cam = recording_backend.instances[-1]
        assert cam.wait_for(3) and pipeline.stats()["preparing"] is True
        assert card_share(cam.frames()[-1]) < 0.01 and cam.frames()[-1].std() > 30   # the picture itself
    finally:
        slow_model.release()
        pipeline.close()


def test_the_chosen_effect_comes_on_before_every_kernel_is_prepared(recording_backend, slow_kernels, astronaut_png):
    """The settings' own kernels first: the frames are processed while the warm-up of the rest
    (held here) goes on."""
    pipeline = Pipeline(settings("blur", str(astronaut_png), backend="onnx"), kernels_in_background=True)
    try:
        pipeline.start()
        assert slow_kernels.entered.wait(TIMEOUT)   # the rest is being prepared, and held
        assert wait(lambda: pipeline.stats()["preparing"] is False)
        cam = recording_backend.instances[-1]
        assert cam.wait_for(cam.count + 3)
        assert card_share(cam.frames()[-1]) < 0.01 and not slow_kernels.gate.is_set()
    finally:
        slow_kernels.release()
        pipeline.close()


def test_by_default_start_waits_for_the_kernels(recording_backend, astronaut_png):
    slow = SlowKernels()
    slow.release()
    pipeline = Pipeline(settings("blur", str(astronaut_png), backend="onnx"))
    try:
        pipeline.start()
        assert pipeline.stats()["preparing"] is False   # ready before the first frame
    finally:
        pipeline.close()


def test_compiled_kernels_go_to_vcams_cache_folder(tmp_path):
    """Not ~/.cache/numba nor the installed package's __pycache__ (root-installed: site-packages)."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), HOME=str(tmp_path / "home"))
    code = ("import vcam, numpy as np, numba; from vcam import kernels; "
            "kernels.person_mean(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), np.uint8), np.zeros(3, np.float32)); "
            "print(numba.config.CACHE_DIR)")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "cache" / "vcam" / "kernels"
    assert Path(done.stdout.strip()) == folder
    assert list(folder.rglob("*person_mean*.nbi")), list(folder.rglob("*"))
    assert not (tmp_path / "home").exists() or not list((tmp_path / "home").rglob("*.nbi"))


def test_a_numba_cache_folder_the_user_set_is_kept(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "mine"))
    done = subprocess.run([sys.executable, "-c", "import vcam, numba; print(numba.config.CACHE_DIR)"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == tmp_path / "mine"


def test_a_pipeline_started_again_does_not_wait_for_kernels_already_prepared(recording_backend, astronaut_png):
    """The panel starts a new pipeline on a restart (a new size, a resume): no card then."""
    jit.warm_up()
    assert jit.ready()
    pipeline = Pipeline(settings("blur", str(astronaut_png), backend="onnx"), kernels_in_background=True)
    try:
        pipeline.start()
        assert pipeline.stats()["preparing"] is False
        cam = recording_backend.instances[-1]
        assert cam.wait_for(3) and card_share(cam.frames()[0]) < 0.01
    finally:
        pipeline.close()
