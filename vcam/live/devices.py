"""Video devices on Linux: the ``/dev/video*`` nodes named from sysfs, cameras told apart from
v4l2loopback (virtual camera) nodes and from a webcam's metadata nodes (vcam's own output among
the loopback ones), and the modes that ``v4l2-ctl --list-formats-ext`` lists when it is
installed; otherwise the panel offers common modes and the camera gives the nearest it has.
Shared by the camera source, ``vcam doctor`` and the panel; no Qt, no OpenCV.

The folders looked in are parameters, so tests can point them at a tree of their own.
"""
from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

CLASSES = Path("/sys/class/video4linux")
DEV = Path("/dev")
COMMON_SIZES = ((640, 480), (960, 540), (1280, 720), (1920, 1080))   # offered where none are listed
COMMON_RATES = (15.0, 24.0, 30.0, 60.0)


def read_text(path: Path) -> Optional[str]:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return None


@dataclass(frozen=True)
class VideoDevice:
    path: Path
    name: str          # the driver's card name from sysfs, "" when unknown
    loopback: bool     # a v4l2loopback device (a virtual camera), not a capture device
    index: int         # 0 for a device's picture node; a webcam's metadata node is 1 and up

    @property
    def camera(self) -> bool:
        return not self.loopback and self.index == 0


def video_devices(classes: Path = CLASSES, dev: Path = DEV) -> list[VideoDevice]:
    """The /dev/videoN nodes in device order; v4l2loopback ones are those whose sysfs node lies
    under ``devices/virtual`` (or carry its default card name)."""
    found = []
    for path in sorted(dev.glob("video*"), key=lambda p: (len(p.name), p.name)):
        if not path.name[5:].isdigit():
            continue
        node = classes / path.name
        name = read_text(node / "name") or ""
        try:
            resolved = str(node.resolve()) if node.exists() else ""
        except OSError:
            resolved = ""
        loopback = "/virtual/" in resolved or name.startswith("Dummy video device")
        index = read_text(node / "index") or "0"
        found.append(VideoDevice(path, name, loopback, int(index) if index.isdigit() else 0))
    return found


def list_formats(device: Path, run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> Optional[str]:
    """``v4l2-ctl --list-formats-ext`` output for ``device``; None without v4l2-ctl, "" when it
    fails."""
    exe = shutil.which("v4l2-ctl")
    if exe is None:
        return None
    try:
        result = run([exe, "--list-formats-ext", "-d", str(device)], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout if result.returncode == 0 else ""


def parse_v4l2_modes(text: str) -> dict[tuple[int, int], list[float]]:
    """``v4l2-ctl --list-formats-ext`` output -> {(width, height): [frame rates]}, all formats merged."""
    modes: dict[tuple[int, int], set[float]] = {}
    size = None
    for line in text.splitlines():
        m = re.search(r"Size: \w+ (\d+)x(\d+)", line)
        if m:
            size = (int(m.group(1)), int(m.group(2)))
            modes.setdefault(size, set())
            continue
        m = re.search(r"Interval: \w+ [\d.]+s \(([\d.]+) fps\)", line)
        if m and size is not None:
            modes[size].add(round(float(m.group(1)), 2))
    return {s: sorted(r, reverse=True) for s, r in sorted(modes.items(), key=lambda kv: kv[0][0] * kv[0][1])}


Mode = tuple[int, int, float]   # width, height, frames per second


def nearest_mode(modes: dict[tuple[int, int], list[float]], width: int, height: int, fps: float) -> Optional[Mode]:
    """The mode of ``modes`` (as :func:`parse_v4l2_modes` gives them) nearest to the one asked:
    the asked size when listed, else the size nearest in area and shape (equally near: the
    smaller, which costs less), then its rate nearest to ``fps`` (equally near: the higher).
    None when ``modes`` is empty; a size listed with no rate keeps ``fps``."""
    if not modes:
        return None
    area, aspect = width * height, width / height

    def distance(size: tuple[int, int]) -> tuple[float, int]:
        w, h = size
        return abs(math.log(w * h / area)) + abs(math.log(w / h / aspect)), w * h

    size = (width, height) if (width, height) in modes else min(modes, key=distance)
    rates = modes[size]
    rate = min(rates, key=lambda r: (abs(r - fps), -r)) if rates else float(fps)
    return size[0], size[1], rate


def same_rate(a: float, b: float) -> bool:
    """Frame rates equal as cameras report them (29.97 is 30)."""
    return abs(a - b) <= 0.02 * max(a, b)


def mode_note(name: str, asked: Mode, given: Mode, nearest: Optional[Mode] = None) -> Optional[str]:
    """One line telling the user that camera ``name`` gives another mode than ``asked``, and how
    to choose one it supports; None when it gives what was asked. ``nearest``: the mode picked
    from the camera's list (:func:`nearest_mode`), when it has one."""
    (aw, ah, af), (gw, gh, gf) = asked, given
    if (aw, ah) == (gw, gh) and same_rate(af, gf):
        return None
    picked = nearest is not None and nearest[:2] == given[:2] and same_rate(nearest[2], gf)
    how = "the nearest mode it lists" if picked else "what it gave"
    return (f"{name} cannot give {aw}x{ah} at {af:g} fps; using {gw}x{gh} at {gf:g} fps, {how} "
            f"(`vcam doctor` lists its modes: choose one with --width, --height and --fps, "
            f"or under Camera in the panel)")


def device_modes(device: Path,
                 run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> dict[tuple[int, int], list[float]]:
    """The modes ``device`` lists (:func:`parse_v4l2_modes`); empty when they cannot be asked."""
    text = list_formats(device, run)
    return parse_v4l2_modes(text) if text else {}


@dataclass(frozen=True)
class Camera:
    """A camera to offer: ``source`` is what ``CaptureSettings.source`` takes (a device path, or
    an index off Linux); ``label`` what a person reads."""
    source: str
    label: str


def list_cameras(sysfs: Path = CLASSES, dev: Path = DEV) -> list[Camera]:
    """The cameras attached now, in device order."""
    if not sys.platform.startswith("linux"):
        return [Camera("0", "Camera 0")]   # OpenCV cannot list them elsewhere; the first is index 0
    return [Camera(str(d.path), f"{d.name or d.path.name} ({d.path})") for d in video_devices(sysfs, dev) if d.camera]


def offered_modes(source: str) -> dict[tuple[int, int], list[float]]:
    """The sizes and rates to offer for camera ``source``: what it lists, or common modes when
    it cannot be asked."""
    common = {size: list(COMMON_RATES) for size in COMMON_SIZES}
    return (device_modes(Path(source)) if source.startswith("/dev/") else {}) or common
