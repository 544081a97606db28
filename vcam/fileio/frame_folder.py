"""A video's frames as numbered PNG pictures in a folder (``vcam process clip.mp4 -o frames/``),
written all or none."""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np

from vcam.fileio import atomic, write_errors
from vcam.fileio.pictures import encode_image

log = logging.getLogger(__name__)


FRAME_NAME = re.compile(r"\d{6}\.png")   # a video's frames in a folder: 000000.png, 000001.png, ...


class FrameFolder:
    """A video's frames as numbered PNG pictures in a folder, all or none: each is written under
    a hidden partial name, and :meth:`commit` renames them all once the video is complete, so a
    failure, a damaged input or a signal leaves the folder as it was. A folder that already holds
    frames (an earlier run) has them replaced whole: what a shorter run did not write again is
    removed on commit, so the folder never mixes two runs. Its other files are left alone."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._written: list[tuple[Path, Path]] = []

    def write(self, index: int, picture: np.ndarray) -> None:
        final = self.folder / f"{index:06d}.png"
        partial = atomic.partial_name(final)
        data = encode_image(final, picture)
        self._written.append((partial, final))
        try:
            atomic.write_new(partial, data)
        except OSError as exc:
            raise write_errors.write_error(final, exc) from None

    def earlier_frames(self) -> list[Path]:
        """The frames in the folder that this run has not written."""
        mine = {final.name for _, final in self._written}
        try:
            with os.scandir(self.folder) as entries:
                return sorted(self.folder / e.name for e in entries
                              if FRAME_NAME.fullmatch(e.name) and e.name not in mine and e.is_file(follow_symlinks=False))
        except OSError:
            return []

    def commit(self) -> None:
        stale = self.earlier_frames()
        try:
            for partial, final in self._written:
                atomic.install(partial, final)
            for frame in stale:
                frame.unlink()
        except OSError as exc:
            raise write_errors.write_error(self.folder, exc) from None
        if stale:
            log.warning("%s held frames from an earlier run: replaced by these %d frames (%d earlier ones removed)",
                        self.folder, len(self._written), len(stale))
        self._written = []

    def abort(self) -> None:
        for partial, _ in self._written:
            partial.unlink(missing_ok=True)
        self._written = []
