"""Where the shipped models and pictures are, installed or in a source checkout."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from vcam.config import LANDSCAPE_MODEL, MATTING_MODEL, SELFIE_MODEL

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".gif")   # an animated GIF is a video
# The bundled models (models/, installed as vcam.models), by model name: the two selfie
# segmenters and MODNet's photographic portrait matting (models/NOTICE-modnet.md).
BUNDLED_MODELS = {SELFIE_MODEL: "selfie_segmentation.onnx", LANDSCAPE_MODEL: "selfie_segmentation_landscape.onnx",
                  MATTING_MODEL: "modnet_photographic_portrait_matting.onnx"}


def _package_dir(name: str) -> Path:
    """``vcam.assets`` installed, or ``assets/`` beside ``vcam/`` in a source checkout."""
    spec = importlib.util.find_spec(f"vcam.{name}")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    checkout = Path(__file__).resolve().parent.parent / name
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


def cache_dir() -> Path:
    """vcam's cache folder, ``$XDG_CACHE_HOME/vcam`` or ``~/.cache/vcam``: the one place besides
    the outputs and the config folder where vcam (or a library on its behalf) may write."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vcam"
