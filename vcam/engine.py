"""One frame through segment -> matte -> composite: the same code for live video and for files.

Settings changes are built first, in the caller's thread, so a bad background or model raises
there and the parts in use stay; the new parts are swapped in at the start of the next frame.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Optional

import cv2
import numpy as np

from vcam import scaling, segment
from vcam.config import FramingSettings, LightSettings, Settings
from vcam.effects.autoframe import AutoFrame
from vcam.effects.composite import Compositor
from vcam.light.denoise import Denoise
from vcam.light.keylight import KeyLight
from vcam.light.lowlight import LowLight
from vcam.light.relight import Relight
from vcam.matte import Matte
from vcam.segment.build import build
from vcam.segment.still_gate import StillGate

log = logging.getLogger(__name__)

OPENCV_POOL_MIN_CORES = 3   # with fewer cores, OpenCV's own thread pool is left unused


def share_cores(cores: Optional[int] = None) -> None:
    """With 2 cores or fewer, OpenCV runs each operation on the thread that calls it: the
    pipeline's capture, processing and output threads already keep the cores busy, and splitting
    every resize and blur across them as well costs CPU for no speed (README, "Measuring speed")."""
    cores = (os.cpu_count() or 1) if cores is None else cores
    if cores < OPENCV_POOL_MIN_CORES:
        cv2.setNumThreads(1)


class Engine:
    """``live``: frames are shown as they come (see :class:`~vcam.effects.composite.Compositor`)."""

    def __init__(self, settings: Settings, *, live: bool = False) -> None:
        share_cores()
        self.settings = settings
        self.live = live
        self.segmenter = build(settings.segment)
        self.matte = Matte(settings.matte)
        self.still = StillGate()              # whether the model's last matte holds (skip_still)
        self._raw: Optional[np.ndarray] = None   # the model's last matte
        self.frames = 0                       # live frames segmented, and the model's passes on them
        self.model_runs = 0
        self.halvings = scaling.Halvings()   # the frame's, made once and shared by matte and composite
        self.fps = 30.0
        self.autoframe: Optional[AutoFrame] = None
        self._frame_with(settings.framing)
        self.compositor: Optional[Compositor] = None
        # studio light (settings.light), built for a frame size by prepare(); None where off
        self._light_size: Optional[tuple[int, int]] = None
        self._denoise: Optional[Denoise] = None
        self._low_light: Optional[LowLight] = None
        self._key_light: Optional[KeyLight] = None
        self._relight: Optional[Relight] = None   # used where the effect has a backdrop (replace)
        self._denoised: Optional[np.ndarray] = None   # the denoised frame
        self._lit: Optional[np.ndarray] = None        # the frame with light applied
        self._pending: Optional[tuple[Settings, Optional[segment.Segmenter], Optional[Compositor]]] = None
        self._lock = threading.Lock()
        self._generation = 0

    def _frame_with(self, framing: FramingSettings) -> None:
        """Auto-frame on, off, or at a new zoom (followed smoothly from where the crop is)."""
        if not framing.autoframe:
            if self.autoframe is not None:
                self.autoframe.ease_out()     # back to the whole picture, then gone
        elif self.autoframe is None:
            self.autoframe = AutoFrame(framing.zoom, self.fps)
        elif self.autoframe.leaving or framing.zoom != self.autoframe.zoom:
            self.autoframe.set_zoom(framing.zoom)

    def prepare(self, size: tuple[int, int], fps: Optional[float] = None) -> None:
        """Build the compositor for frames of ``size`` (width, height) now, not on the first
        frame; ``fps``: the rate frames come at (auto-frame's motion is timed by it)."""
        if fps and fps > 0 and fps != self.fps:
            self.fps = fps
            if self.autoframe is not None:
                self.autoframe.dt = 1.0 / fps
        if self.compositor is None or self.compositor.size != size:
            old, self.compositor = self.compositor, Compositor(self.settings.effect, size, live=self.live)
            if old is not None:
                old.close()
        if self._light_size != size:
            self._light_for(size)

    def _light_for(self, size: tuple[int, int], before: Optional[LightSettings] = None) -> None:
        """The studio-light stages ``settings.light`` turns on, for frames of ``size``: a few
        buffers of the frame's size, made here and not per frame. ``before``: the settings the
        parts in use were made for (at this size); a part whose own setting did not change is
        kept with what it has learnt (the low light's curve, the denoiser's average)."""
        light, (w, h) = self.settings.light, size
        if before is None or light.denoise != before.denoise:
            self._denoise = Denoise(size, light.denoise) if light.denoise > 0 else None
        if before is None or light.low_light != before.low_light:
            self._low_light = LowLight(size, light.low_light, self.fps) if light.low_light > 0 else None
        if before is None or (light.key_light, light.key_angle) != (before.key_light, before.key_angle):
            self._key_light = KeyLight(size, light.key_light, light.key_angle, self.fps) if light.key_light > 0 else None
        if before is None or light.relight != before.relight:
            self._relight = Relight(size, light.relight, self.fps) if light.relight > 0 else None
        if self._denoise is None:
            self._denoised = None
        elif self._denoised is None or self._denoised.shape != (h, w, 3):
            self._denoised = np.empty((h, w, 3), np.uint8)
        if self._low_light is None and self._key_light is None and self._relight is None:
            self._lit = None
        elif self._lit is None or self._lit.shape != (h, w, 3):
            self._lit = np.empty((h, w, 3), np.uint8)
        self._light_size = size

    def prepare_update(self, settings: Settings, size: tuple[int, int]) -> None:
        """Build what ``settings`` changes (raising :class:`~vcam.VcamError` on bad input, with
        nothing changed); it takes effect at the next :meth:`process`."""
        with self._lock:
            previous = self._pending
        current = previous[0] if previous else self.settings
        seg = build(settings.segment) if settings.segment != current.segment else None
        try:
            comp = Compositor(settings.effect, size, live=self.live) if settings.effect != current.effect else None
        except BaseException:
            if seg is not None:
                seg.close()
            raise
        if previous is not None:  # prepared twice between frames: keep what still applies
            seg = seg or previous[1]
            comp = comp or previous[2]
        with self._lock:
            previous, self._pending = self._pending, (settings, seg, comp)
        for part in previous[1:] if previous else ():
            if part is not None and part is not seg and part is not comp:
                part.close()

    def _apply_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is None:
            return
        settings, seg, comp = pending
        if seg is not None:
            self.segmenter.close()
            self.segmenter = seg
            self._forget()
        if comp is not None:
            if self.compositor is not None:
                comp.take_over(self.compositor)
                self.compositor.close()
            self.compositor = comp
        self.matte.settings = settings.matte
        if settings.framing != self.settings.framing:
            self._frame_with(settings.framing)
        before = self.settings.light
        self.settings = settings
        if settings.light != before and self._light_size is not None:
            self._light_for(self._light_size, before)

    def update(self, settings: Settings, size: tuple[int, int]) -> None:
        """Apply ``settings`` at once (for callers that process frames in their own thread)."""
        self.prepare_update(settings, size)
        self._apply_pending()

    def reset(self) -> None:
        """Forget temporal state: the next frame is unrelated to the last (another room too)."""
        self._forget()
        if self.compositor is not None:
            self.compositor.reset()

    def _forget(self) -> None:
        """Forget the temporal state of the stages that follow the person (a new model)."""
        self.matte.reset()
        self.still.reset()
        self._raw = None
        if self.autoframe is not None:
            self.autoframe.reset()
        self.segmenter.reset()
        for part in (self._denoise, self._low_light, self._key_light, self._relight):
            if part is not None:
                part.reset()

    def process(self, frame: np.ndarray, out: np.ndarray, times: dict, generation: Optional[int] = None,
                *, photo: bool = False) -> np.ndarray:
        """Composite ``frame`` into ``out``; record stage seconds in ``times``; return the alpha
        (uint8, reused by the next call). A new ``generation`` (source) resets temporal state.
        ``photo``: a still picture, unrelated to the last, segmented with more care than the
        real-time budget allows (no temporal state is used or kept)."""
        size = (frame.shape[1], frame.shape[0])
        self._begin(size, generation)
        # The order of the stages, in one place. The person is found in the camera's own picture
        # (segment, matte: a denoised picture would hide a low-contrast edge's motion from the
        # matte's motion test, which then trails it); the picture people see is cleaned, lit and
        # composited after.
        t0 = time.perf_counter()
        self.halvings.next_frame()   # the frame's halvings, shared by the stages below
        raw, skipped = self._segment(frame, photo)
        t1 = time.perf_counter()
        framing = self.autoframe is not None and not photo   # a picture is kept whole
        backdrop = self.compositor.backdrop   # the new background (replace, else None): relight lights for it
        lighting = self._lights_on(backdrop)
        alpha = self._matte(raw, frame, size, photo, scaled=lighting or not framing)
        t2 = time.perf_counter()
        denoise = self._denoise is not None and not photo   # video only
        if denoise:
            frame = self._clean(frame)
        t3 = time.perf_counter()
        if lighting:
            frame = self._light(frame, alpha, backdrop)
        t4 = time.perf_counter()
        if framing:   # timed as composite
            frame, alpha = self._frame(frame, alpha)
        # nothing moved, and the picture is the camera's as it was: the room as last defocused
        self.compositor.apply(frame, alpha, out, self.halvings, still=skipped and not framing and not lighting)
        t5 = time.perf_counter()
        times["segment"] = t1 - t0
        times["matte"] = t2 - t1
        if denoise:
            times["denoise"] = t3 - t2
        if lighting:
            times["light"] = t4 - t3
        times["composite"] = t5 - t4
        return alpha

    def _begin(self, size: tuple[int, int], generation: Optional[int]) -> None:
        """Before a frame: settings prepared since the last one take effect, a new ``generation``
        (source) forgets temporal state, and the parts are built for frames of ``size``."""
        if self._pending is not None:
            self._apply_pending()
        if generation is not None and generation != self._generation:
            self._generation = generation
            self.reset()
        self.prepare(size)

    def _segment(self, frame: np.ndarray, photo: bool) -> tuple[np.ndarray, bool]:
        """The person (float32, the model's resolution), and whether the model was skipped: its
        last matte still holds (``vcam.segment.still_gate``). A ``photo`` forgets all temporal
        state first and is segmented with more care."""
        if photo:
            self.reset()
            return self.segmenter.segment_photo(frame), False
        self.frames += 1
        if self.settings.segment.skip_still and self.still.still(frame, self.halvings) and self._raw is not None:
            return self._raw, True
        raw = self._raw = self.segmenter.segment(frame)
        self.model_runs += 1
        if self.settings.segment.skip_still:
            self.still.ran(raw)
        return raw, False

    def _matte(self, raw: np.ndarray, frame: np.ndarray, size: tuple[int, int], photo: bool, *,
               scaled: bool) -> np.ndarray:
        """The alpha (uint8, a buffer the matte stage keeps): ``raw`` smoothed over frames (following
        the picture's motion, video only) with its edge placed; at the frame's ``size`` where
        ``scaled`` (the light stages read it there), else at the model's resolution, for auto-frame
        to warp straight to the framed alpha."""
        return self.matte.update(raw, size, None if photo else frame, self.halvings, scaled=scaled)

    def _clean(self, frame: np.ndarray) -> np.ndarray:
        """``frame`` denoised into ``self._denoised``: still parts averaged over frames."""
        return self._denoise.apply(frame, self._denoised)

    def _lights_on(self, backdrop: Optional[np.ndarray]) -> bool:
        """Whether a light stage is on: low light, key light, or relight where there is a new
        background (``backdrop``) to light the person for."""
        return (self._low_light is not None or self._key_light is not None
                or (self._relight is not None and backdrop is not None))

    def _light(self, frame: np.ndarray, alpha: np.ndarray, backdrop: Optional[np.ndarray]) -> np.ndarray:
        """``frame`` lit on the person ``alpha`` (the frame's size) finds, into ``self._lit``: low
        light, relight towards ``backdrop`` (the room's light is measured before the key light
        adds its own), then the key light."""
        if self._low_light is not None:
            frame = self._low_light.apply(frame, alpha, self._lit)
        if self._relight is not None and backdrop is not None:
            frame = self._relight.apply(frame, alpha, backdrop, self._lit)
        if self._key_light is not None:
            frame = self._key_light.apply(frame, alpha, self._lit)
        return frame

    def _frame(self, frame: np.ndarray, matte: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Auto-frame: the framed picture and its alpha, sampled from ``matte`` at its own
        resolution, both the frame's size (buffers auto-frame keeps); once it has eased out to
        the whole picture it is gone."""
        framed = self.autoframe.apply(frame, matte)
        if self.autoframe.done:
            self.autoframe = None
        return framed

    def model_share(self) -> Optional[float]:
        """The share of live frames the model ran on (the others carried its matte); None
        before the first."""
        return self.model_runs / self.frames if self.frames else None

    def close(self) -> None:
        """Release the model and any background video; safe to call twice."""
        with self._lock:
            pending, self._pending = self._pending, None
        for part in (pending[1:] if pending else ()) + (self.segmenter, self.compositor):
            if part is not None:
                part.close()
        self.compositor = None


def compile_kernels(settings: Settings, size: tuple[int, int] = (160, 120), frames: int = 3) -> None:
    """Run ``settings`` through an engine of its own on a few tiny frames (a bright block on a
    dark room), so that the kernels those settings use are compiled, or loaded from the cache,
    before the real frames need them: on a first start the chosen effect comes on as soon as its
    own kernels are ready (about a fifth of them for a blur), not after all of them."""
    w, h = size
    frame = np.full((h, w, 3), 40, np.uint8)
    frame[h // 4:, w // 3:2 * w // 3] = 200
    out = np.empty_like(frame)
    engine = Engine(settings, live=True)
    try:
        engine.prepare(size, 30.0)
        for _ in range(frames):
            engine.process(frame, out, {})
    finally:
        engine.close()
