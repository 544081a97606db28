"""Where Numba keeps the compiled kernels: in vcam's own cache folder (``<cache>/kernels``), not
in ``~/.cache/numba`` or beside the installed package (a root-installed vcam's
``site-packages``), so nothing is written outside the outputs, the config folder and vcam's
cache. Imported by ``vcam/__init__`` before anything imports numba (numba reads
``NUMBA_CACHE_DIR`` once, when imported); a ``NUMBA_CACHE_DIR`` the user set is kept.
"""
from __future__ import annotations

import os
import sys

from vcam.system.resources import cache_dir

KERNELS = cache_dir() / "kernels"
os.environ.setdefault("NUMBA_CACHE_DIR", str(KERNELS))
NUMBA_IMPORTED_FIRST = "numba" in sys.modules   # too late: numba already chose its folder


def folder() -> str:
    """Where the compiled kernels are kept in this process."""
    return os.environ["NUMBA_CACHE_DIR"]
