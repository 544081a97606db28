"""File names handed to native libraries: OpenCV's Python binding crashes the process on a name
that is not UTF-8 (a str holding surrogate escapes), so such a name is never given to it, and a
video with one is opened by FFmpeg as /proc/self/fd/N."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Optional, Union

from vcam.errors import VcamError
from vcam.fileio import user_paths

log = logging.getLogger(__name__)


def opencv_name(path: Union[str, Path]) -> Optional[str]:
    """``path`` as a str OpenCV can take, or None where it cannot: a name that is not UTF-8,
    which Python holds as surrogate escapes and on which OpenCV's Python binding crashes."""
    name = os.fspath(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return name


def video_file(path: Path, what: str = "video") -> tuple[str, Optional[int]]:
    """The name to give FFmpeg (or OpenCV) for the file ``path``, and the descriptor that name
    reads through: None where it is the path itself. A name that is not UTF-8 is opened here and
    named ``/proc/self/fd/N`` (Linux); keep the descriptor open while the capture lives and close
    it after. Where there is no /proc/self/fd, such a name is refused."""
    name = opencv_name(path)
    if name is not None:
        return name, None
    if not os.path.isdir("/proc/self/fd"):
        raise VcamError(f"{what} {path}: a file whose name is not UTF-8 cannot be opened as a video on this system",
                        "rename it with a UTF-8 name")
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise user_paths.failure(path, what, exc) from None
    return f"/proc/self/fd/{fd}", fd
