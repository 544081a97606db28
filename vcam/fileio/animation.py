"""Pictures with several frames: animated WebP, APNG and multi-page TIFF, read with every frame and
written back in the same format with each frame's duration and the loop count kept.

The frame count and size come from the file's chunks (PNG, WebP) or its page chain (TIFF) before a
pixel is decoded, so an animation too big for memory is refused first. Files are read by Python and
decoded from memory, so OpenCV never sees a name it cannot take (see :mod:`vcam.fileio.pictures`). PyAV
(FFmpeg) decodes and encodes APNG and encodes WebP; OpenCV decodes animated WebP (4.11 and newer:
FFmpeg cannot) and TIFF pages. The loop count comes from the header, the durations from the decoder.
"""
from __future__ import annotations

import errno
import io
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

import cv2
import numpy as np

from vcam.errors import VcamError
from vcam.fileio import atomic, file_names, pictures, write_errors
from vcam.system import native_logs

MAX_TOTAL_PIXELS = pictures.MAX_PIXELS * 4   # all frames together: 256 megapixels, 1 GB as RGBA
MAX_FRAMES = 32767          # as many as OpenCV's imdecodeanimation gives by default
MAX_DURATION_MS = 65535     # an APNG frame's delay is a fraction with 16-bit terms
KINDS = {".webp": "webp", ".png": "apng", ".apng": "apng", ".tif": "tiff", ".tiff": "tiff"}
_MS = Fraction(1, 1000)


@dataclass
class Animation:
    """RGB uint8 frames of one size; their uint8 alphas where the file has alpha (else None); each
    frame's duration in ms (0 for TIFF pages, which have none); the loop count (0 = forever, None for
    TIFF); ``kind``: "webp", "apng" or "tiff"."""
    frames: list
    alphas: Optional[list]
    durations_ms: list
    loop: Optional[int]
    kind: str

    @property
    def size(self) -> tuple[int, int]:
        return self.frames[0].shape[1], self.frames[0].shape[0]


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


def _av():
    try:
        import av  # imported when an APNG or WebP is first read or written
    except ImportError:
        raise VcamError("APNG and animated WebP need PyAV, which is not installed", "pip install av") from None
    return av


def _split(img: np.ndarray) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """A decoded OpenCV picture (BGR, BGRA, grey + alpha; any depth) -> RGB uint8 and its alpha."""
    if img.ndim == 3 and img.shape[2] in (2, 4):
        alpha = np.ascontiguousarray(pictures.to_rgb8(np.ascontiguousarray(img[:, :, -1]))[:, :, 0])
        return pictures.to_rgb8(img if img.shape[2] == 4 else img[:, :, 0]), alpha
    return pictures.to_rgb8(img), None


def _decode_apng(data: bytes, path: Path) -> tuple[list, list]:
    """FFmpeg's APNG decoder; a damaged file gives the frames before the damage."""
    av = _av()
    frames, durations = [], []
    try:
        with av.open(io.BytesIO(data), format="apng") as box:
            for packet in box.demux(box.streams.video[0]):
                for frame in packet.decode():
                    rgba = frame.to_ndarray(format="rgba")
                    alpha = any(c.is_alpha for c in frame.format.components)
                    frames.append((np.ascontiguousarray(rgba[:, :, :3]), rgba[:, :, 3].copy() if alpha else None))
                    durations.append(round((packet.duration or 0) * packet.time_base * 1000))
    except av.FFmpegError:
        pass
    return frames, durations


def _webp_decoder(path: Path):
    """OpenCV's animated WebP decoder: from memory (4.12+), by a UTF-8 name (4.11), or None."""
    if hasattr(cv2, "imdecodeanimation"):
        return lambda data: cv2.imdecodeanimation(np.frombuffer(data, np.uint8))
    name = file_names.opencv_name(path)
    return (lambda data: cv2.imreadanimation(name)) if hasattr(cv2, "imreadanimation") and name else None


def _decode_webp(data: bytes, path: Path) -> tuple[list, list]:
    ok, anim = _webp_decoder(path)(data)
    return ([_split(p) for p in anim.frames], [int(d) for d in anim.durations]) if ok else ([], [])


