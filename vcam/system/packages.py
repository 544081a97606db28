"""Which distributions of vcam's native dependencies are installed, and whether their versions
are ones vcam is tested with (for ``vcam doctor`` and the onnx backend's warnings).

Several PyPI distributions provide the same module (``cv2``: four OpenCV builds; ``onnxruntime``:
the CPU, GPU and DirectML builds). Two of them installed together share one folder: the last one
installed overwrites the other's files, and uninstalling either breaks the module.
"""
from __future__ import annotations

import re
import sys
from importlib import metadata

from vcam.errors import VcamError
from vcam.system import memory

OPENCV = ("opencv-contrib-python", "opencv-python", "opencv-python-headless", "opencv-contrib-python-headless")
# The one pyproject names: the distribution mediapipe depends on where mediapipe installs (Python
# 3.12 and older), its headless build (no Qt of its own) where it cannot.
OPENCV_WANTED = "opencv-contrib-python" if sys.version_info < (3, 13) else "opencv-contrib-python-headless"
ONNXRUNTIME = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml", "onnxruntime-openvino",
               "onnxruntime-silicon")
MEDIAPIPE_WANTED = "0.10.21"              # the last mediapipe with the selfie models and solutions API
# The lowest versions .ci/run tests (.ci/floors.txt); pyproject.toml has the same floors.
FLOORS = {"onnxruntime": (1, 17), "opencv": (4, 8), "numpy": (1, 24), "av": (15, 0)}
# The first releases built for NumPy 2: older ones fail to import beside it.
NUMPY2_SINCE = {"opencv": (4, 10), "onnxruntime": (1, 19)}


def version_tuple(text: str) -> tuple[int, ...]:
    """'1.23.2' -> (1, 23, 2); '4.10.0.84' -> (4, 10, 0, 84); '2.1.0rc1' -> (2, 1, 0)."""
    parts = []
    for piece in text.split("."):
        m = re.match(r"\d+", piece)
        if not m:
            break
        parts.append(int(m.group()))
    return tuple(parts)


def installed(names: tuple[str, ...]) -> list[tuple[str, str]]:
    """(distribution, version) for each of ``names`` that is installed, in the order given."""
    found = []
    for name in names:
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            pass
    return found


def describe(found: list[tuple[str, str]]) -> str:
    return " and ".join(f"{name} {ver}" for name, ver in found)


def opencv_clash_fix(found: list[tuple[str, str]]) -> str:
    """The commands that leave one OpenCV: remove every one found, put back the one vcam names."""
    names = " ".join(name for name, _ in found)
    keep = dict(found).get(OPENCV_WANTED)
    spec = f"{OPENCV_WANTED}=={keep}" if keep else f"{OPENCV_WANTED}>={floor_text(FLOORS['opencv'])}"
    return f"pip uninstall -y {names} && pip install '{spec}'"


def too_old(version: str, floor: tuple[int, ...]) -> bool:
    return version_tuple(version)[: len(floor)] < floor


def floor_text(floor: tuple[int, ...]) -> str:
    return ".".join(map(str, floor))


def built_for_numpy1(key: str, found: list[tuple[str, str]], exc: BaseException) -> bool:
    """Whether an import of ``key`` (``opencv``, ``onnxruntime``) failed because the module was
    compiled against NumPy 1 while NumPy 2 is installed: its version predates NumPy 2 support,
    or the error says so (NumPy's own words for it vary by version)."""
    try:
        numpy_major = version_tuple(metadata.version("numpy"))[:1]
    except metadata.PackageNotFoundError:
        return False
    if numpy_major < (2,):
        return False
    if found and too_old(found[0][1], NUMPY2_SINCE[key]):
        return True
    text = str(exc)
    return any(m in text for m in ("multiarray failed to import", "_ARRAY_API", "compiled using NumPy 1"))


def numpy2_fix(key: str, dist: str) -> str:
    return f"pip install -U '{dist}>={floor_text(NUMPY2_SINCE[key])}' (built for NumPy 2), or pip install 'numpy<2'"


def import_failure(exc: BaseException, what: str, install: str, *, module: str = "",
                   reinstall: str = "") -> VcamError:
    """Why ``what`` (a library, or a part of vcam that needs it) could not be imported, with the
    fix for that cause, not one fix for all: not enough memory (an address-space limit such as
    ``ulimit -v``: its shared objects cannot be mapped) -> the memory's fix; the package itself
    not installed (a ModuleNotFoundError for ``module``) -> ``install``; anything else is a
    broken install (a file missing inside it, a library built for another NumPy) -> ``reinstall``,
    by default `vcam doctor`, which names the cause."""
    if memory.caused(exc):
        return memory.shortage(f"load {what}", exc)
    top = (module or what).split(".")[0]
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == top:
        return VcamError(f"{what} is not installed", install)
    return VcamError(f"{what} cannot be imported ({' '.join(str(exc).split()) or type(exc).__name__})",
                     reinstall or f"`vcam doctor` names the problem and its fix; reinstalling often mends it "
                                   f"(pip install --force-reinstall {top})")
