"""Reading and writing picture files: any depth or channel count in, RGB uint8 out; atomic writes."""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from vcam.errors import VcamError
from vcam.resources import IMAGE_SUFFIXES

MAX_PIXELS = 64_000_000


def to_rgb8(img: np.ndarray) -> np.ndarray:
    """A decoded OpenCV image (grey, BGR or BGRA; 8, 16-bit or float) -> RGB uint8."""
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = np.clip(img.astype(np.float32) * (255.0 if img.dtype.kind == "f" else 1.0), 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    if img.shape[2] == 1:
        return cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def check_file(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise VcamError(f"{what} {path} does not exist", "check the path")
    if not path.is_file():
        raise VcamError(f"{what} {path} is not a file", "give a file, not a folder")
    if path.stat().st_size == 0:
        raise VcamError(f"{what} {path} is empty (0 bytes)", "give a complete file")
    return path


def load_image(path: Path, what: str = "image") -> np.ndarray:
    """Read a picture file as RGB uint8, or raise one clear :class:`VcamError`."""
    path = check_file(path, what)
    # IMREAD_COLOR applies the EXIF orientation (phone photos); ANYDEPTH keeps 16-bit and float.
    img = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)
    if img is None or img.size == 0:
        raise VcamError(f"{what} {path} cannot be read as a picture",
                        f"give a {', '.join(s.lstrip('.') for s in IMAGE_SUFFIXES)} file")
    if img.shape[0] * img.shape[1] > MAX_PIXELS:
        raise VcamError(f"{what} {path} is {img.shape[1]}x{img.shape[0]}, over {MAX_PIXELS // 1_000_000} megapixels",
                        "scale it down first")
    return to_rgb8(img)


class VideoReader:
    """A video file read frame by frame in BGR, into one buffer, optionally looping.

    The first frame is read on opening (a file that gives none is refused) and is the first
    ``read()``. At the end, ``loop`` starts again: by seeking, or by reopening the file where
    seeking fails (OpenCV cannot seek some short files).
    """

    def __init__(self, path: Path, what: str = "video") -> None:
        self.path = check_file(Path(path), what)
        self._cap = cv2.VideoCapture(str(self.path))
        ok, first = self._cap.read() if self._cap.isOpened() else (False, None)
        if not ok or first is None:
            self._cap.release()
            raise VcamError(f"{what} {self.path} cannot be read as a video", "give an .mp4, .avi, .mov, .mkv or .webm file")
        self.frame = first
        self._first_pending = True
        self.size = (first.shape[1], first.shape[0])
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1 <= fps <= 240 else 30.0
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count: Optional[int] = count if count > 0 else None

    def read(self, *, loop: bool) -> Optional[np.ndarray]:
        """The next frame (BGR, a buffer reused by the next call), or None at the end."""
        if self._first_pending:
            self._first_pending = False
            return self.frame
        ok, frame = self._cap.read(self.frame)
        if not ok and loop:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._cap.read(self.frame)
            if not ok:
                self._cap.release()
                self._cap = cv2.VideoCapture(str(self.path))
                ok, frame = self._cap.read(self.frame)
        if not ok or frame is None or frame.shape != self.frame.shape:
            return None
        self.frame = frame
        return frame

    def close(self) -> None:
        self._cap.release()


def cover_fit(img: np.ndarray, width: int, height: int, *, top: float = 0.5) -> np.ndarray:
    """Scale and crop ``img`` to fill ``width`` x ``height`` without distortion: centred, or
    with ``top`` of what is cut taken from the top (0.5: as much from the top as the bottom)."""
    h, w = img.shape[:2]
    scale = max(width / w, height / h)
    cw, ch = min(w, round(width / scale)), min(h, round(height / scale))
    x0, y0 = (w - cw) // 2, round((h - ch) * top)
    crop = img[y0:y0 + ch, x0:x0 + cw]
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(crop, (width, height), interpolation=interp)


def partial_name(path: Path) -> Path:
    """A hidden temporary name beside ``path`` that keeps its suffix (encoders choose by suffix)."""
    return path.with_name(f".{path.stem}.partial-{uuid.uuid4().hex[:8]}{path.suffix}")


def write_image(path: Path, img: np.ndarray) -> None:
    """Write RGB, RGBA or grey uint8 ``img`` atomically: ``path`` is either whole or untouched."""
    path = Path(path)
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA)
    tmp = partial_name(path)
    try:
        if not cv2.imwrite(str(tmp), img):
            raise VcamError(f"cannot write {path}", "use a .png or .jpg name in a writable folder")
        os.replace(tmp, path)
    except cv2.error as exc:
        raise VcamError(f"cannot write {path} ({exc.err})", "use a .png or .jpg name in a writable folder") from None
    except OSError as exc:
        raise VcamError(f"cannot write {path} ({exc.strerror})", "choose a writable output folder") from None
    finally:
        tmp.unlink(missing_ok=True)
