"""Person segmenters behind one interface and a registry of backends by name.

Every backend derives from :class:`Segmenter`, which says what a segmenter must do and gives the
defaults for what it may leave out. Backends register a factory with :func:`register`;
:func:`create` builds one by name. :func:`load` imports a backend's libraries ahead of time, so a
later live switch to it builds a model and nothing more (importing mediapipe is half a second of
interpreter work that would compete with the output thread for the GIL).
"""
from __future__ import annotations

import logging
from typing import Callable, Optional

import numpy as np

from vcam.config import SELFIE_TYPE, SegmentSettings
from vcam.errors import VcamError

log = logging.getLogger(__name__)

class Segmenter:
    """A person segmenter: an RGB uint8 frame of any size in, a float32 matte in [0, 1] out.

    A backend sets in its ``__init__``:

    - ``name``: what the log, the stats and the panel show (``"onnx/general cpu"``);
    - ``output_size``: (width, height) of the matte :meth:`segment` returns (the last one; before
      the first frame, what it will be). The matte stage scales it to the frame.

    and may set, where the default is not true of it:

    - ``input_size``: (width, height) the model is fed at, where it takes one fixed size (a selfie
      model); None where it takes the frame at any size. :class:`vcam.segment.framing.Framer`
      crops to it.
    - ``provider``: where the model runs, as an ONNX Runtime provider's short name (``"cpu"``,
      ``"cuda"``...): ``"cpu"``, which is also what a backend outside ONNX Runtime says.
    - ``model_type``: ``"selfie"`` (a segmentation, good on a crop around the person), or a matting
      model's type (``"modnet"``, ``"rvm"``), which sees the whole frame. ``crop_ok`` follows it.

    Methods: :meth:`segment` (required) raises ValueError for a frame that is not RGB uint8
    (H, W, 3); :meth:`segment_photo`, :meth:`reset` and :meth:`close` have defaults. A backend
    that cannot start raises :class:`VcamError` from ``__init__``, with the fix.
    """

    name: str = "segmenter"
    output_size: tuple[int, int] = (0, 0)
    input_size: Optional[tuple[int, int]] = None
    provider: str = "cpu"
    model_type: str = SELFIE_TYPE

    @property
    def crop_ok(self) -> bool:
        """Whether a crop that follows the person may be segmented instead of the whole frame."""
        return self.model_type == SELFIE_TYPE

    def segment(self, frame: np.ndarray) -> np.ndarray:
        """RGB uint8 (H, W, 3) -> float32 matte (output height, output width) in [0, 1]."""
        raise NotImplementedError

    def segment_photo(self, frame: np.ndarray) -> np.ndarray:
        """One picture unrelated to any other, where the real-time budget does not apply: the
        same as :meth:`segment` unless a backend can do better."""
        return self.segment(frame)

    def reset(self) -> None:
        """Forget what earlier frames left behind (a recurrent model's state, a crop's place):
        the next frame is unrelated to the last. Nothing by default."""

    def close(self) -> None:
        """Release the model; safe twice. Nothing by default."""


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
    import onnxruntime  # noqa: F401 - imported for its side effect: loaded once, cached

    import vcam.segment.onnx  # noqa: F401


register("mediapipe", _mediapipe, load=_load_mediapipe)
register("onnx", _onnx, load=_load_onnx)
