"""PyAV (FFmpeg), imported in one place: where a video file is first read or written (the live
camera never needs it), with FFmpeg's own messages let through under ``-v``."""
from __future__ import annotations

from vcam.system import native_logs, packages

_ready = False   # FFmpeg's level is set once, when PyAV is first asked for


def import_av():
    """The ``av`` module, FFmpeg's log level set on first use (warnings under ``-v``, else PyAV's
    silence); or one :class:`VcamError` with the fix for why it cannot be imported (not enough
    memory, not installed, a broken install)."""
    try:
        import av
    except (ImportError, OSError, MemoryError) as exc:
        raise packages.import_failure(exc, "PyAV (video files)", "pip install av",
                                      module="av", reinstall="pip install --force-reinstall av") from None

    global _ready
    if not _ready:
        _ready = True
        if native_logs.verbose():
            av.logging.set_level(av.logging.WARNING)
    return av
