"""Writing video files through PyAV (FFmpeg): H.264 by default, any frame timing, the colour
matrix tagged, transparency where the codec has it, and a source's other streams copied in.

A file is written under a partial name and checked (:func:`vcam.fileio.video_check.check_video`) before it
takes its own, so an earlier file of that name is only ever replaced by a complete one.

Frame times are kept as players will show them: the encoder is given the frames one frame apart
(its reordering delay is counted in frames, never in the gaps between them: an hour's gap would
otherwise push the first frames an hour before the video starts) and each packet gets its
frame's own time back; a time that does not move on (a splice, a clock reset) follows the frame
before by one frame, said once; a gap longer than the type can hold (MP4/MOV count 2^31 ticks of
their clock between two frames) is refused with the type that holds it. A cover picture is kept
as a cover where the type holds one (.mp4, .m4v, .mkv), and otherwise left out and said.
"""
from __future__ import annotations

import errno
import functools
import io
import logging
import os
from array import array
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Optional

import numpy as np

from vcam.errors import VcamError
from vcam.fileio import atomic, file_names, pyav, user_paths, video_check, write_errors
from vcam.fileio.video_reader import ATTACHED_PIC, HD_LINES, is_cover  # HD_LINES: BT.709 from here up, BT.601 below

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Codec:
    encoder: str                 # FFmpeg's encoder
    pix_fmt: str                 # the pixels it is given
    alpha_pix_fmt: Optional[str]   # with transparency; None where the codec has none
    crf: Optional[int]           # default quality (lower is better); None where it takes none
    crf_range: tuple[int, int] = (0, 51)
    options: dict = field(default_factory=dict)
    qscale: Optional[int] = None   # a fixed quantiser, for codecs without a CRF (1 best, 31 worst)
    full_range: bool = False       # JPEG's 0-255 levels rather than video's 16-235


CODECS = {
    "h264": Codec("libx264", "yuv420p", None, 20, (0, 51), {"preset": "veryfast"}),
    "hevc": Codec("libx265", "yuv420p", None, 24, (0, 51), {"preset": "veryfast", "x265-params": "log-level=error"}),
    "vp9": Codec("libvpx-vp9", "yuv420p", "yuva420p", 32, (0, 63),
                 {"b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"}),
    "prores": Codec("prores_ks", "yuv422p10le", "yuva444p10le", None, (0, 0), {"profile": "3"}),
    # every frame a JPEG: what AVI plays best (FFmpeg reads H.264 in AVI a frame late)
    "mjpeg": Codec("mjpeg", "yuvj420p", None, None, (0, 0), qscale=3, full_range=True),
}
# The codec each video type gets by default, and the one with transparency for a cut-out.
DEFAULT_CODEC = {".mp4": "h264", ".m4v": "h264", ".mov": "h264", ".mkv": "h264", ".avi": "mjpeg", ".webm": "vp9"}
ALPHA_CODEC = {".webm": "vp9", ".mov": "prores", ".mkv": "vp9"}
FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi", ".webm": "webm"}
SUFFIXES = tuple(DEFAULT_CODEC)
FASTSTART = ("mp4", "mov")   # the index moved to the front: a file plays while it downloads
AUDIO_FOR = {"webm": ("libopus", "opus"), "avi": ("libmp3lame", "mp3")}   # else AAC
AUDIO_RATE = "192k"
MIN_SIDE = {"hevc": 16}   # x265 takes no side under 16 pixels; the others take 2, the least YUV 4:2:0 has
MOV_TICKS = 2**31 - 1     # MP4/MOV hold at most this many ticks of their clock between two frames
# Cover pictures a type keeps: MP4's iTunes cover takes JPEG, PNG and BMP; Matroska keeps any
# picture as an attachment (its name and type).
COVERS_MP4 = ("mjpeg", "png", "bmp")
COVER_FILES = {"mjpeg": ("cover.jpg", "image/jpeg"), "png": ("cover.png", "image/png"), "bmp": ("cover.bmp", "image/bmp"),
               "gif": ("cover.gif", "image/gif"), "webp": ("cover.webp", "image/webp"), "tiff": ("cover.tif", "image/tiff")}


