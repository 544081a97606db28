"""Frame sources (demo, picture, video file, camera errors) and the newest-frame-wins capture thread."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from vcam.config import CaptureSettings
from vcam.errors import VcamError
from vcam.live.capture import Capture
from vcam.live.sources import DemoSource, ImageSource, PreloadedSource, VideoSource, open_source

W, H = 48, 32


def write_png(path: Path, rgb: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def level(i: int) -> int:
    return 15 + 20 * i


def write_counting_video(path: Path, frames: int, size=(W, H), fps: float = 25.0) -> Path:
    """Frame ``i`` is flat grey at ``level(i)``, so the order of frames can be read back."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), level(i), np.uint8))
    writer.release()
    return path


def index_of(img: np.ndarray) -> int:
    """Which frame of a counting video ``img`` is (its grey level, with a codec's tolerance)."""
    i = int(round((img.astype(np.float64).mean() - 15) / 20))
    assert abs(img.mean() - level(i)) < 6, f"mean {img.mean():.1f} is no frame's level"
    return i


def asymmetric_picture(h: int = H, w: int = W) -> np.ndarray:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    img[:, : w // 4] = (255, 0, 0)      # a red band on the left
    return img


# --- DemoSource ----------------------------------------------------------------------------------

def test_demo_source_gives_frames_of_the_asked_size_that_move():
    w, h = 640, 360                               # big enough for the sway to move a pixel a frame
    src = DemoSource(w, h, 30.0, live=False)
    assert src.size == (w, h) and not src.live
    out = np.zeros((h, w, 3), np.uint8)
    frames = []
    for _ in range(16):
        src.wait()                                # unpaced: returns at once
        assert src.read(out)
        frames.append(out.copy())
    src.close()
    assert frames[0].std() > 10                   # a picture, not a flat fill
    diffs = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(frames, frames[1:])]
    assert all(d > 0 for d in diffs)              # every frame differs from the one before
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 1


@pytest.mark.parametrize("size", [(64, 36), (36, 64), (17, 16)])
def test_demo_source_any_aspect(size):
    src = DemoSource(*size, live=False)
    out = np.zeros((size[1], size[0], 3), np.uint8)
    assert src.read(out)
    assert out.std() > 5


# --- pacing --------------------------------------------------------------------------------------

PACE_FPS = 50.0


def _paced_sources(tmp_path: Path):
    picture = write_png(tmp_path / "p.png", asymmetric_picture())
    video = write_counting_video(tmp_path / "v.mp4", 12, fps=PACE_FPS)
    yield DemoSource(W, H, PACE_FPS, live=True)
    yield ImageSource(picture, fps=PACE_FPS, live=True)
    yield VideoSource(video, live=True)
    yield PreloadedSource(DemoSource(W, H, PACE_FPS, live=False), (W, H), 3, live=True)


def test_a_live_file_picture_or_demo_source_comes_at_its_rate_and_an_unpaced_one_at_once(tmp_path):
    """A source that is not a camera is paced at its rate when live (as a camera paces itself),
    or the capture thread spins a core reading frames that are then dropped; unpaced (files
    processed, the benchmark's throughput phase) it does not wait. Pacing, not speed: the
    lower bound is what the clock must wait, whatever the machine."""
    frames = 11
    out = np.zeros((H, W, 3), np.uint8)
    for src in _paced_sources(tmp_path):
        t0 = time.perf_counter()
        for _ in range(frames):
            src.wait()
            assert src.read(out)
        took = time.perf_counter() - t0
        assert took >= (frames - 1) / src.fps * 0.95, f"{src.name}: {frames} frames in {took:.3f} s"
        src.close()
    # unpaced: no wait at all (11 frames of a 1 fps clock would take 10 s)
    src = DemoSource(W, H, 1.0, live=False)
    t0 = time.perf_counter()
    for _ in range(frames):
        src.wait()
    assert time.perf_counter() - t0 < 5.0, "an unpaced source waited for its 1 fps clock"


def test_the_capture_thread_reads_a_live_demo_at_its_rate_not_as_fast_as_it_can():
    """Through the real capture thread: over 0.5 s a 20 fps demo gives about 10 frames, not
    hundreds (the bound is generous above, as a busy machine can only read fewer)."""
    cap = Capture(DemoSource(W, H, 20.0, live=True)).start()
    try:
        time.sleep(0.5)
        read = cap.frames
    finally:
        cap.stop()
    assert 1 <= read <= 14, f"{read} frames read in 0.5 s from a 20 fps source"


# --- ImageSource ---------------------------------------------------------------------------------

def test_image_source_repeats_the_picture(tmp_path):
    img = asymmetric_picture()
    src = ImageSource(write_png(tmp_path / "still.png", img), fps=30.0)
    assert src.size == (W, H)
    out = np.zeros((H, W, 3), np.uint8)
    for _ in range(3):
        assert src.read(out)
        np.testing.assert_array_equal(out, img)
    src.close()


