"""Native libraries' own messages (FFmpeg's, libpng's, TFLite's) kept out of the user's terminal:
vcam says what went wrong in its own words. ``-v`` and ``--debug`` let them through.

FFmpeg (inside OpenCV) reads ``OPENCV_FFMPEG_LOGLEVEL`` when ``cv2`` is imported: vcam sets it
to quiet on its own import, before that, unless the user set it. libpng and MediaPipe write to file descriptor 2 from C,
past Python: :func:`native_stderr` catches that for a moment and logs it at debug level.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile

log = logging.getLogger(__name__)

FFMPEG_LEVEL = "OPENCV_FFMPEG_LOGLEVEL"
USER_SET = FFMPEG_LEVEL in os.environ
if not USER_SET:
    os.environ[FFMPEG_LEVEL] = "-8"   # AV_LOG_QUIET


_verbose = False


def verbose() -> bool:
    """Whether the user asked to see native libraries' messages (``-v``)."""
    return _verbose


def libraries(verbose: bool) -> None:
    """Called by the command line before OpenCV is imported (it reads the level then): with -v
    FFmpeg's errors are shown as OpenCV shows them by default, and PyAV's FFmpeg logs its
    warnings (PyAV keeps FFmpeg silent by default)."""
    global _verbose
    _verbose = verbose
    if verbose and not USER_SET:
        os.environ.pop(FFMPEG_LEVEL, None)


@contextlib.contextmanager
def native_stderr():
    """Point file descriptor 2 at a temporary file while the block runs (for C libraries that
    print to it); what they printed goes to the debug log. A no-op when INFO is logged (-v)."""
    if log.isEnabledFor(logging.INFO):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            text = caught.read().decode(errors="replace").strip()
            if text:
                log.debug("library output: %s", text)
