"""The work of one remove.bg request, in a worker's thread: the picture decoded within its limits,
scaled to the ``size`` asked for, cut out by vcam's :class:`~vcam.engine.Engine` (the models and
the clean edges and shadow of ``vcam process``), then placed (``roi``, ``crop``, ``scale``,
``position``), laid on a background and encoded.

A :class:`Cutter` belongs to one worker thread: it holds one engine per model, built when the
worker starts (the models are loaded once, never per request), and the face finder that
``type=auto`` asks.
"""
from __future__ import annotations

import io
import logging
import math
import zipfile
from dataclasses import dataclass, replace
from typing import Optional

import cv2
import numpy as np

from vcam.config import AUTO, PRODUCT_MODEL, EffectSettings, SegmentSettings, Settings
from vcam.engine import Engine
from vcam.errors import VcamError
from vcam.fileio import pictures
from vcam.scaling import cover_fit
from vcam.segment.build import FileModels
from vcam.segment.subject import SubjectFinder
from vcam.serve.errors import ApiError, bad, from_vcam
from vcam.serve.removebg import Length, Order
from vcam.system import memory

log = logging.getLogger(__name__)

SHADOW = 0.6              # add_shadow: the shadow's strength (vcam --shadow)
SHADOW_SOFTNESS = 0.7
SHADOW_ANGLE = 0.0        # from the front: a soft shadow under a product, as the case study had
FOREGROUND = 25           # alpha above this (of 255) is the subject, for its box
MIN_FOREGROUND = 0.001    # below this share of the picture, nothing was found: unknown_foreground
JPEG_QUALITY = 92


@dataclass(frozen=True)
class Limits:
    """What one request may ask of a worker: ``max_pixels`` of a picture (from its header,
    before decoding; also the most a result may have)."""
    max_pixels: int = 25_000_000


@dataclass
class Result:
    """An encoded result and what remove.bg's headers say of it."""
    data: bytes
    media_type: str
    width: int
    height: int
    kind: str                                    # person or product (X-Type)
    foreground: tuple[int, int, int, int]        # top, left, width, height (X-Foreground-*)


class Cutter:
    """One worker's engines (``threads`` CPU threads each for ONNX Runtime)."""

    def __init__(self, limits: Limits, *, threads: int = 0, provider: str = AUTO) -> None:
        self.limits = limits
        self._segment = SegmentSettings(threads=threads, provider=provider)
        self._models = FileModels(self._segment)
        self._effect = EffectSettings(effect="cutout", shadow=0.0, shadow_angle=SHADOW_ANGLE,
                                      shadow_softness=SHADOW_SOFTNESS)
        self._engines: dict[SegmentSettings, Engine] = {}
        self._faces = SubjectFinder()
        # every model a request can ask for, loaded now: person (small and large pictures), product
        for segment in {self._models.for_file((320, 240), False), self._models.for_file((1280, 960), False),
                        self._product()}:
            self._engine(segment)

    def _product(self) -> SegmentSettings:
        return replace(self._segment, model=PRODUCT_MODEL, guide=False, follow=False)

    def _engine(self, segment: SegmentSettings) -> Engine:
        engine = self._engines.get(segment)
        if engine is None:
            engine = self._engines[segment] = Engine(Settings(segment=segment, effect=self._effect))
        return engine

    def close(self) -> None:
        engines, self._engines = self._engines, {}
        for engine in engines.values():
            engine.close()

    def run(self, order: Order, image: bytes, background: Optional[bytes]) -> Result:
        """``order`` done on the picture ``image`` (bytes), over ``background`` (bytes) where given."""
        try:
            return self._run(order, image, background)
        except ApiError:
            raise
        except VcamError as exc:
            raise from_vcam(exc, "failed_to_process_image", "The image could not be processed") from None
        except Exception as exc:   # noqa: BLE001 - memory that ran out, in a library's words
            if memory.caused(exc):
                raise ApiError(503, "out_of_memory", "Not enough memory for this image",
                               str(memory.shortage("cut out the image", exc))) from None
            raise

    def _run(self, order: Order, image: bytes, background: Optional[bytes]) -> Result:
        rgb, own = _decode(image, "image_file", self.limits.max_pixels)
        rgb, own, scale = _fit(rgb, own, order.max_pixels or self.limits.max_pixels)
        h, w = rgb.shape[:2]
        roi = _roi(order.roi, w, h, scale)
        kind = order.type if order.type != "auto" else ("person" if self._faces.person(rgb) else "product")
        segment = self._product() if kind == "product" else self._models.for_file((w, h), False)
        engine = self._engine(segment)
        effect = replace(self._effect, shadow=SHADOW if order.add_shadow else 0.0)
        if engine.settings.effect != effect:
            engine.update(engine.settings.replace(effect=effect), (w, h))
        out = np.empty_like(rgb)
        alpha = engine.process(rgb, out, {}, photo=True).copy()
        if own is not None:   # what the picture's own alpha hides stays hidden
            alpha = cv2.multiply(alpha, own, scale=1 / 255)
        if roi is not None:
            x1, y1, x2, y2 = roi
            alpha[:y1] = 0
            alpha[y2:] = 0
            alpha[:, :x1] = 0
            alpha[:, x2:] = 0
        if np.count_nonzero(alpha > 127) < max(1, MIN_FOREGROUND * w * h):
            raise bad("unknown_foreground", "Could not identify foreground in image",
                      f"no {kind} was found" + (" (type=person: try type=product)" if kind == "person" else
                                                " (try another picture, or type=person)"))
        rgba = engine.compositor.cutout(out, alpha, np.empty((h, w, 4), np.uint8))
        subject = _box(alpha)
        rgba, alpha, subject = _place(order, rgba, alpha, subject)
        return _encode(order, rgba, alpha, subject, kind, background, self.limits.max_pixels)