def test_image_source_of_a_corrupt_file_raises(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(VcamError, match="cannot be read as a picture"):
        ImageSource(path)


# --- VideoSource ---------------------------------------------------------------------------------

def test_video_source_not_live_gives_every_frame_once_in_order(tmp_path):
    n = 9
    src = VideoSource(write_counting_video(tmp_path / "count.mp4", n), live=False)
    assert src.size == (W, H) and not src.live
    assert src.fps == pytest.approx(25.0)
    out = np.zeros((H, W, 3), np.uint8)
    seen = []
    while src.read(out):
        seen.append(index_of(out))
        assert len(seen) <= n, "more frames than the file holds"
    assert seen == list(range(n))
    assert not src.read(out)                     # stays finished
    src.close()


def test_video_source_live_loops(tmp_path):
    n = 4
    src = VideoSource(write_counting_video(tmp_path / "loop.mp4", n), live=True)
    out = np.zeros((H, W, 3), np.uint8)
    seen = []
    for _ in range(2 * n + 2):
        assert src.read(out)                      # (no wait(): pacing is not under test)
        seen.append(index_of(out))
    src.close()
    assert seen == [i % n for i in range(2 * n + 2)]


def test_video_source_live_loops_a_one_frame_video(tmp_path):
    src = VideoSource(write_counting_video(tmp_path / "one.mp4", 1), live=True)
    out = np.zeros((H, W, 3), np.uint8)
    try:
        for _ in range(3):
            assert src.read(out)
            assert index_of(out) == 0
    finally:
        src.close()


def test_video_source_reads_colour_as_rgb(tmp_path):
    path = tmp_path / "red.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (W, H))
    for _ in range(2):
        writer.write(np.full((H, W, 3), (0, 0, 230), np.uint8))    # BGR red
    writer.release()
    src = VideoSource(path, live=False)
    out = np.zeros((H, W, 3), np.uint8)
    assert src.read(out)
    r, g, b = out.reshape(-1, 3).mean(axis=0)
    assert r > 200 and g < 30 and b < 30
    src.close()


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 50])
def test_video_source_of_a_bad_file_raises(tmp_path, content):
    path = tmp_path / "clip.mp4"
    path.write_bytes(content)
    with pytest.raises(VcamError) as info:
        VideoSource(path, live=False)
    assert "clip.mp4" in str(info.value)


# --- open_source ---------------------------------------------------------------------------------

def test_open_source_demo(tmp_path):
    src = open_source(CaptureSettings(source="demo", width=W, height=H), live=False)
    assert isinstance(src, DemoSource) and src.size == (W, H)


def test_open_source_picture_and_video(tmp_path):
    png = write_png(tmp_path / "p.png", asymmetric_picture())
    src = open_source(CaptureSettings(source=str(png)))
    assert isinstance(src, ImageSource) and src.size == (W, H)
    mp4 = write_counting_video(tmp_path / "v.mp4", 3)
    src = open_source(CaptureSettings(source=str(mp4)), live=False)
    assert isinstance(src, VideoSource) and not src.live
    src.close()
    src = open_source(CaptureSettings(source=f"  {mp4}  "), live=True)   # stray spaces
    assert isinstance(src, VideoSource) and src.live
    src.close()


def test_open_source_missing_path():
    with pytest.raises(VcamError, match="neither a camera nor an existing file"):
        open_source(CaptureSettings(source="/no/such/dir/clip.mp4"))


def test_open_source_text_file_is_not_a_video(tmp_path):
    path = tmp_path / "readme.txt"
    path.write_text("hello\n")
    with pytest.raises(VcamError, match="is not a video file FFmpeg can read"):
        open_source(CaptureSettings(source=str(path)))


def test_open_source_folder(tmp_path):
    with pytest.raises(VcamError, match="not a file"):
        open_source(CaptureSettings(source=str(tmp_path)))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="device paths are Linux's")
def test_open_source_device_that_is_not_a_camera():
    with pytest.raises(VcamError, match="cannot open camera /dev/null"):
        open_source(CaptureSettings(source="/dev/null"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="device paths are Linux's")
def test_open_source_auto_without_a_camera_falls_back_to_the_demo():
    if any(Path("/dev").glob("video*")):
        pytest.skip("this machine has a camera device")
    src = open_source(CaptureSettings(source="auto", width=W, height=H), live=False)
    assert isinstance(src, DemoSource) and src.size == (W, H)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="device paths are Linux's")
@pytest.mark.parametrize("spec", ["57", "/dev/video57"])
def test_open_source_missing_camera(spec):
    if Path("/dev/video57").exists():
        pytest.skip("this machine has a /dev/video57")
    with pytest.raises(VcamError, match="no camera at /dev/video57") as info:
        open_source(CaptureSettings(source=spec))
    assert "demo" in info.value.fix


# --- Capture thread ------------------------------------------------------------------------------

