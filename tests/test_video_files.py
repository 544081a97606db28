"""Video files in and out through PyAV, checked with PyAV: codecs and their tags, the moov atom
first, every audio packet copied as it was, every frame's time, rotation, transparency, codec
options refused before anything is written, recordings timed by the capture clock, and damaged
inputs, an input named as the output and a full disk.

Every input is made here with PyAV (small clips, each frame different), every run uses the fast
selfie model (``--model general``)."""
from __future__ import annotations

import itertools
import logging
import os
import re
import struct
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Optional, Sequence

import av
import cv2
import helpers
import numpy as np
import pytest

from vcam.cli import main

FAST = ("--model", "general")
SMPTE170M, BT709 = 6, 1   # AVColorSpace / AVColorPrimaries / AVColorTransferCharacteristic

# -- making the inputs -------------------------------------------------------------------------

def picture(i: int, w: int, h: int) -> np.ndarray:
    """Frame ``i``: a ramp, a white bar that moves 5 pixels a frame and a blue level that counts."""
    a = np.empty((h, w, 3), np.uint8)
    a[..., 0] = np.linspace(0, 200, w, dtype=np.float32)[None, :].astype(np.uint8)
    a[..., 1] = 60
    a[..., 2] = (i * 37) % 200 + 30
    bar = (i * 5) % (w - 8)
    a[:, bar:bar + 8] = 250
    return a


def tone(n: int, start: int, k: int) -> np.ndarray:
    t = (np.arange(n) + start) / 48000
    s = (0.3 * np.sin(2 * np.pi * (440 + 110 * k) * t)).astype(np.float32)
    return np.stack([s, s])


def audio_frame(stream, n: int, start: int, k: int):
    two = tone(n, start, k)
    name = stream.codec_context.format.name
    if name == "fltp":
        frame = av.AudioFrame.from_ndarray(two, format="fltp", layout="stereo")
    elif name == "flt":
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(two.T.reshape(1, -1)), format="flt", layout="stereo")
    elif name == "s16":
        frame = av.AudioFrame.from_ndarray((two.T.reshape(1, -1) * 30000).astype(np.int16), format="s16", layout="stereo")
    else:
        raise AssertionError(f"no test samples for {name}")
    frame.sample_rate = 48000
    frame.pts = start
    frame.time_base = Fraction(1, 48000)
    return frame


def write_clip(path: Path, pts: Sequence[int], *, size=(160, 120), time_base=Fraction(1, 30), last: int = 1,
               audio: Sequence[tuple[str, Optional[str]]] = (), options: Optional[dict] = None,
               codec: str = "libx264", tags: Optional[int] = None, pictures=None) -> Path:
    """A video of one frame at each of ``pts`` (in ``time_base``; the last lasts ``last``), and
    an audio stream (a tone) for each (encoder, language) of ``audio``, as long as the video.
    ``tags``: the colour matrix, primaries and transfer the video is tagged with."""
    w, h = size
    make = pictures or picture
    out = av.open(str(path), "w", options=options or {})
    video = out.add_stream(codec, rate=1 / Fraction(time_base))
    video.width, video.height, video.pix_fmt = w, h, "yuv420p"
    video.time_base = video.codec_context.time_base = time_base
    if tags is not None:
        ctx = video.codec_context
        ctx.colorspace = ctx.color_primaries = ctx.color_trc = tags
        ctx.color_range = 1
    sounds = []
    for encoder, language in audio:
        stream = out.add_stream(encoder, rate=48000)
        stream.layout = "stereo"
        if language:
            stream.metadata["language"] = language
        sounds.append(stream)
    lasts = {p: (pts[i + 1] if i + 1 < len(pts) else p + last) - p for i, p in enumerate(pts)}

    def mux(packets):
        for packet in packets:
            packet.duration = lasts.get(packet.pts, 1)
            out.mux(packet)

    for i, p in enumerate(pts):
        frame = av.VideoFrame.from_ndarray(make(i, w, h), format="rgb24")
        frame.pts, frame.time_base = p, time_base
        if tags is not None:
            frame.colorspace, frame.color_range = tags, 1
        mux(video.encode(frame))
    mux(video.encode(None))
    samples = int((pts[-1] + last) * time_base * 48000)
    for k, stream in enumerate(sounds):
        step = stream.codec_context.frame_size or 1024
        for start in range(0, samples, step):
            for packet in stream.encode(audio_frame(stream, step, start, k)):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    out.close()
    return path


