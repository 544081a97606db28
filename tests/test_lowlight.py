"""Low light on generated clips: a person (an ellipse head over a body, with a soft edge) over a
textured room, well lit, dark (scaled by 0.25 with gamma 1.4, and sensor noise), and backlit."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from vcam.light import lowlight
from vcam.light.lowlight import LowLight

W, H = 320, 180
FPS = 30.0
SKIN, SHIRT = (0.66, 0.52, 0.44), (0.45, 0.55, 0.70)


def person_alpha(w: int, h: int) -> np.ndarray:
    a = np.zeros((h, w), np.uint8)
    cv2.ellipse(a, (w // 2, round(0.33 * h)), (max(1, round(0.09 * w)), max(1, round(0.17 * h))), 0, 0, 360, 255, -1)
    cv2.ellipse(a, (w // 2, round(1.05 * h)), (max(1, round(0.25 * w)), max(1, round(0.5 * h))), 0, 0, 360, 255, -1)
    return cv2.GaussianBlur(a, (0, 0), max(0.5, h / 180))


def well_lit(w: int = W, h: int = H, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A well-lit picture (float32, 0..254) and its alpha: a skin-coloured head, a blue shirt,
    a textured room; the person's mean brightness is about 0.54 of full scale."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    room = np.stack([0.4 + 0.2 * xx / w, 0.45 + 0.1 * yy / h, 0.5 - 0.15 * xx / w], -1)
    room *= 1 + 0.15 * rng.standard_normal((h, w, 1)).astype(np.float32)
    person = np.where((yy < 0.5 * h)[..., None], np.float32(SKIN), np.float32(SHIRT))
    person *= 1 + 0.08 * rng.standard_normal((h, w, 1)).astype(np.float32)
    alpha = person_alpha(w, h)
    a = alpha[..., None] / np.float32(255)
    return np.clip(255 * (a * person + (1 - a) * room), 0, 254).astype(np.float32), alpha


def dark(picture: np.ndarray, rng: np.random.Generator, sigma: float = 3.0) -> np.ndarray:
    """The picture in a dark room: a quarter of the light, gamma 1.4, and sensor noise."""
    d = 255 * 0.25 * (picture / 255) ** 1.4 + sigma * rng.standard_normal(picture.shape).astype(np.float32)
    return np.clip(np.rint(d), 0, 255).astype(np.uint8)


def backlit(picture: np.ndarray, alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A dark person before a bright window (230, lightly textured, never 255)."""
    person = dark(picture, rng).astype(np.float32)
    window = np.clip(230 + 8 * rng.standard_normal(picture.shape).astype(np.float32), 200, 250)
    a = alpha[..., None] / np.float32(255)
    return np.clip(np.rint(a * person + (1 - a) * window), 0, 255).astype(np.uint8)


