"""Where the shipped models and pictures are, installed or in a source checkout."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Optional

from vcam.config import DEPTH_MODEL, LANDSCAPE_MODEL, MATTING_MODEL, PRODUCT_MODEL, SELFIE_MODEL
from vcam.errors import VcamError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".gif")   # an animated GIF is a video
# The bundled models (models/, installed as vcam.models), by model name: the two selfie
# segmenters, MODNet's photographic portrait matting (models/NOTICE-modnet.md) and U^2-Net small
# for products (models/NOTICE-u2netp.md).
BUNDLED_MODELS = {SELFIE_MODEL: "selfie_segmentation.onnx", LANDSCAPE_MODEL: "selfie_segmentation_landscape.onnx",
                  MATTING_MODEL: "modnet_photographic_portrait_matting.onnx", PRODUCT_MODEL: "u2netp.onnx"}
# ... and the bundled networks that are not segmenters: TCMonoDepth's small network, the room's
# depth for the portrait blur and --effect depth (models/LICENSE-tcmonodepth.txt).
BUNDLED_DEPTH_MODELS = {DEPTH_MODEL: "tcmonodepth_tcsmallnet_192x320.onnx"}


def _package_dir(name: str) -> Path:
    """``vcam.assets`` installed, or ``assets/`` beside ``vcam/`` in a source checkout."""
    spec = importlib.util.find_spec(f"vcam.{name}")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    checkout = Path(__file__).resolve().parents[2] / name   # vcam/system/resources.py -> the checkout
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"vcam's {name}/ folder is missing: reinstall with `pip install .`")


def assets_dir() -> Path:
    return _package_dir("assets")


def models_dir() -> Path:
    return _package_dir("models")


def demo_image() -> Path:
    return assets_dir() / "demo.jpg"


def backgrounds() -> list[Path]:
    """The shipped backgrounds, sorted by name."""
    folder = assets_dir() / "backgrounds"
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES)


def background_names() -> list[str]:
    """The shipped backgrounds' names (their stems: ``dusk``, ``seaside`` ...), sorted; none
    where the assets folder is missing."""
    return list(_bundled())


def _bundled() -> dict[str, Path]:
    try:
        return {p.stem: p for p in backgrounds()}
    except FileNotFoundError:
        return {}


def _bare(given: str) -> bool:
    """A name without a folder part (``seaside``, ``beach.jpg``), as opposed to a path."""
    return not any(sep and sep in given for sep in (os.sep, os.altsep)) and not given.startswith("~")


def _there(given: str) -> bool:
    """Whether something is at ``given``. One that cannot be looked at (no permission, a name too
    long, a NUL) counts as there: the path checks (vcam.fileio.user_paths) say what is wrong."""
    try:
        os.stat(Path(given).expanduser())
    except (FileNotFoundError, NotADirectoryError):
        return False
    except (OSError, ValueError):
        return True
    return True


def background_name(given: str) -> Optional[str]:
    """The shipped background that ``given`` names, or None. A name matches a shipped
    background's stem or file name, in any case (``seaside``, ``Seaside.JPG``); a path matches
    when it is a shipped background's file: this install's, or another install's that is gone
    (``.../vcam/assets/backgrounds/seaside.jpg`` of an older virtual environment, as an older
    settings.json holds it) or that is there under ``vcam/assets/backgrounds``."""
    bundled = _bundled()
    if _bare(given):
        wanted = given.lower()
        return next((name for name, path in bundled.items() if wanted in (name, path.name.lower())), None)
    path = Path(given).expanduser()
    here = next((name for name, p in bundled.items() if path == p), None)
    if here is not None:
        return here
    files = {p.name: name for name, p in bundled.items()}
    if path.name not in files or path.parent.parts[-2:] != ("assets", "backgrounds"):
        return None
    if not _there(given) or path.parent.parts[-3:-2] == ("vcam",):
        return files[path.name]
    return None


def background(given: Optional[str]) -> Optional[str]:
    """What a ``--background``, an effect's ``background`` setting or a saved setting names, as
    the path of a file: the one place a shipped background's name is resolved.

    A name that is not a file or folder here and that matches a shipped background
    (:func:`background_name`: ``seaside``) is that background's file; a file of that name in the
    working folder wins. A shipped background's path from another install is this install's
    file. Any other path is returned as given, for the path checks to say what is wrong with it;
    a name (no folder part) that is neither there nor shipped is one :class:`VcamError` that lists
    the shipped names."""
    if not given:
        return given
    bare, there = _bare(given), _there(given)
    if bare and there:
        return given
    name = background_name(given)
    if name is not None:
        return str(_bundled()[name])
    if bare:
        names = background_names()
        raise VcamError(f"background {given!r} is neither a file nor a background that comes with vcam",
                        f"give a picture or video file, or the name of one of vcam's own: {', '.join(names)}" if names else
                        "give a picture or video file (vcam's own backgrounds are missing: reinstall vcam)")
    return given


def cache_dir() -> Path:
    """vcam's cache folder, ``$XDG_CACHE_HOME/vcam`` or ``~/.cache/vcam``: the one place besides
    the outputs and the config folder where vcam (or a library on its behalf) may write."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vcam"
