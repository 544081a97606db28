"""The model skipped where nothing near the person's outline moved (vcam.segment.still_gate), through the real
Engine and the bundled model on NASA's astronaut portrait (public domain)."""
from __future__ import annotations

import numpy as np
import pytest

from vcam import scaling
from vcam.config import EffectSettings, SegmentSettings, Settings
from vcam.engine import Engine
from vcam.segment.still_gate import MAX_AGE, MOVES, WARM, StillGate

FRAMES = 30


def noisy(picture: np.ndarray, rng: np.random.Generator, sigma: float = 2.5) -> np.ndarray:
    """A camera's frame of a still scene: the same picture with fresh sensor noise."""
    return np.clip(picture + rng.normal(0, sigma, picture.shape), 0, 255).astype(np.uint8)


def counted(engine: Engine) -> list:
    """Count the model passes of ``engine``'s real segmenter (each call still goes through)."""
    calls = []
    real = engine.segmenter.segment

    def segment(frame):
        calls.append(1)
        return real(frame)

    engine.segmenter.segment = segment
    return calls


def run(frames, **segment) -> tuple[list, list, Engine]:
    engine = Engine(Settings(segment=SegmentSettings(**segment), effect=EffectSettings("cutout")))
    calls = counted(engine)
    out = np.empty(frames[0].shape, np.uint8)
    alphas = [engine.process(f, out, {}).copy() for f in frames]
    engine.close()
    return calls, alphas, engine


@pytest.fixture(scope="module")
def still_clip(astronaut_rgb):
    rng = np.random.default_rng(1)
    return [noisy(astronaut_rgb, rng) for _ in range(FRAMES)]


