"""Portrait: a background blur that grows with distance in depth from the person, as a
wide-aperture lens's does.

How far each place is from the person comes from the depth network (:class:`vcam.effects.depth.RoomDepth`:
made off the frame's path at a low rate; the person's matte says which depth is in focus): the
difference in nearness, from 0 (as near as the person) to ``focus_reach(falloff)`` and beyond
(the full blur), eased. Where the network is off, cannot be used, or has no map of this room yet,
the distance is estimated from the picture the way portrait photos are composed: what lies next to
the person's outline is taken as near them, and the farther from the outline, the farther back,
measured as a share of the person's own height (the picture's scale at the person) and eased.

Either distance mixes two defocused copies of the background, made at the plain blur's reduced
size from the same person-free input (:class:`vcam.effects.defocus.Defocus`, so no halo), for
little more than its cost:

- at the person's depth (or next to their outline), a blur of ``PORTRAIT_NEAR`` of the strength;
- from ``focus_reach`` in depth (or ``PORTRAIT_REACH`` of the person's height away), the full strength.

With nobody in the picture everything is far: the plain blur at that strength. A new depth map
is eased in over a few frames (``DEPTH_EASE``), so the blur never jumps when it comes.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from vcam import scaling
from vcam.effects.defocus import Defocus
from vcam.effects.depth import RoomDepth

PORTRAIT_NEAR = 0.25     # the blur next to the outline, a share of the strength
PORTRAIT_REACH = 0.6     # the full blur this far from the outline, a share of the person's height
PORTRAIT_MIN_HEIGHT = 0.1    # the least person height the distances are measured by (share of the frame)
FOCUS_REACH = (0.7, 0.1)     # the depth difference (nearness, 0 to 1) of the full blur, at focus falloff 0 and 1
DEPTH_EASE = 0.25            # a new depth map is followed by this share a frame


def focus_reach(falloff: float) -> float:
    """The difference in nearness (0 to 1) from the person's at which the blur is full, for a
    focus ``falloff`` from 0 (gentle: only the far end of the room fully blurred) to 1 (steep)."""
    return FOCUS_REACH[0] + (FOCUS_REACH[1] - FOCUS_REACH[0]) * falloff


class Portrait:
    """``portrait(frame, alpha, out)``: the background of ``frame`` defocused more the farther it
    is from the person, into ``out`` (RGB uint8, the size given). ``depth``: the room's depth
    (None: the outline's distance only); ``falloff``: how steeply the blur grows with depth."""

    def __init__(self, size: tuple[int, int], strength: float, *, halo_free: bool = True,
                 depth: Optional[RoomDepth] = None, falloff: float = 0.5) -> None:
        w, h = self.size = size
        self.room_depth = depth
        self._reach = np.float32(1.0 / focus_reach(falloff))
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
        self._seen = -1                                   # the depth map's version in _target
        self._by_depth = np.empty(sh, np.float32)        # how far back, by depth, followed over frames
        self._target = np.empty(sh, np.float32)          # ... and as the newest map says
        self._fresh = True                               # the next map is shown at once, not eased in

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

    def depth_far(self) -> Optional[np.ndarray]:
        """How far back each pixel of the reduced picture is by the depth network (0 to 1,
        float32, a buffer kept here), once :meth:`__call__` has a map; else None."""
        room = self.room_depth
        if room is None or not room.ready:
            return None
        if room.version != self._seen:
            self._seen = room.version
            cv2.resize(room.distance, (self._target.shape[1], self._target.shape[0]), dst=self._target,
                       interpolation=cv2.INTER_LINEAR)
            self._target *= self._reach
            np.minimum(self._target, np.float32(1.0), out=self._target)
            np.subtract(np.float32(2.0), self._target, out=self._close)   # eased, as the outline's
            self._target *= self._close
            if self._fresh:
                np.copyto(self._by_depth, self._target)
                self._fresh = False
        cv2.accumulateWeighted(self._target, self._by_depth, DEPTH_EASE)
        return self._by_depth

    def take_over(self, before: "Portrait") -> None:
        """Keep the room's depth ``before`` had (the same frame size: only the blur or the falloff
        changed): no new network, no frame without a map."""
        if self.room_depth is None or before.room_depth is None or before.size != self.size:
            return
        self.room_depth.close()
        self.room_depth, before.room_depth = before.room_depth, None

    def reset(self) -> None:
        """Another room: its depth is found anew (until then, the outline's distance)."""
        self._fresh = True
        if self.room_depth is not None:
            self.room_depth.reset()

    def close(self) -> None:
        if self.room_depth is not None:
            self.room_depth.close()

    def __call__(self, frame: np.ndarray, alpha: np.ndarray, out: np.ndarray,
                 halvings: Optional[scaling.Halvings] = None) -> None:
        far = self._defocus.small(frame, alpha, halvings)
        near = self._defocus.again(self._near_reach)
        if self.room_depth is not None:
            self.room_depth.update(frame, alpha, self._defocus.reduced)
        depth = self.depth_far()
        if depth is None:
            depth = self.depth(alpha)
        np.subtract(np.float32(1.0), depth, out=self._close)
        cv2.blendLinear(near, far, self._close, depth, dst=self._mixed)
        cv2.resize(self._mixed, self.size, dst=out, interpolation=cv2.INTER_LINEAR)
