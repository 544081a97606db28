"""The room painted: a blur effect with a style (``--effect blur --style cartoon``) shows the
user's own room as a painting behind them, made once when the style is chosen, never per frame.

- The plate: the first frame's room with the person's place (where the alpha is above
  ``ROOM_PERSON``, and a margin) filled from around it, by OpenCV's Telea inpainting at about
  ``ROOM_WIDTH`` wide; the rest of the room keeps the frame's own pixels. No colour of the person
  is in it, so none can glow around them (as the halo-free blur).
- Painted in the style (:func:`vcam.effects.style.stylize`), once. Live (``wait=False``) on a thread of
  its own: the plain blur shows until the painting is ready, and no frame waits for it; for
  files (``wait=True``) before the first frame is made.
- Shown out of focus by ``PAINTED_BLUR`` of the effect's blur (a painted backdrop a little
  behind the person: the full blur would wash the painting's strokes away).

A new style, a new size or :meth:`PaintedRoom.reset` (a new source, the next picture of a batch)
paints anew; a change of the blur alone only refocuses the painting already made
(:meth:`PaintedRoom.take_over`). The room is a still: what moves in it later (a door, the
camera) is not followed.
"""
from __future__ import annotations

import logging
import threading
from typing import Optional

import cv2
import numpy as np

from vcam import checks
from vcam.effects import style

log = logging.getLogger(__name__)

ROOM_WIDTH = 160        # the person's place is filled at about this width
ROOM_PERSON = 8         # alpha above this is the person (left out of the plate)
ROOM_MARGIN = 0.02      # ... with this share of the frame height around them
PAINTED_BLUR = 0.25     # the painting is shown blurred by this share of the effect's blur


def plate(frame: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The room in ``frame`` (RGB uint8) without the person in ``alpha``: their place (and a
    margin) filled from the room around it. A new picture of the frame's size."""
    h, w = alpha.shape
    k = max(1, round(w / ROOM_WIDTH))
    sw, sh = max(1, w // k), max(1, h // k)
    small = cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_AREA)
    hole = (cv2.resize(alpha, (sw, sh), interpolation=cv2.INTER_AREA) > ROOM_PERSON).astype(np.uint8) * 255
    reach = max(1, round(ROOM_MARGIN * sh))
    hole = cv2.dilate(hole, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1)))
    out = frame.copy()
    if not hole.any():
        return out
    if hole.all():   # nothing of the room is seen: a plain grey room
        out[...] = 128
        return out
    filled = cv2.inpaint(small, hole, max(3, reach), cv2.INPAINT_TELEA)
    up = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)
    where = cv2.resize(hole, (w, h), interpolation=cv2.INTER_LINEAR) > 0
    np.copyto(out, up, where=where[..., None])
    return out


class PaintedRoom:
    """``show(frame, alpha)``: the painted room (RGB uint8, the frame's size) once it is ready,
    else None (the caller shows its plain blur)."""

    def __init__(self, size: tuple[int, int], style_name: str, blur: float, *, wait: bool) -> None:
        w, h = checks.check("painted room", size, blur=(blur, 1.0, 100.0))
        style.check(style_name)
        if style_name == "none":
            raise ValueError("painted room: give a style, got 'none'")
        self.size, self.style, self.wait = (w, h), style_name, wait
        self._sigma = PAINTED_BLUR * blur * h / 720.0
        self.image = np.empty((h, w, 3), np.uint8)   # what is shown, once ready
        self.ready = False
        self.problem: Optional[str] = None           # why painting failed (live), else None
        self._painting: Optional[np.ndarray] = None  # the painted room, in focus
        self._started = False
        self._round = 0                               # a painting of an older round is dropped
        self._lock = threading.Lock()

    def show(self, frame: np.ndarray, alpha: np.ndarray) -> Optional[np.ndarray]:
        if self.ready:
            return self.image
        if self._started:
            return None
        self._started = True
        if self.wait:
            self._paint(frame, alpha, self._round)
            return self.image
        # the thread's own copies (once, when the style is chosen): the frame's buffers move on
        threading.Thread(target=self._paint_quietly, args=(frame.copy(), alpha.copy(), self._round),
                         name="paint-room", daemon=True).start()
        return None

    def _paint(self, frame: np.ndarray, alpha: np.ndarray, round_: int) -> None:
        painting = style.stylize(plate(frame, alpha), self.style)
        with self._lock:
            if round_ == self._round:
                self._show(painting)

    def _paint_quietly(self, frame: np.ndarray, alpha: np.ndarray, round_: int) -> None:
        try:
            self._paint(frame, alpha, round_)
        except Exception as exc:   # live: the plain blur stays, and the reason is kept and logged
            self.problem = str(exc)
            log.warning("the room could not be painted (%s): the plain blur stays", exc)

    def _show(self, painting: np.ndarray) -> None:
        self._painting = painting
        if self._sigma >= 0.5:
            cv2.GaussianBlur(painting, (0, 0), self._sigma, dst=self.image, borderType=cv2.BORDER_REFLECT)
        else:
            np.copyto(self.image, painting)
        self.ready = True

    def take_over(self, before: PaintedRoom) -> None:
        """Show the painting ``before`` made (the same style and size: only the blur changed)."""
        if (before.style, before.size) != (self.style, self.size):
            return
        painting = before.painting()
        if painting is not None:
            with self._lock:
                self._started = True
                self._show(painting)

    def painting(self) -> Optional[np.ndarray]:
        """The painted room in focus, once made (else None); shared, not to be written."""
        with self._lock:
            return self._painting

    def reset(self) -> None:
        """Paint anew from the next frame (a new room)."""
        with self._lock:
            self._round += 1
            self.ready = self._started = False
            self._painting = None

    def close(self) -> None:
        """A painting still being made is dropped; safe to call twice."""
        with self._lock:
            self._round += 1