def test_a_still_person_under_camera_noise_runs_the_model_on_few_frames_at_a_bounded_age(still_clip):
    calls, alphas, engine = run(still_clip)
    # the first WARM frames, then once the matte is MAX_AGE frames old
    expected = WARM - 1 + -(-(FRAMES - WARM + 1) // (MAX_AGE + 1))
    assert len(calls) == expected < FRAMES / 3, f"{len(calls)} model passes in {FRAMES} frames"
    assert engine.model_share() == pytest.approx(len(calls) / FRAMES)
    every, every_alphas, every_engine = run(still_clip, skip_still=False)
    assert len(every) == FRAMES and every_engine.model_share() == 1.0
    # the person is the same person: the carried matte differs from the every-frame one only by
    # the model's own flicker on noise, which smoothing hides in both
    diff = np.abs(np.stack(alphas).astype(np.int16) - np.stack(every_alphas)).mean()
    assert diff < 1.0, f"mean alpha difference {diff:.2f} levels"


def test_a_moving_person_runs_the_model_on_every_frame(astronaut_rgb):
    """The portrait swept sideways 3 px a frame (about a slow sway at 512 wide): each frame's
    outline has moved from the last one the model saw."""
    rng = np.random.default_rng(2)
    pad = np.pad(astronaut_rgb, ((0, 0), (60, 60), (0, 0)), mode="edge")
    frames = [noisy(pad[:, 60 + 3 * (i % 20) - 30:][:, :512], rng) for i in range(20)]
    calls, _, engine = run(frames)
    assert len(calls) == 20


def test_a_change_inside_the_person_skips_the_model_and_one_in_the_room_does_not(still_clip, regions):
    """A blink or a talking mouth does not move the outline: the face changing leaves the model
    skipped; something that appears in the room (another person could) runs it."""
    face, room = regions["face"], regions["background"]

    def with_patch(region, level):
        frames = [f.copy() for f in still_clip[:WARM + MAX_AGE - 1]]
        for f in frames[WARM:]:
            f[region] = level
        return frames

    calls, _, _ = run(with_patch(face, 255))
    assert len(calls) == WARM, "a change inside the face ran the model"
    calls, _, _ = run(with_patch(room, 0))
    assert len(calls) == WARM + 1, "something new in the room did not run the model"


def test_a_new_source_or_a_photo_runs_the_model_at_once(still_clip):
    engine = Engine(Settings(effect=EffectSettings("cutout")))
    calls = counted(engine)
    out = np.empty(still_clip[0].shape, np.uint8)
    for f in still_clip[:WARM + 1]:
        engine.process(f, out, {}, generation=1)
    assert len(calls) == WARM
    engine.process(still_clip[WARM + 1], out, {}, generation=2)   # another source, the same picture
    assert len(calls) == WARM + 1
    engine.process(still_clip[WARM + 2], out, {}, photo=True)     # a photo: segmented afresh (its own path)
    engine.process(still_clip[WARM + 3], out, {})                  # and the next live frame too
    assert len(calls) == WARM + 2
    engine.close()


def test_the_gate_counts_a_change_of_moves_levels_and_leaves_out_the_inside():
    """The gate alone, on made pictures: a flat grey room with a square person in the middle."""
    halvings = scaling.Halvings()
    frame = np.full((360, 640, 3), 100, np.uint8)
    matte = np.zeros((90, 160), np.float32)
    matte[20:70, 50:110] = 1.0
    gate = StillGate()

    def still(picture):
        halvings.next_frame()
        return gate.still(picture, halvings)

    for _ in range(WARM):
        assert not still(frame)      # no matte yet, then the first passes after a reset
        gate.ran(matte)
    assert still(frame.copy())
    smaller = frame.copy()
    smaller[:, :320] += MOVES - 2    # half the room changes, by less than MOVES at any size
    assert still(smaller)
    room = frame.copy()
    room[0:80, 0:160] += MOVES + 4   # a part of the room, well over SHARE of it, changes
    assert not still(room)
    gate.ran(matte)
    inside = room.copy()
    inside[120:240, 240:400] = 250   # the person's inside (rows 80-280, columns 200-440)
    assert still(inside)
    gate.reset()
    assert not still(inside)   # reset: the model runs on the next frames


def test_the_stats_line_says_how_often_the_model_ran():
    from vcam.live.stats import Stats, format_line

    snap = Stats().snapshot()
    snap.update(segmenter="onnx/general cpu", model_share=0.25)
    assert "model on 25% of frames" in format_line(snap)
    snap.update(model_share=None)   # before the first frame
    assert "model on" not in format_line(snap)


@pytest.mark.parametrize("size", [(1, 1), (3, 2), (2, 3), (160, 1), (17, 900)])
def test_frames_of_any_size_go_through_the_gate(size):
    """A 1x1 picture too (OpenCV would take its 1x1 grey for a scalar): still frames of any size
    skip the model after the first passes, as a 720p frame does."""
    w, h = size
    picture = np.random.default_rng(4).integers(0, 256, (h, w, 3), dtype=np.uint8)
    calls, alphas, engine = run([picture] * (WARM + 2))
    assert len(calls) == WARM and all(a.shape == (h, w) for a in alphas)


def test_a_still_room_is_defocused_once_per_model_pass_and_looks_the_same(still_clip):
    """Blur: where the model was skipped (nothing moved), the room defocused last is kept; the
    picture differs from defocusing every frame only by the blurred sensor noise."""
    def blurred(skip_still: bool):
        engine = Engine(Settings(segment=SegmentSettings(skip_still=skip_still), effect=EffectSettings("blur")))
        calls = counted(engine)
        out = np.empty(still_clip[0].shape, np.uint8)
        engine.process(still_clip[0], out, {})
        defocused = []
        real = engine.compositor._defocus

        def defocus(*args):
            defocused.append(1)
            return real(*args)

        engine.compositor._defocus = defocus
        frames = [engine.process(f, out, {}) is not None and out.copy() for f in still_clip[1:]]
        engine.close()
        return calls, defocused, frames

    calls, defocused, frames = blurred(True)
    assert len(defocused) == len(calls) - 1 < len(still_clip) / 3   # the first frame's was before counting
    every_calls, every_defocused, every_frames = blurred(False)
    assert len(every_defocused) == len(still_clip) - 1
    diff = np.abs(np.stack(frames).astype(np.int16) - np.stack(every_frames)).mean()
    assert diff < 0.5, f"mean difference {diff:.2f} levels"
