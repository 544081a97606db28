"""Key light: a soft studio light on the person's face, from the front or one side, limited by
the matte to the person (the background is left exactly as it is).

Runs after the matte (it reads the person's alpha) and before the composite. The face is found
on the alpha reduced to about ``KEY_WIDTH`` across: the person's bounding box (the rows and
columns holding at least ``KEY_MIN_RUN`` of a row or column of person), the face the top
``KEY_FACE`` of it, its centre the alpha-weighted centre of those rows, its width their mean
width (in pixels more person than not). Centre and width follow what is found with a time
constant of ``KEY_SETTLE`` seconds.

The light, at the reduced size: a broad Gaussian (``KEY_SPREAD`` face widths across and down)
centred on the face, moved sideways by ``sin(angle) * KEY_SHIFT`` face widths, times a gentle
gradient across (``KEY_SLOPE`` per face width, brighter towards the light), scaled so that it
is 1 at the face centre (and at most ``KEY_PEAK``). It is a gain: at strength ``s`` the face
centre is brightened ``1 + s * KEY_GAIN`` times (by 35% at full strength), and less towards the
edge of the light. The gain map is scaled up to the frame once per frame (only when it changed)
and applied with the full-size alpha, pixel by pixel (:func:`light`), so a pixel of alpha 0 is
left exactly as it was and a soft edge gets its share.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
from numba import njit

from vcam import checks, jit, scaling
from vcam.jit import JIT

KEY_GAIN = 0.35         # at strength 1 the face centre is brightened by this share
KEY_WIDTH = 160         # the face is found on the alpha reduced to about this width
KEY_MIN_PERSON = 0.01   # below this share of the picture nobody is there: the light stays where it was
KEY_MIN_RUN = 0.02      # a row (column) belongs to the person's box with this share of its width (height) of person
KEY_FACE = 1.0 / 3.0    # the face: this top share of the person's box
KEY_SPREAD = (0.9, 1.2)  # the light's Gaussian sigma, across and down, in face widths
KEY_SHIFT = 0.5         # the light's centre moves sin(angle) times this many face widths sideways
KEY_SLOPE = 0.25        # ... and its gain grows towards the light by sin(angle) times this per face width
KEY_PEAK = 1.5          # the light is at most this many times its value at the face centre
KEY_SETTLE = 0.2        # seconds: time constant of the face position and size followed
KEY_BITS = 15           # fractional bits of the gain map (uint16: the added gain is below 1)


@njit(inline="always", **JIT)
def _lit(v, m):
    """round(v * m / 2^15) for 8-bit ``v``, saturating at 255, in 16-bit integers (a multiply
    keeping the high half: as fast as it gets)."""
    high = np.uint16((np.uint32(np.uint16(v) << np.uint16(8)) * np.uint32(m)) >> np.uint32(16))
    return np.uint8(min((high + np.uint16(64)) >> np.uint16(7), np.uint16(255)))


@njit(inline="always", **JIT)
def _multiplier(g, a):
    """1 + g * a in 15 fractional bits (uint16): ``g`` the key's gain there, ``a`` the alpha
    (uint8, 255 = 1, taken as a + a/128 over 256)."""
    a = np.uint32(a)
    return np.uint16(32768) + np.uint16((np.uint32(g) * (a + (a >> np.uint32(7)))) >> np.uint32(8))


@njit(**JIT)
def light(frame, gain, alpha, out):
    """out = frame * (1 + gain * alpha), rounded, saturating at 255; ``gain`` uint16 with
    ``KEY_BITS`` (15) fractional bits, below 1; ``alpha`` uint8 (255 = 1). Where alpha is 0 the
    pixel is copied exactly. All C-contiguous; ``out`` is not ``frame`` (see
    :func:`light_in_place`)."""
    f = frame.reshape(-1)
    g_ = gain.reshape(-1)
    a_ = alpha.reshape(-1)
    o = out.reshape(-1)
    for i in range(a_.size):
        m = _multiplier(g_[i], a_[i])
        for c in range(3):
            o[3 * i + c] = _lit(f[3 * i + c], m)


@njit(**JIT)
def light_in_place(image, gain, alpha):
    """:func:`light` with ``out`` the frame itself (one array, so the loop still vectorises)."""
    f = image.reshape(-1)
    g_ = gain.reshape(-1)
    a_ = alpha.reshape(-1)
    for i in range(a_.size):
        m = _multiplier(g_[i], a_[i])
        for c in range(3):
            f[3 * i + c] = _lit(f[3 * i + c], m)


def _samples():
    rgb, g, a = np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), np.uint16), np.zeros((2, 2), np.uint8)
    return rgb, g, a


jit.register(light, lambda: light(*_samples(), np.zeros((2, 2, 3), np.uint8)))
jit.register(light_in_place, lambda: light_in_place(*_samples()))


class KeyLight:
    """``apply(frame, alpha, out)``: ``frame`` (RGB uint8, the size given) with a key light on the
    person's face, into ``out`` (C-contiguous, as ``alpha``; it may be ``frame``); ``strength``
    0 (off) to 1; ``angle`` in degrees, 0 from the front, negative from the picture's left, positive
    from its right."""

    def __init__(self, size: tuple[int, int], strength: float, angle: float = -30.0, fps: float = 30.0) -> None:
        w, h = checks.check("key light", size, strength=(strength, 0.0, 1.0), angle=(angle, -90.0, 90.0))
        self.size = (w, h)
        self.strength = float(strength)
        self.angle = float(angle)
        self._keep = math.exp(-(1.0 / fps if fps and fps > 0 else 1.0 / 30.0) / KEY_SETTLE)
        k = max(0, math.ceil(math.log2(max(1.0, w / KEY_WIDTH))))
        sw, sh = max(1, w >> k), max(1, h >> k)
        self._shrink = scaling.Downscaler(size, (sw, sh), channels=1)
        self._alpha = np.empty((sh, sw), np.uint8)
        self._xs = np.arange(sw, dtype=np.float32)
        self._ys = np.arange(sh, dtype=np.float32)
        self._across = np.empty(sw, np.float32)
        self._down = np.empty(sh, np.float32)
        self._map = np.empty((sh, sw), np.float32)
        self._small = np.empty((sh, sw), np.uint16)
        self._shown = np.empty((sh, sw), np.uint16)   # the map the full-size gain was made from
        self._gain = np.zeros((h, w), np.uint16)
        self.reset()

    def reset(self) -> None:
        """A new video: the next face found is lit at once, with no slide from the last."""
        self.face = None          # (centre x, centre y, width), in reduced pixels, followed
        self._shown[...] = 0
        self._gain[...] = 0

    def apply(self, frame: np.ndarray, alpha: np.ndarray, out: np.ndarray) -> np.ndarray:
        w, h = self.size
        for name, a, shape in (("frame", frame, (h, w, 3)), ("alpha", alpha, (h, w)), ("out", out, (h, w, 3))):
            if a.shape != shape or a.dtype != np.uint8 or not (a.flags.c_contiguous or name == "frame"):
                raise ValueError(f"key light: got {name} {a.dtype}{a.shape}"
                                 f"{'' if a.flags.c_contiguous else ' (a view)'}, expected C-contiguous uint8{shape}")
        self._follow(self._find(self._shrink(alpha, self._alpha)))
        if self.face is None or self.strength <= 0.0:
            if out is not frame:
                np.copyto(out, frame)
            return out
        self._draw(self.face)
        if not np.array_equal(self._small, self._shown):
            np.copyto(self._shown, self._small)
            cv2.resize(self._small, (w, h), dst=self._gain, interpolation=cv2.INTER_LINEAR)
        if out is frame or not frame.flags.c_contiguous:    # (a frame that is a view: lit in out)
            if out is not frame:
                np.copyto(out, frame)
            light_in_place(out, self._gain, alpha)
        else:
            light(frame, self._gain, alpha, out)
        return out

    def _find(self, small: np.ndarray):
        """(centre x, centre y, width) of the face on the reduced alpha, or None for nobody."""
        sh, sw = small.shape
        rows = small.sum(axis=1, dtype=np.int64)
        if rows.sum() < KEY_MIN_PERSON * 255 * sh * sw:
            return None
        cols = small.sum(axis=0, dtype=np.int64)
        in_rows = np.flatnonzero(rows >= max(1.0, KEY_MIN_RUN * sw) * 255)
        in_cols = np.flatnonzero(cols >= max(1.0, KEY_MIN_RUN * sh) * 255)
        if in_rows.size == 0 or in_cols.size == 0:
            return None
        top, bottom = int(in_rows[0]), int(in_rows[-1]) + 1
        left, right = int(in_cols[0]), int(in_cols[-1]) + 1
        end = top + max(1, round((bottom - top) * KEY_FACE))
        face = small[top:end, left:right]
        mass = float(face.sum(dtype=np.int64))
        if mass <= 0.0:
            return None
        x = left + float(face.sum(axis=0, dtype=np.int64) @ self._xs[:right - left]) / mass + 0.5
        y = top + float(face.sum(axis=1, dtype=np.int64) @ self._ys[:end - top]) / mass + 0.5
        width = np.count_nonzero(face > 127) / (end - top)    # more person than not: a see-through matte is as wide
        return x, y, max(width, 1.0)

    def _follow(self, found) -> None:
        if found is None:
            return          # nobody: the light stays where it was (the alpha keeps it off the background)
        if self.face is None:
            self.face = found
        else:
            keep = self._keep
            self.face = tuple(f + (o - f) * keep for f, o in zip(found, self.face))

    def _draw(self, face) -> None:
        """The gain map for ``face`` at the reduced size, into ``_small`` (uint16, KEY_BITS)."""
        cx, cy, fw = face
        fw = max(fw, 1.0)
        side = math.sin(math.radians(self.angle))
        lx = cx + side * KEY_SHIFT * fw
        sx, sy = KEY_SPREAD[0] * fw, KEY_SPREAD[1] * fw
        across, down = self._across, self._down
        # across: the Gaussian around the light's centre, times the gradient, 1 at the face centre
        np.subtract(self._xs, np.float32(lx - 0.5), out=across)
        np.square(across, out=across)
        across *= np.float32(-0.5 / (sx * sx))
        across += np.float32(0.5 * ((cx - lx) / sx) ** 2)
        np.exp(across, out=across)
        gradient = self._map[0]               # a row of scratch space
        np.subtract(self._xs, np.float32(cx - 0.5), out=gradient)
        gradient *= np.float32(side * KEY_SLOPE / fw)
        gradient += np.float32(1.0)
        np.maximum(gradient, np.float32(0.0), out=gradient)
        across *= gradient
        np.subtract(self._ys, np.float32(cy - 0.5), out=down)
        np.square(down, out=down)
        down *= np.float32(-0.5 / (sy * sy))
        np.exp(down, out=down)
        np.multiply.outer(down, across, out=self._map)
        np.minimum(self._map, np.float32(KEY_PEAK), out=self._map)
        self._map *= np.float32(self.strength * KEY_GAIN * (1 << KEY_BITS))
        np.rint(self._map, out=self._map)
        self._small[...] = self._map
