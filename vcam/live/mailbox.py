"""Hand-offs between threads: one waiting frame at most, newest wins, buffers recycled.

A producer takes a :class:`Frame` from a :class:`FramePool`, fills it, and ``put``s it in a
:class:`Mailbox`. If a frame was still waiting there, that older frame is dropped (back to the
pool), never the new one. The consumer ``get``s the newest frame and, when done with it,
``release``s it to the pool. A pool needs one buffer per place a frame can be: three for a
plain hand-off (one being written, one waiting, one being read), four before the output stage,
which also keeps the last frame it sent to send again.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np


@dataclass(eq=False)
class Frame:
    image: np.ndarray
    seq: int = 0
    generation: int = 0             # bumped when the source changes: temporal state resets
    t_capture: float = 0.0          # time.perf_counter() when the source delivered it
    times: dict = field(default_factory=dict)  # stage name -> seconds spent on this frame
    pool: Optional["FramePool"] = None

    def release(self) -> None:
        if self.pool is not None:
            self.pool.release(self)


class FramePool:
    """Preallocated frames of one shape; grows (and says so in ``grown``) only if misused."""

    def __init__(self, shape: tuple[int, ...], count: int = 3) -> None:
        self.shape = shape
        self._lock = threading.Lock()
        self._free = [Frame(np.zeros(shape, np.uint8), pool=self) for _ in range(count)]
        self._closed = False
        self.grown = 0

    def acquire(self) -> Frame:
        with self._lock:
            if self._free:
                frame = self._free.pop()
                frame.times = {}
                return frame
            self.grown += 1
            pool = None if self._closed else self
        return Frame(np.zeros(self.shape, np.uint8), pool=pool)

    def release(self, frame: Frame) -> None:
        with self._lock:
            if self._closed:
                frame.pool = None
            elif frame not in self._free:
                self._free.append(frame)

    def close(self) -> None:
        """Let go of the buffers: frames and pool refer to each other, so without this they
        would wait for Python's cycle collector. Frames released later are dropped. Safe twice."""
        with self._lock:
            self._closed = True
            free, self._free = self._free, []
        for frame in free:
            frame.pool = None


class Mailbox:
    """A one-slot hand-off between two threads: newest wins, or, with ``put(wait=True)`` (files
    processed as fast as they can be, where no frame may be lost), the producer waits its turn."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Optional[Frame] = None
        self._closed = False
        self.put_count = 0
        self.dropped = 0

    def put(self, item: Frame, *, wait: bool = False) -> None:
        with self._cond:
            if wait:
                self._cond.wait_for(lambda: self._item is None or self._closed)
            if self._closed:   # the consumer has gone: the frame goes straight back
                old = item
            else:
                old, self._item = self._item, item
            self.put_count += 1
            if old is not None:
                self.dropped += 1
            self._cond.notify_all()
        if old is not None:
            old.release()

    def get(self, timeout: Optional[float] = None) -> Optional[Frame]:
        """The newest frame, waiting up to ``timeout`` for one; None on timeout or when closed."""
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait_for(lambda: self._item is not None or self._closed, timeout)
            item, self._item = self._item, None
            if item is not None:
                self._cond.notify_all()   # a waiting producer may go on
            return item

    def close(self, *, drop: bool = True) -> None:
        """Wake every waiter; nothing more can be put. The waiting frame, if any, goes back to
        its pool, or with ``drop=False`` (the producer has ended) stays to be taken."""
        with self._cond:
            self._closed = True
            item = None
            if drop:
                item, self._item = self._item, None
            self._cond.notify_all()
        if item is not None:
            item.release()

    @property
    def closed(self) -> bool:
        return self._closed


def run_thread(name: str, target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, name=f"vcam-{name}", daemon=True)
    thread.start()
    return thread
