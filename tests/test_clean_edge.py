"""Clean edges (vcam.effects.clean_edge): the person's own colour at a soft edge, over a plain wall and
over a busy room."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from vcam import scaling
from vcam.config import EffectSettings
from vcam.effects.clean_edge import CleanEdge, spreads, unmix
from vcam.effects.composite import Compositor


def soft_edge(h: int = 64, w: int = 96) -> np.ndarray:
    alpha = np.zeros((h, w), np.uint8)
    alpha[:, w // 2:] = 255
    alpha[:, w // 2 - 8:w // 2] = np.linspace(32, 224, 8).astype(np.uint8)   # a soft edge, 8 px wide
    return alpha


def run_unmix(camera: np.ndarray, alpha: np.ndarray, room: tuple, person: tuple) -> np.ndarray:
    """The kernel with flat estimates of the room and the person at a quarter of the size."""
    h, w = alpha.shape
    small = (h // 4, w // 4, 3)
    small_alpha = cv2.resize(alpha, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    out = camera.copy()
    back, front = np.full(small, room, np.uint8), np.full(small, person, np.uint8)
    columns = scaling.bilinear_columns(w, w // 4)
    sums = np.empty(small[:2] + (4,), np.float32)
    rows = (np.empty((w // 4, 3), np.float32), np.empty((w // 4, 3), np.float32))
    fallbacks = spreads(camera, alpha, small_alpha, back, front, *columns, sums, np.empty(small[:2], np.uint8), *rows)
    unmix(camera, alpha, small_alpha, back, front, *columns, sums, *fallbacks, *rows, out)
    return out


def test_a_plain_wall_is_taken_out_whole():
    """I = a*F + (1-a)*B over a plain wall B: F comes back (to rounding, more where a is small)
    even where the person's estimate is off (their colour at the edge is not their inside's),
    only the soft pixels of soft blocks are written, and sure pixels are kept."""
    alpha = soft_edge()
    h, w = alpha.shape
    inside = np.array((200, 60, 30), np.float32)
    edge = np.array((150, 100, 70), np.float32)          # the true colour at the edge, hair's
    fg_true = np.where((alpha == 255)[..., None], inside, edge)
    a = alpha.astype(np.float32)[..., None] / 255
    camera = np.clip(a * fg_true + (1 - a) * np.float32((20, 120, 220)) + 0.5, 0, 255).astype(np.uint8)
    out = run_unmix(camera, alpha, (20, 120, 220), (200, 60, 30))
    soft = (alpha > 0) & (alpha < 255)
    err = np.abs(out.astype(np.float32) - fg_true)[soft]
    assert err.max() <= 255 / 32 + 2, err.max()             # rounding of I, divided by a >= 32/255
    before = np.abs(camera.astype(np.float32) - fg_true)[soft].mean()
    assert err.mean() < before / 10
    assert np.array_equal(out[~soft], camera[~soft])


def test_a_busy_room_is_not_magnified_into_the_persons_colour():
    """The same edge over a busy room whose estimate is only its mean: the room's texture is
    not taken out divided by a (what knowing the room alone did): the colour stays near the
    person's, far nearer than the camera's and than a whole unmixing."""
    alpha = soft_edge()
    h, w = alpha.shape
    rng = np.random.default_rng(1)
    room = rng.integers(0, 2, (h, w, 1)).astype(np.float32) * np.float32((160, 200, 120)) + np.float32(40)
    mean = tuple(int(v) for v in room.reshape(-1, 3).mean(axis=0))
    person = np.float32((200, 60, 30))
    a = alpha.astype(np.float32)[..., None] / 255
    camera = np.clip(a * person + (1 - a) * room + 0.5, 0, 255).astype(np.uint8)
    out = run_unmix(camera, alpha, mean, (200, 60, 30))
    soft = (alpha > 0) & (alpha < 255)
    whole = np.clip((camera - (1 - a) * np.float32(mean)) / np.maximum(a, 1e-3), 0, 255)
    err = {name: np.abs(v.astype(np.float32) - person)[soft].mean()
           for name, v in (("clean", out), ("camera", camera), ("whole", whole))}
    assert err["clean"] < 0.5 * err["camera"] and err["clean"] < 0.5 * err["whole"], err


@pytest.mark.parametrize("spill", [0, 6])
def test_clean_edges_over_a_busy_room_are_no_worse_than_the_cameras_colour(spill):
    """The failure a real room showed (issue 25): behind the edge a busy room (stripes and
    blotches of high contrast, as shelves or a shop front), whose estimate from around the person
    misses its texture. Taking that estimate out of a faint pixel laid the texture, magnified,
    over the new background. Now the clean edge is no worse than the camera's colour, whether
    the matte is exact (``spill`` 0) or reaches ``spill`` px into the room, as a model's soft edge
    does; and over a plain room it still takes the room out (the test above)."""
    w, h = 320, 240
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot(xx - 160, yy - 150)
    a = np.clip((100.0 - r) / 6.0, 0.0, 1.0)                  # the truth: a disc, 6 px soft rim
    matte = np.clip((100.0 + spill - r) / (6.0 + spill), 0.0, 1.0)
    person = np.empty((h, w, 3), np.float32)
    person[...] = (210, 170, 140)
    rng = np.random.default_rng(3)
    stripes = (np.sin(xx / 1.7) * np.cos(yy / 2.3) > 0)[..., None] * np.float32(150.0)
    blotches = cv2.resize(rng.uniform(0, 100, (12, 16, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST)
    room = stripes + blotches
    camera = np.clip(a[..., None] * person + (1 - a[..., None]) * room + rng.normal(0, 2, room.shape) + 0.5,
                     0, 255).astype(np.uint8)
    alpha = np.clip(matte * 255 + 0.5, 0, 255).astype(np.uint8)
    new = np.full(3, (20, 200, 60), np.float32)
    truth = a[..., None] * person + (1 - a[..., None]) * new
    band = (matte > 0.02) & (matte < 0.98)
    p = alpha.astype(np.float32)[..., None] / 255
    errors = {}
    for clean in (True, False):
        comp = Compositor(EffectSettings("cutout", light_wrap=0.0, clean_edges=clean), (w, h))
        out = np.empty_like(camera)
        comp.apply(camera, alpha, out)
        comp.close()
        errors[clean] = np.abs(out.astype(np.float32) * p + new * (1 - p) - truth)[band].mean()
    assert errors[True] <= errors[False], errors


def test_a_still_frame_unmixes_with_the_estimates_of_the_last():
    """Where nothing moved (``still``), the room, the person's colour beside it and the spreads
    are those estimated on the last frame, and only the unmixing runs: the next frame of a still
    scene (new camera noise) comes out as a fresh estimate would make it, to a level or two; a
    first frame told it is still is estimated all the same; and the estimates really are the
    last frame's: a room that changed behind a frame called still is not seen."""
    from skimage.data import astronaut

    w, h = 320, 240
    room = cv2.resize(astronaut(), (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.clip((90.0 - np.hypot(xx - 160, yy - 150)) / 8.0, 0.0, 1.0)[..., None]
    alpha = np.clip(a[..., 0] * 255 + 0.5, 0, 255).astype(np.uint8)
    person = np.array((210, 170, 140), np.float32)
    rng = np.random.default_rng(5)

    def shot(behind: np.ndarray) -> np.ndarray:
        return np.clip(a * person + (1 - a) * behind + rng.normal(0, 2, behind.shape) + 0.5, 0, 255).astype(np.uint8)

    soft = (alpha >= 8) & (alpha <= 247)
    first, second = shot(room), shot(room)
    fresh, held, told = CleanEdge((w, h)), CleanEdge((w, h)), CleanEdge((w, h))
    out = {name: np.empty_like(first) for name in ("fresh", "held", "told", "first")}
    np.testing.assert_array_equal(told(first, alpha, out["told"], still=True), fresh(first, alpha, out["first"]))
    held(first, alpha, out["held"])
    held(second, alpha, out["held"], still=True)
    fresh(second, alpha, out["fresh"])
    diff = np.abs(out["held"].astype(np.int16) - out["fresh"])[soft]
    assert np.abs(out["fresh"].astype(np.int16) - second)[soft].mean() > 10   # the edge was cleaned
    assert diff.mean() < 1.0 and np.percentile(diff, 99) <= 4, (diff.mean(), np.percentile(diff, 99))
    moved = shot(255 - room)                      # a different room, called still: not seen
    held(moved, alpha, out["held"], still=True)
    fresh(moved, alpha, out["fresh"])
    assert np.abs(out["held"].astype(np.int16) - out["fresh"])[soft].mean() > 5
