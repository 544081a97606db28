"""Person segmenters behind one interface and a registry of backends by name.

A :class:`Segmenter` takes an RGB uint8 frame of any size and returns a float32 matte in [0, 1]
at the model's own resolution (``output_size``); the matte stage scales it to the frame.
Backends register a factory with :func:`register`; :func:`create` builds one by name.
A segmenter that carries state from frame to frame (a recurrent model) also has ``reset()``.
"""
from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from vcam.config import SegmentSettings
from vcam.errors import VcamError


class Segmenter(Protocol):
    name: str
    output_size: tuple[int, int]   # (width, height) of the matte segment() returns

    def segment(self, frame: np.ndarray) -> np.ndarray:
        """RGB uint8 (H, W, 3) -> float32 matte (output height, output width) in [0, 1]."""

    def close(self) -> None: ...


_BACKENDS: dict[str, Callable[[SegmentSettings], Segmenter]] = {}


def register(name: str, factory: Callable[[SegmentSettings], Segmenter]) -> None:
    """Make a backend available by ``name``; a later registration replaces an earlier one."""
    _BACKENDS[name] = factory


def backends() -> list[str]:
    return list(_BACKENDS)


def create(settings: SegmentSettings) -> Segmenter:
    """Build the segmenter ``settings.backend`` names, or raise one :class:`VcamError`."""
    factory = _BACKENDS.get(settings.backend)
    if factory is None:
        raise VcamError(f"unknown segmentation backend {settings.backend!r}",
                        f"expected one of: {', '.join(_BACKENDS)}")
    return factory(settings)


def _mediapipe(settings: SegmentSettings) -> Segmenter:
    from vcam.segment.mediapipe import MediaPipeSegmenter  # mediapipe is slow to import: only when used

    return MediaPipeSegmenter(settings.model)


def _onnx(settings: SegmentSettings) -> Segmenter:
    from vcam.segment.onnx import OnnxSegmenter  # onnxruntime only when used

    return OnnxSegmenter(settings)


register("mediapipe", _mediapipe)
register("onnx", _onnx)
