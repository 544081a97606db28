"""The new background behind the person (``replace``): a picture, or a video that loops, scaled
to cover frames of one size. It is opened and scaled when built, so a bad file fails before it
replaces anything; a video then moves on one frame per output frame.
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

import cv2
import numpy as np

from vcam import scaling
from vcam.fileio import pictures
from vcam.fileio.video_reader import VideoReader
from vcam.system import resources
from vcam.system.resources import VIDEO_SUFFIXES

CHECK_SIZE = (64, 36)   # what check() scales to: the file is opened and read, nothing kept


class _Video:
    """A looping background video, scaled to cover the frame, one step per output frame."""

    def __init__(self, path: Path, size: tuple[int, int]) -> None:
        self._video = VideoReader(path, "background")
        w, h = self._size = size
        fw, fh = self._video.size
        scale = max(w / fw, h / fh)
        cw, ch = min(fw, round(w / scale)), min(fh, round(h / scale))
        x0, y0 = (fw - cw) // 2, (fh - ch) // 2
        self._crop = (slice(y0, y0 + ch), slice(x0, x0 + cw))

    def read_into(self, out: np.ndarray) -> None:
        rgb = self._video.read(loop=True)
        if rgb is None:
            return  # keep the last good background rather than fail mid-call
        cv2.resize(rgb[self._crop], self._size, dst=out, interpolation=cv2.INTER_AREA)

    def close(self) -> None:
        self._video.close()


class Background:
    """The picture or video at ``path`` (or the background that comes with vcam of that name,
    ``seaside``: :func:`vcam.system.resources.background`) covering frames of ``size`` (width,
    height): ``image`` (RGB uint8, made once) holds it; :meth:`advance` moves a video on one
    frame. Raises :class:`~vcam.VcamError` (with the fix) for a missing or unreadable file."""

    def __init__(self, path: Union[str, Path], size: tuple[int, int]) -> None:
        path = pictures.check_file(Path(resources.background(str(path))).expanduser(), "background")
        w, h = size
        self.image = np.empty((h, w, 3), np.uint8)
        self._video = None
        if path.suffix.lower() in VIDEO_SUFFIXES:
            self._video = _Video(path, size)
            self._video.read_into(self.image)
        else:
            self.image[...] = scaling.cover_fit(pictures.load_image(path, "background"), w, h)

    @property
    def moving(self) -> bool:
        """A video: the picture changes with every :meth:`advance`."""
        return self._video is not None

    def advance(self) -> None:
        """The next frame of a video into ``image`` (a picture stays as it is)."""
        if self._video is not None:
            self._video.read_into(self.image)

    def close(self) -> None:
        """Release a video; safe twice."""
        if self._video is not None:
            self._video.close()
            self._video = None


def check(path: Union[str, Path]) -> None:
    """Open ``path`` as a background, read it and close it again: a bad file raises
    :class:`~vcam.VcamError` before any part in use is changed."""
    Background(path, CHECK_SIZE).close()
