"""`vcam doctor`: is this machine ready for a call? Each check is a small function that returns
:class:`Check` records (what was found, and the fix when it is a problem).

The filesystem roots (``/sys``, ``/dev``, ``/proc``) are parameters, so the Linux checks can be
pointed at another tree.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import os
import platform
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from vcam.live import devices
from vcam.live.devices import VideoDevice, read_text
from vcam.system import memory, packages

MODPROBE = "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=vcam"
RELOAD = f"sudo modprobe -r v4l2loopback && {MODPROBE}"


@dataclass(frozen=True)
class Check:
    """One finding. ``ok`` False with ``required`` makes the machine not ready for a call; a
    failed check that is not required is a warning (something optional is missing)."""

    ok: bool
    what: str
    fix: str = ""
    required: bool = True


@dataclass
class Roots:
    """Where the Linux checks look; the real system by default."""

    sys: Path = field(default_factory=lambda: Path("/sys"))
    dev: Path = field(default_factory=lambda: Path("/dev"))
    proc: Path = field(default_factory=lambda: Path("/proc"))


# -- OS ------------------------------------------------------------------------------------------
def check_os() -> list[Check]:
    system = {"linux": "Linux", "win32": "Windows", "darwin": "macOS"}.get(sys.platform, sys.platform)
    what = f"{system} {platform.release()} ({platform.machine()}), Python {platform.python_version()}"
    if sys.platform not in ("linux", "win32", "darwin"):
        return [Check(False, what + ": no virtual camera support on this system", "use Linux, Windows or macOS")]
    return [Check(True, what)]


# -- cameras (Linux) -----------------------------------------------------------------------------
def video_devices(roots: Roots) -> list[VideoDevice]:
    return devices.video_devices(roots.sys / "class" / "video4linux", roots.dev)


def modes_summary(device: Path, run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> Optional[str]:
    """A short summary of the formats and sizes ``v4l2-ctl`` lists, or None without v4l2-ctl."""
    text = devices.list_formats(device, run)
    if text is None:
        return None
    return summarize_modes(text) or "no capture formats listed"


def summarize_modes(text: str) -> str:
    """``v4l2-ctl --list-formats-ext`` output -> 'MJPG 1280x720@30 640x480@30; YUYV 640x480@30'."""
    formats: list[tuple[str, list[str]]] = []
    size = None
    for line in text.splitlines():
        if m := re.search(r"\[\d+\]: '(\w+)'", line):
            formats.append((m.group(1), []))
        elif (m := re.search(r"Size: \w+ (\d+x\d+)", line)) and formats:
            size = m.group(1)
        elif (m := re.search(r"\(([\d.]+) fps\)", line)) and formats and size:
            mode = f"{size}@{float(m.group(1)):g}"
            modes = formats[-1][1]
            if not any(x.startswith(size + "@") for x in modes):   # the best rate of each size
                modes.append(mode)
    return "; ".join(f"{fmt} {' '.join(modes)}" if modes else fmt for fmt, modes in formats)


def check_cameras(roots: Roots, modes: Callable[[Path], Optional[str]] = modes_summary) -> list[Check]:
    """Linux: the capture devices and their modes (v4l2loopback devices are reported apart)."""
    # A webcam's second node (index 1 and up) carries metadata, not pictures.
    cameras = [d for d in video_devices(roots) if d.camera]
    if not cameras:
        return [Check(False, f"no camera found (no capture device {roots.dev}/video*)",
                      "connect a webcam (`ls /dev/video*` should list it), or try the demo portrait: "
                      "`vcam --source demo` (the panel) or `vcam run --source demo`")]
    checks = []
    listed = None
    for cam in cameras:
        text = modes(cam.path)
        listed = text is not None
        checks.append(Check(True, f"camera {cam.path} ({cam.name or 'unnamed'})" + (f": {text}" if text else "")))
    if not listed:
        checks.append(Check(True, "modes not listed: v4l2-ctl is not installed",
                            "to list them: sudo apt install v4l-utils", required=False))
    return checks


# -- virtual camera ------------------------------------------------------------------------------
def _flags(text: Optional[str]) -> list[bool]:
    return [v.strip().upper() in ("Y", "1", "TRUE") for v in (text or "").split(",") if v.strip()]


def exclusive_caps(roots: Roots, index: int) -> Optional[bool]:
    """Whether the ``index``-th v4l2loopback device has exclusive_caps set; None when unknown."""
    flags = _flags(read_text(roots.sys / "module" / "v4l2loopback" / "parameters" / "exclusive_caps"))
    if not flags:
        return None
    return flags[index] if index < len(flags) else flags[0] if len(flags) == 1 else False


def users(device: Path, roots: Roots) -> list[str]:
    """The processes that have ``device`` open ('name (pid N)'), as far as we may look."""
    found = []
    try:
        pids = [p for p in roots.proc.iterdir() if p.name.isdigit()]
    except OSError:
        return found
    target = str(device)
    for pid in pids:
        try:
            fds = list((pid / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) == target:
                    found.append(f"{read_text(pid / 'comm') or '?'} (pid {pid.name})")
                    break
            except OSError:
                continue
    return found


def check_loopback_device(device: VideoDevice, index: int, roots: Roots) -> list[Check]:
    """exclusive_caps=1, writable, not in use: one record each."""
    path = device.path
    checks = []
    caps = exclusive_caps(roots, index)
    if caps is None:
        checks.append(Check(True, f"{path}: exclusive_caps unknown (cannot read the module parameters)",
                            f"if Chrome or Teams do not list it: {RELOAD}", required=False))
    elif caps:
        checks.append(Check(True, f"{path}: exclusive_caps=1 (Chrome and Teams can list it)"))
    else:
        checks.append(Check(False, f"{path}: exclusive_caps is off, so Chrome and Teams will not list it", RELOAD))
    if os.access(path, os.W_OK):
        checks.append(Check(True, f"{path}: writable"))
    else:
        checks.append(Check(False, f"{path}: not writable by you",
                            "add yourself to its group (`sudo usermod -aG video $USER`, then log in again)"))
    holders = users(path, roots)
    if holders:
        checks.append(Check(False, f"{path}: in use by {', '.join(holders)}",
                            "close that program, or give vcam another device with --output-device"))
    else:
        checks.append(Check(True, f"{path}: not in use"))
    return checks


def check_virtual_camera_linux(roots: Roots) -> list[Check]:
    if not (roots.sys / "module" / "v4l2loopback").is_dir():
        return [Check(False, "v4l2loopback is not loaded: there is no virtual camera",
                      f"{MODPROBE}  (if modprobe cannot find it: sudo apt install v4l2loopback-dkms)")]
    loaded = Check(True, "v4l2loopback is loaded")
    devices = [d for d in video_devices(roots) if d.loopback]
    if not devices:
        return [loaded, Check(False, "v4l2loopback is loaded but has no device", RELOAD)]
    per_device = [check_loopback_device(d, i, roots) for i, d in enumerate(devices)]
    names = ", ".join(f"{d.path} ({d.name})" if d.name else str(d.path) for d in devices)
    listing = Check(True, f"virtual camera device(s): {names}")
    good = next((c for c in per_device if all(x.ok for x in c)), None)
    if good is not None:   # vcam takes the first usable one: the others' problems do not matter
        return [loaded, listing, *good]
    return [loaded, listing, *per_device[0]]


def check_virtual_camera_pyvirtualcam(fix: str) -> list[Check]:
    """Windows and macOS: open each pyvirtualcam backend for a moment."""
    try:
        import pyvirtualcam
    except ImportError as exc:
        return [Check(False, f"pyvirtualcam cannot be imported ({exc})", "reinstall vcam")]
    reasons = []
    for name in pyvirtualcam.camera.BACKENDS:
        try:
            with pyvirtualcam.Camera(320, 240, 30, backend=name) as cam:
                return [Check(True, f"virtual camera available: {name} ({cam.device})")]
        except Exception as exc:  # each backend raises its own kind
            reasons.append(f"{name}: {' '.join(str(exc).split()) or type(exc).__name__}")
    return [Check(False, f"no virtual camera ({'; '.join(reasons) or 'no backend'})", fix)]


def check_virtual_camera(roots: Roots) -> list[Check]:
    if sys.platform.startswith("linux"):
        return check_virtual_camera_linux(roots)
    if sys.platform == "win32":
        return check_virtual_camera_pyvirtualcam(
            "install OBS Studio (26 or newer) and start its virtual camera once, or install Unity Capture")
    if sys.platform == "darwin":
        return check_virtual_camera_pyvirtualcam(
            "install OBS Studio 30 or newer, start its virtual camera once and allow its system extension")
    return [Check(False, f"no virtual camera support on {sys.platform}", "use Linux, Windows or macOS")]


@contextlib.contextmanager
def _quiet():
    """Keep what a failing import prints (NumPy's banner about modules built for NumPy 1) out of
    the report: the check says it in one line."""
    with contextlib.redirect_stderr(io.StringIO()):
        yield


# -- segmentation and kernels --------------------------------------------------------------------
def check_segmentation() -> list[Check]:
    from vcam.config import SegmentSettings
    from vcam.system.resources import BUNDLED_DEPTH_MODELS, BUNDLED_MODELS, models_dir

    default = SegmentSettings.backend
    checks = []
    found = packages.installed(packages.ONNXRUNTIME)
    try:
        with _quiet():
            ort = importlib.import_module("onnxruntime")
        checks.append(Check(True, f"onnxruntime {ort.__version__}: providers {', '.join(ort.get_available_providers())}"))
        checks += check_distributions("onnxruntime", found,
                                      f"pip install -U 'onnxruntime>={packages.floor_text(packages.FLOORS['onnxruntime'])}'")
    except Exception as exc:
        if packages.built_for_numpy1("onnxruntime", found, exc):
            checks.append(Check(False, f"{packages.describe(found[:1]) or 'onnxruntime'} was built for NumPy 1 "
                                       "and cannot run beside NumPy 2",
                                packages.numpy2_fix("onnxruntime", found[0][0] if found else "onnxruntime"),
                                required=default == "onnx"))
        else:
            checks.append(_cannot_import("onnxruntime", exc, "pip install onnxruntime", required=default == "onnx"))
    checks.append(check_mediapipe(required=default == "mediapipe"))
    try:
        folder = models_dir()
    except FileNotFoundError as exc:
        return checks + [Check(False, str(exc), "reinstall vcam")]
    for model, filename in {**BUNDLED_MODELS, **BUNDLED_DEPTH_MODELS}.items():
        path = folder / filename
        if path.is_file() and path.stat().st_size > 0:
            checks.append(Check(True, f"model {model}: {path}"))
        else:
            checks.append(Check(False, f"model {model} is missing ({path})",
                                "reinstall vcam (`pip install --force-reinstall vcam`)"))
    return checks


def check_mediapipe(*, required: bool) -> Check:
    """The optional mediapipe backend: installed, the version that has the selfie models, and
    its selfie segmentation importable."""
    try:
        with _quiet():
            from vcam.segment.mediapipe import install_hint, load_mediapipe
    except ImportError as exc:   # OpenCV or NumPy broken: the libraries section says how to fix it
        return Check(False, f"the mediapipe backend cannot be checked ({' '.join(str(exc).split())})",
                     "fix the libraries above first", required=required)
    wanted = packages.MEDIAPIPE_WANTED
    install = install_hint()
    found = packages.installed(("mediapipe",))
    if not found:
        return Check(False, "mediapipe is not installed (optional: the onnx backend runs the same models)",
                     install, required=required)
    version = found[0][1]
    if version != wanted:
        return Check(False, f"mediapipe {version} is installed, but only mediapipe {wanted} has the selfie "
                            "segmentation models vcam's mediapipe backend uses", install, required=required)
    try:
        load_mediapipe()
    except Exception as exc:
        return Check(False, f"mediapipe {version} does not load ({exc})",
                     f"pip install --force-reinstall 'mediapipe=={wanted}'", required=required)
    return Check(True, f"mediapipe {version} (optional backend)")


def check_distributions(module: str, found: list[tuple[str, str]], upgrade: str) -> list[Check]:
    """One distribution of ``module`` installed, at a version vcam is tested with."""
    key = "opencv" if module == "cv2" else module
    if len(found) > 1:
        # keep a GPU build over the CPU one: it was installed on purpose (the README's swap)
        keep = next((n for n, _ in found if n != "onnxruntime"), found[0][0])
        fix = (packages.opencv_clash_fix(found) if key == "opencv" else
               f"pip uninstall -y {' '.join(n for n, _ in found)} && pip install {keep}")
        return [Check(False, f"{packages.describe(found)} are installed together: they share the {module} "
                             "folder, so one overwrote the other and uninstalling either breaks it", fix)]
    floor = packages.FLOORS[key]
    if found and packages.too_old(found[0][1], floor):
        return [Check(False, f"{packages.describe(found)} is older than {packages.floor_text(floor)}, "
                             "the oldest version vcam is tested with", upgrade)]
    return []


def check_libraries() -> list[Check]:
    """OpenCV and NumPy: importable, one OpenCV distribution, versions vcam is tested with."""
    checks = []
    try:
        import numpy

        if packages.too_old(numpy.__version__, packages.FLOORS["numpy"]):
            checks.append(Check(False, f"numpy {numpy.__version__} is older than "
                                       f"{packages.floor_text(packages.FLOORS['numpy'])}, the oldest vcam is tested with",
                                "pip install -U numpy"))
        else:
            checks.append(Check(True, f"numpy {numpy.__version__}"))
    except Exception as exc:
        return [_cannot_import("numpy", exc, "pip install --force-reinstall numpy")]
    found = packages.installed(packages.OPENCV)
    try:
        with _quiet():
            import cv2

        checks.append(Check(True, f"OpenCV {cv2.__version__} ({packages.describe(found) or 'no distribution found'})"))
    except Exception as exc:
        if packages.built_for_numpy1("opencv", found, exc):
            checks.append(Check(False, f"{packages.describe(found[:1]) or 'OpenCV'} was built for NumPy 1 and cannot "
                                       "run beside NumPy 2", packages.numpy2_fix("opencv", packages.OPENCV_WANTED)))
        else:
            fix = (packages.opencv_clash_fix(found) if found else
                   f"pip install '{packages.OPENCV_WANTED}>={packages.floor_text(packages.FLOORS['opencv'])}'")
            checks.append(_cannot_import("OpenCV", exc, fix))
    checks += check_distributions("cv2", found, f"pip install -U '{packages.OPENCV_WANTED}'")
    return checks


def _cannot_import(what: str, exc: BaseException, fix: str, *, required: bool = True) -> Check:
    """A library that cannot be imported, with ``fix``; or, where memory ran out (a limit such as
    ulimit -v: its shared objects cannot be mapped), memory's fix, not a reinstall."""
    if memory.caused(exc):
        shortage = memory.shortage(f"load {what}", exc)
        return Check(False, shortage.problem, shortage.fix, required=required)
    return Check(False, f"{what} cannot be imported ({' '.join(str(exc).split())})", fix, required=required)


def check_numba() -> list[Check]:
    try:
        with _quiet():
            import numba
            import numpy as np

        add = numba.njit(cache=False)(lambda a: a + 1)
        if add(np.int64(41)) != 42:
            raise RuntimeError("a compiled function gave a wrong result")
    except Exception as exc:
        if memory.caused(exc):
            return [_cannot_import("numba", exc, "")]
        fix = ("pip install -U numba (a release that supports the installed NumPy)" if "NumPy" in str(exc)
               else "reinstall numba (`pip install --force-reinstall numba`)")
        return [Check(False, f"numba does not work ({type(exc).__name__}: {exc})", fix)]
    return [Check(True, f"numba {numba.__version__} compiles")]


def check_video() -> list[Check]:
    """PyAV and the FFmpeg inside it: the encoders vcam writes video files with, one frame
    really encoded. Not needed for a call (a warning where something is missing)."""
    from vcam.fileio import video_writer

    try:
        with _quiet():
            import av
    except Exception as exc:
        if memory.caused(exc):
            return [_cannot_import("PyAV", exc, "", required=False)]
        return [Check(False, f"PyAV cannot be imported ({' '.join(str(exc).split())}): video files cannot be read "
                             "or written", "pip install --force-reinstall av", required=False)]
    ffmpeg = getattr(av, "ffmpeg_version_info", None) or "unknown"
    checks = [Check(True, f"PyAV {av.__version__} with FFmpeg {ffmpeg}")]
    if packages.too_old(av.__version__, packages.FLOORS["av"]):
        checks.append(Check(False, f"PyAV {av.__version__} is older than {packages.floor_text(packages.FLOORS['av'])}, "
                                   "the oldest vcam is tested with", "pip install -U av", required=False))
    have, missing = [], []
    for name, codec in video_writer.CODECS.items():
        (have if _encoder(av, codec.encoder) else missing).append(f"{name} ({codec.encoder})")
    for name in ("aac", "libopus"):
        (have if _encoder(av, name) else missing).append(name)
    checks.append(Check(True, f"video encoders: {', '.join(have)}"))
    if missing:
        checks.append(Check(False, f"this FFmpeg lacks {', '.join(missing)}", "pip install --force-reinstall av "
                                   "(PyAV's wheels have them all)", required=False))
    try:
        video_writer.probe_h264()
        checks.append(Check(True, "an H.264 frame encodes and decodes"))
    except Exception as exc:
        checks.append(Check(False, f"H.264 does not work ({' '.join(str(exc).split())})",
                            "pip install --force-reinstall av", required=False))
    return checks


def _encoder(av, name: str) -> bool:
    try:
        av.codec.Codec(name, "w")
        return True
    except Exception:
        return False


# -- all together --------------------------------------------------------------------------------
def run_checks(roots: Optional[Roots] = None) -> list[tuple[str, list[Check]]]:
    """Every check, in sections."""
    roots = roots or Roots()
    sections = [("system", check_os)]
    if sys.platform.startswith("linux"):
        sections.append(("cameras", lambda: check_cameras(roots)))
    else:
        sections.append(("cameras", lambda: [Check(True, "cameras are listed in the panel (`vcam`) on this system")]))
    sections += [("virtual camera", lambda: check_virtual_camera(roots)),
                 ("libraries", check_libraries), ("segmentation", check_segmentation), ("numba", check_numba),
                 ("video files", check_video)]
    results = []
    for title, fn in sections:
        try:
            results.append((title, fn()))
        except Exception as exc:  # a check that breaks is itself a finding, not a crash
            results.append((title, [Check(False, f"the check failed: {type(exc).__name__}: {exc}", "report this")]))
    return results


def ready(results: list[tuple[str, list[Check]]]) -> bool:
    return all(c.ok or not c.required for _, checks in results for c in checks)


def report(results: list[tuple[str, list[Check]]]) -> str:
    lines = []
    for title, checks in results:
        lines.append(f"{title}:")
        for c in checks:
            mark = "ok  " if c.ok else "FAIL" if c.required else "warn"
            lines.append(f"  [{mark}] {c.what}")
            if c.fix and (not c.ok or not c.required):
                lines.append(f"         fix: {c.fix}")
    problems = sum(not c.ok and c.required for _, checks in results for c in checks)
    lines.append("ready for a call" if ready(results) else
                 f"not ready for a call: {problems} problem(s), each with its fix above")
    return "\n".join(lines)
