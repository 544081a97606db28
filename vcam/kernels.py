"""Per-pixel kernels (Numba, compiled once and cached on disk), each writing into an ``out`` buffer.

Only arithmetic lives here: the callers check shapes and dtypes and own the buffers. Blends are
16-bit integer: with ``v = f*a + b*(255-a) + 128``, ``(v + (v >> 8)) >> 8`` equals
round((f*a + b*(255-a)) / 255) for all 8-bit inputs, so an alpha of 255 returns the foreground exactly and 0 the background exactly.
"""
from __future__ import annotations

import cv2
import numpy as np
from numba import njit

_JIT = dict(cache=True, nogil=True, fastmath=True, boundscheck=False)


@njit(**_JIT)
def smooth_matte(raw, state, out, keep, motion):
    """Motion-adaptive temporal smoothing of a low-resolution matte, in place in ``state``.

    A pixel whose change since the last frame is small moves only part of the way (``keep`` is the
    share of the old value kept when nothing moves); a change of ``motion`` or more passes through
    at once, so a moving person is never trailed. ``out`` receives the result as uint8.
    """
    h, w = raw.shape
    inv_motion = 1.0 / motion
    for y in range(h):
        for x in range(w):
            r = min(max(raw[y, x], 0.0), 1.0)
            s = state[y, x]
            d = abs(r - s) * inv_motion
            g = min(d * d, 1.0)
            s = s + (r - s) * (1.0 - keep * (1.0 - g))
            state[y, x] = s
            out[y, x] = np.uint8(s * 255.0 + 0.5)


@njit(**_JIT)
def blend(fg, bg, alpha, out):
    """out = fg * alpha + bg * (1 - alpha). All C-contiguous; one flat loop the compiler vectorises."""
    f = fg.reshape(-1)
    g = bg.reshape(-1)
    a_ = alpha.reshape(-1)
    o = out.reshape(-1)
    for i in range(a_.size):
        a = np.uint16(a_[i])
        b = np.uint16(255) - a
        for c in range(3):
            j = 3 * i + c
            v = np.uint16(f[j]) * a + np.uint16(g[j]) * b + np.uint16(128)
            o[j] = np.uint8((v + (v >> np.uint16(8))) >> np.uint16(8))


@njit(**_JIT)
def blend_color(fg, color, alpha, out):
    """out = fg * alpha + color * (1 - alpha); ``color`` is an RGB uint8 array of 3."""
    f = fg.reshape(-1)
    a_ = alpha.reshape(-1)
    o = out.reshape(-1)
    for i in range(a_.size):
        a = np.uint16(a_[i])
        b = np.uint16(255) - a
        for c in range(3):
            j = 3 * i + c
            v = np.uint16(f[j]) * a + np.uint16(color[c]) * b + np.uint16(128)
            o[j] = np.uint8((v + (v >> np.uint16(8))) >> np.uint16(8))


class Downscaler:
    """Scale frames of one size down to another, fast and without aliasing.

    OpenCV's area average is fast only for whole-number factors, so a frame is first averaged
    down by the largest whole factors that keep it at least the target size (dropping the few
    edge pixels that do not fill a block), then scaled the last, less-than-2x step bilinearly.
    """

    def __init__(self, src_size: tuple, dst_size: tuple) -> None:
        (sw, sh), (dw, dh) = src_size, dst_size
        kx, ky = max(1, sw // dw), max(1, sh // dh)
        self.src_size = (sw, sh)
        self.dst_size = (dw, dh)
        self.mid_size = (sw // kx, sh // ky)
        self._crop = (slice(0, ky * self.mid_size[1]), slice(0, kx * self.mid_size[0]))
        self._mid = None if self.mid_size == self.dst_size else np.empty((self.mid_size[1], self.mid_size[0], 3), np.uint8)
        self._area = (kx, ky) != (1, 1)

    def __call__(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        first = dst if self._mid is None else self._mid
        if self._area:
            cv2.resize(src[self._crop], self.mid_size, dst=first, interpolation=cv2.INTER_AREA)
        else:
            np.copyto(first, src)
        if self._mid is not None:
            cv2.resize(self._mid, self.dst_size, dst=dst, interpolation=cv2.INTER_LINEAR)
        return dst


def warm_up() -> None:
    """Compile (or load from the on-disk cache) every kernel before the first frame."""
    f = np.zeros((2, 2), np.float32)
    u = np.zeros((2, 2), np.uint8)
    rgb = np.zeros((2, 2, 3), np.uint8)
    smooth_matte(f, f.copy(), u, 0.5, 0.25)
    blend(rgb, rgb, u, rgb.copy())
    blend_color(rgb, np.zeros(3, np.uint8), u, rgb.copy())
