"""Auto-frame on synthetic sequences with known motion (a portrait moved over a generated room),
through the real engine and model, the real pipeline into a recording virtual camera, and
`vcam process` on a real video file."""
from __future__ import annotations

import logging
import math
import subprocess
import sys

import cv2
import numpy as np
import pytest
from helpers import SweptPortrait, count_frames, head_middle

from vcam import VcamError
from vcam.config import CaptureSettings, EffectSettings, FramingSettings, MatteSettings, OutputSettings, SegmentSettings, Settings
from vcam.effects import autoframe
from vcam.engine import Engine
from vcam.live.pipeline import Pipeline

W, H = 1280, 720
FPS = 30.0
SETTLED = round(0.5 * FPS)   # frames: half a second


@pytest.fixture(scope="module")
def portrait() -> SweptPortrait:
    return SweptPortrait((W, H))


def framing_engine(zoom: float = 2.0, effect: str = "none", size=(W, H)) -> Engine:
    engine = Engine(Settings(effect=EffectSettings(effect), framing=FramingSettings(autoframe=True, zoom=zoom)))
    engine.prepare(size, FPS)
    return engine


def offset_in_output(truth: np.ndarray, crop: np.ndarray, width: int = W) -> float:
    """Where the true head and shoulders fall in the framed picture: share of its width from the
    middle."""
    cx, _, cw = crop
    return ((head_middle(truth) - (cx - cw / 2)) * width / cw - width / 2) / width


def test_a_person_swept_across_the_frame_is_kept_centred_and_never_shrunk(portrait):
    engine = framing_engine(zoom=2.0)
    out = np.empty((H, W, 3), np.uint8)
    frames = 150
    offsets_in, offsets_out = [], []
    try:
        for t in range(frames):
            picture, truth = portrait.frame(W * (0.5 + 0.2 * math.sin(2 * math.pi * t / frames)))
            alpha = engine.process(picture, out, {})
            crop = engine.autoframe.crop
            assert out.shape == (H, W, 3) and out.dtype == np.uint8 and alpha.shape == (H, W)
            assert crop[2] <= W + 1e-6                     # a crop of the picture: the person only grows
            offsets_in.append(head_middle(truth) / W - 0.5)
            offsets_out.append(offset_in_output(truth, crop))
    finally:
        engine.close()
    before, after = np.abs(offsets_in[SETTLED:]), np.abs(offsets_out[SETTLED:])
    assert before.mean() > 0.1                          # the input is well off centre ...
    assert after.mean() < 0.08                          # ... the output centred within 8% of the width
    assert after.mean() < 0.4 * before.mean()


def test_a_still_person_gets_a_still_crop(portrait):
    engine = framing_engine(zoom=1.8)
    out = np.empty((H, W, 3), np.uint8)
    picture, truth = portrait.frame(0.3 * W)
    rng = np.random.default_rng(3)
    crops = []
    try:
        for _ in range(60):
            noisy = np.clip(picture + rng.normal(0, 2.0, picture.shape), 0, 255).astype(np.uint8)   # sensor noise
            engine.process(noisy, out, {})
            crops.append(engine.autoframe.crop.copy())
    finally:
        engine.close()
    settled = np.array(crops[SETTLED:])
    assert np.ptp(settled, axis=0).max() == 0.0            # no drift, no jitter: not a pixel's fraction
    assert abs(offset_in_output(truth, settled[-1])) < 0.03
    assert settled[-1][2] == pytest.approx(W / 1.8, rel=0.01)   # at the zoom asked


def test_the_crop_eases_back_to_the_whole_picture_when_the_person_leaves(portrait):
    engine = framing_engine(zoom=2.0)
    out = np.empty((H, W, 3), np.uint8)
    crops, outputs = [], []
    try:
        picture, _ = portrait.frame(0.35 * W)
        for _ in range(20):
            engine.process(picture, out, {})
        empty, _ = portrait.frame(None)
        for _ in range(round((autoframe.LOST_SECONDS + 1.5) * FPS)):
            engine.process(empty, out, {})
            crops.append(engine.autoframe.crop.copy())
            outputs.append(out.copy())
    finally:
        engine.close()
    crops = np.array(crops)
    assert crops[0][2] < 0.6 * W                                    # framed while the person was there
    np.testing.assert_allclose(crops[-1], (W / 2, H / 2, W), atol=autoframe.REST)
    np.testing.assert_array_equal(outputs[-1], empty)              # the whole picture, untouched
    steps = np.abs(np.diff(crops, axis=0))
    assert steps.max() < 0.1 * W                                    # eased, never a jump ...
    moving = np.flatnonzero(steps.max(axis=1) > 0.5)
    assert moving[0] >= round(0.9 * autoframe.LOST_SECONDS * FPS)  # ... after holding a moment
    assert moving[-1] - moving[0] >= 0.3 * FPS                      # ... over a good part of a second


