"""The capture thread: runs a :class:`~vcam.live.sources.Source` and always hands the newest frame
to the next stage; switches sources, lets a camera go on demand and reconnects one unplugged.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Optional

import cv2
import numpy as np

from vcam.live.mailbox import Frame, FramePool, Mailbox, run_thread
from vcam.live.sources import Source

log = logging.getLogger(__name__)


RECONNECT_FIRST = 0.5   # seconds before the first try to open a camera that stopped again,
RECONNECT_MAX = 5.0     # doubling up to this


class Capture:
    """Runs a source in a thread; :meth:`get` returns the newest frame, older ones are dropped.

    Frames are delivered at ``size`` (the output size): a source of another size (after a switch)
    is scaled to it. Release each frame you get with ``frame.release()``.

    A live source with ``reconnect`` set (a camera) that stops giving frames or fails is reported
    at once in ``error`` (``unavailable`` is True meanwhile), and ``reopen()`` is called with
    back-off until it returns a new source or :meth:`stop` is called. Without ``reopen``, or for
    other sources, the capture ends as the source does.
    """

    def __init__(self, source: Source, size: Optional[tuple[int, int]] = None, *, mirror: bool = False,
                 reopen: Optional[Callable[[], Source]] = None) -> None:
        self.size = size or source.size
        self._source = source
        self._reopen = reopen
        self.unavailable = False   # a camera stopped and is being reconnected
        self._pending: Optional[Source] = None
        self._generation = 0   # one more each time a source takes over: temporal state restarts
        self._lock = threading.Lock()
        self._pool = FramePool((self.size[1], self.size[0], 3))
        self._scratch: dict[str, np.ndarray] = {}
        self.mirror = mirror  # flip left to right; may be changed while running
        self.mailbox = Mailbox()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.frames = 0
        self.error: Optional[str] = None
        self.finished = threading.Event()
        # On demand: the source closed until resume() (the webcam light off), opened again then.
        self.released = False
        self.releases = 0   # times the source was released
        self._release_asked = threading.Event()
        self._wake = threading.Event()

    @property
    def source(self) -> Source:
        return self._pending or self._source

    @property
    def pool(self) -> FramePool:
        return self._pool

    def start(self) -> "Capture":
        self._thread = run_thread("capture", self._run)
        return self

    def switch(self, source: Source) -> None:
        """Use an already opened ``source`` from the next frame on; the old one is closed."""
        with self._lock:
            old, self._pending = self._pending, source
        self._wake.set()
        if old is not None:
            old.close()

    def release(self) -> bool:
        """Close the source before the next frame (a camera is let go: its light goes off) and
        deliver nothing until :meth:`resume`, which opens it again with ``reopen``. False (and
        nothing done) without ``reopen``."""
        if self._reopen is None:
            return False
        self._release_asked.set()
        return True

    def resume(self) -> None:
        """Open the source released by :meth:`release` again and deliver frames."""
        self._release_asked.clear()
        self._wake.set()

    def get(self, timeout: Optional[float] = None) -> Optional[Frame]:
        return self.mailbox.get(timeout)

    def _buffer(self, name: str, size: tuple[int, int]) -> np.ndarray:
        buf = self._scratch.get(name)
        if buf is None or buf.shape[1::-1] != size:
            buf = self._scratch[name] = np.empty((size[1], size[0], 3), np.uint8)
        return buf

    def _read_into(self, source: Source, out: np.ndarray) -> bool:
        """Read straight into ``out`` when the source has the output size and no mirroring is
        asked; otherwise through a buffer kept for the purpose."""
        same_size = source.size == self.size
        mirror = self.mirror
        buf = out if same_size and not mirror else self._buffer("read", source.size)
        if not source.read(buf):
            return False
        if not same_size:
            scaled = self._buffer("scaled", self.size) if mirror else out
            cv2.resize(buf, self.size, dst=scaled, interpolation=cv2.INTER_AREA)
            buf = scaled
        if mirror:
            cv2.flip(buf, 1, dst=out)
        return True

    def _reconnects(self, source: Source) -> bool:
        return self._reopen is not None and source.live and source.reconnect

    def _run(self) -> None:
        seq = 0
        try:
            while not self._stop.is_set():
                source = self._current()
                if self._release_asked.is_set():
                    if self._park(source):
                        continue
                    break
                source.wait()
                frame = self._pool.acquire()
                t0 = time.perf_counter()
                why = self._read(source, frame)
                if why is not None:
                    if self._goes_on(source, why):
                        continue
                    break
                t1 = time.perf_counter()
                seq += 1
                frame.seq, frame.t_capture, frame.generation = seq, t1, self._generation
                frame.times["capture"] = t1 - t0
                self.frames += 1
                self.mailbox.put(frame, wait=not source.live)
        except Exception as exc:  # a broken device must not take the app down silently
            self.error = f"{self._source.name} failed: {exc}"
            log.exception("capture failed")
        finally:
            self.finished.set()
            self.mailbox.close(drop=False)   # the last frame of a file still goes through

    def _current(self) -> Source:
        """The source to read next: a pending one takes over here (the old one closed, a new
        generation begun)."""
        with self._lock:
            if self._pending is not None:
                self._source.close()
                self._source, self._pending = self._pending, None
                self.error = None
                self.unavailable = False
                self._generation += 1
            return self._source

    def _read(self, source: Source, frame: Frame) -> Optional[str]:
        """Read into ``frame``: None when it holds the next picture; else it is released and the
        reason is returned. A source that may reconnect can raise (an unplugged device); the
        failure of any other raises on."""
        try:
            if self._read_into(source, frame.image):
                return None
            why = "stopped giving frames"
        except Exception as exc:
            frame.release()
            if not self._reconnects(source):
                raise
            return f"failed ({exc})"
        frame.release()
        return why

    def _goes_on(self, source: Source, why: str) -> bool:
        """After ``source`` gave no frame: go on when another source was switched to meanwhile or
        a camera comes back (:meth:`_reconnect`); otherwise the capture ends, a live source's
        end reported in ``error``."""
        if source is not self._source or self._pending is not None:
            return True
        if self._reconnects(source):
            return self._reconnect(source, why)
        if source.live:
            self.error = f"{source.name} stopped giving frames"
            log.error("%s", self.error)
        return False

    def _hand_over(self, new: Source) -> bool:
        """Make ``new`` (the source opened again) pending; closed instead where :meth:`stop` or
        another switch came first. False once stopped."""
        with self._lock:
            if self._stop.is_set() or self._pending is not None:
                new.close()
            else:
                self._pending = new
        return not self._stop.is_set()

    def _park(self, source: Source) -> bool:
        """Close ``source`` and wait for :meth:`resume`, then open it again (the new source becomes
        pending: True; when that fails, reconnect as for an unplugged camera). False on stop."""
        source.close()   # safe twice: the loop closes it again when the new one takes over
        self.released = True
        self.releases += 1
        log.info("%s released", source.name)
        while self._release_asked.is_set() and self._pending is None and not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
        self.released = False
        if self._stop.is_set():
            return False
        if self._pending is not None:   # another source was picked meanwhile
            return True
        try:
            new = self._reopen()
        except Exception as exc:  # VcamError, or whatever the device raises
            return self._reconnect(source, f"could not be opened again ({exc})")
        going_on = self._hand_over(new)
        log.info("%s opened again", new.name)
        return going_on

    def _reconnect(self, source: Source, why: str) -> bool:
        """Report ``source`` unavailable, then open it again with back-off until that works (the
        new source becomes pending: True), another source is switched to (True), or stop (False)."""
        self.unavailable = True
        self.error = f"camera unavailable: {source.name} {why}; reconnecting"
        log.error("%s", self.error)
        delay, attempt = RECONNECT_FIRST, 0
        while not self._stop.wait(delay):
            if self._pending is not None:   # the user picked another source meanwhile
                return True
            attempt += 1
            try:
                new = self._reopen()
            except Exception as exc:  # VcamError, or whatever the device raises
                delay = min(delay * 2, RECONNECT_MAX)
                self.error = (f"camera unavailable: {source.name} {why}; reconnecting "
                              f"(try {attempt}: {exc}; next in {delay:g} s)")
                log.info("%s", self.error)
                continue
            going_on = self._hand_over(new)
            log.warning("%s is back after %d tries", new.name, attempt)
            return going_on
        return False

    def stop(self) -> None:
        """Stop the thread and close the source; safe to call twice."""
        self._stop.set()
        self._wake.set()
        self.mailbox.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with self._lock:
            for src in (self._source, self._pending):
                if src is not None:
                    src.close()
            self._pending = None
        self._reopen = None   # often a method of the pipeline that holds this capture
        self._pool.close()
