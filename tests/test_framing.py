"""The crop that follows the person: more model pixels on them, a steady box, found again when lost."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from vcam.segment.follow import FollowCrop
from vcam.segment.onnx import OnnxSegmenter

W, H = 960, 540


@pytest.fixture(scope="module")
def framer():
    f = FollowCrop(OnnxSegmenter())
    yield f
    f.close()


@pytest.fixture(scope="module")
def person():
    """The astronaut at 240x240 and the model's own matte of her at full size (a reference)."""
    seg = OnnxSegmenter()
    img = data.astronaut()
    truth = seg.segment(cv2.resize(img, (256, 256), interpolation=cv2.INTER_AREA)) > 0.5
    seg.close()
    small = cv2.resize(img, (240, 240), interpolation=cv2.INTER_AREA)
    return small, cv2.resize(truth.astype(np.uint8), (240, 240), interpolation=cv2.INTER_NEAREST).astype(bool)


def scene(person, x: int, y: int = 300):
    """A grey room with the person's picture pasted at (x, y): frame and true mask."""
    img, mask = person
    frame = np.full((H, W, 3), 96, np.uint8)
    frame[y:y + 240, x:x + 240] = img
    truth = np.zeros((H, W), bool)
    truth[y:y + 240, x:x + 240] = mask
    return frame, truth


def full_size(framer, matte):
    return cv2.resize(matte, (W, H), interpolation=cv2.INTER_LINEAR) > 0.5


def iou(a, b):
    return np.logical_and(a, b).sum() / np.logical_or(a, b).sum()


def test_a_small_person_is_segmented_better_on_the_crop(framer, person):
    frame, truth = scene(person, 360)
    whole = OnnxSegmenter()
    raw = cv2.resize(whole.segment(frame), (W, H), interpolation=cv2.INTER_LINEAR) > 0.5
    whole.close()
    photo = full_size(framer, framer.segment_photo(frame))
    assert framer.box is None                               # a photo leaves no state behind
    assert iou(photo, truth) > iou(raw, truth) + 0.02
    assert iou(photo, truth) > 0.8


def test_photo_passes_give_one_steady_matte_and_the_tiles_only_touch_the_edge(framer, person):
    from vcam.segment import follow

    frame, truth = scene(person, 360)
    first = framer.segment_photo(frame).copy()
    assert first.dtype == np.float32 and first.shape == (288, 512)
    assert first.min() >= 0.0 and first.max() <= 1.0
    np.testing.assert_array_equal(framer.segment_photo(frame), first)   # no state carried over
    # Without the tiles: the matte differs from the crop passes' mean only near the outline,
    # and by at most TILE_SAY anywhere.
    say, follow.TILE_SAY = follow.TILE_SAY, 0.0
    try:
        crops = framer.segment_photo(frame).copy()
    finally:
        follow.TILE_SAY = say
    moved = np.abs(first - crops)
    assert 0.0 < moved.max() <= say + 1e-6
    edge = cv2.resize(truth.astype(np.uint8), (512, 288), interpolation=cv2.INTER_AREA)
    near = cv2.dilate(((edge > 0) ^ cv2.erode(edge, np.ones((3, 3), np.uint8)).astype(bool)).astype(np.uint8),
                      np.ones((9, 9), np.uint8)).astype(bool)
    assert moved[~near].mean() < 0.25 * moved[near].mean()


def test_the_box_follows_the_person_and_holds_still(framer, person):
    framer.reset()
    frame, truth = scene(person, 80)
    mattes = [framer.segment(frame).copy() for _ in range(4)]
    box = framer.box
    assert box is not None and box[2] - box[0] < W * 0.6    # a crop, not the whole frame
    x0, y0, x1, y1 = box
    assert x0 <= 80 and x1 >= 80 + 240 and y0 <= 300 and y1 >= 540 - 1
    assert np.array_equal(mattes[-1], mattes[-2])           # a still picture gives a still matte
    assert iou(full_size(framer, mattes[-1]), truth) > 0.8

    moved, truth = scene(person, 640)                       # she walks to the other side
    for _ in range(3):
        matte = framer.segment(moved)
    assert framer.box[0] >= 300
    assert iou(full_size(framer, matte), truth) > 0.8