def test_a_person_near_the_camera_is_not_zoomed_into_a_face():
    close = SweptPortrait((W, H), height=1.6)           # head and shoulders fill the picture already
    engine = framing_engine(zoom=3.0, size=(W, H))
    out = np.empty((H, W, 3), np.uint8)
    picture, truth = close.frame(0.5 * W)
    try:
        for _ in range(30):
            engine.process(picture, out, {})
        cx, cy, cw = engine.autoframe.crop
    finally:
        engine.close()
    rows = np.flatnonzero(truth.max(axis=1) >= 0.5)
    head = truth[rows[0]:rows[0] + round(autoframe.HEAD * H)].__ge__(0.5).sum(axis=1).max()
    assert cw * H / W >= autoframe.SHOULDERS * head * 0.95   # the shoulders stay in: not 3x
    assert cw > W / 3.0 * 1.2


def test_two_people_are_framed_together(portrait):
    engine = framing_engine(zoom=2.5)
    out = np.empty((H, W, 3), np.uint8)
    try:
        picture, _ = portrait.frame(0.3 * W, 0.72 * W)
        for _ in range(40):
            engine.process(picture, out, {})
        cx, _, cw = engine.autoframe.crop
    finally:
        engine.close()
    _, one = portrait.frame(0.3 * W)
    _, other = portrait.frame(0.72 * W)
    for truth in (one, other):   # each person's head and shoulders inside the crop
        assert cx - cw / 2 < head_middle(truth) < cx + cw / 2
    assert cw > W / 2.5 + 0.3 * W                                   # wider than the zoom alone


def test_the_zoom_is_held_where_the_camera_resolves_too_little(portrait, caplog):
    small = SweptPortrait((640, 360))
    engine = framing_engine(zoom=2.0, size=(640, 360))
    out = np.empty((360, 640, 3), np.uint8)
    picture, _ = small.frame(0.35 * 640)
    try:
        with caplog.at_level(logging.WARNING, logger="vcam.effects.autoframe"):
            for _ in range(20):
                engine.process(picture, out, {})
        crop = engine.autoframe.crop
    finally:
        engine.close()
    assert crop[2] == pytest.approx(640)                        # 360 rows: no room to zoom at all
    said = [r.getMessage() for r in caplog.records if r.name == "vcam.effects.autoframe"]
    assert len(said) == 1 and "held at 1.0x" in said[0] and "--width 1280 --height 720" in said[0]
    assert autoframe.max_zoom((1920, 1080)) == pytest.approx(3.0)


def test_framing_settings_are_checked():
    assert Settings.from_dict(Settings(framing=FramingSettings(True, 2.5)).to_dict()).framing == FramingSettings(True, 2.5)
    for bad in (dict(zoom=0.5), dict(zoom=9.0), dict(autoframe="yes")):
        with pytest.raises(VcamError):
            FramingSettings(**bad)


