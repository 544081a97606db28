"""Helpers shared by the test modules (tests/ is on sys.path, beside conftest.py)."""
from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Optional

import cv2
import pytest

# The mediapipe backend is an optional extra (`pip install '.[mediapipe]'`, Python 3.10 to 3.12).
HAS_MEDIAPIPE = importlib.util.find_spec("mediapipe") is not None
needs_mediapipe = pytest.mark.skipif(not HAS_MEDIAPIPE, reason="mediapipe is not installed (the optional "
                                     "extra: pip install '.[mediapipe]', Python 3.10 to 3.12)")



def ctrl_c_default() -> None:
    """``preexec_fn`` for a child that is to be stopped by SIGINT: a shell's background job (as
    when the suite runs under ``nohup ... &``) starts with SIGINT ignored, which a child inherits,
    and Python then gives it no KeyboardInterrupt. A user at a terminal has the default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cuda_listed_but_broken(monkeypatch) -> None:
    """Make onnxruntime list CUDA, as onnxruntime-gpu does without working CUDA libraries: a
    session asked for it really tries it and starts on the CPU. Skips where CUDA really works."""
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("CUDA is really available here")
    real = ort.get_available_providers()
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", *real])


# What `v4l2-ctl --list-formats-ext` prints for a webcam with two formats.
V4L2_CTL = """ioctl: VIDIOC_ENUM_FMT
	Type: Video Capture

	[0]: 'MJPG' (Motion-JPEG, compressed)
		Size: Discrete 1280x720
			Interval: Discrete 0.033s (30.000 fps)
			Interval: Discrete 0.067s (15.000 fps)
		Size: Discrete 640x480
			Interval: Discrete 0.033s (30.000 fps)
	[1]: 'YUYV' (YUYV 4:2:2)
		Size: Discrete 640x480
			Interval: Discrete 0.017s (60.000 fps)
"""


def count_frames(path: Path, shape: Optional[tuple[int, ...]] = None) -> int:
    """Decode a video to its end; every frame must have ``shape`` when given."""
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), path
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert shape is None or frame.shape == shape
        n += 1
    cap.release()
    return n

# What `v4l2-ctl --list-formats-ext` prints for a Logitech C920 (YUYV, H264 and MJPG; trimmed to
# the sizes that matter, intervals as the camera lists them).
V4L2_CTL_C920 = """ioctl: VIDIOC_ENUM_FMT
	Type: Video Capture

	[0]: 'YUYV' (YUYV 4:2:2)
		Size: Discrete 640x480
			Interval: Discrete 0.033s (30.000 fps)
			Interval: Discrete 0.042s (24.000 fps)
			Interval: Discrete 0.050s (20.000 fps)
			Interval: Discrete 0.067s (15.000 fps)
			Interval: Discrete 0.100s (10.000 fps)
			Interval: Discrete 0.133s (7.500 fps)
			Interval: Discrete 0.200s (5.000 fps)
		Size: Discrete 160x90
			Interval: Discrete 0.033s (30.000 fps)
			Interval: Discrete 0.200s (5.000 fps)
		Size: Discrete 320x240
			Interval: Discrete 0.033s (30.000 fps)
			Interval: Discrete 0.200s (5.000 fps)
		Size: Discrete 800x600
			Interval: Discrete 0.042s (24.000 fps)
			Interval: Discrete 0.200s (5.000 fps)
		Size: Discrete 960x720
			Interval: Discrete 0.067s (15.000 fps)
			Interval: Discrete 0.200s (5.000 fps)
		Size: Discrete 1024x576
			Interval: Discrete 0.067s (15.000 fps)
			Interval: Discrete 0.200s (5.000 fps)
		Size: Discrete 1280x720
			Interval: Discrete 0.100s (10.000 fps)
			Interval: Discrete 0.133s (7.500 fps)
			Interval: Discrete 0.200s (5.000 fps)
		Size: Discrete 1920x1080
			Interval: Discrete 0.200s (5.000 fps)
		Size: Discrete 2304x1536
			Interval: Discrete 0.500s (2.000 fps)
	[1]: 'H264' (H.264, compressed)
		Size: Discrete 1920x1080
			Interval: Discrete 0.033s (30.000 fps)
	[2]: 'MJPG' (Motion-JPEG, compressed)
		Size: Discrete 1280x720
			Interval: Discrete 0.033s (30.000 fps)
			Interval: Discrete 0.042s (24.000 fps)
			Interval: Discrete 0.067s (15.000 fps)
		Size: Discrete 1920x1080
			Interval: Discrete 0.033s (30.000 fps)
			Interval: Discrete 0.042s (24.000 fps)
			Interval: Discrete 0.067s (15.000 fps)
"""



# The synthetic auto-frame sequences live with their benchmark (benchmarks/autoframe_bench.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from autoframe_bench import SweptPortrait, head_middle  # noqa: E402,F401


@contextlib.contextmanager
def small_disk(folder: Path, size: str):
    """A real, small file system: a tmpfs of ``size`` (``"400k"``) mounted at ``folder/disk``
    while the block runs. Skips where it cannot be mounted (not root, no tmpfs)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = folder / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int) -> None:
    """Fill ``disk`` until ``leave`` bytes are free."""
    free = shutil.disk_usage(disk).free
    with open(disk / "filler", "wb") as f:
        f.write(b"\0" * max(0, free - leave))
