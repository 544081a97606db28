"""Cameras the panel offers, and the sizes and rates each can deliver (no Qt here).

On Linux cameras are the ``/dev/video*`` capture nodes; v4l2loopback devices (virtual cameras,
vcam's own output among them) and the metadata nodes a webcam also exposes are left out. Sizes and
rates come from ``v4l2-ctl --list-formats-ext`` when it is installed, otherwise a list of common
modes is offered and the camera gives the nearest it has (the status shows what it gave).
"""
from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

log = logging.getLogger(__name__)

COMMON_SIZES = ((640, 480), (960, 540), (1280, 720), (1920, 1080))
COMMON_RATES = (15.0, 24.0, 30.0, 60.0)


@dataclass(frozen=True)
class Camera:
    source: str    # what CaptureSettings.source takes: a device path, or an index off Linux
    label: str


def list_cameras(sysfs: Path = Path("/sys/class/video4linux"), dev: Path = Path("/dev")) -> list[Camera]:
    """The cameras attached now, in device order."""
    if not sys.platform.startswith("linux"):
        return [Camera("0", "Camera 0")]   # OpenCV cannot list them elsewhere; the first is index 0
    found = []
    for node in sorted(dev.glob("video*"), key=lambda p: (len(p.name), p.name)):
        if not node.name[5:].isdigit():
            continue
        info = sysfs / node.name
        name = _read(info / "name") or node.name
        if info.exists():
            if "/virtual/" in str(info.resolve()):   # v4l2loopback: a virtual camera, not a camera
                continue
            if (_read(info / "index") or "0") != "0":  # a webcam's second (metadata) node
                continue
        found.append(Camera(str(node), f"{name} ({node})"))
    return found


def _read(path: Path) -> Optional[str]:
    try:
        return path.read_text().strip()
    except OSError:
        return None


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


def camera_modes(source: str) -> dict[tuple[int, int], list[float]]:
    """Sizes and rates ``source`` offers; common modes when it cannot be asked."""
    common = {size: list(COMMON_RATES) for size in COMMON_SIZES}
    tool = shutil.which("v4l2-ctl")
    if not source.startswith("/dev/") or tool is None:
        return common
    try:
        result = subprocess.run([tool, "-d", source, "--list-formats-ext"], capture_output=True, text=True,
                                timeout=3)
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("cannot list the modes of %s: %s", source, exc)
        return common
    modes = parse_v4l2_modes(result.stdout) if result.returncode == 0 else {}
    return modes or common
