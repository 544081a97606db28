"""Auto-frame: crop and zoom so the person stays centred and well framed, as a camera operator
would (NVIDIA Broadcast's Auto Frame, Apple's Center Stage).

The person is read off the smoothed matte at working resolution, which the matte stage has made
anyway: the top of the head, and the middle and width of the head and shoulders (the rows within
``BAND`` of the frame height below the top; with two people, both). The crop aimed at has the
output's shape, the head and shoulders centred with ``HEADROOM`` above, at the zoom asked (less
when two people need the room, and never so close that it cuts off the shoulders: a person near
the camera is not zoomed into a face), and never leaves the picture.

The crop shown follows the aim as a camera on a critically damped spring does (``SETTLE``
seconds to within 2%), solved exactly per frame so it holds at any frame rate. The aim moves
only once the person has moved more than ``DEADBAND`` away from it, and stops again when they
have stayed within ``STILL_SPAN`` for ``STILL_SECONDS``: a still person gets a still crop, with no drift and no
jitter from the matte's noise. When nobody has been seen for ``LOST_SECONDS``, the crop eases back
to the whole picture.

The zoom is held where the crop would show fewer than ``MIN_CROP_ROWS`` rows of the camera's
picture (more would only magnify blur), and said once, with the camera mode that would allow it.
"""
from __future__ import annotations

import logging
import math
from typing import Optional

import cv2
import numpy as np

log = logging.getLogger(__name__)

HEADROOM = 0.10        # share of the crop's height above the top of the head
BAND = 0.30            # head and shoulders: the rows this share of the frame height below the top
HEAD = 0.12            # the head's width: the widest row within this share of the frame height of the top
SHOULDERS = 2.2        # the crop reaches at least this many head widths below the top of the head
SIDE_ROOM = 0.25       # the crop is at least this much wider than the people (share, each side)
MIN_AREA = 0.01        # share of the working matte below which nobody is there
EXTENT = (0.03, 0.97)  # the people's width: between these shares of their pixels in the band
SETTLE = 0.5           # seconds for the crop to come within 2% of the aim (critically damped)
DEADBAND = 0.03        # share of the frame width (size: of the crop's) the person may move unfollowed
STILL_SPAN = 0.01      # ... and within this share over STILL_SECONDS they are still again:
STILL_SECONDS = 0.3    # the aim stops following
LOST_SECONDS = 1.0     # nobody this long: back to the whole picture
MIN_CROP_ROWS = 360    # the crop shows at least this many rows of the camera's picture
REST = 0.05            # pixels: nearer the aim than this, and slower, the crop is at rest there

# omega of a critically damped spring that comes within 2% of its aim in SETTLE seconds:
# (1 + w t) e^(-w t) = 0.02 at w t = 5.83
_OMEGA = 5.83 / SETTLE


# Common camera modes, by shape (4:3 or nearer 16:9), for the note that a larger one would help
_MODES = {True: ((960, 720), (1280, 960), (1600, 1200), (2048, 1536)),
          False: ((1280, 720), (1920, 1080), (2560, 1440), (3840, 2160))}


def max_zoom(frame_size: tuple[int, int]) -> float:
    """The largest zoom at which a crop of this picture keeps ``MIN_CROP_ROWS`` rows (at least 1)."""
    return max(1.0, frame_size[1] / MIN_CROP_ROWS)


