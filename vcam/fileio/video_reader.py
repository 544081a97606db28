"""Reading video files through PyAV (FFmpeg): the video stream decoded to upright RGB frames with
their own timestamps (and their own alpha, where the video has one); every other stream's
packets there for a writer to copy unchanged.

The colours are converted by FFmpeg with the matrix and range the file is tagged with (an
untagged file as players take it: BT.709 from 720 lines up, BT.601 below). A file's rotation
(phone videos) is applied to the pixels, so the person stands upright for the segmenter and in
what is written.

What a player shows is what is read:

- the video stream is the one a player picks (FFmpeg's best), never a cover picture (an
  attached picture, which FFmpeg lists as a video stream of one frame);
- frames that change size part-way (a recording that switched resolution) go on at the first
  frame's size, each scaled to fit it with its shape kept (black bars where the shapes differ),
  as a player fits them to its window and as ffmpeg scales them to its first size; said once.
  The alternative, ending or refusing the video there, would lose the rest of a recording that
  plays;
- a WebM's alpha (VP8/VP9, which FFmpeg's own decoders drop) is decoded with libvpx; a video
  with alpha (VP9, ProRes 4444, QuickTime Animation, PNG, GIF) gives it in ``alpha``;
- the file's length is what its type says: a frame count where the container keeps an exact
  one (MP4/MOV), less the frames its edit list leaves out, and the duration the header gives
  (MP4/MOV, AVI, Matroska/WebM), so a file cut short is told by :meth:`VideoReader.shortfall`
  and a stream-copied file is not.
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
ATTACHED_PIC = 1024    # AV_DISPOSITION_ATTACHED_PIC: a cover picture, listed as a video stream
SHORT_SHARE = 100      # a file is short by more than 1% of its frames or duration (and more than a frame or two)

_ROTATIONS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}

# Container signatures: a file that has one but gives no frame has no video stream FFmpeg can
# decode (an audio-only file, or a damaged one), which is not the same as not being a video.
_CONTAINERS = ((4, b"ftyp", "MP4/MOV"), (0, b"\x1a\x45\xdf\xa3", "Matroska/WebM"), (8, b"AVI ", "AVI"),
               (0, b"GIF8", "GIF"))

# FFmpeg's own VP8/VP9 decoders leave out the alpha a WebM keeps beside the picture; libvpx reads it.
_ALPHA_DECODERS = {"vp8": "libvpx", "vp9": "libvpx-vp9"}


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


def is_cover(stream) -> bool:
    """Whether ``stream`` is a cover picture (an attached picture: one image, not a video)."""
    disposition = getattr(stream, "disposition", 0) or 0
    return bool(int(getattr(disposition, "value", disposition)) & ATTACHED_PIC)


def _has_alpha(fmt) -> bool:
    """Whether frames of the pixel format ``fmt`` carry alpha (grey or colour with alpha, or a
    palette, whose entries may be transparent: a GIF's)."""
    return fmt.has_palette or len(fmt.components) in (2, 4)


class VideoReader:
    """A video file read frame by frame as RGB uint8 into one buffer, optionally looping.

    The first frame is decoded on opening (a file that gives none is refused) and is the first
    ``read()``. After each ``read()``, ``pts`` is that frame's timestamp in ``time_base``,
    ``duration`` its length where the file says it (else None) and ``alpha`` its own alpha
    (uint8, height x width) where the video has one (else None). ``on_packet``, when set, gets
    every packet of the other streams in file order, those demuxed before it was set included.
    Every frame has ``size``, the first frame's (a later one of another size is fitted to it).
    """

    def __init__(self, path: Path, what: str = "video") -> None:
        self.path = pictures.check_file(Path(path), what)
        self.what = what
        size = pictures.picture_size(self.path, what)   # an animated GIF's logical screen, before FFmpeg opens it
        if size is not None:
            pictures.check_pixels(self.path, what, *size)
        self._name, self._fd = file_names.video_file(self.path, what)
        self.container = None
        self._on_packet: Optional[Callable[[object], None]] = None   # given each av.Packet of the others
        self._early: list = []
        self._shape: Optional[tuple] = None   # (height, width) of the first upright frame: every frame's
        self._refitted: Optional[tuple] = None   # the other size said last
        self.turn = 0
        self.has_alpha = False
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

    @property
    def on_packet(self) -> Optional[Callable[[object], None]]:
        return self._on_packet

    @on_packet.setter
    def on_packet(self, take: Optional[Callable[[object], None]]) -> None:
        """``take`` gets the packets held so far at once, then each one as it is demuxed."""
        self._on_packet = take
        if take is not None:
            held, self._early = self._early, []
            for packet in held:
                take(packet)

    def cover_data(self, stream) -> Optional[bytes]:
        """The picture a cover ``stream`` holds (FFmpeg gives it first, when the file opens)."""
        for packet in self._early:
            if packet.stream.index == stream.index and packet.size:
                return bytes(packet)
        return None

    def _open(self) -> None:
        av = _av()
        try:
            self.container = _open(av, self._name)
        except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
            raise _unreadable_video(self.path, self.what, opened=False, reason=str(exc)) from None
        video = _video_stream(self.container)
        if video is None:
            raise _unreadable_video(self.path, self.what, opened=False,
                                    cover=any(is_cover(s) for s in self.container.streams))
        self.stream = video
        self.stream.thread_type = "AUTO"
        ctx = self.stream.codec_context
        if ctx.width and ctx.height:
            pictures.check_pixels(self.path, self.what, ctx.width, ctx.height)
        self._decoder = _alpha_decoder(av, self.stream, self.path) or ctx
        self.time_base: Fraction = self.stream.time_base or Fraction(1, 90000)
        # AVI's average rate counts its time base's ticks where they are not frames: its frame rate is the guessed one
        rates = (self.stream.average_rate, self.stream.guessed_rate, self.stream.base_rate)
        if "avi" in self.container.format.name.split(","):
            rates = rates[1::-1] + rates[2:]
        rate = next((r for r in rates if r), None)
        self.rate: Fraction = Fraction(rate) if rate and 0 < rate < 100000 else Fraction(30)
        self.fps = float(self.rate)
        self._length = _Length(self.container, self.stream)
        said = self.stream.frames
        self.frame_count: Optional[int] = said if said and said > 0 else None   # as the header says (AVI: in its time base)
        self.seconds = self._length.seconds
        self.frames_expected = self._length.said or (round(self.seconds * self.fps) if self.seconds else None)
        self.streams = [s for s in self.container.streams if s.index != self.stream.index]
        self.covers = [s for s in self.streams if is_cover(s)]
        self._reformat = av.video.reformatter.VideoReformatter()
        self._raw: Optional[np.ndarray] = None      # a turned or unpadded frame
        self._fitted: Optional[np.ndarray] = None   # a frame of another size, fitted to the first
        self._scaled: Optional[np.ndarray] = None   # that frame scaled, before it goes between the bars
        self._rgb: Optional[np.ndarray] = None      # the colour of a frame with alpha
        self.frame: Optional[np.ndarray] = None
        self.alpha: Optional[np.ndarray] = None
        self.pts: Optional[int] = None
        self.duration: Optional[int] = None
        self._frames = self._decode()

    def _decode(self) -> Iterator[np.ndarray]:
        av = _av()
        durations: dict = {}
        packets = self.container.demux()
        tally = self._length
        tally.restart()
        while True:
            try:
                packet = next(packets)
            except StopIteration:   # the end: what the decoder holds is flushed below
                packet = None
            except (av.FFmpegError, OSError) as exc:   # a file cut or damaged mid-way: the frames so far stand
                log.debug("%s: demuxing stopped: %s", self.path, exc)
                packet = None
            if packet is not None:
                tally.packet(packet)
                if packet.stream.index != self.stream.index:
                    self._other(packet)
                    continue
                if packet.size == 0:   # the stream's end, or an AVI's empty frame: never a flush mid-way
                    continue
                if packet.pts is not None and packet.duration:
                    durations[packet.pts] = packet.duration
            try:
                frames = self._decoder.decode(packet)
            except (av.FFmpegError, ValueError) as exc:   # one damaged packet: FFmpeg goes on with the next
                log.debug("%s: a packet did not decode: %s", self.path, exc)
                continue
            for frame in frames:
                picture = self._take(frame, durations)
                tally.frames_read += 1
                yield picture
            if packet is None:
                return

    def _other(self, packet) -> None:
        if packet.size == 0:   # the empty packet that ends each stream
            return
        if self._on_packet is not None:
            self._on_packet(packet)
        elif len(self._early) < EARLY_PACKETS:
            self._early.append(packet)

    def _take(self, frame, durations: dict) -> np.ndarray:
        """``frame`` as upright RGB: the buffer FFmpeg converted it into, or the reader's own
        where it had to be turned, fitted to the first size, split from its alpha or its rows
        were padded."""
        if self._shape is None:   # the first frame sets the turn, the size and whether there is alpha
            self.turn = rotation(frame)
            if self.turn:
                log.info("%s: turned %d degrees, as its rotation asks", self.path, self.turn)
            self.has_alpha = _has_alpha(frame.format)
        space = matrix(frame.colorspace, frame.height)
        color_range = RANGES.get(frame.color_range, "MPEG")   # untagged: limited (TV), as players take it
        converted = self._reformat.reformat(frame, format="rgba" if self.has_alpha else "rgb24", src_colorspace=space,
                                            dst_colorspace=space, src_color_range=color_range, dst_color_range="JPEG")
        view = converted.to_ndarray()   # a view of the frame FFmpeg converted into: no copy
        if self.turn:
            h, w = view.shape[:2]
            shape = (w, h, view.shape[2]) if self.turn in (90, 270) else view.shape
            if self._raw is None or self._raw.shape != shape:
                self._raw = np.empty(shape, np.uint8)
            view = cv2.rotate(view, _ROTATIONS[self.turn], dst=self._raw)
        if self._shape is None:
            self._shape = view.shape[:2]
            self.size = (view.shape[1], view.shape[0])
        elif view.shape[:2] != self._shape:
            view = self._fit(view)
        if self.has_alpha:
            if self._rgb is None:
                self._rgb = np.empty(self._shape + (3,), np.uint8)
                self.alpha = np.empty(self._shape, np.uint8)
            np.copyto(self._rgb, view[:, :, :3])
            np.copyto(self.alpha, view[:, :, 3])
            upright = self._rgb
        elif not view.flags.c_contiguous:   # rows padded by FFmpeg: one copy makes them contiguous
            if self._raw is None or self._raw.shape != view.shape:
                self._raw = np.empty(view.shape, np.uint8)
            np.copyto(self._raw, view)
            upright = self._raw
        else:
            upright = view
        self.frame = upright
        pts = frame.pts
        if pts is None:   # a frame the file gives no time: one frame after the one before, as players show it
            pts = self.pts + max(1, round(1 / self.rate / self.time_base)) if self.pts is not None else 0
        self.pts = pts
        self.duration = durations.pop(frame.pts, None) if frame.pts is not None else None
        return upright

    def _fit(self, view: np.ndarray) -> np.ndarray:
        """A frame of another size than the first, scaled to fit the first size with its shape
        kept, centred on black (and transparent) bars."""
        h, w = self._shape
        fh, fw = view.shape[:2]
        if self._refitted != (fw, fh):
            self._refitted = (fw, fh)
            log.warning("%s: its frames change size from %dx%d to %dx%d part-way: they go on at %dx%d, scaled to "
                        "fit with their shape kept, as a player shows them", self.path, w, h, fw, fh, w, h)
        scale = min(w / fw, h / fh)
        sw, sh = max(1, min(w, round(fw * scale))), max(1, min(h, round(fh * scale)))
        channels = view.shape[2]
        if self._fitted is None or self._fitted.shape[2] != channels or self._scaled.shape[:2] != (sh, sw):
            self._fitted = np.zeros((h, w, channels), np.uint8)   # the bars stay black (and transparent)
            self._scaled = np.empty((sh, sw, channels), np.uint8)
        cv2.resize(view, (sw, sh), dst=self._scaled, interpolation=cv2.INTER_AREA if sw < fw else cv2.INTER_LINEAR)
        y, x = (h - sh) // 2, (w - sw) // 2
        self._fitted[y:y + sh, x:x + sw] = self._scaled
        return self._fitted

    def read(self, *, loop: bool = False) -> Optional[np.ndarray]:
        """The next frame (RGB, valid until the next call), or None at the end."""
        if self._first_pending:
            self._first_pending = False
            return self.frame
        frame = next(self._frames, None)
        if frame is None and loop:
            self._restart()
            frame = next(self._frames, None)
        return frame

    def shortfall(self) -> Optional[str]:
        """After reading to the end: what the file says it holds and the read did not reach
        (``read 96 frames, to 3.9 s of 8.0 s``; ``read 131 of 300 frames``), or None where the
        read reached it (within 1%, and a frame or two)."""
        return self._length.shortfall()

    def _restart(self) -> None:
        """From the start again: by seeking, or by opening the file again where that fails."""
        av = _av()
        try:
            self.container.seek(0, stream=self.stream)
            self._decoder.flush_buffers()
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


def _video_stream(container):
    """The video stream a player shows: FFmpeg's best, never a cover picture; None where there
    is none."""
    videos = [s for s in container.streams.video if not is_cover(s)]
    if not videos:
        return None
    try:
        best = container.streams.best("video")
    except (AttributeError, ValueError):   # a PyAV without streams.best
        best = None
    return best if best is not None and not is_cover(best) else videos[0]


def _alpha_decoder(av, stream, path: Path):
    """A libvpx decoder for a VP8/VP9 stream that keeps alpha beside the picture (a WebM's
    ``alpha_mode``), or None where FFmpeg's own decoder gives everything."""
    name = _ALPHA_DECODERS.get(stream.codec_context.name)
    if name is None or str(stream.metadata.get("alpha_mode", "")) != "1":
        return None
    try:
        decoder = av.CodecContext.create(name, "r")
    except (av.FFmpegError, ValueError):   # an FFmpeg without libvpx: the colour only
        log.warning("%s: this FFmpeg has no %s decoder: the video's alpha is left out", path, name)
        return None
    decoder.thread_type = "AUTO"
    return decoder


def _duration_tag(stream) -> Optional[float]:
    """A Matroska track's DURATION tag (``00:00:08.000000000``), in seconds: where its last
    frame ends (FFmpeg and mkvmerge write it)."""
    for key, value in stream.metadata.items():
        if key.upper().startswith("DURATION"):
            try:
                h, m, s = str(value).split(":")
                return int(h) * 3600 + int(m) * 60 + float(s)
            except ValueError:
                return None
    return None


class _Length:
    """How long a file says its video is, by its own type's count and duration, and how much of
    it a read reached (counted as packets and frames go by).

    - MP4/MOV keep an exact frame count; an edit list can leave frames out of what is shown
      (``ffmpeg -ss ... -c copy``): FFmpeg marks those packets discarded, and they count as read.
      Where they keep none (a fragmented MP4), the video's duration (its edit list's).
    - AVI counts in its own time base, which is a frame rate only sometimes: its duration is
      checked, never its count.
    - Matroska and WebM keep no count: a track's DURATION tag, else the file's duration (all of
      its streams: the read must reach it in any stream).
    - other types (MPEG-TS, GIF...): FFmpeg estimates their length from what it reads, which says
      nothing about a cut; not checked.
    """

    def __init__(self, container, stream) -> None:
        self.index = stream.index
        self.time_base = stream.time_base or Fraction(1, 90000)
        kind = container.format.name.split(",")
        self.said: Optional[int] = None   # the frames an MP4/MOV holds
        self.end: Optional[float] = None   # where the video (or, with whole_file, every stream) should end
        self.whole_file = False
        start = float(stream.start_time * self.time_base) if stream.start_time is not None else 0.0
        if "mov" in kind or "mp4" in kind or "avi" in kind:
            said = stream.frames
            if "avi" not in kind and said and said > 0:
                self.said = said   # every frame there, each one counted: no duration needed
            elif stream.duration:
                self.end = start + float(stream.duration * self.time_base)
        elif "matroska" in kind or "webm" in kind:
            self.end = _duration_tag(stream)
            if self.end is None and container.duration:
                self.end = (container.start_time or 0) / 1e6 + container.duration / 1e6
                self.whole_file = True
        self.start = start
        self.seconds: Optional[float] = self.end - start if self.end is not None and self.end > start else None
        self.restart()

    def restart(self) -> None:
        """Counting from the start again (a video that loops)."""
        self.frames_read = 0   # frames decoded (``said`` is what the file says it holds)
        self.discarded = 0     # packets an edit list leaves out
        self.video_end: Optional[float] = None
        self.data_end: Optional[float] = None
        self.first: Optional[float] = None
        self._bases: dict = {}

    def packet(self, packet) -> None:
        if packet.size == 0:
            return
        video = packet.stream.index == self.index
        if video and getattr(packet, "is_discard", False):
            self.discarded += 1
            return
        at = packet.pts if packet.pts is not None else packet.dts
        if at is None:
            return
        base = self._bases.get(packet.stream.index)
        if base is None:
            base = self._bases[packet.stream.index] = float(packet.stream.time_base or self.time_base)
        end = (at + (packet.duration or 0)) * base
        self.data_end = end if self.data_end is None else max(self.data_end, end)
        if video:
            self.video_end = end if self.video_end is None else max(self.video_end, end)
            self.first = at * base if self.first is None else min(self.first, at * base)

    def shortfall(self) -> Optional[str]:
        read = self.frames_read
        if self.said:
            shown = self.said - self.discarded
            if read < shown - max(1, shown // SHORT_SHARE):
                return f"read {read} of {shown} frames"
        reached = self.data_end if self.whole_file else self.video_end
        if self.end is None or self.seconds is None or reached is None:
            return None
        step = (reached - self.first) / read if read and self.first is not None and reached > self.first else 0.0
        if reached < self.end - max(2 * step, self.seconds / SHORT_SHARE):
            return f"read {read} frames, to {reached - self.start:.1f} s of {self.seconds:.1f} s"
        return None


def _unreadable_video(path: Path, what: str, opened: bool, reason: str = "", cover: bool = False) -> VcamError:
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
    if cover:
        return VcamError(f"{what} {path} ({kind}) holds no video, only a cover picture (a music file?)",
                         "give a video file")
    return VcamError(f"{what} {path} ({kind}) has no video stream that can be decoded (an audio-only, "
                     "damaged or cut file)", "check that the video plays, or convert it to H.264 .mp4")
