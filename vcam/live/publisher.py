"""The output stage: :class:`Publisher` takes the newest composited frame, holds the output to
its frame rate, and keeps a virtual camera fed (repeating the last frame, or a card saying the
camera is unavailable) when no new one comes in time. The sinks it feeds are in :mod:`vcam.live.sinks`.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Optional

import cv2
import numpy as np

from vcam.live.mailbox import Frame, Mailbox
from vcam.live.sinks import Sink
from vcam.live.stats import Stats

log = logging.getLogger(__name__)


def unavailable_card(width: int, height: int, title: str = "Camera unavailable",
                     note: str = "vcam is reconnecting") -> np.ndarray:
    """A dark RGB uint8 picture saying the camera is unavailable, for the virtual camera to show
    while it is: drawn once per outage, at the output's size."""
    card = np.full((height, width, 3), 32, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for text, y, share, colour in ((title, 0.47, 0.6, (255, 255, 255)), (note, 0.62, 0.4, (190, 190, 190))):
        (tw, th), _ = cv2.getTextSize(text, font, 1.0, 2)
        scale = max(0.3, share * width / tw)
        thickness = max(1, round(2 * scale))
        (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
        cv2.putText(card, text, ((width - tw) // 2, round(height * y + th / 2)), font, scale, colour, thickness, cv2.LINE_AA)
    return card


class Publisher:
    """The output stage. ``run()`` loops until ``stop`` is set or the mailbox closes.

    With pacing, frames go out no faster than ``fps``; a newer frame that arrives while one waits
    for its turn replaces it. A sink that must stay fed gets the last frame again when no new
    frame arrives within one and a half frame intervals; when ``unavailable()`` says the camera
    is gone and no new frame has come for ``card_after`` seconds, it gets :func:`unavailable_card`
    of ``size`` instead, until frames come again. While ``standby()`` says the camera was released
    on purpose (no app reads the virtual camera), it gets a standby card, ``STANDBY_FPS`` times a
    second: the device stays open and configured, so call apps still list it, at next to no cost.
    """

    STANDBY_FPS = 5.0
    STANDBY_CARD = ("Camera off", "it starts when an app uses vcam")

    def __init__(self, sink: Sink, fps: float, stats: Stats, *, pacing: bool = True,
                 max_frames: Optional[int] = None, on_done: Optional[Callable[[], None]] = None,
                 size: Optional[tuple[int, int]] = None, unavailable: Optional[Callable[[], bool]] = None,
                 card_after: float = 2.0, standby: Optional[Callable[[], bool]] = None) -> None:
        self.sink = sink
        self.interval = 1.0 / fps
        self.stats = stats
        self.pacing = pacing
        self.max_frames = max_frames
        self.on_done = on_done
        self.size = size
        self.unavailable = unavailable
        self.card_after = card_after
        self.standby = standby
        self._card: Optional[np.ndarray] = None
        self._standby_card: Optional[np.ndarray] = None
        self.cards = 0   # outages the card was shown for
        self.standbys = 0   # times the standby card was put up
        self.sent = 0
        self.error: Optional[str] = None

    def _show_card(self) -> np.ndarray:
        if self._card is None:
            self._card = unavailable_card(*self.size)
        self.cards += 1
        log.info("showing the camera-unavailable card")
        return self.sink.convert(self._card)

    def _show_standby(self) -> np.ndarray:
        if self._standby_card is None:
            self._standby_card = unavailable_card(*self.size, *self.STANDBY_CARD)
        self.standbys += 1
        return self.sink.convert(self._standby_card)

    def run(self, mailbox: Mailbox, stop: threading.Event) -> None:
        held: Optional[Frame] = None
        held_data: Optional[np.ndarray] = None
        last_t = -1e9
        last_new = time.perf_counter()
        card_shown = standby_shown = False
        can_card = self.unavailable is not None and self.size is not None
        can_standby = self.standby is not None and self.size is not None
        standby_interval = max(self.interval, 1.0 / self.STANDBY_FPS)
        try:
            while not stop.is_set():
                frame = mailbox.get(timeout=1.5 * self.interval if self.sink.keep_fed else 0.25)
                now = time.perf_counter()
                if frame is None:
                    if mailbox.closed:
                        break
                    if self.sink.keep_fed and now - last_t >= (standby_interval if standby_shown else self.interval):
                        if can_standby:
                            standing_by = self.standby()
                            if standing_by and not standby_shown:
                                held_data = self._show_standby()   # as the card below
                                standby_shown = True
                            elif standby_shown and not standing_by:
                                standby_shown = False   # opening again: no frame yet, maybe a failure
                        if (can_card and not card_shown and not standby_shown and now - last_new >= self.card_after
                                and self.unavailable()):
                            held_data = self._show_card()   # the sink's buffer, or the card itself
                            card_shown = True
                        if held_data is not None:
                            self.sink.send(held_data)   # still in the sink's buffer, or the held frame
                            last_t = now
                            self.stats.record_repeat()
                    continue
                last_new = now
                card_shown = standby_shown = False
                if self.pacing and now < last_t + 0.9 * self.interval:
                    time.sleep(last_t + 0.9 * self.interval - now)
                    newer = mailbox.get(timeout=0)
                    if newer is not None:
                        frame.release()
                        frame = newer
                t0 = time.perf_counter()
                data = self.sink.convert(frame.image)
                t1 = time.perf_counter()
                self.sink.send(data, frame.t_capture)
                last_t = time.perf_counter()
                frame.times["convert"] = t1 - t0
                frame.times["output"] = last_t - t1
                self.stats.record(frame.times, frame.t_capture, last_t)
                if held is not None:
                    held.release()
                held, held_data = frame, data
                self.sent += 1
                if self.max_frames is not None and self.sent >= self.max_frames:
                    break
        except Exception as exc:
            self.error = f"{self.sink.name} failed: {exc}"
            log.exception("output failed")
        finally:
            if held is not None:
                held.release()
            if self.on_done is not None:
                self.on_done()
