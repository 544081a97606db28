"""Write errors told by their real cause: an OSError's errno as what went wrong and how to fix it
(a full disk, a quota, permission, a read-only file system), and a short write put down to a
full disk where the disk is nearly full."""
from __future__ import annotations

import errno
import shutil
from pathlib import Path
from typing import Union

from vcam.errors import VcamError
from vcam.system import memory

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
    """(what went wrong, how to fix it) for an OSError, from its errno; memory that ran out (a
    limit such as ``ulimit -v``) is told as such, with its own fix."""
    if memory.caused(exc):
        return "not enough memory", memory.fix()
    return _CAUSES.get(exc.errno, (exc.strerror or type(exc).__name__, "choose another output path"))


def told(exc: OSError) -> bool:
    """Whether :func:`cause` knows this OSError's cause (a full disk, permission, memory...)."""
    return exc.errno in _CAUSES or memory.caused(exc)


def write_error(path: Union[str, Path], exc: OSError) -> VcamError:
    """``cannot write PATH: the disk is full`` and the like, from an OSError's errno."""
    what, fix = cause(exc)
    return VcamError(f"cannot write {path}: {what}", fix)


def disk_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < LOW_SPACE
    except OSError:
        return False
