"""Matte refinement (temporal smoothing, scaling to the frame) and the segmenter registry."""
from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
from helpers import HAS_MEDIAPIPE, needs_mediapipe

from vcam import segment
from vcam.config import MatteSettings, SegmentSettings
from vcam.errors import VcamError
from vcam.matte import Matte

SMALL = (16, 12)          # model resolution (height, width) of the synthetic raw mattes
SIZE = (48, 32)           # frame size (width, height)


def rounded(raw: np.ndarray) -> np.ndarray:
    return np.floor(np.clip(raw.astype(np.float64), 0, 1) * 255 + 0.5).astype(np.uint8)


def random_raw(seed: int, shape=SMALL) -> np.ndarray:
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


# --- shape, dtype, range -------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(48, 32), (16, 12), (7, 5), (100, 20)])
def test_update_returns_uint8_alpha_of_the_asked_size(size):
    alpha = Matte(MatteSettings(smoothing=0.6)).update(random_raw(0), size)
    assert alpha.dtype == np.uint8
    assert alpha.shape == (size[1], size[0])


def test_update_of_a_flat_matte_is_flat_at_any_size():
    raw = np.full(SMALL, 0.7, np.float32)
    alpha = Matte(MatteSettings(threshold=0.5)).update(raw, SIZE)
    assert np.all(alpha == round(0.7 * 255))
    alpha = Matte(MatteSettings(threshold=0.4)).update(raw, SIZE)   # 0.4 -> 0.5, 1 -> 1
    assert np.all(alpha == round((0.5 + 0.5 * 0.3 / 0.6) * 255))