def wait_until(condition, timeout: float = 10.0) -> bool:
    """Poll ``condition`` (a test helper only: the code under test never polls)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def test_capture_delivers_newest_frames_in_order_and_stops_twice():
    cap = Capture(DemoSource(W, H, 30.0, live=False)).start()
    try:
        seqs = []
        for _ in range(5):
            frame = cap.get(timeout=5)
            assert frame is not None
            assert frame.image.shape == (H, W, 3) and frame.image.dtype == np.uint8
            assert frame.image.std() > 5
            assert "capture" in frame.times
            seqs.append(frame.seq)
            frame.release()
        assert all(b > a for a, b in zip(seqs, seqs[1:]))
        assert cap.pool.grown == 0                 # three buffers were enough
        assert cap.frames >= seqs[-1]
    finally:
        cap.stop()
        cap.stop()
    assert cap.finished.is_set()
    assert cap.get(timeout=0.01) is None
    assert cap.error is None


def test_capture_drops_old_frames_when_the_reader_is_slow():
    cap = Capture(DemoSource(W, H, 240.0)).start()    # live, and fast
    try:
        first = cap.get(timeout=5)
        first_seq = first.seq                     # read before release: the pool reuses the object
        first.release()
        # let the capture thread produce several frames while nobody reads
        assert wait_until(lambda: cap.frames >= first_seq + 10)
        newest = cap.get(timeout=5)
        assert newest.seq >= first_seq + 10       # the newest, not the next in a queue
        assert cap.mailbox.dropped > 0            # older frames were dropped
        newest.release()
        assert cap.pool.grown == 0
    finally:
        cap.stop()


def test_capture_of_a_source_that_is_not_live_loses_no_frame():
    """Files processed as fast as possible: the capture waits for the reader, nothing dropped."""
    cap = Capture(DemoSource(W, H, 30.0, live=False)).start()
    try:
        seqs = []
        for _ in range(8):
            frame = cap.get(timeout=5)
            seqs.append(frame.seq)
            frame.release()
            time.sleep(0.02)                      # a slow reader
        assert seqs == list(range(1, 9))
        assert cap.mailbox.dropped == 0
    finally:
        cap.stop()


def test_capture_scales_a_source_of_another_size(tmp_path):
    big = np.zeros((2 * H, 2 * W, 3), np.uint8)
    big[:, : W // 2] = (250, 10, 10)              # left quarter red
    src = ImageSource(write_png(tmp_path / "big.png", big))
    cap = Capture(src, (W, H)).start()
    try:
        frame = cap.get(timeout=5)
        assert frame.image.shape == (H, W, 3)
        assert np.all(frame.image[:, : W // 4 - 1] == (250, 10, 10))
        assert np.all(frame.image[:, W // 4 + 1:] == 0)
        frame.release()
    finally:
        cap.stop()


@pytest.mark.parametrize("scaled", [False, True])
def test_capture_mirror_flips_left_to_right(tmp_path, scaled):
    img = asymmetric_picture(2 * H if scaled else H, 2 * W if scaled else W)
    src = ImageSource(write_png(tmp_path / "p.png", img))
    expected = cv2.resize(img, (W, H), interpolation=cv2.INTER_AREA) if scaled else img
    cap = Capture(src, (W, H), mirror=True).start()
    try:
        frame = cap.get(timeout=5)
        np.testing.assert_array_equal(frame.image, expected[:, ::-1])
        frame.release()
        cap.mirror = False                        # switched while running
        for _ in range(50):
            frame = cap.get(timeout=5)
            unflipped = np.array_equal(frame.image, expected)
            frame.release()
            if unflipped:
                break
        assert unflipped
    finally:
        cap.stop()


def test_capture_of_a_finished_file_ends_without_error(tmp_path):
    src = VideoSource(write_counting_video(tmp_path / "short.mp4", 3), live=False)
    cap = Capture(src).start()
    seqs = []
    while (frame := cap.get(timeout=10)) is not None:   # None once the file has ended
        seqs.append(frame.seq)
        frame.release()
    assert cap.finished.wait(timeout=10)
    assert cap.error is None                      # a file that ends is not a failure
    assert seqs == [1, 2, 3]                      # every frame, none dropped
    cap.stop()


def test_capture_switch_to_another_source(tmp_path):
    first = ImageSource(write_png(tmp_path / "a.png", np.full((H, W, 3), 40, np.uint8)))
    second = ImageSource(write_png(tmp_path / "b.png", np.full((H, W, 3), 200, np.uint8)))
    cap = Capture(first).start()
    try:
        frame = cap.get(timeout=5)
        assert np.all(frame.image == 40)
        generation = frame.generation
        frame.release()
        cap.switch(second)
        assert cap.source is second
        for _ in range(100):
            frame = cap.get(timeout=5)
            done = bool(np.all(frame.image == 200))
            if done:
                assert frame.generation == generation + 1   # temporal state must reset
            frame.release()
            if done:
                break
        assert done
    finally:
        cap.stop()
