"""Give the model more pixels of the person: segment a crop that follows them.

The model sees a fixed, small input (256x256). On a whole webcam frame the person is a fraction
of it; cropped to a box around the person (padded, square where the frame allows) the model sees
them at up to twice the resolution, and the edges improve. The box comes from the previous
frame's matte, so the model still runs once per frame; a whole-frame pass finds the person when
they are lost, and once a second checks that nobody came in outside the box.

The matte is returned for the whole frame at a working resolution (long side ``WORK_SIDE``), in
fixed frame coordinates whatever the box, so temporal smoothing downstream sees a still person
as still. The box itself only moves when the person leaves its inner part, or when it has become
much larger than they need: a steady box means steady sampling, and no flicker from it.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from vcam.segment import Segmenter
from vcam.segment.follow_sampling import sample_matte, taps

WORK_SIDE = 512       # long side of the matte returned, in pixels
PAD = 0.1             # the box grows by this share of the person's size on every side
CHECK_EVERY = 30      # frames between whole-frame passes while following
MIN_AREA = 0.002      # share of the frame below which the person counts as lost

# Photos (no time limit): the crop at two paddings, each also mirrored (the model is not quite
# symmetric, nor steady under a small change of framing, and the errors partly cancel); then
# four tiles of TILE of the crop's side, one at each corner, give the edges twice the pixels. The
# tiles fade out towards their borders (where they cut the person off); the mean of the crop
# passes counts as much as CROP_WEIGHT tiles at full weight.
PHOTO_PADS = (0.05, 0.1)
TILE = 0.75
CROP_WEIGHT = 3.0
TILE_FADE = 0.15      # share of a tile's side over which its weight falls to zero at its borders
TILE_SAY = 0.2        # the most the tiles may move the matte (see _tiles)


class FollowCrop(Segmenter):
    """Wraps a :class:`Segmenter` of a fixed ``input_size``; ``segment(frame)`` returns a float32
    matte of the whole frame at working resolution (``work_size``)."""

    def __init__(self, segmenter: Segmenter) -> None:
        if segmenter.input_size is None:
            raise ValueError(f"{segmenter.name} takes frames of any size: there is no crop to follow with")
        self.segmenter = segmenter
        self.name = segmenter.name
        self.provider = segmenter.provider
        self.model_type = segmenter.model_type
        mw, mh = segmenter.input_size
        self._input = np.zeros((mh, mw, 3), np.uint8)
        self._frame_size: Optional[tuple[int, int]] = None
        self._full: Optional[np.ndarray] = None
        self._work: Optional[np.ndarray] = None
        self.box: Optional[tuple[float, float, float, float]] = None   # x0, y0, x1, y1 in frame pixels
        self._n = 0
        self._taps: Optional[tuple] = None   # (what they are for, the taps) of the way back

    def reset(self) -> None:
        """Forget where the person was (a new source, or the next unrelated picture)."""
        self.box = None
        self._n = 0
        self.segmenter.reset()

    def _sizes(self, frame: np.ndarray) -> None:
        size = (frame.shape[1], frame.shape[0])
        if size != self._frame_size:
            self._frame_size = size
            scale = min(1.0, WORK_SIDE / max(size))
            self.work_scale = scale
            self.work_size = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
            self.output_size = self.work_size
            self._work = np.zeros((self.work_size[1], self.work_size[0]), np.float32)
            self._full = np.zeros_like(self._work)
            self.box = None

    def _run(self, frame: np.ndarray, box, out: np.ndarray) -> np.ndarray:
        """The model on ``box`` of ``frame``, written into ``out`` over the whole frame (0 outside).
        A box given right to left (x0 > x1) is seen mirrored: the same sampling, flipped."""
        x0, y0, x1, y1 = box
        mw, mh = self.segmenter.input_size
        sx, sy = mw / (x1 - x0), mh / (y1 - y0)
        # Plain scale-and-shift sampling, as MediaPipe's own graph does it.
        roi = self._roi(box) if x1 > x0 else None
        if roi is not None:   # the followed box: a plain resize of its pixels, the same samples
            x, y, w, h = roi
            cv2.resize(frame[y:y + h, x:x + w], (mw, mh), dst=self._input, interpolation=cv2.INTER_LINEAR)
        else:
            forward = np.array([[sx, 0.0, -x0 * sx], [0.0, sy, -y0 * sy]], np.float32)
            cv2.warpAffine(frame, forward, (mw, mh), dst=self._input, flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        return self._place(self.segmenter.segment(self._input), box, out)

    def _axes(self, n_out, scale, shift, n_src) -> tuple:
        """The row and column taps (``vcam.segment.follow_sampling.taps``, zero outside) of the way
        back, made again only when the box or a size changed (a still person keeps their box)."""
        key = (n_out, scale, shift, n_src)
        if self._taps is None or self._taps[0] != key:
            rows = taps(n_out[1], scale[1], shift[1], n_src[1])
            cols = taps(n_out[0], scale[0], shift[0], n_src[0])
            self._taps = (key, rows + cols)
        return self._taps[1]

    def _place(self, raw: np.ndarray, box, out: np.ndarray) -> np.ndarray:
        """``raw`` (model output of ``box``) written into ``out`` over the whole frame, 0 outside."""
        x0, y0, x1, y1 = box
        mw, mh = self.segmenter.input_size
        sx, sy = mw / (x1 - x0), mh / (y1 - y0)
        ws = self.work_scale
        rh, rw = raw.shape
        sample_matte(raw, *self._axes(self.work_size, (ws / sx, ws / sy), (x0 * ws, y0 * ws), (rw, rh)), out)
        return out

    def _person_box(self, matte: np.ndarray):
        """The person's bounding box in frame pixels, or None when there is (almost) nobody."""
        mask = matte > 0.5
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if rows.size == 0 or np.count_nonzero(mask) < MIN_AREA * mask.size:
            return None
        s = 1.0 / self.work_scale
        return cols[0] * s, rows[0] * s, (cols[-1] + 1) * s, (rows[-1] + 1) * s

    def _crop_for(self, person, pad: float = PAD) -> tuple[float, float, float, float]:
        """Pad the person's box, make it square where the frame allows, keep it in the frame."""
        fw, fh = self._frame_size
        x0, y0, x1, y1 = person
        w, h = x1 - x0, y1 - y0
        pad = pad * max(w, h)
        side_w = min(fw, max(w + 2 * pad, h + 2 * pad))
        side_h = min(fh, max(h + 2 * pad, w + 2 * pad))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        bx0 = min(max(0.0, cx - side_w / 2), fw - side_w)
        by0 = min(max(0.0, cy - side_h / 2), fh - side_h)
        return bx0, by0, bx0 + side_w, by0 + side_h

    def _keeps(self, person) -> bool:
        """Whether the current box still fits ``person``: inside its inner part, and not more than
        twice as large as needed."""
        if self.box is None:
            return False
        bx0, by0, bx1, by1 = self.box
        fw, fh = self._frame_size
        mx, my = 0.08 * (bx1 - bx0), 0.08 * (by1 - by0)
        x0, y0, x1, y1 = person
        inside = ((x0 >= bx0 + mx or bx0 <= 0) and (y0 >= by0 + my or by0 <= 0)
                  and (x1 <= bx1 - mx or bx1 >= fw) and (y1 <= by1 - my or by1 >= fh))
        need = self._crop_for(person)
        too_big = (bx1 - bx0) * (by1 - by0) > 2.0 * (need[2] - need[0]) * (need[3] - need[1])
        return inside and not too_big

    def segment(self, frame: np.ndarray) -> np.ndarray:
        """Live: one model pass on the followed box (two on a check frame)."""
        self._sizes(frame)
        fw, fh = self._frame_size
        whole = (0.0, 0.0, float(fw), float(fh))
        check = self.box is None or self._n % CHECK_EVERY == 0
        self._n += 1
        if check:
            person = self._person_box(self._run(frame, whole, self._full))
            if person is None:
                self.box = None
                np.copyto(self._work, self._full)
                return self._work
            if self.box is None or not self._keeps_union(person):
                self.box = self._aligned(self._crop_for(person))
        self._run(frame, self.box, self._work)
        person = self._person_box(self._work)
        if person is None:
            self.box = None   # lost: the next frame looks at the whole picture
        elif not self._keeps(person):
            self.box = self._aligned(self._crop_for(person))
        return self._work

    def _aligned(self, box) -> tuple[float, float, float, float]:
        """``box`` moved by under a pixel so that a plain ``cv2.resize`` of whole frame pixels
        samples it exactly as the warp does (see :meth:`_roi`): a whole number of pixels wide
        and high, starting half a model pixel, less half a frame pixel, past a pixel's corner.
        Left as it is where the model's input would be larger than the box (no such ROI)."""
        fw, fh = self._frame_size
        mw, mh = self.segmenter.input_size
        out = []
        for lo, hi, n, m in ((box[0], box[2], fw, mw), (box[1], box[3], fh, mh)):
            size = min(n, max(1, round(hi - lo)))
            step = size / m
            if step < 1:
                return box
            start = min(max(0, round(lo - 0.5 * (step - 1))), n - size)
            out.append((start + 0.5 * (step - 1), size))
        (x0, w), (y0, h) = out
        return x0, y0, x0 + w, y0 + h

    def _roi(self, box) -> Optional[tuple[int, int, int, int]]:
        """The frame pixels (x, y, width, height) that a resize of them samples exactly as the
        warp of ``box`` does, or None where there are none. ``cv2.resize`` takes output pixel u
        from ``x + (u + 0.5) * step - 0.5``; the warp from ``x0 + u * step``, ``step`` being the
        box's width over the model's: the same where ``x0 = x + 0.5 * (step - 1)``."""
        fw, fh = self._frame_size
        mw, mh = self.segmenter.input_size
        roi = []
        for lo, hi, n, m in ((box[0], box[2], fw, mw), (box[1], box[3], fh, mh)):
            size = hi - lo
            step = size / m
            start = lo - 0.5 * (step - 1)
            if step < 1 or abs(size - round(size)) > 1e-6 or abs(start - round(start)) > 1e-6:
                return None
            start, size = round(start), round(size)
            if start < 0 or start + size > n:
                return None
            roi += [start, size]
        return roi[0], roi[2], roi[1], roi[3]

    def _keeps_union(self, person) -> bool:
        """On a check frame: is everyone the whole-frame pass found inside the current box?"""
        bx0, by0, bx1, by1 = self.box
        x0, y0, x1, y1 = person
        return x0 >= bx0 and y0 >= by0 and x1 <= bx1 and y1 <= by1

    def segment_photo(self, frame: np.ndarray) -> np.ndarray:
        """A still picture, with no time limit: a whole-frame pass finds the person, then the
        crop passes (``PHOTO_PADS``, each also mirrored) are averaged and the corner tiles refine
        the edges (see ``TILE``). Costs 1 + 2 * len(PHOTO_PADS) + 4 model passes."""
        self.reset()
        self._sizes(frame)
        fw, fh = self._frame_size
        person = self._person_box(self._run(frame, (0.0, 0.0, float(fw), float(fh)), self._full))
        if person is None:
            np.copyto(self._work, self._full)
            return self._work
        crops = np.zeros_like(self._work)
        for pad in PHOTO_PADS:
            x0, y0, x1, y1 = box = self._crop_for(person, pad)
            crops += self._run(frame, box, self._full)
            crops += self._run(frame, (x1, y0, x0, y1), self._full)   # mirrored
        crops *= 1.0 / (2 * len(PHOTO_PADS))
        self._tiles(frame, self._crop_for(person), crops)
        self.reset()
        return self._work

    def _tiles(self, frame: np.ndarray, box, base: np.ndarray) -> None:
        """``self._work`` = ``base`` refined by four corner tiles of ``box``, each weighted by a
        window that fades out at its borders."""
        mw, mh = self.segmenter.input_size
        def ramp(n):
            return np.minimum(1.0, np.minimum(np.arange(n) + 0.5, n - np.arange(n) - 0.5)
                                            / (TILE_FADE * n)).astype(np.float32)
        window = np.outer(ramp(mh), ramp(mw))
        x0, y0, x1, y1 = box
        tw, th = TILE * (x1 - x0), TILE * (y1 - y0)
        total = np.zeros_like(base)
        weight = np.zeros_like(base)
        share = np.zeros_like(base)
        for tx in (x0, x1 - tw):
            for ty in (y0, y1 - th):
                tile = (tx, ty, tx + tw, ty + th)
                self._place(window, tile, share)
                weight += share
                total += self._run(frame, tile, self._full) * share
        fused = (base * CROP_WEIGHT + total) / (weight + CROP_WEIGHT)
        # A tile sees too little of the person to overrule the crop passes: it may only move the
        # matte by TILE_SAY, enough to shift an unsure edge, not to add or cut away a part.
        np.clip(fused, base - TILE_SAY, base + TILE_SAY, out=self._work)

    def close(self) -> None:
        self.segmenter.close()