def _decode_tiff(data: bytes, path: Path) -> tuple[list, list]:
    ok, pages = cv2.imdecodemulti(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return ([_split(p) for p in pages], [0] * len(pages)) if ok else ([], [])


def read_animation(path: Path, what: str = "image") -> Animation:
    """Every frame of an APNG, animated WebP or multi-page TIFF (a still one gives one frame), or
    one :class:`VcamError`: over :data:`MAX_TOTAL_PIXELS` or with pages of different sizes it is
    refused from its header, before a pixel is decoded."""
    path = pictures.check_file(Path(path), what)
    probe = _probe(path, what)
    if probe.kind is None:
        raise VcamError(f"{what} {path} is not an APNG, WebP or TIFF file",
                        "give a .png, .webp or .tif file (an animated GIF is read as a video)")
    if probe.count == 1:
        rgb, alpha = pictures.load_image_alpha(path, what)
        return Animation([rgb], None if alpha is None else [alpha], [0], probe.loop, probe.kind)
    _check_size(path, what, probe)
    if probe.kind == "webp" and _webp_decoder(path) is None:
        raise VcamError(f"{what} {path} is an animated WebP, which this OpenCV {cv2.__version__} cannot read "
                        "(that needs OpenCV 4.11 or newer; 4.12 for a name that is not UTF-8)",
                        "pip install -U 'opencv-contrib-python>=4.12', or convert it to APNG or a video")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VcamError(f"{what} {path} cannot be read ({exc.strerror})", "check that you may read it") from None
    with native_logs.native_stderr():   # libtiff's and libwebp's own words for a damaged file
        try:
            frames, durations = {"apng": _decode_apng, "webp": _decode_webp, "tiff": _decode_tiff}[probe.kind](data, path)
        except cv2.error:
            frames, durations = [], []
    if len(frames) != probe.count or any(rgb.shape != frames[0][0].shape for rgb, _ in frames):
        raise VcamError(f"{what} {path} cannot be decoded: {len(frames)} of its {probe.count} frames came out whole "
                        "(the file is damaged or cut short)", "give a complete file (copy or save it again)")
    alphas = None
    if any(a is not None for _, a in frames):
        alphas = [a if a is not None else np.full(rgb.shape[:2], 255, np.uint8) for rgb, a in frames]
    return Animation([rgb for rgb, _ in frames], alphas, durations, probe.loop, probe.kind)


def _encode_av(path: Path, kind: str, frames: list, alphas: Optional[list], durations: list, loop: int) -> bytes:
    """An APNG or a lossless animated WebP encoded by PyAV in memory, each frame at its pts in ms.
    FFmpeg's APNG muxer times a frame by the next one's pts and the last by ``final_delay``; libwebp
    times the last by the average of the others, so each ANMF chunk's duration is set afterwards."""
    av = _av()
    if kind == "apng":
        codec, pix_fmt, options = "apng", "rgb24" if alphas is None else "rgba", {}
        box_options = {"plays": str(loop), "final_delay": f"{durations[-1]}/1000"}
    else:
        codec, pix_fmt, options, box_options = "libwebp_anim", "bgra", {"lossless": "1"}, {"loop": str(loop)}
    out = io.BytesIO()
    try:
        with av.open(out, "w", format=kind, options=box_options) as box:
            stream = box.add_stream(codec, options=options)
            stream.height, stream.width = frames[0].shape[:2]
            stream.pix_fmt, stream.codec_context.time_base = pix_fmt, _MS
            pts = 0
            for i, rgb in enumerate(frames):
                img = np.ascontiguousarray(rgb if alphas is None else np.dstack((rgb, alphas[i])))
                frame = av.VideoFrame.from_ndarray(img, format="rgb24" if alphas is None else "rgba")
                frame.pts, frame.time_base = pts, _MS
                pts += durations[i]
                box.mux(stream.encode(frame))
            box.mux(stream.encode())
    except av.FFmpegError as exc:
        raise VcamError(f"cannot write {path}: FFmpeg's {codec} encoder failed ({exc})", "write .tif instead") from None
    data = bytearray(out.getvalue())
    if kind == "webp":
        anmf = [at for chunk, at, _ in _riff_chunks(io.BytesIO(data), len(data)) if chunk == b"ANMF"]
        for at, ms in zip(anmf, durations):
            data[at + 12:at + 15] = ms.to_bytes(3, "little")
    return bytes(data)


def _encode_tiff(path: Path, kind: str, frames: list, alphas: Optional[list], durations: list, loop: int) -> bytes:
    """In memory by cv2.imencodemulti; where OpenCV lacks it, through a scratch file beside ``path``."""
    pages = [cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if alphas is None else
             cv2.cvtColor(np.dstack((rgb, alphas[i])), cv2.COLOR_RGBA2BGRA) for i, rgb in enumerate(frames)]
    if hasattr(cv2, "imencodemulti"):
        ok, data = cv2.imencodemulti(".tif", pages)
        return data.tobytes() if ok else b""
    scratch = atomic.ascii_partial_name(path)
    if file_names.opencv_name(scratch) is None:
        raise VcamError(f"cannot write {path}: this OpenCV {cv2.__version__} writes a multi-page TIFF only by "
                        "name, and cannot take a folder name that is not UTF-8", "write it to another folder")
    try:
        scratch.touch(exist_ok=False)   # the folder's own failure, by its errno, before OpenCV's bare False
        if not cv2.imwritemulti(str(scratch), pages):
            if write_errors.disk_full(path.parent):
                raise OSError(errno.ENOSPC, "the disk is full")
            return b""
        return scratch.read_bytes()
    finally:
        scratch.unlink(missing_ok=True)


def _check(path: Path, kind: str, frames: list, alphas: Optional[list], durations_ms, loop) -> list:
    """The durations to write, once the frames (uint8 RGB, one size), their alphas (uint8, one a
    frame), the durations and the loop count are what ``kind`` can hold."""
    if not frames or (alphas is not None and len(alphas) != len(frames)):
        raise ValueError(f"got {len(frames)} frames and {'no' if alphas is None else len(alphas)} alphas, "
                         "expected at least one frame and, where alphas are given, one for each")
    if len(frames) > MAX_FRAMES:
        raise VcamError(f"cannot write {path}: {len(frames)} frames, over {MAX_FRAMES}", "split it, or write a video")
    h, w = (tuple(getattr(frames[0], "shape", ())) + (0, 0))[:2]
    for name, arrays, shape in (("frame", frames, (h, w, 3)), ("alpha", alphas or [], (h, w))):
        for i, a in enumerate(arrays):
            if not (isinstance(a, np.ndarray) and a.dtype == np.uint8 and a.shape == shape and a.size):
                got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
                raise ValueError(f"{name} {i}: got {got}, expected uint8 shaped {shape} (RGB frames of one size)")
    if kind == "tiff":
        return [0] * len(frames)
    durations = [round(d) for d in durations_ms or ()]
    if len(durations) != len(frames) or not all(1 <= d <= MAX_DURATION_MS for d in durations):
        raise VcamError(f"cannot write {path}: got durations {durations[:6]}, expected {len(frames)} of "
                        f"1 to {MAX_DURATION_MS} ms", "give every frame a duration in that range")
    if isinstance(loop, bool) or not isinstance(loop, (int, np.integer)) or not 0 <= loop <= 65535:
        raise VcamError(f"cannot write {path}: got loop {loop!r}, expected 0 (forever) to 65535",
                        "give a loop count in that range")
    for i in range(1, len(frames) if kind == "webp" else 0):   # libwebp would merge the two into one
        if np.array_equal(frames[i], frames[i - 1]) and (alphas is None or np.array_equal(alphas[i], alphas[i - 1])):
            raise VcamError(f"cannot write {path} as WebP: frames {i} and {i + 1} are the same picture, which the "
                            "WebP encoder merges into one", "write .png (APNG) or .tif, or give it once for both durations")
    return durations


def _check_written(tmp: Path, path: Path, kind: str, durations: list) -> None:
    """The file at ``tmp`` read back: it must hold every frame, each lasting what was given (where
    this OpenCV cannot decode an animated WebP, by its chunks)."""
    try:
        probe = _probe(tmp, "written file")
        webp_chunks = kind == "webp" and probe.count > 1 and _webp_decoder(tmp) is None
        got = list(probe.durations) if webp_chunks else read_animation(tmp, "written file").durations_ms
    except VcamError as exc:
        raise VcamError(f"cannot write {path}: what the encoder wrote cannot be read back ({exc.problem})",
                        "nothing was replaced") from None
    if probe.count != len(durations) or (kind != "tiff" and probe.count > 1 and got != durations):
        raise VcamError(f"cannot write {path}: the encoder wrote {probe.count} frames lasting {got[:6]} ms, "
                        f"not {len(durations)} lasting {durations[:6]}", "nothing was replaced")


def write_animation(path: Path, frames: Sequence[np.ndarray], durations_ms: Optional[Sequence[int]],
                    loop: Optional[int], *, alphas: Optional[Sequence[np.ndarray]] = None,
                    kind: Optional[str] = None) -> None:
    """Write RGB uint8 ``frames`` (RGBA with uint8 ``alphas``) as an APNG, animated WebP or multi-page
    TIFF, by ``kind`` or the suffix, each frame lasting its ``durations_ms`` (1 to 65535 ms) and the
    whole played ``loop`` times (0 = forever); TIFF keeps neither. Atomic: written under a partial
    name, read back (its frame count and durations must be those given), then renamed over ``path``;
    a failing disk is told by its cause."""
    path, frames, alphas = Path(path), list(frames), None if alphas is None else list(alphas)
    kind = kind or KINDS.get(path.suffix.lower())
    if kind not in ("apng", "webp", "tiff"):
        raise VcamError(f"cannot write {path}: several frames are written only as APNG, WebP or TIFF (got "
                        f"{kind or path.suffix or 'no suffix'})", "name it .png (APNG), .webp or .tif")
    durations = _check(path, kind, frames, alphas, durations_ms, loop)
    tmp = atomic.partial_name(path)
    try:
        data = (_encode_tiff if kind == "tiff" else _encode_av)(path, kind, frames, alphas, durations, int(loop or 0))
        if not data:
            raise VcamError(f"cannot write {path}: OpenCV {cv2.__version__} could not encode it", "write .png instead")
        atomic.write_new(tmp, data)
        _check_written(tmp, path, kind, durations)
        atomic.install(tmp, path)
    except OSError as exc:
        raise write_errors.write_error(path, exc) from None
    finally:
        tmp.unlink(missing_ok=True)
