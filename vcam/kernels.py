"""Per-pixel kernels (Numba, compiled once and cached on disk), each writing into an ``out`` buffer.

Only arithmetic lives here: the callers check shapes and dtypes and own the buffers. Blends are
integer: ``(f*a + b*(255-a) + 128) * 257 >> 16`` equals round((f*a + b*(255-a)) / 255) for all
8-bit inputs, so an alpha of 255 returns the foreground exactly and 0 the background exactly.
"""
from __future__ import annotations

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
def blend(fg, bg, alpha, out, mirror):
    """out = fg * alpha + bg * (1 - alpha), mirrored left-right when ``mirror``."""
    h, w = alpha.shape
    for y in range(h):
        for x in range(w):
            a = np.int32(alpha[y, x])
            b = 255 - a
            xo = w - 1 - x if mirror else x
            for c in range(3):
                v = np.int32(fg[y, x, c]) * a + np.int32(bg[y, x, c]) * b + 128
                out[y, xo, c] = np.uint8((v * 257) >> 16)


@njit(**_JIT)
def blend_color(fg, color, alpha, out, mirror):
    """out = fg * alpha + color * (1 - alpha); ``color`` is an RGB uint8 array of 3."""
    h, w = alpha.shape
    c0, c1, c2 = np.int32(color[0]), np.int32(color[1]), np.int32(color[2])
    for y in range(h):
        for x in range(w):
            a = np.int32(alpha[y, x])
            b = 255 - a
            xo = w - 1 - x if mirror else x
            out[y, xo, 0] = np.uint8(((np.int32(fg[y, x, 0]) * a + c0 * b + 128) * 257) >> 16)
            out[y, xo, 1] = np.uint8(((np.int32(fg[y, x, 1]) * a + c1 * b + 128) * 257) >> 16)
            out[y, xo, 2] = np.uint8(((np.int32(fg[y, x, 2]) * a + c2 * b + 128) * 257) >> 16)


def warm_up() -> None:
    """Compile (or load from the on-disk cache) every kernel before the first frame."""
    f = np.zeros((2, 2), np.float32)
    u = np.zeros((2, 2), np.uint8)
    rgb = np.zeros((2, 2, 3), np.uint8)
    smooth_matte(f, f.copy(), u, 0.5, 0.25)
    blend(rgb, rgb, u, rgb.copy(), False)
    blend_color(rgb, np.zeros(3, np.uint8), u, rgb.copy(), False)
