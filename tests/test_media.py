"""Picture files in (any depth and channels -> RGB uint8), atomic picture files out, cover-fit."""
from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from vcam import scaling
from vcam.errors import VcamError
from vcam.fileio import atomic, pictures
from vcam.fileio.video_reader import VideoReader

H, W = 32, 48


def random_rgb(seed: int = 0, h: int = H, w: int = W) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- load_image ----------------------------------------------------------------------------------

def test_load_colour_png_is_rgb(tmp_path):
    rgb = random_rgb(1)
    rgb[0, 0] = (255, 0, 0)
    assert cv2.imwrite(str(tmp_path / "c.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    img = pictures.load_image(tmp_path / "c.png")
    assert img.dtype == np.uint8 and img.shape == (H, W, 3)
    np.testing.assert_array_equal(img, rgb)
    assert tuple(img[0, 0]) == (255, 0, 0)


def test_load_grey_png_gives_three_equal_channels(tmp_path):
    grey = np.random.default_rng(2).integers(0, 256, (H, W), dtype=np.uint8)
    assert cv2.imwrite(str(tmp_path / "g.png"), grey)
    img = pictures.load_image(tmp_path / "g.png")
    assert img.shape == (H, W, 3) and img.dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(img[..., c], grey)


def test_load_16_bit_grey_png_keeps_the_high_byte(tmp_path):
    k = np.random.default_rng(3).integers(0, 256, (H, W)).astype(np.uint16)
    grey16 = k * 257                              # 0..65535, exactly k in 8 bits
    grey16[0, 0] = 65535
    grey16[0, 1] = 255                            # 255/65535 of full scale: black in 8 bits
    assert cv2.imwrite(str(tmp_path / "g16.png"), grey16)
    img = pictures.load_image(tmp_path / "g16.png")
    assert img.dtype == np.uint8 and img.shape == (H, W, 3)
    expected = k.astype(np.uint8)
    expected[0, 0], expected[0, 1] = 255, 0
    for c in range(3):
        np.testing.assert_array_equal(img[..., c], expected)


def test_load_16_bit_colour_png_is_rgb(tmp_path):
    bgr16 = np.zeros((H, W, 3), np.uint16)
    bgr16[..., 2] = 65535                         # red, in OpenCV's BGR order
    bgr16[..., 1] = 128 * 257
    assert cv2.imwrite(str(tmp_path / "c16.png"), bgr16)
    img = pictures.load_image(tmp_path / "c16.png")
    assert img.dtype == np.uint8
    assert np.all(img == (255, 128, 0))


def test_load_bgra_png_drops_alpha_and_is_rgb(tmp_path):
    bgra = np.zeros((H, W, 4), np.uint8)
    bgra[..., 0] = 10      # B
    bgra[..., 1] = 20      # G
    bgra[..., 2] = 200     # R
    bgra[..., 3] = np.arange(W, dtype=np.uint8)[None, :] * 5
    assert cv2.imwrite(str(tmp_path / "a.png"), bgra)
    img = pictures.load_image(tmp_path / "a.png")
    assert img.shape == (H, W, 3) and img.dtype == np.uint8
    assert np.all(img == (200, 20, 10))


def test_load_float_tiff_scales_0_1_to_0_255(tmp_path):
    bgr = np.zeros((H, W, 3), np.float32)
    bgr[..., 2] = 1.0        # red
    bgr[..., 1] = 0.5
    bgr[..., 0] = -0.25      # out of range: clipped
    assert cv2.imwrite(str(tmp_path / "f.tiff"), bgr)
    img = pictures.load_image(tmp_path / "f.tiff")
    assert img.dtype == np.uint8
    assert np.all(img[..., 0] == 255) and np.all(img[..., 2] == 0)
    assert np.all(np.abs(img[..., 1].astype(int) - 127) <= 1)


def test_load_jpeg_is_close_to_what_was_written(tmp_path):
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[:, : W // 2] = (230, 30, 30)
    rgb[:, W // 2:] = (30, 30, 230)
    assert cv2.imwrite(str(tmp_path / "p.jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    img = pictures.load_image(tmp_path / "p.jpg")
    assert np.abs(img[:, 2: W // 2 - 2].astype(int) - rgb[:, 2: W // 2 - 2]).max() < 25
    assert np.abs(img[:, W // 2 + 2:].astype(int) - rgb[:, W // 2 + 2:]).max() < 25


def test_load_jpeg_applies_its_exif_orientation(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    stored = np.zeros((20, 40, 3), np.uint8)       # as the sensor stored it: 40 wide, 20 tall
    stored[:, :10] = (255, 0, 0)                   # red at the left
    im = pil.fromarray(stored)
    exif = im.getexif()
    exif[0x0112] = 6                               # Orientation 6: turn 90 degrees clockwise to view
    im.save(tmp_path / "phone.jpg", exif=exif.tobytes(), quality=95)
    img = pictures.load_image(tmp_path / "phone.jpg")
    assert img.shape == (40, 20, 3)                # upright: 20 wide, 40 tall
    assert img[:8, :, 0].min() > 200 and img[:8, :, 1:].max() < 50    # the red band is now on top
    assert img[12:, :, 0].max() < 50


@pytest.mark.parametrize("kind, message", [
    ("missing", "does not exist"),
    ("folder", "is a folder, not a file"),
    ("empty", "is empty"),
    ("garbage", "cannot be read as a picture"),
    ("text", "cannot be read as a picture"),
])
def test_load_bad_files_raise_one_clear_error(tmp_path, kind, message):
    path = tmp_path / ("notes.txt" if kind == "text" else "pic.png")
    if kind == "folder":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(bytes(range(256)) * 8)
    elif kind == "text":
        path.write_text("just words\n")
    with pytest.raises(VcamError) as info:
        pictures.load_image(path, "background")
    text = str(info.value)
    assert text.startswith("background ") and path.name in text and message in text
    assert info.value.fix


def test_load_refuses_a_picture_over_the_pixel_limit(tmp_path):
    side = int(pictures.MAX_PIXELS ** 0.5) + 1
    assert cv2.imwrite(str(tmp_path / "huge.png"), np.zeros((side, side), np.uint8))
    with pytest.raises(VcamError, match="megapixels"):
        pictures.load_image(tmp_path / "huge.png")


# --- write_image ---------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tiff"])
def test_write_then_load_is_lossless_for_rgb(tmp_path, suffix):
    rgb = random_rgb(4)
    path = tmp_path / f"out{suffix}"
    pictures.write_image(path, rgb)
    np.testing.assert_array_equal(pictures.load_image(path), rgb)
    assert files_in(tmp_path) == [path.name]     # nothing partial left beside it


def test_write_grey_and_rgba(tmp_path):
    grey = np.random.default_rng(5).integers(0, 256, (H, W), dtype=np.uint8)
    pictures.write_image(tmp_path / "m.png", grey)
    back = cv2.imread(str(tmp_path / "m.png"), cv2.IMREAD_UNCHANGED)
    assert back.ndim == 2
    np.testing.assert_array_equal(back, grey)

    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[...] = (250, 60, 5, 0)
    rgba[:, W // 2:, 3] = 255
    pictures.write_image(tmp_path / "cut.png", rgba)
    bgra = cv2.imread(str(tmp_path / "cut.png"), cv2.IMREAD_UNCHANGED)
    assert bgra.shape == (H, W, 4)
    np.testing.assert_array_equal(bgra[..., :3], np.broadcast_to((5, 60, 250), (H, W, 3)))
    np.testing.assert_array_equal(bgra[..., 3], rgba[..., 3])
    assert files_in(tmp_path) == ["cut.png", "m.png"]


def test_write_replaces_an_existing_file_whole(tmp_path):
    path = tmp_path / "out.png"
    pictures.write_image(path, np.zeros((H, W, 3), np.uint8))
    newer = random_rgb(6)
    pictures.write_image(path, newer)
    np.testing.assert_array_equal(pictures.load_image(path), newer)
    assert files_in(tmp_path) == ["out.png"]


def test_write_with_an_unknown_suffix_fails_and_leaves_nothing(tmp_path):
    with pytest.raises(VcamError, match="cannot write") as info:
        pictures.write_image(tmp_path / "out.xyz", random_rgb(7))
    assert ".png" in info.value.fix
    assert files_in(tmp_path) == []


def test_write_into_a_missing_folder_fails_and_leaves_nothing(tmp_path):
    with pytest.raises(VcamError, match="cannot write"):
        pictures.write_image(tmp_path / "no" / "such" / "out.png", random_rgb(8))
    assert files_in(tmp_path) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_write_into_an_unwritable_folder_fails():
    # /proc refuses new files even to root, so this holds whoever runs the tests.
    with pytest.raises(VcamError, match="cannot write"):
        pictures.write_image(Path("/proc/vcam-test-out.png"), random_rgb(9))


def test_failed_write_leaves_the_previous_file_untouched(tmp_path):
    path = tmp_path / "out.png"
    before = random_rgb(10)
    pictures.write_image(path, before)
    with pytest.raises(VcamError):
        pictures.write_image(path, np.zeros((H, W, 2), np.uint8))    # the encoder refuses 2 channels
    np.testing.assert_array_equal(pictures.load_image(path), before)
    assert files_in(tmp_path) == ["out.png"]


def test_write_over_a_folder_fails_and_cleans_up_its_partial_file(tmp_path):
    target = tmp_path / "taken.png"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    with pytest.raises(VcamError, match="cannot write"):
        pictures.write_image(target, random_rgb(11))
    assert files_in(tmp_path) == ["taken.png"]          # the encoded partial file was removed
    assert files_in(target) == ["keep.txt"]


def test_partial_name_is_hidden_beside_the_target_and_keeps_the_suffix(tmp_path):
    target = tmp_path / "photo.final.jpg"
    a, b = atomic.partial_name(target), atomic.partial_name(target)
    assert a.parent == tmp_path and a.name.startswith(".") and a.suffix == ".jpg"
    assert a != b


# --- cover_fit -----------------------------------------------------------------------------------

@pytest.mark.parametrize("src, dst", [((200, 100), (48, 32)), ((60, 200), (48, 32)), ((48, 32), (48, 32)),
                                      ((10, 10), (48, 32)), ((30, 90), (100, 40)), ((1920, 1080), (64, 36))])
def test_cover_fit_gives_the_asked_size(src, dst):
    img = random_rgb(12, src[1], src[0])
    out = scaling.cover_fit(img, *dst)
    assert out.shape == (dst[1], dst[0], 3) and out.dtype == np.uint8


def test_cover_fit_of_the_same_size_is_the_picture():
    img = random_rgb(13)
    np.testing.assert_array_equal(scaling.cover_fit(img, W, H), img)


def square_extent(img: np.ndarray) -> tuple[int, int, float, float]:
    """Width, height and centre of the white square in ``img``."""
    ys, xs = np.nonzero(img[..., 0] > 127)
    return xs.max() - xs.min() + 1, ys.max() - ys.min() + 1, xs.mean(), ys.mean()


@pytest.mark.parametrize("src, dst", [((200, 100), (60, 60)), ((100, 200), (60, 60)),
                                      ((200, 100), (48, 32)), ((100, 200), (48, 32)),
                                      ((80, 40), (300, 120)), ((40, 80), (120, 300))])
def test_cover_fit_keeps_a_centred_square_square_and_centred(src, dst):
    (sw, sh), (dw, dh) = src, dst
    side = min(sw, sh) // 3
    side -= side % 2                               # even, like the sides: exactly centred
    img = np.zeros((sh, sw, 3), np.uint8)
    y0, x0 = (sh - side) // 2, (sw - side) // 2
    img[y0:y0 + side, x0:x0 + side] = 255
    out = scaling.cover_fit(img, dw, dh)
    w, h, cx, cy = square_extent(out)
    assert abs(w - h) <= 1, f"square became {w}x{h}"
    scale = max(dw / sw, dh / sh)
    assert abs(w - side * scale) <= 2                  # scaled by the cover factor, no more
    assert abs(cx - (dw - 1) / 2) <= 1 and abs(cy - (dh - 1) / 2) <= 1


def test_cover_fit_crops_the_overhang_evenly():
    # 300x100 into 100x100: the middle 100 columns are kept, the outer 100 on each side dropped.
    img = np.zeros((100, 300, 3), np.uint8)
    img[:, :100] = (255, 0, 0)
    img[:, 100:200] = (0, 255, 0)
    img[:, 200:] = (0, 0, 255)
    out = scaling.cover_fit(img, 100, 100)
    assert np.all(out == (0, 255, 0))


# --- sizes read from the header, before decoding -------------------------------------------------
def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">II5B", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
            + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))


def _jpeg_header(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    sos = b"\xff\xda" + struct.pack(">HB", 12, 3) + b"\x01\x00\x02\x11\x03\x11\x00\x3f\x00"
    return b"\xff\xd8" + app0 + sof0 + sos + b"\x12\x34\x56" + b"\xff\xd9"


def _bmp_header(width: int, height: int) -> bytes:
    return b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 0, 0, 0, 0)


def _webp_header(width: int, height: int) -> bytes:
    body = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + 8 + len(body)) + b"WEBP" + b"VP8X" + struct.pack("<I", len(body)) + body


def _tiff_header(width: int, height: int, order: str) -> bytes:
    head = (b"II*\x00" if order == "<" else b"MM\x00*") + struct.pack(order + "I", 8)
    entries = [(256, 4, 1, struct.pack(order + "I", width)), (257, 4, 1, struct.pack(order + "I", height)),
               (258, 3, 1, struct.pack(order + "HH", 8, 0))]
    ifd = struct.pack(order + "H", len(entries)) + b"".join(struct.pack(order + "HHI", t, k, n) + v for t, k, n, v in entries)
    return head + ifd + struct.pack(order + "I", 0)


def _gif_header(width: int, height: int) -> bytes:
    """A whole GIF of a few dozen bytes: a logical screen of ``width`` x ``height`` (what every
    frame is decoded at), two colours, one 1x1 image, the trailer."""
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + screen + image + b"\x3b"


HEADERS = {
    "huge.png": _png_header, "huge.jpg": _jpeg_header, "huge.bmp": _bmp_header, "huge.webp": _webp_header,
    "huge.tif": lambda w, h: _tiff_header(w, h, "<"), "huge-mm.tiff": lambda w, h: _tiff_header(w, h, ">"),
    "huge.gif": _gif_header,
}


@pytest.mark.parametrize("name", list(HEADERS))
def test_header_sizes_are_read_without_decoding(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(HEADERS[name](321, 123))
    assert pictures.picture_size(path) == (321, 123)


@pytest.mark.parametrize("name", list(HEADERS))
def test_a_header_declaring_20000x20000_is_refused_before_decoding(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(HEADERS[name](20000, 20000))   # a few dozen bytes: only the header says it is huge
    with pytest.raises(VcamError, match="megapixels") as info:
        pictures.load_image(path, "background")
    assert "20000x20000" in str(info.value) and "400 megapixels" in str(info.value) and info.value.fix


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".webp", ".tiff"])
def test_real_files_give_their_size_from_the_header(tmp_path, ext):
    path = tmp_path / f"pic{ext}"
    assert cv2.imwrite(str(path), np.full((37, 53, 3), 90, np.uint8))
    assert pictures.picture_size(path) == (53, 37)
    assert pictures.load_image(path).shape == (37, 53, 3)


def test_a_zero_sized_header_is_refused(tmp_path):
    path = tmp_path / "none.png"
    path.write_bytes(_png_header(0, 10))
    with pytest.raises(VcamError, match="0x10"):
        pictures.load_image(path)


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_a_zero_byte_picture_is_refused(tmp_path, ext):
    path = tmp_path / f"empty{ext}"
    path.write_bytes(b"")
    with pytest.raises(VcamError, match="empty"):
        pictures.load_image(path)


@pytest.mark.parametrize("ext, keep", [(".png", 12), (".png", 0.5), (".jpg", 40), (".jpg", 0.5),
                                       (".bmp", 20), (".bmp", 0.5),
                                       (".webp", 18), (".webp", 0.5), (".tiff", 9), (".tiff", 0.5)])
def test_a_truncated_picture_is_refused(tmp_path, astronaut_rgb, ext, keep):
    whole = tmp_path / f"whole{ext}"
    assert cv2.imwrite(str(whole), cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2BGR))
    data = whole.read_bytes()
    cut = tmp_path / f"cut{ext}"
    cut.write_bytes(data[:keep if isinstance(keep, int) else int(len(data) * keep)])
    # refused from its header, or, where the header is whole, as data that does not decode
    refused = "cannot be read as a picture|cannot be decoded: the file is damaged or cut short"
    with pytest.raises(VcamError, match=refused) as info:
        pictures.load_image(cut, "background")
    assert "cut" in str(info.value) and info.value.fix


# --- orientation: the picture turned upright as OpenCV turns it ----------------------------------
# The stored picture made upright for each Orientation value (TIFF tag 274, the EXIF tag 0x0112),
# as the standard says and OpenCV's ExifTransform (imgcodecs/loadsave.cpp) does.
VIEWED = {1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
          5: lambda a: a.swapaxes(0, 1), 6: lambda a: a.swapaxes(0, 1)[:, ::-1],
          7: lambda a: a.swapaxes(0, 1)[::-1, ::-1], 8: lambda a: a.swapaxes(0, 1)[::-1]}


def _tiff(rgb: np.ndarray, orientation: int, order: str) -> bytes:
    """A whole uncompressed 8-bit RGB TIFF of ``rgb``, one strip, with an Orientation tag."""
    h, w = rgb.shape[:2]
    pixels = rgb.tobytes()
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 3, "bits"), (259, 3, 1, 1), (262, 3, 1, 2),
               (273, 4, 1, "pixels"), (274, 3, 1, orientation), (277, 3, 1, 3), (278, 4, 1, h),
               (279, 4, 1, len(pixels))]
    bits_at = 8 + 2 + 12 * len(entries) + 4    # after the header and the one IFD
    at = {"bits": bits_at, "pixels": bits_at + 6}
    ifd = b"".join(struct.pack(order + "HHI", tag, kind, n)
                   + (struct.pack(order + "HH", value, 0) if kind == 3 and n == 1
                      else struct.pack(order + "I", at.get(value, value)))
                   for tag, kind, n, value in entries)
    return ((b"II*\x00" if order == "<" else b"MM\x00*") + struct.pack(order + "I", 8)
            + struct.pack(order + "H", len(entries)) + ifd + struct.pack(order + "I", 0)
            + struct.pack(order + "HHH", 8, 8, 8) + pixels)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_tiff_orientation_is_applied_as_opencv_applies_it(tmp_path, orientation, order):
    stored = random_rgb(14, 20, 40)                  # 40 wide, 20 tall, no symmetry
    path = tmp_path / f"o{orientation}.tif"
    path.write_bytes(_tiff(stored, orientation, order))
    assert pictures.picture_size(path) == (40, 20)      # the header tells the size as stored
    np.testing.assert_array_equal(pictures.load_image(path), VIEWED[orientation](stored))


def _exif(orientation: int) -> bytes:
    """An EXIF block (a TIFF header and one IFD) holding only the Orientation tag."""
    return b"MM\x00*" + struct.pack(">IHHHIHHI", 8, 1, 0x0112, 3, 1, orientation, 0, 0)


def _jpeg_with_exif(bgr: np.ndarray, orientation: int) -> bytes:
    jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    app1 = b"Exif\x00\x00" + _exif(orientation)
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


def _png_with_exif(img: np.ndarray, orientation: int) -> bytes:
    png = cv2.imencode(".png", img)[1].tobytes()
    body = b"eXIf" + _exif(orientation)
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    at = 8 + 8 + 13 + 4                               # after the signature and IHDR
    return png[:at] + chunk + png[at:]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_exif_orientation_is_applied_as_imread_applies_it(tmp_path, orientation):
    bgr = cv2.cvtColor(random_rgb(15, 24, 40), cv2.COLOR_RGB2BGR)
    path = tmp_path / f"o{orientation}.jpg"
    path.write_bytes(_jpeg_with_exif(bgr, orientation))
    stored = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    expected = cv2.imread(str(path), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(expected, VIEWED[orientation](stored))   # what imread did
    np.testing.assert_array_equal(pictures.load_image(path), cv2.cvtColor(expected, cv2.COLOR_BGR2RGB))


# --- a picture's alpha ---------------------------------------------------------------------------

def test_load_image_alpha_gives_the_alpha_and_the_same_colour_as_load_image(tmp_path):
    bgra = np.dstack((cv2.cvtColor(random_rgb(16), cv2.COLOR_RGB2BGR),
                      np.random.default_rng(17).integers(0, 256, (H, W), dtype=np.uint8)))
    assert cv2.imwrite(str(tmp_path / "a.png"), bgra)
    rgb, alpha = pictures.load_image_alpha(tmp_path / "a.png")
    np.testing.assert_array_equal(rgb, pictures.load_image(tmp_path / "a.png"))
    np.testing.assert_array_equal(rgb, cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGB))
    assert alpha.dtype == np.uint8 and alpha.shape == (H, W)
    np.testing.assert_array_equal(alpha, bgra[..., 3])


def test_load_image_alpha_scales_16_bit_alpha_to_8_bit(tmp_path):
    k = np.random.default_rng(18).integers(0, 256, (H, W)).astype(np.uint16)
    bgra16 = np.dstack((np.full((H, W, 3), 40 * 257, np.uint16), k * 257))
    bgra16[0, 0, 3], bgra16[0, 1, 3] = 65535, 255     # full, and 255/65535 of full: transparent in 8 bits
    assert cv2.imwrite(str(tmp_path / "a16.png"), bgra16)
    rgb, alpha = pictures.load_image_alpha(tmp_path / "a16.png")
    expected = k.astype(np.uint8)
    expected[0, 0], expected[0, 1] = 255, 0
    assert alpha.dtype == np.uint8
    np.testing.assert_array_equal(alpha, expected)
    assert np.all(rgb == 40)


@pytest.mark.parametrize("name", ["rgb.png", "grey.png", "rgb.jpg", "rgb.tiff"])
def test_load_image_alpha_is_none_for_a_picture_without_alpha(tmp_path, name):
    img = random_rgb(19)
    assert cv2.imwrite(str(tmp_path / name), cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if "grey" in name else img)
    rgb, alpha = pictures.load_image_alpha(tmp_path / name)
    assert alpha is None
    np.testing.assert_array_equal(rgb, pictures.load_image(tmp_path / name))


def test_the_alpha_of_an_oriented_png_turns_with_its_colour(tmp_path):
    stored_rgb = random_rgb(20, 20, 40)
    stored_alpha = np.random.default_rng(21).integers(0, 256, (20, 40), dtype=np.uint8)
    path = tmp_path / "turned.png"
    path.write_bytes(_png_with_exif(np.dstack((cv2.cvtColor(stored_rgb, cv2.COLOR_RGB2BGR), stored_alpha)), 6))
    rgb, alpha = pictures.load_image_alpha(path)
    np.testing.assert_array_equal(rgb, VIEWED[6](stored_rgb))            # upright: 20 wide, 40 tall
    np.testing.assert_array_equal(alpha, VIEWED[6](stored_alpha))
    np.testing.assert_array_equal(rgb, pictures.load_image(path))


@pytest.mark.parametrize("effect", ["matte", "cutout"])
def test_a_matte_and_cutout_keep_what_the_inputs_alpha_hides_hidden(tmp_path, astronaut_rgb, regions, effect):
    from vcam.cli import main

    own = np.full(astronaut_rgb.shape[:2], 255, np.uint8)
    own[regions["face"]] = 0                          # her face is transparent in the input
    own[regions["suit"]] = 128                        # her suit half so
    bgr = cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2BGR)
    assert cv2.imwrite(str(tmp_path / "opaque.png"), bgr)
    assert cv2.imwrite(str(tmp_path / "holed.png"), np.dstack((bgr, own)))
    alphas = {}
    for name in ("opaque", "holed"):
        out = tmp_path / f"{name}-{effect}.png"
        assert main(["process", str(tmp_path / f"{name}.png"), "--effect", effect, "--model", "general", "-o", str(out)]) == 0
        picture = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
        alphas[name] = picture if effect == "matte" else picture[..., 3]
    assert alphas["opaque"][regions["face"]].mean() > 200 and alphas["opaque"][regions["suit"]].mean() > 200
    assert alphas["holed"][regions["face"]].max() == 0
    expected = np.floor(alphas["opaque"].astype(np.int64) * own / 255 + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(alphas["holed"], expected)


# --- animations and videos: the pixel limit holds before a frame is decoded ----------------------

def test_a_gif_claiming_12000x12000_is_refused_before_a_frame_is_decoded(tmp_path):
    # A few dozen bytes whose logical screen is 144 megapixels: one decoded frame would take
    # gigabytes, so the refusal has to come from the header.
    path = tmp_path / "huge.gif"
    path.write_bytes(_gif_header(12000, 12000))
    assert path.stat().st_size < 64
    assert pictures.picture_size(path) == (12000, 12000)
    with pytest.raises(VcamError, match="megapixels") as info:
        VideoReader(path, "background")
    assert "background" in str(info.value) and "12000x12000 (144 megapixels), over 64 megapixels" in str(info.value)
    assert info.value.fix


def _y4m(width: int, height: int, frame_bytes: int) -> bytes:
    """A YUV4MPEG2 stream: its size is its first line, then one frame of ``frame_bytes``."""
    return f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\nFRAME\n".encode() + bytes(frame_bytes)


def test_a_video_whose_container_says_over_the_limit_is_refused_before_its_first_frame(tmp_path):
    small = tmp_path / "small.y4m"
    small.write_bytes(_y4m(64, 48, 64 * 48 * 3 // 2))
    if not cv2.VideoCapture(str(small)).isOpened():
        pytest.skip("this OpenCV reads no YUV4MPEG2")
    reader = VideoReader(small)
    assert reader.size == (64, 48)
    reader.close()
    huge = tmp_path / "huge.y4m"
    huge.write_bytes(_y4m(12000, 12000, 4))           # says 216 MB a frame, holds 4 bytes
    with pytest.raises(VcamError, match=r"12000x12000 \(144 megapixels\), over 64 megapixels") as info:
        VideoReader(huge)
    assert info.value.fix