@dataclass(frozen=True)
class VideoFormat:
    """What the user asked of a video file: a codec (None: the type's default), a quality."""
    codec: Optional[str] = None
    crf: Optional[int] = None
    audio: bool = True


def _av():
    return pyav.import_av()


def choose(path: Path, fmt: VideoFormat, alpha: bool) -> str:
    """The codec name for ``path``, or one :class:`VcamError` saying why it cannot be."""
    suffix = path.suffix.lower()
    if suffix not in DEFAULT_CODEC:
        raise VcamError(f"cannot write video {path}: unknown type {suffix or '(none)'}",
                        f"name it with one of: {', '.join(SUFFIXES)}")
    name = fmt.codec or (ALPHA_CODEC.get(suffix) if alpha else DEFAULT_CODEC[suffix])
    if name is None:
        raise VcamError(f"a cut-out video needs transparency, and {suffix} files have none",
                        "name it .webm (VP9 with alpha) or .mov (ProRes 4444), or give a folder for PNG frames")
    if name not in CODECS:
        raise VcamError(f"unknown --codec {name!r}", f"expected one of: {', '.join(CODECS)}")
    codec = CODECS[name]
    if alpha and codec.alpha_pix_fmt is None:
        raise VcamError(f"a cut-out video needs transparency, and {name} has none",
                        "use --codec vp9 (.webm, .mkv) or --codec prores (.mov)")
    if fmt.crf is not None:
        low, high = codec.crf_range
        if codec.crf is None:
            raise VcamError(f"--crf does not apply to {name} (it is a fixed-quality codec)", "leave --crf out")
        if not low <= fmt.crf <= high:
            raise VcamError(f"--crf {fmt.crf} is out of range for {name}", f"give {low} to {high} (lower is better)")
    return name


def check(path: Path, fmt: VideoFormat, alpha: bool) -> str:
    """The codec for ``path`` (:func:`choose`), refused where the container cannot hold it
    (prores in .mp4), before anything is written."""
    name = choose(path, fmt, alpha)
    av = _av()
    kind = FORMATS[path.suffix.lower()]
    holds = name in av.open(io.BytesIO(), "w", format=kind).supported_codecs
    if not holds:
        raise VcamError(f"a {path.suffix} file cannot hold {name} video",
                        "use another --codec, or a .mkv or .mov name")
    return name


def _tags(height: int) -> tuple[str, int]:
    """(swscale matrix, the AVColorSpace/primaries/transfer tag) for ``height``: BT.709 (1) for
    HD, BT.601 as SMPTE 170M (6) below."""
    return ("ITU709", 1) if height >= HD_LINES else ("ITU601", 6)


