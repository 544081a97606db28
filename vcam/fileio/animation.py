"""Pictures with several frames: animated WebP, APNG and multi-page TIFF, read with every frame and
written back in the same format with each frame's duration and the loop count kept.

The frame count and size come from the file's chunks (PNG, WebP) or its page chain (TIFF) before a
pixel is decoded, so an animation over the limits is refused first. Frames are decoded and encoded
one at a time (:func:`open_animation`, :class:`AnimationWriter`): processing one holds a frame or
two whatever their number, never the whole animation (4 frames of 7990x7990 took 4.0 GB when every
frame was decoded first, 2.5 GB a frame at a time, where one such picture takes 1.5 GB: ``python
benchmarks/animation_memory.py``). Files are
read by Python, so OpenCV never sees a name it cannot take (see :mod:`vcam.fileio.pictures`). PyAV
(FFmpeg) decodes and encodes APNG and encodes WebP; OpenCV decodes animated WebP (4.11 and newer:
FFmpeg cannot) and encodes and decodes TIFF pages, which are joined here into one file. The loop
count comes from the header, the durations from the demuxer (APNG) or the chunks (WebP).
"""
from __future__ import annotations

import hashlib
import io
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator, NamedTuple, Optional, Sequence

import cv2
import numpy as np

from vcam.errors import VcamError
from vcam.fileio import atomic, file_names, pictures, pyav, write_errors
from vcam.system import memory, native_logs

MAX_TOTAL_PIXELS = pictures.MAX_PIXELS * 4   # all frames together: 256 megapixels, 1 GB as RGBA
MAX_FRAMES = 32767          # as many as OpenCV's imdecodeanimation gives by default
MAX_DURATION_MS = 65535     # an APNG frame's delay is a fraction with 16-bit terms
KINDS = {".webp": "webp", ".png": "apng", ".apng": "apng", ".tif": "tiff", ".tiff": "tiff"}
# WebP frames and TIFF pages are decoded this many bytes' worth at a time (8 bytes a pixel: four
# 16-bit channels at most): one call per frame would decode a WebP's earlier frames again each time.
DECODE_BYTES = 256 << 20
_MS = Fraction(1, 1000)


class _Bad(Exception):
    """The header is cut short or contradicts itself; ``args[0]`` says how ("a truncated")."""


class _Probe(NamedTuple):
    kind: Optional[str]
    count: int
    sizes: frozenset       # of (width, height); empty for a still picture
    loop: Optional[int]
    durations: tuple = ()  # WebP: each ANMF chunk's


def _read(f, n: int) -> bytes:
    data = f.read(n)
    if len(data) < n:
        raise _Bad("a truncated or damaged")
    return data


def _png(f) -> _Probe:
    """IHDR's size, then the chunks up to an ``acTL`` (an APNG) or the first ``IDAT`` (a still)."""
    length, kind = struct.unpack(">I4s", _read(f, 8))
    if kind != b"IHDR" or length < 8:
        raise _Bad("a damaged")
    size = frozenset([struct.unpack(">II", _read(f, 8))])
    f.seek(length - 8 + 4, io.SEEK_CUR)
    while True:
        length, kind = struct.unpack(">I4s", _read(f, 8))
        if kind == b"acTL":
            count, plays = struct.unpack(">II", _read(f, 8))
            if count == 0:
                raise _Bad("a damaged (0 frames)")
            return _Probe("apng", count, size if count > 1 else frozenset(), plays)
        if kind in (b"IDAT", b"IEND"):
            return _Probe("apng", 1, frozenset(), 0)
        f.seek(length + 4, io.SEEK_CUR)


def _riff_chunks(f, end: int):
    """(fourcc, offset of its body, length) for each chunk of a RIFF file ``end`` bytes long."""
    at = 12
    while at + 8 <= end:
        f.seek(at)
        kind, length = struct.unpack("<4sI", _read(f, 8))
        if at + 8 + length > end:
            raise _Bad("a truncated or damaged")
        yield kind, at + 8, length
        at += 8 + length + (length & 1)


