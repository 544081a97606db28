"""The per-pixel kernels: exact integer blends, temporal matte smoothing, the downscaler."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from vcam import jit, kernels, scaling

H, W = 32, 48


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def random_rgb(seed: int, h: int = H, w: int = W) -> np.ndarray:
    return rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def reference_blend(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """round((f*a + b*(255-a)) / 255) in float64 (x/255 is never exactly half-way: 255 is odd)."""
    a = alpha.astype(np.float64)[..., None]
    v = (fg.astype(np.float64) * a + bg.astype(np.float64) * (255.0 - a)) / 255.0
    return np.floor(v + 0.5).astype(np.uint8)


# --- blend ---------------------------------------------------------------------------------------

def test_blend_matches_float_reference_on_random_inputs():
    fg, bg = random_rgb(1), random_rgb(2)
    alpha = rng(3).integers(0, 256, (H, W), dtype=np.uint8)
    out = np.zeros_like(fg)
    kernels.blend(fg, bg, alpha, out)
    np.testing.assert_array_equal(out, reference_blend(fg, bg, alpha))


def test_blend_is_exact_for_every_foreground_alpha_and_many_backgrounds():
    # Every (foreground, alpha) pair, each against a spread of backgrounds including both extremes.
    f, a = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    alpha = a.astype(np.uint8)
    for b in (0, 1, 127, 128, 200, 254, 255):
        fg = np.repeat(f.astype(np.uint8)[..., None], 3, axis=2)
        bg = np.full_like(fg, b)
        bg[..., 1] = 255 - b  # channels disagree so each is computed on its own
        out = np.zeros_like(fg)
        kernels.blend(fg, bg, alpha, out)
        np.testing.assert_array_equal(out, reference_blend(fg, bg, alpha), err_msg=f"background {b}")


def test_blend_full_alpha_gives_foreground_and_zero_alpha_gives_background():
    fg, bg = random_rgb(4), random_rgb(5)
    out = np.zeros_like(fg)
    kernels.blend(fg, bg, np.full((H, W), 255, np.uint8), out)
    np.testing.assert_array_equal(out, fg)
    kernels.blend(fg, bg, np.zeros((H, W), np.uint8), out)
    np.testing.assert_array_equal(out, bg)


def test_blend_writes_only_into_out():
    fg, bg = random_rgb(6), random_rgb(7)
    alpha = rng(8).integers(0, 256, (H, W), dtype=np.uint8)
    copies = fg.copy(), bg.copy(), alpha.copy()
    out = np.zeros_like(fg)
    kernels.blend(fg, bg, alpha, out)
    for before, after in zip(copies, (fg, bg, alpha)):
        np.testing.assert_array_equal(before, after)


def test_blend_half_alpha_is_the_rounded_mean():
    fg = np.full((H, W, 3), 200, np.uint8)
    bg = np.full((H, W, 3), 100, np.uint8)
    alpha = np.full((H, W), 128, np.uint8)
    out = np.zeros_like(fg)
    kernels.blend(fg, bg, alpha, out)
    # (200*128 + 100*127) / 255 = 150.196 -> 150
    assert np.all(out == 150)


# --- blend_color ---------------------------------------------------------------------------------

def test_blend_color_matches_float_reference_on_random_inputs():
    fg = random_rgb(9)
    colour = np.array([0, 177, 64], np.uint8)
    alpha = rng(10).integers(0, 256, (H, W), dtype=np.uint8)
    out = np.zeros_like(fg)
    kernels.blend_color(fg, colour, alpha, out)
    bg = np.broadcast_to(colour, fg.shape)
    np.testing.assert_array_equal(out, reference_blend(fg, bg, alpha))


def test_blend_color_extremes_give_foreground_or_colour_exactly():
    fg = random_rgb(11)
    colour = np.array([12, 34, 250], np.uint8)
    out = np.zeros_like(fg)
    kernels.blend_color(fg, colour, np.full((H, W), 255, np.uint8), out)
    np.testing.assert_array_equal(out, fg)
    kernels.blend_color(fg, colour, np.zeros((H, W), np.uint8), out)
    assert np.all(out == colour)


# --- smooth_matte --------------------------------------------------------------------------------

def test_smooth_matte_without_keep_returns_the_raw_matte():
    raw = rng(12).random((H, W), dtype=np.float32)
    state = rng(13).random((H, W), dtype=np.float32)
    out = np.zeros((H, W), np.uint8)
    kernels.smooth_matte(raw, state, np.zeros_like(raw), out, 0.0, 0.25, 0.5, 1.0, False)
    np.testing.assert_allclose(state, raw, atol=1e-6)
    np.testing.assert_array_equal(out, np.floor(raw.astype(np.float64) * 255 + 0.5).astype(np.uint8))


def test_smooth_matte_clips_raw_values_outside_0_1():
    raw = np.array([[-3.0, -0.01, 0.0, 0.5, 1.0, 1.01, 7.0]], np.float32)
    state = np.full(raw.shape, 0.5, np.float32)
    out = np.zeros(raw.shape, np.uint8)
    kernels.smooth_matte(raw, state, np.zeros_like(raw), out, 0.0, 0.25, 0.5, 1.0, False)
    np.testing.assert_array_equal(out, [[0, 0, 0, 128, 255, 255, 255]])
    assert state.min() >= 0.0 and state.max() <= 1.0


def test_smooth_matte_damps_a_small_change_and_passes_a_large_one():
    raw = np.array([[0.55, 0.8]], np.float32)      # +0.05 (small) and +0.3 (over motion)
    state = np.array([[0.5, 0.5]], np.float32)
    out = np.zeros(raw.shape, np.uint8)
    kernels.smooth_matte(raw, state, np.zeros_like(raw), out, 0.9, 0.25, 0.5, 1.0, False)
    assert 0.5 < state[0, 0] < 0.52      # moved only a small part of the way
    assert state[0, 1] == pytest.approx(0.8, abs=1e-6)
    assert out[0, 1] == 204


def test_smooth_matte_holds_a_still_outline_through_the_models_small_changes():
    """Issue 40: smoothing spreads a step of the model's matte over frames but follows all of it,
    so a model that settles a little differently each time moved a still outline as much as
    without smoothing. Where the picture is still, a change under ``hold`` is not followed at
    all, a larger one only by what exceeds it; where the picture moves, nothing is held."""
    state = np.full((1, 4), 0.5, np.float32)
    out = np.zeros(state.shape, np.uint8)
    still, moving = np.zeros(state.shape, np.float32), np.ones(state.shape, np.float32)
    for raw in (0.53, 0.47, 0.54, 0.46) * 5:      # the model's flicker about the outline
        kernels.smooth_matte(np.full(state.shape, raw, np.float32), state, still, out, 0.0, 0.25, 0.5, 1.0, True, 0.06)
        assert np.all(state == 0.5)
    kernels.smooth_matte(np.full(state.shape, 0.8, np.float32), state, still, out, 0.0, 0.25, 0.5, 1.0, True, 0.06)
    assert state[0, 0] == pytest.approx(0.74, abs=1e-6)                        # only what exceeds the hold
    kernels.smooth_matte(np.full(state.shape, 0.77, np.float32), state, moving, out, 0.9, 0.25, 0.5, 1.0, True, 0.06)
    assert state[0, 0] == pytest.approx(0.77, abs=1e-6)                        # moving: all of it, at once
    state[...] = 0.5                                 # without a hold (the default), every change is followed
    kernels.smooth_matte(np.full(state.shape, 0.53, np.float32), state, still, out, 0.0, 0.25, 0.5, 1.0, True)
    assert state[0, 0] == pytest.approx(0.53, abs=1e-6)


def test_smooth_matte_output_stays_in_range_for_random_sequences():
    g = rng(14)
    state = np.clip(g.random((H, W), dtype=np.float32), 0, 1)
    out = np.zeros((H, W), np.uint8)
    for _ in range(20):
        raw = (g.random((H, W), dtype=np.float32) * 1.4 - 0.2).astype(np.float32)
        kernels.smooth_matte(raw, state, np.zeros_like(raw), out, 0.54, 0.25, 0.5, 1.0, False)
        assert state.min() >= 0.0 and state.max() <= 1.0
        # out is the rounded state: never more than half a level away
        assert np.abs(out.astype(np.float64) - state.astype(np.float64) * 255).max() <= 0.5 + 1e-3


# --- Downscaler ----------------------------------------------------------------------------------

@pytest.mark.parametrize("src, dst", [((48, 32), (48, 32)), ((192, 128), (48, 32)),
                                      ((200, 130), (48, 32)), ((97, 61), (48, 32)),
                                      ((60, 40), (48, 32)), ((24, 16), (48, 32))])
def test_downscaler_gives_the_asked_size_and_keeps_a_flat_image_flat(src, dst):
    shrink = scaling.Downscaler(src, dst)
    img = np.full((src[1], src[0], 3), (10, 130, 250), np.uint8)
    out = np.zeros((dst[1], dst[0], 3), np.uint8)
    result = shrink(img, out)
    assert result is out
    assert out.shape == (dst[1], dst[0], 3)
    assert np.all(out == (10, 130, 250))


def test_downscaler_same_size_is_an_exact_copy():
    img = random_rgb(15)
    out = np.zeros_like(img)
    scaling.Downscaler((W, H), (W, H))(img, out)
    np.testing.assert_array_equal(out, img)


def test_downscaler_whole_factor_is_the_block_mean():
    img = random_rgb(16, 4 * H, 4 * W)
    out = np.zeros((H, W, 3), np.uint8)
    scaling.Downscaler((4 * W, 4 * H), (W, H))(img, out)
    mean = img.reshape(H, 4, W, 4, 3).astype(np.float64).mean(axis=(1, 3))
    # within rounding (one level: a cascade of halvings may round twice), and no overall shift
    assert np.abs(out - mean).max() <= 1.0 + 1e-9
    assert abs((out - mean).mean()) < 0.4


@pytest.mark.parametrize("src", [(192, 128), (200, 130), (150, 100)])
def test_downscaler_does_not_alias_a_fine_checkerboard(src):
    w, h = src
    y, x = np.mgrid[:h, :w]
    board = (((x + y) % 2) * 255).astype(np.uint8)
    img = np.repeat(board[..., None], 3, axis=2)
    out = np.zeros((H, W, 3), np.uint8)
    scaling.Downscaler(src, (W, H))(img, out)
    # every output pixel averages many squares: mid grey, not black or white stripes (aliasing)
    assert out.min() >= 110 and out.max() <= 145


def test_warm_up_runs():
    jit.warm_up()
    # and the kernels still work afterwards on fresh shapes
    out = np.zeros((2, 3, 3), np.uint8)
    kernels.blend_color(np.zeros((2, 3, 3), np.uint8), np.array([1, 2, 3], np.uint8),
                        np.zeros((2, 3), np.uint8), out)
    assert np.all(out == [1, 2, 3])


def test_a_first_run_says_it_is_preparing_its_kernels(tmp_path, astronaut_png):
    """A first run compiles the kernels for tens of seconds: `vcam process` says so instead of
    sitting silent. A later run loads them from the cache and says nothing about them."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    runs = []
    for name in ("first", "second"):
        out = tmp_path / f"{name}.png"
        done = subprocess.run([sys.executable, "-m", "vcam", "process", str(astronaut_png), "-o", str(out)],
                              env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr
        assert out.is_file()
        runs.append(done.stderr)
    assert "vcam: preparing the image kernels: the first run compiles them once" in runs[0]
    assert "vcam: image kernels ready in" in runs[0]
    assert any((tmp_path / "numba-cache").rglob("*.nbi"))        # and they were cached
    assert "preparing the image kernels" not in runs[1], runs[1]


def test_a_process_that_compiled_the_kernels_says_so_only_once(tmp_path):
    """The panel warms the kernels up at every pipeline start (a restart, a resume): after a
    first run compiled them, the later warm-ups in the same process compile nothing and say nothing."""
    script = ("import logging; logging.basicConfig(format='%(message)s'); from vcam import jit, kernels; "
              "jit.warm_up(); jit.warm_up()")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("preparing the image kernels") == 1, done.stderr
    assert done.stderr.count("image kernels ready in") == 1, done.stderr


def test_shared_halvings_equal_the_downscalers_and_follow_the_picture_asked():
    from vcam.scaling import Downscaler, Halvings

    rng = np.random.default_rng(5)
    frame = rng.integers(0, 256, (721, 1283, 3), np.uint8)        # odd sides: the last row and column go
    other = rng.integers(0, 256, (721, 1283, 3), np.uint8)
    halvings = Halvings()
    for k in (3, 1, 2, 0):
        size = (1283 >> k, 721 >> k)                                  # each halving: side // 2
        expected = np.empty((size[1], size[0], 3), np.uint8)
        Downscaler((1283, 721), size)(frame, expected)
        np.testing.assert_array_equal(halvings.level(frame, k), expected)
    first = halvings.level(frame, 2)
    assert halvings.level(frame, 2) is first                          # made once per frame
    small = np.empty_like(first)
    Downscaler((1283, 721), (320, 180))(other, small)
    np.testing.assert_array_equal(halvings.level(other, 2), small)    # another picture: its own
    frame[...] = other                                                # the same buffer, new content
    halvings.next_frame()
    np.testing.assert_array_equal(halvings.level(frame, 2), small)


# --- image_change -------------------------------------------------------------------------------

def _change(a: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray]:
    gain = np.empty(a.shape[:2], np.float32)
    previous = a.copy()
    floor = kernels.image_change(b, previous, gain, np.float32(0.2), np.float32(0.75), np.float32(1.0),
                                 np.float32(3.0), np.zeros(256, np.int32))
    np.testing.assert_array_equal(previous, b)          # the previous picture becomes this one
    return float(floor), gain


def test_image_change_takes_the_frames_noise_floor_off_and_counts_the_rest():
    rng = np.random.default_rng(0)
    room = rng.integers(40, 200, (90, 160, 3)).astype(np.int16)
    for sigma, low, high in ((0.0, 1.0, 1.0), (2.0, 1.0, 3.0), (6.0, 3.0, 3.0)):
        a = np.clip(room + rng.normal(0, sigma, room.shape), 0, 255).astype(np.uint8)
        b = np.clip(room + rng.normal(0, sigma, room.shape), 0, 255).astype(np.uint8)
        b[30:60, 50:80] = np.clip(b[30:60, 50:80].astype(np.int16) + 60, 0, 255)   # something moved
        floor, gain = _change(a, b)
        assert low <= floor <= high, (sigma, floor)
        assert gain.min() >= 0.0 and gain.max() <= 1.0
        assert gain[32:58, 52:78].min() == 1.0                                     # it moved, in full
        if sigma == 0.0:
            assert gain[:30].max() == 0.0                                          # no noise: nothing else
    quiet, loud = (_change(np.full((50, 50, 3), 100, np.uint8),
                           np.clip(100 + np.random.default_rng(1).normal(0, s, (50, 50, 3)), 0, 255).astype(np.uint8))[0]
                   for s in (1.0, 4.0))
    assert quiet < loud                                  # a noisier camera raises the floor


def test_image_change_sees_a_change_of_colour_at_the_same_brightness():
    a = np.zeros((20, 20, 3), np.uint8)
    a[:] = (90, 140, 60)
    b = a.copy()
    b[:, 10:] = (180, 90, 90)                           # the same grey, another colour
    _, gain = _change(a, b)
    assert gain[:, 10:].min() == 1.0 and gain[:, :10].max() == 0.0
