"""Frame sources: a camera, a video file, a still picture, the demo portrait, and frames
preloaded for a benchmark. Each fills a caller's buffer on :meth:`Source.read`; the thread that
drives one is :class:`vcam.live.capture.Capture`.
"""
from __future__ import annotations

import logging
import math
import sys
import time
from pathlib import Path
from typing import Optional, Union

import cv2
import numpy as np

from vcam import scaling
from vcam.config import CaptureSettings
from vcam.errors import VcamError
from vcam.fileio import file_names, pictures, user_paths
from vcam.fileio.video_reader import VideoReader
from vcam.live import devices
from vcam.system.resources import IMAGE_SUFFIXES, demo_image

log = logging.getLogger(__name__)


def _quiet_opencv() -> None:
    """OpenCV's own warnings would repeat what our errors say better. ``cv2.utils.logging`` is
    the API of OpenCV 4.5 on; ``cv2.setLogLevel`` (gone in 4.13) is the older spelling."""
    logging_api = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_api is not None and hasattr(logging_api, "setLogLevel"):
        logging_api.setLogLevel(logging_api.LOG_LEVEL_ERROR)
    elif hasattr(cv2, "setLogLevel"):
        cv2.setLogLevel(2)


_quiet_opencv()


class Source:
    """Where frames come from: each :meth:`read` fills a caller's RGB uint8 buffer.

    A source sets in its ``__init__``:

    - ``name``: what the log and the panel show (``"camera 0"``, a file's path);
    - ``size``: (width, height) of the frames :meth:`read` writes;
    - ``fps``: the rate it delivers at;

    and may set, where the default is not true of it:

    - ``live``: paced in real time (a camera, the demo, a paced file): True. False: frames come
      as fast as the pipeline takes them, none dropped.
    - ``reconnect``: a device that may stop and come back (a camera unplugged): False. When True,
      :class:`vcam.live.capture.Capture` opens it again instead of ending.
    - ``note``: what the user should know about how it delivers (a camera giving another mode
      than asked, and how to pick one it has): None.

    Methods: :meth:`read` (required) returns False when no frame comes (the end of a file, a
    device that stopped) and may raise where a device fails; :meth:`wait` and :meth:`close` have
    defaults. A source that cannot open raises :class:`VcamError` from ``__init__``, with the fix.
    """

    name: str = "source"
    size: tuple[int, int] = (0, 0)
    fps: float = 30.0
    live: bool = True
    reconnect: bool = False
    note: Optional[str] = None

    def wait(self) -> None:
        """Sleep until the next frame is due. Nothing by default: a camera paces itself in read()."""

    def read(self, out: np.ndarray) -> bool:
        """Fill ``out`` (height, width, 3 RGB uint8) with the next frame; False when none comes."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file; safe twice. Nothing by default."""


class _Clock:
    """Paces a synthetic or file source at ``fps``; skips ahead instead of bursting when late."""

    def __init__(self, fps: float) -> None:
        self.interval = 1.0 / fps
        self.next_t = 0.0

    def wait(self) -> None:
        now = time.perf_counter()
        if self.next_t > now:
            time.sleep(self.next_t - now)
            self.next_t += self.interval
        else:
            self.next_t = now + self.interval


class PacedSource(Source):
    """A source that is not a device (a file, a picture, the demo): when ``live``, :meth:`wait`
    paces it at ``fps`` with a clock that :meth:`_pace` starts."""

    _clock: _Clock
    live: bool

    def _pace(self, fps: float) -> None:
        self._clock = _Clock(fps)

    def wait(self) -> None:
        if self.live:
            self._clock.wait()