def frames_at(rate: float, n: int) -> tuple[list[int], Fraction]:
    time_base = Fraction(rate).limit_denominator(1000) ** -1
    return list(range(n)), time_base


# -- reading the outputs -----------------------------------------------------------------------

def packets(path: Path) -> dict[int, list[tuple]]:
    """Every stream's packets in file order: (pts, dts, bytes)."""
    found: dict[int, list[tuple]] = {}
    with av.open(str(path)) as c:
        for s in c.streams:
            found[s.index] = []
        for p in c.demux():
            if p.size:
                found[p.stream.index].append((p.pts, p.dts, bytes(p)))
    return found


def sound(path: Path, index: int) -> list[tuple[float, bytes]]:
    """A stream's packets as (time in seconds, bytes): comparable across containers' time bases."""
    with av.open(str(path)) as c:
        stream = c.streams[index]
        return [(round(float(p.pts * stream.time_base), 3), bytes(p)) for p in c.demux(stream) if p.size]


def streams(path: Path) -> list[tuple[str, str, str]]:
    """(type, codec, language) of each stream."""
    with av.open(str(path)) as c:
        return [(s.type, s.codec_context.name, s.metadata.get("language", "")) for s in c.streams]


def duration(path: Path) -> float:
    with av.open(str(path)) as c:
        return c.duration / 1_000_000


def frame_times(path: Path) -> list[float]:
    """Each decoded frame's time in seconds, in presentation order."""
    with av.open(str(path)) as c:
        return sorted(float(f.pts * f.time_base) for f in c.decode(video=0))


def rgb_frames(path: Path, matrix: Optional[str] = None) -> list[np.ndarray]:
    """The decoded frames as RGB, with ``matrix`` (swscale's name) or the one each frame is
    tagged with (BT.601 where untagged below 720 lines, as players do)."""
    names = {BT709: "ITU709", SMPTE170M: "ITU601", 5: "ITU601"}
    got = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            m = matrix or names.get(f.colorspace, "ITU709" if f.height >= 720 else "ITU601")
            rgb = f.reformat(format="rgb24", src_colorspace=m, dst_colorspace=m, src_color_range="MPEG",
                             dst_color_range="JPEG")
            got.append(rgb.to_ndarray().astype(np.int16))
    return got


def boxes(path: Path) -> list[str]:
    """The top-level boxes of an MP4/MOV file, in file order, read from its bytes."""
    data = path.read_bytes()
    found, at = [], 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        if size == 1:
            size = struct.unpack(">Q", data[at + 8:at + 16])[0]
        elif size == 0:
            size = len(data) - at
        assert size >= 8, (at, size)
        found.append(kind.decode("latin-1"))
        at += size
    return found


def assert_same_frames(got: list[np.ndarray], want: list[np.ndarray], tolerance: float = 8) -> None:
    """Frame i of ``got`` is frame i of ``want`` (within encoding error), and not any other."""
    assert len(got) == len(want)
    for i, g in enumerate(got):
        errors = [np.abs(g - w).mean() for w in want]
        assert errors[i] < tolerance, (i, errors[i])
        assert int(np.argmin(errors)) == i, (i, errors)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*partial*"))


# -- running vcam ------------------------------------------------------------------------------

def process(*args: str) -> int:
    """``vcam process`` in this process (the model loads in a fraction of a second)."""
    return main(["process", *map(str, args), *FAST])


