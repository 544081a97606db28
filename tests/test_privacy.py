"""Private by default: no dependency phones home and nothing is written outside the outputs.

ONNX Runtime's Python package writes a device id and an events database under
``~/.cache/Microsoft/DeveloperTools/.onnxruntime/`` on import and sends telemetry, unless
``ORT_DISABLE_TELEMETRY=1`` is set before the import (vcam/system/telemetry.py). Each command runs here as
a real process with an empty home folder, which must still be empty afterwards; where strace is
installed, the same runs are traced and must make no network connection at all.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = {
    "process": ["process", "{picture}", "--model", "general", "-o", "{out}/matte.png"],
    "run": ["run", "--source", "demo", "--width", "320", "--height", "240", "--output", "{out}/rec.mp4",
            "--frames", "20"],
    "bench": ["bench", "--resolution", "160x120", "--frames", "10", "--sink", "null"],
    "ui": ["ui", "--screenshot", "{out}/panel.png"],
}


def empty_home_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("XDG_") and k not in ("ORT_DISABLE_TELEMETRY", "OPENCV_FFMPEG_LOGLEVEL")}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen")
    return env


def everything_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def setting(tmp_path, astronaut_png):
    home, out = tmp_path / "home", tmp_path / "out"
    home.mkdir()
    out.mkdir()
    return home, out, astronaut_png


def command(name: str, out: Path, picture: Path) -> list[str]:
    return [a.format(picture=picture, out=out) for a in COMMANDS[name]]


@pytest.mark.skipif(sys.platform == "win32", reason="HOME decides the cache folder on POSIX")
@pytest.mark.parametrize("name", list(COMMANDS))
def test_no_file_outside_the_outputs(setting, name):
    home, out, picture = setting
    done = subprocess.run([sys.executable, "-m", "vcam", *command(name, out, picture)], cwd=out,
                          env=empty_home_env(home), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    # no ~/.cache/Microsoft/..., nor anything else outside vcam's own cache (mediapipe's matplotlib font list)
    assert [p for p in everything_under(home) if not (p == ".cache" or p.startswith(".cache/vcam"))] == []
    assert "Traceback" not in done.stderr


def test_onnxruntime_imported_after_vcam_keeps_nothing(tmp_path):
    """The proof that the variable is what matters: onnxruntime alone writes its device id, the
    same import after vcam's does not."""
    home = tmp_path / "home"
    home.mkdir()
    alone = subprocess.run([sys.executable, "-c", "import onnxruntime"], env=empty_home_env(home), timeout=120)
    assert alone.returncode == 0
    written = everything_under(home)
    shutil.rmtree(home)
    home.mkdir()
    after = subprocess.run([sys.executable, "-c", "import vcam, onnxruntime"], env=empty_home_env(home), timeout=120)
    assert after.returncode == 0
    assert everything_under(home) == []
    if not written:
        pytest.skip("this onnxruntime keeps no telemetry files even without the variable")


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_no_network_connection(setting):
    home, out, picture = setting
    trace = out / "network.log"
    done = subprocess.run(["strace", "-f", "-qq", "-e", "trace=network", "-o", str(trace),
                           sys.executable, "-m", "vcam", *command("process", out, picture)],
                          cwd=out, env=empty_home_env(home), capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and "ptrace" in done.stderr:
        pytest.skip("strace may not trace here")
    assert done.returncode == 0, done.stderr
    calls = trace.read_text().splitlines()
    outward = [c for c in calls if re.search(r"\b(connect|sendto|sendmsg|sendmmsg|bind)\(", c) and "AF_INET" in c]
    assert outward == []   # no DNS query (UDP to port 53), no connection