class VideoWriter:
    """A video file of ``size`` frames (RGB, or RGBA with ``alpha``) at ``rate``, timed in
    ``time_base``. ``source``, a :class:`vcam.fileio.video_reader.VideoReader`, gives the streams to copy:
    its packets come through :meth:`copy`, every audio stream unchanged (re-encoded, and said,
    only where this type of file cannot hold its codec), subtitles and data where the type can
    hold them."""

    def __init__(self, path: Path, size: tuple[int, int], rate: Fraction, *, time_base: Optional[Fraction] = None,
                 fmt: VideoFormat = VideoFormat(), alpha: bool = False, source=None, what: str = "video") -> None:
        self._av = av = _av()
        self.path = Path(path).expanduser()
        self.codec = check(self.path, fmt, alpha)
        user_paths.output_file(self.path, what)
        self.name = str(self.path)
        self.size = width, height = even_size(int(size[0]), int(size[1]), f"video {self.path.name}")
        least = MIN_SIDE.get(self.codec, 2)
        if min(width, height) < least:
            raise VcamError(f"--codec {self.codec} needs frames of at least {least}x{least} pixels, and these are "
                            f"{width}x{height}", "use --codec h264, which takes frames from 2x2 pixels")
        self.alpha = alpha
        self.rate = Fraction(rate).limit_denominator(1_000_000) if rate else Fraction(30)
        self.time_base = time_base or 1 / self.rate   # the units of the times given to write()
        # AVI has no timestamps, only a frame rate: its frames are counted at ``rate`` (a fine
        # time base there would be taken as the rate, and the gaps filled with empty frames)
        self._kind = kind = FORMATS[self.path.suffix.lower()]
        self._written_base = 1 / self.rate if kind == "avi" else self.time_base
        self._tmp, self._folder_fd = _partial(self.path)
        options = {"movflags": "+faststart"} if kind in FASTSTART else {}
        try:
            self._out = av.open(self._writable_name(), "w", format=kind, options=options)
        except (av.FFmpegError, OSError) as exc:
            self._drop()
            raise self._failed(exc) from None
        self.frames = 0
        self.copied: dict[int, int] = {}
        self.times = array("q")    # each frame's time as written, in the written time base: checked at the end
        self._at: dict[int, int] = {}          # frame number -> its time, until its packets are muxed
        self._durations: dict[int, int] = {}   # frame number -> how long that frame lasts
        self._frame_ticks = max(1, round(1 / self.rate / self._written_base))
        self._last_pts: Optional[int] = None
        self._offset = 0           # how far frames move on after the times went back
        self._last_dts: Optional[int] = None
        self._end = 0              # where the last frame ends, in the written time base
        self._start = 1 << 62      # the first frame's time
        self._first_dts = None     # the first packet's decoding time
        self._held = None          # the newest packet, muxed when the next one comes
        self._even: Optional[np.ndarray] = None   # a frame with an odd side, cut to even ones
        self._copy_times: dict[int, tuple[int, int]] = {}   # a copied stream's (last dts, offset)
        self._attached: set[int] = set()   # covers written with the header (Matroska attachments)
        self._limit: Optional[int] = None   # the longest gap the type holds, in the written time base
        try:
            self._video = self._video_stream(fmt, width, height, source)
            self._copies = self._streams(source, fmt.audio) if source is not None else {}
            if source is not None:
                self._copies.update(self._covers(source))
            self._out.start_encoding()   # the header: the muxer's own clock is known from here
        except av.FFmpegError as exc:
            self.close(keep=False)
            raise self._failed(exc) from None
        except BaseException:
            self.close(keep=False)
            raise
        if kind in FASTSTART:
            self._limit = int(MOV_TICKS * self._video.time_base / self._written_base)
        self._reformat = av.video.reformatter.VideoReformatter()
        self._matrix = _tags(height)[0]
        self._range = "JPEG" if CODECS[self.codec].full_range else "MPEG"

    def _failed(self, exc: Exception) -> VcamError:
        """One error for a write that failed, by its cause (FFmpeg's errors carry an errno)."""
        if write_errors.disk_full(self.path.parent):
            what, fix = write_errors.cause(OSError(errno.ENOSPC, "full"))
        elif isinstance(exc, OSError) and exc.errno:
            what, fix = write_errors.cause(exc)
        else:
            what, fix = f"the encoder failed ({exc})", "try another --codec or folder"
        return VcamError(f"cannot write {self.path}: {what}", f"{fix}; nothing was replaced")

    def _writable_name(self) -> str:
        return f"/proc/self/fd/{self._folder_fd}/{self._tmp.name}" if self._folder_fd is not None else str(self._tmp)

    def _video_stream(self, fmt: VideoFormat, width: int, height: int, source):
        codec = CODECS[self.codec]
        options = dict(codec.options)
        crf = fmt.crf if fmt.crf is not None else codec.crf
        if crf is not None:
            options["crf"] = str(crf)
        if self.alpha and self.codec == "prores":
            options["profile"] = "4"   # 4444, the ProRes with alpha
        stream = self._out.add_stream(codec.encoder, rate=self.rate, options=options)
        stream.width, stream.height = width, height
        stream.pix_fmt = codec.alpha_pix_fmt if self.alpha else codec.pix_fmt
        stream.time_base = self._written_base
        ctx = stream.codec_context
        ctx.time_base = self._written_base
        tag = _tags(height)[1]
        ctx.colorspace = ctx.color_primaries = ctx.color_trc = tag
        ctx.color_range = 2 if codec.full_range else 1
        if codec.qscale is not None:
            ctx.qscale = True
            ctx.qmin = ctx.qmax = codec.qscale
        if self.codec == "hevc" and self.path.suffix.lower() in (".mp4", ".m4v", ".mov"):
            ctx.codec_tag = "hvc1"   # what Apple's players need to play HEVC
        if source is not None:
            sar = source.stream.codec_context.sample_aspect_ratio
            if sar and source.turn in (0, 180):
                ctx.sample_aspect_ratio = sar
            _copy_metadata(source.stream, stream)
            self._out.metadata.update({k: v for k, v in source.container.metadata.items() if k != "encoder"})
        return stream

    def _streams(self, source, audio: bool) -> dict:
        """The output stream for each source stream copied or re-encoded, by the source's index."""
        copies, left = {}, []
        supported = self._out.supported_codecs
        for s in source.streams:
            name = s.codec_context.name if s.codec_context is not None else "data"
            where = f"stream {s.index} ({s.type}, {name})"
            if is_cover(s):
                continue   # :meth:`_covers`
            if s.type == "audio" and not audio:
                left.append(f"{where}: --no-audio")
            elif name in supported:
                try:
                    copies[s.index] = _copied(self._out, s)
                    _copy_metadata(s, copies[s.index])
                except (ValueError, self._av.FFmpegError) as exc:
                    left.append(f"{where}: {exc}")
                else:
                    if s.type == "video":
                        log.warning("%s: %s copied as it is: vcam processes one video stream (stream %d)",
                                    self.path, where, source.stream.index)
            elif s.type == "audio":
                copies[s.index] = _Transcode(self._out, s, self.path.suffix.lower())
                log.warning("%s: audio %s cannot go into a %s file unchanged: re-encoded as %s %s (a .mkv or .mov "
                            "keeps it as it is)", self.path, where, self.path.suffix, copies[s.index].codec, AUDIO_RATE)
            else:
                left.append(f"{where}: a {self.path.suffix} file cannot hold it")
        for line in left:
            log.warning("%s: left out %s", self.path, line)
        return copies

    def _covers(self, source) -> dict:
        """An output stream for each cover picture of ``source`` the type keeps (an MP4's cover, a
        Matroska attachment); the others are left out, and that is said."""
        covers = {}
        for s in source.covers:
            name = s.codec_context.name if s.codec_context is not None else "data"
            where = f"the cover picture (stream {s.index}, {name})"
            data = source.cover_data(s)
            if data is None:
                log.warning("%s: left out %s: it holds no picture", self.path, where)
            elif self._kind == "mp4" and name in COVERS_MP4:
                covers[s.index] = stream = self._out.add_stream_from_template(s)
                _copy_metadata(s, stream)
                stream.disposition = ATTACHED_PIC
            elif self._kind == "matroska" and name in COVER_FILES and hasattr(self._out, "add_attachment"):
                filename, mimetype = COVER_FILES[name]
                covers[s.index] = self._out.add_attachment(str(s.metadata.get("filename") or filename),
                                                           str(s.metadata.get("mimetype") or mimetype), data)
                self._attached.add(s.index)
                self.copied[s.index] = 1
            else:
                log.warning("%s: left out %s: a %s file cannot hold it (.mp4 and .mkv keep a cover)",
                            self.path, where, self.path.suffix)
        return covers

    def copy(self, packet) -> None:
        """A packet of the source's other streams, into its copy (unknown ones are dropped). A
        cover's packet is its picture; a packet whose time goes back moves on with its stream
        (as the video's frames do)."""
        index = packet.stream.index
        out = self._copies.get(index)
        if out is None or index in self._attached:
            return
        cover = is_cover(packet.stream)
        if packet.dts is None and not cover:
            return
        if not cover and not isinstance(out, _Transcode):
            self._follow_on(packet)
        try:
            if isinstance(out, _Transcode):
                out.send(packet)
            else:
                packet.stream = out
                self._out.mux(packet)
        except (self._av.FFmpegError, OSError) as exc:
            raise self._failed(exc) from None
        self.copied[index] = self.copied.get(index, 0) + 1

    def _follow_on(self, packet) -> None:
        """A copied packet whose time goes back (a spliced file) moves on to follow the one
        before, and the stream's later packets with it."""
        index = packet.stream.index
        last, offset = self._copy_times.get(index, (None, 0))
        dts = packet.dts + offset
        if last is not None and dts < last:
            offset += last + max(1, packet.duration or 0) - dts
        if offset:
            packet.dts += offset
            if packet.pts is not None:
                packet.pts += offset
        self._copy_times[index] = (packet.dts, offset)

    def write(self, picture: np.ndarray, pts: Optional[int] = None, duration: Optional[int] = None) -> None:
        """One frame (RGB, or RGBA for a transparent video), at ``pts`` in ``time_base`` (None:
        the next frame at ``rate``); ``duration``, where the source says it, in the same units."""
        w, h = self.size
        if pts is None:
            pts = self._last_pts + self._frame_ticks if self._last_pts is not None else 0
        elif self._written_base != self.time_base:
            pts = round(pts * self.time_base / self._written_base)
            duration = None
        pts = self._place(pts)
        n = self.frames
        if n - 1 in self._durations:
            self._durations[n - 1] = pts - self._last_pts   # a frame lasts until the next
        self._durations[n] = duration or self._frame_ticks   # until a next one says otherwise
        self._at[n] = pts
        self.times.append(pts)
        self._last_pts = pts
        if picture.shape[:2] != (h, w):   # an odd side: cut into a buffer kept for it
            if self._even is None:
                self._even = np.empty((h, w, picture.shape[2]), np.uint8)
            np.copyto(self._even, picture[:h, :w])
            picture = self._even
        frame = self._av.VideoFrame.from_numpy_buffer(picture, format="rgba" if picture.shape[2] == 4 else "rgb24")
        frame = self._reformat.reformat(frame, format=self._video.pix_fmt, src_colorspace=self._matrix,
                                        dst_colorspace=self._matrix, src_color_range="JPEG", dst_color_range=self._range)
        frame.pts = n * self._frame_ticks   # the encoder counts frames: :meth:`_mux` gives each its time back
        frame.time_base = self._written_base
        try:
            self._mux(self._video.encode(frame))
        except (self._av.FFmpegError, OSError) as exc:   # a full disk, mid-way
            raise self._failed(exc) from None
        self.frames += 1

    def _place(self, pts: int) -> int:
        """``pts`` after the frame before, as players show frames: a time that does not move on
        (a splice, a clock reset, a repeat) follows the frame before by one frame, and the frames
        after it move on with it; said once. AVI, counted at one rate, takes the next slot."""
        pts += self._offset
        last = self._last_pts
        if last is None or pts > last:
            return pts
        if self._kind == "avi":
            return last + 1
        moved = last + self._frame_ticks - pts
        if not self._offset:
            base = self._written_base
            log.warning("%s: frame %d is timed at %.3f s, not after frame %d (%.3f s): the times go back or repeat "
                        "there (a splice?); it and the frames after it follow on, so that players show each one",
                        self.path, self.frames + 1, float((pts - self._offset) * base), self.frames, float(last * base))
        self._offset += moved
        return pts + moved

    def _timed(self, packet) -> None:
        """The encoder's packet (timed in frames) with its frame's own time, a decoding time that
        comes before it and after the packet before, and its duration."""
        ticks = self._frame_ticks
        n = round(packet.pts / ticks)
        pts = self._at[n]
        d = packet.dts // ticks if packet.dts is not None else n
        dts = self._at[d] if d in self._at else self._at.get(0, pts) + d * ticks
        dts = min(dts, pts)
        if self._last_dts is not None and dts <= self._last_dts:
            dts = self._last_dts + 1
        for done in [k for k in self._at if k < d]:   # later packets decode after this one: their frames are later
            del self._at[done]
        packet.pts, packet.dts = pts, dts
        packet.duration = self._durations.pop(n, ticks)
        if self._limit is not None:
            gap = max(packet.duration, pts - dts, dts - self._last_dts if self._last_dts is not None else 0)
            if gap > self._limit:
                raise self._too_far(gap)
        self._last_dts = dts

    def _too_far(self, gap: int) -> VcamError:
        seconds = float(gap * self._written_base)
        most = float(self._limit * self._written_base) / 3600
        return VcamError(f"cannot write {self.path}: two of its frames are {seconds:,.0f} s apart, more than a "
                         f"{self.path.suffix} file can hold ({most:.1f} hours)",
                         "name it .mkv, which holds any timing; nothing was replaced")

    def _mux(self, packets) -> None:
        """Each packet with its frame's time and duration, the newest held back for :meth:`_finish`."""
        for packet in packets:
            self._timed(packet)
            self._end = max(self._end, packet.pts + packet.duration)
            if self._first_dts is None:
                self._first_dts = packet.dts
            self._start = min(self._start, packet.pts)
            if self._held is not None:
                self._out.mux(self._held)
            self._held = packet

    def _finish(self) -> None:
        self._mux(self._video.encode(None))
        if self._held is not None:
            if self._out.format.name.split(",")[0] in FASTSTART:
                # MP4 times each sample until the next one's decoding time, which B-frames shift
                # from the presentation times: the last sample is made to end the presentation,
                # so a video with uneven frame times keeps its duration.
                span = self._held.dts - self._first_dts
                self._held.duration = max(1, self._end - self._start - span)
                if self._limit is not None and self._held.duration > self._limit:
                    raise self._too_far(self._held.duration)
            self._out.mux(self._held)
            self._held = None
        for transcode in self._copies.values():
            if isinstance(transcode, _Transcode):
                transcode.flush()

    def close(self, *, keep: bool = True) -> None:
        """Finish the file, check it and rename it into place; with ``keep=False`` (or no frame
        written) nothing is left behind. A file that does not hold every frame written is
        removed with one :class:`VcamError` naming the cause; an earlier file stays as it was."""
        if self._out is None:
            return
        av = self._av
        try:
            try:
                if keep and self.frames:
                    self._finish()
                # the streams' indices, read while they are open (PyAV 19 refuses after)
                streams = {self._copies[i].index: n for i, n in self.copied.items()
                           if not isinstance(self._copies[i], _Transcode)}
                out, self._out = self._out, None
                out.close()
            except (av.FFmpegError, OSError) as exc:
                self._out = None
                if not keep:
                    return
                raise self._failed(exc) from None
            if keep and self.frames:
                video_check.check_video(self._writable_name(), self.path, self.frames, self.size,
                                        alpha=self.alpha, copied=streams, times=(self.times, self._written_base))
                try:
                    atomic.install(self._tmp, self.path)
                except OSError as exc:
                    raise write_errors.write_error(self.path, exc) from None
        finally:
            self._drop()

    def _drop(self) -> None:
        try:
            self._tmp.unlink(missing_ok=True)
        except OSError:
            pass
        if self._folder_fd is not None:
            os.close(self._folder_fd)
            self._folder_fd = None


