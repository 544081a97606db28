"""Memory (issue 39): an animation takes the memory of one frame however many it has, and a lack of
memory is told as such, with its fix, never as a package to install or a damaged file.

Everything here runs `vcam` as a user does, in a fresh process: peak memory is that process's
own (``ru_maxrss`` of a child that runs it, so no earlier test's child counts), and a memory limit
is a real one (``RLIMIT_AS``, what ``ulimit -v`` sets), set in the child before vcam starts.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

av = pytest.importorskip("av")

ROOT = Path(__file__).resolve().parents[1]
KIB = 1024
MIB = 1 << 20

# Runs the command line given as JSON in a child, and prints that child's peak resident memory.
PEAK = """
import json, resource, subprocess, sys
done = subprocess.run(json.loads(sys.argv[1]), capture_output=True, text=True)
print(json.dumps({"code": done.returncode, "stderr": done.stderr,
                  "peak": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))
"""


def peak_of(args: list, cwd: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", PEAK, json.dumps([sys.executable, "-m", "vcam", *args])],
                          cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def apng(path: Path, frames: int, side: int) -> Path:
    """``frames`` frames of ``side`` x ``side``: a figure on a wall that changes colour, written
    by PyAV itself (not by the module under test), 100 ms each."""
    with av.open(str(path), "w", format="apng", options={"plays": "0"}) as box:
        stream = box.add_stream("apng")
        stream.width = stream.height = side
        stream.pix_fmt = "rgb24"
        stream.codec_context.time_base = Fraction(1, 1000)
        for i in range(frames):
            rgb = np.full((side, side, 3), (40 + 7 * i) % 256, np.uint8)
            cv2.ellipse(rgb, (side // 2, side // 3), (side // 8, side // 6), 0, 0, 360, (200, 150, 120), -1)
            cv2.rectangle(rgb, (side // 3, side // 2), (2 * side // 3, side), (90, 60, 160), -1)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = 100 * i, Fraction(1, 1000)
            box.mux(stream.encode(frame))
        box.mux(stream.encode())
    return path


# --- an animation, a frame at a time ------------------------------------------------------------

SIDE = 1600


def test_an_animation_takes_the_memory_of_a_few_frames_however_many_it_has(tmp_path):
    """Row 13 of issue 39, small: 4 frames of 7990x7990 took 3.8 GB when every frame was decoded
    first and every output kept until the end (``benchmarks/animation_memory.py``). Read, processed
    and written a frame at a time, 12 frames take what 3 take (before: 25 MB more a frame here)."""
    few, many = apng(tmp_path / "few.png", 3, SIDE), apng(tmp_path / "many.png", 12, SIDE)
    runs = {}
    for name, path in (("few", few), ("many", many)):
        runs[name] = peak_of(["process", str(path), "-o", str(tmp_path / f"out-{name}.png")], tmp_path)
        assert runs[name]["code"] == 0, runs[name]["stderr"]
    frame = SIDE * SIDE * 4   # one RGBA frame
    grown = runs["many"]["peak"] - runs["few"]["peak"]
    assert grown < 3 * frame, f"9 more frames took {grown / MIB:.0f} MiB more (one RGBA frame is {frame / MIB:.0f} MiB)"
    from vcam.fileio.animation import read_animation

    out = read_animation(tmp_path / "out-many.png")
    assert len(out.frames) == 12 and out.alphas is not None and out.durations_ms == [100] * 12


# --- a lack of memory, told as such --------------------------------------------------------------

def under_limit(limit: int, args: list, cwd: Path, before: str = "") -> subprocess.CompletedProcess:
    """`vcam ARGS` with its address space limited to ``limit`` bytes, as ``ulimit -v`` does: set
    in the child before Python starts. ``before``: Python run first in the child, with no limit
    yet (what to have imported), the limit then being ``limit`` above the address space in use."""
    if not before:
        import resource

        def limited() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))

        return subprocess.run([sys.executable, "-m", "vcam", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=300, preexec_fn=limited)
    code = f"""
import re, resource, sys
{before}
in_use = int(re.search(r"VmSize:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) * 1024
resource.setrlimit(resource.RLIMIT_AS, ({limit} + in_use, resource.getrlimit(resource.RLIMIT_AS)[1]))
from vcam.cli import main
sys.exit(main(sys.argv[1:]))
"""
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def assert_memory_is_named(done: subprocess.CompletedProcess, *words: str) -> str:
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert "Traceback" not in said and "pip install" not in said, said
    errors = [line for line in done.stderr.splitlines() if line.startswith("vcam: error:")]
    assert len(errors) == 1, said
    assert "not enough memory" in errors[0] and "ulimit -v" in errors[0], errors[0]
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as box:
        stream = box.add_stream("h264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            box.mux(stream.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i, np.uint8), format="rgb24")))
        box.mux(stream.encode())
    return path


def test_ulimit_v_800000_is_not_enough_memory_and_not_a_package_to_install(tmp_path, clip):
    """Row 14 of issue 39: `ulimit -v 800000; vcam process clip.mp4 ...` said "onnxruntime cannot be
    imported (failed to map segment...): pip install onnxruntime" (or, a few MB either side, a
    library to check with `vcam doctor`, or nothing at all: OpenBLAS never returned)."""
    done = under_limit(800000 * KIB, ["process", str(clip), "-o", str(tmp_path / "out.mp4")], tmp_path)
    assert_memory_is_named(done, "ulimit -v 800000")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


@pytest.mark.parametrize("what, preload, args", [
    # each library imported under a limit that leaves 8 MiB above what is already mapped
    ("onnxruntime", "import vcam.batch, vcam.jit as j; j.warm_up()", ["process", "{picture}", "-o", "{out}.png"]),
    ("PyAV", "import vcam.batch, vcam.jit as j, onnxruntime; j.warm_up()",
     ["process", "{clip}", "-o", "{out}.mp4"]),
    ("the control panel's Qt (PySide6)", "import vcam.batch, vcam.live.pipeline", ["ui", "--screenshot", "{out}.png"]),
])
def test_a_library_that_cannot_be_mapped_is_not_enough_memory(tmp_path, clip, astronaut_png, what, preload, args):
    """The libraries vcam imports with an install hint, each loaded under a real limit it does not
    fit in: the message names memory and the limit, and no package to install. (The address space
    in use is padded to 1 GiB first, so that the limit passes vcam's own first check.)"""
    pad = ("import mmap\npad = mmap.mmap(-1, max(1, (1 << 30) - int(re.search(r'VmSize:\\s+(\\d+)', "
           "open('/proc/self/status').read()).group(1)) * 1024))")
    fields = {"picture": str(astronaut_png), "clip": str(clip), "out": str(tmp_path / "out")}
    done = under_limit(8 * MIB, [a.format(**fields) for a in args], tmp_path, before=f"{preload}\n{pad}")
    assert_memory_is_named(done, f"load {what}")
    assert not list(tmp_path.glob("out*"))


@pytest.mark.parametrize("limit_mib", [256, 512, 768, 1000])
def test_a_limit_too_small_for_the_libraries_is_one_line_before_anything_loads(tmp_path, astronaut_png, limit_mib):
    """Under 1 GiB the libraries fail each in its own way (a segfault at 600 MiB, a hang in
    OpenBLAS at 780, LLVM's abort at 808, Python's MemoryError while reporting a MemoryError): vcam
    says so first, with the limit and how to raise it."""
    done = under_limit(limit_mib * MIB, ["process", str(astronaut_png), "-o", str(tmp_path / "out.png")], tmp_path)
    line = assert_memory_is_named(done, "not enough memory to start", f"ulimit -v {limit_mib * 1024}")
    assert "ulimit -v unlimited" in line
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("limit_mib", [1024, 1100, 1200, 1400])
def test_under_any_limit_a_picture_is_made_whole_or_memory_is_named(tmp_path, astronaut_png, limit_mib):
    """Above vcam's floor: done (exit 0, the whole picture), or one line naming memory; never a
    traceback, a hang or a package to install."""
    out = tmp_path / "out.png"
    done = under_limit(limit_mib * MIB, ["process", str(astronaut_png), "-o", str(out)], tmp_path)
    if done.returncode == 0:
        assert cv2.imread(str(out), cv2.IMREAD_UNCHANGED).shape == (512, 512, 4)
    else:
        assert_memory_is_named(done)
        assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


# --- a missing package, a broken one: each its own fix -------------------------------------------

def run_vcam(cwd: Path, args: list, before: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    code = f"import sys\n{before}\nfrom vcam.cli import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=env)


def one_error(done: subprocess.CompletedProcess) -> str:
    said = done.stdout + done.stderr
    assert done.returncode == 2 and "Traceback" not in said, said
    errors = [line for line in done.stderr.splitlines() if line.startswith("vcam: error:")]
    assert len(errors) == 1, said
    return errors[0]


def test_onnxruntime_not_installed_says_pip_install(tmp_path, astronaut_png):
    """``None`` in sys.modules: Python's own "not importable" (what a missing package raises)."""
    done = run_vcam(tmp_path, ["process", str(astronaut_png), "-o", str(tmp_path / "o.png")],
                    before="sys.modules['onnxruntime'] = None")
    line = one_error(done)
    assert "onnxruntime is not installed" in line and "pip install onnxruntime" in line, line
    assert "memory" not in line


def test_a_broken_onnxruntime_says_reinstall_not_install(tmp_path, astronaut_png):
    """An onnxruntime whose native part cannot load (as when a file of it is missing)."""
    fake = tmp_path / "site" / "onnxruntime"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('libonnxruntime.so.1.20.1: cannot open shared object file: "
                                      "No such file or directory')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"))
    line = one_error(run_vcam(tmp_path, ["process", str(astronaut_png), "-o", str(tmp_path / "o.png")], env=env))
    assert re.search(r"onnxruntime cannot be imported \(libonnxruntime\.so.*\): pip install --force-reinstall "
                     r"onnxruntime", line), line
    assert "not installed" not in line and "memory" not in line
