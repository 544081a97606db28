"""The one place where a path the user gave is looked at before it is read or written.

Every input (a picture, a video, ``--source``, ``--background``, ``--model``) goes through
:func:`input_file` and every output through :func:`output_file` or :func:`output_folder`, so a
name that is too long, a folder without permission, a device, a named pipe or a socket is one
clear :class:`VcamError` with its fix, never an exception from deep inside a library.

An output that is a symbolic link is written through it (:func:`destination`): the link stays and
the file it names gets the new content. An existing file that is write-protected (no write
permission for anyone, or none for this process) is refused as ``cp`` refuses it
(:func:`check_replaceable`), root included.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Iterable, Optional, Union

from vcam.errors import VcamError

NAME_MAX = 255   # bytes in one name, on every common file system

_LOOK_FAILURES = {
    errno.ENAMETOOLONG: ("its name is too long", "rename it or choose a shorter name (one name may be 255 bytes)"),
    errno.EACCES: ("permission denied", "check that you may open it and the folders above it"),
    errno.EPERM: ("permission denied", "check that you may open it and the folders above it"),
    errno.ELOOP: ("its symbolic links go round in a loop", "point the link at a real file"),
    errno.ENOTDIR: ("a part of its path is a file, not a folder", "check the path"),
    errno.EIO: ("the disk gave an input/output error", "check the disk, or copy the file elsewhere"),
}

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
          (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))

PathLike = Union[str, "os.PathLike[str]"]


def failure(path: PathLike, what: str, exc: OSError) -> VcamError:
    """``WHAT PATH: permission denied: fix`` and the like, for an OSError met looking at a path."""
    problem, fix = _LOOK_FAILURES.get(exc.errno, (exc.strerror or type(exc).__name__, "check the path"))
    return VcamError(f"{what} {path}: {problem}", fix)


def _too_long(path: Path) -> bool:
    return any(len(os.fsencode(part)) > NAME_MAX for part in path.parts)


def look(path: PathLike, what: str) -> Optional[os.stat_result]:
    """``os.stat(path)``, or None where nothing is there; any other failure is one VcamError."""
    path = Path(path)
    try:
        if _too_long(path):
            raise OSError(errno.ENAMETOOLONG, "name too long")
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise failure(path, what, exc) from None
    except ValueError:   # a NUL or a lone surrogate (from a settings file): no file system takes it
        bad = "a NUL character" if "\x00" in str(path) else "a character that no file name can hold"
        raise VcamError(f"{what} {path!r}: its name holds {bad}", "give the name of a real file") from None


def kind(st: os.stat_result) -> str:
    """'a file', 'a folder', 'a device', 'a named pipe (FIFO)' or 'a socket'."""
    return next((name for test, name in _KINDS if test(st.st_mode)), "a file")


def is_folder(path: PathLike, what: str = "path") -> bool:
    st = look(path, what)
    return st is not None and stat.S_ISDIR(st.st_mode)


def input_file(path: PathLike, what: str) -> Path:
    """``path`` as a Path when it is a regular, non-empty file this process may read."""
    path = Path(path).expanduser()
    st = look(path, what)
    if st is None:
        raise VcamError(f"{what} {path} does not exist", "check the path")
    if not stat.S_ISREG(st.st_mode):
        raise VcamError(f"{what} {path} is {kind(st)}, not a file", "give a file")
    if st.st_size == 0:
        raise VcamError(f"{what} {path} is empty (0 bytes)", "give a complete file")
    if not os.access(path, os.R_OK):
        raise failure(path, what, OSError(errno.EACCES, "permission denied"))
    return path


def input_folder_entries(folder: Path, what: str = "folder") -> list[os.DirEntry]:
    """The entries of a folder given as an input, sorted by name; one VcamError when it cannot be read."""
    try:
        with os.scandir(folder) as entries:
            return sorted(entries, key=lambda e: e.name)
    except OSError as exc:
        raise failure(folder, what, exc) from None


def destination(path: PathLike) -> Path:
    """Where writing ``path`` puts its content: ``path`` itself, or where it is a symbolic link
    (a chain of them), the file the last one names, even where that file does not exist yet.
    A file written there keeps the link (a dotfiles folder's link stays a link). Links that go
    round in a loop are an OSError (ELOOP)."""
    path = Path(path)
    for _ in range(_MAX_LINKS):
        try:
            target = os.readlink(path)
        except (OSError, ValueError):   # not a link, nothing there, or a name no file system takes
            return path
        path = path.parent / target     # a relative link is relative to its own folder
    raise OSError(errno.ELOOP, "too many levels of symbolic links", str(path))


_MAX_LINKS = 40   # as Linux's own limit on the links followed in one lookup


def check_replaceable(path: PathLike, st: os.stat_result, what: str = "output") -> None:
    """Refuse to replace the existing regular file ``path`` (``st``: its stat) that is
    write-protected: no write permission for anyone (``chmod 444``; refused as ``cp`` refuses it,
    and as root too, who ``os.access`` would let through), or none for this process."""
    if not stat.S_ISREG(st.st_mode):
        return
    mode = stat.S_IMODE(st.st_mode)
    named = f"{what} {path}" if what else str(path)
    if not mode & 0o222:
        raise VcamError(f"cannot write {named}: it is write-protected (mode {mode:o}) and vcam does not "
                        "replace it", f"choose another name, or allow it first: chmod u+w {path}")
    if not os.access(path, os.W_OK):
        if _read_only(Path(path).parent):
            raise VcamError(f"cannot write {named}: the file system is read-only", "choose a writable folder")
        owner = "" if not hasattr(os, "geteuid") or st.st_uid == os.geteuid() else ", another user's file"
        raise VcamError(f"cannot write {named}: you may not write to it (mode {mode:o}{owner})",
                        "choose another name")


def output_file(path: PathLike, what: str = "output", *, folder_must_exist: bool = True) -> Path:
    """``path`` as a Path when a file may be written there: absent or a regular file (never a
    folder, a device, a named pipe or a socket) that is not write-protected, in a folder this
    process may write to (or, with ``folder_must_exist=False``, one that can be created). A
    symbolic link is looked at through: the file it names, and that file's folder, are checked."""
    path = Path(path).expanduser()
    st = look(path, what)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise VcamError(f"{what} {path} is {kind(st)}: vcam writes only files and never replaces {kind(st)}",
                        "give the name of a file")
    if st is not None:
        check_replaceable(path, st, what)
    try:
        real = destination(path)
    except OSError as exc:
        raise failure(path, what, exc) from None
    parent = _existing_ancestor(real.parent, what)
    if parent != real.parent and (folder_must_exist or real != path):   # never a folder made for a link to point into
        link = f" (the symbolic link {path} points there)" if real != path else ""
        raise VcamError(f"{what} {path}: the folder {real.parent} does not exist{link}",
                        "create it or choose another output")
    _check_writable(parent, path, what)
    return path


def free_name(path: PathLike) -> Path:
    """``path`` where nothing has that name yet, else the first of ``stem-2.suffix``,
    ``stem-3.suffix``... beside it that is free (a dangling link counts as taken)."""
    path = Path(path)
    n = 1
    while os.path.lexists(path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")):
        n += 1
    return path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")


def output_folder(path: PathLike, what: str = "output") -> Path:
    """``path`` as a Path when it is a folder to write into, or can be created as one."""
    path = Path(path).expanduser()
    st = look(path, what)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise VcamError(f"{what} {path} is {kind(st)}, expected a folder", "give a folder, or a single input")
    _check_writable(path if st is not None else _existing_ancestor(path.parent, what), path, what)
    return path


def _existing_ancestor(folder: Path, what: str) -> Path:
    """The nearest folder at or above ``folder`` that exists; a file in the way is an error."""
    here = folder
    while True:
        st = look(here, what)
        if st is not None:
            if not stat.S_ISDIR(st.st_mode):
                raise VcamError(f"{what}: {here} is {kind(st)}, not a folder", "check the path")
            return here
        if here.parent == here:
            return here
        here = here.parent


def _check_writable(folder: Path, path: Path, what: str) -> None:
    if not os.access(folder, os.W_OK | os.X_OK):
        if _read_only(folder):
            raise VcamError(f"cannot write {what} {path}: the file system is read-only", "choose a writable folder")
        raise VcamError(f"cannot write {what} {path}: permission denied in {folder}", "choose a folder you may write to")


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):   # no statvfs on Windows
        return False


def make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and any missing folders above it; the ones created, top first (to remove
    them again, deepest first, when nothing was written into them)."""
    missing = []
    here = Path(folder)
    while not is_folder(here, "output folder") and here.parent != here:
        missing.append(here)
        here = here.parent
    missing.reverse()
    for f in missing:
        try:
            f.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise VcamError(f"cannot create output folder {f} ({exc.strerror})", "choose a writable place") from None
    return missing


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
