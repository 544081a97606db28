"""MediaPipe selfie segmentation (MobileNetV3-based), the models shipped in mediapipe 0.10.21.

``general``: 256x256 input, best quality. ``landscape``: 256x144 input, faster.
The frame is scaled to the model's input here, into a buffer kept between frames, so MediaPipe
itself resizes nothing and the matte comes back at model resolution (the matte stage scales it).
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Optional

import cv2
import numpy as np

from vcam.config import LANDSCAPE_MODEL, MATTING_MODELS, MODELS, SELFIE_MODEL
from vcam.errors import VcamError
from vcam.segment import Segmenter, choice
from vcam.system import native_logs, packages
from vcam.system.packages import MEDIAPIPE_WANTED as MEDIAPIPE
from vcam.system.resources import cache_dir

log = logging.getLogger(__name__)

INPUT_SIZES = {SELFIE_MODEL: (256, 256), LANDSCAPE_MODEL: (256, 144)}


def load_mediapipe():
    """Import MediaPipe's selfie segmentation (about half a second the first time in a process,
    mostly matplotlib, which mediapipe's package imports for its drawing helpers) and return it."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    # matplotlib (imported by mediapipe) keeps a font cache; in vcam's cache folder, not ~/.config.
    os.environ.setdefault("MPLCONFIGDIR", str(cache_dir() / "matplotlib"))
    try:
        from mediapipe.python.solutions import selfie_segmentation
    except (ImportError, OSError, MemoryError) as exc:
        raise packages.import_failure(exc, "mediapipe", install_hint(),
                                      reinstall=f"pip install --force-reinstall 'mediapipe=={MEDIAPIPE}'") from None
    return selfie_segmentation


def install_hint() -> str:
    """How to get the one mediapipe this backend works with (an optional extra of vcam)."""
    if sys.version_info >= (3, 13):
        return (f"mediapipe {MEDIAPIPE} has no wheel for Python {sys.version_info[0]}.{sys.version_info[1]}: "
                "use --backend onnx (the default: the same models), or a Python 3.10 to 3.12 environment")
    return (f"use --backend onnx (the default: the same models), or install it: pip install 'mediapipe=={MEDIAPIPE}' "
            f"(later versions lack these models)")


class MediaPipeSegmenter(Segmenter):
    """MediaPipe's own selfie segmentation graph (TFLite, on the CPU: ``provider`` stays ``"cpu"``)."""

    def __init__(self, model: str = SELFIE_MODEL) -> None:
        model = choice.named(model)   # auto: the selfie model on this backend
        if model in MATTING_MODELS:
            raise VcamError(f"{model} is not a MediaPipe model", f"it runs on the onnx backend: --backend onnx --model {model}")
        if model not in MODELS:
            raise VcamError(f"unknown MediaPipe model {model!r}", f"expected one of: {', '.join(MODELS)}")
        selfie_segmentation = load_mediapipe()
        self.name = f"mediapipe/{model}"
        self.input_size = self.output_size = INPUT_SIZES[model]
        w, h = self.output_size
        self._input = np.zeros((h, w, 3), np.uint8)
        with native_logs.native_stderr():  # TFLite and absl chatter on the first inference
            self._graph = selfie_segmentation.SelfieSegmentation(model_selection=0 if model == SELFIE_MODEL else 1)
            self._graph.process(self._input)
        self._warp_for: Optional[tuple[int, int]] = None
        self._warp = np.zeros((2, 3), np.float32)

    def segment(self, frame: np.ndarray) -> np.ndarray:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 frame (H, W, 3), got {frame.dtype} {frame.shape}")
        size = frame.shape[1::-1]
        w, h = self.output_size
        if size == self.output_size:
            small = frame
        else:
            if self._warp_for != size:
                self._warp[0, 0], self._warp[1, 1] = w / size[0], h / size[1]
                self._warp_for = size
            # The same sampling MediaPipe's own ImageToTensor does (a plain scale, bilinear
            # taps, no area averaging): the model was trained on it, so its masks match
            # MediaPipe's own, where an area average, smoother to the eye, makes them worse
            # (docs/models.md, "MediaPipe 0.10.21").
            small = cv2.warpAffine(frame, self._warp, self.output_size, dst=self._input, flags=cv2.INTER_LINEAR)
        return self._graph.process(small).segmentation_mask

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()
            self._graph = None