def test_update_clips_values_outside_0_1():
    raw = np.full(SMALL, 1.7, np.float32)
    raw[:, : SMALL[1] // 2] = -0.6
    matte = Matte(MatteSettings(smoothing=0.0, threshold=0.5))
    alpha = matte.update(raw, (SMALL[1], SMALL[0]))
    assert set(np.unique(alpha)) == {0, 255}
    for seed in range(5):  # and over time, whatever comes in: both ends reached, nothing wraps
        raw = random_raw(seed) * 3 - 1
        alpha = matte.update(raw, (SMALL[1], SMALL[0]))
        np.testing.assert_array_equal(alpha, rounded(raw))


def test_update_rejects_a_matte_that_is_not_float32_2d():
    matte = Matte()
    with pytest.raises(ValueError, match="float32"):
        matte.update(np.zeros(SMALL, np.float64), SIZE)
    with pytest.raises(ValueError, match="float32"):
        matte.update(np.zeros(SMALL + (1,), np.float32), SIZE)


# --- temporal behaviour --------------------------------------------------------------------------

def test_smoothing_zero_returns_the_raw_matte_every_frame():
    matte = Matte(MatteSettings(smoothing=0.0, threshold=0.5))
    for seed in range(4):
        raw = random_raw(seed)
        alpha = matte.update(raw, (SMALL[1], SMALL[0]))
        np.testing.assert_array_equal(alpha, rounded(raw))


def test_first_frame_is_the_raw_matte_whatever_the_smoothing():
    raw = random_raw(1)
    alpha = Matte(MatteSettings(smoothing=1.0, threshold=0.5)).update(raw, (SMALL[1], SMALL[0]))
    np.testing.assert_array_equal(alpha, rounded(raw))


def test_still_scene_stays_still():
    raw = random_raw(2)
    matte = Matte(MatteSettings(smoothing=1.0, threshold=0.5))
    first = matte.update(raw, SIZE).copy()
    for _ in range(10):
        np.testing.assert_array_equal(matte.update(raw.copy(), SIZE), first)


def test_still_scene_after_a_small_change_converges_and_then_stays_still():
    base = np.full(SMALL, 0.5, np.float32)
    target = base + np.float32(0.06)            # a change well under ``motion``
    matte = Matte(MatteSettings(smoothing=0.6, threshold=0.5, motion=0.25))
    matte.update(base, SIZE)
    history = [matte.update(target, SIZE).copy() for _ in range(40)]
    goal = round(0.56 * 255)
    assert np.all(history[0] < goal)             # damped: not there at once
    assert np.abs(history[-1].astype(int) - goal).max() <= 1
    np.testing.assert_array_equal(history[-1], history[-2])   # settled: no more flicker


def test_big_change_passes_through_at_once():
    matte = Matte(MatteSettings(smoothing=1.0, threshold=0.5, motion=0.25))
    still = np.zeros(SMALL, np.float32)
    for _ in range(5):
        matte.update(still, SIZE)
    moved = still.copy()
    moved[:, SMALL[1] // 2:] = 0.3              # >= motion: a person moving in
    alpha = matte.update(moved, (SMALL[1], SMALL[0]))
    np.testing.assert_array_equal(alpha, rounded(moved))
    # and moving out again is not trailed either
    alpha = matte.update(still, (SMALL[1], SMALL[0]))
    assert np.all(alpha == 0)


def test_small_jitter_is_damped():
    low = np.full(SMALL, 0.48, np.float32)
    high = np.full(SMALL, 0.52, np.float32)

    def peak_to_peak(smoothing: float) -> int:
        matte = Matte(MatteSettings(smoothing=smoothing, threshold=0.5, motion=0.25))
        values = [int(matte.update(low if i % 2 else high, SIZE)[0, 0]) for i in range(30)]
        tail = values[10:]
        return max(tail) - min(tail)

    raw_swing = peak_to_peak(0.0)
    assert raw_swing >= 9                         # 0.04 * 255: jitter reaches the output unsmoothed
    assert peak_to_peak(1.0) <= raw_swing // 3
    assert peak_to_peak(0.6) < raw_swing


def test_reset_forgets_the_previous_frames():
    a = np.full(SMALL, 0.5, np.float32)
    b = np.full(SMALL, 0.55, np.float32)
    matte = Matte(MatteSettings(smoothing=1.0, threshold=0.5))
    for _ in range(5):
        matte.update(a, SIZE)
    smoothed = matte.update(b, SIZE).copy()
    assert np.all(smoothed < rounded(b)[0, 0])     # without reset, the old frames hold it back
    matte.reset()
    np.testing.assert_array_equal(matte.update(b, SIZE), np.full((SIZE[1], SIZE[0]), rounded(b)[0, 0]))


def test_a_new_matte_resolution_starts_fresh():
    matte = Matte(MatteSettings(smoothing=1.0, threshold=0.5))
    for _ in range(3):
        matte.update(np.zeros(SMALL, np.float32), SIZE)
    other = np.full((8, 8), 0.55, np.float32)
    assert np.all(matte.update(other, (8, 8)) == rounded(other))


def test_settings_changes_take_effect_on_the_next_update():
    matte = Matte(MatteSettings(smoothing=1.0, threshold=0.5))
    matte.update(np.full(SMALL, 0.5, np.float32), SIZE)
    matte.settings = MatteSettings(smoothing=0.0, threshold=0.5)
    raw = np.full(SMALL, 0.55, np.float32)
    np.testing.assert_array_equal(matte.update(raw, (SMALL[1], SMALL[0])), rounded(raw))


def test_upscaled_alpha_keeps_the_shape_of_the_raw_matte():
    raw = np.zeros(SMALL, np.float32)
    raw[:, : SMALL[1] // 2] = 1.0                  # person on the left half
    alpha = Matte().update(raw, SIZE)
    w = SIZE[0]
    assert np.all(alpha[:, : w // 2 - 3] == 255)
    assert np.all(alpha[:, w // 2 + 3:] == 0)


# --- segmenters ----------------------------------------------------------------------------------

def test_unknown_backend_is_one_clear_error():
    with pytest.raises(VcamError, match="unknown segmentation backend 'nope'.*mediapipe"):
        segment.create(SegmentSettings(backend="nope"))


def test_registered_backend_is_built_by_name():
    class Flat(segment.Segmenter):
        name = "flat"
        output_size = (8, 6)

        def __init__(self, settings):
            self.settings = settings

        def segment(self, frame):
            return np.ones((6, 8), np.float32)

        def close(self):
            pass

    segment.register("test-flat", Flat)
    try:
        seg = segment.create(SegmentSettings(backend="test-flat", model="x"))
        assert isinstance(seg, Flat) and seg.settings.model == "x"
        # what a backend leaves out, the contract gives
        assert seg.provider == "cpu" and seg.crop_ok and seg.input_size is None
        seg.reset()
        assert seg.segment_photo(np.zeros((6, 8, 3), np.uint8)).shape == (6, 8)
        assert "test-flat" in segment.backends()
    finally:
        segment.unregister("test-flat")
    assert "test-flat" not in segment.backends()


def test_a_backend_that_is_not_a_segmenter_is_refused_by_name():
    class Loose:   # the methods, but not the contract: no defaults for what it leaves out
        name, output_size = "loose", (8, 6)

        def __init__(self, settings):
            pass

        def segment(self, frame):
            return np.ones((6, 8), np.float32)

    segment.register("test-loose", Loose)
    try:
        with pytest.raises(TypeError, match="'test-loose' gave a Loose, not a vcam.segment.Segmenter"):
            segment.create(SegmentSettings(backend="test-loose"))
    finally:
        segment.unregister("test-loose")


@needs_mediapipe
def test_mediapipe_rejects_an_unknown_model():
    with pytest.raises(VcamError, match="unknown MediaPipe model 'huge'"):
        segment.create(SegmentSettings(backend="mediapipe", model="huge"))


@pytest.fixture(scope="module")
def astronaut():
    data = pytest.importorskip("skimage.data")
    return data.astronaut()


@pytest.mark.parametrize("backend", ["onnx", pytest.param("mediapipe", marks=needs_mediapipe)])
@pytest.mark.parametrize("model", ["general", "landscape"])
def test_each_backend_finds_the_astronaut(astronaut, backend, model):
    seg = segment.create(SegmentSettings(backend=backend, model=model))
    try:
        raw = seg.segment(astronaut)
        assert raw.dtype == np.float32
        assert raw.shape == (seg.output_size[1], seg.output_size[0])
        assert raw.min() >= 0.0 and raw.max() <= 1.0
        m = cv2.resize(raw, (512, 512), interpolation=cv2.INTER_LINEAR)
        assert m[40:140, 170:280].mean() > 0.8      # face
        assert m[220:400, 60:300].mean() > 0.8      # suit
        assert m[0:60, 0:60].mean() < 0.2           # flag, top left
        assert m[0:60, 452:512].mean() < 0.2        # wall, top right
        assert m[0:180, 380:500].mean() < 0.2       # the shuttle model

        # through the matte stage to a frame-sized alpha
        alpha = Matte(MatteSettings(smoothing=0.0, threshold=0.5)).update(raw, (512, 512))
        assert alpha.shape == (512, 512) and alpha.dtype == np.uint8
        assert alpha[40:140, 170:280].mean() > 0.8 * 255
        assert alpha[0:60, 452:512].mean() < 0.2 * 255
    finally:
        seg.close()
        seg.close()   # safe twice


@pytest.mark.parametrize("backend", ["onnx", pytest.param("mediapipe", marks=needs_mediapipe)])
def test_each_backend_rejects_a_frame_that_is_not_rgb_uint8(astronaut, backend):
    seg = segment.create(SegmentSettings(backend=backend))
    try:
        with pytest.raises(ValueError, match="RGB uint8"):
            seg.segment(astronaut[..., 0])
        with pytest.raises(ValueError, match="RGB uint8"):
            seg.segment(astronaut.astype(np.float32))
    finally:
        seg.close()


def test_threshold_pulls_the_edge_in_and_out_and_softness_hardens_it():
    from vcam.config import MatteSettings
    from vcam.matte import Matte

    ramp = np.tile(np.linspace(0.0, 1.0, 101, dtype=np.float32), (4, 1))   # a soft edge, left to right

    def edge(**kw):
        alpha = Matte(MatteSettings(smoothing=0.0, **{"threshold": 0.5, **kw})).update(ramp, (101, 4))[0]
        return int(np.argmax(alpha >= 128)), alpha

    middle, plain = edge()
    inward, _ = edge(threshold=0.7)
    outward, _ = edge(threshold=0.3)
    assert outward < middle < inward                     # the person's side is the right
    assert abs(middle - 50) <= 1 and abs(inward - 70) <= 1 and abs(outward - 30) <= 1
    for threshold in (0.3, 0.7):   # moving the edge leaves the sure parts sure: no veil, no holes
        _, moved = edge(threshold=threshold)
        assert moved[0] == 0 and moved[-1] == 255
    _, hard = edge(softness=0.2)
    def ramp_width(a):
        return int(np.count_nonzero((a > 10) & (a < 245)))
    assert ramp_width(hard) < ramp_width(plain) / 3


def test_guided_smoothing_stills_flicker_where_the_picture_is_still_and_follows_where_it_moves():
    from vcam.config import MatteSettings
    from vcam.matte import Matte

    h, w = 36, 64
    frame = np.random.default_rng(1).integers(0, 256, (h * 4, w * 4, 3), dtype=np.uint8)
    base = np.zeros((h, w), np.float32)
    base[:, 20:44] = 1.0
    flicker = np.random.default_rng(2)
    guided = Matte(MatteSettings(smoothing=1.0))
    unguided = Matte(MatteSettings(smoothing=1.0, picture_motion=False))
    changes = {"guided": [], "unguided": []}
    for i in range(30):
        raw = np.clip(base + flicker.normal(0, 0.15, base.shape).astype(np.float32), 0, 1)
        for name, matte in (("guided", guided), ("unguided", unguided)):
            prev = None if i == 0 else changes[name + "_last"]
            alpha = matte.update(raw, (w * 4, h * 4), frame).astype(int)
            if prev is not None and i > 5:
                changes[name].append(np.abs(alpha - prev).mean())
            changes[name + "_last"] = alpha
    # the picture never moves: the model's flicker is held down far more when guided by it
    assert np.mean(changes["guided"]) < 0.5 * np.mean(changes["unguided"])

    # now the picture moves and the person with it: where the edge went, the matte follows at
    # once (no trailing), whatever it was smoothing before
    person = cv2.resize((base * 170 + 30).astype(np.uint8), (w * 4, h * 4), interpolation=cv2.INTER_NEAREST)
    guided.update(base, (w * 4, h * 4), np.dstack([person] * 3))
    shifted = np.roll(base, 10, axis=1)
    moved = np.roll(person, 40, axis=1)
    alpha = guided.update(shifted, (w * 4, h * 4), np.dstack([moved] * 3))
    changed = np.repeat(np.repeat(shifted != base, 4, axis=0), 4, axis=1)
    changed[:, :-8] &= changed[:, 8:]          # away from the band's own blurred rim
    changed[:, 8:] &= changed[:, :-8]
    truth = np.repeat(np.repeat(shifted, 4, axis=0), 4, axis=1) * 255
    assert np.abs(alpha[changed].astype(float) - truth[changed]).mean() < 10


@pytest.mark.skipif(HAS_MEDIAPIPE, reason="mediapipe is installed here")
def test_without_mediapipe_its_backend_is_one_error_with_the_way_out():
    with pytest.raises(VcamError) as info:
        segment.create(SegmentSettings(backend="mediapipe"))
    assert info.value.problem == "mediapipe is not installed"
    assert "--backend onnx" in info.value.fix
    if sys.version_info < (3, 13):
        assert "pip install 'mediapipe==0.10.21'" in info.value.fix
    else:
        assert "no wheel for Python 3." in info.value.fix


def _left_behind(wall: tuple, person: tuple) -> np.ndarray:
    """A person of colour ``person`` moving right at 24 px a frame over a wall of colour ``wall``
    (640x360), the model's matte following their edge: the alpha where they were a frame or two
    ago, after 12 frames through the default (picture-guided) smoothing."""
    w, h = 640, 360
    small = (144, 256)
    matte = Matte(MatteSettings())            # the defaults: guided by the picture, smoothing 0.95
    x = 200
    for _ in range(12):
        frame = np.empty((h, w, 3), np.uint8)
        frame[:] = wall
        frame[:, x:x + 160] = person
        raw = np.zeros(small, np.float32)
        raw[:, round(x * 256 / w):round((x + 160) * 256 / w)] = 1.0   # the model follows the edge
        alpha = matte.update(raw, (w, h), frame)
        x += 24                                # 24 px per frame to the right
    now = x - 24                               # the last frame's left edge
    return alpha[:, now - 40:now - 6]


def test_a_low_contrast_edge_that_moves_leaves_no_trail():
    """Guided smoothing: fair hair over a pale wall differs by a few grey levels; where such an
    edge moved away, the picture moved too, so the matte it left behind goes at once."""
    left_behind = _left_behind((200, 200, 200), (206, 206, 206))   # 6 levels apart
    assert left_behind.max() <= 13, left_behind.max()   # under 5%: no fading ghost of the edge


def _flicker_under_camera_noise(sigma: float) -> float:
    """Mean change of the 720p alpha from frame to frame where nobody moves: a still room and
    person, the camera's noise (``sigma`` levels a channel, new every frame) over them, and the
    model's matte flickering as it does on such frames."""
    h, w = 36, 64                                    # the model's matte
    rng = np.random.default_rng(3)
    scene = np.zeros((720, 1280, 3), np.float32)     # 720p: the change is judged at 320x180
    scene[:] = (150, 140, 120)                       # the wall
    scene[:, 20 * 20:44 * 20] = (90, 70, 60)          # the person
    base = np.zeros((h, w), np.float32)
    base[:, 20:44] = 1.0
    matte = Matte(MatteSettings())                     # the defaults: guided by the picture
    last, changes = None, []
    for i in range(40):
        frame = np.clip(scene + rng.normal(0, sigma, scene.shape), 0, 255).astype(np.uint8)
        raw = np.clip(base + rng.normal(0, 0.15, base.shape).astype(np.float32), 0, 1)
        alpha = matte.update(raw, (1280, 720), frame).astype(np.int16)
        if last is not None and i > 5:
            changes.append(np.abs(alpha - last).mean())
        last = alpha
    return float(np.mean(changes))


def test_camera_noise_does_not_let_the_models_flicker_through():
    """A webcam's noise changes every still pixel by a few levels each frame. Counted as motion,
    it let the model's flicker through the smoothing (issue 25: still edges shimmered on real,
    noisy clips); the frame's own noise floor is taken off the picture's change first, so a noisy
    still scene stays nearly as still as a clean one."""
    clean, noisy = _flicker_under_camera_noise(0.0), _flicker_under_camera_noise(2.0)
    assert noisy < 1.5 * clean, (noisy, clean)


def test_an_edge_that_moves_in_colour_alone_leaves_no_trail():
    """A red sweater over a green wall of the same brightness: in grey the picture hardly moves
    where the edge went; in colour it does, so the matte left behind goes at once."""
    wall, person = (90, 140, 60), (180, 90, 90)
    grey = cv2.cvtColor(np.array([[wall, person]], np.uint8), cv2.COLOR_RGB2GRAY)
    assert abs(int(grey[0, 0]) - int(grey[0, 1])) <= 1            # grey 116 and 117
    left_behind = _left_behind(wall, person)
    assert left_behind.max() <= 13, left_behind.max()
