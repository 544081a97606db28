"""Reading and writing picture files: any depth or channel count in, RGB uint8 out; written
atomically (:mod:`vcam.fileio.atomic`); a picture's size read from its header before it is decoded.

OpenCV is never given a file name it cannot take: its Python binding crashes the process on a
name that is not UTF-8 (a str holding surrogate escapes). Pictures are read by Python and decoded
from memory; a video (:mod:`vcam.fileio.video_reader`) is opened as /proc/self/fd/N where its name is not UTF-8.
"""
from __future__ import annotations

import functools
import io
import logging
import mmap
import os
import struct
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from vcam.errors import VcamError
from vcam.fileio import user_paths
from vcam.fileio.atomic import write_file
from vcam.fileio.file_names import opencv_name
from vcam.system import memory, native_logs
from vcam.system.resources import IMAGE_SUFFIXES

log = logging.getLogger(__name__)

MAX_PIXELS = 64_000_000


class TooManyPixels(VcamError):
    """A picture over the pixel limit, refused from its header before it is decoded."""


class DamagedPicture(VcamError):
    """A picture of a known type whose header or data is cut short or damaged."""


class UnknownPicture(VcamError):
    """Bytes that are no picture of a type vcam reads."""


def _to_uint8(img: np.ndarray) -> np.ndarray:
    """16-bit by its high byte; floats taken as 0..1 and clipped; 8-bit as it is."""
    if img.dtype == np.uint16:
        return (img >> 8).astype(np.uint8)
    if img.dtype != np.uint8:
        return np.clip(img.astype(np.float32) * (255.0 if img.dtype.kind == "f" else 1.0), 0, 255).astype(np.uint8)
    return img


def to_rgb8(img: np.ndarray) -> np.ndarray:
    """A decoded OpenCV image (grey, BGR or BGRA; 8, 16-bit or float) -> RGB uint8. Floats are
    taken as 0..1 and clipped; other shapes raise ValueError."""
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (1, 3, 4)) or img.size == 0:
        raise ValueError(f"expected a grey, BGR or BGRA picture, got shape {img.shape}")
    img = _to_uint8(img)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    if img.shape[2] == 1:
        return cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def check_file(path: Path, what: str) -> Path:
    """``path`` when it is a regular, non-empty, readable file (see :func:`vcam.fileio.user_paths.input_file`)."""
    return user_paths.input_file(path, what)


class _Truncated(Exception):
    """The header ends before it says what it must."""


def _read_exact(f, n: int) -> bytes:
    data = f.read(n)
    if len(data) < n:
        raise _Truncated
    return data


def _png_size(f) -> tuple[int, int]:
    f.seek(8)
    length, kind = struct.unpack(">I4s", _read_exact(f, 8))
    if kind != b"IHDR" or length < 8:
        raise _Truncated
    return struct.unpack(">II", _read_exact(f, 8))


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(f) -> tuple[int, int]:
    """Walk the marker segments to the first SOFn; the picture must then reach its EOI marker
    (FF D9 cannot occur in the coded data, so a cut file has none after the scan starts)."""
    f.seek(2)
    size = None
    while True:
        if _read_exact(f, 1) != b"\xff":
            raise _Truncated
        marker = _read_exact(f, 1)[0]
        while marker == 0xFF:   # fill bytes
            marker = _read_exact(f, 1)[0]
        if marker in (0x01, *range(0xD0, 0xD8)):   # segments without a length
            continue
        if marker == 0xD9:
            raise _Truncated
        (length,) = struct.unpack(">H", _read_exact(f, 2))
        if length < 2:
            raise _Truncated
        if marker in _JPEG_SOF:
            _precision, height, width = struct.unpack(">BHH", _read_exact(f, 5))
            size = (width, height)
            f.seek(length - 7, os.SEEK_CUR)
        elif marker == 0xDA:   # start of scan: the coded data follows
            if size is None:
                raise _Truncated
            if not _holds(f, b"\xff\xd9", f.tell() + length - 2):
                raise _Truncated
            return size
        else:
            f.seek(length - 2, os.SEEK_CUR)


def _holds(f, needle: bytes, start: int) -> bool:
    """Whether ``needle`` is in the file or the bytes of ``f`` (a file, or an ``io.BytesIO``) at or after ``start``."""
    if isinstance(f, io.BytesIO):
        return f.getvalue().find(needle, start) >= 0
    with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        return m.find(needle, start) >= 0


def _bmp_size(f) -> tuple[int, int]:
    f.seek(14)
    (header,) = struct.unpack("<I", _read_exact(f, 4))
    if header == 12:   # OS/2 BITMAPCOREHEADER
        return struct.unpack("<HH", _read_exact(f, 4))
    width, height = struct.unpack("<ii", _read_exact(f, 8))
    return width, abs(height)   # a negative height is a top-down picture


