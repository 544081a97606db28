"""The depth network (TCMonoDepth's small net, bundled) and the portrait blur by depth: the
network's order on a scene whose depth is known (a floor in perspective), on NASA's astronaut
and on real clips (``../shared/eval``, skipped without it); the blur growing with the distance in
depth from the person; the room's depth made off the frame's path, live; the outline's estimate
kept where the network cannot be used; ``vcam process --effect depth``. Real ONNX Runtime runs."""
from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from vcam.cli import main
from vcam.config import EffectSettings, Settings
from vcam.effects.composite import Compositor
from vcam.effects.depth import DEPTH_SIZE, DepthNet, RoomDepth, model_path, nearness
from vcam.effects.portrait import Portrait
from vcam.engine import Engine

EVAL = Path(__file__).parents[2] / "shared" / "eval" / "clips"
W, H = 640, 360
HORIZON = 120
BANDS = [(310, 360), (250, 310), (200, 250), (160, 200), (130, 160)]   # floor rows, nearest first
CHECKSUM = "902b886beaebd3f68deb40bab2fd636a0c112c1ef1cbdd15fa26e5c55b389b4d"


def floor() -> np.ndarray:
    """A checkerboard floor in perspective up to a horizon, under a pale wall: the nearer a row,
    the lower it is in the picture (the one cue every depth network learns)."""
    tex = (((np.mgrid[0:800, 0:800] // 16).sum(0) % 2) * 150 + 50).astype(np.uint8)
    tex = np.dstack([tex, (tex * 0.9).astype(np.uint8), (tex * 0.8).astype(np.uint8)])
    src = np.float32([[0, 0], [800, 0], [800, 800], [0, 800]])
    dst = np.float32([[W * 0.42, HORIZON], [W * 0.58, HORIZON], [W * 1.6, H], [-W * 0.6, H]])
    frame = np.full((H, W, 3), (170, 190, 215), np.uint8)
    cv2.warpPerspective(tex, cv2.getPerspectiveTransform(src, dst), (W, H), dst=frame, borderMode=cv2.BORDER_TRANSPARENT)
    return frame


def near_of(rgb: np.ndarray) -> np.ndarray:
    """The network's nearness (0 far to 1 near) of ``rgb``, at the network's size."""
    small = cv2.resize(rgb, DEPTH_SIZE, interpolation=cv2.INTER_AREA)
    return nearness(DepthNet()(small), np.empty(small.shape[:2], np.float32))


def test_the_bundled_network_is_the_one_checked():
    assert hashlib.sha256(model_path().read_bytes()).hexdigest() == CHECKSUM
    assert (model_path().parent / "LICENSE-tcmonodepth.txt").read_text().count("MIT License") == 1


def test_a_floor_in_perspective_is_nearer_row_by_row():
    near = near_of(floor())
    f = DEPTH_SIZE[1] / H
    rows = [float(near[int(r * f), 100:220].mean()) for r in range(140, 360, 20)]
    assert all(a < b for a, b in zip(rows, rows[1:])), rows
    assert rows[-1] - rows[0] > 0.3


def test_the_astronaut_is_nearer_than_the_wall_and_the_flag(astronaut_rgb, regions):
    near = cv2.resize(near_of(astronaut_rgb), (512, 512), interpolation=cv2.INTER_LINEAR)
    person = min(float(np.median(near[regions[k]])) for k in ("face", "suit"))
    room = max(float(np.median(near[regions[k]])) for k in ("background", "flag"))
    assert person > room + 0.3, (person, room)


@pytest.mark.skipif(not EVAL.is_dir(), reason="needs ../shared/eval (the real clips)")
@pytest.mark.parametrize("clip", ["room-woman-short-hair", "talking-head-kitchen", "outdoor-man-palms"])
def test_on_real_clips_the_person_is_nearer_than_the_room_behind(clip):
    cap = cv2.VideoCapture(str(EVAL / f"{clip}.mp4"))
    for _ in range(10):
        ok, bgr = cap.read()
    cap.release()
    assert ok
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    engine = Engine(Settings(effect=EffectSettings("matte")))
    alpha = engine.process(rgb, np.empty_like(rgb), {}, photo=True).copy()
    engine.close()
    near = cv2.resize(near_of(rgb), (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    person, room = float(np.median(near[alpha > 200])), float(np.median(near[alpha < 20]))
    assert person > room + 0.25, (person, room)


def portrait(frame, alpha, **options) -> tuple[np.ndarray, Compositor]:
    comp = Compositor(EffectSettings("portrait", blur=20.0, **options), (W, H))
    out = np.empty_like(frame)
    comp.apply(frame, alpha, out)
    return out, comp


def detail(out: np.ndarray, rows: tuple[int, int]) -> float:
    return float(out[rows[0]:rows[1], 400:620, 1].astype(np.float32).std())


def near_floor_person() -> tuple[np.ndarray, np.ndarray]:
    """The floor, with the person standing on its nearest rows (the matte says so; the picture
    under it is the floor itself, so the network's depth of the person is the near floor's)."""
    alpha = np.zeros((H, W), np.uint8)
    alpha[300:, 260:380] = 255
    return floor(), alpha


def test_the_blur_grows_with_the_distance_in_depth_from_the_person():
    frame, alpha = near_floor_person()
    out, comp = portrait(frame, alpha)
    stage = comp.portrait
    assert stage.room_depth.ready and stage.room_depth.problem is None
    far = stage.depth_far()    # how much of the full blur each place gets (0 to 1)
    f = far.shape[0] / H
    level = [float(far[int((a + b) / 2 * f), int(400 * f):int(620 * f)].mean()) for a, b in BANDS]
    assert all(a < b for a, b in zip(level, level[1:])), level     # farther up the floor: more blur
    assert level[0] < 0.3 and level[-1] > 0.9, level
    comp.close()
    plain = Compositor(EffectSettings("blur", blur=20.0), (W, H))
    blurred = np.empty_like(frame)
    plain.apply(frame, alpha, blurred)
    plain.close()
    assert detail(out, BANDS[0]) > 1.3 * detail(blurred, BANDS[0])   # at the person's depth: sharper
    assert detail(out, BANDS[-1]) == pytest.approx(detail(blurred, BANDS[-1]), rel=0.1)   # far: the full blur
    np.testing.assert_array_equal(out[alpha == 255], frame[alpha == 255])


def test_a_steeper_falloff_blurs_more_at_every_depth():
    frame, alpha = near_floor_person()
    levels = []
    for falloff in (0.0, 0.5, 1.0):
        _, comp = portrait(frame, alpha, focus_falloff=falloff)
        levels.append(comp.portrait.depth_far().copy())
        comp.close()
    middle = (slice(int(0.5 * levels[0].shape[0]), None), slice(int(0.45 * levels[0].shape[1]), None))
    assert levels[0][middle].mean() < levels[1][middle].mean() < levels[2][middle].mean()


def test_without_the_network_the_outline_estimate_is_used_and_said_once(tmp_path, caplog):
    frame, alpha = near_floor_person()
    outline = np.empty_like(frame)
    Portrait((W, H), 20.0)(frame, alpha, outline)
    broken = tmp_path / "depth.onnx"
    broken.write_bytes(model_path().read_bytes()[:5000])   # a cut file
    for model in (tmp_path / "missing.onnx", broken):
        caplog.clear()
        stage = Portrait((W, H), 20.0, depth=RoomDepth(live=False, model=model))
        out = np.empty_like(frame)
        with caplog.at_level(logging.WARNING, logger="vcam.effects.depth"):
            for _ in range(3):
                stage(frame, alpha, out)
        said = [r for r in caplog.records if "depth network" in r.getMessage()]
        assert len(said) == 1, [r.getMessage() for r in caplog.records]
        assert "outline" in said[0].getMessage()
        assert stage.room_depth.problem is not None and not stage.room_depth.ready
        np.testing.assert_array_equal(out, outline)


def test_live_the_depth_is_made_off_the_frames_path_at_a_low_rate(tmp_path):
    frame, alpha = near_floor_person()
    stage = Portrait((W, H), 20.0, depth=RoomDepth(live=True))
    out = np.empty_like(frame)
    outline = Portrait((W, H), 20.0)
    expected = np.empty_like(frame)
    outline(frame, alpha, expected)
    stage(frame, alpha, out)   # the first frame posts the room and does not wait: the outline's estimate
    room = stage.room_depth
    assert not room.ready and stage.depth_far() is None
    np.testing.assert_array_equal(out, expected)
    deadline = time.monotonic() + 30
    while not room.ready and time.monotonic() < deadline:
        stage(frame, alpha, out)
        time.sleep(0.01)
    assert room.ready and room.runs == 1 and room.person
    for _ in range(20):        # the same room, within the rate: no new run
        stage(frame, alpha, out)
    assert room.runs == 1
    other = np.ascontiguousarray(frame[::-1])     # the room changed (another camera): a new map soon after
    deadline = time.monotonic() + 30
    while room.runs < 2 and time.monotonic() < deadline:
        stage(other, alpha, out)
        time.sleep(0.02)
    assert room.runs == 2
    stage.reset()                                   # a new source: the outline's estimate until its map
    assert not room.ready
    stage.close()
    stage.close()


def test_the_depth_is_kept_when_only_the_falloff_changes():
    frame, alpha = near_floor_person()
    first = Compositor(EffectSettings("portrait", blur=20.0), (W, H), live=True)
    out = np.empty_like(frame)
    first.apply(frame, alpha, out)
    room = first.portrait.room_depth
    second = Compositor(EffectSettings("portrait", blur=30.0, focus_falloff=0.9), (W, H), live=True)
    second.take_over(first)
    first.close()
    assert second.portrait.room_depth is room and first.portrait.room_depth is None
    second.close()


def test_process_effect_depth_writes_grey_near_white(tmp_path, astronaut_png, regions):
    out = tmp_path / "depth.png"
    assert main(["process", str(astronaut_png), "--effect", "depth", "-o", str(out)]) == 0
    grey = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert grey.dtype == np.uint8 and grey.shape == (512, 512)     # one channel, the picture's size
    assert grey.min() == 0 and grey.max() == 255
    assert np.median(grey[regions["face"]]) > np.median(grey[regions["background"]]) + 80


def test_process_effect_depth_of_a_video_is_a_grey_video(tmp_path):
    frame = floor()
    src = tmp_path / "floor.mp4"
    writer = cv2.VideoWriter(str(src), cv2.VideoWriter_fourcc(*"mp4v"), 10, (W, H))
    for i in range(6):
        writer.write(cv2.cvtColor(np.roll(frame, 4 * i, axis=1), cv2.COLOR_RGB2BGR))
    writer.release()
    out = tmp_path / "depth.mp4"
    assert main(["process", str(src), "--effect", "depth", "-o", str(out)]) == 0
    cap = cv2.VideoCapture(str(out))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(bgr)
    assert len(frames) == 6
    last = frames[-1].astype(np.int16)
    assert np.abs(last[:, :, 0] - last[:, :, 2]).max() <= 6    # grey (up to the codec's chroma)
    assert last[340, :, 1].mean() > last[140, :, 1].mean() + 60  # the near floor is whiter
