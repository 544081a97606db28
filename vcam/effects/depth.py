"""Depth: how far back each part of the picture is, from TCMonoDepth's small network (bundled,
MIT: ``models/LICENSE-tcmonodepth.txt``), for the portrait blur and ``--effect depth``.

The network sees the whole picture at 320x192 (RGB 0 to 255, not scaled) and gives inverse depth
(larger is nearer) at an arbitrary scale: each map is normalised by its own percentiles into a
*nearness* from 0 (the far end of the room) to 1 (the nearest thing).

:class:`RoomDepth` keeps the portrait's depth off the frame's path. A room seldom moves, so the
network runs at a low rate: live on a thread of its own every ``DEPTH_EVERY_S`` seconds, and
again within ``DEPTH_SOONEST_S`` when the room's picture changed (another camera, the framing
moved, a new source); the newest frame wins, and no frame waits for it. Files are not real time:
there it runs in the frame's own call, on the first frame and every ``DEPTH_EVERY_FRAMES`` frames
(or sooner when the room changed), so a file gives the same output every time.

What it hands the frame's path (:attr:`RoomDepth.distance`, at the network's size) is how far in
depth each place is from the person: the person's depth is the median nearness inside their matte,
and their own place (widened) is filled with the room's depth around it, so the wall they uncover
when they move is blurred as the wall, not kept sharp as their old silhouette.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from vcam.errors import VcamError

log = logging.getLogger(__name__)

DEPTH_SIZE = (320, 192)      # the network's input, width x height
DEPTH_EVERY_S = 1.5          # live: the room's depth again this often ...
DEPTH_SOONEST_S = 0.25       # ... and at most this often when the room's picture changed
DEPTH_EVERY_FRAMES = 30      # files: the room's depth again every this many frames
NEAR_PERCENTILES = (2.0, 98.0)   # the nearness map's 0 and 1
PERSON_ALPHA = 128           # alpha from here on is the person
PERSON_LEAST = 0.002         # a person smaller than this share of the picture is nobody
PERSON_MARGIN = 0.03         # the person's place is widened by this share of the height before it is filled
FILL_SIGMA = 0.08            # ... filled from the room around it within about this share of the height
THUMB_SIZE = (32, 18)        # the room is compared between frames at this size ...
ROOM_CHANGE = 12.0           # ... and has changed when its mean difference is this many grey levels
THUMB_PERSON = 64            # a thumbnail pixel with this much alpha or more is not the room
OUTPUT_KEEP = 0.8            # a depth video's range follows each frame's by 1 - this (no flicker)


def model_path() -> Path:
    """The bundled network's file."""
    from vcam.config import DEPTH_MODEL
    from vcam.system.resources import BUNDLED_DEPTH_MODELS, models_dir

    return models_dir() / BUNDLED_DEPTH_MODELS[DEPTH_MODEL]


class DepthNet:
    """``net(rgb)``: the network's inverse depth (float32, 192x320, larger is nearer, its own
    scale) of ``rgb``, an RGB uint8 picture of 320x192. Raises :class:`VcamError` when the model
    cannot be loaded or run, with the reason."""

    def __init__(self, path: Optional[Path] = None, *, threads: int = 1) -> None:
        from vcam.system import packages, telemetry

        path = Path(path) if path is not None else model_path()
        try:
            import onnxruntime as ort
        except (ImportError, OSError, MemoryError) as exc:
            raise packages.import_failure(exc, "onnxruntime, which runs the depth network,", "pip install onnxruntime",
                                          module="onnxruntime", reinstall="pip install --force-reinstall onnxruntime") from None
        telemetry.onnxruntime_opened(ort)
        if not path.is_file():
            raise VcamError(f"the depth network {path} is missing", "reinstall vcam (`pip install --force-reinstall vcam`)")
        options = ort.SessionOptions()
        options.log_severity_level = 4
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:   # a damaged or changed file: the reason, and the fix
            raise VcamError(f"the depth network {path.name} could not be loaded ({type(exc).__name__})",
                            "reinstall vcam (`pip install --force-reinstall vcam`)") from None
        inputs = self._session.get_inputs()
        w, h = DEPTH_SIZE
        if len(inputs) != 1 or list(inputs[0].shape) != [1, 3, h, w]:
            raise VcamError(f"the depth network {path.name} takes {[i.shape for i in inputs]}, expected [1, 3, {h}, {w}]",
                            "reinstall vcam (`pip install --force-reinstall vcam`)")
        self._name = inputs[0].name
        self._input = np.empty((1, 3, h, w), np.float32)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        w, h = DEPTH_SIZE
        if rgb.shape != (h, w, 3) or rgb.dtype != np.uint8:
            raise ValueError(f"depth: expected RGB uint8 of {w}x{h}, got {rgb.dtype} {rgb.shape}")
        for c in range(3):
            self._input[0, c] = rgb[:, :, c]     # RGB 0 to 255, not scaled: what the network was trained on
        try:
            out = self._session.run(None, {self._name: self._input})[0]
        except Exception as exc:
            raise VcamError(f"the depth network could not run ({type(exc).__name__}: {exc})",
                            "reinstall vcam (`pip install --force-reinstall vcam`)") from None
        return out.reshape(h, w)


