"""Pictures with several frames: APNG, animated WebP and multi-page TIFF, counted from their headers,
read with every frame and written back with every frame's duration and the loop count.

The fixtures are made here by other writers than the module's (PyAV directly, OpenCV's
imwritemulti and imwriteanimation) or byte by byte, and durations are checked in the written
chunks themselves as well as through the reader.
"""
from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from vcam.errors import VcamError
from vcam.fileio import animation
from vcam.fileio.animation import frame_count, read_animation, write_animation

av = pytest.importorskip("av")

H, W = 24, 32
COLORS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255)]
DURATIONS = [100, 200, 300, 400, 500, 600]
ALPHAS = [10, 50, 90, 130, 170, 210]
READS_WEBP = hasattr(cv2, "imreadanimation")
needs_webp_reader = pytest.mark.skipif(not READS_WEBP, reason=f"OpenCV {cv2.__version__} has no imreadanimation (4.11+)")
ODD = os.fsdecode(b"anim-\xff\xfe")   # a name that is not UTF-8


def solid_frames(colours=COLORS) -> list[np.ndarray]:
    return [np.full((H, W, 3), c, np.uint8) for c in colours]


def solid_alphas(values=ALPHAS) -> list[np.ndarray]:
    return [np.full((H, W), a, np.uint8) for a in values]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- fixtures made by other writers, and chunk readers of our own ---------------------------------

def pyav_animation(path: Path, fmt: str, codec: str, pix_fmt: str, options: dict, codec_options: dict,
                   alpha: bool = False) -> Path:
    """Solid-colour frames at pts 0, 100, 300... ms, written by PyAV itself."""
    out = io.BytesIO()
    with av.open(out, "w", format=fmt, options=options) as box:
        stream = box.add_stream(codec, options=codec_options)
        stream.width, stream.height, stream.pix_fmt = W, H, pix_fmt
        stream.codec_context.time_base = Fraction(1, 1000)
        pts = 0
        for i, colour in enumerate(COLORS):
            rgba = np.dstack((solid_frames([colour])[0], solid_alphas([ALPHAS[i] if alpha else 255])[0]))
            frame = av.VideoFrame.from_ndarray(rgba, format="rgba")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            pts += DURATIONS[i]
            box.mux(stream.encode(frame))
        box.mux(stream.encode())
    path.write_bytes(out.getvalue())
    return path


def apng_fixture(path: Path, alpha: bool = False) -> Path:
    return pyav_animation(path, "apng", "apng", "rgba" if alpha else "rgb24",
                          {"plays": "3", "final_delay": "600/1000"}, {}, alpha)


def webp_fixture(path: Path) -> Path:
    return pyav_animation(path, "webp", "libwebp_anim", "bgra", {"loop": "2"}, {"lossless": "1"})


def tiff_fixture(path: Path, alpha: bool = False) -> Path:
    pages = [cv2.cvtColor(np.dstack((f, a)), cv2.COLOR_RGBA2BGRA) if alpha else cv2.cvtColor(f, cv2.COLOR_RGB2BGR)
             for f, a in zip(solid_frames(), solid_alphas())]
    assert cv2.imwritemulti(str(path), pages)
    return path


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    at, chunks = 8, []
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunks.append((kind, data[at + 8:at + 8 + length]))
        at += 12 + length
    return chunks


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def apng_timing(path: Path) -> tuple[int, int, list[float]]:
    """(acTL frames, acTL plays, each fcTL delay in ms) read from the chunks."""
    chunks = png_chunks(path.read_bytes())
    frames, plays = next(struct.unpack(">II", b) for k, b in chunks if k == b"acTL")
    delays = [1000 * n / (d or 100) for n, d in (struct.unpack(">HH", b[20:24]) for k, b in chunks if k == b"fcTL")]
    return frames, plays, delays