def _decode(data: bytes, label: str, limit: int) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """A picture from a request, its size checked from its header before it is decoded."""
    try:
        return pictures.decode_image_alpha(data, label, limit=limit, known_only=True)
    except pictures.TooManyPixels as exc:
        raise ApiError(400, "resolution_too_high", "Image resolution too high", str(exc)) from None
    except pictures.UnknownPicture as exc:
        raise bad("invalid_file_type", "Invalid file type", str(exc)) from None
    except pictures.DamagedPicture as exc:
        raise bad("failed_to_read_image", "There was an error reading the image.", str(exc)) from None


def _fit(rgb: np.ndarray, own: Optional[np.ndarray], most: int):
    """The picture scaled down to at most ``most`` pixels (remove.bg's ``size``), and the scale."""
    h, w = rgb.shape[:2]
    if w * h <= most:
        return rgb, own, 1.0
    s = math.sqrt(most / (w * h))
    size = (max(1, int(w * s)), max(1, int(h * s)))
    rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    own = None if own is None else cv2.resize(own, size, interpolation=cv2.INTER_AREA)
    return rgb, own, size[0] / w


def _roi(roi: Optional[tuple[Length, ...]], w: int, h: int, scale: float) -> Optional[tuple[int, int, int, int]]:
    """remove.bg's ``roi`` in this picture's pixels (pixel values are the picture's as sent)."""
    if roi is None:
        return None
    x1, y1, x2, y2 = (r.value * (w if i % 2 == 0 else h) if r.relative else r.value * scale for i, r in enumerate(roi))
    if x2 > w + 0.5 or y2 > h + 0.5:
        raise bad("roi_exceeds_bounds", "ROI exceeds image bounds",
                  "The given roi parameter defines a region that exceeds the image bounds")
    box = (round(x1), round(y1), min(w, round(x2)), min(h, round(y2)))
    if box[2] <= box[0] or box[3] <= box[1]:
        raise bad("roi_region_empty", "ROI region is empty", "The given roi parameter defines an empty region")
    return box


def _box(alpha: np.ndarray) -> tuple[int, int, int, int]:
    """The subject's box (x, y, width, height): where the alpha is over ``FOREGROUND``."""
    return cv2.boundingRect((alpha > FOREGROUND).view(np.uint8))


