"""Relight: the person lit as if they stood in the new background's light (``replace`` only).

Runs after the matte and low light, before the key light and the composite. Two lights are
estimated as plain means (grey world) on a sparse grid, every ``step``-th pixel of every
``step``-th row, about ``RELIGHT_SAMPLES`` across (:func:`scene_sums`):

- the room's, on the camera picture outside the person (weighted by 255 - alpha);
- the new background's, on the whole backdrop (again each frame: a video backdrop moves on).

What moves is the difference between them, as three numbers: the log of the brightness (luma of
the mean colour) and the logs of red/green and blue/green. How much of each shows on a person is
what 58 real photos say (``../shared/eval/portraits``, the person against their own scene, fitted
in logs): a person's exposure follows their scene's by a slope of 0.35 (cameras expose for the
person, not the scene), their red/green by 0.92 and their blue/green by 0.14. Those slopes,
rounded (``RELIGHT_SLOPES``), times the strength, turn the difference into one gain per channel,
capped at ``RELIGHT_LIMIT``; over a background lit like the room nothing changes.

Each gain drives its channel's tone curve (:func:`vcam.light.lowlight.curve`: a plain gain in the
shadows that bends to meet white, so highlights never clip and white stays white), all three
applied through one table (:func:`tone3`). The logs of the gains follow their aim with a time
constant of ``RELIGHT_SETTLE`` seconds (no pumping when a person walks by the camera); tables are
rebuilt when one moved by ``RELIGHT_REBUILD``. With almost nobody, or almost no room, in the
picture, the gains are kept as they are.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
from numba import njit

from vcam import checks, jit
from vcam.jit import JIT
from vcam.light.lowlight import curve_table

# How much of the scene's light shows on the person, fitted on 58 real photos (log person against
# log scene: exposure 0.35, red/green 0.92, blue/green 0.14; benchmarks/relight.py prints them).
RELIGHT_SLOPES = (0.35, 0.9, 0.15)   # brightness, red/green, blue/green
RELIGHT_LIMIT = (0.5, 2.0)   # each channel's gain at most halves or doubles
RELIGHT_SAMPLES = 160        # the measuring grid is about this many samples across
RELIGHT_MIN_SHARE = 0.02     # below this share of the picture, the person (or the room) is not measured
RELIGHT_SETTLE = 0.5         # seconds: time constant of the gains following their aim
RELIGHT_REBUILD = 0.002      # a channel's table is rebuilt when log(gain) has moved this much
_LUMA = (0.299, 0.587, 0.114)


@njit(**JIT)
def scene_sums(frame, alpha, step, sums):
    """On every ``step``-th pixel of every ``step``-th row: into ``sums`` (int64, 8) the colour
    sums weighted by ``alpha`` (the person: 0-2) and by 255 - ``alpha`` (the rest: 3-5), then
    the two weights (6, 7). Integer sums: exact, whatever the size."""
    h, w = alpha.shape
    sums[:] = 0
    for y in range(step // 2, h, step):
        for x in range(step // 2, w, step):
            a = np.int64(alpha[y, x])
            b = 255 - a
            for c in range(3):
                v = np.int64(frame[y, x, c])
                sums[c] += a * v
                sums[3 + c] += b * v
            sums[6] += a
            sums[7] += b


@njit(**JIT)
def tone3(src, lut, dst):
    """dst[..., c] = lut[src[..., c], c] for RGB uint8 ``src`` and ``dst`` (C-contiguous, may be
    the same array) and ``lut`` uint8 (256, 3)."""
    s = src.reshape(-1)
    d = dst.reshape(-1)
    for i in range(s.size // 3):
        j = 3 * i
        d[j] = lut[s[j], 0]
        d[j + 1] = lut[s[j + 1], 1]
        d[j + 2] = lut[s[j + 2], 2]


jit.register(scene_sums, lambda: scene_sums(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), np.uint8), 1,
                                                np.zeros(8, np.int64)))
jit.register(tone3, lambda: tone3(np.zeros((2, 2, 3), np.uint8), np.zeros((256, 3), np.uint8),
                                      np.zeros((2, 2, 3), np.uint8)))


def light_of(mean: np.ndarray) -> tuple[float, float, float]:
    """A light as (log brightness, log red/green, log blue/green) from a mean colour (0-255)."""
    r, g, b = (max(float(v), 1.0) for v in mean)
    return (math.log(_LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b), math.log(r / g), math.log(b / g))


def relight_gains(room: tuple[float, float, float], new: tuple[float, float, float], strength: float) -> np.ndarray:
    """The logs of the three channels' gains (float32, 3) that move a person lit by ``room``
    towards ``new`` (both from :func:`light_of`) at ``strength``, capped at ``RELIGHT_LIMIT``."""
    exposure, warm, blue = (strength * k * (n - o) for k, n, o in zip(RELIGHT_SLOPES, new, room))
    green = exposure - _LUMA[0] * warm - _LUMA[2] * blue   # the luma of the three gains is the exposure's
    low, high = math.log(RELIGHT_LIMIT[0]), math.log(RELIGHT_LIMIT[1])
    return np.array([min(max(v, low), high) for v in (green + warm, green, green + blue)], np.float32)


class Relight:
    """``apply(frame, alpha, backdrop, out)``: ``frame`` (RGB uint8, the size given) with the
    person relit towards ``backdrop`` (the new background, RGB uint8, any size), into ``out``
    (which may be ``frame``); returns ``out``. ``strength`` 0 (off) to 1."""

    def __init__(self, size: tuple[int, int], strength: float, fps: float = 30.0) -> None:
        w, h = checks.check("relight", size, strength=(strength, 0.0, 1.0))
        self.size = (w, h)
        self.strength = float(strength)
        self._keep = np.float32(math.exp(-(1.0 / fps if fps and fps > 0 else 1.0 / 30.0) / RELIGHT_SETTLE))
        self._step = 1 << max(0, math.ceil(math.log2(max(1.0, w / RELIGHT_SAMPLES))))
        self._sums = np.zeros(8, np.int64)
        self._backdrop_sums = np.zeros(8, np.int64)
        self._mean = np.zeros(3, np.float32)
        self._x = np.arange(256, dtype=np.float32) / np.float32(255.0)
        self._y = np.empty(256, np.float32)
        self._ramp = np.arange(256, dtype=np.uint8)
        self._lut = np.empty((256, 3), np.uint8)
        self._level = np.zeros(3, np.float32)   # the logs of the gains, eased
        self._built = np.zeros(3, np.float32)   # ... those the tables hold
        self._none = None                       # a backdrop's alpha: nobody (made on first use)
        self.reset()

    def reset(self) -> None:
        """A new video: the next person seen is relit at once, with no fade from the last."""
        self._level[:] = 0.0
        self._built[:] = 0.0
        self._fresh = True
        self._identity = True
        self._lut[...] = self._ramp[:, None]
        self.gains = (1.0, 1.0, 1.0)   # what the tables hold, per channel

    def apply(self, frame: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray, out: np.ndarray) -> np.ndarray:
        w, h = self.size
        for name, a, shape in (("frame", frame, (h, w, 3)), ("alpha", alpha, (h, w)), ("out", out, (h, w, 3)),
                               ("backdrop", backdrop, backdrop.shape[:2] + (3,))):
            if a.shape != shape or a.dtype != np.uint8:
                raise ValueError(f"relight: got {name} {a.dtype}{a.shape}, expected uint8{shape}")
        aim = self._aim(frame, alpha, backdrop)
        if aim is not None:
            if self._fresh:
                self._level[...] = aim
                self._fresh = False
            else:
                self._level -= aim
                self._level *= self._keep
                self._level += aim
        if float(np.abs(self._level - self._built).max()) > RELIGHT_REBUILD:
            self._build()
        if self._identity:
            if out is not frame:
                np.copyto(out, frame)
        elif frame.flags.c_contiguous and out.flags.c_contiguous:
            tone3(frame, self._lut, out)
        else:
            cv2.LUT(frame, self._lut.reshape(256, 1, 3), dst=out)
        return out

    def _aim(self, frame: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray):
        """The logs of the gains wanted for this frame, or None (nobody, or no room, to measure)."""
        s = self._sums
        scene_sums(frame, alpha, self._step, s)
        total = s[6] + s[7]
        if s[6] < RELIGHT_MIN_SHARE * total or s[7] < RELIGHT_MIN_SHARE * total:
            return None
        np.divide(s[3:6], s[7], out=self._mean)
        room = light_of(self._mean)
        b = self._backdrop_sums
        bh, bw = backdrop.shape[:2]
        if self._none is None or self._none.shape != (bh, bw):
            self._none = np.zeros((bh, bw), np.uint8)   # once per backdrop size
        scene_sums(backdrop, self._none, max(1, self._step * bw // self.size[0]), b)
        np.divide(b[3:6], max(int(b[7]), 1), out=self._mean)
        return relight_gains(room, light_of(self._mean), self.strength)

    def _build(self) -> None:
        """Each channel's table: the tone curve of its gain (255 stays 255, nothing below reaches it)."""
        for c in range(3):
            curve_table(math.exp(float(self._level[c])), self._x, self._y, self._lut[:, c])
        self._built[...] = self._level
        self._identity = bool((self._lut == self._ramp[:, None]).all())
        self.gains = tuple(math.exp(float(v)) for v in self._built)
