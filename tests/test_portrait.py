"""Portrait blur by the outline's distance (what it uses where the depth network is off or cannot
be used; the depth network's own tests are in test_depth.py) on a generated scene of known depth:
a person in front of textured planes that lie farther back the farther they are from the person
in the picture (the way a room recedes behind a subject)."""
from __future__ import annotations

import numpy as np
import pytest

from vcam.config import EffectSettings
from vcam.effects.composite import Compositor
from vcam.effects.portrait import PORTRAIT_NEAR, Portrait

W, H = 640, 360
EDGES = (220, 260, 300, 340, 380, 420)   # the planes: x from 220 (next to the person) outwards


def scene():
    """A checkerboard room (12-pixel squares) and a person block at x 100-220."""
    yy, xx = np.mgrid[0:H, 0:W]
    check = (((yy // 12) + (xx // 12)) % 2 * 160 + 40).astype(np.uint8)
    frame = np.dstack([check] * 3)
    alpha = np.zeros((H, W), np.uint8)
    alpha[60:, 100:220] = 255
    frame[alpha == 255] = (200, 120, 90)
    return frame, alpha


def run(effect: str, frame, alpha, blur: float = 20.0) -> np.ndarray:
    comp = Compositor(EffectSettings(effect, blur=blur, depth=False), (W, H))
    out = np.empty_like(frame)
    comp.apply(frame, alpha, out)
    comp.close()
    return out


def detail(out: np.ndarray, x0: int, x1: int) -> float:
    """How much of the checkerboard is left in a plane: the standard deviation of its grey."""
    return float(out[100:300, x0 + 8:x1 - 8, 1].astype(np.float32).std())


def test_the_blur_grows_with_depth_and_the_person_stays_sharp():
    frame, alpha = scene()
    out = run("portrait", frame, alpha)
    left = [detail(out, a, b) for a, b in zip(EDGES, EDGES[1:])]
    assert all(a > b for a, b in zip(left, left[1:])), left      # each plane farther back: blurrier
    plain = run("blur", frame, alpha)
    assert left[-1] == pytest.approx(detail(plain, EDGES[-2], EDGES[-1]), abs=2.0)   # far: the full blur
    assert left[0] > 3 * detail(plain, EDGES[0], EDGES[1])       # near: much less
    np.testing.assert_array_equal(out[alpha == 255], frame[alpha == 255])


def test_the_depth_rises_from_the_outline_and_scales_with_the_person():
    frame, alpha = scene()
    stage = Portrait((W, H), 20.0)
    depth = stage.depth(alpha).copy()
    f = W // depth.shape[1]
    row = depth[200 // f, 220 // f:]
    assert row[0] < 0.15 and row[-1] == pytest.approx(1.0) and (np.diff(row) >= -1e-6).all()
    small = np.zeros_like(alpha)
    small[210:, 140:180] = 255   # a person half as tall (farther off): the same pixels are a longer way back
    far_off = stage.depth(small)[300 // f, 180 // f + 10]
    close = Portrait((W, H), 20.0).depth(alpha)[300 // f, 220 // f + 10]
    assert far_off > 1.5 * close
    assert (Portrait((W, H), 20.0).depth(np.zeros_like(alpha)) == 1.0).all()   # nobody: all far
    assert 0 < PORTRAIT_NEAR < 1


def test_with_nobody_there_it_is_the_plain_blur():
    frame, _ = scene()
    empty = np.zeros((H, W), np.uint8)
    portrait, blur = run("portrait", frame, empty), run("blur", frame, empty)
    assert np.abs(portrait.astype(np.int16) - blur).mean() < 1.5
