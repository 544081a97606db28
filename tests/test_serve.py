"""`vcam serve` over real HTTP: a real uvicorn process on 127.0.0.1 (a free port) and real clients
(httpx, raw sockets, and remove.bg's own Python client ``removebg`` where installed), against remove.bg's
API v1.0 as its OpenAPI description has it (tests/data/removebg-openapi.json)."""
from __future__ import annotations

import base64
import concurrent.futures
import io
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed: pip install '.[serve]' (the test extra has it)")
pytest.importorskip("uvicorn", reason="the serve extra is not installed: pip install '.[serve]' (the test extra has it)")
pytest.importorskip("python_multipart", reason="the serve extra is not installed: pip install '.[serve]'")
httpx = pytest.importorskip("httpx", reason="httpx is not installed (the test extra has it)")
skdata = pytest.importorskip("skimage.data", reason="scikit-image is not installed (the test extra has it)")

ROOT = Path(__file__).parents[1]
SPEC = json.loads((ROOT / "tests" / "data" / "removebg-openapi.json").read_text())
KEY = "test-key-0123456789"
START_SECONDS = 240   # models loaded and kernels compiled on a cold cache


class Server:
    """``python -m vcam serve`` in a process of its own; ``url`` once it says where it listens."""

    def __init__(self, *args: str, env: dict | None = None) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "vcam", "serve", "--port", "0", *args], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        self.lines: list[str] = []
        self._said = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._said.wait(START_SECONDS) or self.proc.poll() is not None:
            self.stop()
            raise AssertionError("vcam serve did not start:\n" + "".join(self.lines))
        port = re.search(r"http://127\.0\.0\.1:(\d+)/|http://0\.0\.0\.0:(\d+)/", "".join(self.lines))
        self.port = int(port.group(1) or port.group(2))
        self.url = f"http://127.0.0.1:{self.port}/v1.0"

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)
            if "serving remove.bg's API" in line:
                self._said.set()
        self._said.set()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def _jpeg(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


def _png(img: np.ndarray) -> bytes:
    return cv2.imencode(".png", img)[1].tobytes()


def _decode(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert img is not None, data[:100]
    return img


ASTRONAUT = _jpeg(skdata.astronaut())     # a person, 512x512
COFFEE = _jpeg(skdata.coffee())           # a product, 600x400


@pytest.fixture(scope="module")
def server():
    s = Server("--workers", "1", "--queue", "16", "--max-bytes", "3000000", "--max-pixels", "4000000")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


def _post(client, files=None, data=None, **kw):
    return client.post("/removebg", files=files, data=data, **kw)


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors"} and len(body["errors"]) == 1
    error = body["errors"][0]
    assert error["code"] == code, error
    assert error["title"] and set(error) <= set(SPEC["error_item_fields"])
    return error


# --- happy paths ------------------------------------------------------------------------------------

def test_a_cutout_has_remove_bgs_headers_and_preview_size(client):
    r = _post(client, files={"image_file": ("astronaut.jpg", ASTRONAUT, "image/jpeg")})
    assert r.status_code == 200, r.text
    for header in SPEC["response_headers_200"]:
        assert header in r.headers
    assert r.headers["X-Credits-Charged"] == "0"
    assert r.headers["X-Type"] == "person" and r.headers["X-Type"] in SPEC["enums"]["X-Type"]
    img = _decode(r.content)
    h, w = img.shape[:2]
    assert (w, h) == (int(r.headers["X-Width"]), int(r.headers["X-Height"]))
    assert w * h <= 250_000 and w > 400   # preview: 0.25 megapixels, the default
    assert r.headers["content-type"] == "image/png" and img.shape[2] == 4
    alpha = img[:, :, 3]
    assert alpha[5, 5] == 0 and alpha[h // 4, w // 2] == 255   # the sky is gone, the face is kept
    top, left = int(r.headers["X-Foreground-Top"]), int(r.headers["X-Foreground-Left"])
    fw, fh = int(r.headers["X-Foreground-Width"]), int(r.headers["X-Foreground-Height"])
    assert 0 <= top < h // 4 and 0 < fw <= w and 0 < fh <= h - top and left + fw <= w


def test_size_full_keeps_the_picture_and_sizes_map(client):
    sizes = {}
    for size in ("full", "4k", "auto", "hd", "medium", "regular", "small", "preview"):
        r = _post(client, files={"image_file": ("a.jpg", ASTRONAUT)}, data={"size": size})
        assert r.status_code == 200, r.text
        sizes[size] = (int(r.headers["X-Width"]), int(r.headers["X-Height"]))
    assert sizes["full"] == sizes["4k"] == sizes["auto"] == sizes["hd"] == sizes["medium"] == (512, 512)
    assert sizes["regular"] == sizes["small"] == sizes["preview"] != (512, 512)


def test_base64_in_json_and_in_a_form(client):
    b64 = base64.b64encode(ASTRONAUT).decode()
    r1 = client.post("/removebg", json={"image_file_b64": b64, "size": "full", "crop": False})
    r2 = client.post("/removebg", data={"image_file_b64": b64, "size": "full"})
    r3 = _post(client, files={"image_file": ("a.jpg", ASTRONAUT)}, data={"size": "full"})
    assert r1.status_code == r2.status_code == r3.status_code == 200, (r1.text, r2.text)
    a1, a3 = _decode(r1.content)[:, :, 3], _decode(r3.content)[:, :, 3]
    assert np.array_equal(a1, a3)   # the same picture, the same cut-out, whichever way it came
    assert np.array_equal(_decode(r2.content), _decode(r1.content))


def test_type_auto_finds_the_person_and_the_product(client):
    person = _post(client, files={"image_file": ("a.jpg", ASTRONAUT)})
    product = _post(client, files={"image_file": ("c.jpg", COFFEE)})
    assert person.headers["X-Type"] == "person" and product.headers["X-Type"] == "product"
    cup = _decode(product.content)[:, :, 3]
    h, w = cup.shape
    assert cup[h // 2, w // 2] > 200 and cup[3, 3] < 30 and cup[h - 3, w - 3] < 30   # the cup, not the table
    forced = _post(client, files={"image_file": ("c.jpg", COFFEE)}, data={"type": "person"})
    assert forced.headers["X-Type"] == "person"
    none = _post(client, files={"image_file": ("c.jpg", COFFEE)}, data={"type_level": "none"})
    assert none.status_code == 200 and "X-Type" not in none.headers


def test_formats(client):
    files = {"image_file": ("a.jpg", ASTRONAUT)}
    jpg = _post(client, files=files, data={"format": "jpg"})
    assert jpg.headers["content-type"] == "image/jpeg" and jpg.content[:2] == b"\xff\xd8"
    corner = _decode(jpg.content)[3, 3]
    assert corner.min() > 240   # on white, as remove.bg's JPEG is
    z = _post(client, files=files, data={"format": "zip", "size": "full"})
    assert z.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(z.content)) as archive:
        assert sorted(archive.namelist()) == ["alpha.png", "color.jpg"]
        colour = _decode(archive.read("color.jpg"))
        alpha = _decode(archive.read("alpha.png"))
    png = _decode(_post(client, files=files, data={"format": "png", "size": "full"}).content)
    assert colour.shape == (512, 512, 3) and alpha.shape == (512, 512)
    assert np.array_equal(alpha, png[:, :, 3])
    auto_clear = _post(client, files=files, data={"format": "auto"})
    auto_opaque = _post(client, files=files, data={"format": "auto", "bg_color": "00ff00"})
    assert auto_clear.headers["content-type"] == "image/png" and auto_opaque.headers["content-type"] == "image/jpeg"


def test_channels_alpha_is_the_mask(client):
    files = {"image_file": ("a.jpg", ASTRONAUT)}
    mask = _decode(_post(client, files=files, data={"channels": "alpha", "size": "full"}).content)
    rgba = _decode(_post(client, files=files, data={"size": "full"}).content)
    assert mask.ndim == 2 and np.array_equal(mask, rgba[:, :, 3])
    assert 0.2 < (mask > 127).mean() < 0.9


def test_bg_color_and_bg_image(client):
    files = {"image_file": ("a.jpg", ASTRONAUT)}
    red = _decode(_post(client, files=files, data={"bg_color": "ff0000", "format": "png"}).content)
    assert red.shape[2] == 3 and tuple(red[3, 3]) == (0, 0, 255)   # BGR
    named = _decode(_post(client, files=files, data={"bg_color": "blue", "format": "png"}).content)
    assert tuple(named[3, 3]) == (255, 0, 0)
    clear = _decode(_post(client, files=files, data={"bg_color": "#00ff0080", "format": "png"}).content)
    assert clear.shape[2] == 4 and clear[3, 3, 3] == 0x80 and tuple(clear[3, 3, :3]) == (0, 255, 0)
    backdrop = np.zeros((90, 160, 3), np.uint8)
    backdrop[:] = (20, 200, 60)   # BGR
    r = _post(client, files={**files, "bg_image_file": ("bg.png", _png(backdrop))}, data={"format": "png"})
    on = _decode(r.content)
    assert on.shape[2] == 3 and np.abs(on[3, 3].astype(int) - (20, 200, 60)).max() <= 2


def test_crop_and_margin(client):
    files = {"image_file": ("c.jpg", COFFEE)}
    whole = _post(client, files=files, data={"size": "full"})
    cropped = _post(client, files=files, data={"size": "full", "crop": "true"})
    margin = _post(client, files=files, data={"size": "full", "crop": "true", "crop_margin": "20px"})
    fw, fh = int(whole.headers["X-Foreground-Width"]), int(whole.headers["X-Foreground-Height"])
    assert (int(cropped.headers["X-Width"]), int(cropped.headers["X-Height"])) == (fw, fh)
    assert cropped.headers["X-Foreground-Top"] == cropped.headers["X-Foreground-Left"] == "0"
    assert (int(margin.headers["X-Width"]), int(margin.headers["X-Height"])) == (fw + 40, fh + 40)
    assert margin.headers["X-Foreground-Top"] == "20"
    img = _decode(margin.content)
    assert img[:20, :, 3].max() <= 25 and img[20:, :, 3].max() == 255   # the box: alpha over 25 of 255


def test_scale_and_position(client):
    files = {"image_file": ("c.jpg", COFFEE)}
    r = _post(client, files=files, data={"size": "full", "scale": "50%"})
    w, h = int(r.headers["X-Width"]), int(r.headers["X-Height"])
    fw, fh = int(r.headers["X-Foreground-Width"]), int(r.headers["X-Foreground-Height"])
    assert max(fw / w, fh / h) == pytest.approx(0.5, abs=0.02)   # half the canvas, centred
    top, left = int(r.headers["X-Foreground-Top"]), int(r.headers["X-Foreground-Left"])
    assert left + fw / 2 == pytest.approx(w / 2, abs=3) and top + fh / 2 == pytest.approx(h / 2, abs=3)
    corner = _post(client, files=files, data={"size": "full", "scale": "40%", "position": "0% 100%"})
    ch = int(corner.headers["X-Height"])
    assert int(corner.headers["X-Foreground-Left"]) <= 1
    assert int(corner.headers["X-Foreground-Top"]) + int(corner.headers["X-Foreground-Height"]) >= ch - 1


def test_roi_clears_what_is_outside(client):
    r = _post(client, files={"image_file": ("a.jpg", ASTRONAUT)}, data={"size": "full", "roi": "0px 0px 256px 512px"})
    alpha = _decode(r.content)[:, :, 3]
    assert alpha[:, 256:].max() == 0 and alpha[:, :256].max() == 255
    rel = _post(client, files={"image_file": ("a.jpg", ASTRONAUT)}, data={"size": "full", "roi": "0% 0% 50% 100%"})
    assert np.array_equal(_decode(rel.content)[:, :, 3], alpha)


def test_add_shadow_darkens_under_the_product(client):
    files = {"image_file": ("c.jpg", COFFEE)}
    plain = _decode(_post(client, files=files, data={"size": "full"}).content)[:, :, 3]
    shadow = _decode(_post(client, files=files, data={"size": "full", "add_shadow": "true"}).content)[:, :, 3]
    assert (shadow >= plain).all() and np.count_nonzero(shadow > 20) > np.count_nonzero(plain > 20) * 1.02


def test_json_answer(client):
    r = _post(client, files={"image_file": ("a.jpg", ASTRONAUT)}, headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    data = r.json()["data"]
    assert set(SPEC["json_response"]["data"]) <= set(data)
    img = _decode(base64.b64decode(data["result_b64"]))
    assert img.shape[:2] == (int(r.headers["X-Height"]), int(r.headers["X-Width"]))
    assert data["foreground_top"] == int(r.headers["X-Foreground-Top"])
    assert data["foreground_width"] == int(r.headers["X-Foreground-Width"])


def test_account_has_remove_bgs_shape(client):
    r = client.get("/account")
    assert r.status_code == 200
    attributes = r.json()["data"]["attributes"]
    for part, keys in SPEC["account"]["data"]["attributes"].items():
        assert set(keys) <= set(attributes[part])
    assert attributes["credits"]["total"] > 0 and attributes["api"]["sizes"] == "all"


def test_every_parameter_of_the_spec_is_read(client):
    """Every field remove.bg's multipart body has is accepted (a value of its own type) or
    refused with the spec's code: none is unknown to the server."""
    answered = {}
    values = {"add_shadow": "false", "bg_color": "", "channels": "rgba", "crop": "false", "crop_margin": "0",
              "format": "auto", "position": "original", "roi": "0% 0% 100% 100%", "scale": "original",
              "semitransparency": "true", "shadow_method": "latest", "size": "preview", "type": "auto", "type_level": "1"}
    for name in SPEC["removebg_multipart_fields"]:
        if name in values:
            r = _post(client, files={"image_file": ("a.jpg", ASTRONAUT)}, data={name: values[name]})
            answered[name] = r.status_code
    assert set(answered.values()) == {200}, answered


def test_remove_bgs_python_client_works_with_only_the_address_changed(server, tmp_path):
    removebg = pytest.importorskip("removebg", reason="remove.bg's client `removebg` is not installed (the test extra has it)")
    import removebg.removebg as module

    picture = tmp_path / "astronaut.jpg"
    picture.write_bytes(ASTRONAUT)
    was = module.API_ENDPOINT
    module.API_ENDPOINT = f"{server.url}/removebg"   # the address, and nothing else
    try:
        removebg.RemoveBg("any-key", str(tmp_path / "errors.log")).remove_background_from_img_file(str(picture))
    finally:
        module.API_ENDPOINT = was
    out = _decode((tmp_path / "astronaut.jpg_no_bg.png").read_bytes())
    assert out.shape[2] == 4 and out[5, 5, 3] == 0 and out[128, 256, 3] == 255


# --- errors ---------------------------------------------------------------------------------------

def test_codes_are_the_specs(client):
    files = {"image_file": ("a.jpg", ASTRONAUT)}
    cases = [
        ({}, None, "missing_source"),
        ({"image_file_b64": base64.b64encode(ASTRONAUT).decode()}, files, "multiple_sources"),
        ({"size": "huge"}, files, "invalid_size"),
        ({"format": "webp"}, files, "invalid_format"),
        ({"channels": "rgb"}, files, "invalid_channels"),
        ({"bg_color": "nothex"}, files, "invalid_bg_color"),
        ({"bg_color": "fff", "bg_image_url": "https://example.com/a.jpg"}, files, "multiple_bg_sources"),
        ({"crop_margin": "1 2 3"}, files, "invalid_crop_margin"),
        ({"crop_margin": "80%"}, files, "invalid_crop_margin"),
        ({"scale": "5%"}, files, "invalid_scale"),
        ({"position": "left"}, files, "invalid_position"),
        ({"roi": "0 0 10 10"}, files, "invalid_roi"),
        ({"roi": "0px 0px 600px 100px", "size": "full"}, files, "roi_exceeds_bounds"),
        ({"roi": "10px 10px 10px 100px", "size": "full"}, files, "roi_region_empty"),
        ({"image_url": "https://example.com/a.jpg"}, None, "invalid_image_url"),   # off unless --allow-urls
    ]
    for data, f, code in cases:
        error = _error(_post(client, files=f, data=data), 400, code)
        assert code in SPEC["error_codes_400"]
        assert error["detail"]


def test_wrong_types(client):
    _error(_post(client, files={"image_file": ("a.jpg", ASTRONAUT)}, data={"crop": "maybe"}), 400, "invalid_crop")
    _error(_post(client, files={"image_file": ("a.jpg", ASTRONAUT)}, data={"type": "car"}), 400, "invalid_type")
    _error(client.post("/removebg", json={"image_file_b64": 42}), 400, "invalid_image_file_b64")
    _error(client.post("/removebg", json={"image_file_b64": ["x"]}), 400, "invalid_request")
    _error(client.post("/removebg", json=["not", "an", "object"]), 400, "invalid_request")
    _error(client.post("/removebg", content=b"{broken", headers={"Content-Type": "application/json"}), 400,
           "invalid_request")
    _error(client.post("/removebg", json={"image_file_b64": "@@not base64@@"}), 400, "invalid_image_file_b64")
    _error(_post(client, files={"image_file": ("a.txt", b"hello, I am text " * 20)}), 400, "invalid_file_type")
    _error(client.post("/removebg", content=b"x", headers={"Content-Type": "text/plain"}), 415, "invalid_request")
    r = client.get("/removebg")
    assert r.status_code == 405 and r.json()["errors"][0]["title"]


def test_a_damaged_picture(client):
    _error(_post(client, files={"image_file": ("a.jpg", ASTRONAUT[: len(ASTRONAUT) // 2])}), 400,
           "failed_to_read_image")


def test_nothing_to_cut_out(client):
    grey = np.full((300, 400, 3), 128, np.uint8)
    _error(_post(client, files={"image_file": ("grey.png", _png(grey))}, data={"type": "person"}), 400,
           "unknown_foreground")


def _png_claiming(width: int, height: int) -> bytes:
    """A real 1x1 PNG whose header says ``width`` x ``height``: what a decompression bomb shows first."""
    data = bytearray(_png(np.zeros((1, 1), np.uint8)))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def test_decompression_bombs_are_refused_from_their_header(client):
    error = _error(_post(client, files={"image_file": ("bomb.png", _png_claiming(60000, 60000))}), 400,
                   "resolution_too_high")
    assert "60000x60000" in error["detail"]
    # a real one: 36 megapixels of nothing, 36 kB compressed, over the server's 4 megapixels
    bomb = _png(np.zeros((6000, 6000), np.uint8))
    assert len(bomb) < 100_000
    t0 = time.monotonic()
    _error(_post(client, files={"image_file": ("bomb.png", bomb)}), 400, "resolution_too_high")
    assert time.monotonic() - t0 < 30
    _error(_post(client, files={"image_file": ("a.jpg", ASTRONAUT), "bg_image_file": ("b.png", bomb)}), 400,
           "resolution_too_high")


def _raw(port: int, request: bytes, *, wait: float = 30.0) -> bytes:
    """``request`` sent on a plain socket; what comes back until the server closes or ``wait`` passes."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(request)
        got = b""
        try:
            while chunk := s.recv(65536):
                got += chunk
                if b"\r\n\r\n" in got and _complete(got):
                    break
        except (socket.timeout, ConnectionResetError):
            pass
        return got


def _complete(response: bytes) -> bool:
    head, _, rest = response.partition(b"\r\n\r\n")
    m = re.search(rb"content-length: (\d+)", head.lower())
    return m is not None and len(rest) >= int(m.group(1))


def test_an_oversized_body_is_refused_before_it_is_read(server):
    head = (b"POST /v1.0/removebg HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 50000000\r\n\r\n")
    got = _raw(server.port, head)   # not one byte of the 50 MB is sent
    assert got.startswith(b"HTTP/1.1 413"), got[:200]
    assert json.loads(got.partition(b"\r\n\r\n")[2])["errors"][0]["code"] == "file_too_large"


def test_an_oversized_chunked_body_is_refused(client):
    def chunks():
        for _ in range(100):
            yield b"x" * 100_000
    r = client.post("/removebg", content=chunks(), headers={"Content-Type": "application/json"})
    _error(r, 413, "file_too_large")


def test_truncated_multipart(server):
    body = (b"--bnd\r\nContent-Disposition: form-data; name=\"image_file\"; filename=\"a.jpg\"\r\n"
            b"Content-Type: image/jpeg\r\n\r\n" + ASTRONAUT[:5000])   # no closing boundary
    head = (b"POST /v1.0/removebg HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=bnd\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n")
    got = _raw(server.port, head + body)
    assert got.startswith(b"HTTP/1.1 400"), got[:300]
    error = json.loads(got.partition(b"\r\n\r\n")[2])["errors"][0]
    assert error["code"] == "invalid_request" and "cut short" in error["detail"]


def test_huge_headers_are_refused_and_the_server_goes_on(server, client):
    got = _raw(server.port, b"GET /v1.0/account HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n")
    assert not got.startswith(b"HTTP/1.1 200")
    assert client.get("/account").status_code == 200


def test_no_traceback_reaches_a_client(client):
    for r in (client.post("/removebg", content=b"--x\r\n", headers={"Content-Type": "multipart/form-data; boundary=x"}),
              client.post("/removebg", content=b"\xff\xfe", headers={"Content-Type": "application/x-www-form-urlencoded"}),
              client.post("/removebg", content=b"--x\r\nbroken\r\n\r\n--x--",
                          headers={"Content-Type": "multipart/form-data; boundary=x"})):
        assert r.status_code in (400, 415), r.text
        assert "Traceback" not in r.text and r.json()["errors"][0]["title"]


# --- keys, floods, slow clients, shutdown ---------------------------------------------------------

def test_a_key_is_required_off_loopback():
    r = subprocess.run([sys.executable, "-m", "vcam", "serve", "--host", "0.0.0.0", "--port", "0"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120, env={**os.environ, "VCAM_API_KEY": ""})
    assert r.returncode == 2 and "--api-key" in r.stderr and "0.0.0.0" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_missing_extra_says_how_to_install_it():
    code = ("import sys; sys.modules['starlette'] = None; from vcam.cli import main; "
            "sys.exit(main(['serve']))")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "pip install 'vcam[serve]'" in r.stderr and "starlette" in r.stderr


@pytest.fixture(scope="module")
def keyed():
    s = Server("--host", "0.0.0.0", "--workers", "1", "--queue", "0", "--timeout", "8", env={"VCAM_API_KEY": KEY})
    yield s
    s.stop()


def test_the_key(keyed):
    with httpx.Client(base_url=keyed.url, timeout=120) as c:
        files = {"image_file": ("a.jpg", ASTRONAUT)}
        missing = c.post("/removebg", files=files)
        assert missing.status_code == 403 and missing.json()["errors"][0]["title"] == "Missing API Key"
        wrong = c.post("/removebg", files=files, headers={"X-Api-Key": "wrong-key-0000000"})
        assert wrong.status_code == 403 and wrong.json()["errors"][0]["title"] == "Invalid API Key"
        assert c.get("/account").status_code == 403
        ok = c.post("/removebg", files=files, headers={"X-Api-Key": KEY})
        assert ok.status_code == 200 and ok.headers["X-Type"] == "person"


def test_a_flood_gets_429_and_the_rest_are_answered(keyed):
    files = {"image_file": ("c.jpg", COFFEE)}

    def one(_):
        with httpx.Client(timeout=120) as c:
            return c.post(f"{keyed.url}/removebg", files=files, data={"size": "full", "type": "product"},
                          headers={"X-Api-Key": KEY})

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(8)))
    codes = sorted(r.status_code for r in answers)
    assert 200 in codes and 429 in codes and set(codes) <= {200, 429}, [r.text[:300] for r in answers]
    busy = next(r for r in answers if r.status_code == 429)
    assert busy.json()["errors"][0]["title"] == "Rate limit exceeded"
    with httpx.Client(timeout=120) as c:   # room again once the flood has passed
        assert c.post(f"{keyed.url}/removebg", files=files, headers={"X-Api-Key": KEY}).status_code == 200


def test_a_slow_client_is_timed_out(keyed):
    head = (b"POST /v1.0/removebg HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + KEY.encode() +
            b"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"image_")
    t0 = time.monotonic()
    got = _raw(keyed.port, head, wait=30)
    assert got.startswith(b"HTTP/1.1 408"), got[:200]
    assert 7 <= time.monotonic() - t0 < 30


def test_graceful_shutdown_answers_the_request_in_hand():
    s = Server("--workers", "1")
    try:
        with httpx.Client(timeout=120) as c:
            assert c.get(f"{s.url}/account").status_code == 200
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                pending = pool.submit(c.post, f"{s.url}/removebg", files={"image_file": ("c.jpg", COFFEE)},
                                      data={"size": "full", "type": "product"})
                time.sleep(0.5)   # in the worker's hands (a product at full size takes over a second here)
                s.proc.send_signal(signal.SIGTERM)
                r = pending.result(120)
        assert r.status_code == 200 and r.headers["X-Type"] == "product"
        assert s.proc.wait(60) == 0
        assert "stopped by SIGTERM; the requests in hand were answered" in "".join(s.lines)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{s.url}/account", timeout=5)
    finally:
        s.stop()


def test_process_subject_product_cuts_out_the_cup(tmp_path):
    """`vcam process --subject product`: the same model as type=product, for files."""
    from vcam.cli import main

    (tmp_path / "cup.jpg").write_bytes(COFFEE)
    assert main(["process", str(tmp_path / "cup.jpg"), "--subject", "product", "-o", str(tmp_path / "cup.png")]) == 0
    cup = cv2.imread(str(tmp_path / "cup.png"), cv2.IMREAD_UNCHANGED)
    h, w = cup.shape[:2]
    assert cup.shape[2] == 4 and cup[h // 2, w // 2, 3] > 200 and cup[3, 3, 3] < 30 and cup[h - 3, w - 3, 3] < 30
    assert main(["process", str(tmp_path / "cup.jpg"), "--subject", "product", "--model", "general",
                 "-o", str(tmp_path / "x.png")]) == 2