def _webp(f) -> _Probe:
    """VP8X's canvas and animation flag, ANIM's loop count, each ANMF chunk's duration."""
    f.seek(4)
    end = struct.unpack("<I", _read(f, 4))[0] + 8
    if f.seek(0, io.SEEK_END) < end:
        raise _Bad("a truncated")
    f.seek(12)
    if _read(f, 8)[:4] != b"VP8X":
        return _Probe("webp", 1, frozenset(), 0)
    head = _read(f, 10)
    if not head[0] & 0x02:   # no animation flag: a still picture
        return _Probe("webp", 1, frozenset(), 0)
    size = (int.from_bytes(head[4:7], "little") + 1, int.from_bytes(head[7:10], "little") + 1)
    loop, durations = 0, []
    for kind, at, length in _riff_chunks(f, end):
        if kind == b"ANIM" and length >= 6:
            f.seek(at + 4)
            loop = int.from_bytes(_read(f, 2), "little")
        elif kind == b"ANMF":
            if length < 16:
                raise _Bad("a damaged")
            f.seek(at + 12)
            durations.append(int.from_bytes(_read(f, 3), "little"))
    if not durations:
        raise _Bad("a damaged (no frames)")
    return _Probe("webp", len(durations), frozenset([size]), loop, tuple(durations))


def _tiff(f, order: str) -> _Probe:
    """Each page's size along the IFD chain (which must not loop), for at most MAX_FRAMES + 1 pages."""
    f.seek(4)
    offset, seen, sizes = struct.unpack(order + "I", _read(f, 4))[0], set(), []
    while offset and len(sizes) <= MAX_FRAMES:
        if offset in seen:
            raise _Bad("a damaged (its pages loop)")
        seen.add(offset)
        f.seek(offset)
        count = struct.unpack(order + "H", _read(f, 2))[0]
        found = {tag: struct.unpack(order + ("H" if kind == 3 else "I"), raw[:2] if kind == 3 else raw)[0]
                 for tag, kind, _n, raw in struct.iter_unpack(order + "HHI4s", _read(f, 12 * count)) if tag in (256, 257)}
        if len(found) < 2:
            raise _Bad("a damaged (a page without its size)")
        sizes.append((found[256], found[257]))
        offset = struct.unpack(order + "I", _read(f, 4))[0]
    if not sizes:
        raise _Bad("a damaged (no pages)")
    return _Probe("tiff", len(sizes), frozenset(sizes) if len(sizes) > 1 else frozenset(), None)


def _probe(path: Path, what: str) -> _Probe:
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            f.seek(8)
            try:
                if head.startswith(b"\x89PNG\r\n\x1a\n"):
                    probe = _png(f)
                elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
                    probe = _webp(f)
                elif head[:4] in (b"II*\x00", b"MM\x00*"):
                    probe = _tiff(f, "<" if head[:1] == b"I" else ">")
                else:
                    return _Probe(None, 1, frozenset(), None)
            except (_Bad, struct.error) as exc:
                damage = exc.args[0] if isinstance(exc, _Bad) else "a damaged"
                kind = {b"\x89P": "PNG", b"RI": "WebP"}.get(head[:2], "TIFF")
                raise VcamError(f"{what} {path} cannot be read as a picture ({damage} {kind} file)",
                                "give a complete picture (copy or save it again)") from None
    except OSError as exc:
        raise VcamError(f"{what} {path} cannot be read ({exc.strerror})", "check that you may read it") from None
    if probe.count > MAX_FRAMES:
        raise VcamError(f"{what} {path} holds over {MAX_FRAMES} frames", "split it, or convert it to a video")
    return probe


def frame_count(path: Path, what: str = "image") -> int:
    """How many frames an APNG or animated WebP holds, or pages a TIFF, from its header without
    decoding; 1 for a still picture, a GIF (read as a video) or another type. A cut header is a
    :class:`VcamError`, and so is a count over :data:`MAX_FRAMES`."""
    return _probe(Path(path), what).count


def _check_size(path: Path, what: str, probe: _Probe) -> None:
    if len(probe.sizes) > 1:
        shown = ", ".join(f"{w}x{h}" for w, h in sorted(probe.sizes)[:3])
        raise VcamError(f"{what} {path} has pages of different sizes ({shown})",
                        "give a TIFF whose pages are all one size, or save each page as its own picture")
    (w, h), = probe.sizes
    if w <= 0 or h <= 0 or w * h > pictures.MAX_PIXELS or probe.count * w * h > MAX_TOTAL_PIXELS:
        raise VcamError(f"{what} {path} holds {probe.count} frames of {w}x{h} ({probe.count * w * h / 1e6:.0f} "
                        f"megapixels in all); vcam takes at most {pictures.MAX_PIXELS // 1_000_000} megapixels a frame "
                        f"and {MAX_TOTAL_PIXELS // 1_000_000} in all", "use fewer or smaller frames")