def webp_timing(path: Path) -> tuple[int, list[int]]:
    """(ANIM loop count, each ANMF duration in ms) read from the chunks."""
    data, at, loop, durations = path.read_bytes(), 12, None, []
    while at < len(data):
        kind, length = struct.unpack("<4sI", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if kind == b"ANIM":
            loop = struct.unpack("<H", body[4:6])[0]
        elif kind == b"ANMF":
            durations.append(int.from_bytes(body[12:15], "little"))
        at += 8 + length + (length & 1)
    return loop, durations


def tiff_bytes(order: str, sizes, *, loop_back: bool = False) -> bytes:
    """A TIFF of IFDs holding only ImageWidth and ImageLength (no pixels): enough for a header walk."""
    magic = b"II*\x00" if order == "<" else b"MM\x00*"
    data = bytearray(magic + struct.pack(order + "I", 8))
    for i, (w, h) in enumerate(sizes):
        start = len(data)
        last = i == len(sizes) - 1
        following = 8 if loop_back and last else 0 if last else start + 2 + 24 + 4
        data += struct.pack(order + "H", 2)
        data += struct.pack(order + "HHIHH", 256, 3, 1, w, 0) + struct.pack(order + "HHII", 257, 4, 1, h)
        data += struct.pack(order + "I", following)
    return bytes(data)


# --- frame_count ---------------------------------------------------------------------------------

def test_frame_count_from_each_header(tmp_path):
    assert frame_count(apng_fixture(tmp_path / "a.png")) == 6
    assert frame_count(webp_fixture(tmp_path / "w.webp")) == 6
    assert frame_count(tiff_fixture(tmp_path / "t.tif")) == 6
    assert cv2.imwrite(str(tmp_path / "still.png"), np.zeros((4, 4, 3), np.uint8))
    assert cv2.imwrite(str(tmp_path / "still.webp"), np.zeros((4, 4, 3), np.uint8))
    assert cv2.imwrite(str(tmp_path / "still.tif"), np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "x.gif").write_bytes(b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00"
                                     b"\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
    (tmp_path / "x.txt").write_text("not a picture at all")
    for name in ("still.png", "still.webp", "still.tif", "x.gif", "x.txt"):
        assert frame_count(tmp_path / name) == 1, name


def test_frame_count_reads_only_the_header(tmp_path):
    """Cut right after acTL: the count is still there, and only decoding finds the damage."""
    data = apng_fixture(tmp_path / "a.png").read_bytes()
    end = data.index(b"acTL") + 4 + 8 + 4
    (tmp_path / "cut.png").write_bytes(data[:end] + png_chunk(b"IEND", b""))
    assert frame_count(tmp_path / "cut.png") == 6
    with pytest.raises(VcamError, match="damaged or cut short"):
        read_animation(tmp_path / "cut.png")


@pytest.mark.parametrize("order", ["<", ">"])
def test_frame_count_walks_the_tiff_pages_in_either_byte_order(tmp_path, order):
    (tmp_path / "p.tif").write_bytes(tiff_bytes(order, [(5, 4)] * 3))
    assert frame_count(tmp_path / "p.tif") == 3
    (tmp_path / "loop.tif").write_bytes(tiff_bytes(order, [(5, 4)] * 3, loop_back=True))
    with pytest.raises(VcamError, match="pages loop"):
        frame_count(tmp_path / "loop.tif")


def test_frame_count_refuses_a_chain_over_the_cap(tmp_path):
    (tmp_path / "many.tif").write_bytes(tiff_bytes("<", [(1, 1)] * (animation.MAX_FRAMES + 2)))
    with pytest.raises(VcamError, match=f"over {animation.MAX_FRAMES} frames"):
        frame_count(tmp_path / "many.tif")


@pytest.mark.parametrize("name, cut", [("a.png", 20), ("a.png", 45), ("w.webp", -10), ("t.tif", 6), ("t.tif", -30)])
def test_a_truncated_header_is_a_vcam_error(tmp_path, name, cut):
    make = {".png": apng_fixture, ".webp": webp_fixture, ".tif": tiff_fixture}[Path(name).suffix]
    data = make(tmp_path / name).read_bytes()
    (tmp_path / name).write_bytes(data[:cut])
    with pytest.raises(VcamError, match="truncated|damaged"):
        frame_count(tmp_path / name)
    with pytest.raises(VcamError, match="truncated|damaged"):
        read_animation(tmp_path / name)


# --- read_animation ------------------------------------------------------------------------------

@pytest.mark.parametrize("alpha", [False, True])
def test_read_apng_gives_every_frame_with_its_duration(tmp_path, alpha):
    anim = read_animation(apng_fixture(tmp_path / "a.png", alpha))
    assert anim.kind == "apng" and anim.size == (W, H) and anim.loop == 3
    assert [tuple(int(v) for v in f[H // 2, W // 2]) for f in anim.frames] == COLORS
    assert all(f.dtype == np.uint8 and f.shape == (H, W, 3) for f in anim.frames)
    assert anim.durations_ms == DURATIONS
    if alpha:
        assert [int(a[0, 0]) for a in anim.alphas] == ALPHAS
    else:
        assert anim.alphas is None


def test_read_apng_leaves_out_a_default_image_that_is_not_a_frame(tmp_path):
    """An IDAT without an fcTL before it is shown by viewers without APNG only."""
    chunks = png_chunks(apng_fixture(tmp_path / "a.png").read_bytes())
    first_fctl = next(i for i, (k, _) in enumerate(chunks) if k == b"fcTL")
    out = b"\x89PNG\r\n\x1a\n" + b"".join(png_chunk(k, struct.pack(">II", 5, 0) if k == b"acTL" else b)
                                          for i, (k, b) in enumerate(chunks) if i != first_fctl)
    (tmp_path / "hidden.png").write_bytes(out)
    assert frame_count(tmp_path / "hidden.png") == 5
    anim = read_animation(tmp_path / "hidden.png")
    assert [tuple(int(v) for v in f[0, 0]) for f in anim.frames] == COLORS[1:]
    assert anim.durations_ms == DURATIONS[1:]


@needs_webp_reader
def test_read_webp_gives_every_frame_with_its_duration(tmp_path):
    anim_in = cv2.Animation()
    anim_in.frames = [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in solid_frames()]
    anim_in.durations = DURATIONS
    anim_in.loop_count = 4
    assert cv2.imwriteanimation(str(tmp_path / "w.webp"), anim_in, [cv2.IMWRITE_WEBP_QUALITY, 100])
    assert frame_count(tmp_path / "w.webp") == 6
    anim = read_animation(tmp_path / "w.webp")
    assert anim.kind == "webp" and anim.size == (W, H) and anim.loop == 4
    for frame, colour in zip(anim.frames, COLORS):
        assert np.abs(frame[H // 2, W // 2].astype(int) - colour).max() <= 3
    assert anim.durations_ms == DURATIONS


@pytest.mark.skipif(READS_WEBP, reason=f"OpenCV {cv2.__version__} reads animated WebP")
def test_an_opencv_without_imreadanimation_refuses_animated_webp_with_the_fix(tmp_path):
    with pytest.raises(VcamError, match=r"cannot read.*4\.11.*opencv-contrib-python>=4\.12"):
        read_animation(webp_fixture(tmp_path / "w.webp"))


@pytest.mark.parametrize("alpha", [False, True])
def test_read_tiff_pages(tmp_path, alpha):
    anim = read_animation(tiff_fixture(tmp_path / "t.tif", alpha))
    assert anim.kind == "tiff" and anim.loop is None and anim.durations_ms == [0] * 6
    np.testing.assert_array_equal(np.stack(anim.frames), np.stack(solid_frames()))
    if alpha:
        np.testing.assert_array_equal(np.stack(anim.alphas), np.stack(solid_alphas()))
    else:
        assert anim.alphas is None


def test_a_still_picture_reads_as_one_frame(tmp_path):
    assert cv2.imwrite(str(tmp_path / "s.png"), np.full((4, 5, 3), (0, 0, 255), np.uint8))
    anim = read_animation(tmp_path / "s.png")
    assert len(anim.frames) == 1 and anim.size == (5, 4) and tuple(anim.frames[0][0, 0]) == (255, 0, 0)


def test_tiff_pages_of_different_sizes_are_refused(tmp_path):
    pages = [np.zeros((H, W, 3), np.uint8), np.zeros((10, 12, 3), np.uint8)]
    assert cv2.imwritemulti(str(tmp_path / "t.tif"), pages)
    with pytest.raises(VcamError, match=r"pages of different sizes \(12x10, 32x24\)"):
        read_animation(tmp_path / "t.tif")


def test_an_over_limit_header_is_refused_before_decoding(tmp_path):
    """Headers with no pixels behind them: decoding would say the file is damaged."""
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1000, 1000, 8, 2, 0, 0, 0))
    (tmp_path / "big.png").write_bytes(b"\x89PNG\r\n\x1a\n" + ihdr + png_chunk(b"acTL", struct.pack(">II", 300, 0))
                                       + png_chunk(b"IEND", b""))
    with pytest.raises(VcamError, match=r"300 frames of 1000x1000 \(300 megapixels in all\).* 256 in all"):
        read_animation(tmp_path / "big.png")
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes([0x02, 0, 0, 0]) + (9999).to_bytes(3, "little") * 2
    anmf = (b"ANMF" + struct.pack("<I", 16) + bytes(16)) * 2   # 2 frames of 10000x10000: 100 MP each
    body = b"WEBP" + vp8x + anmf
    (tmp_path / "big.webp").write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert frame_count(tmp_path / "big.webp") == 2
    with pytest.raises(VcamError, match=r"10000x10000.*at most 64 megapixels a frame"):
        read_animation(tmp_path / "big.webp")


def test_a_damaged_frame_is_a_vcam_error(tmp_path):
    """The header is whole (the count stands); the last frame's compressed data is garbage."""
    chunks = png_chunks(apng_fixture(tmp_path / "a.png").read_bytes())
    last = max(i for i, (k, _) in enumerate(chunks) if k == b"fdAT")
    chunks[last] = (b"fdAT", chunks[last][1][:4] + b"\x78\x9c not a zlib stream at all")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"".join(png_chunk(k, b) for k, b in chunks))
    assert frame_count(tmp_path / "bad.png") == 6
    with pytest.raises(VcamError, match="cannot be decoded: 5 of its 6 frames came out whole"):
        read_animation(tmp_path / "bad.png")


def test_names_that_are_not_utf8_are_read_from_memory(tmp_path):
    assert read_animation(apng_fixture(tmp_path / f"{ODD}.png")).durations_ms == DURATIONS
    assert len(read_animation(tiff_fixture(tmp_path / "t.tif").rename(tmp_path / f"{ODD}.tif")).frames) == 6
    if hasattr(cv2, "imdecodeanimation"):
        assert len(read_animation(webp_fixture(tmp_path / f"{ODD}.webp")).frames) == 6


# --- write_animation -----------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".png", ".apng", ".webp", ".tif"])
@pytest.mark.parametrize("alpha", [False, True])
def test_write_then_read_keeps_frames_durations_loop_and_alpha(tmp_path, suffix, alpha):
    path = tmp_path / f"out{suffix}"
    frames, alphas = solid_frames(), solid_alphas() if alpha else None
    write_animation(path, frames, DURATIONS, 5, alphas=alphas)
    assert files_in(tmp_path) == [path.name]
    assert frame_count(path) == 6
    if suffix == ".webp" and not READS_WEBP:
        assert webp_timing(path) == (5, DURATIONS)
        return
    anim = read_animation(path)
    np.testing.assert_array_equal(np.stack(anim.frames), np.stack(frames))   # every writer is lossless
    if alpha:
        np.testing.assert_array_equal(np.stack(anim.alphas), np.stack(alphas))
    else:
        assert anim.alphas is None
    tiff = suffix == ".tif"
    assert anim.durations_ms == ([0] * 6 if tiff else DURATIONS) and anim.loop == (None if tiff else 5)


@pytest.mark.parametrize("suffix", [".png", ".webp", ".tif"])
def test_frames_that_change_in_part_come_back_whole(tmp_path, suffix):
    """APNG and WebP encoders store only the changed rectangle, blended over the frame before."""
    base = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    frames, alphas = [], []
    for i in range(5):
        frame, alpha = base.copy(), np.full((40, 50), 255, np.uint8)
        frame[5 + 5 * i:15 + 5 * i, 10:20] = 255
        alpha[:, 8 * i:8 * i + 5] = 60
        frames.append(frame)
        alphas.append(alpha)
    write_animation(tmp_path / f"m{suffix}", frames, [50, 60, 70, 80, 90], 0, alphas=alphas)
    if suffix == ".webp" and not READS_WEBP:
        pytest.skip(f"OpenCV {cv2.__version__} cannot read animated WebP back")
    anim = read_animation(tmp_path / f"m{suffix}")
    np.testing.assert_array_equal(np.stack(anim.frames), np.stack(frames))
    np.testing.assert_array_equal(np.stack(anim.alphas), np.stack(alphas))


def test_the_written_chunks_hold_every_duration_and_the_loop(tmp_path):
    """The last frame's duration is where FFmpeg and libwebp lose it by default."""
    durations = [40, 70, 1000, 65535, 20, 900]
    write_animation(tmp_path / "a.png", solid_frames(), durations, 0)
    assert apng_timing(tmp_path / "a.png") == (6, 0, durations)
    write_animation(tmp_path / "w.webp", solid_frames(), durations, 7)
    assert webp_timing(tmp_path / "w.webp") == (7, durations)


def test_kind_overrides_the_suffix(tmp_path):
    write_animation(tmp_path / "out.bin", solid_frames(), DURATIONS, 0, kind="apng")
    assert (tmp_path / "out.bin").read_bytes().startswith(b"\x89PNG") and frame_count(tmp_path / "out.bin") == 6


def test_one_frame_writes_a_still_picture(tmp_path):
    write_animation(tmp_path / "one.png", solid_frames()[:1], [100], 0)
    assert frame_count(tmp_path / "one.png") == 1
    assert tuple(read_animation(tmp_path / "one.png").frames[0][0, 0]) == COLORS[0]


def test_a_name_that_is_not_utf8_is_written(tmp_path):
    for suffix in (".png", ".webp", ".tif"):
        write_animation(tmp_path / f"{ODD}{suffix}", solid_frames(), DURATIONS, 0)
        assert frame_count(tmp_path / f"{ODD}{suffix}") == 6
    assert len(files_in(tmp_path)) == 3


@pytest.mark.parametrize("suffix", [".png", ".webp", ".tif"])
def test_a_failed_write_leaves_the_old_file_and_nothing_else(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    path.write_bytes(b"the earlier output")
    with pytest.raises(VcamError, match="1 to 65535 ms"):
        write_animation(path, solid_frames(), [100, 200, 300, 400, 500, 0], 0, kind="apng")
    with pytest.raises(VcamError, match="folder does not exist"):
        write_animation(tmp_path / "missing" / f"out{suffix}", solid_frames(), DURATIONS, 0)
    assert path.read_bytes() == b"the earlier output" and files_in(tmp_path) == [path.name]


def test_webp_refuses_identical_frames_in_a_row(tmp_path):
    """libwebp would merge them, and the file would hold fewer frames than given."""
    frames = solid_frames([COLORS[0], COLORS[1], COLORS[1]])
    with pytest.raises(VcamError, match="frames 2 and 3 are the same picture"):
        write_animation(tmp_path / "w.webp", frames, [100, 200, 300], 0)
    assert files_in(tmp_path) == []
    write_animation(tmp_path / "a.png", frames, [100, 200, 300], 0)   # APNG keeps each
    assert apng_timing(tmp_path / "a.png")[2] == [100, 200, 300]


@pytest.mark.parametrize("args, problem", [
    (dict(path="x.jpg"), r"only as APNG, WebP or TIFF \(got \.jpg\)"),
    (dict(kind="gif"), r"only as APNG, WebP or TIFF \(got gif\)"),
    (dict(loop=-1), "expected 0 \\(forever\\) to 65535"),
    (dict(durations_ms=[100] * 5), "expected 6 of 1 to 65535 ms"),
    (dict(durations_ms=[100] * 5 + [70000]), "expected 6 of 1 to 65535 ms"),
])
def test_bad_values_are_refused_with_a_fix(tmp_path, args, problem):
    given = dict(path="x.png", frames=solid_frames(), durations_ms=DURATIONS, loop=0) | args
    given["path"] = tmp_path / given["path"]
    with pytest.raises(VcamError, match=problem):
        write_animation(**given)
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("frames, alphas", [
    ([], None),
    ([np.zeros((H, W, 3), np.uint8), np.zeros((H, W + 1, 3), np.uint8)], None),
    ([np.zeros((H, W, 3), np.float32)], None),
    ([np.zeros((H, W), np.uint8)], None),
    (solid_frames()[:2], solid_alphas()[:1]),
    (solid_frames()[:1], [np.zeros((H, W, 1), np.uint8)]),
])
def test_frames_of_the_wrong_type_or_shape_are_a_value_error(tmp_path, frames, alphas):
    with pytest.raises(ValueError, match="got .*expected"):
        write_animation(tmp_path / "x.tif", frames, None, None, alphas=alphas)
    assert files_in(tmp_path) == []


def test_importing_the_module_does_not_import_pyav():
    code = "import sys, vcam.fileio.animation; sys.exit('av' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[1]).returncode == 0


# --- a frame at a time (issue 39: 4 frames of 7990x7990 took 3.8 GB) -----------------------------

def test_frames_are_decoded_one_at_a_time_as_they_are_asked_for(tmp_path):
    """What the header says is known before a pixel is decoded; the frames before a damaged one
    are given before its error."""
    chunks = png_chunks(apng_fixture(tmp_path / "a.png").read_bytes())
    last = max(i for i, (k, _) in enumerate(chunks) if k == b"fdAT")
    chunks[last] = (b"fdAT", chunks[last][1][:4] + b"\x78\x9c not a zlib stream at all")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"".join(png_chunk(k, b) for k, b in chunks))
    frames = animation.open_animation(tmp_path / "bad.png")
    assert (frames.kind, frames.size, frames.count, frames.loop) == ("apng", (W, H), 6, 3)
    assert frames.durations_ms == DURATIONS
    given = iter(frames)
    for colour in COLORS[:5]:
        rgb, alpha = next(given)
        assert tuple(int(v) for v in rgb[0, 0]) == colour and alpha is None
    with pytest.raises(VcamError, match="5 of its 6 frames came out whole"):
        next(given)


@pytest.mark.parametrize("suffix, make", [(".tif", "tiff"), (".webp", "webp")])
def test_big_frames_are_decoded_a_few_at_a_time_in_order(tmp_path, suffix, make):
    """Frames of 16.8 megapixels: one a chunk (``DECODE_BYTES``), three chunks, in order."""
    side = 4100
    assert animation.DECODE_BYTES // (8 * side * side) == 1
    frames = [np.full((side, side, 3), c, np.uint8) for c in COLORS[:3]]
    path = tmp_path / f"big{suffix}"
    if make == "tiff":
        assert cv2.imwritemulti(str(path), [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in frames])
    else:
        if not READS_WEBP:
            pytest.skip(f"OpenCV {cv2.__version__} cannot read animated WebP")
        anim = cv2.Animation()
        anim.frames, anim.durations = [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in frames], [100, 200, 300]
        assert cv2.imwriteanimation(str(path), anim, [cv2.IMWRITE_WEBP_QUALITY, 101])
    got = [tuple(int(v) for v in rgb[side // 2, side // 2]) for rgb, _ in animation.open_animation(path)]
    assert got == COLORS[:3]


@pytest.mark.parametrize("suffix", [".png", ".webp", ".tif"])
def test_the_writer_takes_a_frame_at_a_time_and_leaves_nothing_unless_finished(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    path.write_bytes(b"the earlier output")
    frames, alphas = solid_frames(), solid_alphas()
    with animation.AnimationWriter(path, DURATIONS, 2, alpha=True) as writer:
        for rgb, a in zip(frames[:3], alphas):
            writer.add(np.dstack((rgb, a)))
        with pytest.raises(ValueError, match="got 3 frames, expected 6"):
            writer.finish()
        with pytest.raises(ValueError, match=r"frame 3: got uint8 \(24, 32, 3\), expected uint8 shaped \(24, 32, 4\)"):
            writer.add(frames[3])
    assert path.read_bytes() == b"the earlier output" and files_in(tmp_path) == [path.name]
    with animation.AnimationWriter(path, DURATIONS, 2, alpha=True) as writer:
        for rgb, a in zip(frames, alphas):
            writer.add(np.dstack((rgb, a)))
        with pytest.raises(ValueError, match="more frames than the 6 durations"):
            writer.add(np.dstack((frames[0], alphas[0])))
        writer.finish()
    assert files_in(tmp_path) == [path.name]
    if suffix == ".webp" and not READS_WEBP:
        return
    anim = read_animation(path)
    np.testing.assert_array_equal(np.stack(anim.frames), np.stack(frames))
    np.testing.assert_array_equal(np.stack(anim.alphas), np.stack(alphas))


def test_a_webp_repeat_is_refused_as_it_comes(tmp_path):
    with animation.AnimationWriter(tmp_path / "w.webp", [100, 200, 300], 0) as writer:
        writer.add(solid_frames()[0])
        with pytest.raises(VcamError, match="frames 1 and 2 are the same picture"):
            writer.add(solid_frames()[0])
    assert files_in(tmp_path) == []


def test_joined_tiff_pages_are_one_file_any_reader_reads(tmp_path):
    """The pages, each encoded by OpenCV alone, joined: libtiff (OpenCV), tifffile and Pillow read
    every page, and each reader's pixels are the frames."""
    rng = np.random.default_rng(5)
    frames = [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(4)]
    alphas = [rng.integers(0, 256, (H, W), dtype=np.uint8) for _ in range(4)]
    write_animation(tmp_path / "t.tif", frames, None, None, alphas=alphas)
    ok, pages = cv2.imreadmulti(str(tmp_path / "t.tif"), flags=cv2.IMREAD_UNCHANGED)
    assert ok and len(pages) == 4
    for page, rgb, a in zip(pages, frames, alphas):
        np.testing.assert_array_equal(page, cv2.cvtColor(np.dstack((rgb, a)), cv2.COLOR_RGBA2BGRA))
    tifffile = pytest.importorskip("tifffile")
    with tifffile.TiffFile(tmp_path / "t.tif") as tif:
        assert [p.shape for p in tif.pages] == [(H, W, 4)] * 4
        assert [p.dataoffsets[0] for p in tif.pages] == sorted(p.dataoffsets[0] for p in tif.pages)
    image = pytest.importorskip("PIL.Image")
    with image.open(tmp_path / "t.tif") as im:
        for i, (rgb, a) in enumerate(zip(frames, alphas)):
            im.seek(i)
            np.testing.assert_array_equal(np.asarray(im.convert("RGBA")), np.dstack((rgb, a)))


# --- vcam process on an animation ----------------------------------------------------------------

def test_vcam_process_writes_every_frame_with_its_time_and_keeps_what_the_alpha_hides(tmp_path):
    from vcam.cli import main

    apng_fixture(tmp_path / "a.png", alpha=True)
    assert main(["process", str(tmp_path / "a.png"), "--effect", "cutout", "-o", str(tmp_path / "cut.png")]) == 0
    cut = read_animation(tmp_path / "cut.png")
    assert len(cut.frames) == 6 and cut.durations_ms == DURATIONS and cut.loop == 3
    assert all(int(a.max()) <= own for a, own in zip(cut.alphas, ALPHAS))   # the input's alpha multiplied in
    tiff_fixture(tmp_path / "t.tif")
    assert main(["process", str(tmp_path / "t.tif"), "--effect", "matte", "-o", str(tmp_path / "m.tif")]) == 0
    assert main(["process", str(tmp_path / "t.tif"), "--effect", "blur", "-o", str(tmp_path / "b.png")]) == 0
    assert len(read_animation(tmp_path / "m.tif").frames) == 6
    assert read_animation(tmp_path / "b.png").durations_ms == [1000] * 6   # a page, shown for a second
    assert files_in(tmp_path) == ["a.png", "b.png", "cut.png", "m.tif", "t.tif"]


def test_vcam_process_of_a_damaged_animation_writes_nothing(tmp_path):
    chunks = png_chunks(apng_fixture(tmp_path / "a.png").read_bytes())
    last = max(i for i, (k, _) in enumerate(chunks) if k == b"fdAT")
    chunks[last] = (b"fdAT", chunks[last][1][:4] + b"\x78\x9c not a zlib stream at all")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"".join(png_chunk(k, b) for k, b in chunks))
    done = subprocess.run([sys.executable, "-m", "vcam", "process", "bad.png", "--effect", "matte", "-o", "out.png"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("vcam: error:")]
    assert len(errors) == 1 and "5 of its 6 frames came out whole" in errors[0], done.stderr
    assert files_in(tmp_path) == ["a.png", "bad.png"]