def test_nobody_there_means_the_whole_frame_is_watched(framer, person):
    framer.reset()
    frame, _ = scene(person, 360)
    framer.segment(frame)
    assert framer.box is not None
    empty = np.full((H, W, 3), 96, np.uint8)
    matte = framer.segment(empty)
    assert framer.box is None and matte.max() < 0.5
    framer.segment(frame)                                   # she comes back: found at once
    assert framer.box is not None


@pytest.mark.parametrize("box", [(100.0, 40.0, 420.3, 360.3),      # inside the frame, fractional
                                 (-30.5, -12.0, 700.0, 500.0),     # past every edge
                                 (400.0, 20.0, 80.0, 340.0)])      # mirrored (a photo's pass)
def test_the_matte_of_the_crop_is_placed_as_warp_affine_places_it(box):
    """vcam.segment.follow_sampling against cv2.warpAffine (INTER_LINEAR, zero outside): the same
    taps, within warpAffine's 1/32-pixel weights."""
    from vcam.segment.follow_sampling import sample_matte, taps

    rng = np.random.default_rng(3)
    x0, y0, x1, y1 = box
    sx, sy = 256 / (x1 - x0), 256 / (y1 - y0)
    matte = cv2.GaussianBlur(rng.random((256, 256), dtype=np.float32), (9, 9), 0)
    ws = 0.5
    back = np.array([[ws / sx, 0.0, x0 * ws], [0.0, ws / sy, y0 * ws]], np.float32)
    want = cv2.warpAffine(matte, back, (320, 180), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    got = np.empty_like(want)
    sample_matte(matte, *taps(180, ws / sy, y0 * ws, 256), *taps(320, ws / sx, x0 * ws, 256), got)
    assert np.abs(got - want).max() <= 0.02
    assert np.count_nonzero(want == 0) == 0 or np.abs(got[want == 0]).max() <= 0.02   # zero outside the box


def test_the_followed_box_is_aligned_so_a_plain_resize_samples_it_as_the_warp_does():
    """The live box is moved by under a pixel so that cv2.resize of whole frame pixels takes the
    same samples as the warp of the box (within their fixed-point weights), at a third of the cost."""
    seg = OnnxSegmenter()
    framer = FollowCrop(seg)
    try:
        frame = cv2.resize(data.astronaut(), (1280, 720), interpolation=cv2.INTER_AREA)
        framer.segment(frame)
        framer.segment(frame)
        box = framer.box
        assert box is not None and framer._roi(box) is not None     # the live box is aligned
        x, y, w, h = framer._roi(box)
        assert abs(box[0] - x) < (box[2] - box[0]) / 256 and abs(box[2] - box[0] - w) < 1e-6
        resized = cv2.resize(frame[y:y + h, x:x + w], (256, 256), interpolation=cv2.INTER_LINEAR)
        x0, y0, x1, y1 = box
        sx, sy = 256 / (x1 - x0), 256 / (y1 - y0)
        forward = np.array([[sx, 0.0, -x0 * sx], [0.0, sy, -y0 * sy]], np.float32)
        warped = cv2.warpAffine(frame, forward, (256, 256), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        assert np.abs(resized.astype(int) - warped).max() <= 2
        assert np.abs(resized.astype(int) - warped).mean() < 0.3
        # a box off the frame, or not aligned, has no such pixels: the warp takes it
        assert framer._roi((-3.0, 0.0, 500.0, 500.0)) is None
        assert framer._roi((box[0] + 0.3, box[1], box[2] + 0.3, box[3])) is None
    finally:
        framer.close()
