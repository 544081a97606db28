"""Numba, in one place: the options every per-pixel kernel is compiled with, and the warm-up that
compiles (or loads from the on-disk cache) every registered kernel before the first frame.

A module with kernels compiles them with ``@njit(**JIT)`` and registers each with
:func:`register` when it is imported, with a sample call on tiny arrays; :func:`warm_up` runs the
samples of every kernel registered so far.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Optional

log = logging.getLogger(__name__)

JIT = dict(cache=True, nogil=True, fastmath=True, boundscheck=False)   # cached on disk; no GIL; no bounds checks

_KERNELS: list[tuple[Callable, Callable[[], object]]] = []
_warming = threading.Lock()
_warmed: set[Callable[[], object]] = set()   # the samples run: their kernels are ready


def register(kernel: Callable, sample: Callable[[], object]) -> None:
    """A Numba kernel, warmed up by :func:`warm_up` with ``sample`` (one call on tiny arrays;
    kernels that run together may share one, which runs once). A module registers its kernels
    when imported; registering a kernel twice keeps the first."""
    if all(k is not kernel for k, _ in _KERNELS):
        _KERNELS.append((kernel, sample))


def ready() -> bool:
    """Whether every kernel registered so far has been warmed up in this process (a pipeline
    started again need not wait for them)."""
    return all(sample in _warmed for _, sample in _KERNELS)


def registered() -> list[Callable]:
    """The kernels registered so far, in order."""
    return [k for k, _ in _KERNELS]


def warm_up(stop: Optional[threading.Event] = None) -> None:
    """Compile (or load from the on-disk cache) every registered kernel before the first frame.
    Loading takes about a second; compiling, on a first run or after an upgrade, tens of
    seconds: when numba compiles (a kernel not found in its cache), the user is told what is
    going on, and only then (a slow load on a busy machine is no first run, nor is a later call
    in a process that compiled them, such as the panel's restart). With ``stop`` set, it returns
    between two kernels (a process must not end while one compiles on another thread)."""
    with _warming:   # one warm-up at a time (the panel's pipeline may restart while one runs)
        start = time.perf_counter()
        told = False
        before = _compiled()
        for run in dict.fromkeys(sample for _, sample in _KERNELS):   # a sample shared by kernels runs once
            if run in _warmed:
                continue
            if stop is not None and stop.is_set():   # the pipeline closing: what is left, another time
                return
            run()
            _warmed.add(run)
            if not told and _compiled() > before:
                told = True
                log.warning("preparing the image kernels: the first run compiles them once (seconds to a minute); "
                            "later runs load them from the cache")
        if told:
            log.warning("image kernels ready in %.0f s", time.perf_counter() - start)


def _compiled() -> int:
    """How many kernels numba has compiled in this process rather than load from its cache."""
    return sum(sum(k.stats.cache_misses.values()) for k, _ in _KERNELS)
