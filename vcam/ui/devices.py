"""Cameras the panel offers, and the sizes and rates each can deliver (no Qt here).

On Linux cameras are the ``/dev/video*`` capture nodes; v4l2loopback devices (virtual cameras,
vcam's own output among them) and the metadata nodes a webcam also exposes are left out. Sizes and
rates come from ``v4l2-ctl --list-formats-ext`` when it is installed, otherwise a list of common
modes is offered and the camera gives the nearest it has (the status shows what it gave).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from vcam.devices import CLASSES, DEV, list_formats, parse_v4l2_modes, video_devices

__all__ = ["COMMON_RATES", "COMMON_SIZES", "Camera", "camera_modes", "list_cameras", "parse_v4l2_modes"]

COMMON_SIZES = ((640, 480), (960, 540), (1280, 720), (1920, 1080))
COMMON_RATES = (15.0, 24.0, 30.0, 60.0)


@dataclass(frozen=True)
class Camera:
    source: str    # what CaptureSettings.source takes: a device path, or an index off Linux
    label: str


def list_cameras(sysfs: Path = CLASSES, dev: Path = DEV) -> list[Camera]:
    """The cameras attached now, in device order."""
    if not sys.platform.startswith("linux"):
        return [Camera("0", "Camera 0")]   # OpenCV cannot list them elsewhere; the first is index 0
    return [Camera(str(d.path), f"{d.name or d.path.name} ({d.path})") for d in video_devices(sysfs, dev) if d.camera]


def camera_modes(source: str) -> dict[tuple[int, int], list[float]]:
    """Sizes and rates ``source`` offers; common modes when it cannot be asked."""
    common = {size: list(COMMON_RATES) for size in COMMON_SIZES}
    text = list_formats(Path(source)) if source.startswith("/dev/") else None
    return (parse_v4l2_modes(text) if text else {}) or common
