"""Atomic writes: every file vcam writes goes to a hidden partial name beside its target first;
only a complete, checked file is renamed over the target, so an earlier output stays untouched
until the new one is whole, and a failure leaves nothing half-written. A video is checked by
:mod:`vcam.fileio.video_check` before :func:`install` gives it its name.

A target that is a symbolic link is written through it: the partial file is made beside the file
the link names and renamed over that file, so the link stays a link and its file gets the new
content, atomically (:func:`vcam.fileio.user_paths.destination`). A write-protected file is never
replaced (:func:`vcam.fileio.user_paths.check_replaceable`).
"""
from __future__ import annotations

import errno
import json
import os
import stat
import uuid
from pathlib import Path
from typing import Any

from vcam.errors import VcamError
from vcam.fileio.user_paths import check_replaceable, destination
from vcam.fileio.write_errors import cause, disk_full, write_error


def partial_name(path: Path) -> Path:
    """A hidden temporary name beside ``path`` (beside the file it names, where it is a symbolic
    link) that keeps its suffix (encoders choose by suffix); the stem is shortened where the
    whole would be over 255 bytes. Raises OSError (ELOOP) for links that go round in a loop."""
    path = destination(path)
    tag = f".partial-{uuid.uuid4().hex[:8]}{path.suffix}"
    stem = path.stem
    while len(os.fsencode(f".{stem}{tag}")) > 255:
        stem = stem[:-1]
    return path.with_name(f".{stem}{tag}")


def ascii_partial_name(path: Path) -> Path:
    """A hidden temporary name beside ``path`` in plain ASCII, with its suffix where that is
    ASCII: for a file a library writes by name (FFmpeg, reaching a folder whose name is not UTF-8
    through /proc/self/fd/N), renamed to ``path`` by Python once complete. Beside the file a
    symbolic link names, as :func:`partial_name`."""
    path = destination(path)
    suffix = path.suffix if path.suffix.isascii() else ""
    return path.with_name(f".vcam-partial-{uuid.uuid4().hex[:12]}{suffix}")


def install(tmp: Path, final: Path) -> None:
    """Rename the finished ``tmp`` over ``final`` (over the file it names, where ``final`` is a
    symbolic link: ``tmp`` comes from :func:`partial_name`, beside that file). A file it replaces
    keeps its permissions (and, where this process may set them, its owner and group): a private
    file stays private. Only a regular file that is not write-protected is ever replaced: a
    folder there is an OSError (EISDIR), a device, a named pipe, a socket or a write-protected
    file a :class:`VcamError`."""
    given, final = final, destination(final)
    try:
        st = os.stat(final)
    except FileNotFoundError:
        st = None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "it is a folder", str(given))
        if not stat.S_ISREG(st.st_mode):
            raise VcamError(f"cannot write {given}: it is not a regular file (a device, a named pipe or a socket), "
                            "and vcam never replaces one", "give the name of a file")
        check_replaceable(given, st, "")
        keep_permissions(tmp, st)
    os.replace(tmp, final)


def keep_permissions(tmp: Path, st: os.stat_result) -> None:
    """Give ``tmp`` the permissions (and, where this process may, the owner and group) of the
    file ``st`` describes, which it is about to replace."""
    try:
        os.chown(tmp, st.st_uid, st.st_gid)
    except OSError:   # another user's file: it becomes ours, with its permissions kept
        pass
    os.chmod(tmp, stat.S_IMODE(st.st_mode))


def write_file(path: Path, data) -> None:
    """Write ``data`` (bytes or a uint8 array) as ``path``, atomically: under a partial name,
    checked for its full length, then renamed over ``path``. Raises one :class:`VcamError`."""
    try:
        _write(Path(path), data)
    except OSError as exc:
        raise write_error(path, exc) from None


def write_json(path: Path, data: Any, what: str) -> None:
    """Write ``data`` as JSON to ``path`` as :func:`write_file` does, its folder created where
    missing; one :class:`VcamError` that says ``what`` could not be saved, and why."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        _write(Path(path), json.dumps(data, indent=2).encode())
    except OSError as exc:
        problem, fix = cause(exc)
        raise VcamError(f"cannot save {what} to {path}: {problem}", fix) from None


def _write(path: Path, data) -> None:
    tmp = partial_name(path)
    try:
        write_new(tmp, data)
        install(tmp, path)
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
