"""Effects: none, blur, colour, replace (picture or looping video), matte, cut-out; bad backgrounds."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vcam.config import EffectSettings
from vcam.effects.composite import Compositor
from vcam.errors import VcamError

W, H = 48, 32
SIZE = (W, H)


def noisy_frame(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def person_alpha() -> np.ndarray:
    """Opaque (255) in the middle third of the columns, transparent (0) elsewhere."""
    alpha = np.zeros((H, W), np.uint8)
    alpha[:, W // 3: 2 * W // 3] = 255
    return alpha


def run(settings: EffectSettings, frame: np.ndarray, alpha: np.ndarray, size=SIZE) -> np.ndarray:
    comp = Compositor(settings, size)
    try:
        out = np.zeros_like(frame)
        comp.apply(frame, alpha, out)
        return out
    finally:
        comp.close()


def write_png(path: Path, rgb: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def write_video(path: Path, levels: list[int], size=(64, 48), fps: float = 10.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened()
    for level in levels:
        writer.write(np.full((size[1], size[0], 3), level, np.uint8))
    writer.release()
    return path


# --- none, cutout, matte -------------------------------------------------------------------------

@pytest.mark.parametrize("effect", ["none", "cutout"])
def test_none_and_cutout_return_the_frame_exactly(effect):
    frame = noisy_frame(1)
    out = run(EffectSettings(effect), frame, person_alpha())
    np.testing.assert_array_equal(out, frame)


def test_matte_is_the_alpha_in_grey():
    alpha = np.random.default_rng(2).integers(0, 256, (H, W), dtype=np.uint8)
    out = run(EffectSettings("matte"), noisy_frame(3), alpha)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], alpha)


# --- colour --------------------------------------------------------------------------------------

def test_color_fills_the_background_and_keeps_the_person():
    frame = noisy_frame(4)
    alpha = person_alpha()
    out = run(EffectSettings("color", color=(10, 200, 30)), frame, alpha)
    assert np.all(out[alpha == 0] == (10, 200, 30))
    np.testing.assert_array_equal(out[alpha == 255], frame[alpha == 255])


def test_color_half_alpha_is_between_frame_and_colour():
    frame = np.full((H, W, 3), 200, np.uint8)
    out = run(EffectSettings("color", color=(0, 0, 0)), frame, np.full((H, W), 128, np.uint8))
    assert np.all(out == 100)    # round(200 * 128 / 255) = round(100.39)


# --- blur ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("blur, size", [(16.0, (48, 32)), (100.0, (48, 32)), (40.0, (160, 96)), (100.0, (320, 180))])
def test_blur_smooths_the_background_and_keeps_the_person_exact(blur, size):
    w, h = size
    frame = np.random.default_rng(5).integers(0, 256, (h, w, 3), dtype=np.uint8)
    alpha = np.zeros((h, w), np.uint8)
    alpha[:, w // 3: 2 * w // 3] = 255
    out = run(EffectSettings("blur", blur=blur), frame, alpha, size)
    assert out.shape == frame.shape
    np.testing.assert_array_equal(out[alpha == 255], frame[alpha == 255])
    bg_in = frame[alpha == 0].astype(np.float64)
    bg_out = out[alpha == 0].astype(np.float64)
    assert bg_out.var() < 0.5 * bg_in.var()
    assert abs(bg_out.mean() - bg_in.mean()) < 10       # blurred, not darkened or brightened


def test_stronger_blur_smooths_more():
    size = (160, 96)
    frame = np.random.default_rng(6).integers(0, 256, (96, 160, 3), dtype=np.uint8)
    alpha = np.zeros((96, 160), np.uint8)
    weak = run(EffectSettings("blur", blur=5.0), frame, alpha, size)
    strong = run(EffectSettings("blur", blur=60.0), frame, alpha, size)
    assert strong.astype(np.float64).var() < weak.astype(np.float64).var()


def test_blur_of_a_flat_frame_is_the_same_flat_frame():
    frame = np.full((H, W, 3), (40, 90, 210), np.uint8)
    out = run(EffectSettings("blur", blur=30.0), frame, np.zeros((H, W), np.uint8))
    np.testing.assert_array_equal(out, frame)


def test_blur_follows_the_frame_from_one_call_to_the_next():
    comp = Compositor(EffectSettings("blur"), SIZE)
    alpha = np.zeros((H, W), np.uint8)
    out = np.zeros((H, W, 3), np.uint8)
    comp.apply(np.full((H, W, 3), 50, np.uint8), alpha, out)
    assert np.all(out == 50)
    comp.apply(np.full((H, W, 3), 180, np.uint8), alpha, out)
    assert np.all(out == 180)                           # no stale background kept
    comp.close()


def red_person_on_green(size=(320, 180)):
    """A red person (a centred block, alpha 255) in front of a green wall (alpha 0)."""
    w, h = size
    frame = np.zeros((h, w, 3), np.uint8)
    frame[...] = (20, 160, 40)
    alpha = np.zeros((h, w), np.uint8)
    alpha[h // 4:, w // 3: 2 * w // 3] = 255
    frame[alpha == 255] = (220, 20, 20)
    return frame, alpha


@pytest.mark.parametrize("effect", ["blur", "bokeh", "portrait"])
def test_no_halo_the_blurred_background_next_to_the_person_holds_none_of_their_colour(effect):
    frame, alpha = red_person_on_green()
    w = frame.shape[1]
    near = np.zeros_like(alpha, bool)                   # the background within 6 px of the person
    near[:, w // 3 - 6: w // 3] = True
    near[:, 2 * w // 3: 2 * w // 3 + 6] = True
    near &= alpha == 0
    clean = run(EffectSettings(effect, blur=30.0), frame, alpha, (320, 180))
    assert np.abs(clean[near].astype(int) - (20, 160, 40)).max() <= 3      # pure wall colour
    haloed = run(EffectSettings(effect, blur=30.0, halo_free=False), frame, alpha, (320, 180))
    assert haloed[near][:, 0].mean() > 40               # without it, red glows into the wall
    np.testing.assert_array_equal(clean[alpha == 255], frame[alpha == 255])


def test_bokeh_blooms_highlights_into_discs_brighter_than_a_blur():
    size = (320, 180)
    frame = np.full((180, 320, 3), 60, np.uint8)
    frame[40:44, 60:64] = 255                            # a small lamp in the background
    alpha = np.zeros((180, 320), np.uint8)
    bokeh = run(EffectSettings("bokeh", blur=20.0), frame, alpha, size).astype(int)
    blur = run(EffectSettings("blur", blur=20.0), frame, alpha, size).astype(int)
    lamp = (slice(30, 54), slice(50, 74))
    assert bokeh[lamp].sum() > blur[lamp].sum()         # the highlight keeps more light
    assert bokeh[42, 62].max() < 255 and bokeh[42, 68].max() > 62   # spread into a disc (radius 7.5)
    far = bokeh[120:, 200:]
    assert np.abs(far - 60).max() <= 1                  # the rest of the wall is unchanged


# --- replace: picture ----------------------------------------------------------------------------

def test_replace_with_a_picture_cover_fits_it(tmp_path):
    # A 100x50 picture on a 48x32 (3:2) frame: cover-fitting keeps the middle 75 columns. Red bands
    # at the sides (outside those) must be cropped away, not squeezed in; in the middle a green top
    # half lies over a blue bottom half and must stay top and bottom.
    bg = np.zeros((50, 100, 3), np.uint8)
    bg[:, :] = (255, 0, 0)
    bg[:25, 11:89] = (0, 255, 0)
    bg[25:, 11:89] = (0, 0, 255)
    path = write_png(tmp_path / "bg.png", bg)
    frame = noisy_frame(7)
    alpha = person_alpha()
    out = run(EffectSettings("replace", background=str(path), light_wrap=0.0), frame, alpha)
    np.testing.assert_array_equal(out[alpha == 255], frame[alpha == 255])
    assert out[alpha == 0][:, 0].max() <= 8       # no red anywhere in the background
    top = out[: H // 2 - 2][alpha[: H // 2 - 2] == 0]
    bottom = out[H // 2 + 2:][alpha[H // 2 + 2:] == 0]
    assert np.all(top[:, 1] >= 247) and np.all(top[:, 2] <= 8)
    assert np.all(bottom[:, 2] >= 247) and np.all(bottom[:, 1] <= 8)


def test_light_wrap_lets_the_new_background_shine_onto_the_edge_only(tmp_path):
    size = (320, 180)
    frame, alpha = red_person_on_green(size)
    blue = write_png(tmp_path / "blue.png", np.full((180, 320, 3), (30, 60, 250), np.uint8))
    plain = run(EffectSettings("replace", background=str(blue), light_wrap=0.0), frame, alpha, size)
    wrapped = run(EffectSettings("replace", background=str(blue), light_wrap=0.5), frame, alpha, size)
    np.testing.assert_array_equal(wrapped[alpha == 0], plain[alpha == 0])     # the background as is
    edge = (slice(100, 170), slice(107, 110))            # inside the person, at the left edge
    inner = (slice(100, 170), slice(150, 170))           # deep inside
    assert wrapped[edge][..., 2].mean() > plain[edge][..., 2].mean() + 20      # blue light on the edge
    np.testing.assert_array_equal(wrapped[inner], plain[inner])               # none inside


def test_replace_with_a_tall_picture_crops_top_and_bottom(tmp_path):
    bg = np.zeros((200, 60, 3), np.uint8)
    bg[:, :] = (255, 255, 255)
    bg[:60] = (255, 0, 0)       # to be cropped (kept height is 60*32/48 = 40 rows around the middle)
    bg[140:] = (255, 0, 0)
    path = write_png(tmp_path / "tall.png", bg)
    out = run(EffectSettings("replace", background=str(path)), noisy_frame(8), np.zeros((H, W), np.uint8))
    assert np.all(out == 255)


def test_replace_accepts_a_home_relative_path(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    write_png(tmp_path / "bg.png", np.full((10, 10, 3), 77, np.uint8))
    out = run(EffectSettings("replace", background="~/bg.png"), noisy_frame(9), np.zeros((H, W), np.uint8))
    assert np.all(out == 77)


# --- replace: video ------------------------------------------------------------------------------

def test_replace_with_a_video_loops_through_its_frames(tmp_path):
    levels = [30, 90, 150, 210]
    path = write_video(tmp_path / "bg.mp4", levels)
    comp = Compositor(EffectSettings("replace", background=str(path), light_wrap=0.0), SIZE)
    try:
        frame = noisy_frame(10)
        alpha = person_alpha()
        out = np.zeros_like(frame)
        seen = []
        for _ in range(3 * len(levels) + 1):
            comp.apply(frame, alpha, out)
            np.testing.assert_array_equal(out[alpha == 255], frame[alpha == 255])
            back = out[alpha == 0].astype(np.float64)
            assert back.std() < 3                      # a flat picture, scaled to cover
            nearest = min(levels, key=lambda v: abs(v - back.mean()))
            assert abs(nearest - back.mean()) < 8
            seen.append(nearest)
    finally:
        comp.close()
        comp.close()   # safe twice
    assert set(seen) == set(levels)
    # looped: each frame follows the one before it in the file, wrapping at the end
    for a, b in zip(seen, seen[1:]):
        assert levels.index(b) == (levels.index(a) + 1) % len(levels), seen


def write_two_tone_video(path: Path, frames: int) -> Path:
    """``frames`` identical frames: left half red, right half blue (RGB)."""
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[:, :32] = (220, 20, 20)
    rgb[:, 32:] = (20, 20, 220)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
    assert writer.isOpened()
    for _ in range(frames):
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def assert_two_tone_background(out: np.ndarray) -> None:
    left = out[:, : W // 2 - 3].reshape(-1, 3).astype(int)
    right = out[:, W // 2 + 3:].reshape(-1, 3).astype(int)
    assert np.all(np.abs(left - (220, 20, 20)).max(axis=1) < 20), "left half should be red"
    assert np.all(np.abs(right - (20, 20, 220)).max(axis=1) < 20), "right half should be blue"


def test_replace_with_a_short_video_keeps_showing_it(tmp_path):
    path = write_two_tone_video(tmp_path / "two.mp4", 2)
    comp = Compositor(EffectSettings("replace", background=str(path)), SIZE)
    out = np.zeros((H, W, 3), np.uint8)
    for _ in range(5):
        comp.apply(noisy_frame(11), np.zeros((H, W), np.uint8), out)
        assert_two_tone_background(out)
    comp.close()


def test_replace_with_a_single_frame_video_keeps_showing_it(tmp_path):
    path = write_two_tone_video(tmp_path / "one.mp4", 1)
    comp = Compositor(EffectSettings("replace", background=str(path)), SIZE)
    out = np.zeros((H, W, 3), np.uint8)
    try:
        for _ in range(3):
            comp.apply(noisy_frame(11), np.zeros((H, W), np.uint8), out)
            assert_two_tone_background(out)
    finally:
        comp.close()


# --- bad backgrounds -----------------------------------------------------------------------------

def bad_background(tmp_path: Path, kind: str) -> Path:
    if kind == "missing":
        return tmp_path / "nothing-here.png"
    if kind == "folder":
        (tmp_path / "pictures.png").mkdir()
        return tmp_path / "pictures.png"
    if kind == "empty":
        path = tmp_path / "empty.png"
        path.write_bytes(b"")
        return path
    if kind == "corrupt-png":
        path = tmp_path / "corrupt.png"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
        return path
    if kind == "truncated-png":
        good = tmp_path / "good.png"
        write_png(good, noisy_frame(12))
        path = tmp_path / "truncated.png"
        path.write_bytes(good.read_bytes()[:200])
        return path
    if kind == "text":
        path = tmp_path / "notes.txt"
        path.write_text("this is not a picture\n")
        return path
    if kind == "corrupt-video":
        path = tmp_path / "clip.mp4"
        path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 200)
        return path
    raise AssertionError(kind)


@pytest.mark.parametrize("kind, message", [
    ("missing", "does not exist"),
    ("folder", "is a folder, not a file"),
    ("empty", "empty"),
    ("corrupt-png", "cannot be read as a picture"),
    ("truncated-png", "cannot be decoded: the file is damaged or cut short"),
    ("text", "cannot be read as a picture"),
    ("corrupt-video", "(MP4/MOV) has no video stream that can be decoded"),
])
def test_bad_background_raises_a_helpful_error(tmp_path, kind, message):
    path = bad_background(tmp_path, kind)
    with pytest.raises(VcamError) as info:
        Compositor(EffectSettings("replace", background=str(path)), SIZE)
    text = str(info.value)
    assert message in text
    assert path.name in text                  # says which file
    assert info.value.fix                     # and what to do about it


def test_replace_without_a_background_is_refused_by_the_settings():
    with pytest.raises(VcamError, match="needs a background"):
        EffectSettings("replace")


def test_harmonize_moves_the_person_towards_the_backgrounds_light_slowly_and_no_further(tmp_path):
    size = (320, 180)
    rng = np.random.default_rng(3)
    frame = rng.integers(90, 170, (180, 320, 3), dtype=np.uint8)     # a grey, textured person
    alpha = np.zeros((180, 320), np.uint8)
    alpha[:, 100:220] = 255
    warm = write_png(tmp_path / "warm.png", np.full((180, 320, 3), (230, 140, 60), np.uint8))
    plain = run(EffectSettings("replace", background=str(warm), light_wrap=0.0), frame, alpha, size)
    person = alpha == 255

    def ratio(img):   # red over blue, the warmth of the person
        return img[person][:, 0].mean() / img[person][:, 2].mean()

    results = {}
    for strength in (0.3, 1.0):
        comp = Compositor(EffectSettings("replace", background=str(warm), light_wrap=0.0, harmonize=strength), size)
        out = np.zeros_like(frame)
        comp.apply(frame, alpha, out)
        results[strength] = ratio(out)                                       # from the first frame
        np.testing.assert_array_equal(out[~person], plain[~person])        # the background untouched
        # The person's light changes (they turn a lamp on): the tint follows over a few frames,
        # without a jump, and settles.
        lit = np.clip(frame.astype(int) + (0, 0, 60), 0, 255).astype(np.uint8)
        steps = []
        for _ in range(60):
            comp.apply(lit, alpha, out)
            steps.append(out.astype(int))
        comp.close()
        off = [np.abs(step - steps[-1])[person].mean() for step in steps]
        assert off[0] > 1.0 and off[0] > off[5] > off[20] and off[-2] < 0.2
    results[0.0] = ratio(plain)
    assert results[0.0] < results[0.3] < results[1.0]                         # warmer with strength
    assert results[1.0] < 230 / 60                                            # never past the light itself
    # Nobody in the picture: nothing to judge, the background exactly.
    nobody = run(EffectSettings("replace", background=str(warm), light_wrap=0.0, harmonize=1.0),
                 frame, np.zeros_like(alpha), size)
    np.testing.assert_array_equal(nobody, np.full_like(frame, (230, 140, 60)))


def test_harmonize_with_light_wrap_tints_the_person_and_keeps_the_wrap(tmp_path):
    size = (320, 180)
    frame, alpha = red_person_on_green(size)
    blue = write_png(tmp_path / "blue.png", np.full((180, 320, 3), (30, 60, 250), np.uint8))
    wrapped = run(EffectSettings("replace", background=str(blue), light_wrap=0.5), frame, alpha, size)
    both = run(EffectSettings("replace", background=str(blue), light_wrap=0.5, harmonize=1.0), frame, alpha, size)
    inner = (slice(100, 170), slice(150, 170))
    np.testing.assert_array_equal(both[alpha == 0], wrapped[alpha == 0])
    assert both[inner][..., 2].mean() > wrapped[inner][..., 2].mean() + 5    # bluer inside too


@pytest.mark.parametrize("effect", ["replace", "color", "cutout"])
def test_clean_edges_take_the_old_background_out_of_a_soft_edge(tmp_path, effect):
    """A person (F) over a room (B) with a soft edge: laid over a new background, the clean-edge
    composite is near the truth a*F + (1-a)*N; the camera pixel would carry the room's colour."""
    w, h = 320, 240
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.clip((100.0 - np.hypot(xx - 160, yy - 150)) / 12.0, 0.0, 1.0)        # a disc, 12 px soft rim
    person = np.empty((h, w, 3), np.float32)
    person[...] = (210, 170, 140)
    room = np.empty((h, w, 3), np.float32)
    room[...] = (40, 90, 200)
    camera = np.clip(a[..., None] * person + (1 - a[..., None]) * room + 0.5, 0, 255).astype(np.uint8)
    alpha = np.clip(a * 255 + 0.5, 0, 255).astype(np.uint8)
    new = np.full((h, w, 3), (20, 200, 60), np.uint8)
    path = tmp_path / "new.png"
    cv2.imwrite(str(path), cv2.cvtColor(new, cv2.COLOR_RGB2BGR))
    truth = a[..., None] * person + (1 - a[..., None]) * new.astype(np.float32)
    rim = (a > 0.05) & (a < 0.95)
    errors = {}
    for clean in (True, False):
        settings = EffectSettings(effect, background=str(path) if effect == "replace" else None,
                                  color=(20, 200, 60), light_wrap=0.0, clean_edges=clean)
        comp = Compositor(settings, (w, h))
        out = np.empty_like(camera)
        comp.apply(camera, alpha, out)
        comp.close()
        if effect == "cutout":   # laid over the new background by whoever uses the cut-out
            p = alpha.astype(np.float32)[..., None] / 255
            out = out.astype(np.float32) * p + new.astype(np.float32) * (1 - p)
        errors[clean] = np.abs(out.astype(np.float32) - truth)[rim].mean()
        assert np.array_equal(np.asarray(out)[alpha == 255].astype(np.uint8), camera[alpha == 255])   # the person as shot
    assert errors[True] < 0.35 * errors[False], errors
