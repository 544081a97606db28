"""Reading video files through PyAV (FFmpeg): the video stream decoded to upright RGB frames with
their own timestamps; every other stream's packets there for a writer to copy unchanged.

The colours are converted by FFmpeg with the matrix and range the file is tagged with (an
untagged file as players take it: BT.709 from 720 lines up, BT.601 below). A file's rotation
(phone videos) is applied to the pixels, so the person stands upright for the segmenter and in
what is written.
"""
from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator, Optional

import cv2
import numpy as np

from vcam.errors import VcamError
from vcam.fileio import file_names, pictures, pyav

log = logging.getLogger(__name__)

HD_LINES = 720    # from this height up an untagged video is BT.709, below it BT.601
EARLY_PACKETS = 4096   # packets of other streams held until a writer asks for them

_ROTATIONS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}

# Container signatures: a file that has one but gives no frame has no video stream FFmpeg can
# decode (an audio-only file, or a damaged one), which is not the same as not being a video.
_CONTAINERS = ((4, b"ftyp", "MP4/MOV"), (0, b"\x1a\x45\xdf\xa3", "Matroska/WebM"), (8, b"AVI ", "AVI"),
               (0, b"GIF8", "GIF"))


def _av():
    return pyav.import_av()


# FFmpeg's colour matrices (AVColorSpace) -> swscale's (SWS_CS_*), for the ones PyAV names.
_MATRICES = {1: "ITU709", 4: "FCC", 5: "ITU601", 6: "ITU601", 7: "SMPTE240M"}
RANGES = {1: "MPEG", 2: "JPEG"}   # AVColorRange: limited (TV), full (PC)


def matrix(colorspace: int, height: int) -> str:
    """The swscale matrix for a frame tagged ``colorspace`` (an untagged one by its height)."""
    return _MATRICES.get(colorspace, "ITU709" if height >= HD_LINES else "ITU601")


def rotation(frame) -> int:
    """The clockwise turn (0, 90, 180 or 270 degrees) that shows a frame as its display matrix
    asks, as ffmpeg's autorotate turns it (PyAV gives the matrix's counter-clockwise angle)."""
    return int(round(-(frame.rotation or 0) / 90)) % 4 * 90


