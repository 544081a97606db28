"""Outputs checked before they take their final name, write errors told by their real cause,
and inputs that must never be written to.

Every file vcam writes goes to a hidden partial name beside its target first; only a complete,
checked file is renamed over the target, so an earlier output stays untouched until the new one
is whole, and a failure leaves nothing half-written.
"""
from __future__ import annotations

import errno
import os
import shutil
import stat
import uuid
from pathlib import Path
from typing import Iterable, Optional, Union

from vcam.errors import VcamError

_CAUSES = {
    errno.ENOSPC: ("the disk is full", "free some space, or write to another disk"),
    getattr(errno, "EDQUOT", -1): ("the disk quota is used up", "free some space, or write to another disk"),
    errno.EACCES: ("permission denied", "choose a folder you may write to"),
    errno.EPERM: ("permission denied", "choose a folder you may write to"),
    errno.EROFS: ("the file system is read-only", "choose a writable folder"),
    errno.ENOENT: ("its folder does not exist", "create the folder, or choose another output"),
    errno.EISDIR: ("it is a folder", "give a file name"),
}
LOW_SPACE = 4 << 20   # bytes free below which a failed or short write is put down to a full disk


def cause(exc: OSError) -> tuple[str, str]:
    """(what went wrong, how to fix it) for an OSError, from its errno."""
    return _CAUSES.get(exc.errno, (exc.strerror or type(exc).__name__, "choose another output path"))


def write_error(path: Union[str, Path], exc: OSError) -> VcamError:
    """``cannot write PATH: the disk is full`` and the like, from an OSError's errno."""
    what, fix = cause(exc)
    return VcamError(f"cannot write {path}: {what}", fix)


def disk_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < LOW_SPACE
    except OSError:
        return False


def partial_name(path: Path) -> Path:
    """A hidden temporary name beside ``path`` that keeps its suffix (encoders choose by suffix);
    the stem is shortened where the whole would be over 255 bytes."""
    tag = f".partial-{uuid.uuid4().hex[:8]}{path.suffix}"
    stem = path.stem
    while len(os.fsencode(f".{stem}{tag}")) > 255:
        stem = stem[:-1]
    return path.with_name(f".{stem}{tag}")


def ascii_partial_name(path: Path) -> Path:
    """A hidden temporary name beside ``path`` in plain ASCII, with its suffix where that is
    ASCII: for a file a library writes by name (FFmpeg, reaching a folder whose name is not UTF-8
    through /proc/self/fd/N), renamed to ``path`` by Python once complete."""
    suffix = path.suffix if path.suffix.isascii() else ""
    return path.with_name(f".vcam-partial-{uuid.uuid4().hex[:12]}{suffix}")


def install(tmp: Path, final: Path) -> None:
    """Rename the finished ``tmp`` over ``final``. A file it replaces keeps its permissions (and,
    where this process may set them, its owner and group): a private file stays private. Only a
    regular file is ever replaced: a folder there is an OSError (EISDIR), a device, a named pipe or
    a socket a :class:`VcamError`."""
    try:
        st = os.stat(final)
    except FileNotFoundError:
        st = None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "it is a folder", str(final))
        if not stat.S_ISREG(st.st_mode):
            raise VcamError(f"cannot write {final}: it is not a regular file (a device, a named pipe or a socket), "
                            "and vcam never replaces one", "give the name of a file")
        try:
            os.chown(tmp, st.st_uid, st.st_gid)
        except OSError:   # another user's file: it becomes ours, with its permissions kept
            pass
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
    os.replace(tmp, final)


def write_file(path: Path, data) -> None:
    """Write ``data`` (bytes or a uint8 array) as ``path``, atomically: under a partial name,
    checked for its full length, then renamed over ``path``. Raises one :class:`VcamError`."""
    path = Path(path)
    tmp = partial_name(path)
    try:
        write_new(tmp, data)
        install(tmp, path)
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        tmp.unlink(missing_ok=True)


def write_new(path: Path, data) -> None:
    """Create ``path`` (it must not exist) holding ``data``, checked for its full length; raises
    OSError (a short file counts as a full disk where the disk is full)."""
    view = memoryview(data).cast("B")
    with open(path, "xb") as f:
        f.write(view)
    if Path(path).stat().st_size != view.nbytes:
        raise OSError(errno.ENOSPC if disk_full(Path(path).parent) else errno.EIO, "the file came out short")


def check_video(written: Union[str, Path], final: Path, frames: int, size: tuple[int, int], *,
                alpha: bool = False, copied: Optional[dict] = None) -> None:
    """Open a finished video file again with PyAV: its video stream must hold ``frames``
    packets of ``size``, its last frames must decode (with their alpha, for a transparent
    video), and each stream in ``copied`` (output index -> packets) must hold every packet copied.
    Raises :class:`VcamError` naming the cause (a full disk, or the encoder)."""
    problem = _video_problem(str(written), frames, size, alpha, copied or {})
    if problem:
        if disk_full(Path(final).parent):
            raise VcamError(f"cannot write {final}: the disk is full ({problem})",
                            "free some space, or write to another disk; nothing was replaced")
        raise VcamError(f"cannot write {final}: the encoder wrote an incomplete file ({problem})",
                        "try another folder or --codec; nothing was replaced")


def _video_problem(name: str, frames: int, size: tuple[int, int], alpha: bool, copied: dict) -> Optional[str]:
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
        try:
            for packet in container.demux():
                if packet.size == 0:
                    continue
                counts[packet.stream.index] = counts.get(packet.stream.index, 0) + 1
                if packet.stream.index == video.index and packet.is_keyframe:
                    last_key = packet.pts
        except (av.FFmpegError, OSError):
            return "it cannot be read to its end"
        count = counts.get(video.index, 0)
        if count != frames:
            return f"it holds {count} of the {frames} frames written"
        for index, n in copied.items():
            if counts.get(index, 0) != n:
                return f"stream {index} holds {counts.get(index, 0)} of the {n} packets copied"
        return _tail_problem(container, video, last_key, alpha)


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


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same path, a symbolic or a hard link."""
    try:
        return os.path.samefile(a, b)
    except OSError:   # one of them does not exist (yet)
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def refuse_inputs(output: Path, inputs: Iterable[Union[str, Path, None]], what: str = "output") -> None:
    """Raise when ``output`` is one of ``inputs`` (a source, a background, a model): no path
    given as an input is ever written to."""
    for given in inputs:
        if given is None or str(given) == "":
            continue
        if same_file(Path(output), Path(given).expanduser()):
            raise VcamError(f"{what} {output} is also an input ({given}): writing it would destroy it",
                            "choose another output name")
