"""The HTTP side of `vcam serve`: remove.bg's routes on Starlette, run by uvicorn.

- ``POST /v1.0/removebg``: the key checked (where one is set), the pool asked for room (429 when
  full) before the body is read, the body read within ``max_bytes`` and the time limit, its
  parameters checked (:mod:`vcam.serve.removebg`), the picture fetched where ``image_url`` is
  allowed, the work handed to a worker (:mod:`vcam.serve.workers`), and the result sent as the
  picture or, for ``Accept: application/json``, as remove.bg's ``{"data": {"result_b64": ...}}``.
- ``GET /v1.0/account``: remove.bg's account shape; nothing is charged here (``X-Credits-Charged: 0``).

Every error, ours or a library's, is remove.bg's error shape with its status; the traceback of an
unexpected one goes to the server's log, never to the client.
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import ipaddress
import logging
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import Optional

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vcam.config import AUTO
from vcam.errors import VcamError
from vcam.serve import body, fetch
from vcam.serve.cutout import Cutter, Limits, Result
from vcam.serve.errors import ApiError, bad, busy, forbidden
from vcam.serve.removebg import Order, order
from vcam.serve.workers import Pool

log = logging.getLogger(__name__)

UNMETERED = 1_000_000   # the credits and free calls /account reports: nothing is ever charged
KEY_ENV = "VCAM_API_KEY"


@dataclass(frozen=True)
class ServeSettings:
    """``host``/``port``: where to listen (127.0.0.1 unless told; elsewhere only with an
    ``api_key``); ``workers`` threads with their own engines and ``queue`` requests waiting
    beyond them (more: 429); ``max_bytes`` of a request's body and ``max_pixels`` of its picture,
    both checked before decoding; ``timeout`` seconds for a request, from its first byte to its
    answer; ``allow_urls``: fetch ``image_url`` and ``bg_image_url`` (public addresses only);
    ``threads``: ONNX Runtime's CPU threads per worker (0: the cores shared among the workers)."""
    host: str = "127.0.0.1"
    port: int = 5000
    api_key: Optional[str] = None
    workers: Optional[int] = None
    queue: Optional[int] = None
    max_bytes: int = 22_000_000
    max_pixels: int = 25_000_000
    timeout: float = 60.0
    allow_urls: bool = False
    threads: Optional[int] = None
    provider: str = AUTO

    def __post_init__(self) -> None:
        for name, lo, hi in (("port", 0, 65535), ("workers", 1, 64), ("queue", 0, 10_000), ("threads", 1, 64),
                             ("max_bytes", 1024, 1 << 31), ("max_pixels", 1, 64_000_000)):
            value = getattr(self, name)
            if value is None and name in ("workers", "queue", "threads"):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise VcamError(f"--{name.replace('_', '-')} is {value!r}, expected a whole number from {lo} to {hi}",
                                f"give a value from {lo} to {hi}")
        if not 1.0 <= self.timeout <= 3600.0:
            raise VcamError(f"--timeout is {self.timeout!r}, expected 1 to 3600 seconds", "give a value from 1 to 3600")
        if self.api_key is not None and len(self.api_key) < 8:
            raise VcamError("the API key is shorter than 8 characters", "give a longer key (e.g. `openssl rand -hex 16`)")
        if not loopback(self.host) and not self.api_key:
            raise VcamError(f"vcam serve listens on {self.host} only with a key: any machine that reaches it could use it",
                            f"pass --api-key KEY (or set {KEY_ENV}), or listen on 127.0.0.1")

    def sized(self) -> "ServeSettings":
        """Workers, queue and threads made definite where None: by default half the cores as
        workers (1 to 4), four waiting requests a worker, and the cores shared among the workers."""
        cores = os.cpu_count() or 1
        workers = self.workers or max(1, min(4, cores // 2))
        queue = 4 * workers if self.queue is None else self.queue
        threads = self.threads or max(1, cores // workers)
        return ServeSettings(**{**self.__dict__, "workers": workers, "queue": queue, "threads": threads})


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Service:
    """The pool and the settings the routes share."""

    def __init__(self, settings: ServeSettings, pool: Pool) -> None:
        self.settings, self.pool = settings, pool

    def check_key(self, request: Request) -> None:
        key = self.settings.api_key
        if key is None:
            return
        given = request.headers.get("x-api-key")
        if not given:
            raise forbidden("Missing API Key")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), key.encode("utf-8")):
            raise forbidden("Invalid API Key")

    async def removebg(self, request: Request) -> Response:
        started = time.monotonic()
        s = self.settings
        self.check_key(request)
        if self.pool.in_hand >= s.workers + s.queue:   # refused before its body is read
            raise busy(self.pool.in_hand)
        deadline = started + s.timeout
        try:
            data = await asyncio.wait_for(body.read(request.stream(), request.headers.get("content-length"), s.max_bytes),
                                          timeout=s.timeout)
        except asyncio.TimeoutError:
            raise ApiError(408, "request_timeout", "Request timeout",
                           f"the body did not arrive within {s.timeout:g} seconds") from None
        job = order(body.parse(request.headers.get("content-type", ""), data))
        image, background = await self._sources(job)
        future = self.pool.submit(lambda cutter: cutter.run(job, image, background), deadline)
        try:
            result = await asyncio.wait_for(asyncio.wrap_future(future), timeout=max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            future.cancel()
            raise ApiError(503, "timeout", "The image took too long",
                           f"it was not done within {s.timeout:g} seconds (vcam serve --timeout); try size=preview, "
                           "or again when the server is less busy") from None
        return _answer(job, result, request.headers.get("accept", ""))

    async def _sources(self, job: Order) -> tuple[bytes, Optional[bytes]]:
        image, background = job.image, job.bg_image
        if job.image_url is not None or job.bg_image_url is not None:
            if not self.settings.allow_urls:
                what = "image_url" if job.image_url is not None else "bg_image_url"
                raise bad(f"invalid_{what}", f"Invalid {what}: Please provide a valid URL.",
                          "this server does not fetch URLs (start it with --allow-urls); send the picture as "
                          "image_file or image_file_b64")
            loop = asyncio.get_running_loop()
            if job.image_url is not None:
                image = await loop.run_in_executor(None, fetch.fetch, job.image_url, self.settings.max_bytes)
            if job.bg_image_url is not None:
                background = await loop.run_in_executor(None, fetch.fetch, job.bg_image_url, self.settings.max_bytes,
                                                        "bg_image_url")
        return image, background

    async def account(self, request: Request) -> Response:
        self.check_key(request)
        return JSONResponse({"data": {"attributes": {
            "credits": {"total": UNMETERED, "subscription": 0, "payg": UNMETERED, "enterprise": 0},
            "api": {"free_calls": UNMETERED, "sizes": "all"}}}})


def _answer(job: Order, result: Result, accept: str) -> Response:
    top, left, width, height = result.foreground
    headers = {"X-Width": str(result.width), "X-Height": str(result.height), "X-Credits-Charged": "0",
               "X-Foreground-Top": str(top), "X-Foreground-Left": str(left),
               "X-Foreground-Width": str(width), "X-Foreground-Height": str(height)}
    if job.type_level != "none":
        headers["X-Type"] = result.kind
    if "application/json" in accept.lower():
        return JSONResponse({"data": {"result_b64": base64.b64encode(result.data).decode("ascii"),
                                      "foreground_top": top, "foreground_left": left,
                                      "foreground_width": width, "foreground_height": height}}, headers=headers)
    return Response(result.data, media_type=result.media_type, headers=headers)


async def _api_error(request: Request, exc: ApiError) -> Response:
    return JSONResponse(exc.body(), status_code=exc.status)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    titles = {404: "Not found", 405: "Method not allowed"}
    return JSONResponse({"errors": [{"title": titles.get(exc.status_code, str(exc.detail)), "code": "invalid_request",
                                     "detail": f"{request.method} {request.url.path}: vcam serve answers "
                                               "POST /v1.0/removebg and GET /v1.0/account"}]},
                        status_code=exc.status_code)


async def _vcam_error(request: Request, exc: VcamError) -> Response:
    return JSONResponse(ApiError(503, "unavailable", exc.problem, exc.fix).body(), status_code=503)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"errors": [{"title": "Internal server error", "code": "internal_error",
                                     "detail": "the server's log says what went wrong"}]}, status_code=500)