def probe_h264() -> None:
    """Encode one small H.264 frame in memory and decode it back; raises where that fails."""
    av = _av()
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream(CODECS["h264"].encoder, rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 128, np.uint8), format="rgb24")
        for packet in [*stream.encode(frame.reformat(format="yuv420p")), *stream.encode(None)]:
            out.mux(packet)
    buffer.seek(0)
    with av.open(buffer) as back:
        if not any(True for _ in back.decode(video=0)):
            raise RuntimeError("the frame did not decode")


class _Transcode:
    """An audio stream the output type cannot hold as it is, decoded and encoded again."""

    def __init__(self, out, source, suffix: str) -> None:
        av = _av()
        encoder, self.codec = AUDIO_FOR.get(FORMATS[suffix], ("aac", "AAC"))
        ctx = source.codec_context
        rate = 48000 if encoder == "libopus" else (ctx.sample_rate or 48000)
        self.stream = out.add_stream(encoder, rate=rate)
        layout = ctx.layout.name if ctx.layout is not None else "stereo"
        self.stream.layout = layout
        self.stream.bit_rate = int(AUDIO_RATE.rstrip("k")) * 1000
        self.index = self.stream.index
        _copy_metadata(source, self.stream)
        self._decoder = av.CodecContext.create(ctx.name, "r")
        self._decoder.extradata = ctx.extradata
        self._decoder.sample_rate, self._decoder.layout = ctx.sample_rate, ctx.layout
        self._resample = av.AudioResampler(format=self.stream.codec_context.format, layout=layout, rate=rate)
        self._out = out

    def send(self, packet) -> None:
        for frame in self._decoder.decode(packet):
            frame.pts = None
            self._encode(self._resample.resample(frame))

    def _encode(self, frames) -> None:
        for frame in frames:
            for packet in self.stream.encode(frame):
                self._out.mux(packet)

    def flush(self) -> None:
        self._encode(self._resample.resample(None))
        for packet in self.stream.encode(None):
            self._out.mux(packet)


