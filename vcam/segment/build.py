"""Settings in, a ready segmenter out: the one place that chooses the model and puts it together.

:func:`build` gives the live segmenter: ``--model auto`` chosen (:mod:`vcam.segment.choice` says
by which rule; a GPU's MODNet is timed before it is kept), a selfie model inside a
:class:`~vcam.segment.follow.FollowCrop` when it follows the person, a matting model held to the
selfie model's person by :class:`~vcam.segment.guided.Guided`, and the CPU where a GPU did not
start. :class:`FileModels` gives the settings a picture or a video is processed with.
Everything here runs when a model is built, never per frame.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Optional

from vcam import segment
from vcam.config import AUTO, GPU_PROVIDERS, MATTING_MODEL, SELFIE_MODEL, U2NET_TYPE, SegmentSettings
from vcam.segment import Segmenter, choice
from vcam.segment.follow import FollowCrop
from vcam.segment.guided import Guided

log = logging.getLogger(__name__)


def providers(settings: SegmentSettings) -> tuple[str, ...]:
    """The short names of the providers ONNX Runtime has, where ``settings`` could use a GPU
    (empty otherwise, without importing onnxruntime)."""
    if settings.backend != "onnx" or settings.provider == "cpu":
        return ()
    from vcam.segment.onnx import available_providers  # onnxruntime only when used

    return tuple(available_providers())


def build(settings: SegmentSettings) -> Segmenter:
    """The segmenter ``settings`` names, assembled for live video (``auto`` chosen here; files
    choose theirs with :class:`FileModels` first). Raises :class:`~vcam.VcamError` with the fix."""
    if settings.model == AUTO:
        return _live_auto(settings)
    seg = segment.create(settings)
    if seg.crop_ok:
        return FollowCrop(seg) if settings.follow else seg
    if not settings.guide or seg.model_type == U2NET_TYPE:   # a product is no person to hold it to
        return seg
    try:
        # the guide runs where the matting model got to run (a GPU that failed is not tried twice)
        selfie = segment.create(dataclasses.replace(settings, backend="onnx", model=SELFIE_MODEL, model_type="auto",
                                                    provider=seg.provider))
    except BaseException:
        seg.close()
        raise
    return Guided(seg, FollowCrop(selfie) if settings.follow else selfie)


def _live_auto(settings: SegmentSettings) -> Segmenter:
    """MODNet where a GPU runs it fast enough for 30 fps, else the selfie model."""
    available = list(providers(settings))
    candidate = choice.live_candidate(settings, available)
    seg = build(candidate)
    if candidate.model == SELFIE_MODEL:
        log.info("model auto: the selfie model live: %s", choice.why_selfie(settings, available))
        return seg
    provider = seg.provider
    seconds = choice.time_live(seg) if provider in GPU_PROVIDERS else 0.0
    why = choice.fast_enough(provider, seconds)
    if why is None:
        log.info("model auto: MODNet on %s, %.1f ms per 720p frame", provider, seconds * 1000)
        return seg
    seg.close()
    log.info("model auto: the selfie model, not MODNet: %s", why)
    # where the GPU did not start, the selfie model goes straight to the CPU (no second warning)
    return build(dataclasses.replace(settings, model=SELFIE_MODEL,
                                     provider=settings.provider if provider in GPU_PROVIDERS else "cpu"))


class FileModels:
    """The model each file is processed with, for ``settings`` (``auto``: by the file's size, and
    for a video by whether ONNX Runtime has a GPU, asked once)."""

    def __init__(self, settings: SegmentSettings) -> None:
        self.settings = settings
        self._available: Optional[tuple[str, ...]] = None

    def for_file(self, size: tuple[int, int], video: bool) -> SegmentSettings:
        """The settings for a file of ``size`` (width, height)."""
        return choice.for_file(self.settings, size, video, self._providers() if video else ())

    def explain(self, chosen: SegmentSettings, video: bool) -> None:
        """Log what ``auto`` chose for a video (once per model: when its engine is built)."""
        if self.settings.model == AUTO and video:
            log.info("model auto: %s for this video%s", chosen.model, "" if chosen.model == MATTING_MODEL else
                     " (MODNet, half a second a 720p frame on a CPU, is --model modnet)")

    def _providers(self) -> tuple[str, ...]:
        if self._available is None:
            self._available = providers(self.settings) if self.settings.model == AUTO else ()
        return self._available