def _split(img: np.ndarray) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """A decoded OpenCV picture (BGR, BGRA, grey + alpha; any depth) -> RGB uint8 and its alpha."""
    if img.ndim == 3 and img.shape[2] in (2, 4):
        alpha = np.ascontiguousarray(pictures.to_rgb8(np.ascontiguousarray(img[:, :, -1]))[:, :, 0])
        return pictures.to_rgb8(img if img.shape[2] == 4 else img[:, :, 0]), alpha
    return pictures.to_rgb8(img), None


# --- reading, a frame at a time ------------------------------------------------------------------

Decoded = tuple[np.ndarray, Optional[np.ndarray]]   # RGB uint8, and its uint8 alpha or None


class Frames:
    """An animation's frames, decoded one at a time as they are iterated over: ``(rgb, alpha)``,
    RGB uint8 and its uint8 alpha where the frame has one (else None). Known before a pixel is
    decoded: ``kind`` ("webp", "apng", "tiff"), ``size`` (width, height), ``count``, ``loop`` (0 =
    forever, None for TIFF) and ``durations_ms`` (one a frame; 0 for TIFF pages, which have none).
    A frame that does not decode ends the iteration with one :class:`VcamError`.

    ``decode()`` gives each frame as its decoder does, ``size_of(frame)`` its (width, height) and
    ``convert(frame)`` its RGB and alpha."""

    def __init__(self, path: Path, what: str, kind: str, size: tuple[int, int], loop: Optional[int],
                 durations_ms: list, decode, size_of, convert) -> None:
        self.path, self.what, self.kind, self.size, self.loop = path, what, kind, size, loop
        self.durations_ms = durations_ms
        self.count = len(durations_ms)
        self._decode, self._size_of, self._convert = decode, size_of, convert

    def _whole(self):
        """Each frame as decoded, while it is whole; then one error where fewer came than the count."""
        n = 0
        for frame in self._decode():
            if self._size_of(frame) != self.size:
                break
            n += 1
            yield frame
        if n != self.count:
            raise _damaged(self.path, self.what, n, self.count)

    def __iter__(self) -> Iterator[Decoded]:
        for frame in self._whole():
            yield self._convert(frame)

    def check(self) -> int:
        """Decode every frame without keeping or converting it (a written file read back): the
        count, or one :class:`VcamError`."""
        return sum(1 for _ in self._whole())


def _damaged(path: Path, what: str, whole: int, count: int) -> VcamError:
    return VcamError(f"{what} {path} cannot be decoded: {whole} of its {count} frames came out whole "
                     "(the file is damaged or cut short)", "give a complete file (copy or save it again)")


def _apng_packets(path: Path, what: str, decode: bool):
    """FFmpeg's APNG demuxer over the file: each packet's duration in ms, or (decode) each frame
    as FFmpeg decoded it; a damaged file gives what comes before the damage."""
    av = pyav.import_av()
    try:
        with open(path, "rb") as f, av.open(f, format="apng") as box:
            for packet in box.demux(box.streams.video[0]):
                if not decode:
                    if packet.size:
                        yield round((packet.duration or 0) * packet.time_base * 1000)
                    continue
                yield from packet.decode()
    except av.FFmpegError as exc:   # damaged: the frames before the damage, unless memory ran out
        if memory.caused(exc):
            raise memory.shortage(f"decode {path}", exc) from None
        return
    except OSError as exc:
        raise VcamError(f"{what} {path} cannot be read ({exc.strerror})", "check that you may read it") from None


def _apng_frame(frame) -> Decoded:
    rgba = frame.to_ndarray(format="rgba")
    alpha = rgba[:, :, 3].copy() if any(c.is_alpha for c in frame.format.components) else None
    return np.ascontiguousarray(rgba[:, :, :3]), alpha


