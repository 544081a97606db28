"""``vcam serve``: remove.bg's API (``POST /v1.0/removebg``, ``GET /v1.0/account``) on this
machine, through the same engine as ``vcam process``.

- :mod:`vcam.serve.app`: the routes, the key, the limits on a request (Starlette, run by uvicorn);
- :mod:`vcam.serve.body`: a request's body read within its limits (multipart, form or JSON);
- :mod:`vcam.serve.removebg`: remove.bg's parameters, checked, as one :class:`~vcam.serve.removebg.Order`;
- :mod:`vcam.serve.cutout`: the work: the picture decoded, cut out by the engine, placed and encoded;
- :mod:`vcam.serve.workers`: a bounded pool of threads with their own engines, and a queue limit;
- :mod:`vcam.serve.fetch`: ``image_url`` (off unless asked for), public addresses only;
- :mod:`vcam.serve.errors`: remove.bg's error shape.

The HTTP stack is the optional extra ``vcam[serve]``: :func:`require` says how to install it.
"""
from __future__ import annotations

from vcam.errors import VcamError

INSTALL = "pip install 'vcam[serve]'"


def require() -> None:
    """Import the HTTP stack, or raise one :class:`VcamError` with the install command."""
    missing = []
    for module, package in (("starlette", "starlette"), ("uvicorn", "uvicorn"), ("python_multipart", "python-multipart")):
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    if missing:
        raise VcamError(f"vcam serve needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
                        "not installed", INSTALL)