class AutoFrame:
    """``apply(frame, matte)``: the framed picture and its alpha, both the frame's size, in
    buffers kept here (the frame itself while the crop is the whole picture)."""

    def __init__(self, zoom: float, fps: float = 30.0) -> None:
        self.zoom = float(zoom)
        self.dt = 1.0 / fps if fps and fps > 0 else 1.0 / 30.0
        self.leaving = False
        self._size: Optional[tuple[int, int]] = None
        self._told: Optional[tuple[int, int]] = None
        self.reset()

    def reset(self) -> None:
        """A new video: the next person found is framed at once, with no swoop from elsewhere."""
        self.crop: Optional[np.ndarray] = None       # shown: centre x, centre y, width (frame pixels)
        self._speed = np.zeros(3)                    # ... and how fast it moves, per second
        self.aim: Optional[np.ndarray] = None
        self._aim_speed = np.zeros(3)                # how fast the person moves while followed
        self._following = False
        self._history, self._seen = np.zeros((0, 3)), 0
        self._lost = 0
        self._last: Optional[np.ndarray] = None
        self._whole = True          # the last frame showed the whole picture

    def ease_out(self) -> None:
        """Turned off: ease back to the whole picture; ``done`` once there."""
        self.leaving = True

    @property
    def done(self) -> bool:
        return self.leaving and self._whole

    def set_zoom(self, zoom: float) -> None:
        """A new zoom (or, while easing out, on again), followed smoothly from where the crop is."""
        self.zoom = float(zoom)
        self.leaving = False
        self._following = True

    def _buffers(self, size: tuple[int, int]) -> None:
        if self._size == size:
            return
        w, h = self._size = size
        self._frame = np.empty((h, w, 3), np.uint8)
        self._alpha = np.empty((h, w), np.uint8)
        self._warp = np.zeros((2, 3), np.float64)
        self._warp_matte = np.zeros((2, 3), np.float64)
        self.reset()

    def _zoom_for(self, size: tuple[int, int]) -> float:
        most = max_zoom(size)
        if self.zoom > most + 1e-6 and self._told != size:
            self._told = size
            rows = math.ceil(self.zoom * MIN_CROP_ROWS)
            mode = next((m for m in _MODES[size[0] * 3 < size[1] * 4 + size[1] // 2] if m[1] >= rows), None)
            log.warning("auto-frame: zoom held at %.1fx (asked %.1fx): at %dx%d a closer crop would show fewer "
                        "than %d rows of the camera's picture; %s", most, self.zoom, size[0], size[1], MIN_CROP_ROWS,
                        f"a camera mode of {rows} rows or more allows {self.zoom:.1f}x (--width {mode[0]} "
                        f"--height {mode[1]})" if mode else "no common camera mode is large enough")
        return min(self.zoom, most)

    def measure(self, matte: np.ndarray, size: tuple[int, int]) -> Optional[np.ndarray]:
        """The crop to aim at (centre x, centre y, width in frame pixels) for the person in
        ``matte`` (uint8, any resolution of the frame), or None when nobody is there."""
        w, h = size
        mh, mw = matte.shape
        person = matte >= 128
        rows = np.count_nonzero(person, axis=1)
        if rows.sum() < MIN_AREA * matte.size:
            return None
        top = int(np.argmax(rows > 0))
        head = float(rows[top:top + max(1, round(HEAD * mh))].max()) * w / mw   # widest row near the top
        band = person[top:top + max(1, round(BAND * mh))]
        cols = np.cumsum(np.count_nonzero(band, axis=0))
        left = int(np.searchsorted(cols, EXTENT[0] * cols[-1]))
        right = int(np.searchsorted(cols, EXTENT[1] * cols[-1])) + 1
        sx, sy = w / mw, h / mh
        middle, width = (left + right) / 2 * sx, (right - left) * sx
        # never closer than the head and shoulders: SHOULDERS head widths below the top, and headroom
        shoulders = head * SHOULDERS / (1 - HEADROOM) * w / h
        crop_w = min(float(w), max(w / self._zoom_for(size), width * (1 + 2 * SIDE_ROOM), shoulders))
        crop_h = crop_w * h / w
        cy = top * sy - HEADROOM * crop_h + crop_h / 2
        return self._inside(np.array([middle, cy, crop_w]), size)

    @staticmethod
    def _inside(crop: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        w, h = size
        cw = min(max(crop[2], 1.0), float(w))
        ch = cw * h / w
        return np.array([min(max(crop[0], cw / 2), w - cw / 2), min(max(crop[1], ch / 2), h - ch / 2), cw])

    def _update_aim(self, seen: Optional[np.ndarray], size: tuple[int, int]) -> None:
        w, h = size
        whole = np.array([w / 2, h / 2, float(w)])
        if seen is None:
            self._lost += 1
            if self._lost * self.dt >= LOST_SECONDS or self.aim is None:
                self.aim, self._following = whole, False
            return
        self._lost = 0
        if self.aim is None:
            self.aim = seen
            return
        # how far the person is from the aim: position in frame widths, size in crop widths
        away = max(abs(seen[0] - self.aim[0]) / w, abs(seen[1] - self.aim[1]) / w, abs(seen[2] - self.aim[2]) / self.aim[2])
        if away > DEADBAND:
            self._following = True
        # the last STILL_SECONDS of where the person was, to tell when they have stopped
        span = max(2, round(STILL_SECONDS / self.dt))
        if self._history.shape[0] != span:
            self._history, self._seen = np.zeros((span, 3)), 0
        self._history[self._seen % span] = seen
        self._seen += 1
        if self._following:
            moved = seen - self._last if self._last is not None else np.zeros(3)
            self._aim_speed = 0.5 * self._aim_speed + 0.5 * moved / self.dt
            self.aim = seen
            recent = self._history[:min(self._seen, span)]
            if self._seen >= span and np.ptp(recent[:, :2], axis=0).max() / w < STILL_SPAN \
                    and np.ptp(recent[:, 2]) / seen[2] < STILL_SPAN:
                self._following = False
        if not self._following:
            self._aim_speed = np.zeros(3)
        self._last = seen

    def _follow(self) -> None:
        """One frame of the critically damped spring, solved exactly. Its offset e from the aim
        (and e' from the aim's speed, so a person moving steadily is followed without lag) obey
        e(t) = (e0 + (e'0 + w e0) t) exp(-w t)."""
        t, wo = self.dt, _OMEGA
        e0 = self.crop - (self.aim - self._aim_speed * t)   # from where the aim was a frame ago
        v0 = self._speed - self._aim_speed
        decay = math.exp(-wo * t)
        k = v0 + wo * e0
        e = (e0 + k * t) * decay
        v = (v0 - wo * k * t) * decay
        if not self._following and np.abs(e).max() < REST and np.abs(v).max() * t < REST:
            e, v = np.zeros(3), np.zeros(3)    # at rest on the aim: no drift below a pixel
        self.crop = self.aim + e
        self._speed = self._aim_speed + v

    def apply(self, frame: np.ndarray, matte: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The framed ``frame`` (RGB) and its alpha (uint8), both the frame's size, in buffers
        kept here. ``matte``: the person (uint8) as the matte stage smoothed it, at its own
        resolution; the framed alpha is sampled from it in one step (no full-size alpha first)."""
        h, w = frame.shape[:2]
        size = (w, h)
        self._buffers(size)
        seen = None if self.leaving else self.measure(matte, size)
        self._update_aim(seen, size)
        if self.leaving:
            self.aim = np.array([w / 2, h / 2, float(w)])
        if self.crop is None:
            self.crop = self.aim.copy()
        else:
            self._follow()
        self.crop = self._inside(self.crop, size)
        cx, cy, cw = self.crop
        self._whole = cw >= w - REST and abs(cx - w / 2) < REST and abs(cy - h / 2) < REST
        if self._whole:   # the whole picture: the frame as it is, the matte scaled as the matte stage does
            if matte.shape == (h, w):
                np.copyto(self._alpha, matte)
            else:
                cv2.resize(matte, size, dst=self._alpha, interpolation=cv2.INTER_LINEAR)
            return frame, self._alpha
        s = w / cw
        ch = cw * h / w
        x0, y0 = cx - cw / 2, cy - ch / 2
        m = self._warp   # output pixel centre j + 0.5 shows frame position x0 + (j + 0.5) / s
        m[0, 0] = m[1, 1] = s
        m[0, 2], m[1, 2] = -x0 * s + 0.5 * (s - 1), -y0 * s + 0.5 * (s - 1)
        cv2.warpAffine(frame, m, size, dst=self._frame, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        mh, mw = matte.shape   # ... and matte position (x0 + (j + 0.5) / s) * mw / w
        a = self._warp_matte
        a[0, 0], a[1, 1] = s * w / mw, s * h / mh
        a[0, 2], a[1, 2] = -x0 * s + 0.5 * (s * w / mw - 1), -y0 * s + 0.5 * (s * h / mh - 1)
        cv2.warpAffine(matte, a, size, dst=self._alpha, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return self._frame, self._alpha
