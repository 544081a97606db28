"""A video's frames as numbered PNG pictures in a folder (``vcam process clip.mp4 -o frames/``),
written all or none."""
from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import uuid
from pathlib import Path
from typing import Optional

import numpy as np

from vcam.errors import VcamError
from vcam.fileio import atomic, user_paths, write_errors
from vcam.fileio.pictures import encode_image

log = logging.getLogger(__name__)


FRAME_NAME = re.compile(r"\d{6}\.png")   # a video's frames in a folder: 000000.png, 000001.png, ...
PARTIAL_PREFIX = ".vcam-frames-partial-"  # the hidden folder inside the output the frames are written to
ASIDE = "earlier"                          # inside it, while committing: the earlier run's frames


def check_folder(folder: Path, what: str = "output") -> None:
    """Refuse, before any work, a frame folder where a frame's name (``000005.png``) is taken by
    something vcam cannot replace whole: a folder, a symbolic link, a device, a named pipe, a
    socket, or a write-protected file (another user's frame in a shared folder included). The
    earlier run's frames (regular files this process may write) are fine: they are replaced."""
    for name in _frame_names(folder):
        path = folder / name
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise user_paths.failure(path, what, exc) from None
        if stat.S_ISLNK(st.st_mode):
            taken = "a symbolic link"
        elif not stat.S_ISREG(st.st_mode):
            taken = user_paths.kind(st)
        else:
            user_paths.check_replaceable(path, st, what)
            continue
        raise VcamError(f"{what} {path} is {taken}: a video's frames are written into {folder} as 000000.png, "
                        "000001.png... and vcam replaces only its own earlier frames (files)",
                        f"move {path.name} away, or choose another output folder")


def _frame_names(folder: Path) -> list[str]:
    """The names in ``folder`` that a frame could have (what is there, of any kind), sorted."""
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if FRAME_NAME.fullmatch(e.name))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise user_paths.failure(folder, "output folder", exc) from None


class FrameFolder:
    """A video's frames as numbered PNG pictures in a folder, all or none. The folder is checked
    first (:func:`check_folder`: a frame's name taken by a folder is refused before the work). Each
    frame is written into a hidden partial folder inside it; :meth:`commit` checks the folder
    again, moves the earlier run's frames aside, moves the new ones in and only then removes the
    earlier ones; where a step fails, what was moved is moved back, so the folder holds either
    the earlier run's frames or this run's, never a mix. A failure, a damaged input or a signal
    before that (:meth:`abort`) leaves the folder as it was. Its other files are left alone."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        check_folder(self.folder)
        self._partial: Optional[Path] = None
        self._names: list[str] = []

    def write(self, index: int, picture: np.ndarray) -> None:
        name = f"{index:06d}.png"
        final = self.folder / name
        data = encode_image(final, picture)
        try:
            if self._partial is None:
                partial = self.folder / f"{PARTIAL_PREFIX}{uuid.uuid4().hex[:8]}"
                partial.mkdir()
                self._partial = partial
            self._names.append(name)
            atomic.write_new(self._partial / name, data)
        except OSError as exc:
            raise write_errors.write_error(final, exc) from None

    def earlier_frames(self) -> list[Path]:
        """The frames in the folder (regular files) from an earlier run."""
        return [self.folder / n for n in _frame_names(self.folder) if _is_file(self.folder / n)]

    def commit(self) -> None:
        if self._partial is None:
            return
        check_folder(self.folder)   # again: nothing but an earlier run's frames is ever moved
        earlier = [p.name for p in self.earlier_frames()]
        aside = self._partial / ASIDE
        moved: list[str] = []    # earlier frames moved aside
        placed: list[str] = []   # new frames moved in
        try:
            aside.mkdir()
            for name in earlier:
                os.rename(self.folder / name, aside / name)
                moved.append(name)
            for name in self._names:
                if name in moved:   # a frame that replaces an earlier one keeps its permissions
                    atomic.keep_permissions(self._partial / name, os.stat(aside / name))
                os.rename(self._partial / name, self.folder / name)
                placed.append(name)
        except OSError as exc:
            self._undo(placed, moved)
            raise write_errors.write_error(self.folder, exc) from None
        written = set(self._names)
        stale = [n for n in earlier if n not in written]
        if stale:
            log.warning("%s held frames from an earlier run: replaced by these %d frames (%d earlier ones removed)",
                        self.folder, len(self._names), len(stale))
        self._remove_partial()

    def _undo(self, placed: list[str], moved: list[str]) -> None:
        """Put the folder back as it was: the new frames out, the earlier ones back in."""
        try:
            for name in reversed(placed):
                os.rename(self.folder / name, self._partial / name)
            for name in reversed(moved):
                os.rename(self._partial / ASIDE / name, self.folder / name)
        except OSError as exc:   # not even a rename back: say where the earlier frames are
            log.error("%s: could not put the earlier frames back (%s): they are in %s", self.folder,
                      exc.strerror or exc, self._partial / ASIDE)
            self._partial = None   # kept for the user
            self._names = []
            return
        self._remove_partial()

    def abort(self) -> None:
        self._remove_partial()

    def _remove_partial(self) -> None:
        if self._partial is not None:
            shutil.rmtree(self._partial, ignore_errors=True)
        self._partial = None
        self._names = []


def _is_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False