def build_app(service: Service) -> Starlette:
    return Starlette(routes=[Route("/v1.0/removebg", service.removebg, methods=["POST"]),
                             Route("/v1.0/account", service.account, methods=["GET"])],
                     exception_handlers={ApiError: _api_error, HTTPException: _http_error, VcamError: _vcam_error,
                                         Exception: _unexpected})


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port``, or one :class:`VcamError` saying why not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise VcamError(f"cannot listen on {host}: {exc.strerror}", "give an address such as 127.0.0.1") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise VcamError(f"cannot listen on {host}:{port} ({exc.strerror})",
                        "another program may use that port: give another with --port") from None
    sock.set_inheritable(True)
    return sock


def _server_class():
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, stopped by SIGTERM or SIGINT as uvicorn stops (no new connections,
        the requests in hand answered), without raising the signal again afterwards: the caller
        then closes the workers and says so. A second signal stops at once."""
        stopped_by: Optional[int] = None

        @contextlib.contextmanager
        def capture_signals(self):
            if threading.current_thread() is threading.main_thread():
                kept = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGINT, signal.SIGTERM)}
            else:
                kept = {}
            try:
                yield
            finally:
                for sig, handler in kept.items():
                    signal.signal(sig, handler)

        def _stop(self, signum, frame) -> None:
            if self.should_exit:
                self.force_exit = True
            self.should_exit = True
            self.stopped_by = signum

    return Server


def serve(settings: ServeSettings) -> int:
    """Load the models, listen and answer until SIGTERM or SIGINT; then finish the requests in
    hand and stop. Returns the exit code."""
    import uvicorn

    from vcam import jit
    from vcam.system import signals

    settings = settings.sized()
    sock = listen(settings.host, settings.port)
    try:
        jit.warm_up()
        limits = Limits(max_pixels=settings.max_pixels)
        pool = Pool(lambda: Cutter(limits, threads=settings.threads, provider=settings.provider),
                    workers=settings.workers, queue=settings.queue)
    except BaseException:
        sock.close()
        raise
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    server = None
    try:
        app = build_app(Service(settings, pool))
        config = uvicorn.Config(app, log_level="warning", access_log=log.isEnabledFor(logging.INFO),
                                limit_concurrency=max(64, 4 * (settings.workers + settings.queue)),
                                timeout_keep_alive=5, timeout_graceful_shutdown=int(settings.timeout) + 5,
                                h11_max_incomplete_event_size=65536, server_header=False, lifespan="off")
        server = _server_class()(config)
        print(f"vcam: serving remove.bg's API on http://{shown}:{port}/v1.0/removebg with {settings.workers} "
              f"worker(s), {settings.queue} waiting at most{'; key required' if settings.api_key else ''} "
              "(Ctrl-C stops)", file=sys.stderr, flush=True)
        server.run(sockets=[sock])
    finally:
        pool.close()
        sock.close()
    if server is not None and server.stopped_by is not None:
        print(f"vcam: stopped by {signals.name(server.stopped_by)}; the requests in hand were answered",
              file=sys.stderr, flush=True)
    return 0
