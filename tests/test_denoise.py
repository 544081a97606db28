"""Temporal noise reduction: still noise averaged away, nothing moving trailed, cuts followed at
once, clean pictures untouched. Clips are made here, with Gaussian noise from a seeded generator."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from vcam import jit
from vcam.light.denoise import Denoise, channel_masks, denoise_pass

W, H = 320, 240


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def noisy(clean: np.ndarray, sigma: float, gen: np.random.Generator) -> np.ndarray:
    return np.clip(clean + gen.normal(0.0, sigma, clean.shape), 0, 255).round().astype(np.uint8)


def error_std(picture: np.ndarray, clean: np.ndarray) -> float:
    return float(np.std(picture.astype(np.float32) - clean.astype(np.float32)))


def gradient(w: int = W, h: int = H, low: float = 60.0, high: float = 120.0) -> np.ndarray:
    """A horizontal ramp, grey: no value near 0 or 255, so added noise is never clipped."""
    row = np.linspace(low, high, w, dtype=np.float32)
    return np.ascontiguousarray(np.broadcast_to(row[None, :, None], (h, w, 3))).round().astype(np.uint8)


@pytest.fixture(scope="module")
def scene(astronaut_rgb) -> np.ndarray:
    return cv2.resize(astronaut_rgb, (W, H), interpolation=cv2.INTER_AREA)


def run_still(clean: np.ndarray, sigma: float, frames: int, strength: float = 1.0, seed: int = 1):
    """The output after ``frames`` noisy frames of a still ``clean`` picture, and the last frame."""
    h, w = clean.shape[:2]
    dn, out, gen = Denoise((w, h), strength), np.empty_like(clean), rng(seed)
    for _ in range(frames):
        frame = noisy(clean, sigma, gen)
        dn.apply(frame, out)
    return out, frame, dn


def test_still_noise_is_averaged_away(scene):
    out, frame, _ = run_still(scene, 6.0, 20)
    before, after = error_std(frame, scene), error_std(out, scene)
    assert before > 5.0                                     # the clip is as noisy as asked
    assert after <= 0.5 * before, (before, after)           # asked: 40% less; about 64% less


def test_the_average_builds_up_from_the_first_frames(scene):
    errors = [error_std(run_still(scene, 6.0, n)[0], scene) for n in (1, 2, 3, 5, 20)]
    assert errors[0] > 5.0                     # the first frame passes as it is
    assert errors[0] > errors[1] > errors[2] > errors[3] > errors[4], errors
    # the second frame is weighed by the noise assumed before any is measured; from the third on,
    # by the noise measured, and the first frames are averaged evenly
    assert errors[2] < 0.8 * errors[0] and errors[3] < 0.65 * errors[0], errors


def test_strength_sets_how_much(scene):
    full = error_std(run_still(scene, 6.0, 20, strength=1.0)[0], scene)
    half = error_std(run_still(scene, 6.0, 20, strength=0.5)[0], scene)
    raw = error_std(noisy(scene, 6.0, rng(9)), scene)
    assert full < half < 0.6 * raw, (full, half, raw)


def test_a_moving_square_leaves_no_trail():
    bg = gradient()
    dn, out, gen = Denoise((W, H), 1.0), np.empty_like(bg), rng(2)
    rows, side, step = slice(100, 140), 40, 8
    for i in range(25):
        x = 8 + step * i
        clean = bg.copy()
        clean[rows, x:x + side] += np.uint8(100)
        frame = noisy(clean, 6.0, gen)
        dn.apply(frame, out)
        if i < 10:
            continue
        err = out.astype(np.float32) - clean
        behind = err[rows, x - 2 * step:x].mean(axis=(0, 2))   # where it was 1 and 2 frames ago
        assert np.abs(behind).max() < 3.0, (i, behind)
        # the square is where it is now, up to its leading edge (there since this frame only)
        assert abs(err[rows, x:x + side].mean()) < 2.0, i
        edge = err[rows, x + side - step:x + side]
        assert abs(edge.mean()) < 2.0 and np.abs(edge).mean() < 8.0, i
        # ... and the background away from it is still averaged
        assert error_std(out[160:, 40:280], clean[160:, 40:280]) < 0.6 * error_std(frame[160:, 40:280], clean[160:, 40:280])


def test_a_cut_is_followed_at_once(scene):
    other = np.ascontiguousarray(scene[::-1, ::-1])    # the same picture upside down: another scene
    dn, out, gen = Denoise((W, H), 1.0), np.empty_like(scene), rng(3)
    for _ in range(15):
        dn.apply(noisy(scene, 6.0, gen), out)
    for n in range(3):
        frame = noisy(other, 6.0, gen)
        dn.apply(frame, out)
        err = np.abs(out.astype(np.float32) - other)
        raw = np.abs(frame.astype(np.float32) - other)
        assert err.mean() <= raw.mean() + 0.5, (n, err.mean(), raw.mean())   # none of the old scene
        assert np.percentile(err, 99.9) <= 30.0, n


def test_reset_passes_the_next_frame_and_starts_again(scene):
    dn, out, gen = Denoise((W, H), 1.0), np.empty_like(scene), rng(4)
    for _ in range(10):
        dn.apply(noisy(scene, 6.0, gen), out)
    dn.reset()
    other = gradient()
    first = noisy(other, 6.0, gen)
    dn.apply(first, out)
    assert np.array_equal(out, first)
    errors = []
    for _ in range(4):
        frame = noisy(other, 6.0, gen)
        dn.apply(frame, out)
        errors.append(error_std(out, other) / error_std(frame, other))
    assert errors[0] < 1.0 and errors[1] < errors[0] and errors[3] < 0.7, errors   # averaged anew


def test_a_clean_picture_passes_unchanged(scene):
    dn, out = Denoise((W, H), 1.0), np.empty_like(scene)
    for _ in range(10):
        dn.apply(scene, out)
        assert np.abs(out.astype(np.int16) - scene).max() <= 1
    assert dn.noise < 0.5


def test_a_clean_moving_picture_passes_unchanged():
    bg = gradient()
    dn, out = Denoise((W, H), 1.0), np.empty_like(bg)
    for i in range(20):
        frame = bg.copy()
        frame[60:120, 8 * i:8 * i + 50] = (200, 40, 90)
        dn.apply(frame, out)
        assert np.abs(out.astype(np.int16) - frame).max() <= 1, i


def test_the_noise_is_measured_from_the_video():
    clean = gradient(low=70.0, high=180.0)
    for sigma in (2.0, 8.0):
        _, _, dn = run_still(clean, sigma, 15, seed=5)
        assert abs(dn.noise - sigma) < 0.2 * sigma, (sigma, dn.noise)
    _, _, dn = run_still(clean, 0.0, 15)
    assert dn.noise < 0.5


def test_the_frame_is_never_written_and_out_is_returned(scene):
    dn, out = Denoise((W, H), 1.0), np.zeros_like(scene)
    gen = rng(6)
    for _ in range(3):
        frame = noisy(scene, 6.0, gen)
        kept = frame.copy()
        result = dn.apply(frame, out)
        assert result is out and out.dtype == np.uint8 and out.shape == (H, W, 3)
        assert np.array_equal(frame, kept)


@pytest.mark.parametrize("size", [(33, 17), (1, 1), (2, 1), (5, 3)])
def test_odd_and_tiny_sizes(size):
    w, h = size
    clean = np.full((h, w, 3), 128, np.uint8)
    clean[..., 1] = 90
    dn, out, gen = Denoise((w, h), 1.0), np.empty_like(clean), rng(7)
    frames, outs = [], []
    for _ in range(60):
        frame = noisy(clean, 6.0, gen)
        dn.apply(frame, out)
        frames.append(frame.astype(np.float32))
        outs.append(out.astype(np.float32))
    raw, got = np.stack(frames[20:]) - clean, np.stack(outs[20:]) - clean
    assert got.std() < 0.6 * raw.std(), (size, got.std(), raw.std())
    assert abs(got.mean()) < 1.5
    dn.reset()
    for _ in range(5):
        dn.apply(clean, out)
    assert np.array_equal(out, clean)


def reference_pass(frame, state, t0, span, slope, w_min):
    """The kernel's per-pixel arithmetic in NumPy (int64): the new state and the output."""
    f, s = frame.astype(np.int64), state.astype(np.int64)
    d = np.abs((f << 8) - s).max(axis=2, keepdims=True)
    w = w_min + ((np.clip(d - t0, 0, span) * slope) >> 16)
    new = ((s * ((256 - w) << 8)) >> 16) + f * w
    return new.astype(np.uint16), ((new + 128) >> 8).astype(np.uint8)


