"""Key light on generated frames: a person (an ellipse head over a body, with a soft edge) over a
textured room; the light must stay on the person and fall on the face from the side asked."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from vcam.light import keylight
from vcam.light.keylight import KEY_GAIN, KeyLight

W, H = 320, 180
HEAD = (0.5, 0.33, 0.09, 0.17)   # centre x, y, half-width, half-height, shares of the frame


def person_alpha(w: int, h: int, cx: float = 0.5) -> np.ndarray:
    a = np.zeros((h, w), np.uint8)
    x, y, rx, ry = cx * w, HEAD[1] * h, HEAD[2] * w, HEAD[3] * h
    cv2.ellipse(a, (round(x), round(y)), (max(1, round(rx)), max(1, round(ry))), 0, 0, 360, 255, -1)
    cv2.ellipse(a, (round(x), round(1.05 * h)), (max(1, round(0.25 * w)), max(1, round(0.5 * h))), 0, 0, 360, 255, -1)
    return cv2.GaussianBlur(a, (0, 0), max(0.5, h / 180))


def picture(w: int = W, h: int = H, seed: int = 0) -> np.ndarray:
    """A textured room and a person, all values 40 to 180 (a 35% gain stays below 255)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    room = np.stack([90 + 40 * xx / w, 100 + 20 * yy / h, 120 - 30 * xx / w], -1)
    room += 12 * rng.standard_normal((h, w, 3)).astype(np.float32)
    return np.clip(np.rint(room), 40, 180).astype(np.uint8)


def head_mask(w: int = W, h: int = H, cx: float = 0.5, side: str = "") -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    cv2.ellipse(m, (round(cx * w), round(HEAD[1] * h)), (round(HEAD[2] * w * 0.8), round(HEAD[3] * h * 0.8)), 0, 0, 360, 1, -1)
    m = m.astype(bool)
    if side == "left":
        m[:, round(cx * w):] = False
    elif side == "right":
        m[:, :round(cx * w)] = False
    return m


def gain(before: np.ndarray, after: np.ndarray, where: np.ndarray) -> float:
    return float(after[where].astype(np.float64).mean() / before[where].astype(np.float64).mean())


def lit(stage: KeyLight, frame: np.ndarray, alpha: np.ndarray, frames: int = 1) -> np.ndarray:
    out = np.empty_like(frame)
    for _ in range(frames):
        assert stage.apply(frame, alpha, out) is out
    return out


@pytest.fixture(scope="module")
def scene():
    return picture(), person_alpha(W, H)


def test_the_background_is_left_exactly(scene):
    frame, alpha = scene
    for angle in (-60.0, 0.0, 45.0):
        out = lit(KeyLight((W, H), 1.0, angle=angle), frame, alpha)
        assert np.array_equal(out[alpha == 0], frame[alpha == 0])
        assert not np.array_equal(out[alpha == 255], frame[alpha == 255])


@pytest.mark.parametrize("strength", [0.5, 1.0])
def test_the_face_is_brightened_by_the_set_amount_and_more_than_the_body(scene, strength):
    frame, alpha = scene
    out = lit(KeyLight((W, H), strength, angle=0.0), frame, alpha)
    face, centre = head_mask(), np.zeros((H, W), bool)
    centre[round(0.30 * H):round(0.36 * H), round(0.48 * W):round(0.52 * W)] = True
    body = alpha == 255
    body[:round(0.8 * H)] = False
    added = strength * KEY_GAIN
    assert 1 + 0.9 * added <= gain(frame, out, centre) <= 1 + 1.05 * added     # the face centre: the set amount
    assert 1 + 0.75 * added <= gain(frame, out, face) <= 1 + 1.05 * added      # the face: about it
    assert gain(frame, out, body) - 1 < 0.35 * added                           # the lower body: much less


def test_the_lit_side_follows_the_angle(scene):
    frame, alpha = scene
    left, right = head_mask(side="left"), head_mask(side="right")
    sides = {}
    for angle in (-60.0, 0.0, 60.0):
        out = lit(KeyLight((W, H), 1.0, angle=angle), frame, alpha)
        sides[angle] = gain(frame, out, left), gain(frame, out, right)
    assert sides[-60.0][0] > sides[-60.0][1] + 0.05        # from the picture's left
    assert sides[60.0][1] > sides[60.0][0] + 0.05          # from its right
    assert abs(sides[0.0][0] - sides[0.0][1]) < 0.02       # from the front: even


def test_in_place_gives_the_same_picture(scene):
    frame, alpha = scene
    expected = lit(KeyLight((W, H), 0.8, angle=-30.0), frame, alpha)
    image = frame.copy()
    assert KeyLight((W, H), 0.8, angle=-30.0).apply(image, alpha, image) is image
    assert np.array_equal(image, expected)


def test_a_frame_that_is_a_view_is_lit_the_same(scene):
    frame, alpha = scene
    mirrored = np.ascontiguousarray(frame[:, ::-1])
    expected = lit(KeyLight((W, H), 1.0), mirrored, alpha)
    view = frame[:, ::-1]
    assert np.array_equal(lit(KeyLight((W, H), 1.0), view, alpha), expected)
    assert np.array_equal(view, mirrored)


def test_the_frame_is_not_written_when_out_is_another_buffer(scene):
    frame, alpha = scene
    before = frame.copy()
    lit(KeyLight((W, H), 1.0), frame, alpha)
    assert np.array_equal(frame, before)


