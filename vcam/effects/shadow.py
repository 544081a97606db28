"""Shadows: the person's shadow on a new background, a colour, or in a cut-out.

Two shadows, both made from the alpha at a reduced size (about ``SHADOW_WIDTH`` wide) and scaled
up once:

- a **cast shadow**, as a soft light would throw it on a wall close behind: the silhouette moved
  away from the light (``angle``: where it comes from, degrees, 0 the front, negative the
  picture's left, positive its right; it always comes a little from above) and blurred by
  ``softness``; the person hides most of it, and what shows fades away from their outline;
- a **contact shadow** where the person stands on something: a flat soft ellipse under the
  lowest part of the silhouette, only where that part is inside the picture (feet, a product on
  a table), never for a webcam's head and shoulders cut by the frame's bottom.

The result is ``shade``, the shadow's opacity per pixel (uint8, 0 none). A background is
darkened by it in the blend that lays the person over it (the ``shade`` of
:func:`vcam.kernels.blend` and its kin: no pass of its own over the frame); a cut-out gets it as black
with that opacity behind the person (:func:`cutout`), so the person's own alpha is unchanged
where they are opaque.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
from numba import njit

from vcam import checks, jit, scaling
from vcam.jit import JIT

SHADOW_WIDTH = 256       # the shadow is made at a size halved to about this width
SHADOW_CAST = 0.55       # the cast shadow's darkest, at strength 1
SHADOW_CONTACT = 0.8     # the contact shadow's darkest, at strength 1
SHADOW_OFFSET = 0.035    # how far the cast shadow is moved, a share of the frame height (softness 0)
SHADOW_SPREAD = (0.006, 0.05)   # its blur, sigma as a share of the height, at softness 0 and 1
SHADOW_MIN_PERSON = 0.005       # below this share of the picture, no shadow
CONTACT_HEIGHT = 0.012   # the contact ellipse's half height, a share of the frame height
CONTACT_BAND = 0.03      # the lowest share of the person's height that stands on the ground
CONTACT_MARGIN = 2       # reduced pixels: a person this close to the frame's bottom is cut by it


@njit(**JIT)
def cutout(rgb, alpha, shade, rgba):
    """The cut-out RGBA with the shadow behind the person: alpha a + s * (1 - a), and the colour
    of the person over black (``rgb`` * a / that alpha), so the picture over any background is
    the person over their shadow there. Where a is 255 nothing changes."""
    h, w = alpha.shape
    for y in range(h):
        for x in range(w):
            a = np.int32(alpha[y, x])
            out = a + (np.int32(shade[y, x]) * (255 - a) + 127) // 255
            rgba[y, x, 3] = out
            if a == 255 or out == 0:
                for c in range(3):
                    rgba[y, x, c] = rgb[y, x, c] if a else 0
            else:
                for c in range(3):
                    rgba[y, x, c] = (np.int32(rgb[y, x, c]) * a + out // 2) // out


jit.register(cutout, lambda: cutout(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), np.uint8),
                                        np.zeros((2, 2), np.uint8), np.zeros((2, 2, 4), np.uint8)))


class Shadow:
    """``update(alpha)`` makes ``shade`` (uint8, the frame's size) for that alpha."""

    def __init__(self, size: tuple[int, int], strength: float, angle: float = -30.0, softness: float = 0.5) -> None:
        w, h = checks.check("shadow", size, strength=(strength, 0.0, 1.0), angle=(angle, -90.0, 90.0),
                           softness=(softness, 0.0, 1.0))
        self.size = (w, h)
        k = max(0, math.ceil(math.log2(max(1.0, w / SHADOW_WIDTH))))
        sw, sh = max(1, w >> k), max(1, h >> k)
        self._shrink = scaling.Downscaler(size, (sw, sh), channels=1)
        self._alpha = np.empty((sh, sw), np.uint8)
        self._person = np.empty((sh, sw), np.float32)   # (OpenCV blurs float32 three times faster than 8-bit)
        self._cast = np.empty((sh, sw), np.float32)
        self._contact = np.empty((sh, sw), np.float32)
        self._small_shade = np.empty((sh, sw), np.uint8)
        self._rows = np.empty(sh, np.int64)
        self._move = np.float32([[1, 0, 0], [0, 1, 0]])
        reach = SHADOW_OFFSET * (1.0 + softness) * sh
        rad = math.radians(angle)
        self._move[0, 2] = -math.sin(rad) * reach
        self._move[1, 2] = (0.6 + 0.4 * math.cos(rad)) * reach
        self._sigma = max(0.5, (SHADOW_SPREAD[0] + (SHADOW_SPREAD[1] - SHADOW_SPREAD[0]) * softness) * sh)
        self._contact_sigma = max(0.5, 0.5 * CONTACT_HEIGHT * sh * (1.0 + softness))
        self._cast_gain = np.float32(SHADOW_CAST * strength)
        self._contact_gain = np.float32(SHADOW_CONTACT * strength)
        self.shade = np.zeros((h, w), np.uint8)
        # the shadow is drawn only in its box (full-size rows and columns), where the frame is a
        # whole multiple of the reduced size, so a box scales up exactly as the whole would
        self._factor = 1 << k
        self._boxed = (sw << k, sh << k) == (w, h)
        self.box: tuple[slice, slice] = (slice(0, 0), slice(0, 0))   # where shade may be non-zero

    def update(self, alpha: np.ndarray) -> np.ndarray:
        """The shadow of the person in ``alpha`` (uint8, the frame's size) into ``shade``."""
        small = self._shrink(alpha, self._alpha)
        sh, sw = small.shape
        np.sum(small, axis=1, dtype=np.int64, out=self._rows)
        self.shade[self.box] = 0
        if self._rows.sum() < SHADOW_MIN_PERSON * 255 * sh * sw:
            self.box = (slice(0, 0), slice(0, 0))
            return self.shade
        np.multiply(small, self._cast_gain, out=self._person)
        cv2.warpAffine(self._person, self._move, (sw, sh), dst=self._cast, flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        cv2.GaussianBlur(self._cast, (0, 0), self._sigma, dst=self._cast)
        if self._stand(small):
            np.maximum(self._cast, self._contact, out=self._cast)
        cv2.convertScaleAbs(self._cast, self._small_shade)   # rounded, saturated
        small_box = self._small_box(self._small_shade)
        if small_box[0].stop == small_box[0].start:   # so faint it rounds to nothing (a strength of 0.001)
            self.box = small_box
            return self.shade
        f = self._factor
        self.box = tuple(slice(b.start * f, b.stop * f) for b in small_box) if self._boxed else (
            slice(0, self.size[1]), slice(0, self.size[0]))
        if self._boxed:
            region = self._small_shade[small_box]
            cv2.resize(region, (region.shape[1] * f, region.shape[0] * f), dst=self.shade[self.box],
                       interpolation=cv2.INTER_LINEAR)
        else:
            cv2.resize(self._small_shade, self.size, dst=self.shade, interpolation=cv2.INTER_LINEAR)
        return self.shade

    @staticmethod
    def _small_box(small: np.ndarray) -> tuple[slice, slice]:
        """The rows and columns where the reduced shadow is, with two pixels of nothing around
        (so that, scaled up alone, the box is as the whole picture scaled up would be there)."""
        sh, sw = small.shape
        rows = np.flatnonzero(small.max(axis=1))
        cols = np.flatnonzero(small.max(axis=0))
        if rows.size == 0:
            return slice(0, 0), slice(0, 0)
        return (slice(max(0, int(rows[0]) - 2), min(sh, int(rows[-1]) + 3)),
                slice(max(0, int(cols[0]) - 2), min(sw, int(cols[-1]) + 3)))

    def _stand(self, small: np.ndarray) -> bool:
        """The contact shadow into ``_contact``: under the silhouette's lowest band, where the
        person does not run out of the picture at the bottom. False: none."""
        sh, sw = small.shape
        rows = np.flatnonzero(self._rows >= 128 * 2)   # rows with about two pixels of person
        if rows.size == 0 or rows[-1] >= sh - 1 - CONTACT_MARGIN:
            return False
        top, bottom = int(rows[0]), int(rows[-1])
        band = small[max(top, bottom - max(1, round(CONTACT_BAND * (bottom - top + 1)))):bottom + 1]
        cols = np.flatnonzero(band.max(axis=0) > 127)
        if cols.size == 0:
            return False
        self._contact[...] = 0
        centre = (round((cols[0] + cols[-1]) / 2), bottom)
        axes = (max(1, round(0.6 * (cols[-1] - cols[0] + 1))), max(1, round(CONTACT_HEIGHT * sh)))
        cv2.ellipse(self._contact, centre, axes, 0, 0, 360, float(self._contact_gain) * 255.0, -1)
        cv2.GaussianBlur(self._contact, (0, 0), self._contact_sigma, dst=self._contact)
        return True
