"""PyAV (FFmpeg), imported in one place: where a video file is first read or written (the live
camera never needs it), with FFmpeg's own messages let through under ``-v``."""
from __future__ import annotations

from vcam.system import native_logs

_ready = False   # FFmpeg's level is set once, when PyAV is first asked for


def import_av():
    """The ``av`` module, FFmpeg's log level set on first use (warnings under ``-v``, else PyAV's
    silence)."""
    import av

    global _ready
    if not _ready:
        _ready = True
        if native_logs.verbose():
            av.logging.set_level(av.logging.WARNING)
    return av