def _in_chunks(count: int, pixels: int, decode) -> Iterator[np.ndarray]:
    """Frames decoded ``DECODE_BYTES``' worth at a time by ``decode(start, n)`` (a list of OpenCV
    pictures, empty where the data is damaged), each let go of once given out."""
    step = max(1, DECODE_BYTES // (8 * pixels))
    start = 0
    while start < count:
        with native_logs.native_stderr():   # libtiff's and libwebp's own words for a damaged file
            try:
                got = list(decode(start, min(step, count - start)))
            except cv2.error as exc:   # damaged, unless memory ran out
                if memory.caused(exc):
                    raise memory.shortage("decode an animation's frames", exc) from None
                got = []
        if not got:
            return
        start += len(got)
        for i in range(len(got)):
            img, got[i] = got[i], None
            yield img


def _webp_decoder(path: Path):
    """OpenCV's animated WebP decoder as ``decode(data, start, n)``: from memory (4.12+), by a UTF-8
    name (4.11), or None."""
    if hasattr(cv2, "imdecodeanimation"):
        return lambda data, start, n: cv2.imdecodeanimation(np.frombuffer(data, np.uint8), start, n)
    name = file_names.opencv_name(path)
    return (lambda data, start, n: cv2.imreadanimation(name, start, n)) if hasattr(cv2, "imreadanimation") and name \
        else None


def _webp_frames(data: bytes, path: Path):
    decoder = _webp_decoder(path)

    def decode(start: int, n: int) -> list:
        ok, anim = decoder(data, start, n)
        return list(anim.frames) if ok else []
    return decode


def _decodes_page_ranges() -> bool:
    """Whether this OpenCV's ``imdecodemulti`` takes a range of pages (4.9+; 4.8 refuses the
    fourth argument with a ``cv2.error``, not a TypeError)."""
    try:
        cv2.imdecodemulti(np.zeros(1, np.uint8), cv2.IMREAD_UNCHANGED, None, (0, 1))
    except (TypeError, cv2.error) as exc:
        return "argument" not in str(exc)
    return True


def _tiff_pages(data: bytes):
    buf = np.frombuffer(data, np.uint8)
    ranges = _decodes_page_ranges()

    def decode(start: int, n: int) -> list:
        if ranges:
            ok, pages = cv2.imdecodemulti(buf, cv2.IMREAD_UNCHANGED, None, (start, start + n))
        else:   # every page at once, on the first call
            ok, pages = cv2.imdecodemulti(buf, cv2.IMREAD_UNCHANGED) if start == 0 else (False, [])
        return list(pages) if ok else []
    return decode


def open_animation(path: Path, what: str = "image") -> Frames:
    """The frames of an APNG, animated WebP or multi-page TIFF (a still one gives one frame), to be
    decoded one at a time, or one :class:`VcamError`: over :data:`MAX_TOTAL_PIXELS` or with pages
    of different sizes it is refused from its header, before a pixel is decoded."""
    path = pictures.check_file(Path(path), what)
    probe = _probe(path, what)
    if probe.kind is None:
        raise VcamError(f"{what} {path} is not an APNG, WebP or TIFF file",
                        "give a .png, .webp or .tif file (an animated GIF is read as a video)")
    if probe.count == 1:
        still = pictures.load_image_alpha(path, what)
        return Frames(path, what, probe.kind, (still[0].shape[1], still[0].shape[0]), probe.loop, [0],
                      lambda: iter([still]), lambda s: (s[0].shape[1], s[0].shape[0]), lambda s: s)
    _check_size(path, what, probe)
    (w, h), = probe.sizes
    if probe.kind == "webp" and _webp_decoder(path) is None:
        raise VcamError(f"{what} {path} is an animated WebP, which this OpenCV {cv2.__version__} cannot read "
                        "(that needs OpenCV 4.11 or newer; 4.12 for a name that is not UTF-8)",
                        "pip install -U 'opencv-contrib-python>=4.12', or convert it to APNG or a video")
    if probe.kind == "apng":
        durations = list(_apng_packets(path, what, decode=False))
        if len(durations) != probe.count:
            raise _damaged(path, what, len(durations), probe.count)
        return Frames(path, what, "apng", (w, h), probe.loop, durations, lambda: _apng_packets(path, what, decode=True),
                      lambda f: (f.width, f.height), _apng_frame)
    try:
        data = path.read_bytes()   # compressed: the pixels are decoded a chunk at a time
    except OSError as exc:
        raise VcamError(f"{what} {path} cannot be read ({exc.strerror})", "check that you may read it") from None
    if probe.kind == "webp":
        decode, durations = _webp_frames(data, path), list(probe.durations)
    else:
        decode, durations = _tiff_pages(data), [0] * probe.count
    return Frames(path, what, probe.kind, (w, h), probe.loop, durations,
                  lambda: _in_chunks(probe.count, w * h, decode), lambda img: (img.shape[1], img.shape[0]), _split)


@dataclass
class Animation:
    """Every frame at once (:func:`read_animation`): RGB uint8 frames of one size; their uint8
    alphas where the file has alpha (else None); each frame's duration in ms (0 for TIFF pages);
    the loop count (0 = forever, None for TIFF); ``kind``: "webp", "apng" or "tiff"."""
    frames: list
    alphas: Optional[list]
    durations_ms: list
    loop: Optional[int]
    kind: str

    @property
    def size(self) -> tuple[int, int]:
        return self.frames[0].shape[1], self.frames[0].shape[0]


def read_animation(path: Path, what: str = "image") -> Animation:
    """Every frame of an APNG, animated WebP or multi-page TIFF in memory at once (for small ones:
    :func:`open_animation` gives them one at a time), or one :class:`VcamError`."""
    frames = open_animation(path, what)
    rgbs, alphas = [], []
    for rgb, alpha in frames:
        rgbs.append(rgb)
        alphas.append(alpha)
    if all(a is None for a in alphas):
        return Animation(rgbs, None, frames.durations_ms, frames.loop, frames.kind)
    return Animation(rgbs, [a if a is not None else np.full(rgb.shape[:2], 255, np.uint8) for rgb, a in zip(rgbs, alphas)],
                     frames.durations_ms, frames.loop, frames.kind)


# --- writing, a frame at a time ------------------------------------------------------------------

_TIFF_TYPES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}   # bytes a value
_TIFF_DATA = (273, 324)   # StripOffsets, TileOffsets: where the page's pixels are
_TIFF_POINTERS = (288, 330, 513, 34665, 34853, 40965)   # other offsets (sub-IFDs, EXIF...): not moved here


