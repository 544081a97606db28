"""Run the model only where the person's outline may have moved.

A person on a call is often still: listening, reading, thinking. Where nothing near their outline
nor in the room moved since the frame the model last saw, its matte of that frame still holds,
and the model (most of a frame's cost) can be skipped: the matte stage still runs on every frame,
so the edge keeps following the picture.

What counts as moved: the frame halved to about ``GATE_WIDTH`` pixels wide and made grey (the
halvings the other stages share, so it costs a few small resizes), compared with the same of the
frame the model last ran on. A pixel has moved where it changed by ``MOVES`` grey levels or more:
a change that small at this size is already a fraction of a pixel of motion at a contrasty edge,
while camera noise and compression, averaged over 8x8 pixels or more, stay well under it. The
person's inside (their last matte, shrunk by ``INSIDE_MARGIN`` pixels at this size) is left out:
a talking mouth or a blink does not move the outline. Where more than ``SHARE`` of the pixels
moved, the model runs. It also runs when its matte is ``MAX_AGE`` frames old, however still the
picture (a slow drift, light that changes a little at a time), and on the first ``WARM`` frames
after :meth:`StillGate.reset` (a new source or model: the crop that follows the person settles, a
recurrent model such as RVM builds its state). The comparison is with the frame the model ran
on, not the last one, so motion too slow to see from one frame to the next adds up until it
counts.

Measured on the real clips of ``../shared/eval`` and the motion and stillness sets (docs/quality.md,
"The model skipped where nothing moved"; ``python benchmarks/quality.py --compare
default,segment.skip_still=false``).
"""
from __future__ import annotations

import math
from typing import Optional

import cv2
import numpy as np

from vcam import scaling

GATE_WIDTH = 80      # the compared picture's width, about (80x45 for 720p, 120x67 for 1080p)
MOVES = 6            # grey levels of change, at that size, that count as moved
SHARE = 0.005        # share of the compared pixels that must move for the model to run
MAX_AGE = 4          # frames a matte is carried at most (at 30 fps: the model runs at 6 fps or more)
INSIDE_MARGIN = 1    # pixels (at the compared size) the person's inside keeps from their outline
WARM = 3             # model passes in a row after a reset before one may be skipped


class StillGate:
    """Tells the engine whether the model's last matte still holds for a frame. Per frame:
    :meth:`still` (True: skip the model), and after a model pass :meth:`ran` with its matte."""

    def __init__(self) -> None:
        self._size: Optional[tuple[int, int]] = None
        self._grey: Optional[np.ndarray] = None
        self._ref: Optional[np.ndarray] = None     # the grey of the frame the model last ran on
        self._outside: Optional[np.ndarray] = None
        self._moved: Optional[np.ndarray] = None
        self._small: Optional[np.ndarray] = None
        self._kernel = np.ones((2 * INSIDE_MARGIN + 1, 2 * INSIDE_MARGIN + 1), np.uint8)
        self.age = 0
        self._warm = 0   # model passes since the reset

    def reset(self) -> None:
        """Forget the last matte's frame: the model runs on the next ``WARM`` frames."""
        self._ref = None
        self._warm = 0

    def _grey_of(self, frame: np.ndarray, halvings: scaling.Halvings) -> np.ndarray:
        size = (frame.shape[1], frame.shape[0])
        if size != self._size:
            self._size = size
            k = max(0, int(math.log2(max(1.0, size[0] / GATE_WIDTH))))
            while k and (size[0] >> k == 0 or size[1] >> k == 0):
                k -= 1
            self._k = k
            shape = (size[1] >> k, size[0] >> k)
            self._grey = np.empty(shape, np.uint8)
            self._hi, self._lo = np.empty(shape, np.uint8), np.empty(shape, np.uint8)
            self._moved = np.empty(shape, bool)
            self._outside = np.empty(shape, np.uint8)   # 1 where a change counts (not the inside)
            self._small = np.empty(shape, np.float32)
            self._ref = None
        cv2.cvtColor(halvings.level(frame, self._k), cv2.COLOR_RGB2GRAY, dst=self._grey)
        return self._grey

    def still(self, frame: np.ndarray, halvings: scaling.Halvings) -> bool:
        """Whether the model may be skipped for ``frame`` (RGB): its last matte still holds."""
        grey = self._grey_of(frame, halvings)
        if self._ref is None or self.age >= MAX_AGE or self._warm < WARM:
            return False
        # |grey - ref| >= MOVES outside the person, in NumPy: OpenCV takes a 1x1 array for a scalar
        np.maximum(grey, self._ref, out=self._hi)
        np.minimum(grey, self._ref, out=self._lo)
        np.subtract(self._hi, self._lo, out=self._hi)
        np.greater_equal(self._hi, MOVES, out=self._moved)
        np.logical_and(self._moved, self._outside, out=self._moved)
        if np.count_nonzero(self._moved) > SHARE * grey.size:
            return False
        self.age += 1
        return True

    def ran(self, matte: np.ndarray) -> None:
        """The model ran on the frame last given to :meth:`still`; ``matte``: its output (float32,
        of the whole frame at any resolution)."""
        self.age = 0
        self._warm += 1
        if self._grey is None:
            return
        if self._ref is None:
            self._ref = np.empty_like(self._grey)
        np.copyto(self._ref, self._grey)
        h, w = self._grey.shape
        cv2.resize(matte, (w, h), dst=self._small, interpolation=cv2.INTER_AREA)
        np.less_equal(self._small, 0.5, out=self._outside, casting="unsafe")   # 1 outside the person
        cv2.dilate(self._outside, self._kernel, dst=self._outside)            # the inside, shrunk
