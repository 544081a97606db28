"""The output stage: :class:`Publisher` takes the newest composited frame, holds the output to
its frame rate, and keeps a virtual camera fed (repeating the last frame, or a card saying the
camera is unavailable) when no new one comes in time. The sinks it feeds are in :mod:`vcam.live.sinks`.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
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


@dataclass
class _Run:
    """What :meth:`Publisher.run` carries from one turn of its loop to the next (made once a run)."""
    mailbox: Mailbox
    last_new: float                          # when the last new frame came
    last_t: float = -1e9                     # when anything was last sent
    held: Optional[Frame] = None             # the last new frame sent, released when the next one is
    held_data: Optional[np.ndarray] = None   # what was last sent (that frame converted, or a card): repeated
    card_shown: bool = False                 # the unavailable card is up, until a new frame comes
    standby_shown: bool = False              # the standby card is up
    can_card: bool = False                   # there is an ``unavailable()`` to ask and a size to draw at
    can_standby: bool = False                # ... a ``standby()``
    standby_interval: float = 0.0            # the standby card's interval: at most STANDBY_FPS a second


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
        """Send the newest frame from ``mailbox`` until ``stop`` is set, the mailbox closes or
        ``max_frames`` have gone out, keeping the sink fed between frames where it must be; an
        error is logged and kept in ``error``; ``on_done`` is called however the loop ends."""
        state = _Run(mailbox, time.perf_counter(), can_card=self.unavailable is not None and self.size is not None,
                     can_standby=self.standby is not None and self.size is not None,
                     standby_interval=max(self.interval, 1.0 / self.STANDBY_FPS))
        try:
            while not stop.is_set():
                frame = mailbox.get(timeout=1.5 * self.interval if self.sink.keep_fed else 0.25)
                now = time.perf_counter()
                if frame is not None:
                    self._send(state, frame, now)
                    if self.max_frames is not None and self.sent >= self.max_frames:
                        break
                elif mailbox.closed:
                    break
                elif self.sink.keep_fed:
                    self._idle(state, now)
        except Exception as exc:
            self.error = f"{self.sink.name} failed: {exc}"
            log.exception("output failed")
        finally:
            if state.held is not None:
                state.held.release()
            if self.on_done is not None:
                self.on_done()

    def _send(self, state: _Run, frame: Frame, now: float) -> None:
        """A new ``frame``, come at ``now``: any card comes down; with pacing it waits for its
        turn (:meth:`_paced`); it is converted, sent and its times recorded ("convert",
        "output"); it is held to be repeated, and the frame held before is released."""
        state.last_new = now
        state.card_shown = state.standby_shown = False
        if self.pacing and now < state.last_t + 0.9 * self.interval:
            frame = self._paced(state, frame, now)
        t0 = time.perf_counter()
        data = self.sink.convert(frame.image)
        t1 = time.perf_counter()
        self.sink.send(data, frame.t_capture)
        state.last_t = time.perf_counter()
        frame.times["convert"] = t1 - t0
        frame.times["output"] = state.last_t - t1
        self.stats.record(frame.times, frame.t_capture, state.last_t)
        if state.held is not None:
            state.held.release()
        state.held, state.held_data = frame, data
        self.sent += 1

    def _paced(self, state: _Run, frame: Frame, now: float) -> Frame:
        """Sleep until 0.9 of an interval after the last send, then the frame to send: a newer
        one that came meanwhile (``frame`` released), else ``frame``."""
        time.sleep(state.last_t + 0.9 * self.interval - now)
        newer = state.mailbox.get(timeout=0)
        if newer is None:
            return frame
        frame.release()
        return newer

    def _idle(self, state: _Run, now: float) -> None:
        """No new frame in time, for a sink that must stay fed: once an interval (the standby
        card's while it is up), the cards are updated (:meth:`_cards`) and what is held (the last
        frame or a card) is sent again, recorded as a repeat; nothing while nothing is held."""
        if now - state.last_t < (state.standby_interval if state.standby_shown else self.interval):
            return
        self._cards(state, now)
        if state.held_data is not None:
            self.sink.send(state.held_data)   # still in the sink's buffer, or the held frame
            state.last_t = now
            self.stats.record_repeat()

    def _cards(self, state: _Run, now: float) -> None:
        """The standby card goes up when ``standby()`` turns true (and is taken down when it turns
        false); otherwise the unavailable card goes up once ``card_after`` seconds have passed
        without a new frame and ``unavailable()`` says so. A card put up becomes what is held."""
        if state.can_standby:
            standing_by = self.standby()
            if standing_by and not state.standby_shown:
                state.held_data = self._show_standby()   # as the card below
                state.standby_shown = True
            elif state.standby_shown and not standing_by:
                state.standby_shown = False   # opening again: no frame yet, maybe a failure
        if (state.can_card and not state.card_shown and not state.standby_shown
                and now - state.last_new >= self.card_after and self.unavailable()):
            state.held_data = self._show_card()   # the sink's buffer, or the card itself
            state.card_shown = True