class VideoReader:
    """A video file read frame by frame as RGB uint8 into one buffer, optionally looping.

    The first frame is decoded on opening (a file that gives none is refused) and is the first
    ``read()``. After each ``read()``, ``pts`` is that frame's timestamp in ``time_base`` and
    ``duration`` its length where the file says it (else None). ``on_packet``, when set, gets
    every packet of the other streams in file order, those demuxed before it was set included.
    """

    def __init__(self, path: Path, what: str = "video") -> None:
        self.path = pictures.check_file(Path(path), what)
        self.what = what
        size = pictures.picture_size(self.path, what)   # an animated GIF's logical screen, before FFmpeg opens it
        if size is not None:
            pictures.check_pixels(self.path, what, *size)
        self._name, self._fd = file_names.video_file(self.path, what)
        self.container = None
        self.on_packet: Optional[Callable[[object], None]] = None   # given each av.Packet of the others
        self._early: list = []
        try:
            self._open()
            first = next(self._frames, None)
        except VcamError:
            self.close()
            raise
        if first is None:
            self.close()
            raise _unreadable_video(self.path, what, opened=True)
        self._first_pending = True

    def _open(self) -> None:
        av = _av()
        try:
            self.container = _open(av, self._name)
        except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
            raise _unreadable_video(self.path, self.what, opened=False, reason=str(exc)) from None
        if not self.container.streams.video:
            raise _unreadable_video(self.path, self.what, opened=False)
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        ctx = self.stream.codec_context
        if ctx.width and ctx.height:
            pictures.check_pixels(self.path, self.what, ctx.width, ctx.height)
        self.time_base: Fraction = self.stream.time_base or Fraction(1, 90000)
        rate = self.stream.average_rate or self.stream.guessed_rate or self.stream.base_rate
        self.rate: Fraction = Fraction(rate) if rate and 0 < rate < 100000 else Fraction(30)
        self.fps = float(self.rate)
        said = self.stream.frames
        self.frame_count: Optional[int] = said if said and said > 0 else None
        self.seconds = _seconds(self.container, self.stream)
        self.frames_expected = self.frame_count or (round(self.seconds * self.fps) if self.seconds else None)
        self.streams = [s for s in self.container.streams if s.index != self.stream.index]
        self._reformat = av.video.reformatter.VideoReformatter()
        self._raw: Optional[np.ndarray] = None
        self._shape: Optional[tuple] = None
        self.frame: Optional[np.ndarray] = None
        self.pts: Optional[int] = None
        self.duration: Optional[int] = None
        self.turn = 0
        self._frames = self._decode()

    def _decode(self) -> Iterator[np.ndarray]:
        av = _av()
        durations: dict = {}
        packets = self.container.demux()
        count = 0
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except (av.FFmpegError, OSError) as exc:   # a file cut or damaged mid-way: the frames so far stand
                log.debug("%s: demuxing stopped: %s", self.path, exc)
                packet = None
            if packet is not None and packet.stream.index != self.stream.index:
                self._other(packet)
                continue
            if packet is not None and packet.pts is not None and packet.duration:
                durations[packet.pts] = packet.duration
            try:
                frames = packet.decode() if packet is not None else self.stream.codec_context.decode(None)
            except (av.FFmpegError, ValueError) as exc:   # one damaged packet: FFmpeg goes on with the next
                log.debug("%s: a packet did not decode: %s", self.path, exc)
                continue
            for frame in frames:
                yield self._take(frame, count, durations)
                count += 1
            if packet is None:
                return

    def _other(self, packet) -> None:
        if packet.size == 0:   # the empty packet that ends each stream
            return
        if self.on_packet is not None:
            if self._early:
                for held in self._early:
                    self.on_packet(held)
                self._early = []
            self.on_packet(packet)
        elif len(self._early) < EARLY_PACKETS:
            self._early.append(packet)

    def _take(self, frame, count: int, durations: dict) -> np.ndarray:
        """``frame`` as upright RGB: the buffer FFmpeg converted it into, or the reader's own
        where it had to be turned or its rows were padded."""
        space = matrix(frame.colorspace, frame.height)
        color_range = RANGES.get(frame.color_range, "MPEG")   # untagged: limited (TV), as players take it
        rgb = self._reformat.reformat(frame, format="rgb24", src_colorspace=space, dst_colorspace=space,
                                      src_color_range=color_range, dst_color_range="JPEG")
        view = rgb.to_ndarray()   # a view of the frame FFmpeg converted into: no copy
        if self._shape != view.shape:   # the first frame (a later change of size ends the video)
            self._shape = view.shape
            self.turn = rotation(frame)
            if self.turn:
                log.info("%s: turned %d degrees, as its rotation asks", self.path, self.turn)
            shape = (view.shape[1], view.shape[0], 3) if self.turn in (90, 270) else view.shape
            self._raw = np.empty(shape, np.uint8) if self.turn or not view.flags.c_contiguous else None
        if self.turn:
            upright = cv2.rotate(view, _ROTATIONS[self.turn], dst=self._raw)
        elif self._raw is not None:   # rows padded by FFmpeg: one copy makes them contiguous
            np.copyto(self._raw, view)
            upright = self._raw
        else:
            upright = view
        self.frame = upright
        self.size = (upright.shape[1], upright.shape[0])
        pts = frame.pts
        self.pts = pts if pts is not None else round(count / self.rate / self.time_base)
        self.duration = durations.pop(pts, None) if pts is not None else None
        return upright

    def read(self, *, loop: bool = False) -> Optional[np.ndarray]:
        """The next frame (RGB, valid until the next call), or None at the end."""
        if self._first_pending:
            self._first_pending = False
            return self.frame
        frame = next(self._frames, None)
        if frame is None and loop:
            self._restart()
            frame = next(self._frames, None)
        if frame is None or frame.shape != self.frame.shape:
            return None
        return frame

    def _restart(self) -> None:
        """From the start again: by seeking, or by opening the file again where that fails."""
        av = _av()
        try:
            self.container.seek(0, stream=self.stream)
            self.stream.codec_context.flush_buffers()
            self._frames = self._decode()
        except (av.FFmpegError, OSError):
            self.container.close()
            self._open()

    def close(self) -> None:
        """Safe twice."""
        if self.container is not None:
            self.container.close()
            self.container = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _open(av, name: str):
    """``av.open`` for reading, with tags that are not UTF-8 replaced, not refused (PyAV 15 to
    18 take ``metadata_errors``; from 19 on that is how it always reads them)."""
    try:
        return av.open(name, metadata_errors="replace")
    except TypeError:
        return av.open(name)


def _seconds(container, stream) -> Optional[float]:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return None


def _unreadable_video(path: Path, what: str, opened: bool, reason: str = "") -> VcamError:
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        return VcamError(f"{what} {path} cannot be read ({exc.strerror})", "check that you may read it")
    kind = next((name for at, sig, name in _CONTAINERS if head[at:at + len(sig)] == sig), None)
    if kind is None:
        return VcamError(f"{what} {path} is not a video file FFmpeg can read",
                         "give an .mp4, .mov, .mkv, .webm, .avi or .gif file")
    if opened:
        return VcamError(f"{what} {path} ({kind}) holds no frames that can be decoded",
                         "give a video with at least one frame; check that it plays")
    return VcamError(f"{what} {path} ({kind}) has no video stream that can be decoded (an audio-only, "
                     "damaged or cut file)", "check that the video plays, or convert it to H.264 .mp4")


def short_read(read: int, said: int) -> bool:
    """Whether ``read`` frames fall short of the ``said`` count in a file's header, beyond the
    rounding some containers have in it (1%, at least one frame)."""
    return said > 0 and read < said - max(1, said // 100)
