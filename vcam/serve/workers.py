"""A bounded pool of worker threads, each with its own :class:`~vcam.serve.cutout.Cutter` (its
engines and models, loaded once when the pool starts), and a limit on the requests waiting for
one: a request beyond ``workers + queue`` is refused at once (429), never queued without end.

Threads suit the work: ONNX Runtime, OpenCV and the Numba kernels release the GIL while they run.
A job that waited past its deadline is dropped before it starts, since its client has been told
it timed out. :meth:`Pool.close` lets the jobs in hand finish, then closes every worker.
"""
from __future__ import annotations

import collections
import logging
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable, Optional

from vcam.errors import VcamError
from vcam.serve.errors import busy

log = logging.getLogger(__name__)


class Busy(Exception):
    """No room: ``workers + queue`` requests are in hand."""


class Pool:
    """``submit(job, deadline)`` runs ``job(worker)`` on one of ``workers`` threads, each with the
    worker ``factory()`` made; raises the :class:`~vcam.serve.errors.ApiError` of a 429 when
    ``workers + queue`` jobs are already in hand."""

    def __init__(self, factory: Callable[[], Any], *, workers: int, queue: int) -> None:
        if workers < 1 or queue < 0:
            raise VcamError(f"a pool of {workers} workers and a queue of {queue}",
                            "give at least 1 worker and a queue of 0 or more")
        self.workers, self.queue = workers, queue
        self._jobs: collections.deque = collections.deque()
        self._ready = threading.Condition()
        self._in_hand = 0
        self._closing = False
        self._started: list[Exception] = []
        self._up = threading.Barrier(workers + 1)
        self._threads = [threading.Thread(target=self._work, args=(factory,), name=f"vcam-serve-{i}", daemon=True)
                         for i in range(workers)]
        for t in self._threads:
            t.start()
        self._up.wait()   # every worker built (its models loaded) or failed
        if self._started:
            self.close()
            raise self._started[0]

    @property
    def in_hand(self) -> int:
        """Jobs running or waiting."""
        return self._in_hand

    def submit(self, job: Callable[[Any], Any], deadline: Optional[float] = None) -> Future:
        future: Future = Future()
        with self._ready:
            if self._closing:
                raise VcamError("the server is shutting down", "send the request again once it has restarted")
            if self._in_hand >= self.workers + self.queue:
                raise busy(self._in_hand)
            self._in_hand += 1
            self._jobs.append((job, future, deadline))
            self._ready.notify()
        return future

    def _work(self, factory: Callable[[], Any]) -> None:
        try:
            worker = factory()
        except Exception as exc:   # noqa: BLE001 - said by the pool's constructor
            self._started.append(exc)
            self._up.wait()
            return
        self._up.wait()
        try:
            while True:
                with self._ready:
                    while not self._jobs and not self._closing:
                        self._ready.wait()
                    if not self._jobs:   # closing, and nothing left to do
                        return
                    job, future, deadline = self._jobs.popleft()
                try:
                    if deadline is not None and time.monotonic() > deadline:
                        future.cancel()   # its client was told it timed out
                    elif future.set_running_or_notify_cancel():
                        try:
                            future.set_result(job(worker))
                        except BaseException as exc:   # noqa: BLE001 - handed to the request
                            future.set_exception(exc)
                finally:
                    with self._ready:
                        self._in_hand -= 1
        finally:
            close = getattr(worker, "close", None)
            if close is not None:
                close()

    def close(self, timeout: Optional[float] = None) -> None:
        """Finish the jobs in hand, then stop the workers; safe twice."""
        with self._ready:
            self._closing = True
            self._ready.notify_all()
        end = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            t.join(None if end is None else max(0.0, end - time.monotonic()))
