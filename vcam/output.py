"""Where frames go: a virtual camera, a video file, or nowhere; and the pacing of the output.

A :class:`Sink` takes RGB uint8 frames of the size it was opened with. :class:`Publisher` is the
output stage: it takes the newest composited frame, holds the output to its frame rate, and keeps
a virtual camera fed (repeating the last frame) when no new one comes in time.
"""
from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Callable, Optional, Protocol

import cv2
import numpy as np

from vcam import verify
from vcam.config import OutputSettings
from vcam.encode import VideoFormat, VideoWriter, even_size
from vcam.media import encode_image
from vcam.errors import VcamError
from vcam.handoff import Frame, Mailbox
from vcam.stats import Stats

log = logging.getLogger(__name__)

VIRTUAL_CAMERA_FIX = {
    "linux": "load v4l2loopback: sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=vcam",
    "win32": "install OBS Studio and start its virtual camera once",
    "darwin": "install OBS Studio and start its virtual camera once",
}


class Sink(Protocol):
    name: str
    keep_fed: bool   # repeat the last frame when no new one comes (a device apps are watching)

    def convert(self, frame: np.ndarray) -> np.ndarray:
        """RGB uint8 -> what ``send`` takes (the device's native format); one conversion at most,
        into a buffer the sink keeps."""

    def send(self, data: np.ndarray, when: Optional[float] = None) -> None:
        """``when``: the frame's capture time (``time.perf_counter()``), for sinks that time frames."""

    def close(self) -> None: ...


# What pyvirtualcam's v4l2loopback backend says when a device exists but will not take the
# format (another program streams to it in another size or format, or the size is beyond the
# module's max_width/max_height), or when it is busy.
REFUSALS = ("could not be configured", "could not be opened", "is already in use")


