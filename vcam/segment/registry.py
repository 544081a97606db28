"""Segmentation backends by name: a backend registers a factory with :func:`register`;
:func:`create` builds one by name. :func:`load` imports a backend's libraries ahead of time, so a
later live switch to it builds a model and nothing more (importing mediapipe is half a second of
interpreter work that would compete with the output thread for the GIL). The built-in backends,
``onnx`` (the default) and ``mediapipe``, are registered here.
"""
from __future__ import annotations

import logging
from typing import Callable, Optional

from vcam.config import SegmentSettings
from vcam.errors import VcamError
from vcam.segment.base import Segmenter

log = logging.getLogger(__name__)


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


def unregister(name: str) -> None:
    """Take backend ``name`` out of the registry (a test's or a plugin's own); safe when absent."""
    _BACKENDS.pop(name, None)
    _LOADERS.pop(name, None)


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
    seg = factory(settings)
    if not isinstance(seg, Segmenter):
        raise TypeError(f"segmentation backend {settings.backend!r} gave a {type(seg).__name__}, "
                        "not a vcam.segment.Segmenter: derive the backend's class from it")
    return seg


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
    from vcam.segment.onnx import import_ort

    import_ort()   # loaded once, cached


register("mediapipe", _mediapipe, load=_load_mediapipe)
register("onnx", _onnx, load=_load_onnx)
