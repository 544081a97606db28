"""vcam: a real-time virtual camera that blurs or replaces the background behind a person.

The public surface, for the CLI, the UI, benchmarks and scripts (``from vcam import Pipeline``):

- settings: :class:`Settings` and its sections (``CaptureSettings`` ... ``OutputSettings``), and
  :class:`VcamError`, the one error a user is shown, with its fix;
- running: :class:`Pipeline` (live: capture -> engine -> virtual camera), :class:`Engine` (one
  frame through segment -> matte -> composite), :class:`Processor` (pictures and videos);
- parts: :class:`Source` and :func:`open_source` (frame sources), :class:`Segmenter` and
  :func:`register_segmenter` (segmentation backends), :func:`build_segmenter` (settings -> model).

Everything else is inside a stage and may change. The heavy names are imported when first used,
so ``import vcam`` stays light.
"""
from vcam.system import telemetry  # noqa: F401 - first of all: no dependency may phone home

# isort: split
from vcam.system import memory  # noqa: F401 - before NumPy: under a memory limit, one OpenBLAS thread

# isort: split
from vcam.system import kernel_cache  # noqa: F401 - before numba: compiled kernels in vcam's cache folder

# isort: split
from vcam.config import (
    CaptureSettings,
    EffectSettings,
    FramingSettings,
    LightSettings,
    MatteSettings,
    OutputSettings,
    SegmentSettings,
    Settings,
)
from vcam.errors import VcamError

__version__ = "0.1.0"

# name -> (module, attribute): imported on first use
_LAZY = {
    "Pipeline": ("vcam.live.pipeline", "Pipeline"),
    "Engine": ("vcam.engine", "Engine"),
    "Processor": ("vcam.batch", "Processor"),
    "Source": ("vcam.live.sources", "Source"),
    "open_source": ("vcam.live.sources", "open_source"),
    "Segmenter": ("vcam.segment", "Segmenter"),
    "register_segmenter": ("vcam.segment", "register"),
    "build_segmenter": ("vcam.segment.build", "build"),
}

__all__ = ["CaptureSettings", "EffectSettings", "FramingSettings", "LightSettings", "MatteSettings", "OutputSettings",
           "SegmentSettings", "Settings", "VcamError", "__version__", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'vcam' has no attribute {name!r}")
    import importlib

    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