def vcam(*args, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """vcam in its own process, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_FFMPEG_LOGLEVEL"}
    return subprocess.run([sys.executable, "-m", "vcam", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def said(stderr: str) -> list[str]:
    """What vcam said, without the progress bar."""
    return [line for line in stderr.splitlines() if line and not line.startswith("[")]


# -- H.264 and AAC into .mp4 -------------------------------------------------------------------

@pytest.mark.parametrize("size, frames, tag", [((160, 120), 24, SMPTE170M), ((1280, 720), 5, BT709)])
def test_h264_and_aac_into_mp4(tmp_path, size, frames, tag):
    src = write_clip(tmp_path / "in.mp4", range(frames), size=size, time_base=Fraction(1, 24), audio=[("aac", None)])
    out = tmp_path / "out.mp4"
    assert process(src, "--effect", "none", "-o", out) == 0
    with av.open(str(out)) as c:
        video = c.streams.video[0].codec_context
        assert (video.name, video.pix_fmt, video.width, video.height) == ("h264", "yuv420p", *size)
        assert (video.colorspace, video.color_primaries, video.color_trc) == (tag, tag, tag)
        assert video.color_range == 1   # limited (TV) range, as it is tagged
    order = boxes(out)
    assert "moov" in order and "mdat" in order and order.index("moov") < order.index("mdat"), order   # faststart
    sound_in, sound_out = packets(src)[1], packets(out)[1]
    assert len(sound_out) == len(sound_in) > 0
    assert sound_out == sound_in            # the same bytes, with the same times, in the same order
    assert abs(duration(out) - duration(src)) <= 1 / 24
    assert_same_frames(rgb_frames(out), rgb_frames(src))
    assert leftovers(tmp_path) == []


def saturated(i: int, w: int, h: int) -> np.ndarray:
    """Red, green and blue patches, where BT.601 and BT.709 differ most, and a level that counts."""
    a = np.full((h, w, 3), (i * 9) % 120 + 60, np.uint8)
    a[:, : w // 3] = (220, 30, 30)
    a[:, w // 3: 2 * w // 3] = (30, 200, 40)
    a[: h // 2, 2 * w // 3:] = (30, 40, 220)
    return a


@pytest.mark.parametrize("size, tagged, written", [((96, 64), BT709, SMPTE170M), ((1280, 720), SMPTE170M, BT709)])
def test_colours_are_read_as_tagged_and_written_as_tagged(tmp_path, size, tagged, written):
    """A clip tagged with the other matrix than its size implies is read with its own and written
    with the one its size gets (and tagged so): decoded by their own tags the two agree; decoded
    by the same matrix they would not."""
    src = write_clip(tmp_path / "tagged.mp4", range(4), size=size, tags=tagged, pictures=saturated)
    with av.open(str(src)) as c:
        assert c.streams.video[0].codec_context.colorspace == tagged
    out = tmp_path / "out.mp4"
    assert process(src, "--effect", "none", "-o", out) == 0
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.colorspace == written
    want = rgb_frames(src)
    assert_same_frames(rgb_frames(out), want, tolerance=5)
    wrong = rgb_frames(out, matrix="ITU709" if written == SMPTE170M else "ITU601")
    assert np.mean([np.abs(w - g).mean() for w, g in zip(want, wrong)]) > 6   # the matrices do differ here


# -- several audio streams, none, and a type that cannot hold the codec ------------------------

@pytest.mark.parametrize("second", ["libopus", "flac"])
def test_two_audio_streams_are_copied_with_their_languages(tmp_path, second):
    src = write_clip(tmp_path / "two.mkv", range(24), time_base=Fraction(1, 24),
                     audio=[("aac", "eng"), (second, "fra")])
    codec = {"libopus": "opus", "flac": "flac"}[second]
    assert streams(src) == [("video", "h264", ""), ("audio", "aac", "eng"), ("audio", codec, "fra")]
    out = tmp_path / "out.mkv"
    assert process(src, "--effect", "blur", "-o", out) == 0
    assert streams(out) == [("video", "h264", ""), ("audio", "aac", "eng"), ("audio", codec, "fra")]
    got, want = packets(out), packets(src)
    for index in (1, 2):
        assert len(got[index]) == len(want[index]) > 0
        assert [p[2] for p in got[index]] == [p[2] for p in want[index]]   # the same bytes
        assert [p[0] for p in got[index]] == [p[0] for p in want[index]]   # at the same times
    assert len(got[0]) == 24
    assert abs(duration(out) - duration(src)) <= 1 / 24


def test_a_webm_with_opus_sound_into_webm(tmp_path):
    src = write_clip(tmp_path / "in.webm", range(12), size=(96, 64), time_base=Fraction(1, 24), codec="libvpx-vp9",
                     audio=[("libopus", "eng")])
    out = tmp_path / "out.webm"
    assert process(src, "--effect", "none", "-o", out) == 0
    assert streams(out) == [("video", "vp9", ""), ("audio", "opus", "eng")]
    assert packets(out)[1] == packets(src)[1]


# Matroska and AVI store a PCM stream's channel count only, which the mp4 muxer refuses
# ("unsupported channel layout 2 channels"): the copy is given the layout of that count.
def test_pcm_sound_from_matroska_into_mp4_is_kept(tmp_path):
    src = write_clip(tmp_path / "two.mkv", range(24), time_base=Fraction(1, 24), size=(96, 64),
                     audio=[("aac", "eng"), ("pcm_s16le", "deu")])
    out = tmp_path / "out.mp4"
    assert process(src, "--effect", "none", "-o", out) == 0
    kinds = streams(out)
    assert kinds[:2] == [("video", "h264", "und"), ("audio", "aac", "eng")] and kinds[2][0::2] == ("audio", "deu")
    assert sound(out, 1) == sound(src, 1)   # the AAC as it was
    with av.open(str(out)) as c:
        heard = sum(f.samples for f in c.decode(audio=1)) / 48000
    assert abs(heard - 1.0) < 0.05, heard


def test_sound_stays_in_step_with_a_video_that_starts_late(tmp_path):
    """A video whose first frame comes half a second after its sound starts keeps that gap."""
    src = write_clip(tmp_path / "late.mkv", range(15, 39), size=(96, 64), audio=[("aac", None)])

    def gap(path: Path) -> float:
        first: dict = {}
        with av.open(str(path)) as c:
            for p in c.demux():
                if p.size and p.pts is not None:
                    t = float(p.pts * p.stream.time_base)
                    first[p.stream.type] = min(first.get(p.stream.type, t), t)
        return first["video"] - first["audio"]

    assert gap(src) > 0.5
    out = tmp_path / "out.mp4"
    assert process(src, "--effect", "none", "-o", out) == 0
    assert abs(gap(out) - gap(src)) < 0.002, (gap(out), gap(src))
    assert abs(frame_times(out)[0] - 0.5) < 0.002


def test_no_audio_leaves_only_the_video(tmp_path, caplog):
    src = write_clip(tmp_path / "two.mkv", range(24), time_base=Fraction(1, 24),
                     audio=[("aac", "eng"), ("libopus", "fra")])
    out = tmp_path / "out.mkv"
    with caplog.at_level(logging.WARNING):
        assert process(src, "--effect", "none", "--no-audio", "-o", out) == 0
    assert streams(out) == [("video", "h264", "")]
    assert len(packets(out)[0]) == 24
    assert sum("--no-audio" in r.getMessage() for r in caplog.records) == 2   # each stream left out is said


def test_aac_into_webm_is_reencoded_as_opus(tmp_path, caplog):
    src = write_clip(tmp_path / "in.mp4", range(24), time_base=Fraction(1, 24), audio=[("aac", "eng")])
    out = tmp_path / "out.webm"
    with caplog.at_level(logging.WARNING):
        assert process(src, "--effect", "none", "-o", out) == 0
    assert streams(out) == [("video", "vp9", ""), ("audio", "opus", "eng")]
    told = [r.getMessage() for r in caplog.records if "re-encoded" in r.getMessage()]
    assert len(told) == 1 and "aac" in told[0] and "opus" in told[0], told
    assert abs(duration(out) - duration(src)) <= 1 / 24
    with av.open(str(out)) as c:
        heard = sum(f.samples for f in c.decode(audio=0)) / 48000
    assert abs(heard - 1.0) < 0.05, heard   # a second of sound, as the input has


# -- timing ------------------------------------------------------------------------------------

@pytest.mark.parametrize("rate, frames, suffix", [(0.5, 10, ".mp4"), (300, 300, ".mp4"), (0.5, 10, ".avi")])
def test_very_slow_and_very_fast_frame_rates_keep_their_time(tmp_path, rate, frames, suffix):
    pts, time_base = frames_at(rate, frames)
    src = write_clip(tmp_path / "in.mp4", pts, size=(96, 64), time_base=time_base)
    assert abs(duration(src) - frames / rate) < 1e-3
    out = tmp_path / f"out{suffix}"
    assert process(src, "--effect", "none", "-o", out) == 0
    if suffix == ".avi":   # frames counted at the rate: no empty frames fill a fine time base
        data = sum(len(p[2]) for p in packets(out)[0])
        assert out.stat().st_size < 2 * data + 16384, (out.stat().st_size, data)
    got = frame_times(out)
    assert len(got) == frames
    np.testing.assert_allclose(got, np.arange(frames) / rate, atol=0.5 / rate)
    assert abs(duration(out) - frames / rate) < 0.5 / rate


GAPS = [1, 1, 3, 1, 5] * 4   # ticks of 1/30 s between frames


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_variable_frame_rate_keeps_every_frame_time(tmp_path, suffix):
    pts = [0, *itertools.accumulate(GAPS)]
    src = write_clip(tmp_path / "vfr.mkv", pts, size=(96, 64), time_base=Fraction(1, 30))
    total = (pts[-1] + 1) / 30
    assert abs(duration(src) - total) < 1e-3
    out = tmp_path / f"out{suffix}"
    assert process(src, "--effect", "none", "-o", out) == 0
    got = frame_times(out)
    assert len(got) == len(pts)
    np.testing.assert_allclose(got, np.array(pts) / 30, atol=0.5 / 30)
    assert abs(duration(out) - total) < 0.5 / 30, duration(out)
    assert_same_frames(rgb_frames(out), rgb_frames(src))


def test_an_animated_gif_keeps_each_frame_delay(tmp_path):
    delays = [10 * (k + 1) for k in range(20)]              # centiseconds: 0.1 s to 2 s
    starts = [0, *itertools.accumulate(delays)][:-1]
    gif = tmp_path / "delays.gif"
    out = av.open(str(gif), "w")
    stream = out.add_stream("gif")
    stream.width, stream.height, stream.pix_fmt = 96, 64, "rgb8"
    stream.time_base = stream.codec_context.time_base = Fraction(1, 100)
    lasts = dict(zip(starts, delays))
    for i, start in enumerate(starts):
        frame = av.VideoFrame.from_ndarray(picture(i, 96, 64), format="rgb24").reformat(format="rgb8")
        frame.pts, frame.time_base = start, Fraction(1, 100)
        for packet in stream.encode(frame):
            packet.duration = lasts[packet.pts]
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)
    out.close()
    assert abs(duration(gif) - sum(delays) / 100) < 1e-3
    mp4 = tmp_path / "delays.mp4"
    assert process(gif, "--effect", "none", "-o", mp4) == 0
    got = frame_times(mp4)
    np.testing.assert_allclose(got, np.array(starts) / 100, atol=0.005)
    assert abs(duration(mp4) - sum(delays) / 100) < 0.005, duration(mp4)


# -- rotation ----------------------------------------------------------------------------------

def stripes(i: int, w: int, h: int) -> np.ndarray:
    """Red down the left side, green along the top, a grey that counts, a square in the middle."""
    a = np.full((h, w, 3), 60 + 25 * i, np.uint8)
    a[:, :10] = (230, 20, 20)
    a[:10, :] = (20, 230, 20)
    a[h // 2 - 6:h // 2 + 6, w // 2 - 6:w // 2 + 6] = ((i * 40) % 256, 0, 200)
    return a


ONE = 1 << 16
MATRICES = {   # tkhd matrices (a, b, u, c, d, v, tx, ty, w): x' = a x + c y + tx, y' = b x + d y + ty
    "90-clockwise": (0, ONE, 0, -ONE, 0, 0, 64 * ONE, 0, 1 << 30),      # as phones write a portrait video
    "90-counter-clockwise": (0, -ONE, 0, ONE, 0, 0, 0, 96 * ONE, 1 << 30),
    "180": (-ONE, 0, 0, 0, -ONE, 0, 96 * ONE, 64 * ONE, 1 << 30),
}


def shown(picture: np.ndarray, m: tuple) -> np.ndarray:
    """``picture`` as a player shows it through the tkhd matrix ``m`` (the spec's arithmetic)."""
    h, w = picture.shape[:2]
    a, b, c, d = (v / ONE for v in (m[0], m[1], m[3], m[4]))
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    X, Y = a * xs + c * ys, b * xs + d * ys
    X, Y = (X - X.min()).astype(int), (Y - Y.min()).astype(int)
    out = np.zeros((Y.max() + 1, X.max() + 1, 3), picture.dtype)
    out[Y, X] = picture
    return out


def rotated(path: Path, m: tuple) -> Path:
    """The video track's header matrix of ``path`` set to ``m``, in the file's bytes."""
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd")
    assert at > 0 and data.find(b"tkhd", at + 4) < 0 and data[at + 4] == 0   # one track, a version 0 header
    matrix = at + 4 + 4 + 20 + 8 + 8   # after version/flags, times and ids, reserved, layer/group/volume
    assert struct.unpack(">9i", data[matrix:matrix + 36]) == (ONE, 0, 0, 0, ONE, 0, 0, 0, 1 << 30)
    data[matrix:matrix + 36] = struct.pack(">9i", *m)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("turn", list(MATRICES))
def test_a_rotated_video_comes_out_upright(tmp_path, turn):
    m = MATRICES[turn]
    src = rotated(write_clip(tmp_path / "phone.mp4", range(6), size=(96, 64), pictures=stripes), m)
    out = tmp_path / "upright.mp4"
    assert process(src, "--effect", "none", "-o", out) == 0
    got = rgb_frames(out)
    want = [shown(stripes(i, 96, 64), m).astype(np.int16) for i in range(6)]
    assert got[0].shape == want[0].shape == ((64, 96, 3) if turn == "180" else (96, 64, 3))
    assert_same_frames(got, want, tolerance=10)
    with av.open(str(out)) as c:   # turned once: the output carries no rotation of its own
        f = next(c.decode(video=0))
        assert getattr(f, "rotation", 0) == 0


# -- transparency ------------------------------------------------------------------------------

@pytest.fixture
def portrait_clip(tmp_path, astronaut_rgb) -> Path:
    """Four frames of the astronaut at 192x192, for the model to find her."""
    small = cv2.resize(astronaut_rgb, (192, 192), interpolation=cv2.INTER_AREA)
    return write_clip(tmp_path / "portrait.mp4", range(4), size=(192, 192), pictures=lambda i, w, h: small)


def scaled(regions: dict, k: float) -> dict:
    return {name: tuple(slice(int(s.start * k), int(s.stop * k)) for s in rs) for name, rs in regions.items()}


def assert_person_alpha(alpha: np.ndarray, regions: dict) -> None:
    assert alpha[regions["face"]].mean() > 200 and alpha[regions["suit"]].mean() > 200
    assert alpha[regions["background"]].mean() < 30 and alpha[regions["flag"]].mean() < 30


def test_cutout_into_webm_is_vp9_with_alpha(tmp_path, portrait_clip, astronaut_rgb, regions):
    out = tmp_path / "cut.webm"
    assert process(portrait_clip, "--effect", "cutout", "-o", out) == 0
    with av.open(str(out)) as c:
        video = c.streams.video[0]
        assert video.codec_context.name == "vp9"
        decoder = av.CodecContext.create("libvpx-vp9", "r")   # FFmpeg's own vp9 decoder drops the alpha
        frames = [f for p in c.demux(video) for f in decoder.decode(p)]
    assert len(frames) == 4 and all(f.format.name == "yuva420p" for f in frames)
    rgba = frames[-1].to_ndarray(format="rgba")
    where = scaled(regions, 192 / 512)
    assert_person_alpha(rgba[..., 3], where)
    small = cv2.resize(astronaut_rgb, (192, 192), interpolation=cv2.INTER_AREA).astype(int)
    assert np.abs(rgba[where["face"]][..., :3].astype(int) - small[where["face"]]).mean() < 12   # her own colours


def test_cutout_into_mov_is_prores_4444_with_alpha(tmp_path, portrait_clip, regions):
    out = tmp_path / "cut.mov"
    assert process(portrait_clip, "--effect", "cutout", "-o", out) == 0
    with av.open(str(out)) as c:
        video = c.streams.video[0]
        assert video.codec_context.name == "prores"
        frames = list(c.decode(video))
    assert len(frames) == 4
    assert frames[-1].format.name.startswith("yuva444p"), frames[-1].format.name
    assert_person_alpha(frames[-1].to_ndarray(format="rgba")[..., 3], scaled(regions, 192 / 512))


def test_cutout_into_mp4_is_refused_before_anything_is_written(tmp_path, portrait_clip):
    out = tmp_path / "cut.mp4"
    done = vcam("process", portrait_clip, "--effect", "cutout", *FAST, "-o", out, cwd=tmp_path)
    assert done.returncode == 2
    lines = said(done.stderr)
    assert len(lines) == 1 and ".webm" in lines[0] and ".mov" in lines[0], lines
    assert not out.exists() and leftovers(tmp_path) == []


# -- --codec and --crf -------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_hevc(tmp_path, suffix):
    src = write_clip(tmp_path / "in.mp4", range(12), size=(96, 64))
    out = tmp_path / f"out{suffix}"
    assert process(src, "--effect", "none", "--codec", "hevc", "-o", out) == 0
    with av.open(str(out)) as c:
        ctx = c.streams.video[0].codec_context
        assert ctx.name == "hevc"
        if suffix == ".mp4":
            assert ctx.codec_tag == "hvc1"   # what Apple's players need
    assert_same_frames(rgb_frames(out), rgb_frames(src), tolerance=10)


def test_a_codec_the_type_cannot_hold_is_refused_before_anything_is_written(tmp_path):
    src = write_clip(tmp_path / "in.mp4", range(6), size=(96, 64))
    out = tmp_path / "out.mp4"
    for args in (("process", src, "--effect", "none", "--codec", "prores", *FAST, "-o", out),
                 ("run", "--source", "demo", "--width", "320", "--height", "240", "--effect", "none", *FAST,
                  "--codec", "prores", "--output", out, "--frames", "3")):
        done = vcam(*args, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        lines = said(done.stderr)
        assert len(lines) == 1 and "prores" in lines[0] and ".mp4" in lines[0], lines
        assert not out.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("args, words", [(("--crf", "99"), "crf is 99, expected 0 to 63"),
                                         (("--codec", "prores", "--crf", "20"), "--crf does not apply to prores"),
                                         (("--crf", "60"), "--crf 60 is out of range for h264")])
def test_a_crf_out_of_range_or_for_prores_is_refused(tmp_path, capsys, args, words):
    src = write_clip(tmp_path / "in.mp4", range(6), size=(96, 64))
    out = tmp_path / "out.mov"
    capsys.readouterr()
    assert process(src, "--effect", "none", *args, "-o", out) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("vcam: error:") == 1, err
    assert not out.exists() and leftovers(tmp_path) == []


def noisy(i: int, w: int, h: int) -> np.ndarray:
    return np.random.default_rng(i).integers(0, 256, (h, w, 3), np.uint8)


def test_a_lower_crf_gives_a_larger_file(tmp_path):
    src = write_clip(tmp_path / "in.mp4", range(12), size=(96, 64), pictures=noisy)
    sizes = {}
    for crf in ("12", "36"):
        out = tmp_path / f"crf{crf}.mp4"
        assert process(src, "--effect", "none", "--crf", crf, "-o", out) == 0
        assert len(packets(out)[0]) == 12
        sizes[crf] = out.stat().st_size
    assert sizes["12"] > 1.5 * sizes["36"], sizes


# -- a recording -------------------------------------------------------------------------------

def test_a_recording_is_timed_by_the_capture_clock(tmp_path):
    out = tmp_path / "rec.mp4"
    done = vcam("run", "--source", "demo", "--width", "320", "--height", "240", "--effect", "none", *FAST,
                "--output", out, "--frames", "30", "--fps", "30", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with av.open(str(out)) as c:
        video = c.streams.video[0]
        assert video.codec_context.name == "h264"
        pts = [f.pts for f in c.decode(video)]
        time_base = video.time_base
    assert len(pts) == 30
    assert all(b > a for a, b in zip(pts, pts[1:])), pts          # strictly increasing, as shown
    steps = np.diff(pts)
    assert len(set(steps.tolist())) > 1, steps                    # the clock's times, not a frame counter's
    assert 0.5 < duration(out) < 3.0, duration(out)
    assert 0.4 < float((pts[-1] - pts[0]) * time_base) < 3.0


# -- damaged inputs, an input as the output, a full disk ---------------------------------------

def test_a_cut_video_is_refused_as_damaged_unless_allowed(tmp_path, caplog):
    whole = write_clip(tmp_path / "whole.mp4", range(60), size=(160, 120), pictures=noisy,
                       audio=[("aac", None)], options={"movflags": "+faststart"})
    assert boxes(whole).index("moov") < boxes(whole).index("mdat")   # the index survives the cut
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 6 // 10])
    out = tmp_path / "out.mp4"
    with caplog.at_level(logging.WARNING):
        assert process(cut, "--effect", "none", "-o", out) == 2
    err = " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    caplog.clear()
    m = re.search(r"read (\d+) of 60 frames: the file is damaged or incomplete", err)
    assert m and 0 < int(m.group(1)) < 60 and "--allow-short" in err, err
    assert not out.exists() and leftovers(tmp_path) == []
    with caplog.at_level(logging.WARNING):
        assert process(cut, "--effect", "none", "--allow-short", "-o", out) == 0
    assert any(f"read {m.group(1)} of 60 frames" in r.getMessage() for r in caplog.records)
    got = packets(out)
    assert len(got[0]) == int(m.group(1))
    sound = packets(whole)[1]
    assert 0 < len(got[1]) < len(sound)
    assert got[1][:-1] == sound[:len(got[1]) - 1]    # the sound up to the cut, as it was
    last, whole_last = got[1][-1], sound[len(got[1]) - 1]
    assert last[:2] == whole_last[:2] and whole_last[2].startswith(last[2])   # the last one maybe cut short


def test_an_input_named_as_the_output_is_refused(tmp_path):
    src = write_clip(tmp_path / "in.mp4", range(6), size=(96, 64), audio=[("aac", None)])
    before = src.read_bytes()
    for target in (src, tmp_path / "." / "in.mp4"):
        done = vcam("process", src, "--effect", "none", *FAST, "-o", target, cwd=tmp_path)
        assert done.returncode == 2 and "input" in said(done.stderr)[0], done.stderr
        assert src.read_bytes() == before
    assert leftovers(tmp_path) == []


@pytest.fixture
def small_disk(tmp_path):
    with helpers.small_disk(tmp_path, "200k") as disk:
        yield disk


@pytest.mark.parametrize("leave", [8 << 10, 40 << 10])
def test_a_full_disk_leaves_no_partial_file_and_the_earlier_output_untouched(tmp_path, small_disk, leave):
    earlier = small_disk / "out.mp4"
    assert process(write_clip(tmp_path / "small.mp4", range(6), size=(96, 64)), "--effect", "none", "-o", earlier) == 0
    before = earlier.read_bytes()
    src = write_clip(tmp_path / "big.mp4", range(24), size=(160, 120), pictures=noisy, audio=[("aac", None)])
    helpers.fill(small_disk, leave)
    done = vcam("process", src, "--effect", "none", *FAST, "-o", earlier, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = said(done.stderr)
    assert len(lines) == 1 and "the disk is full" in lines[0] and "nothing was replaced" in lines[0], lines
    assert earlier.read_bytes() == before
    assert leftovers(small_disk) == [] and sorted(p.name for p in small_disk.iterdir()) == ["filler", "out.mp4"]


def test_the_codec_names_settings_take_are_the_writer_table():
    from vcam import config
    from vcam.fileio import video_writer

    assert set(config.VIDEO_CODECS) == set(video_writer.CODECS)
    assert set(video_writer.DEFAULT_CODEC.values()) | set(video_writer.ALPHA_CODEC.values()) <= set(video_writer.CODECS)


@pytest.mark.skipif(not hasattr(av.container.OutputContainer, "add_mux_stream"),
                    reason="making a subtitle stream needs PyAV 16's add_mux_stream")
def test_subtitles_are_copied_where_the_type_holds_them_and_said_where_not(tmp_path, caplog):
    src = tmp_path / "sub.mkv"
    out = av.open(str(src), "w")
    video = out.add_stream("libx264", rate=10)
    video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
    text = out.add_mux_stream("subrip")
    text.time_base = Fraction(1, 1000)
    for i in range(20):
        frame = av.VideoFrame.from_ndarray(picture(i, 64, 48), format="rgb24")
        frame.pts = i
        for p in video.encode(frame):
            out.mux(p)
        if i % 5 == 0:
            line = av.Packet(f"line {i}".encode())
            line.stream, line.pts, line.dts, line.duration, line.time_base = text, i * 100, i * 100, 400, text.time_base
            out.mux(line)
    for p in video.encode():
        out.mux(p)
    out.close()
    lines = [(p[0], p[2]) for p in packets(src)[1]]
    assert [b for _, b in lines] == [b"line 0", b"line 5", b"line 10", b"line 15"]
    assert process(src, "--effect", "none", "-o", tmp_path / "out.mkv") == 0
    assert [(p[0], p[2]) for p in packets(tmp_path / "out.mkv")[1]] == lines
    with caplog.at_level("WARNING"):
        assert process(src, "--effect", "none", "-o", tmp_path / "out.mp4") == 0
    assert [kind for kind, _, _ in streams(tmp_path / "out.mp4")] == ["video"]
    assert "left out stream 1 (subtitle" in caplog.text and "a .mp4 file cannot hold it" in caplog.text