def person_colour(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The alpha-weighted mean colour of the person, shares of full scale."""
    w = alpha.astype(np.float64)
    return (image.astype(np.float64) * w[..., None]).sum((0, 1)) / w.sum() / 255


def brightness(image: np.ndarray, alpha: np.ndarray) -> float:
    """The person's exposure as vcam meters it: the luma that LOW_METER of them (by alpha) is below."""
    return meter(image, alpha)


def meter(image: np.ndarray, alpha: np.ndarray, share: float = lowlight.LOW_METER) -> float:
    luma = (image.reshape(-1, 3).astype(np.float64) @ (0.299, 0.587, 0.114)) / 255
    weight = alpha.reshape(-1).astype(np.float64)
    order = np.argsort(luma)
    cumulative = np.cumsum(weight[order])
    return float(luma[order][np.searchsorted(cumulative, share * cumulative[-1])])


def hue(rgb: np.ndarray) -> float:
    return float(cv2.cvtColor(np.float32(rgb).reshape(1, 1, 3), cv2.COLOR_RGB2HSV)[0, 0, 0])


def run(stage: LowLight, frames, alpha: np.ndarray) -> list[np.ndarray]:
    out = []
    for frame in frames:
        dst = np.empty_like(frame)
        assert stage.apply(frame, alpha, dst) is dst
        out.append(dst)
    return out


@pytest.fixture(scope="module")
def scene():
    return well_lit()


def test_a_dark_room_brings_the_person_to_a_good_exposure_and_holds(scene):
    picture, alpha = scene
    rng = np.random.default_rng(1)
    frames = [dark(picture, rng) for _ in range(60)]
    assert brightness(frames[0], alpha) < 0.15
    out = run(LowLight((W, H), 1.0, fps=FPS), frames, alpha)
    means = [brightness(o, alpha) for o in out[round(FPS):]]
    assert 0.45 <= min(means) and max(means) <= 0.55


def test_the_lift_eases_in_when_the_room_goes_dark_and_settles_within_a_second(scene):
    picture, alpha = scene
    rng = np.random.default_rng(2)
    stage = LowLight((W, H), 1.0, fps=FPS)
    lit = np.rint(picture).astype(np.uint8)
    run(stage, [lit] * 10, alpha)
    assert stage.lift == 0.0
    out = run(stage, [dark(picture, rng) for _ in range(45)], alpha)
    means = np.array([brightness(o, alpha) for o in out])
    assert means[0] < 0.2                              # no jump: it eases in ...
    assert np.all(np.diff(means[:25]) > 0)             # ... steadily ...
    assert 0.45 <= means[round(FPS) - 1] <= 0.55       # ... and is there within a second
    assert 0.45 <= means[round(FPS):].min() and means.max() <= 0.55


def test_a_still_noisy_scene_does_not_pump(scene):
    picture, alpha = scene
    rng = np.random.default_rng(3)
    stage = LowLight((W, H), 1.0, fps=FPS)
    means = []
    for _ in range(90):      # sensor noise, and a matte whose edge flickers by a pixel
        flicker = np.roll(alpha, int(rng.integers(-1, 2)), axis=int(rng.integers(0, 2)))
        means.append(brightness(run(stage, [dark(picture, rng, sigma=6.0)], flicker)[0], alpha))
    means = np.array(means[round(FPS):])
    assert np.abs(np.diff(means) / means[:-1]).max() < 0.01


def test_a_well_lit_picture_is_left_alone(scene):
    picture, alpha = scene
    rng = np.random.default_rng(4)
    frames = [np.clip(np.rint(picture + 2 * rng.standard_normal(picture.shape)), 0, 255).astype(np.uint8) for _ in range(10)]
    assert 0.5 <= brightness(frames[0], alpha) <= 0.6
    stage = LowLight((W, H), 1.0, fps=FPS)
    for frame, o in zip(frames, run(stage, frames, alpha)):
        assert np.abs(o.astype(np.int16) - frame).mean() < 2
    assert stage.lift == 0.0


def test_backlight_lifts_the_person_without_clipping_the_bright_window(scene):
    picture, alpha = scene
    rng = np.random.default_rng(5)
    frames = [backlit(picture, alpha, rng) for _ in range(40)]
    out = run(LowLight((W, H), 1.0, fps=FPS), frames, alpha)
    frame, o = frames[-1], out[-1]
    assert brightness(frame, alpha) < 0.15 and brightness(o, alpha) >= 0.45
    assert frame.max() < 255 and o.max() < 255                   # no new 255s
    order = np.argsort(frame.reshape(-1), kind="stable")         # one curve, monotone: order is kept
    assert np.all(np.diff(o.reshape(-1)[order].astype(np.int16)) >= 0)
    window = alpha == 0
    assert o[window].mean() > frame[window].mean()               # the window is not darkened either


def test_colours_keep_their_hue(scene):
    picture, alpha = scene
    rng = np.random.default_rng(6)
    frames = [dark(picture, rng) for _ in range(5)]
    out = run(LowLight((W, H), 1.0, fps=FPS), frames, alpha)
    head, body = alpha.copy(), alpha.copy()
    head[H // 2:] = 0
    body[:round(0.6 * H)] = 0
    for part in (alpha, head, body):
        before, after = person_colour(frames[-1], part), person_colour(out[-1], part)
        assert after[1] > 3 * before[1]                                          # lifted ...
        np.testing.assert_allclose(after / after[1], before / before[1], rtol=0.05)   # ... the channels in proportion
        assert abs(hue(after) - hue(before)) < 3.0                               # degrees
    grey = np.full((H, W, 3), 30, np.uint8)
    grey_out = np.empty_like(grey)
    LowLight((W, H), 1.0).apply(grey, alpha, grey_out)
    assert grey_out[0, 0, 0] > 60 and np.all(grey_out == grey_out[0, 0, 0])     # grey stays grey


def test_half_strength_lifts_less(scene):
    picture, alpha = scene
    rng = np.random.default_rng(7)
    frames = [dark(picture, rng) for _ in range(30)]
    full, half = LowLight((W, H), 1.0), LowLight((W, H), 0.5)
    m_full = brightness(run(full, frames, alpha)[-1], alpha)
    m_half = brightness(run(half, frames, alpha)[-1], alpha)
    m_in = brightness(frames[-1], alpha)
    assert m_in + 0.1 < m_half < m_full - 0.1
    assert 0 < half.lift < full.lift
    assert run(LowLight((W, H), 0.0), frames[:1], alpha)[0].tobytes() == frames[0].tobytes()


def test_reset_forgets_the_curve(scene):
    picture, alpha = scene
    rng = np.random.default_rng(8)
    lit = np.rint(picture).astype(np.uint8)
    stage = LowLight((W, H), 1.0)
    run(stage, [dark(picture, rng) for _ in range(30)], alpha)
    kept = run(stage, [lit], alpha)[0]
    assert stage.lift > 0 and not np.array_equal(kept, lit)      # still easing out of the dark curve
    stage.reset()
    assert stage.lift == 0.0
    assert np.array_equal(run(stage, [lit], alpha)[0], lit)      # a new video starts afresh


def test_with_nobody_there_the_curve_is_kept(scene):
    picture, alpha = scene
    rng = np.random.default_rng(9)
    stage = LowLight((W, H), 1.0)
    frames = [dark(picture, rng) for _ in range(30)]
    last = run(stage, frames, alpha)[-1]
    lift = stage.lift
    nobody = np.zeros_like(alpha)
    again = run(stage, [frames[-1]] * 10 + [np.full_like(frames[0], 250)], nobody)
    assert stage.lift == lift
    assert np.array_equal(again[0], last)


def test_a_black_frame_is_not_turned_into_noise(scene):
    _, alpha = scene
    rng = np.random.default_rng(10)
    frames = [np.clip(np.rint(3 + 3 * rng.standard_normal((H, W, 3))), 0, 255).astype(np.uint8) for _ in range(30)]
    o = run(LowLight((W, H), 1.0), frames, alpha)[-1]
    assert o.astype(np.float64).std() < 1.5 * frames[-1].astype(np.float64).std()


def test_the_frame_is_never_written(scene):
    picture, alpha = scene
    frame = dark(picture, np.random.default_rng(11))
    before, alpha_before = frame.copy(), alpha.copy()
    out = np.empty_like(frame)
    LowLight((W, H), 1.0).apply(frame, alpha, out)
    assert np.array_equal(frame, before) and np.array_equal(alpha, alpha_before)
    assert not np.array_equal(out, frame)


def test_the_curve_is_monotone_and_concave_and_keeps_its_ends(scene):
    picture, alpha = scene
    stage = LowLight((W, H), 1.0)
    run(stage, [dark(picture, np.random.default_rng(12))], alpha)
    lut = stage._lut.astype(np.int32)
    assert lut[0] == 0 and lut[255] == 255 and lut[254] <= 254
    assert np.all(np.diff(lut) >= 0)
    x = np.linspace(0, 1, 1001)
    y = lowlight.curve(x, 1.0 + stage.lift)
    assert np.all(np.diff(y, 2) <= 1e-12) and y[0] == 0 and abs(y[-1] - 1) < 1e-12
    assert np.abs(lut - np.rint(255 * lowlight.curve(np.arange(256) / 255, 1.0 + stage.lift)).clip(0, 254)[:]).max() <= 1


def test_the_aim_has_no_jump_and_no_lift_for_a_well_exposed_person():
    m = np.linspace(0.0, 1.0, 2001)
    for strength in (0.5, 1.0):
        gains = np.array([lowlight.curve_gain(v, strength) for v in m])
        shown = lowlight.curve(m, gains)
        assert np.all(gains[m >= lowlight.LOW_WELL_LIT] == 1.0)
        assert np.abs(np.diff(shown)).max() < 0.01                  # continuous: no jump anywhere
        assert np.all(shown >= m - 1e-12)                           # never darker
    full = lowlight.curve(m, np.array([lowlight.curve_gain(v, 1.0) for v in m]))
    middle = (m >= 0.1) & (m < lowlight.LOW_WELL_LIT)
    assert full[middle].min() >= lowlight.LOW_WELL_LIT - 1e-9 and full[middle].max() <= 0.5 + 1e-9


def test_a_larger_frame_is_measured_on_a_sparse_grid():
    picture, alpha = well_lit(1280, 720)
    stage = LowLight((1280, 720), 1.0)
    assert stage._step == 8
    frame = dark(picture, np.random.default_rng(13))
    out = run(stage, [frame], alpha)[0]
    assert 0.45 <= brightness(out, alpha) <= 0.55


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="strength"):
        LowLight((W, H), 1.5)
    with pytest.raises(ValueError, match="size"):
        LowLight((0, H), 1.0)
    stage = LowLight((W, H), 1.0)
    with pytest.raises(ValueError, match=r"expected uint8\(180, 320, 3\)"):
        stage.apply(np.zeros((H, W + 1, 3), np.uint8), np.zeros((H, W), np.uint8), np.zeros((H, W, 3), np.uint8))
