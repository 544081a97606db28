"""Portrait: a background blur that grows with distance, as a wide-aperture lens's does.

Without a depth camera or a depth model, how far the room is behind the person is estimated
from the picture the way portrait photos are composed: what lies next to the person's outline is
taken as near them, and the farther from the outline, the farther back. The distance is measured
as a share of the person's own height (the picture's scale at the person: the same step back
spans more pixels behind a close, large person than behind a small, far one) and eased; it mixes
two defocused copies of the background, made at the plain blur's reduced size from the same
person-free input (:class:`vcam.effects.defocus.Defocus`, so no halo), for little more than its cost:

- next to the person, a blur of ``PORTRAIT_NEAR`` of the strength (a little out of focus);
- from ``PORTRAIT_REACH`` of the person's height away, the full strength (as ``blur``'s).

With nobody in the picture everything is far: the plain blur at that strength.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from vcam import scaling
from vcam.effects.defocus import Defocus

PORTRAIT_NEAR = 0.25     # the blur next to the outline, a share of the strength
PORTRAIT_REACH = 0.6     # the full blur this far from the outline, a share of the person's height
PORTRAIT_MIN_HEIGHT = 0.1    # the least person height the distances are measured by (share of the frame)


class Portrait:
    """``portrait(frame, alpha, out)``: the background of ``frame`` defocused more the farther it
    is from the person, into ``out`` (RGB uint8, the size given)."""

    def __init__(self, size: tuple[int, int], strength: float, *, halo_free: bool = True) -> None:
        w, h = self.size = size
        self._near_reach = strength * PORTRAIT_NEAR * h / 720.0
        # the far blur is the plain blur; the near one is made at its reduced size too (scaled up
        # from there, a near sigma of a pixel or less there still reads as a little out of focus)
        self._defocus = Defocus(size, strength, bokeh=False, halo_free=halo_free, second=True)
        f = self._defocus.factor
        small = (max(1, w // f), max(1, h // f))
        self._shrink_alpha = scaling.Downscaler(size, small, channels=1)
        sh = (small[1], small[0])
        self._alpha = np.empty(sh, np.uint8)
        self._room = np.empty(sh, np.uint8)        # 1 where the room is, 0 on the person
        self._far = np.empty(sh, np.float32)      # how far back, 0 next to the person to 1
        self._close = np.empty(sh, np.float32)    # 1 - far
        self._mixed = np.empty(sh + (3,), np.uint8)
        self._rows = np.empty(sh[0], np.int64)

    def depth(self, alpha: np.ndarray) -> np.ndarray:
        """How far back each pixel of the reduced picture is taken to be (0 to 1, float32), for
        the person in ``alpha`` (full size); a buffer kept here."""
        small = self._shrink_alpha(alpha, self._alpha)
        sh = small.shape[0]
        cv2.compare(small, 128, cv2.CMP_LT, dst=self._room)
        np.sum(self._room, axis=1, dtype=np.int64, out=self._rows)
        person_rows = np.flatnonzero(self._rows < 255 * small.shape[1])   # a row with some person
        if person_rows.size == 0:
            self._far[...] = 1.0
            return self._far
        height = max(person_rows[-1] - person_rows[0] + 1, PORTRAIT_MIN_HEIGHT * sh)
        cv2.distanceTransform(self._room, cv2.DIST_L2, 3, dst=self._far)
        self._far *= np.float32(1.0 / (PORTRAIT_REACH * height))
        np.minimum(self._far, np.float32(1.0), out=self._far)
        # eased: the blur grows fast near the person and settles at full strength
        np.subtract(np.float32(2.0), self._far, out=self._close)
        self._far *= self._close
        return self._far

    def __call__(self, frame: np.ndarray, alpha: np.ndarray, out: np.ndarray,
                 halvings: Optional[scaling.Halvings] = None) -> None:
        far = self._defocus.small(frame, alpha, halvings)
        near = self._defocus.again(self._near_reach)
        depth = self.depth(alpha)
        np.subtract(np.float32(1.0), depth, out=self._close)
        cv2.blendLinear(near, far, self._close, depth, dst=self._mixed)
        cv2.resize(self._mixed, self.size, dst=out, interpolation=cv2.INTER_LINEAR)