class CameraSource(Source):
    """A webcam by index or device path. Asks for the size and rate (MJPG from 720p up); when
    the camera lists its modes (Linux, ``v4l2-ctl``) and the one asked is not among them, asks
    for the nearest it lists. Frames come at the size it actually gives (``size``, ``fps``);
    ``note`` says, once, when that differs from what was asked, and how to pick a mode it has.

    ``modes`` ({(width, height): [rates]}) replaces asking the device; ``api`` an OpenCV
    capture backend (by default V4L2 on Linux, else any); ``told``: a note already given (by
    the same camera before it was opened again), not to be repeated."""

    reconnect = True

    def __init__(self, device: Union[int, str], width: int, height: int, fps: float, *,
                 modes: Optional[dict[tuple[int, int], list[float]]] = None, api: Optional[int] = None,
                 told: Optional[str] = None) -> None:
        self.device = device
        self.name = f"camera {device}"
        path = None
        if sys.platform.startswith("linux"):
            path = Path(f"/dev/video{device}" if isinstance(device, int) else device)
            if not path.exists():
                raise VcamError(f"no camera at {path}", "connect a camera, check `ls /dev/video*`, or use --source demo")
        if api is None:
            api = cv2.CAP_V4L2 if path is not None else cv2.CAP_ANY
        if modes is None:
            modes = devices.device_modes(path) if path is not None and str(path).startswith("/dev/") else {}
        self.modes, self.api = modes, api
        self.asked = (int(width), int(height), float(fps))
        nearest = devices.nearest_mode(modes, *self.asked)
        ask = nearest or self.asked
        if isinstance(device, str) and file_names.opencv_name(device) is None:
            raise VcamError(f"cannot open {self.name}: OpenCV cannot open a device whose name is not UTF-8",
                            "give the camera's number (--source 0), or a link to it with a UTF-8 name")
        cap = cv2.VideoCapture(device, api)
        if not cap.isOpened():
            cap.release()
            raise VcamError(f"cannot open {self.name}",
                            "check that it is connected and that you may use it, or use --source demo")
        if ask[0] >= 1280 or ask[1] >= 720:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, ask[0])
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, ask[1])
        cap.set(cv2.CAP_PROP_FPS, ask[2])
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            raise VcamError(f"{self.name} opened but gives no frames",
                            "it may be in use by another app: close that app and try again")
        self._cap = cap
        self._bgr = first
        # The first frame's shape, not CAP_PROP_FRAME_WIDTH/HEIGHT: what read() will really give.
        self.size = (first.shape[1], first.shape[0])
        got_fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = got_fps if 1 <= got_fps <= 240 else ask[2]
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode("ascii", "replace")
        log.info("%s gives %dx%d at %.1f fps (%s); asked for %dx%d at %.1f",
                 self.name, *self.size, self.fps, fourcc, *self.asked)
        self.note = devices.mode_note(self.name, self.asked, (*self.size, self.fps), nearest)
        if self.note and self.note != told:
            log.warning("%s", self.note)

    def read(self, out: np.ndarray) -> bool:
        ok, bgr = self._cap.read(self._bgr)
        if not ok or bgr is None or bgr.shape != out.shape:
            return False
        self._bgr = bgr
        cv2.cvtColor(self._bgr, cv2.COLOR_BGR2RGB, dst=out)
        return True

    def close(self) -> None:
        self._cap.release()


class VideoSource(PacedSource):
    """A video file; ``live`` paces it at its own rate, otherwise frames come as fast as they
    are taken. ``loop`` (by default when live) starts again at the end instead of ending."""

    def __init__(self, path: Union[str, Path], *, live: bool = True, loop: Optional[bool] = None) -> None:
        self._video = VideoReader(Path(path))
        self.name = str(self._video.path)
        self.live = live
        self.loop = live if loop is None else loop
        self.size = self._video.size
        self.fps = self._video.fps
        self.frame_count = self._video.frame_count
        self._pace(self.fps)

    def read(self, out: np.ndarray) -> bool:
        rgb = self._video.read(loop=self.loop)
        if rgb is None:
            return False
        np.copyto(out, rgb)
        return True

    def close(self) -> None:
        self._video.close()


class ImageSource(PacedSource):
    """A still picture, repeated at ``fps``."""

    def __init__(self, path: Union[str, Path], fps: float = 30.0, *, live: bool = True) -> None:
        self.name = str(path)
        self.live = live
        self._image = pictures.load_image(Path(path))
        self.size = (self._image.shape[1], self._image.shape[0])
        self.fps = fps
        self._pace(fps)

    def read(self, out: np.ndarray) -> bool:
        np.copyto(out, self._image)
        return True