@pytest.mark.parametrize("size", [(1, 1), (5, 3), (33, 17)])
def test_the_kernel_is_the_arithmetic_it_states(size):
    w, h = size
    gen = rng(8)
    frame = gen.integers(0, 256, (h, w, 3), dtype=np.uint8)
    state = gen.integers(0, 65281, (h, w, 3), dtype=np.uint16)
    for t0, span, w_min in ((512, 1024, 32), (0, 1, 256), (3000, 2000, 57)):
        slope = (256 - w_min) * 65536 // span
        s, out = state.copy(), np.empty_like(frame)
        grid = np.zeros((-(-h // 4), -(-w // 4)), np.uint8)
        denoise_pass(frame, s, out, np.zeros(3 * w + 4, np.uint16), channel_masks(w), grid, np.zeros(256, np.int32),
                     t0, span, slope, w_min, 0.25)
        ref_state, ref_out = reference_pass(frame, state, t0, span, slope, w_min)
        assert np.array_equal(s, ref_state) and np.array_equal(out, ref_out)
        r, i = np.indices(grid.shape)          # every 4th pixel of every 4th row, one channel in turn
        assert np.array_equal(grid, frame[4 * r, 4 * i, (r + i) % 3])


@pytest.mark.parametrize("frame, out", [
    (np.zeros((H, W, 3), np.float32), np.zeros((H, W, 3), np.uint8)),
    (np.zeros((H, W), np.uint8), np.zeros((H, W, 3), np.uint8)),
    (np.zeros((W, H, 3), np.uint8), np.zeros((H, W, 3), np.uint8)),
    (np.zeros((H, 2 * W, 3), np.uint8)[:, ::2], np.zeros((H, W, 3), np.uint8)),
    (np.zeros((H, W, 3), np.uint8), np.zeros((H, W, 3), np.uint16)),
    (np.zeros((H, W, 3), np.uint8), None),
])
def test_wrong_buffers_are_refused(frame, out):
    with pytest.raises(ValueError, match="expected"):
        Denoise((W, H), 1.0).apply(frame, out)


def test_out_cannot_be_the_frame():
    frame = np.zeros((H, W, 3), np.uint8)
    with pytest.raises(ValueError, match="never written"):
        Denoise((W, H), 1.0).apply(frame, frame)


@pytest.mark.parametrize("size, strength", [((W, H), 0.0), ((W, H), 1.5), ((W, H), -0.2), ((0, H), 1.0),
                                            ((W,), 1.0), ((W, 2.5), 1.0)])
def test_bad_settings_are_refused(size, strength):
    with pytest.raises(ValueError, match="expected"):
        Denoise(size, strength)


def test_warm_up_compiles_the_kernel_that_apply_calls(scene):
    assert any(k is denoise_pass for k in jit.registered())
    jit.warm_up()
    Denoise((W, H), 1.0).apply(scene, np.empty_like(scene))
    Denoise((W, H), 0.5).apply(scene, np.empty_like(scene))
    assert len(denoise_pass.signatures) == 1   # the warm-up sample has the real call's types
