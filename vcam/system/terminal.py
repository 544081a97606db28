"""The terminal's edges, in one place: vcam behaves like a careful Unix tool when its standard
streams are closed (``2>&-``), cut (``| head -1``) or gone (the terminal closed).

- A standard descriptor that is closed is pointed at the null device before anything opens a
  file, so no output file or camera can be given descriptor 2 and receive library messages.
- Standard error never raises: a write that fails (a hung-up terminal, a closed pipe) makes the
  rest of the messages go nowhere, while the work goes on and its outputs are finished.
- Standard output that is cut raises :class:`BrokenPipeError` once, where it is written; the
  command line stops there (outputs finished) and exits quietly with :data:`PIPE_EXIT`.
"""
from __future__ import annotations

import io
import logging
import os
import sys

PIPE_EXIT = 141   # what a shell reports for a tool ended by SIGPIPE (128 + 13)


class _Forgiving(io.TextIOBase):
    """A text stream that passes writes to ``stream`` until one fails, then drops them."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if self._stream is not None:
            try:
                self._stream.write(text)
            except (OSError, ValueError):   # EIO from a hung-up terminal, EPIPE, a closed file
                self._stream = None
        return len(text)

    def flush(self) -> None:
        if self._stream is not None:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._stream = None

    def isatty(self) -> bool:
        try:
            return self._stream is not None and self._stream.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        if self._stream is None:
            raise io.UnsupportedOperation("standard error is gone")
        return self._stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"


def guard() -> None:
    """Called first by the command line."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    if sys.stdout is None:
        sys.stdout = open(1, "w", closefd=False)
    if sys.stderr is None:
        sys.stderr = open(2, "w", closefd=False)
    for stream in (sys.stdout, sys.stderr):   # file names that are not UTF-8 are shown escaped
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass
    if not isinstance(sys.stderr, _Forgiving):
        sys.stderr = _Forgiving(sys.stderr)
    logging.raiseExceptions = False   # a log line that cannot be written is not worth a traceback


def cut_off() -> int:
    """After a BrokenPipeError on standard output: later writes (Python's own flush at exit) go
    to the null device, and the exit code to return."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass
    return PIPE_EXIT
