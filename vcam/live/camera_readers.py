"""Who reads the virtual camera (Linux): processes other than this one that hold its device open,
found from the ``/proc/PID/fd`` links, and a light thread that watches for them.

Used by the on-demand option (``OutputSettings.on_demand``): the webcam is released while no app
reads the virtual camera and opened again when one starts. Processes whose descriptors cannot be
read (other users') are skipped: an app of another user is not seen.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Optional

from vcam.live.mailbox import run_thread

log = logging.getLogger(__name__)

PROC = Path("/proc")
POLL = 1.0    # seconds between looks
GRACE = 5.0   # seconds with no reader before the camera is released


def readers(device: Path, *, proc: Path = PROC, exclude: Iterable[int] = ()) -> list[int]:
    """The ids of the processes, other than this one and ``exclude``, that hold ``device`` open."""
    try:
        target = os.stat(device)
    except OSError:
        return []
    skip = {os.getpid(), *exclude}
    found = []
    try:
        entries = os.scandir(proc)
    except OSError:
        return []
    with entries:
        for entry in entries:
            if not entry.name.isdigit() or int(entry.name) in skip:
                continue
            if _holds(Path(entry.path) / "fd", target):
                found.append(int(entry.name))
    return found


def _holds(fds: Path, target: os.stat_result) -> bool:
    try:
        links = os.scandir(fds)
    except OSError:   # gone, or another user's
        return False
    with links:
        for link in links:
            try:
                st = os.stat(link.path)   # follows the link: the open file itself
            except OSError:
                continue
            if st.st_ino == target.st_ino and st.st_dev == target.st_dev:
                return True
    return False


class ReaderWatch:
    """Looks every ``poll`` seconds for processes that hold ``device`` open; ``active`` turns False
    once none has been seen for ``grace`` seconds (counted from :meth:`start` at first) and True
    as soon as one is seen, calling ``on_change(active)`` each time it turns. ``close()`` is safe
    twice."""

    def __init__(self, device: Path, on_change: Callable[[bool], None], *, poll: float = POLL,
                 grace: float = GRACE, proc: Path = PROC) -> None:
        self.device = Path(device)
        self.on_change = on_change
        self.poll = poll
        self.grace = grace
        self.proc = proc
        self.active = True
        self.readers: list[int] = []
        self.looks = 0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> "ReaderWatch":
        self._thread = run_thread("readers", self._run)
        return self

    def _run(self) -> None:
        last_seen = time.monotonic()
        while not self._stop.wait(self.poll):
            try:
                self.readers = readers(self.device, proc=self.proc)
            except Exception:  # noqa: BLE001 - never take the pipeline down: keep the camera on
                log.exception("cannot look for readers of %s", self.device)
                self.readers = []
                last_seen = time.monotonic()
            self.looks += 1
            now = time.monotonic()
            if self.readers:
                last_seen = now
            active = bool(self.readers) or now - last_seen < self.grace
            if active != self.active:
                self.active = active
                log.info("%s", f"an app reads {self.device}: camera on" if active
                         else f"no app has read {self.device} for {self.grace:g} s: camera released")
                try:
                    self.on_change(active)
                except Exception:  # noqa: BLE001
                    log.exception("on-demand change failed")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None