def nearness(raw: np.ndarray, out: np.ndarray, span: Optional[np.ndarray] = None) -> np.ndarray:
    """``raw`` (the network's output) as a nearness from 0 (far) to 1 (near) into ``out``, by its
    own percentiles, or, where ``span`` (float32 [low, high]) is given, by that span."""
    low, high = span if span is not None else np.percentile(raw, NEAR_PERCENTILES)
    np.subtract(raw, np.float32(low), out=out)
    out *= np.float32(1.0 / max(float(high - low), 1e-6))
    return np.clip(out, 0.0, 1.0, out=out)


def distance_from_person(near: np.ndarray, alpha: np.ndarray, out: np.ndarray) -> bool:
    """How far in depth (0 to 1) each place of the nearness map ``near`` is from the person whose
    ``alpha`` (uint8, the map's size) is given, into ``out``; the person's place (widened) holds
    the room's depth around it. False, and ``out`` all 1 (everything far), where nobody is there."""
    h, w = near.shape
    person = (alpha >= PERSON_ALPHA)
    if person.mean() < PERSON_LEAST:
        out[...] = 1.0
        return False
    at = np.float32(np.median(near[person]))
    reach = max(1, round(PERSON_MARGIN * h))
    hole = cv2.dilate(person.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2))
    room = (1 - hole).astype(np.float32)
    if room.any():   # the room's depth carried into the person's place (a normalised blur, as the defocus's)
        sigma = FILL_SIGMA * h
        weight = cv2.GaussianBlur(room, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        held = cv2.GaussianBlur(near * room, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        # where even that reach finds no room, the person's own depth (a 0 distance)
        filled = np.where(weight > 1e-3, held / np.maximum(weight, 1e-3), at)
        near = np.where(hole > 0, filled, near)
    else:
        near = np.full_like(near, at)
    np.subtract(near, at, out=out)
    np.abs(out, out=out)
    return True


class RoomDepth:
    """``update(frame, alpha, reduced)`` once per frame; then :attr:`distance` (float32, 192x320:
    how far in depth each place is from the person, 0 to 1) is the newest map, and
    :attr:`version` says when it changed. ``ready`` is False until the first map (and again after
    :meth:`reset`); ``problem`` says why there is none where the network cannot be used (said
    once in the log; the caller keeps its own estimate).

    ``live``: the network runs on a thread of its own (started on the first frame) and no frame
    waits for it; else in the frame's own call, at fixed frames. ``model``: another file of the
    same network (the bundled one by default)."""

    def __init__(self, *, live: bool, model: Optional[Path] = None) -> None:
        self.live = live
        self.model = model
        w, h = DEPTH_SIZE
        self.distance = np.ones((h, w), np.float32)   # the frame's path's copy
        self.person = False     # whether someone was in the picture the map was made of
        self.version = 0
        self.ready = False
        self.problem: Optional[str] = None
        self.runs = 0           # maps made
        self._net: Optional[DepthNet] = None
        # the room at the last run, and now: (thumbnail, its alpha) at THUMB_SIZE, and where both are the room
        tw, th = THUMB_SIZE
        self._ref = (np.zeros((th, tw, 3), np.uint8), np.zeros((th, tw), np.uint8))
        self._now = (np.zeros((th, tw, 3), np.uint8), np.zeros((th, tw), np.uint8))
        self._diff = np.empty((th, tw, 3), np.uint8)
        self._room = (np.empty((th, tw), np.uint8), np.empty((th, tw), np.uint8))
        self._started = False
        self._last = -np.inf    # when (seconds, live) or at which frame (files) the last run was asked for
        self._frames = 0
        # the hand-offs (live): the frame's path fills _staging, swaps it into _inbox; the thread
        # swaps _inbox with _work; it fills _made and swaps it with _shown
        self._staging = (np.empty((h, w, 3), np.uint8), np.empty((h, w), np.uint8))
        self._inbox = (np.empty((h, w, 3), np.uint8), np.empty((h, w), np.uint8))
        self._work = (np.empty((h, w, 3), np.uint8), np.empty((h, w), np.uint8))
        self._near = np.empty((h, w), np.float32)
        self._made = np.ones((h, w), np.float32)
        self._shown = np.ones((h, w), np.float32)
        self._shown_person = False
        self._posted = False
        self._made_version = 0
        self._round = 0         # a map of an older round (before a reset) is dropped
        self._closed = False
        self._cond = threading.Condition()
        self._thread: Optional[threading.Thread] = None

    # -- the frame's path -------------------------------------------------------------------------
    def update(self, frame: np.ndarray, alpha: np.ndarray, reduced: np.ndarray) -> None:
        """Ask for a map of this frame when one is due (``reduced``: the frame at any small size,
        for telling whether the room changed), and take the newest map made."""
        if self.problem is not None or self._closed:
            return
        changed = self._room_changed(reduced, alpha)
        if self.live:
            now = time.monotonic()
            due = now - self._last >= DEPTH_EVERY_S or (changed and now - self._last >= DEPTH_SOONEST_S)
        else:
            self._frames += 1
            now = self._frames
            due = now - self._last >= DEPTH_EVERY_FRAMES or changed
        if due:
            self._last = now
            self._take_reference()
            rgb, small_alpha = self._staging
            cv2.resize(frame, DEPTH_SIZE, dst=rgb, interpolation=cv2.INTER_AREA)
            cv2.resize(alpha, DEPTH_SIZE, dst=small_alpha, interpolation=cv2.INTER_LINEAR)
            if self.live:
                self._post()
            else:
                self._run_here()
        if self.live:
            self._take()

    def _room_changed(self, reduced: np.ndarray, alpha: np.ndarray) -> bool:
        """Whether the room (where neither this frame nor the last map's frame has the person)
        differs from the last map's by ``ROOM_CHANGE`` grey levels on average."""
        thumb, thumb_alpha = self._now
        cv2.resize(reduced, THUMB_SIZE, dst=thumb, interpolation=cv2.INTER_AREA)
        cv2.resize(alpha, THUMB_SIZE, dst=thumb_alpha, interpolation=cv2.INTER_NEAREST)
        if not self._started:
            return True
        ref, ref_alpha = self._ref
        room, other = self._room
        cv2.compare(thumb_alpha, THUMB_PERSON, cv2.CMP_LT, dst=room)
        cv2.compare(ref_alpha, THUMB_PERSON, cv2.CMP_LT, dst=other)
        cv2.bitwise_and(room, other, dst=room)
        if cv2.countNonZero(room) < room.size // 8:   # hardly any room seen: the person fills the picture
            return False
        cv2.absdiff(thumb, ref, dst=self._diff)
        return sum(cv2.mean(self._diff, mask=room)[:3]) / 3.0 >= ROOM_CHANGE

    def _take_reference(self) -> None:
        self._ref, self._now = self._now, self._ref
        self._started = True

    def _run_here(self) -> None:
        try:
            if self._net is None:
                self._net = DepthNet(self.model, threads=0)
            self.person = self._make(self._net, *self._staging, self.distance)
        except VcamError as exc:
            self._fail(exc)
            return
        self.version += 1
        self.runs += 1
        self.ready = True

    def _post(self) -> None:
        """The staged frame to the thread: the newest wins over one it has not taken yet."""
        with self._cond:
            self._staging, self._inbox = self._inbox, self._staging
            self._posted = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="room-depth", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _take(self) -> None:
        """The thread's newest map, copied for the frame's path (only when there is a new one)."""
        with self._cond:
            if self._made_version == self.version or self._closed:
                return
            np.copyto(self.distance, self._shown)
            self.person = self._shown_person
            self.version = self._made_version
        self.ready = True

    # -- the thread -------------------------------------------------------------------------------
    def _loop(self) -> None:
        try:
            net = DepthNet(self.model, threads=1)
        except VcamError as exc:
            self._fail(exc)
            return
        while True:
            with self._cond:
                while not self._posted and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                self._inbox, self._work = self._work, self._inbox
                self._posted = False
                round_ = self._round
            try:
                person = self._make(net, *self._work, self._made)
            except VcamError as exc:
                self._fail(exc)
                return
            with self._cond:
                if round_ != self._round:
                    continue
                self._made, self._shown = self._shown, self._made
                self._shown_person = person
                self._made_version += 1
                self.runs += 1

    def _make(self, net: DepthNet, rgb: np.ndarray, alpha: np.ndarray, out: np.ndarray) -> bool:
        return distance_from_person(nearness(net(rgb), self._near), alpha, out)

    def _fail(self, exc: VcamError) -> None:
        self.problem = str(exc)
        log.warning("portrait: the depth network cannot be used (%s): the blur grows with the distance from your "
                    "outline instead", exc)

    # -- state ------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Another room (a new source, the next picture): a map of it at the next frame, and none
        shown until then (a map being made of the old room is dropped)."""
        with self._cond:
            self._round += 1
            self._posted = False
            self._made_version = self.version   # nothing new to take until the new room's map
            self.ready = False
            self._started = False
            self._last = -np.inf
            self._frames = 0

    def close(self) -> None:
        """Stop the thread (a map being made is dropped); safe to call twice."""
        with self._cond:
            self._closed = True
            self._cond.notify()


class DepthPicture:
    """``--effect depth`` (files): the picture's depth as 8-bit grey, near = white, at the
    frame's size: ``depth(frame, out)`` writes it into ``out`` (RGB, the grey in each channel) and
    keeps it in :attr:`grey`. A video's range follows each frame's smoothly (no flicker);
    :meth:`reset` before an unrelated picture. Raises :class:`VcamError` when the network cannot
    be used (there is no depth without it)."""

    def __init__(self, size: tuple[int, int], *, model: Optional[Path] = None) -> None:
        w, h = self.size = size
        self._net = DepthNet(model, threads=0)
        dw, dh = DEPTH_SIZE
        self._rgb = np.empty((dh, dw, 3), np.uint8)
        self._near = np.empty((dh, dw), np.float32)
        self._small = np.empty((dh, dw), np.uint8)
        self._span: Optional[np.ndarray] = None
        self.grey = np.empty((h, w), np.uint8)

    def __call__(self, frame: np.ndarray, out: np.ndarray) -> np.ndarray:
        cv2.resize(frame, DEPTH_SIZE, dst=self._rgb, interpolation=cv2.INTER_AREA)
        raw = self._net(self._rgb)
        span = np.percentile(raw, NEAR_PERCENTILES).astype(np.float32)
        if self._span is None:
            self._span = span
        else:
            self._span = OUTPUT_KEEP * self._span + np.float32(1.0 - OUTPUT_KEEP) * span
        near = nearness(raw, self._near, self._span)
        near *= np.float32(255.0)
        near += np.float32(0.5)
        self._small[...] = near
        cv2.resize(self._small, self.size, dst=self.grey, interpolation=cv2.INTER_LINEAR)
        cv2.cvtColor(self.grey, cv2.COLOR_GRAY2RGB, dst=out)
        return self.grey

    def reset(self) -> None:
        self._span = None