def _copied(out, source):
    """An output stream that takes ``source``'s packets as they are."""
    stream = out.add_stream_from_template(source)
    ctx = stream.codec_context
    if ctx is not None:
        if source.type == "audio" and ctx.layout is not None and ctx.layout.name.endswith("channels"):
            # Matroska and AVI store only a channel count; MP4 wants the layout itself
            ctx.layout = {1: "mono", 2: "stereo"}.get(ctx.layout.nb_channels, ctx.layout)
    return stream


def _copy_metadata(source, target) -> None:
    for key, value in source.metadata.items():
        if key not in ("encoder", "vendor_id", "duration", "DURATION") and not key.startswith("_"):
            target.metadata[key] = value
    disposition = getattr(source, "disposition", None)
    if disposition is not None:   # never a cover's mark on a stream that is not one (PyAV 15's flags take an int)
        target.disposition = int(getattr(disposition, "value", disposition)) & ~ATTACHED_PIC


def even_size(width: int, height: int, what: str) -> tuple[int, int]:
    """Video devices and encoders take YUV 4:2:0, which needs even sides: an odd side loses its
    last column or row, and that is said once. A side under 2 pixels has nothing left: refused."""
    if width < 2 or height < 2:
        raise VcamError(f"{what} needs frames of at least 2x2 pixels, and these are {width}x{height}",
                        "give a picture or video of at least 2x2 pixels")
    even = (width - width % 2, height - height % 2)
    if even != (width, height):
        _say_even(what, width, height)
    return even


@functools.lru_cache(maxsize=None)
def _say_even(what: str, width: int, height: int) -> None:
    """Once per process for each output and size (a benchmark opens its sink twice per run)."""
    cut = " and ".join(side for side, odd in (("last column", width % 2), ("last row", height % 2)) if odd)
    log.warning("%s needs even sides: %dx%d frames go out as %dx%d (the %s left out)",
                what, width, height, width - width % 2, height - height % 2, cut)


def _partial(path: Path) -> tuple[Path, Optional[int]]:
    """A partial name beside ``path`` that FFmpeg can take (plain ASCII), and where the folder's
    name is not UTF-8 a descriptor of the folder to reach it through /proc/self/fd."""
    tmp = atomic.ascii_partial_name(path)
    if file_names.opencv_name(tmp.parent) is not None:
        return tmp, None
    try:
        return tmp, os.open(tmp.parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise write_errors.write_error(path, exc) from None
