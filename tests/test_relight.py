"""Relight on generated pictures: a person (a skin-coloured head over a grey shirt, soft edge) in
a neutral grey room, moved towards the light of new backgrounds: one lit like the room, a warm
sunset, a bright beach, a dark night; and in the engine, only where the effect is ``replace``."""
from __future__ import annotations

import math
import subprocess
import sys

import cv2
import numpy as np
import pytest

from vcam.config import EffectSettings, LightSettings, SegmentSettings, Settings
from vcam.engine import Engine
from vcam.light import relight
from vcam.light.relight import Relight, light_of, relight_gains
from vcam.live.sources import DemoSource

W, H = 320, 180
FPS = 30.0
ROOM = (120.0, 120.0, 120.0)


def person_alpha(w: int = W, h: int = H) -> np.ndarray:
    a = np.zeros((h, w), np.uint8)
    cv2.ellipse(a, (w // 2, round(0.33 * h)), (round(0.09 * w), round(0.17 * h)), 0, 0, 360, 255, -1)
    cv2.ellipse(a, (w // 2, round(1.05 * h)), (round(0.25 * w), round(0.5 * h)), 0, 0, 360, 255, -1)
    return cv2.GaussianBlur(a, (0, 0), 1.0)


def picture(alpha: np.ndarray, room=ROOM, seed: int = 0) -> np.ndarray:
    """The person in a room of colour ``room``, with a little noise; a few pixels at 255 (a
    specular highlight on the forehead) and a few at 0."""
    rng = np.random.default_rng(seed)
    h, w = alpha.shape
    yy = np.mgrid[0:h, 0:w][0]
    person = np.where((yy < 0.5 * h)[..., None], np.float32((190, 150, 130)), np.float32((110, 110, 115)))
    a = alpha[..., None] / np.float32(255)
    p = a * person + (1 - a) * np.float32(room) + 3 * rng.standard_normal((h, w, 3)).astype(np.float32)
    out = np.clip(np.rint(p), 0, 254).astype(np.uint8)
    out[round(0.25 * h), w // 2 - 3:w // 2 + 3] = 255
    out[h - 1, w // 2 - 3:w // 2 + 3] = 0
    return out


def flat(colour, w: int = W, h: int = H) -> np.ndarray:
    return np.full((h, w, 3), colour, np.uint8)


def person_light(image: np.ndarray, alpha: np.ndarray) -> tuple[float, float, float]:
    """(log luma, log R/G, log B/G) of the person's mean colour (alpha above half)."""
    return light_of(image[alpha > 128].astype(np.float64).mean(0))


def relit(stage: Relight, frame, alpha, backdrop, frames: int = 1) -> np.ndarray:
    out = np.empty_like(frame)
    for _ in range(frames):
        assert stage.apply(frame, alpha, backdrop, out) is out
    return out


@pytest.fixture(scope="module")
def scene():
    alpha = person_alpha()
    return picture(alpha), alpha


def test_a_background_lit_like_the_room_changes_nothing(scene):
    frame, alpha = scene
    stage = Relight((W, H), 1.0, FPS)
    out = relit(stage, frame, alpha, flat(ROOM), frames=5)
    assert np.array_equal(out, frame) and stage.gains == (1.0, 1.0, 1.0)


def test_a_warm_background_warms_the_person_and_keeps_their_brightness(scene):
    frame, alpha = scene
    sunset = flat((175, 105, 60))   # about the room's luma, much warmer
    out = relit(Relight((W, H), 1.0, FPS), frame, alpha, sunset)
    (l0, r0, b0), (l1, r1, b1) = person_light(frame, alpha), person_light(out, alpha)
    room, new = light_of(ROOM), light_of((175, 105, 60))
    # red/green moves by the real photos' slope of the change (a little less on a bright face: the
    # curve bends to meet white), blue/green by theirs (down here)
    aim = relight.RELIGHT_SLOPES[1] * (new[1] - room[1])
    assert 0.7 * aim < r1 - r0 <= aim + 0.01, (r1 - r0, aim)
    assert b1 < b0 and b0 - b1 < 0.5 * (r1 - r0)
    assert abs(l1 - l0) < 0.03   # exposure: the backdrop's luma is the room's


def test_a_bright_background_brightens_without_clipping_and_white_stays_white(scene):
    frame, alpha = scene
    beach = flat((230, 225, 215))
    out = relit(Relight((W, H), 1.0, FPS), frame, alpha, beach)
    (l0, _, _), (l1, _, _) = person_light(frame, alpha), person_light(out, alpha)
    gain = math.exp(l1 - l0)
    assert 1.1 < gain < 1.4, gain
    assert (out[frame == 255] == 255).all() and (out[frame < 255] < 255).all()
    assert (out[frame == 0] == 0).all()


def test_a_dark_background_darkens_the_person_within_the_limit(scene):
    frame, alpha = scene
    out = relit(Relight((W, H), 1.0, FPS), frame, alpha, flat((15, 15, 25)))
    (l0, _, _), (l1, _, _) = person_light(frame, alpha), person_light(out, alpha)
    assert l1 < l0 - 0.3
    assert (out[frame == 255] == 255).all()
    low, high = (math.log(v) for v in relight.RELIGHT_LIMIT)
    for room in ((255, 255, 255), (1, 1, 1)):
        for new in ((1, 1, 255), (255, 1, 1), (1, 1, 1), (255, 255, 255)):
            gains = relight_gains(light_of(room), light_of(new), 1.0)
            assert gains.dtype == np.float32 and (gains >= low - 1e-6).all() and (gains <= high + 1e-6).all()


def test_half_strength_moves_half_as_far_in_logs(scene):
    frame, alpha = scene
    sunset = flat((175, 105, 60))
    full = Relight((W, H), 1.0, FPS)
    half = Relight((W, H), 0.5, FPS)
    relit(full, frame, alpha, sunset)
    relit(half, frame, alpha, sunset)
    for f, h in zip(full.gains, half.gains):
        assert math.log(h) == pytest.approx(0.5 * math.log(f), abs=0.01)


def test_a_new_background_eases_in_over_about_half_a_second_and_reset_starts_fresh(scene):
    frame, alpha = scene
    stage = Relight((W, H), 1.0, FPS)
    relit(stage, frame, alpha, flat(ROOM))
    assert stage.gains == (1.0, 1.0, 1.0)
    sunset = flat((175, 105, 60))
    aim = relight_gains(light_of(ROOM), light_of((175, 105, 60)), 1.0)
    relit(stage, frame, alpha, sunset)
    first = math.log(stage.gains[0])
    assert 0.0 < first < 0.15 * aim[0]   # one frame in: a small step, no jump
    relit(stage, frame, alpha, sunset, frames=round(FPS) - 1)   # a second in: 2 time constants
    assert math.log(stage.gains[0]) == pytest.approx(aim[0] * (1 - math.exp(-1 / relight.RELIGHT_SETTLE)), rel=0.1)
    stage.reset()
    assert stage.gains == (1.0, 1.0, 1.0)
    relit(stage, frame, alpha, sunset)   # fresh: at the aim at once
    assert math.log(stage.gains[0]) == pytest.approx(aim[0], abs=relight.RELIGHT_REBUILD * 2)


def test_with_nobody_there_the_gains_are_kept(scene):
    frame, alpha = scene
    stage = Relight((W, H), 1.0, FPS)
    relit(stage, frame, alpha, flat((175, 105, 60)))
    gains = stage.gains
    empty = picture(np.zeros_like(alpha), seed=1)
    relit(stage, empty, np.zeros_like(alpha), flat((20, 20, 60)), frames=10)
    assert stage.gains == gains
    everybody = np.full_like(alpha, 255)
    relit(stage, frame, everybody, flat((20, 20, 60)), frames=10)   # no room left to measure
    assert stage.gains == gains


def test_the_frame_is_never_written_and_may_be_the_output(scene):
    frame, alpha = scene
    kept = frame.copy()
    stage = Relight((W, H), 1.0, FPS)
    out = relit(stage, frame, alpha, flat((175, 105, 60)))
    assert np.array_equal(frame, kept) and not np.array_equal(out, frame)
    same = frame.copy()
    assert stage.apply(same, alpha, flat((175, 105, 60)), same) is same
    assert np.array_equal(same, out)
    view = np.ascontiguousarray(np.concatenate([frame, frame], 1))[:, :W]   # a view: through OpenCV's table
    assert np.array_equal(stage.apply(view, alpha, flat((175, 105, 60)), np.empty_like(frame)), out)
    small_backdrop = flat((175, 105, 60), 64, 36)   # any size: only its light is measured
    assert np.array_equal(relit(stage, frame, alpha, small_backdrop), out)


def test_bad_sizes_and_strengths_are_refused(scene):
    frame, alpha = scene
    with pytest.raises(ValueError, match="strength"):
        Relight((W, H), 1.5)
    with pytest.raises(ValueError, match="size"):
        Relight((0, H), 1.0)
    with pytest.raises(ValueError, match="alpha"):
        Relight((W, H), 1.0).apply(frame, alpha[:, :-1], flat(ROOM), np.empty_like(frame))


def engine(effect: EffectSettings, relight_strength: float) -> Engine:
    settings = Settings(segment=SegmentSettings(threads=1), effect=effect, light=LightSettings(relight=relight_strength))
    e = Engine(settings)
    e.prepare((W, H), FPS)
    return e


def outputs(e: Engine, frames) -> tuple[list[np.ndarray], np.ndarray]:
    outs = []
    for f in frames:
        out = np.empty_like(f)
        alpha = e.process(f, out, {})
        outs.append(out)
    return outs, alpha.copy()


def demo_frames(n: int) -> list[np.ndarray]:
    demo = DemoSource(W, H, live=False)
    frames = [np.empty((H, W, 3), np.uint8) for _ in range(n)]
    for f in frames:
        demo.read(f)
    return frames


def test_in_the_engine_only_a_new_background_relights(tmp_path):
    warm = tmp_path / "sunset.png"
    assert cv2.imwrite(str(warm), np.full((90, 160, 3), (70, 120, 200), np.uint8))   # BGR: warm
    frames = demo_frames(3)
    replace = EffectSettings("replace", background=str(warm))
    (plain, alpha), (lit, _) = outputs(engine(replace, 0.0), frames), outputs(engine(replace, 1.0), frames)
    person = alpha > 250
    assert person.mean() > 0.05
    red_green = [float(np.log(o[person][:, 0].mean() / o[person][:, 1].mean())) for o in (plain[-1], lit[-1])]
    assert red_green[1] > red_green[0] + 0.05, red_green
    for other in (EffectSettings("blur"), EffectSettings("color", color=(175, 105, 60))):
        a, _ = outputs(engine(other, 0.0), frames)
        b, _ = outputs(engine(other, 1.0), frames)
        assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_vcam_process_relights_over_a_new_background_and_says_when_it_cannot(tmp_path):
    frames = demo_frames(1)
    assert cv2.imwrite(str(tmp_path / "me.png"), cv2.cvtColor(frames[0], cv2.COLOR_RGB2BGR))
    assert cv2.imwrite(str(tmp_path / "sunset.png"), np.full((90, 160, 3), (70, 120, 200), np.uint8))
    outputs = {}
    for name, extra in (("plain", []), ("lit", ["--relight", "1"])):
        done = subprocess.run([sys.executable, "-m", "vcam", "process", "me.png", "--effect", "replace",
                               "--background", "sunset.png", *extra, "-o", f"{name}.png"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and "--relight" not in done.stderr, done.stderr
        outputs[name] = cv2.imread(str(tmp_path / f"{name}.png"))
    assert not np.array_equal(outputs["plain"], outputs["lit"])
    blur = subprocess.run([sys.executable, "-m", "vcam", "process", "me.png", "--effect", "blur", "--relight", "1",
                           "-o", "blur.png"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert blur.returncode == 0 and "--relight" in blur.stderr and "--effect replace" in blur.stderr