def _move_page(page: bytearray, base: int, order: str) -> tuple[int, int]:
    """A single-page classic TIFF's offsets moved by ``base`` (where its bytes land in the joined
    file), in place; returns (its IFD's offset, the offset of that IFD's link to a next page)."""
    ifd = struct.unpack_from(order + "I", page, 4)[0]
    n = struct.unpack_from(order + "H", page, ifd)[0]
    for i in range(n):
        at = ifd + 2 + 12 * i
        tag, kind, count = struct.unpack_from(order + "HHI", page, at)
        size = _TIFF_TYPES.get(kind)
        if size is None or tag in _TIFF_POINTERS or (tag in _TIFF_DATA and kind not in (3, 4)):
            raise ValueError(f"TIFF tag {tag} of type {kind}")
        values = at + 8
        if size * count > 4:
            values = struct.unpack_from(order + "I", page, at + 8)[0]
            struct.pack_into(order + "I", page, at + 8, values + base)
        if tag in _TIFF_DATA:
            fmt = order + ("I" if kind == 4 else "H")
            for k in range(count):
                moved = struct.unpack_from(fmt, page, values + size * k)[0] + base
                if moved >= 1 << (8 * size):
                    raise ValueError(f"TIFF offset {moved} in a {8 * size}-bit field")
                struct.pack_into(fmt, page, values + size * k, moved)
    link = ifd + 2 + 12 * n
    if struct.unpack_from(order + "I", page, link)[0] != 0:
        raise ValueError("a TIFF of several pages")
    return ifd, link


class _TiffJoin:
    """Single-page TIFFs (OpenCV's, encoded a page at a time) joined into one multi-page TIFF as
    they come: each page's bytes appended whole to ``file``, the offsets inside it moved to where
    it lands, and the page before linked to it."""

    def __init__(self, file) -> None:
        self._file = file
        self._end = 0
        self._link: Optional[int] = None   # where the last page's link to the next is
        self._order = ""

    def add(self, data: np.ndarray) -> None:
        page = bytearray(data.tobytes())
        order = {b"II*\x00": "<", b"MM\x00*": ">"}.get(bytes(page[:4]), "")
        if not order or (self._order and order != self._order):
            raise ValueError("not a classic TIFF in this file's byte order")
        base = self._end + (self._end & 1)     # offsets fall on a word boundary
        ifd, link = _move_page(page, base, order)
        if base + len(page) >= 1 << 32:
            raise ValueError("over 4 GB")
        if base > self._end:
            self._file.write(b"\0")
        self._file.write(page)
        if self._link is not None:
            self._file.seek(self._link)
            self._file.write(struct.pack(order + "I", base + ifd))
            self._file.seek(0, io.SEEK_END)
        self._link, self._end, self._order = base + link, base + len(page), order


