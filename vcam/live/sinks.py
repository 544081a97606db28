"""Where finished frames go: a virtual camera, a video file (a recording), or nowhere.

A :class:`Sink` takes RGB uint8 frames of the size it was opened with; :func:`open_sink` opens
the one ``OutputSettings`` names. The thread that feeds one is :class:`vcam.live.publisher.Publisher`.
:func:`recording_file` is the one check of a recording's file, for ``vcam run``, the panel and
:meth:`vcam.live.pipeline.Pipeline.start`.
"""
from __future__ import annotations

import logging
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from vcam.config import OutputSettings, Settings
from vcam.errors import VcamError
from vcam.fileio import user_paths
from vcam.fileio.video_writer import VideoFormat, VideoWriter, even_size

log = logging.getLogger(__name__)


VIRTUAL_CAMERA_FIX = {
    "linux": "load v4l2loopback: sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=vcam",
    "win32": "install OBS Studio and start its virtual camera once",
    "darwin": "install OBS Studio and start its virtual camera once",
}


class Sink:
    """Where finished frames go. A sink sets ``name`` (what the log and the panel show) in its
    ``__init__``, and ``keep_fed`` where it is a device apps watch (the last frame is repeated
    when no new one comes in time: False by default), and ``device`` where it is a device apps
    open by path (what on-demand watches for readers: None by default). :meth:`send` is required; :meth:`convert`
    and :meth:`close` have defaults. A sink that cannot open raises :class:`VcamError` from
    ``__init__``, with the fix; :meth:`close` of a file raises it when the file is refused."""

    name: str = "sink"
    keep_fed: bool = False
    device: Optional[str] = None

    def convert(self, frame: np.ndarray) -> np.ndarray:
        """RGB uint8 -> what ``send`` takes (the device's native format); one conversion at most,
        into a buffer the sink keeps. As it is by default."""
        return frame

    def send(self, data: np.ndarray, when: Optional[float] = None) -> None:
        """``when``: the frame's capture time (``time.perf_counter()``), for sinks that time frames."""
        raise NotImplementedError

    def close(self) -> None:
        """Finish and release; safe twice. Nothing by default."""


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


class VirtualCameraSink(Sink):
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


class VideoFileSink(Sink):
    """A recording: a video file (H.264 by default, :mod:`vcam.fileio.video_writer`) whose frames are timed by
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


class NullSink(Sink):
    """Discards frames: for benchmarks and tests."""

    name = "null"

    def send(self, data: np.ndarray, when: Optional[float] = None) -> None:
        pass


def recording_file(settings: Settings, what: str = "--output", *, replace: bool = True) -> Optional[Path]:
    """The video file a recording of ``settings`` goes to, checked before anything opens; None
    for the virtual camera or ``null``. Refused, with one :class:`VcamError` and its fix: a
    folder, a device, a named pipe or a socket there, a write-protected file, a folder that
    cannot be written, and any of the inputs (the source, the background, the model), by any name
    (a symbolic or a hard link): writing it would destroy it. An existing file is replaced with
    ``replace`` (``vcam run --output``: the user named it for this run); without (the panel,
    whose target is a setting remembered from an earlier session) it is kept, and the next free
    name beside it (``talk-2.mp4``) is returned for the caller to say."""
    target = settings.output.target
    if target in ("virtual", "null"):
        return None
    path = user_paths.output_file(target, what)
    inputs = (settings.capture.source, settings.effect.background, settings.segment.model)
    user_paths.refuse_inputs(path, [str(f) for f in inputs if f], what)
    return path if replace else user_paths.free_name(path)


def open_sink(settings: OutputSettings, width: int, height: int, fps: float) -> Sink:
    target = settings.target
    if target == "null":
        return NullSink()
    if target == "virtual":
        return VirtualCameraSink(width, height, fps, device=settings.device, backend=settings.backend)
    return VideoFileSink(Path(target), width, height, fps,
                         VideoFormat(codec=settings.codec, crf=settings.crf, audio=settings.audio))