def virtual_camera_error(exc: Exception, width: int, height: int, fps: float,
                         device: Optional[str] = None) -> VcamError:
    """One clear error, with its fix, for a virtual camera that could not be opened: none there
    at all, or one that refused this size and rate (pyvirtualcam lists each backend's reason)."""
    reasons = [line.strip() for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
    refused = [r for r in reasons if any(k in r for k in REFUSALS)]
    where = f" {device}" if device else ""
    if refused:
        node = device or "/dev/videoN"
        return VcamError(
            f"the virtual camera{where} refused {width}x{height} at {fps:g} fps ({' / '.join(refused)})",
            f"another program may be publishing to it in another size or format: close it (`fuser -v {node}` "
            f"names it) and start again; or capture at the size it is set to (--width, --height, --fps); "
            f"or publish to another device with --output-device; v4l2loopback's max_width and max_height "
            f"module options limit the sizes it takes")
    if any("missing permissions" in r for r in reasons):
        return VcamError(f"no permission to use the virtual camera{where} ({' / '.join(reasons)})",
                         "add yourself to the video group: sudo usermod -a -G video $USER, then log in again")
    fix = VIRTUAL_CAMERA_FIX.get(sys.platform, VIRTUAL_CAMERA_FIX["linux"])
    if device:
        fix = f"check that {device} is a virtual camera device and not in use, or {fix}"
    return VcamError(f"no virtual camera{where} available ({' / '.join(reasons)})", fix)


class VirtualCameraSink:
    """A pyvirtualcam camera (v4l2loopback on Linux, OBS on Windows and macOS)."""

    keep_fed = True

    def __init__(self, width: int, height: int, fps: float, *,
                 device: Optional[str] = None, backend: Optional[str] = None) -> None:
        import pyvirtualcam

        if backend is not None and backend not in pyvirtualcam.camera.BACKENDS:
            raise VcamError(f"unknown virtual camera backend {backend!r}",
                            f"expected one of: {', '.join(pyvirtualcam.camera.BACKENDS) or 'none installed'}")
        self.size = width, height = even_size(width, height, "the virtual camera")
        try:
            cam = pyvirtualcam.Camera(width, height, fps, fmt=pyvirtualcam.PixelFormat.RGB, device=device, backend=backend)
            if cam.native_fmt == pyvirtualcam.PixelFormat.I420:
                # Publish I420 directly: our one conversion replaces the backend's.
                cam.close()
                cam = pyvirtualcam.Camera(width, height, fps, fmt=pyvirtualcam.PixelFormat.I420,
                                          device=device, backend=backend)
        except Exception as exc:  # pyvirtualcam raises RuntimeError listing every backend's reason
            raise virtual_camera_error(exc, width, height, fps, device) from None
        self._cam = cam
        self.device = cam.device   # the device path apps open (what on-demand watches)
        self.fmt = cam.fmt.name
        self._i420 = np.empty((height * 3 // 2, width), np.uint8) if self.fmt == "I420" else None
        self._rgb: Optional[np.ndarray] = None   # a frame cut to even sides, for an RGB device
        self.name = f"virtual camera {cam.device} ({cam.backend}, {self.fmt})"
        log.info("publishing to %s at %dx%d %.0f fps", self.name, width, height, fps)

    def convert(self, frame: np.ndarray) -> np.ndarray:
        w, h = self.size
        if frame.shape[1] != w or frame.shape[0] != h:   # an odd side: the last column or row left out
            frame = frame[:h, :w]
            if self._i420 is None:
                if self._rgb is None:
                    self._rgb = np.empty((h, w, 3), np.uint8)
                np.copyto(self._rgb, frame)
                return self._rgb
        if self._i420 is None:
            return frame
        return cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420, dst=self._i420)

    def send(self, data: np.ndarray, when: Optional[float] = None) -> None:
        self._cam.send(data)

    def close(self) -> None:
        if self._cam is not None:
            self._cam.close()
            self._cam = None


class VideoFileSink:
    """A recording: a video file (H.264 by default, :mod:`vcam.encode`) whose frames are timed by
    the capture clock, so it plays at the speed it was filmed even where frames were dropped.
    Written under a partial name and checked on :meth:`close` before it takes its own name."""

    keep_fed = False
    TIME_BASE = Fraction(1, 90000)   # MPEG's clock: a frame's time to a hundredth of a millisecond

    def __init__(self, path: Path, width: int, height: int, fps: float, fmt: Optional[VideoFormat] = None) -> None:
        self._writer = VideoWriter(Path(path), (width, height), Fraction(fps).limit_denominator(1001),
                                   time_base=self.TIME_BASE, fmt=fmt or VideoFormat())
        self.path = self._writer.path
        self.name = self._writer.name
        self.size = self._writer.size
        self._t0: Optional[float] = None

    @property
    def frames(self) -> int:
        return self._writer.frames

    def convert(self, frame: np.ndarray) -> np.ndarray:
        return frame   # the writer converts to its encoder's pixels itself

    def send(self, data: np.ndarray, when: Optional[float] = None) -> None:
        """``when``: the frame's capture time (``time.perf_counter()``); now where not given."""
        when = time.perf_counter() if when is None else when
        if self._t0 is None:
            self._t0 = when
        self._writer.write(data, pts=round((when - self._t0) / self.TIME_BASE))

    def close(self, *, keep: bool = True) -> None:
        """Finish, check and rename the file into place (see :meth:`VideoWriter.close`)."""
        self._writer.close(keep=keep)


FRAME_NAME = re.compile(r"\d{6}\.png")   # a video's frames in a folder: 000000.png, 000001.png, ...


class FrameFolder:
    """A video's frames as numbered PNG pictures in a folder, all or none: each is written under
    a hidden partial name, and :meth:`commit` renames them all once the video is complete, so a
    failure, a damaged input or a signal leaves the folder as it was. A folder that already holds
    frames (an earlier run) has them replaced whole: what a shorter run did not write again is
    removed on commit, so the folder never mixes two runs. Its other files are left alone."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._written: list[tuple[Path, Path]] = []

    def write(self, index: int, picture: np.ndarray) -> None:
        final = self.folder / f"{index:06d}.png"
        partial = verify.partial_name(final)
        data = encode_image(final, picture)
        self._written.append((partial, final))
        try:
            verify.write_new(partial, data)
        except OSError as exc:
            raise verify.write_error(final, exc) from None

    def earlier_frames(self) -> list[Path]:
        """The frames in the folder that this run has not written."""
        mine = {final.name for _, final in self._written}
        try:
            with os.scandir(self.folder) as entries:
                return sorted(self.folder / e.name for e in entries
                              if FRAME_NAME.fullmatch(e.name) and e.name not in mine and e.is_file(follow_symlinks=False))
        except OSError:
            return []

    def commit(self) -> None:
        stale = self.earlier_frames()
        try:
            for partial, final in self._written:
                verify.install(partial, final)
            for frame in stale:
                frame.unlink()
        except OSError as exc:
            raise verify.write_error(self.folder, exc) from None
        if stale:
            log.warning("%s held frames from an earlier run: replaced by these %d frames (%d earlier ones removed)",
                        self.folder, len(self._written), len(stale))
        self._written = []

    def abort(self) -> None:
        for partial, _ in self._written:
            partial.unlink(missing_ok=True)
        self._written = []


class NullSink:
    """Discards frames: for benchmarks and tests."""

    keep_fed = False
    name = "null"

    def convert(self, frame: np.ndarray) -> np.ndarray:
        return frame

    def send(self, data: np.ndarray, when: Optional[float] = None) -> None:
        pass

    def close(self) -> None:
        pass


def open_sink(settings: OutputSettings, width: int, height: int, fps: float) -> Sink:
    target = settings.target
    if target == "null":
        return NullSink()
    if target == "virtual":
        return VirtualCameraSink(width, height, fps, device=settings.device, backend=settings.backend)
    return VideoFileSink(Path(target), width, height, fps,
                         VideoFormat(codec=settings.codec, crf=settings.crf, audio=settings.audio))


def unavailable_card(width: int, height: int, title: str = "Camera unavailable",
                     note: str = "vcam is reconnecting") -> np.ndarray:
    """A dark RGB uint8 picture saying the camera is unavailable, for the virtual camera to show
    while it is: drawn once per outage, at the output's size."""
    card = np.full((height, width, 3), 32, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for text, y, share, colour in ((title, 0.47, 0.6, (255, 255, 255)), (note, 0.62, 0.4, (190, 190, 190))):
        (tw, th), _ = cv2.getTextSize(text, font, 1.0, 2)
        scale = max(0.3, share * width / tw)
        thickness = max(1, round(2 * scale))
        (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
        cv2.putText(card, text, ((width - tw) // 2, round(height * y + th / 2)), font, scale, colour, thickness, cv2.LINE_AA)
    return card


class Publisher:
    """The output stage. ``run()`` loops until ``stop`` is set or the mailbox closes.

    With pacing, frames go out no faster than ``fps``; a newer frame that arrives while one waits
    for its turn replaces it. A sink that must stay fed gets the last frame again when no new
    frame arrives within one and a half frame intervals; when ``unavailable()`` says the camera
    is gone and no new frame has come for ``card_after`` seconds, it gets :func:`unavailable_card`
    of ``size`` instead, until frames come again. While ``standby()`` says the camera was released
    on purpose (no app reads the virtual camera), it gets a standby card, ``STANDBY_FPS`` times a
    second: the device stays open and configured, so call apps still list it, at next to no cost.
    """

    STANDBY_FPS = 5.0
    STANDBY_CARD = ("Camera off", "it starts when an app uses vcam")

    def __init__(self, sink: Sink, fps: float, stats: Stats, *, pacing: bool = True,
                 max_frames: Optional[int] = None, on_done: Optional[Callable[[], None]] = None,
                 size: Optional[tuple[int, int]] = None, unavailable: Optional[Callable[[], bool]] = None,
                 card_after: float = 2.0, standby: Optional[Callable[[], bool]] = None) -> None:
        self.sink = sink
        self.interval = 1.0 / fps
        self.stats = stats
        self.pacing = pacing
        self.max_frames = max_frames
        self.on_done = on_done
        self.size = size
        self.unavailable = unavailable
        self.card_after = card_after
        self.standby = standby
        self._card: Optional[np.ndarray] = None
        self._standby_card: Optional[np.ndarray] = None
        self.cards = 0   # outages the card was shown for
        self.standbys = 0   # times the standby card was put up
        self.sent = 0
        self.error: Optional[str] = None

    def _show_card(self) -> np.ndarray:
        if self._card is None:
            self._card = unavailable_card(*self.size)
        self.cards += 1
        log.info("showing the camera-unavailable card")
        return self.sink.convert(self._card)

    def _show_standby(self) -> np.ndarray:
        if self._standby_card is None:
            self._standby_card = unavailable_card(*self.size, *self.STANDBY_CARD)
        self.standbys += 1
        return self.sink.convert(self._standby_card)

    def run(self, mailbox: Mailbox, stop: threading.Event) -> None:
        held: Optional[Frame] = None
        held_data: Optional[np.ndarray] = None
        last_t = -1e9
        last_new = time.perf_counter()
        card_shown = standby_shown = False
        can_card = self.unavailable is not None and self.size is not None
        can_standby = self.standby is not None and self.size is not None
        standby_interval = max(self.interval, 1.0 / self.STANDBY_FPS)
        try:
            while not stop.is_set():
                frame = mailbox.get(timeout=1.5 * self.interval if self.sink.keep_fed else 0.25)
                now = time.perf_counter()
                if frame is None:
                    if mailbox.closed:
                        break
                    if self.sink.keep_fed and now - last_t >= (standby_interval if standby_shown else self.interval):
                        if can_standby:
                            standing_by = self.standby()
                            if standing_by and not standby_shown:
                                held_data = self._show_standby()   # as the card below
                                standby_shown = True
                            elif standby_shown and not standing_by:
                                standby_shown = False   # opening again: no frame yet, maybe a failure
                        if (can_card and not card_shown and not standby_shown and now - last_new >= self.card_after
                                and self.unavailable()):
                            held_data = self._show_card()   # the sink's buffer, or the card itself
                            card_shown = True
                        if held_data is not None:
                            self.sink.send(held_data)   # still in the sink's buffer, or the held frame
                            last_t = now
                            self.stats.record_repeat()
                    continue
                last_new = now
                card_shown = standby_shown = False
                if self.pacing and now < last_t + 0.9 * self.interval:
                    time.sleep(last_t + 0.9 * self.interval - now)
                    newer = mailbox.get(timeout=0)
                    if newer is not None:
                        frame.release()
                        frame = newer
                t0 = time.perf_counter()
                data = self.sink.convert(frame.image)
                t1 = time.perf_counter()
                self.sink.send(data, frame.t_capture)
                last_t = time.perf_counter()
                frame.times["convert"] = t1 - t0
                frame.times["output"] = last_t - t1
                self.stats.record(frame.times, frame.t_capture, last_t)
                if held is not None:
                    held.release()
                held, held_data = frame, data
                self.sent += 1
                if self.max_frames is not None and self.sent >= self.max_frames:
                    break
        except Exception as exc:
            self.error = f"{self.sink.name} failed: {exc}"
            log.exception("output failed")
        finally:
            if held is not None:
                held.release()
            if self.on_done is not None:
                self.on_done()