def _timing(path: Path, kind: str, count: int, durations_ms, loop) -> list:
    """The durations to write for ``count`` frames, once they and the loop count are what ``kind``
    can hold (TIFF holds neither: zeros)."""
    if count > MAX_FRAMES:
        raise VcamError(f"cannot write {path}: {count} frames, over {MAX_FRAMES}", "split it, or write a video")
    if kind == "tiff":
        return [0] * count
    durations = [round(d) for d in durations_ms or ()]
    if len(durations) != count or not all(1 <= d <= MAX_DURATION_MS for d in durations):
        raise VcamError(f"cannot write {path}: got durations {durations[:6]}, expected {count} of "
                        f"1 to {MAX_DURATION_MS} ms", "give every frame a duration in that range")
    if isinstance(loop, bool) or not isinstance(loop, (int, np.integer)) or not 0 <= loop <= 65535:
        raise VcamError(f"cannot write {path}: got loop {loop!r}, expected 0 (forever) to 65535",
                        "give a loop count in that range")
    return durations


def _kind(path: Path, kind: Optional[str]) -> str:
    kind = kind or KINDS.get(path.suffix.lower())
    if kind not in ("apng", "webp", "tiff"):
        raise VcamError(f"cannot write {path}: several frames are written only as APNG, WebP or TIFF (got "
                        f"{kind or path.suffix or 'no suffix'})", "name it .png (APNG), .webp or .tif")
    return kind


def _same_picture(path: Path, i: int) -> VcamError:
    return VcamError(f"cannot write {path} as WebP: frames {i} and {i + 1} are the same picture, which the "
                     "WebP encoder merges into one", "write .png (APNG) or .tif, or give it once for both durations")


