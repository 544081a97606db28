"""Running out of memory, told as such: a limit on this process's address space (``ulimit -v``,
``RLIMIT_AS``), or a machine out of memory, is a different fix from a missing or a broken package.

Under a limit the native libraries fail in their own words: a shared object that cannot be
mapped is an ImportError ("failed to map segment from shared object") that reads like a broken
install, an encoder's thread that cannot get its stack is an OSError, OpenBLAS loops forever
or stops the process with SIGINT when it cannot map its buffers, and glibc aborts where it
cannot load libgcc_s to unwind a thread. So, imported by ``vcam/__init__`` before NumPy:

- under a limit, OpenBLAS is given one thread (``OPENBLAS_NUM_THREADS``, where the user set none):
  its per-thread buffers are what a run needs most beyond the libraries' own code (about 180 MiB
  of address space on 2 cores, more on more cores), and vcam uses BLAS for nothing heavy;
- libgcc_s is loaded while the memory for it is there;
- :func:`check_limit` (the command line, first) refuses a limit below :data:`MIN_ADDRESS_SPACE`
  in one line: there the libraries barely load and then fail each in its own way (OpenBLAS
  hangs, LLVM aborts, Python runs out of memory while it reports running out of memory);
- :func:`caused` tells an exception that comes from a lack of memory, its causes included, and
  :func:`shortage` says so with the limit and its fix.
"""
from __future__ import annotations

import errno
import os
from typing import Optional

from vcam.errors import VcamError

# vcam's libraries (NumPy, OpenCV, Numba and LLVM, ONNX Runtime, PyAV) map 767 MiB of address
# space when imported (Linux x86-64, OpenCV's contrib build, one OpenBLAS thread), and the
# smallest video then needs about 970 MiB in all, a picture 800 MiB. Under a limit between the two
# figures the libraries fail in their own ways (measured under RLIMIT_AS from 200 MiB up: an
# OpenBLAS that never returns at 772 to 784 MiB, LLVM's abort at 808 MiB); from 1 GiB up it
# reached vcam as exceptions, which it tells as such.
MIN_ADDRESS_SPACE = 1 << 30
# What the libraries say when memory runs out, in their own words.
_WORDS = ("failed to map segment", "cannot allocate memory", "out of memory", "std::bad_alloc",
          "insufficient memory", "failed to allocate", "unable to allocate")


def address_limit() -> Optional[int]:
    """This process's address-space limit in bytes (``ulimit -v``), or None where there is none
    (or the system has no such limit)."""
    try:
        import resource
    except ImportError:   # Windows
        return None
    try:
        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, ValueError, AttributeError):
        return None
    return None if soft == resource.RLIM_INFINITY or soft < 0 else soft


def _prepare() -> None:
    limit = address_limit()
    if limit is None:
        return
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:   # glibc loads it the first time a thread is unwound, and aborts where it cannot
        import ctypes

        ctypes.CDLL("libgcc_s.so.1")
    except (OSError, ImportError):
        pass


_prepare()


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MiB"


def _limit_words(limit: int) -> str:
    return f"this process may use {_mib(limit)} of address space (ulimit -v {limit // 1024})"


def fix() -> str:
    """How to get more memory: raise the limit where there is one, else free some."""
    limit = address_limit()
    if limit is not None:
        return f"{_limit_words(limit)}: raise the limit (ulimit -v unlimited)"
    return "close other programs to free memory, or give vcam smaller files"


def caused(exc: BaseException) -> bool:
    """Whether ``exc``, or an exception it was raised from or while handling, comes from a lack
    of memory: a MemoryError, an OSError with ENOMEM, or a library's words for it (a shared
    object that could not be mapped, a failed allocation). Under an address-space limit, a
    thread that could not be started (EAGAIN: its stack could not be mapped) counts too."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, MemoryError):
            return True
        if isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
            return True
        if isinstance(exc, OSError) and exc.errno == errno.EAGAIN and address_limit() is not None:
            return True
        text = " ".join(str(exc).split()).lower()
        if any(words in text for words in _WORDS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _reason(exc: Optional[BaseException]) -> str:
    """The library's own words for it, one line, short."""
    while exc is not None:
        text = " ".join(str(exc).split())
        if text and any(words in text.lower() for words in _WORDS):
            return text if len(text) <= 160 else text[:157] + "..."
        exc = exc.__cause__ or exc.__context__
    return ""


def shortage(what: str, exc: Optional[BaseException] = None) -> VcamError:
    """``not enough memory to WHAT (the library's words)`` with the fix: the limit named where
    there is one."""
    reason = _reason(exc)
    return VcamError(f"not enough memory to {what}" + (f" ({reason})" if reason else ""), fix())


def check_limit() -> None:
    """Refuse, in one line, an address-space limit below :data:`MIN_ADDRESS_SPACE`."""
    limit = address_limit()
    if limit is not None and limit < MIN_ADDRESS_SPACE:
        raise VcamError(f"not enough memory to start: {_limit_words(limit)}, and vcam needs at least "
                        f"{_mib(MIN_ADDRESS_SPACE)} (its libraries alone take about 800 MiB)",
                        "raise the limit: ulimit -v unlimited (a large video or picture needs a few GB)")