@pytest.mark.parametrize("effect, mirror", [("blur", False), ("replace", True), ("color", False), ("bokeh", True)])
def test_every_effect_and_mirror_on_the_framed_picture_at_the_cameras_size(
        recording_backend, tmp_path, portrait, effect, mirror):
    clip = tmp_path / "left.mp4"
    picture, _ = portrait.frame(0.3 * W)
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    for _ in range(10):
        writer.write(cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    writer.release()
    background = tmp_path / "room.png"
    cv2.imwrite(str(background), np.full((90, 160, 3), (30, 160, 200), np.uint8))
    settings = Settings(capture=CaptureSettings(source=str(clip), width=W, height=H, fps=FPS, mirror=mirror),
                        output=OutputSettings(target="virtual", backend="recording"),
                        effect=EffectSettings(effect, background=str(background) if effect == "replace" else None),
                        framing=FramingSettings(autoframe=True, zoom=1.8))
    pipeline = Pipeline(settings, max_frames=30)
    try:
        pipeline.start()
        assert pipeline.wait(60)
        assert pipeline.stats()["error"] is None
        camera = recording_backend.instances[-1]
        assert (camera.width, camera.height) == (W, H)
        assert camera.count >= 30 and {int(np.prod(shape)) for shape, _ in camera.shapes} == {W * H * 3}
        assert camera.frames()[-1].shape == (H, W, 3)                  # every frame at the camera's size
        cx, _, cw = pipeline._engine.autoframe.crop
    finally:
        pipeline.close()
    assert cw == pytest.approx(W / 1.8, rel=0.02)
    assert (cx < W / 2) != mirror          # the person sits left of centre, right once mirrored


def test_process_a_video_with_autoframe_centres_the_person(tmp_path, portrait):
    clip, result = tmp_path / "sweep.mp4", tmp_path / "framed.mp4"
    frames = 60
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    for t in range(frames):   # from well left of centre to well right
        picture, _ = portrait.frame(W * (0.3 + 0.4 * t / (frames - 1)))
        writer.write(cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    writer.release()
    run = subprocess.run([sys.executable, "-m", "vcam", "process", str(clip), "--autoframe", "--zoom", "2",
                          "--effect", "none", "-o", str(result)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert count_frames(result, (H, W, 3)) == frames
    # where the person is in the framed video, by the model itself (whole frames, no smoothing)
    judge = Engine(Settings(segment=SegmentSettings(follow=False), matte=MatteSettings(smoothing=0.0, threshold=0.5),
                            effect=EffectSettings("none")))
    reader = cv2.VideoCapture(str(result))
    offsets = []
    try:
        out = np.empty((H, W, 3), np.uint8)
        while True:
            ok, bgr = reader.read()
            if not ok:
                break
            judge.reset()
            alpha = judge.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), out, {})
            offsets.append(head_middle(alpha.astype(np.float32) / 255.0) / W - 0.5)
    finally:
        reader.release()
        judge.close()
    assert len(offsets) == frames
    assert np.abs(offsets[SETTLED:]).mean() < 0.08


def test_pictures_are_kept_whole_and_said_so(tmp_path, portrait):
    picture, _ = portrait.frame(0.3 * W)
    source = tmp_path / "left.png"
    cv2.imwrite(str(source), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    result = tmp_path / "out.png"
    run = subprocess.run([sys.executable, "-m", "vcam", "process", str(source), "--autoframe", "--effect", "none",
                          "-o", str(result)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "the 1 picture is kept whole" in run.stderr
    np.testing.assert_array_equal(cv2.imread(str(result)), cv2.imread(str(source)))   # not cropped


def test_the_framed_alpha_is_the_matte_seen_through_the_same_crop(portrait):
    """The framed alpha comes from the model-resolution matte in one warp; it must match the
    full-size alpha cut through the same crop (up to one interpolation), and with the crop at the
    whole picture be exactly what the matte stage gives."""
    picture, truth = portrait.frame(0.4 * W)
    alpha = np.clip(truth * 255 + 0.5, 0, 255).astype(np.uint8)
    matte = cv2.resize(alpha, (512, 288), interpolation=cv2.INTER_AREA)
    framing = autoframe.AutoFrame(2.0, FPS)
    for _ in range(30):
        framed, framed_alpha = framing.apply(picture, matte)
    cx, cy, cw = framing.crop
    s, ch = W / cw, cw * H / W
    m = np.float64([[s, 0, -(cx - cw / 2) * s + 0.5 * (s - 1)], [0, s, -(cy - ch / 2) * s + 0.5 * (s - 1)]])
    full = cv2.resize(matte, (W, H), interpolation=cv2.INTER_LINEAR)
    through = cv2.warpAffine(full, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    assert np.abs(framed_alpha.astype(int) - through).mean() < 1.0
    np.testing.assert_array_equal(framed, cv2.warpAffine(picture, m, (W, H), flags=cv2.INTER_LINEAR,
                                                         borderMode=cv2.BORDER_REPLICATE))
    framing.ease_out()
    for _ in range(60):
        framed, framed_alpha = framing.apply(picture, matte)
    assert framing.done and framed is picture
    np.testing.assert_array_equal(framed_alpha, full)