class AnimationWriter:
    """An APNG, animated WebP or multi-page TIFF (by ``kind`` or the suffix) written a frame at a
    time: :meth:`add` encodes each as it comes (RGB uint8, or RGBA where ``alpha``), so memory
    holds one frame whatever their number. ``durations_ms``: one per frame, 1 to 65535 ms (their
    number is the frame count; TIFF keeps none); ``loop``: plays, 0 = forever (TIFF keeps none).
    Atomic: written under a partial name; :meth:`finish` reads it back (every frame decoded, one at
    a time; the count and durations must be those given) and renames it over ``path``; leaving
    the ``with`` block without :meth:`finish` (an error) removes it. A failing disk is told by its
    cause."""

    def __init__(self, path: Path, durations_ms: Sequence[int], loop: Optional[int], *, alpha: bool = False,
                 kind: Optional[str] = None) -> None:
        self.path = path = Path(path)
        self.kind = _kind(path, kind)
        self.durations = _timing(path, self.kind, len(durations_ms), durations_ms, loop)
        self.loop = int(loop or 0)
        self.alpha = alpha
        self.added = 0
        self._shape: Optional[tuple] = None
        self._last = b""          # WebP: the last frame's digest (libwebp merges a repeat)
        self._box = self._stream = self._tiff = None
        self._pts = 0
        self._tmp = atomic.partial_name(path)
        try:
            self._file = open(self._tmp, "xb")
        except OSError as exc:
            raise write_errors.write_error(path, exc) from None
        if self.kind == "tiff":
            self._tiff = _TiffJoin(self._file)

    def __enter__(self) -> "AnimationWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.abort()

    def add(self, picture: np.ndarray) -> None:
        """The next frame: RGB uint8 (RGBA where ``alpha``), every one of the first one's size."""
        i, channels = self.added, 4 if self.alpha else 3
        if i >= len(self.durations):
            raise ValueError(f"frame {i}: got more frames than the {len(self.durations)} durations given")
        shape = self._shape or (tuple(getattr(picture, "shape", ())) + (0, 0))[:2] + (channels,)
        if not (isinstance(picture, np.ndarray) and picture.dtype == np.uint8 and picture.shape == shape and picture.size):
            got = f"{picture.dtype} {picture.shape}" if isinstance(picture, np.ndarray) else type(picture).__name__
            raise ValueError(f"frame {i}: got {got}, expected uint8 shaped {shape} (RGB{'A' if self.alpha else ''} "
                             "frames of one size)")
        self._shape = shape
        if self.kind == "webp":
            digest = hashlib.blake2b(np.ascontiguousarray(picture).data, digest_size=16).digest()
            if digest == self._last:
                raise _same_picture(self.path, i)
            self._last = digest
        try:
            if self._tiff is not None:
                self._add_page(picture)
            else:
                self._encode(picture)
        except OSError as exc:
            raise write_errors.write_error(self.path, exc) from None
        self.added += 1

    def _add_page(self, picture: np.ndarray) -> None:
        page = cv2.cvtColor(picture, cv2.COLOR_RGBA2BGRA if self.alpha else cv2.COLOR_RGB2BGR)
        try:
            ok, data = cv2.imencode(".tif", page)
        except cv2.error as exc:
            if memory.caused(exc):
                raise memory.shortage(f"write {self.path}", exc) from None
            ok, data = False, None
        del page
        if not ok:
            raise VcamError(f"cannot write {self.path}: OpenCV {cv2.__version__} could not encode a TIFF page",
                            "write .png (APNG) or .webp instead")
        try:
            self._tiff.add(data)
        except ValueError as exc:
            raise VcamError(f"cannot write {self.path}: OpenCV {cv2.__version__} wrote a TIFF page that vcam cannot "
                            f"join to the others ({exc})", "write .png (APNG) or .webp instead") from None

    def _encode(self, picture: np.ndarray) -> None:
        """An APNG or a lossless animated WebP frame encoded by PyAV at its pts in ms. FFmpeg's APNG
        muxer times a frame by the next one's pts and the last by ``final_delay``; libwebp times the
        last by the average of the others, so each ANMF chunk's duration is set in :meth:`finish`."""
        av = pyav.import_av()
        codec = "apng" if self.kind == "apng" else "libwebp_anim"
        try:
            if self._box is None:
                if self.kind == "apng":
                    pix_fmt, options = "rgba" if self.alpha else "rgb24", {}
                    box_options = {"plays": str(self.loop), "final_delay": f"{self.durations[-1]}/1000"}
                else:
                    pix_fmt, options, box_options = "bgra", {"lossless": "1"}, {"loop": str(self.loop)}
                self._box = av.open(self._file, "w", format=self.kind, options=box_options)
                self._stream = self._box.add_stream(codec, options=options)
                self._stream.height, self._stream.width = picture.shape[:2]
                self._stream.pix_fmt, self._stream.codec_context.time_base = pix_fmt, _MS
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgba" if self.alpha else "rgb24")
            frame.pts, frame.time_base = self._pts, _MS
            self._pts += self.durations[self.added]
            self._box.mux(self._stream.encode(frame))
        except av.FFmpegError as exc:
            self._encoder_failed(exc, f"FFmpeg's {codec} encoder")

    def _encoder_failed(self, exc: Exception, what: str) -> None:
        """Raise what FFmpeg's ``exc`` means: a write error vcam names (re-raised), a lack of memory,
        or the encoder's failure with another format to try."""
        if isinstance(exc, OSError) and write_errors.told(exc):
            raise exc
        if memory.caused(exc):
            raise memory.shortage(f"write {self.path}", exc) from None
        raise VcamError(f"cannot write {self.path}: {what} failed ({exc})", "write .tif instead") from None

    def finish(self) -> None:
        """Every frame given: the file finished, read back and renamed over ``path``."""
        if self.added != len(self.durations):
            raise ValueError(f"got {self.added} frames, expected {len(self.durations)} (one a duration)")
        try:
            if self._box is not None:
                av = pyav.import_av()
                try:
                    self._box.mux(self._stream.encode())
                    self._box.close()
                except av.FFmpegError as exc:
                    self._encoder_failed(exc, "FFmpeg's encoder")
                self._box = None
            self._file.close()
            if self.kind == "webp":
                self._set_webp_durations()
            _check_written(self._tmp, self.path, self.kind, self.durations)
            atomic.install(self._tmp, self.path)
        except OSError as exc:
            raise write_errors.write_error(self.path, exc) from None
        finally:
            self.abort()

    def _set_webp_durations(self) -> None:
        with open(self._tmp, "r+b") as f:
            end = f.seek(0, io.SEEK_END)
            anmf = [at for chunk, at, _ in _riff_chunks(f, end) if chunk == b"ANMF"]
            for at, ms in zip(anmf, self.durations):
                f.seek(at + 12)
                f.write(ms.to_bytes(3, "little"))

    def abort(self) -> None:
        """What was written so far removed (after :meth:`finish`, nothing is left to remove); safe twice."""
        box, self._box = self._box, None
        if box is not None:
            try:
                box.close()
            except Exception:   # noqa: BLE001 - the partial file goes anyway
                pass
        self._file.close()
        self._tmp.unlink(missing_ok=True)


