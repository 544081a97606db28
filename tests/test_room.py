"""The room painted (a blur effect with a style): the person is left out of the painting, files get
it from the first frame, live frames never wait for it, a change of the blur keeps the painting,
and each new picture or source is painted anew."""
from __future__ import annotations

import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from vcam import Engine, Settings, scaling
from vcam.config import EffectSettings
from vcam.effects import style
from vcam.effects.composite import Compositor
from vcam.effects.painted_room import PAINTED_BLUR, PaintedRoom, plate
from vcam.fileio import pictures
from vcam.system.resources import assets_dir

W, H = 192, 108
RED = (230, 20, 20)


def scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A textured room (a picture) and a red person standing in it, with their alpha."""
    rng = np.random.default_rng(seed)
    room = scaling.cover_fit(pictures.load_image(assets_dir() / "backgrounds" / "office.jpg"), W, H)
    room = np.ascontiguousarray(np.roll(room, int(rng.integers(0, W)), axis=1)[:, :, ::-1])
    room = np.clip(room.astype(np.int16) // 2 + 60, 0, 255).astype(np.uint8)   # no red as bright as the person
    alpha = np.zeros((H, W), np.uint8)
    cv2.ellipse(alpha, (W // 2, 40), (16, 20), 0, 0, 360, 255, -1)
    cv2.rectangle(alpha, (W // 2 - 30, 60), (W // 2 + 30, H), 255, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 1.0)
    a = alpha[..., None].astype(np.float32) / 255
    frame = np.rint(np.float32(RED) * a + room * (1 - a)).astype(np.uint8)
    return frame, alpha


def shown(painting: np.ndarray, blur: float) -> np.ndarray:
    """The painting as the room shows it, out of focus by a share of the effect's blur."""
    return cv2.GaussianBlur(painting, (0, 0), PAINTED_BLUR * blur * H / 720, borderType=cv2.BORDER_REFLECT)


def redness(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0].astype(np.int16) - rgb[..., 1:].max(axis=-1)


def test_the_plate_leaves_the_person_out_and_keeps_the_room():
    frame, alpha = scene()
    kept = frame.copy()
    room = plate(frame, alpha)
    assert np.array_equal(frame, kept) and room.shape == frame.shape
    assert redness(room).max() < 100 < redness(frame).max()        # nothing of the person left
    far = cv2.dilate(alpha, np.ones((15, 15), np.uint8)) == 0
    assert np.array_equal(room[far], frame[far])                   # the room itself untouched
    assert np.array_equal(plate(frame, np.zeros_like(alpha)), frame)
    assert (plate(frame, np.full_like(alpha, 255)) == 128).all()   # no room seen: grey, not garbage


def test_a_file_gets_the_painted_room_from_its_first_frame_behind_the_person():
    frame, alpha = scene()
    out = np.empty_like(frame)
    comp = Compositor(EffectSettings("blur", style="cartoon", blur=24.0), (W, H))
    comp.apply(frame, alpha, out)
    comp.close()
    expected = shown(style.stylize(plate(frame, alpha), "cartoon"), 24.0)
    room = alpha == 0
    assert np.abs(out[room].astype(np.int16) - expected[room]).max() <= 1
    assert np.array_equal(out[alpha == 255], frame[alpha == 255])
    assert redness(out[room]).max() < 100                          # no red glow around the person
    plain = np.empty_like(frame)
    Compositor(EffectSettings("blur", blur=24.0), (W, H)).apply(frame, alpha, plain)
    assert np.abs(out[room].astype(np.int16) - plain[room]).mean() > 5   # the painting, not the plain blur


def wait_until_ready(room: PaintedRoom, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not room.ready and time.monotonic() < deadline:
        time.sleep(0.01)
    assert room.ready, room.problem


def test_live_frames_never_wait_and_the_painting_comes_when_ready():
    frame, alpha = scene()
    live = Compositor(EffectSettings("blur", style="watercolor"), (W, H), live=True)
    plain = Compositor(EffectSettings("blur"), (W, H))
    out, expected = np.empty_like(frame), np.empty_like(frame)
    live.apply(frame, alpha, out)
    plain.apply(frame, alpha, expected)
    assert np.array_equal(out, expected)            # meanwhile: the plain blur
    wait_until_ready(live.painted_room)
    live.apply(frame, alpha, out)
    room = alpha == 0
    assert np.abs(out[room].astype(np.int16) - live.painted_room.image[room]).max() == 0
    assert not np.array_equal(out, expected)
    # only the blur changed: the painting is kept, refocused at once (nothing painted again)
    sharper = Compositor(EffectSettings("blur", style="watercolor", blur=4.0), (W, H), live=True)
    sharper.take_over(live)
    assert sharper.painted_room.ready and sharper.painted_room.painting() is live.painted_room.painting() is not None
    other = Compositor(EffectSettings("blur", style="pencil"), (W, H), live=True)
    other.take_over(live)
    assert not other.painted_room.ready                     # another style: painted anew
    for comp in (live, plain, sharper, other):
        comp.close()


def test_each_picture_of_a_batch_gets_its_own_room_painted():
    engine = Engine(Settings(effect=EffectSettings("blur", style="cartoon", blur=24.0)))
    try:
        for seed in (0, 1):   # the second picture's room is its own, not the first's again
            frame, _ = scene(seed)
            out = np.empty_like(frame)
            alpha = engine.process(frame, out, {}, photo=True)
            expected = shown(style.stylize(plate(frame, alpha), "cartoon"), 24.0)
            room = alpha == 0
            assert room.mean() > 0.5 and np.abs(out[room].astype(np.int16) - expected[room]).max() <= 1, seed
    finally:
        engine.close()


@pytest.mark.parametrize("effect, said", (("blur", False), ("portrait", False), ("color", True)))
def test_the_cli_paints_the_room_for_the_blur_effects_and_says_where_a_style_does_nothing(tmp_path, effect, said):
    frame, _ = scene()
    assert cv2.imwrite(str(tmp_path / "me.png"), cv2.cvtColor(cv2.resize(frame, (160, 90)), cv2.COLOR_RGB2BGR))
    done = subprocess.run([sys.executable, "-m", "vcam", "process", "me.png", "--effect", effect, "--style", "cartoon",
                           "-o", "out.png"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert ("--style" in done.stderr) == said, done.stderr
    assert cv2.imread(str(tmp_path / "out.png")).shape == (90, 160, 3)
