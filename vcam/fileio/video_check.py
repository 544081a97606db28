"""A finished video file checked before it takes its name: opened again with PyAV, every frame
and every copied stream's packets counted, every frame's time compared with the time written,
the last frames decoded. A failure is told by its cause (a full disk, the encoder, times the
type could not keep), and nothing is installed."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Optional, Sequence, Union

from vcam.errors import VcamError
from vcam.fileio.write_errors import disk_full

Times = tuple[Sequence[int], Fraction]   # each frame's time as written, and their time base


def check_video(written: Union[str, Path], final: Path, frames: int, size: tuple[int, int], *,
                alpha: bool = False, copied: Optional[dict] = None, times: Optional[Times] = None) -> None:
    """Open a finished video file again with PyAV: its video stream must hold ``frames``
    packets of ``size``, each at the time written in ``times`` (all moved by the same amount at
    most, as a muxer may start a file at zero), its last frames must decode (with their alpha,
    for a transparent video), and each stream in ``copied`` (output index -> packets) must hold
    every packet copied. Raises :class:`VcamError` naming the cause (a full disk, the encoder,
    or times the type did not keep)."""
    problem = _video_problem(str(written), frames, size, alpha, copied or {}, times)
    if problem and problem.startswith("its frame times"):
        raise VcamError(f"cannot write {final}: {problem}", "name it .mkv, which holds any timing; nothing was replaced")
    if problem:
        if disk_full(Path(final).parent):
            raise VcamError(f"cannot write {final}: the disk is full ({problem})",
                            "free some space, or write to another disk; nothing was replaced")
        raise VcamError(f"cannot write {final}: the encoder wrote an incomplete file ({problem})",
                        "try another folder or --codec; nothing was replaced")


def _video_problem(name: str, frames: int, size: tuple[int, int], alpha: bool, copied: dict,
                   times: Optional[Times]) -> Optional[str]:
    import av  # only where a video was written

    try:
        container = av.open(name)
    except (av.FFmpegError, OSError):
        return "the file cannot be opened again"
    with container:
        if not container.streams.video:
            return "it holds no video stream"
        video = container.streams.video[0]
        got = (video.codec_context.width, video.codec_context.height)
        if got != tuple(size):
            return f"it came out {got[0]}x{got[1]}, not {size[0]}x{size[1]}"
        counts: dict = {}
        last_key = None
        shown: list = []
        try:
            for packet in container.demux():
                if packet.size == 0:
                    continue
                counts[packet.stream.index] = counts.get(packet.stream.index, 0) + 1
                if packet.stream.index == video.index:
                    shown.append(packet.pts)
                    if packet.is_keyframe:
                        last_key = packet.pts
        except (av.FFmpegError, OSError):
            return "it cannot be read to its end"
        count = counts.get(video.index, 0)
        if count != frames:
            return f"it holds {count} of the {frames} frames written"
        for index, n in copied.items():
            if counts.get(index, 0) != n:
                return f"stream {index} holds {counts.get(index, 0)} of the {n} packets copied"
        if times is not None:
            problem = _times_problem(shown, video.time_base, *times)
            if problem:
                return problem
        return _tail_problem(container, video, last_key, alpha)


def _times_problem(shown: list, base: Fraction, written: Sequence[int], written_base: Fraction) -> Optional[str]:
    """Whether each frame is where it was written, to a tick of the coarser clock, all moved by
    one amount at most."""
    if any(t is None for t in shown):
        return "its frame times did not survive (some frames have none)"
    shown = sorted(shown)
    scale = Fraction(written_base) / Fraction(base)
    slack = max(1, int(scale) + 1) if scale > 1 else 1   # a tick of the coarser clock, read in the file's
    shift = None
    for i, (got, was) in enumerate(zip(shown, written)):
        off = got - round(was * scale)
        shift = off if shift is None else shift
        if abs(off - shift) > slack:
            return (f"its frame times came out other than written (frame {i + 1} at "
                    f"{float((got - shift) * base):.3f} s, not {float(was * written_base):.3f} s)")
    return None


def _tail_problem(container, video, last_key, alpha: bool) -> Optional[str]:
    """Decode from the last key frame to the end; for ``alpha``, with the decoder that keeps it
    (FFmpeg's own VP9 decoder drops a WebM's alpha)."""
    import av

    try:
        container.seek(last_key or 0, stream=video)
        decoder = video.codec_context
        if alpha and decoder.name == "vp9":
            decoder = av.CodecContext.create("libvpx-vp9", "r")
        decoded = None
        for packet in container.demux(video):
            for decoded in decoder.decode(packet):   # noqa: B007 - the last frame is kept
                pass
    except (av.FFmpegError, OSError, ValueError):
        return "its last frames cannot be decoded"
    if decoded is None:
        return "its last frames cannot be decoded"
    if alpha and len(decoded.format.components) not in (2, 4):   # grey or colour, with alpha
        return f"its frames came back without transparency ({decoded.format.name})"
    return None
