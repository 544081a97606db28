"""Scale-and-shift resampling of the model's matte of the crop that follows the person back into
the whole frame (``vcam.segment.follow``).

The map is a scale and a shift on each axis, no rotation, so the bilinear taps and weights of
each output column and row are made once per box (a still person keeps theirs) and one pass reads
them. This samples as ``cv2.warpAffine`` does with ``INTER_LINEAR`` and a zero border (the same
source coordinate per output pixel, no half-pixel shift), within warpAffine's fixed-point weights
(1/32 of a pixel), where warpAffine computes and rounds a coordinate per pixel for a general
affine map: at 720p (a 256x256 matte into the 512x288 working matte) 0.33 ms against 0.90 ms
(``benchmarks/crop_sampling.py``, one run). The way into the model is a plain ``cv2.resize`` of the
followed box, aligned for it (``FollowCrop._aligned``); the same kind of kernel for 3 channels of
uint8 was no faster than ``cv2.warpAffine``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from vcam import jit
from vcam.jit import JIT

pass


def taps(n_out: int, scale: float, shift: float, n_src: int):
    """For output index u on one axis, the source coordinate ``(u - shift) / scale`` (the inverse
    of ``u = scale * x + shift``): its two taps and their weights, as int32 and float32 arrays
    (i0, i1, w0, w1). A tap past the edge counts as 0 (BORDER_CONSTANT): its weight is zero."""
    x = (np.arange(n_out, dtype=np.float64) - shift) / scale
    i0 = np.floor(x)
    f = x - i0
    i0 = i0.astype(np.int64)
    i1 = i0 + 1
    w0 = np.where((i0 >= 0) & (i0 < n_src), 1.0 - f, 0.0)
    w1 = np.where((i1 >= 0) & (i1 < n_src), f, 0.0)
    top = n_src - 1
    return (np.clip(i0, 0, top).astype(np.int32), np.clip(i1, 0, top).astype(np.int32),
            w0.astype(np.float32), w1.astype(np.float32))


@njit(**JIT)
def sample_matte(src, ry0, ry1, wy0, wy1, cx0, cx1, wx0, wx1, out):
    """``out`` (float32, H x W) = ``src`` (float32) sampled bilinearly at the taps."""
    h, w = out.shape
    for y in range(h):
        a, b = ry0[y], ry1[y]
        ta, tb = wy0[y], wy1[y]
        for x in range(w):
            c, d = cx0[x], cx1[x]
            sc, sd = wx0[x], wx1[x]
            out[y, x] = ta * (sc * src[a, c] + sd * src[a, d]) + tb * (sc * src[b, c] + sd * src[b, d])


def _sample() -> None:
    i, f = np.zeros(2, np.int32), np.zeros(2, np.float32)
    sample_matte(np.zeros((2, 2), np.float32), i, i, f, f, i, i, f, f, np.zeros((2, 2), np.float32))


jit.register(sample_matte, _sample)
