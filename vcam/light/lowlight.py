"""Low light: bring a person in a dark or backlit room to a well-exposed level, and leave a
well-lit picture alone.

Runs after the matte (it reads the person's alpha) and before the composite. The person's
exposure (the luma that ``LOW_METER`` of them is below, alpha-weighted) is measured on a sparse
grid of the frame (every
``step``-th pixel of every ``step``-th row, about ``LOW_SAMPLES`` across: thousands of samples
of the person, so the mean is as steady as on a reduced frame, for under a tenth of the cost of
halving a 720p frame and its alpha down to that size). One tone curve, the same for the three
channels so they keep their order and greys stay grey, lifts the whole frame through a
256-entry table (:func:`tone`; ``cv2.LUT`` for a frame that is a view).

The curve, on x in [0, 1]::

    y = g x / (1 + (g^n - 1) x^n) ^ (1/n)       n = LOW_SHAPE

maps 0 to 0 and 1 to 1, is monotone and concave (highlights are compressed, never clipped: a
value below 255 stays below 255), and is a plain gain ``g`` in the shadows. The larger ``n``,
the longer it stays a plain gain before it bends (n = 1 is ``(1+k)x/(1+kx)`` with k = g - 1),
so colours keep more of their saturation (a curve that bends scales a pixel's brighter channel
less than its darker ones) and the noise of the darkest pixels is lifted less: to lift a mean
of 0.1 to 0.5, the slope at black is 5.1 with n = 4 against 9 with n = 1, whose flat, washed-out
look a lifted picture should not have. The ``g`` that maps the person's mean ``m`` to the
target ``t`` has a closed form, ``g = (t/m) ((1 - m^n) / (1 - t^n)) ^ (1/n)`` (:func:`curve_gain`).

The target, at strength 1, is ``LOW_TARGET`` of full scale; a person already at
``LOW_WELL_LIT`` or brighter is not lifted at all, with a smooth ramp from ``LOW_RAMP_FROM`` so
nothing jumps; strength blends the target between the person's own mean (no change) and that.
The gain is capped at ``LOW_MAX_GAIN`` and fades out below ``LOW_BLACK`` (a covered lens, a
black frame: there is nothing to recover there but noise). With nobody in the picture the
curve is kept as it is. The log of the gain follows its aim with a time constant of
``LOW_SETTLE`` seconds, so the picture never pumps; the table is rebuilt only when the gain has
moved by ``LOW_REBUILD`` (in log), and a curve that rounds to the identity is a plain copy.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
from numba import njit

from vcam import checks, jit
from vcam.jit import JIT

# The exposure meter: the person's luma that LOW_METER of them (alpha-weighted) is below. Not the
# mean: a well-lit person on a real webcam has a mean of about 0.3 (dark hair, clothes and shade
# count as much as the lit skin), while the upper quartile sits at 0.4-0.5 (benchmarks/studio_light.py).
LOW_METER = 0.75
LOW_TARGET = 0.5        # the meter's value aimed at (share of full scale), at strength 1
LOW_WELL_LIT = 0.38     # a person metered this bright or brighter is not lifted at all
LOW_RAMP_FROM = 0.25    # ... with the target easing from LOW_TARGET down to LOW_WELL_LIT from here
LOW_SHAPE = 4.0         # n of the curve: how long it stays a plain gain before it bends
LOW_MAX_GAIN = 8.0      # the most the shadows are scaled (the curve's slope at black)
LOW_BLACK = (0.02, 0.06)  # a person darker than the first (mean share of full scale) is not lifted; full lift from the second
LOW_SETTLE = 0.3        # seconds: time constant of the gain following its aim
LOW_REBUILD = 0.002     # the table is rebuilt when log(gain) has moved this much
LOW_MIN_PERSON = 0.01   # below this share of the picture nobody is there: the curve is kept
LOW_SAMPLES = 160       # the measuring grid is about this many samples across


@njit(**JIT)
def person_level(frame, alpha, step, hist, share):
    """The person's luma on every ``step``-th pixel of every ``step``-th row, as a histogram
    ``hist`` (int64, 256) weighted by ``alpha``: returns the luma (share of full scale) that
    ``share`` of the weight is below, the sum of ``alpha`` and the number of samples."""
    h, w = alpha.shape
    hist[:] = 0
    n = np.int64(0)
    count = 0
    for y in range(step // 2, h, step):
        for x in range(step // 2, w, step):
            a = np.int64(alpha[y, x])
            v = (77 * np.int64(frame[y, x, 0]) + 150 * np.int64(frame[y, x, 1]) + 29 * np.int64(frame[y, x, 2]) + 128) >> 8
            hist[v] += a
            n += a
            count += 1
    wanted = n * share
    seen = 0.0
    for i in range(256):
        if hist[i] > 0 and seen + hist[i] >= wanted:
            return (i + (wanted - seen) / hist[i]) / 256.0, n, count
        seen += hist[i]
    return 1.0, n, count


@njit(**JIT)
def tone(src, lut, dst):
    """dst = lut[src], element by element; both C-contiguous, any shape (a plain flat loop: a
    third faster here than ``cv2.LUT`` on one thread)."""
    s = src.reshape(-1)
    d = dst.reshape(-1)
    for i in range(s.size):
        d[i] = lut[s[i]]


jit.register(person_level, lambda: person_level(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), np.uint8), 1,
                                                    np.zeros(256, np.int64), LOW_METER))
jit.register(tone, lambda: tone(np.zeros((2, 2, 3), np.uint8), np.zeros(256, np.uint8), np.zeros((2, 2, 3), np.uint8)))


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


def curve_gain(mean: float, strength: float) -> float:
    """The curve's gain ``g`` (1: the identity) for a person of ``mean`` brightness (share of
    full scale) at ``strength`` (0 to 1)."""
    m = min(max(float(mean), 0.0), 1.0)
    if m >= LOW_WELL_LIT or strength <= 0.0 or m <= LOW_BLACK[0]:
        return 1.0
    ramp = _smoothstep((m - LOW_RAMP_FROM) / (LOW_WELL_LIT - LOW_RAMP_FROM))
    full = max(m, LOW_TARGET - (LOW_TARGET - LOW_WELL_LIT) * ramp)
    t = m + min(float(strength), 1.0) * (full - m)
    n = LOW_SHAPE
    g = (t / m) * ((1.0 - m ** n) / (1.0 - t ** n)) ** (1.0 / n)
    cap = 1.0 + (LOW_MAX_GAIN - 1.0) * min((m - LOW_BLACK[0]) / (LOW_BLACK[1] - LOW_BLACK[0]), 1.0)
    return max(1.0, min(g, cap))


def curve(x: np.ndarray, gain: float) -> np.ndarray:
    """The tone curve with gain ``gain`` at ``x`` (shares of full scale, 0 to 1)."""
    n = LOW_SHAPE
    return gain * x / (1.0 + (gain ** n - 1.0) * x ** n) ** (1.0 / n)


def curve_table(gain: float, x: np.ndarray, y: np.ndarray, lut: np.ndarray) -> None:
    """The curve of ``gain`` as a table: ``lut`` (uint8, 256; may be a strided view) from ``x``
    (float32, 256: 0 to 1) through the scratch ``y`` (float32, 256); rounded, and below 255
    everywhere but at 255."""
    n = np.float32(LOW_SHAPE)
    np.power(x, n, out=y)
    y *= np.float32(gain ** LOW_SHAPE - 1.0)
    y += np.float32(1.0)
    np.power(y, np.float32(-1.0) / n, out=y)
    y *= x
    y *= np.float32(gain * 255.0)
    np.rint(y, out=y)
    np.clip(y, 0.0, 254.0, out=y)
    lut[:255] = y[:255]
    lut[255] = 255


class LowLight:
    """``apply(frame, alpha, out)``: ``frame`` (RGB uint8, the size given) with the person
    brought to a well-exposed level, into ``out``; ``strength`` 0 (off) to 1."""

    def __init__(self, size: tuple[int, int], strength: float, fps: float = 30.0) -> None:
        w, h = checks.check("low light", size, strength=(strength, 0.0, 1.0))
        self.size = (w, h)
        self.strength = float(strength)
        self._keep = math.exp(-(1.0 / fps if fps and fps > 0 else 1.0 / 30.0) / LOW_SETTLE)
        self._step = 1 << max(0, math.ceil(math.log2(max(1.0, w / LOW_SAMPLES))))
        self._x = np.arange(256, dtype=np.float32) / np.float32(255.0)
        self._y = np.empty(256, np.float32)
        self._ramp = np.arange(256, dtype=np.uint8)
        self._lut = self._ramp.copy()
        self._hist = np.zeros(256, np.int64)
        self.reset()

    def reset(self) -> None:
        """A new video: the next person seen is exposed at once, with no fade from the last."""
        self._level = 0.0     # log of the gain, eased
        self._built = 0.0     # ... the level the table holds
        self._fresh = True
        self._identity = True
        self._lut[...] = self._ramp
        self.lift = 0.0       # the table's gain - 1: 0 is the identity

    def apply(self, frame: np.ndarray, alpha: np.ndarray, out: np.ndarray) -> np.ndarray:
        w, h = self.size
        for name, a, shape in (("frame", frame, (h, w, 3)), ("alpha", alpha, (h, w)), ("out", out, (h, w, 3))):
            if a.shape != shape or a.dtype != np.uint8:
                raise ValueError(f"low light: got {name} {a.dtype}{a.shape}, expected uint8{shape}")
        level, weight, count = person_level(frame, alpha, self._step, self._hist, LOW_METER)
        if weight >= LOW_MIN_PERSON * 255 * count:
            aim = math.log(curve_gain(level, self.strength))
            if self._fresh:
                self._level, self._fresh = aim, False
            else:
                self._level = aim + (self._level - aim) * self._keep
        if abs(self._level - self._built) > LOW_REBUILD:
            self._build(self._level)
        if self._identity:
            np.copyto(out, frame)
        elif frame.flags.c_contiguous and out.flags.c_contiguous:
            tone(frame, self._lut, out)
        else:
            cv2.LUT(frame, self._lut, dst=out)
        return out

    def _build(self, level: float) -> None:
        """The table for a gain of ``exp(level)``: rounded, and below 255 everywhere but at 255."""
        gain = math.exp(level)
        curve_table(gain, self._x, self._y, self._lut)
        self._built = level
        self._identity = bool(np.array_equal(self._lut, self._ramp))
        self.lift = 0.0 if self._identity else gain - 1.0