def _check(path: Path, kind: str, frames: list, alphas: Optional[list], durations_ms, loop) -> list:
    """The durations to write, once the frames (uint8 RGB, one size), their alphas (uint8, one a
    frame), the durations and the loop count are what ``kind`` can hold."""
    if not frames or (alphas is not None and len(alphas) != len(frames)):
        raise ValueError(f"got {len(frames)} frames and {'no' if alphas is None else len(alphas)} alphas, "
                         "expected at least one frame and, where alphas are given, one for each")
    h, w = (tuple(getattr(frames[0], "shape", ())) + (0, 0))[:2]
    for name, arrays, shape in (("frame", frames, (h, w, 3)), ("alpha", alphas or [], (h, w))):
        for i, a in enumerate(arrays):
            if not (isinstance(a, np.ndarray) and a.dtype == np.uint8 and a.shape == shape and a.size):
                got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
                raise ValueError(f"{name} {i}: got {got}, expected uint8 shaped {shape} (RGB frames of one size)")
    durations = _timing(path, kind, len(frames), durations_ms, loop)
    for i in range(1, len(frames) if kind == "webp" else 0):   # libwebp would merge the two into one
        if np.array_equal(frames[i], frames[i - 1]) and (alphas is None or np.array_equal(alphas[i], alphas[i - 1])):
            raise _same_picture(path, i)
    return durations


def _check_written(tmp: Path, path: Path, kind: str, durations: list) -> None:
    """The file at ``tmp`` read back a frame at a time: it must hold every frame, each lasting
    what was given (where this OpenCV cannot decode an animated WebP, by its chunks)."""
    try:
        probe = _probe(tmp, "written file")
        if kind == "webp" and probe.count > 1 and _webp_decoder(tmp) is None:
            count, got = probe.count, list(probe.durations)
        else:
            frames = open_animation(tmp, "written file")
            count, got = frames.check(), frames.durations_ms
    except VcamError as exc:
        raise VcamError(f"cannot write {path}: what the encoder wrote cannot be read back ({exc.problem})",
                        "nothing was replaced") from None
    if count != len(durations) or (kind != "tiff" and count > 1 and got != durations):
        raise VcamError(f"cannot write {path}: the encoder wrote {count} frames lasting {got[:6]} ms, "
                        f"not {len(durations)} lasting {durations[:6]}", "nothing was replaced")


def write_animation(path: Path, frames: Sequence[np.ndarray], durations_ms: Optional[Sequence[int]],
                    loop: Optional[int], *, alphas: Optional[Sequence[np.ndarray]] = None,
                    kind: Optional[str] = None) -> None:
    """Write RGB uint8 ``frames`` (RGBA with uint8 ``alphas``) as an APNG, animated WebP or multi-page
    TIFF, by ``kind`` or the suffix, each frame lasting its ``durations_ms`` (1 to 65535 ms) and the
    whole played ``loop`` times (0 = forever); TIFF keeps neither. Atomic, checked and told as
    :class:`AnimationWriter` is (frames already in memory: it checks them all before writing)."""
    path, frames, alphas = Path(path), list(frames), None if alphas is None else list(alphas)
    kind = _kind(path, kind)
    durations = _check(path, kind, frames, alphas, durations_ms, loop)
    with AnimationWriter(path, durations, loop, alpha=alphas is not None, kind=kind) as writer:
        for i, rgb in enumerate(frames):
            writer.add(rgb if alphas is None else np.dstack((rgb, alphas[i])))
        writer.finish()
