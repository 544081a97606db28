"""Person segmenters behind one interface and a registry of backends by name.

A :class:`Segmenter` takes an RGB uint8 frame of any size and returns a float32 matte in [0, 1]
at the model's own resolution (``output_size``); the matte stage scales it to the frame.
Backends register a factory with :func:`register`; :func:`create` builds one by name.
:func:`load` imports a backend's libraries ahead of time, so a later live switch to it builds a
model and nothing more (importing mediapipe is half a second of interpreter work that would
compete with the output thread for the GIL).
A segmenter that carries state from frame to frame (a recurrent model) also has ``reset()``.
"""
from __future__ import annotations

import logging
from typing import Callable, Optional, Protocol

import numpy as np

from vcam.config import SegmentSettings
from vcam.errors import VcamError

log = logging.getLogger(__name__)


class Segmenter(Protocol):
    name: str
    output_size: tuple[int, int]   # (width, height) of the matte segment() returns

    def segment(self, frame: np.ndarray) -> np.ndarray:
        """RGB uint8 (H, W, 3) -> float32 matte (output height, output width) in [0, 1]."""

    def close(self) -> None: ...


_BACKENDS: dict[str, Callable[[SegmentSettings], Segmenter]] = {}
_LOADERS: dict[str, Callable[[], None]] = {}


def register(name: str, factory: Callable[[SegmentSettings], Segmenter], *,
             load: Optional[Callable[[], None]] = None) -> None:
    """Make a backend available by ``name``; a later registration replaces an earlier one.
    ``load`` imports what the backend needs (raising :class:`VcamError` when it cannot)."""
    _BACKENDS[name] = factory
    if load is None:
        _LOADERS.pop(name, None)
    else:
        _LOADERS[name] = load


def load(name: str) -> Optional[str]:
    """Import what backend ``name`` needs now (once per process; later calls cost nothing).
    Returns why it cannot be loaded, or None; :func:`create` raises that reason in full later."""
    loader = _LOADERS.get(name)
    if name not in _BACKENDS:
        return f"unknown segmentation backend {name!r}"
    if loader is None:
        return None
    try:
        loader()
    except Exception as exc:  # noqa: BLE001 - a broken install: told when the backend is chosen
        log.debug("cannot load segmentation backend %s: %s", name, exc)
        return str(exc)
    return None


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


def _load_mediapipe() -> None:
    from vcam.segment.mediapipe import load_mediapipe

    load_mediapipe()


def _onnx(settings: SegmentSettings) -> Segmenter:
    from vcam.segment.onnx import OnnxSegmenter  # onnxruntime only when used

    return OnnxSegmenter(settings)


def _load_onnx() -> None:
    import onnxruntime  # noqa: F401 - imported for its side effect: loaded once, cached

    import vcam.segment.onnx  # noqa: F401


register("mediapipe", _mediapipe, load=_load_mediapipe)
register("onnx", _onnx, load=_load_onnx)
