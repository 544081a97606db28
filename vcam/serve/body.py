"""A request's body, read within its limits and parsed into fields, all in memory (nothing is
written to disk): ``multipart/form-data`` (files and text), ``application/x-www-form-urlencoded``
or ``application/json``.

The size is checked before anything is parsed: a ``Content-Length`` over the limit is refused
before a byte of the body is read, and a body sent without one is counted as it comes and
refused at the limit. A multipart body that stops before its closing boundary is refused as cut
short, never taken for what arrived of it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import AsyncIterator, Union
from urllib.parse import parse_qsl

from vcam.serve.errors import ApiError, bad

MAX_FIELDS = 64           # parts or fields in one body
MAX_HEADER_BYTES = 16384  # the headers of one multipart part


def too_large(limit: int, got: Union[int, str]) -> ApiError:
    return ApiError(413, "file_too_large", "File too large",
                    f"the request is {got} bytes, over the limit of {limit} bytes ({limit / 1e6:g} MB; vcam serve "
                    "--max-bytes sets it)")


@dataclass
class Fields:
    """Text fields by name (the last of a name wins) and files by name (bytes)."""
    text: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


async def read(stream: AsyncIterator[bytes], length: Union[str, None], limit: int) -> bytes:
    """The body from ``stream`` (Starlette's ``request.stream()``), refused over ``limit`` bytes:
    from ``length`` (the Content-Length header) before reading, else as it comes."""
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            raise bad("invalid_request", "Invalid Content-Length header", f"got {length[:40]!r}") from None
        if declared > limit:
            raise too_large(limit, declared)
    chunks, size = [], 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise too_large(limit, f"over {limit}")
        chunks.append(chunk)
    return b"".join(chunks)


def parse(content_type: str, body: bytes) -> Fields:
    """The fields of ``body`` by its ``content_type`` (the header's value)."""
    kind, params = _media_type(content_type)
    if kind == "multipart/form-data":
        boundary = params.get("boundary")
        if not boundary:
            raise bad("invalid_request", "Invalid multipart body", "the Content-Type header names no boundary")
        return _multipart(body, boundary.encode("latin-1", "replace"))
    if kind == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                              max_num_fields=MAX_FIELDS)
        except (UnicodeDecodeError, ValueError) as exc:
            raise bad("invalid_request", "Invalid form body", str(exc)) from None
        return Fields(text=dict(pairs))
    if kind == "application/json":
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise bad("invalid_request", "Invalid JSON body", str(exc)[:200]) from None
        if not isinstance(data, dict):
            raise bad("invalid_request", "Invalid JSON body", f"expected an object, got {type(data).__name__}")
        if len(data) > MAX_FIELDS:
            raise bad("invalid_request", "Invalid JSON body", f"{len(data)} fields, at most {MAX_FIELDS}")
        return Fields(text={str(k): _json_text(k, v) for k, v in data.items()})
    if not body:
        return Fields()
    raise ApiError(415, "invalid_request", "Unsupported content type",
                   f"got {kind or 'none'}; send multipart/form-data, application/x-www-form-urlencoded or "
                   "application/json")


def _json_text(name: str, value) -> str:
    """A JSON value as the text a form would carry: true/false for booleans, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    if value is None:
        return ""
    raise bad("invalid_request", f"Invalid value for parameter '{str(name)[:40]}'",
              f"expected text, a number or true/false, got {type(value).__name__}")


def _media_type(header: str) -> tuple[str, dict[str, str]]:
    parts = [p.strip() for p in (header or "").split(";")]
    params = {}
    for p in parts[1:]:
        key, _, value = p.partition("=")
        params[key.strip().lower()] = value.strip().strip('"')
    return parts[0].lower(), params


def _multipart(body: bytes, boundary: bytes) -> Fields:
    """``body`` split into its parts with python-multipart's parser (callbacks, in memory)."""
    from python_multipart.multipart import MultipartParser, parse_options_header

    fields = Fields()
    state = {"name": None, "file": False, "data": [], "header": b"", "field": b"", "headers": {}, "count": 0,
             "ended": False, "header_bytes": 0}

    def part_begin():
        state["count"] += 1
        if state["count"] > MAX_FIELDS:
            raise bad("invalid_request", "Invalid multipart body", f"more than {MAX_FIELDS} parts")
        state.update(name=None, file=False, data=[], headers={}, field=b"", header=b"", header_bytes=0)

    def header_field(data, start, end):
        state["field"] += data[start:end]
        _count_header(end - start)

    def header_value(data, start, end):
        state["header"] += data[start:end]
        _count_header(end - start)

    def _count_header(n):
        state["header_bytes"] += n
        if state["header_bytes"] > MAX_HEADER_BYTES:
            raise bad("invalid_request", "Invalid multipart body", f"a part's headers are over {MAX_HEADER_BYTES} bytes")

    def header_end():
        state["headers"][state["field"].lower()] = state["header"]
        state["field"], state["header"] = b"", b""

    def headers_finished():
        disposition = state["headers"].get(b"content-disposition")
        if disposition is None:
            raise bad("invalid_request", "Invalid multipart body", "a part has no Content-Disposition header")
        _, options = parse_options_header(disposition)
        name = options.get(b"name")
        if name is None:
            raise bad("invalid_request", "Invalid multipart body", "a part has no name")
        state["name"] = name.decode("utf-8", "replace")
        state["file"] = b"filename" in options

    def part_data(data, start, end):
        state["data"].append(data[start:end])

    def part_end():
        value = b"".join(state["data"])
        if not state["file"]:
            try:
                fields.text[state["name"]] = value.decode("utf-8")
                return
            except UnicodeDecodeError:   # a file sent without a filename
                pass
        fields.files[state["name"]] = value

    def end():
        state["ended"] = True

    callbacks = {"on_part_begin": part_begin, "on_part_data": part_data, "on_part_end": part_end,
                 "on_header_field": header_field, "on_header_value": header_value, "on_header_end": header_end,
                 "on_headers_finished": headers_finished, "on_end": end}
    parser = MultipartParser(boundary, callbacks)
    try:
        parser.write(body)
        parser.finalize()
    except ApiError:
        raise
    except Exception as exc:   # noqa: BLE001 - python-multipart's own errors: a malformed body
        raise bad("invalid_request", "Invalid multipart body", str(exc)[:200] or type(exc).__name__) from None
    if not state["ended"]:
        raise bad("invalid_request", "Invalid multipart body",
                  "the body ends before its closing boundary: it was cut short")
    return fields