class DemoSource(PacedSource):
    """A public-domain portrait (NASA's astronaut photo) that sways like a person on a call, so
    vcam can be tried, tested and benchmarked with no camera. Each frame is a window moved over
    the portrait, scaled once: one copy per frame, so the demo costs next to nothing itself."""

    name = "demo"
    SWAY = 0.08   # share of the frame the window travels

    def __init__(self, width: int = 1280, height: int = 720, fps: float = 30.0, *, live: bool = True) -> None:
        img = pictures.load_image(demo_image(), "demo portrait")
        self.size = w, h = (int(width), int(height))
        self.fps = fps
        self.live = live
        self._pace(fps)
        self._n = 0
        self._margin = (round(w * self.SWAY), round(h * self.SWAY / 2))
        # Cut a wide frame mostly from below: a person on a call shows their head, not their lap.
        self._image = scaling.cover_fit(img, w + self._margin[0], h + self._margin[1], top=0.1)

    def read(self, out: np.ndarray) -> bool:
        t = self._n / self.fps
        self._n += 1
        w, h = self.size
        x = round(self._margin[0] * (0.5 + 0.5 * math.sin(2 * math.pi * t / 4.0)))
        y = round(self._margin[1] * (0.5 + 0.5 * math.sin(2 * math.pi * t / 3.0)))
        np.copyto(out, self._image[y:y + h, x:x + w])
        return True


class PreloadedSource(PacedSource):
    """Up to ``count`` frames of another source, read once (scaled to ``size``) and replayed in
    a loop, so decoding and scaling are left out of what is measured on it (``vcam bench
    --preload``). The other source is closed once read."""

    MAX_BYTES = 2 << 30   # the frames are held in memory

    @classmethod
    def check(cls, count: int, size: tuple[int, int]) -> None:
        """Refuse a count below 1, or frames of ``size`` that would not fit in ``MAX_BYTES``."""
        w, h = size
        if count < 1:
            raise VcamError(f"preload must be at least 1 frame, got {count}", "give a number of frames, such as 60")
        if count * w * h * 3 > cls.MAX_BYTES:
            raise VcamError(f"--preload {count} at {w}x{h} would hold {count * w * h * 3 / 2**30:.1f} GB of frames "
                            "in memory", f"preload at most {max(1, cls.MAX_BYTES // (w * h * 3))} frames at this size")

    def __init__(self, source: Source, size: tuple[int, int], count: int, *, live: bool) -> None:
        w, h = self.size = (int(size[0]), int(size[1]))
        try:
            self.check(count, self.size)
        except VcamError:
            source.close()
            raise
        self.fps, self.live = source.fps, live
        self._pace(self.fps)
        self._frames: list[np.ndarray] = []
        read = np.empty((source.size[1], source.size[0], 3), np.uint8)
        try:
            while len(self._frames) < count and source.read(read):
                frame = np.empty((h, w, 3), np.uint8)
                if source.size == self.size:
                    np.copyto(frame, read)
                else:
                    cv2.resize(read, self.size, dst=frame, interpolation=cv2.INTER_AREA)
                self._frames.append(frame)
        finally:
            source.close()
        if not self._frames:
            raise VcamError(f"{source.name} gave no frame to preload", "check the source with `vcam run --source ...`")
        self.name = f"{source.name} ({len(self._frames)} frames preloaded)"
        self._n = 0

    def read(self, out: np.ndarray) -> bool:
        np.copyto(out, self._frames[self._n % len(self._frames)])
        self._n += 1
        return True

    def close(self) -> None:
        self._frames = []


def _first_camera() -> Optional[int]:
    if sys.platform.startswith("linux"):
        indices = sorted(int(p.name[5:]) for p in Path("/dev").glob("video*") if p.name[5:].isdigit())
        return indices[0] if indices else None
    return 0


def open_source(settings: CaptureSettings, *, live: bool = True) -> Source:
    """Open what ``settings.source`` names, or raise one clear :class:`VcamError`."""
    spec = settings.source.strip()
    w, h, fps = int(settings.width), int(settings.height), settings.fps
    if spec == "demo":
        return DemoSource(w, h, fps, live=live)
    if spec == "auto":
        index = _first_camera()
        if index is not None:
            try:
                return CameraSource(index, w, h, fps)
            except VcamError as exc:
                log.warning("%s; using the demo source", exc)
        else:
            log.warning("no camera found; using the demo source (pick one with --source)")
        return DemoSource(w, h, fps, live=live)
    if spec.isdigit():
        return CameraSource(int(spec), w, h, fps)
    if spec.startswith("/dev/"):
        return CameraSource(spec, w, h, fps)
    path = Path(spec).expanduser()
    if user_paths.look(path, "source") is None:
        raise VcamError(f"source {spec!r} is neither a camera nor an existing file",
                        "give a camera index (0), a device path, a video or image file, or 'demo'")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(path, fps, live=live)
    return VideoSource(path, live=live, loop=True)
