"""What ``--model auto`` (the default) runs, chosen by measurement (docs/models.md, "Matting models").

* Pictures: MODNet, held to the selfie model's person (``vcam.segment.guided``), for pictures of
  at least ``MATTING_MIN_PIXELS``; the selfie model for smaller ones (where MODNet's boundary and
  alpha are worse).
* Videos: the same where ONNX Runtime has a GPU provider; on a CPU the selfie model, since MODNet
  there costs hundreds of milliseconds a 720p frame: a minute of video would take many minutes.
* Live: MODNet when ONNX Runtime runs it on a GPU within ``LIVE_BUDGET`` per 720p frame, else the
  selfie model: on a CPU MODNet costs about a hundred times as much, far over the budget.

This module is the rule; :mod:`vcam.segment.build` applies it. Everything here runs once, when a
model is built: never per frame.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Optional

import numpy as np

from vcam.config import AUTO, GPU_PROVIDERS, MATTING_MODEL, SELFIE_MODEL, SegmentSettings

MATTING_MIN_SIZE = (640, 480)
MATTING_MIN_PIXELS = MATTING_MIN_SIZE[0] * MATTING_MIN_SIZE[1]
LIVE_BUDGET = 0.020          # seconds per 1280x720 frame for MODNet live: 30 fps with room to composite
LIVE_TRIALS = 3              # timed frames, after one that warms the provider up

# The rule in words, for the CLI's help and the panel (one place, from the figures above).
RULE = {
    "files": f"MODNet for pictures of {MATTING_MIN_SIZE[0]}x{MATTING_MIN_SIZE[1]} or more, and for such videos on "
             f"a GPU; else {SELFIE_MODEL} (on a CPU MODNet costs about half a second a 720p video frame)",
    "live": f"MODNet on a GPU that runs it within {LIVE_BUDGET * 1000:.0f} ms a 720p frame, else {SELFIE_MODEL} "
            f"(always {SELFIE_MODEL} on a CPU)",
}


def named(model: str) -> str:
    """The model a backend builds for ``model``: ``auto`` outside the engine's choice is the
    selfie model (a segmenter built directly, a backend with no MODNet)."""
    return SELFIE_MODEL if model == AUTO else model


def for_file(settings: SegmentSettings, size: tuple[int, int], video: bool,
             available: tuple[str, ...] = ()) -> SegmentSettings:
    """The settings a file of ``size`` (width, height) is processed with; ``available``: the
    short names of the providers ONNX Runtime has (a video takes MODNet only on a GPU)."""
    if settings.model != AUTO:
        return settings
    matting = settings.backend == "onnx" and size[0] * size[1] >= MATTING_MIN_PIXELS
    if video and matting:
        matting = gpu_for(settings, available)
    return dataclasses.replace(settings, model=MATTING_MODEL if matting else SELFIE_MODEL)


def gpu_for(settings: SegmentSettings, available) -> bool:
    """Whether ``settings`` would run on a GPU provider among ``available``."""
    wanted = GPU_PROVIDERS if settings.provider == AUTO else (settings.provider,)
    return settings.backend == "onnx" and any(p in available for p in wanted if p in GPU_PROVIDERS)


def live_candidate(settings: SegmentSettings, available: list[str]) -> SegmentSettings:
    """The model to try live, given the short names of the providers ONNX Runtime has."""
    if settings.model != AUTO:
        return settings
    return dataclasses.replace(settings, model=MATTING_MODEL if gpu_for(settings, available) else SELFIE_MODEL)


def why_selfie(settings: SegmentSettings, available: list[str]) -> str:
    """Why :func:`live_candidate` gave the selfie model, for the log."""
    if settings.backend != "onnx":
        return f"the {settings.backend} backend has no MODNet"
    if settings.provider == "cpu":
        return "--provider cpu"
    return f"MODNet wants a GPU provider, and this onnxruntime has {', '.join(available) or 'none'}"


def fast_enough(provider: str, seconds: float) -> Optional[str]:
    """Why a live MODNet should not be kept (None: keep it), from where it runs and its time."""
    if provider not in GPU_PROVIDERS:
        return f"it would run on the {provider}"
    if seconds > LIVE_BUDGET:
        return f"it takes {seconds * 1000:.0f} ms per 720p frame on {provider} (at most {LIVE_BUDGET * 1000:.0f} ms keeps 30 fps)"
    return None


def time_live(segmenter) -> float:
    """Median seconds of ``segmenter`` on a 1280x720 frame, after one warm-up frame."""
    frame = np.full((720, 1280, 3), 128, np.uint8)
    segmenter.segment(frame)
    times = []
    for _ in range(LIVE_TRIALS):
        t0 = time.perf_counter()
        segmenter.segment(frame)
        times.append(time.perf_counter() - t0)
    segmenter.reset()   # the test frames leave no state behind
    return float(np.median(times))
