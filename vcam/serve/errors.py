"""remove.bg's error shape: ``{"errors": [{"title", "code", "detail"}]}`` with its status codes
(400 for what is wrong with a request, 403 a key, 413 a body too large to read, 429 a full queue).
Every error a client sees is one of these: never a traceback."""
from __future__ import annotations

from typing import Optional

from vcam.errors import VcamError


class ApiError(Exception):
    """An answer that is an error: ``status``, remove.bg's ``code`` (None where remove.bg gives
    none, as for 403 and 429), a ``title`` and a ``detail`` (what to do)."""

    def __init__(self, status: int, code: Optional[str], title: str, detail: str = "") -> None:
        super().__init__(f"{status} {code or ''} {title}: {detail}")
        self.status, self.code, self.title, self.detail = status, code, title, detail

    def body(self) -> dict:
        error = {"title": self.title}
        if self.code:
            error["code"] = self.code
        if self.detail:
            error["detail"] = self.detail
        return {"errors": [error]}


def bad(code: str, title: str, detail: str = "") -> ApiError:
    """A 400: the request or its picture cannot be processed (remove.bg charges nothing for it)."""
    return ApiError(400, code, title, detail)


def from_vcam(exc: VcamError, code: str, title: str) -> ApiError:
    """A :class:`VcamError` from the engine or the decoder as a 400 of ``code``: its problem
    and fix as the detail."""
    return bad(code, title, str(exc))


def forbidden(title: str) -> ApiError:
    return ApiError(403, "auth_failed", title, "give the key in the X-Api-Key header (vcam serve --api-key)")


def busy(queued: int) -> ApiError:
    return ApiError(429, "rate_limit_exceeded", "Rate limit exceeded",
                    f"{queued} requests are being processed or waiting; try again shortly")