def test_nobody_there_leaves_the_picture_unchanged(scene):
    frame, _ = scene
    stage = KeyLight((W, H), 1.0)
    assert np.array_equal(lit(stage, frame, np.zeros((H, W), np.uint8)), frame)
    assert stage.face is None
    image = frame.copy()
    stage.apply(image, np.zeros((H, W), np.uint8), image)
    assert np.array_equal(image, frame)


def test_strength_zero_changes_nothing(scene):
    frame, alpha = scene
    assert np.array_equal(lit(KeyLight((W, H), 0.0), frame, alpha), frame)


def test_a_soft_edge_gets_its_share(scene):
    frame = np.full((H, W, 3), 150, np.uint8)
    alpha = np.zeros((H, W), np.uint8)
    alpha[:, W // 2 - 40:W // 2 + 40] = 255
    alpha[:round(0.2 * H)] = 0
    full = lit(KeyLight((W, H), 1.0, angle=0.0), frame, alpha)
    half = alpha.copy()
    half[half == 255] = 128                 # the same person, half transparent
    out = lit(KeyLight((W, H), 1.0, angle=0.0), frame, half)
    added_full = full[alpha == 255].astype(np.float64) - 150
    added_half = out[alpha == 255].astype(np.float64) - 150
    assert added_full.mean() > 20
    assert abs(added_half.mean() / added_full.mean() - 128 / 255) < 0.05


def test_the_light_follows_a_person_who_moves_smoothly():
    frame, fps = picture(), 30.0
    stage = KeyLight((W, H), 1.0, angle=0.0, fps=fps)
    lit(stage, frame, person_alpha(W, H, 0.35), frames=5)
    x0 = stage.face[0]
    moved = person_alpha(W, H, 0.65)
    xs = []
    for _ in range(30):
        lit(stage, frame, moved)
        xs.append(stage.face[0])
    target = 0.65 * stage._alpha.shape[1]
    assert abs(x0 - 0.35 * stage._alpha.shape[1]) < 1.5
    assert abs(xs[0] - x0) < 0.3 * (target - x0)           # no jump ...
    assert np.all(np.diff(xs) > 0)                         # ... it glides ...
    assert abs(xs[-1] - target) < 1.0                      # ... and arrives within a second


def test_reset_forgets_the_face(scene):
    frame, alpha = scene
    stage = KeyLight((W, H), 1.0)
    lit(stage, frame, alpha)
    assert stage.face is not None
    stage.reset()
    assert stage.face is None


@pytest.mark.parametrize("size", [(33, 17), (17, 33), (1, 1), (2, 1)])
def test_odd_and_tiny_sizes(size):
    w, h = size
    frame = picture(w, h)
    alpha = np.full((h, w), 255, np.uint8) if w * h <= 2 else person_alpha(w, h)
    stage = KeyLight((w, h), 1.0, angle=0.0)
    out = lit(stage, frame, alpha, frames=3)
    assert out.shape == frame.shape
    assert np.array_equal(out[alpha == 0], frame[alpha == 0])
    assert np.all(out[alpha == 255] >= frame[alpha == 255]) and np.any(out > frame)
    if (w, h) == (1, 1):     # the whole picture is the face centre
        assert abs(int(out[0, 0, 0]) - round(frame[0, 0, 0] * (1 + KEY_GAIN))) <= 1


def test_a_720p_frame(scene):
    frame, alpha = picture(1280, 720), person_alpha(1280, 720)
    out = lit(KeyLight((1280, 720), 1.0, angle=0.0), frame, alpha)
    assert np.array_equal(out[alpha == 0], frame[alpha == 0])
    assert 1 + 0.75 * KEY_GAIN <= gain(frame, out, head_mask(1280, 720)) <= 1 + 1.05 * KEY_GAIN


def test_bad_input_is_refused(scene):
    frame, alpha = scene
    with pytest.raises(ValueError, match="strength"):
        KeyLight((W, H), -0.1)
    with pytest.raises(ValueError, match="angle"):
        KeyLight((W, H), 1.0, angle=120.0)
    stage = KeyLight((W, H), 1.0)
    with pytest.raises(ValueError, match="view"):
        stage.apply(frame, alpha[:, ::-1], np.empty_like(frame))
    with pytest.raises(ValueError, match=r"expected C-contiguous uint8\(180, 320\)"):
        stage.apply(frame, alpha.astype(np.float32), np.empty_like(frame))


def test_the_kernels_are_registered_for_warm_up():
    from vcam import jit

    registered = jit.registered()
    assert keylight.light in registered and keylight.light_in_place in registered


def test_the_kernel_is_the_rounded_gain_and_saturates():
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (37, 23, 3), dtype=np.uint8)
    g = rng.integers(0, 1 << 15, (37, 23), dtype=np.uint16)
    alpha = rng.integers(0, 256, (37, 23), dtype=np.uint8)
    alpha[::5] = 0
    out = np.empty_like(frame)
    keylight.light(frame, g, alpha, out)
    expected = np.minimum(255, frame * (1 + g[..., None] / 2.0 ** keylight.KEY_BITS * alpha[..., None] / 255.0))
    assert np.abs(out - expected).max() <= 1.0
    assert np.array_equal(out[::5], frame[::5])
    image = frame.copy()
    keylight.light_in_place(image, g, alpha)
    assert np.array_equal(image, out)