def _webp_size(f) -> tuple[int, int]:
    f.seek(12)
    kind = _read_exact(f, 4)
    f.seek(20)
    body = _read_exact(f, 10)
    if kind == b"VP8X":
        w, h = int.from_bytes(body[4:7], "little"), int.from_bytes(body[7:10], "little")
        return w + 1, h + 1
    if kind == b"VP8L":
        bits = int.from_bytes(body[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8 ":
        w, h = struct.unpack("<HH", body[6:10])
        return w & 0x3FFF, h & 0x3FFF
    raise _Truncated


def _tiff_size(f) -> tuple[int, int]:
    f.seek(0)
    order = "<" if _read_exact(f, 2) == b"II" else ">"
    f.seek(4)
    (offset,) = struct.unpack(order + "I", _read_exact(f, 4))
    f.seek(offset)
    (count,) = struct.unpack(order + "H", _read_exact(f, 2))
    found = {}
    for _ in range(min(count, 4096)):
        tag, kind, _n, raw = struct.unpack(order + "HHI4s", _read_exact(f, 12))
        if tag in (256, 257):
            found[tag] = struct.unpack(order + ("H" if kind == 3 else "I"), raw[:2] if kind == 3 else raw)[0]
    if 256 not in found or 257 not in found:
        raise _Truncated
    return found[256], found[257]


def _gif_size(f) -> tuple[int, int]:
    """The logical screen: every frame of an animation is decoded at this size."""
    f.seek(6)
    return struct.unpack("<HH", _read_exact(f, 4))


_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", _png_size, "PNG"),
    (b"\xff\xd8", _jpeg_size, "JPEG"),
    (b"BM", _bmp_size, "BMP"),
    (b"II*\x00", _tiff_size, "TIFF"),
    (b"MM\x00*", _tiff_size, "TIFF"),
    (b"GIF87a", _gif_size, "GIF"),
    (b"GIF89a", _gif_size, "GIF"),
)


def _size(f, label: str) -> Optional[tuple[int, int]]:
    """(width, height) from the header of the picture open as ``f``; None for a type not known
    here. A header cut short raises :class:`VcamError` naming ``label``."""
    head = f.read(16)
    for signature, parse, kind in _SIGNATURES:   # noqa: B007 - the match is read after the loop
        if head.startswith(signature):
            break
    else:
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            parse, kind = _webp_size, "WebP"
        else:
            return None
    try:
        return parse(f)
    except (_Truncated, struct.error, ValueError, OSError):
        raise DamagedPicture(f"{label} cannot be read as a picture (a truncated or damaged {kind} file)",
                             "give a complete picture (copy or save it again)") from None


def picture_size(path: Path, what: str = "image") -> Optional[tuple[int, int]]:
    """(width, height) from a PNG, JPEG, BMP, WebP, TIFF or GIF header, read without decoding;
    None for other types. A header that is cut short (or, for JPEG, a picture without its end)
    raises :class:`VcamError`."""
    try:
        with open(path, "rb") as f:
            return _size(f, f"{what} {path}")
    except OSError as exc:
        raise VcamError(f"{what} {path} cannot be read ({exc.strerror})", "check that you may read it") from None


def check_pixels(path: Path, what: str, width: int, height: int, limit: int = MAX_PIXELS) -> None:
    _check_pixels(f"{what} {path}", width, height, limit)


def _check_pixels(label: str, width: int, height: int, limit: int = MAX_PIXELS) -> None:
    if width * height > limit:
        raise TooManyPixels(f"{label} is {width}x{height} ({width * height / 1e6:.0f} megapixels), "
                            f"over {limit / 1_000_000:g} megapixels", "scale it down first")


def load_image(path: Path, what: str = "image") -> np.ndarray:
    """Read a picture file as RGB uint8, or raise one clear :class:`VcamError`. The size is read
    from the header first: a picture over :data:`MAX_PIXELS` is refused before it is decoded."""
    # IMREAD_COLOR applies the EXIF orientation (phone photos); ANYDEPTH keeps 16-bit and float.
    return to_rgb8(_decode(path, what, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH))


def load_image_alpha(path: Path, what: str = "image") -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Read a picture file as RGB uint8 (the same as :func:`load_image`) and its alpha as uint8
    (16-bit by its high byte; None where the picture has no alpha)."""
    return _split_alpha(_decode(path, what, _as_stored()))


def _split_alpha(img: np.ndarray) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """A decoded picture (as stored) -> RGB uint8 and its alpha as uint8 (None where it has none)."""
    if img.ndim == 3 and img.shape[2] in (2, 4):
        alpha = np.ascontiguousarray(_to_uint8(img[:, :, -1]))
        colour = img if img.shape[2] == 4 else img[:, :, 0]
        return to_rgb8(colour), alpha
    return to_rgb8(img), None


@functools.lru_cache(maxsize=None)
def _as_stored() -> int:
    """imdecode flags that keep every channel and the depth and still apply the EXIF orientation
    (IMREAD_UNCHANGED does not): IMREAD_COLOR | ANYCOLOR | ANYDEPTH from OpenCV 4.11 on; before
    that IMREAD_LOAD_GDAL, which imdecode (that never uses GDAL) takes as converting nothing."""
    probe = cv2.imencode(".png", np.zeros((1, 1, 4), np.uint8))[1]
    for flags in (cv2.IMREAD_COLOR | cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH, cv2.IMREAD_LOAD_GDAL):
        img = cv2.imdecode(probe, flags)
        if img is not None and img.ndim == 3 and img.shape[2] == 4:
            return flags
    log.warning("this OpenCV %s cannot read a picture's alpha with its EXIF orientation applied: a matte or "
                "cut-out of a picture with alpha is made as the picture is stored, not turned upright",
                cv2.__version__)
    return cv2.IMREAD_UNCHANGED


def _read_bytes(path: Path, what: str) -> np.ndarray:
    try:
        with open(path, "rb") as f:
            return np.frombuffer(f.read(), np.uint8)
    except OSError as exc:
        raise VcamError(f"{what} {path} cannot be read ({exc.strerror})", "check that you may read it") from None


def _decode(path: Path, what: str, flags: int) -> np.ndarray:
    """The picture at ``path`` decoded by OpenCV from its bytes (read here, so OpenCV never sees
    its name) with ``flags``; refused over :data:`MAX_PIXELS` from its header first."""
    path = check_file(path, what)
    size = picture_size(path, what)
    return _decode_data(lambda: _read_bytes(path, what), size, f"{what} {path}", flags, MAX_PIXELS)


def _decode_data(read, size: Optional[tuple[int, int]], label: str, flags: int, limit: int) -> np.ndarray:
    """``read()``'s bytes decoded with ``flags``, after ``size`` (from the header, None where
    unknown) was checked against ``limit`` pixels; errors name ``label``."""
    if size is not None:
        if size[0] <= 0 or size[1] <= 0:
            raise DamagedPicture(f"{label} says it is {size[0]}x{size[1]} pixels", "give a picture with something in it")
        _check_pixels(label, *size, limit)
    data = read()
    with native_logs.native_stderr():   # libpng's and libjpeg's own words for a damaged file
        try:
            img = cv2.imdecode(data, flags) if data.size else None
        except cv2.error as exc:   # OpenCV's own size limit, or a buffer it refuses; or no memory left
            if memory.caused(exc):
                raise memory.shortage(f"decode {label}", exc) from None
            img = None
    if img is None or img.size == 0:
        if size is not None:   # a header we know, then data that does not decode
            raise DamagedPicture(f"{label} cannot be decoded: the file is damaged or cut short",
                                 "give a complete picture (copy or save it again)")
        raise UnknownPicture(f"{label} cannot be read as a picture",
                             f"give a {', '.join(s.lstrip('.') for s in IMAGE_SUFFIXES)} file")
    _check_pixels(label, img.shape[1], img.shape[0], limit)
    return img


def data_size(data: bytes, label: str = "image") -> Optional[tuple[int, int]]:
    """:func:`picture_size` of a picture held in memory (``label`` names it in errors)."""
    return _size(io.BytesIO(data), label)


def decode_image_alpha(data: bytes, label: str = "image", *, limit: int = MAX_PIXELS,
                       known_only: bool = False) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """A picture held in memory (an upload) as :func:`load_image_alpha` reads a file: RGB uint8
    and its alpha (None where it has none). Its size is read from its header and refused over
    ``limit`` pixels (:class:`TooManyPixels`) before it is decoded; ``known_only``: a type whose
    header is not read here (so whose size is not known before decoding) is refused
    (:class:`UnknownPicture`). Errors name ``label``."""
    size = data_size(data, label)
    if size is None and known_only:
        raise UnknownPicture(f"{label} is not a PNG, JPEG, WebP, BMP, TIFF or GIF picture",
                             "give a picture of one of those types")
    img = _decode_data(lambda: np.frombuffer(data, np.uint8), size, label, _as_stored(), limit)
    return _split_alpha(img)


def encode_image(path: Path, img: np.ndarray) -> np.ndarray:
    """RGB, RGBA or grey uint8 ``img`` encoded in memory as the type ``path``'s suffix names."""
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA)
    suffix = opencv_name(Path(path).suffix.lower() or ".png")
    try:
        ok, data = cv2.imencode(suffix, img) if suffix is not None else (False, None)
    except cv2.error as exc:
        if memory.caused(exc):
            raise memory.shortage(f"write {path}", exc) from None
        ok, data = False, None
    if not ok:
        raise VcamError(f"cannot write {path}: OpenCV cannot encode a {Path(path).suffix or 'picture'} file",
                        "name it .png or .jpg")
    return data


def write_image(path: Path, img: np.ndarray) -> None:
    """Write RGB, RGBA or grey uint8 ``img`` atomically: ``path`` is either whole or untouched.
    The picture is encoded in memory, so a failing disk is told by its cause (full, read-only,
    permission), never as an encoder error."""
    write_file(Path(path), encode_image(path, img))
