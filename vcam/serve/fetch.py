"""``image_url`` and ``bg_image_url``: off unless `vcam serve --allow-urls` (a server that fetches
URLs is a proxy into the network it sits in). When on, only ``http`` and ``https`` to public
addresses: the name is resolved first, every address it gives must be public (not private,
loopback, link-local, multicast, reserved or unspecified), and the connection is made to the
address that was checked, so a name that resolves differently the second time (DNS rebinding)
cannot reach an inside address. Redirects are not followed; the size is limited as an upload's is.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from typing import Optional
from urllib.parse import urlsplit

from vcam.serve.errors import ApiError, bad

TIMEOUT = 10.0   # seconds to connect, and between bytes


def public_address(host: str, port: int) -> str:
    """The first address ``host`` resolves to, once every address it resolves to is public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise bad("failed_image_download", "Failed to download image from given image_url",
                  f"{host} cannot be resolved ({exc})") from None
    addresses = [info[4][0] for info in infos]
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            raise bad("invalid_image_url", "Invalid image_url: Please provide a valid URL.",
                      f"{host} resolves to {address}, which is not a public address: vcam serve fetches from "
                      "public addresses only")
    if not addresses:
        raise bad("failed_image_download", "Failed to download image from given image_url", f"{host} has no address")
    return addresses[0]


class _Pinned(http.client.HTTPConnection):
    """An HTTP connection to the address that was checked, whatever the name resolves to now."""

    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def fetch(url: str, limit: int, what: str = "image_url") -> bytes:
    """The body at ``url`` (at most ``limit`` bytes), or an :class:`ApiError` saying why not."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad(f"invalid_{what}", f"Invalid {what}: Please provide a valid URL.", "expected an http or https URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise bad(f"invalid_{what}", f"Invalid {what}: Please provide a valid URL.", "the port is not a number") from None
    address = public_address(parts.hostname, port)
    kind = _PinnedTLS if parts.scheme == "https" else _Pinned
    conn = kind(parts.hostname, address, port, TIMEOUT)
    failed = "failed_bg_download" if what.startswith("bg") else "failed_image_download"
    try:
        path = parts.path or "/"
        conn.request("GET", path + (f"?{parts.query}" if parts.query else ""), headers={"User-Agent": "vcam-serve"})
        response = conn.getresponse()
        if response.status != 200:
            raise bad(failed, f"Failed to download image from given {what}", f"the server answered {response.status}")
        length: Optional[str] = response.getheader("Content-Length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise ApiError(400, "file_too_large", "File too large", f"{url[:80]} is {length} bytes, over {limit}")
        data = response.read(limit + 1)
        if len(data) > limit:
            raise ApiError(400, "file_too_large", "File too large", f"{url[:80]} is over {limit} bytes")
        return data
    except (OSError, http.client.HTTPException) as exc:
        raise bad(failed, f"Failed to download image from given {what}", str(exc)[:200]) from None
    finally:
        conn.close()