def _place(order: Order, rgba: np.ndarray, alpha: np.ndarray, subject: tuple[int, int, int, int]):
    """``crop`` (to the subject and its shadow, with ``crop_margin``), then ``scale`` and
    ``position`` of that within the canvas: the RGBA, the subject's alpha and its box, moved alike."""
    if order.crop:
        x, y, bw, bh = _box(rgba[:, :, 3]) if order.add_shadow else subject
        top, right, bottom, left = (min(m.of(bh if i % 2 == 0 else bw), 0.5 * (bh if i % 2 == 0 else bw), 500.0)
                                    if m.relative else m.value for i, m in enumerate(order.crop_margin))
        x0, y0 = x - round(left), y - round(top)
        x1, y1 = x + bw + round(right), y + bh + round(bottom)
        rgba, alpha = _window(rgba, x0, y0, x1, y1), _window(alpha, x0, y0, x1, y1)
        subject = (subject[0] - x0, subject[1] - y0, subject[2], subject[3])
    if order.scale is None and order.position is None:
        return rgba, alpha, subject
    h, w = alpha.shape
    x, y, bw, bh = subject
    f = order.scale * min(w / bw, h / bh) if order.scale is not None else 1.0
    nw, nh = max(1, round(bw * f)), max(1, round(bh * f))
    if order.position is None:   # where it was: its centre kept
        nx, ny = round(x + bw / 2 - nw / 2), round(y + bh / 2 - nh / 2)
    else:
        nx, ny = round((w - nw) * order.position[0]), round((h - nh) * order.position[1])
    # the whole picture moved and scaled alike (the shadow with the subject), onto a clear canvas
    move = np.float32([[f, 0, nx - x * f], [0, f, ny - y * f]])
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR
    rgba = cv2.warpAffine(rgba, move, (w, h), flags=interp, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = cv2.warpAffine(alpha, move, (w, h), flags=interp, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return rgba, alpha, _box(alpha)


def _window(img: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """``img``[y0:y1, x0:x1], clear (zeros) where that reaches past its edges."""
    h, w = img.shape[:2]
    out = np.zeros((y1 - y0, x1 - x0) + img.shape[2:], img.dtype)
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = img[sy0:sy1, sx0:sx1]
    return out


def _over(rgba: np.ndarray, under: np.ndarray) -> np.ndarray:
    """``rgba`` laid over ``under`` (RGB or RGBA uint8, the same size): RGB, or RGBA where
    ``under`` has an alpha (a bg_color with opacity)."""
    a = rgba[:, :, 3:4].astype(np.float32) * np.float32(1 / 255)
    fg = rgba[:, :, :3].astype(np.float32)
    if under.shape[2] == 3:
        return cv2.convertScaleAbs(fg * a + under.astype(np.float32) * (1 - a))
    ub = under[:, :, 3:4].astype(np.float32) * np.float32(1 / 255)
    out_a = a + ub * (1 - a)
    colour = (fg * a + under[:, :, :3].astype(np.float32) * ub * (1 - a)) / np.maximum(out_a, np.float32(1e-6))
    return np.dstack([cv2.convertScaleAbs(colour), cv2.convertScaleAbs(out_a[:, :, 0] * 255)])


def _encode(order: Order, rgba: np.ndarray, alpha: np.ndarray, subject: tuple[int, int, int, int], kind: str,
            background: Optional[bytes], limit: int) -> Result:
    h, w = alpha.shape
    x, y, bw, bh = subject
    foreground = (y, x, bw, bh)
    if order.channels == "alpha":
        if order.format == "zip":
            return Result(_zip({"alpha.png": _png(alpha)}), "application/zip", w, h, kind, foreground)
        if order.format == "jpg":
            return Result(_jpg(alpha), "image/jpeg", w, h, kind, foreground)
        return Result(_png(alpha), "image/png", w, h, kind, foreground)
    picture = rgba
    if order.bg_color is not None:
        picture = _over(rgba, np.broadcast_to(np.uint8(order.bg_color), (h, w, 4)).copy())
        if picture.shape[2] == 4 and order.bg_color[3] == 255:
            picture = picture[:, :, :3]
    elif background is not None:
        bg, _ = _decode(background, "bg_image_file", limit)
        picture = _over(rgba, bg if bg.shape[:2] == (h, w) else cover_fit(bg, w, h))
    clear = picture.shape[2] == 4 and bool((picture[:, :, 3] < 255).any())
    fmt = order.format if order.format != "auto" else ("png" if clear else "jpg")
    if fmt == "zip":
        colour = np.ascontiguousarray(picture[:, :, :3])
        return Result(_zip({"color.jpg": _jpg(colour), "alpha.png": _png(np.ascontiguousarray(picture[:, :, 3]) if
                                                                           picture.shape[2] == 4 else
                                                                           np.full((h, w), 255, np.uint8))}),
                      "application/zip", w, h, kind, foreground)
    if fmt == "jpg":
        if picture.shape[2] == 4:   # on white, as remove.bg's JPEG is
            picture = _over(picture, np.full((h, w, 3), 255, np.uint8))
        return Result(_jpg(picture), "image/jpeg", w, h, kind, foreground)
    return Result(_png(picture), "image/png", w, h, kind, foreground)


def _png(img: np.ndarray) -> bytes:
    return pictures.encode_image("result.png", img).tobytes()


def _jpg(img: np.ndarray) -> bytes:
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ApiError(500, "internal_error", "The result could not be encoded as JPEG")
    return data.tobytes()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:   # PNG and JPEG are compressed already
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()
