"""Settings as a JSON file (the panel's ``settings.json`` and ``ui.json``,
``benchmarks/quality.py``'s configurations): written atomically, so the previous file stays whole
until the new one is complete (through a symbolic link, to the file it names); read only from a
regular file of at most :data:`MAX_BYTES`, so a named pipe, a device (a link to ``/dev/zero``) or
a huge file is one :class:`VcamError`, never a hang or a MemoryError; every way it can be wrong
told as one :class:`VcamError`."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from vcam.config import Settings
from vcam.errors import VcamError
from vcam.fileio import user_paths
from vcam.fileio.atomic import write_json

MAX_BYTES = 1 << 20   # a settings file is a few kB; the panel's gallery a few hundred paths

# O_NONBLOCK: a named pipe put there between the look and the open still opens at once (and is refused)
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def save_settings(settings: Settings, path: Path) -> None:
    """Write ``settings`` to ``path`` atomically, its folder made where missing."""
    write_json(Path(path), settings.to_dict(), "settings")


def load_settings(path: Path) -> Settings:
    """The settings in ``path``; one :class:`VcamError` with its fix when the file is missing,
    unreadable, not a regular file, too large or not settings."""
    return Settings.from_dict(read_json(path, "settings file"))


def read_json(path: Path, what: str) -> Any:
    """The JSON value in the file ``path`` (``what`` names it in messages): one
    :class:`VcamError` where it is missing, not a regular file (a folder, a named pipe, a device),
    over :data:`MAX_BYTES`, unreadable or not JSON. Nothing but a regular file is ever opened."""
    path = Path(path)
    try:
        data = json.loads(_read_small(path, what))
    except (ValueError, RecursionError) as exc:   # not UTF-8, not JSON, nested too deep, a huge number
        raise VcamError(f"{what} {path} is unreadable ({_short(exc)})", "delete it to reset") from None
    return data


def _read_small(path: Path, what: str) -> bytes:
    try:
        _check_small(path, what, os.stat(path))   # looked at first: a device is never opened
        fd = os.open(path, _OPEN_FLAGS)
        with os.fdopen(fd, "rb") as f:
            _check_small(path, what, os.fstat(f.fileno()))   # what was opened, in case it changed meanwhile
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise VcamError(f"{what} {path} does not exist", "run once to create it") from None
    except (OSError, ValueError) as exc:   # ValueError: a NUL in the name
        raise VcamError(f"{what} {path} is unreadable ({_short(exc)})", "delete it to reset") from None
    if len(data) > MAX_BYTES:   # one that grew, or a file of /proc that says 0 bytes
        raise _too_large(path, what, len(data))
    return data


def _check_small(path: Path, what: str, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise VcamError(f"{what} {path} is unreadable: it is {user_paths.kind(st)}, not a file",
                        "delete it to reset (vcam writes a new file)")
    if st.st_size > MAX_BYTES:
        raise _too_large(path, what, st.st_size)


def _too_large(path: Path, what: str, size: int) -> VcamError:
    return VcamError(f"{what} {path} is unreadable: {_size(size)}, more than a settings file's "
                     f"{MAX_BYTES >> 20} MiB", "delete it to reset (vcam writes a new file)")


def _size(size: int) -> str:
    return f"{size / (1 << 30):.1f} GiB" if size >= 1 << 30 else f"{size / (1 << 20):.1f} MiB"


def _short(exc: BaseException) -> str:
    """An exception's message on one line of at most 200 characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
