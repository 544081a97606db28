"""Studio light in the product: the settings, the engine's order of stages, the CLI, the panel,
the tray and `vcam bench` (each stage's own contract is in test_lowlight, test_keylight and
test_denoise)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from vcam import bench
from vcam.config import EffectSettings, LightSettings, SegmentSettings, Settings
from vcam.engine import Engine
from vcam.errors import VcamError
from vcam.fileio.settings_file import load_settings, save_settings
from vcam.live.sources import DemoSource

SIZE = (320, 240)


def demo_frames(n: int, size=SIZE) -> list[np.ndarray]:
    demo = DemoSource(*size, live=False)
    frames = []
    for _ in range(n):
        buf = np.empty((size[1], size[0], 3), np.uint8)
        demo.read(buf)
        frames.append(buf)
    return frames


def dark(frame: np.ndarray) -> np.ndarray:
    """A dim room: a quarter of the light, and a little sensor noise (seeded)."""
    rng = np.random.default_rng(7)
    noisy = frame.astype(np.float32) * 0.25 + rng.normal(0, 2.0, frame.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def engine_with(**light) -> Engine:
    settings = Settings(segment=SegmentSettings(threads=1), effect=EffectSettings("none"), light=LightSettings(**light))
    engine = Engine(settings)
    engine.prepare(SIZE, 30.0)
    return engine


def run(engine: Engine, frames: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray], dict]:
    outs, alphas, times = [], [], {}
    for frame in frames:
        out = np.empty_like(frame)
        alphas.append(engine.process(frame, out, times).copy())
        outs.append(out)
    return outs, alphas, times


def person_mean(picture: np.ndarray, alpha: np.ndarray) -> float:
    grey = cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY)
    return float(grey[alpha > 128].mean()) / 255


def person_meter(picture: np.ndarray, alpha: np.ndarray) -> float:
    """The exposure vcam meters: the person's upper-quartile luma (vcam.light.lowlight.LOW_METER)."""
    grey = cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY)
    return float(np.percentile(grey[alpha > 128], 75)) / 255


def test_light_settings_are_checked_saved_and_absent_from_older_files(tmp_path):
    for bad in (dict(low_light=1.5), dict(denoise=-0.1), dict(key_angle=120.0), dict(key_light="yes"), dict(relight=2.0)):
        with pytest.raises(VcamError):
            LightSettings(**bad)
    s = Settings(light=LightSettings(low_light=0.8, key_light=0.4, key_angle=20.0, denoise=0.5, relight=0.6))
    path = tmp_path / "settings.json"
    save_settings(s, path)
    assert load_settings(path) == s
    path.write_text(json.dumps({"matte": {"smoothing": 0.5}}))   # a file from before studio light
    assert load_settings(path).light == LightSettings()


def test_the_engine_times_light_stages_only_where_they_are_on():
    frames = demo_frames(3)
    _, _, off = run(engine_with(), frames)
    assert "denoise" not in off and "light" not in off and "segment" in off
    _, _, on = run(engine_with(low_light=1.0, key_light=0.5, denoise=0.5), frames)
    assert {"denoise", "segment", "matte", "light", "composite"} <= set(on)


def test_with_light_off_the_picture_passes_as_it_is():
    frames = [dark(f) for f in demo_frames(4)]
    outs, _, _ = run(engine_with(), frames)
    assert all(np.array_equal(o, f) for o, f in zip(outs, frames))


def test_low_light_in_the_engine_lifts_a_dark_person_towards_half_scale():
    frames = [dark(f) for f in demo_frames(45)]
    outs, alphas, _ = run(engine_with(low_light=1.0), frames)
    before = person_meter(frames[-1], alphas[-1])
    after = person_meter(outs[-1], alphas[-1])
    assert before < 0.25 and 0.4 < after < 0.6, (before, after)


def test_key_light_in_the_engine_lights_the_person_and_not_the_room():
    frames = demo_frames(20)
    outs, alphas, _ = run(engine_with(key_light=1.0), frames)
    room = alphas[-1] == 0
    assert room.any() and np.array_equal(outs[-1][room], frames[-1][room])
    assert person_mean(outs[-1], alphas[-1]) > person_mean(frames[-1], alphas[-1]) + 0.01


def test_denoise_in_the_engine_cuts_the_noise_of_a_still_picture():
    clean = demo_frames(1)[0]
    rng = np.random.default_rng(3)
    frames = [np.clip(clean + rng.normal(0, 6.0, clean.shape), 0, 255).astype(np.uint8) for _ in range(25)]
    plain, _, _ = run(engine_with(), frames)
    quiet, _, _ = run(engine_with(denoise=1.0), frames)
    noise = [float(np.std(o[-1].astype(np.float32) - clean)) for o in (plain, quiet)]
    assert noise[1] < 0.6 * noise[0], noise


def test_a_photo_is_not_denoised_over_earlier_frames():
    frames = demo_frames(6)
    engine = engine_with(denoise=1.0)
    run(engine, frames[:5])
    other = np.ascontiguousarray(frames[5][:, ::-1])   # an unrelated picture
    out = np.empty_like(other)
    engine.process(other, out, {}, photo=True)
    assert np.array_equal(out, other)


def vcam(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vcam", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_vcam_process_lifts_a_dark_picture_and_refuses_a_strength_out_of_range(tmp_path):
    picture = dark(demo_frames(1, (480, 360))[0])
    assert cv2.imwrite(str(tmp_path / "dark.png"), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    done = vcam(tmp_path, "process", "dark.png", "--effect", "none", "--low-light", "1", "-o", "lit.png")
    assert done.returncode == 0, done.stderr
    lit = cv2.imread(str(tmp_path / "lit.png"))
    assert lit.mean() > picture.mean() * 1.5
    refused = vcam(tmp_path, "process", "dark.png", "--low-light", "2", "-o", "x.png")
    assert refused.returncode == 2 and "low_light" in refused.stderr and "Traceback" not in refused.stderr
    refused = vcam(tmp_path, "process", "dark.png", "--relight", "-1", "-o", "x.png")
    assert refused.returncode == 2 and "relight" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "x.png").exists()


def test_the_bench_table_shows_light_stages_only_where_a_run_had_them():
    def result(stages):
        return {"resolution": "320x240", "effect": "blur", "fps": 30.0, "processing_ms": 5.0, "latency_ms": 30.0,
                "cpu_percent": 20.0, "cpu_ms_per_frame": 6.0, "peak_memory_mb": 300.0, "segmenter": "onnx/general cpu",
                "stages": {s: {"median_ms": 1.0, "p95_ms": 1.2} for s in stages}}
    plain = bench.table([result(("segment", "matte", "composite"))])
    assert "denoise" not in plain and "light" not in plain.splitlines()[0]
    lit = bench.table([result(("segment", "matte", "composite")), result(("denoise", "segment", "light"))])
    assert "denoise" in lit.splitlines()[0] and "light" in lit.splitlines()[0]


def test_the_panel_and_the_tray_switch_studio_light(qapp, tmp_path):
    from vcam.ui.app import dispose
    from vcam.ui.controller import Controller
    from vcam.ui.panel import Panel
    from vcam.ui.tray import LIGHT_ON, Tray

    controller = Controller(tmp_path / "config")
    panel = Panel(controller, dialogs=False)
    tray = Tray(controller, lambda: None, lambda: None)
    try:
        slider, value = panel.light_tab.light_sliders["low_light"]
        assert value.text() == "off" and not panel.light_tab.key_angle_slider.isEnabled()
        # relight is for a new background: hidden with the default effect (greyed in the tray), shown with replace
        relight = panel.light_tab.light_sliders["relight"][0]
        assert not relight.isVisibleTo(panel.light_tab) and not tray.actions["relight"].isEnabled()
        slider.setValue(60)
        assert controller.settings.light.low_light == pytest.approx(0.6)
        panel.light_tab.light_sliders["key_light"][0].setValue(50)
        panel.sync()
        assert panel.light_tab.key_angle_slider.isEnabled()
        panel.light_tab.key_angle_slider.setValue(45)
        assert controller.settings.light.key_angle == 45.0 and "right" in panel.light_tab.key_angle_value.text()
        qapp.processEvents()   # the tray is rebuilt after the change
        assert tray.actions["low_light"].isChecked() and not tray.actions["denoise"].isChecked()
        tray.actions["denoise"].trigger()
        assert controller.settings.light.denoise == dict((n, s) for n, _, s in LIGHT_ON)["denoise"]
        qapp.processEvents()
        tray.actions["low_light"].trigger()
        assert controller.settings.light.low_light == 0.0
        assert controller.set_effect("replace")
        qapp.processEvents()
        assert relight.isVisibleTo(panel.light_tab) and tray.actions["relight"].isEnabled()
        panel.light_tab.light_sliders["relight"][0].setValue(80)
        assert controller.settings.light.relight == pytest.approx(0.8)
        controller.save()   # what a resting slider or closing the panel does
        saved = json.loads((tmp_path / "config" / "settings.json").read_text())
        assert saved["light"]["denoise"] > 0 and saved["light"]["key_angle"] == 45.0
    finally:
        panel.close()
        controller.close()
        dispose(panel, tray, controller)


def test_a_change_to_one_light_keeps_what_the_others_have_learnt():
    frames = [dark(f) for f in demo_frames(20)]
    engine = engine_with(low_light=1.0, denoise=0.5)
    run(engine, frames)
    low, denoise = engine._low_light, engine._denoise
    engine.update(engine.settings.replace(light=LightSettings(low_light=1.0, denoise=0.5, key_light=0.6)), SIZE)
    run(engine, frames[:1])
    assert engine._low_light is low and engine._denoise is denoise and engine._key_light is not None
    engine.update(engine.settings.replace(light=LightSettings()), SIZE)
    run(engine, frames[:1])
    assert engine._low_light is None and engine._denoise is None and engine._lit is None


@pytest.mark.parametrize("light", [dict(low_light=1.0), dict(key_light=1.0), dict(relight=1.0)])
def test_the_light_stages_work_with_auto_frame_on_a_frame_larger_than_the_matte(light):
    """Auto-frame keeps the matte at the model's resolution (it warps it straight to the framed
    alpha); a light stage reads the alpha at the frame's size, so with one on the matte is scaled
    (720p and 720x540 frames once raised 'expected uint8(720, 1280)')."""
    from vcam.config import FramingSettings
    from vcam.system.resources import assets_dir

    size = (800, 450)   # wider than the matte's working resolution (512)
    office = str(assets_dir() / "backgrounds" / "office.jpg")
    effect = EffectSettings("replace", background=office) if "relight" in light else EffectSettings("blur")
    settings = Settings(segment=SegmentSettings(threads=1), effect=effect, light=LightSettings(**light),
                        framing=FramingSettings(autoframe=True, zoom=2.0))
    engine = Engine(settings)
    engine.prepare(size, 30.0)
    frames = [dark(f) for f in demo_frames(4, size)]
    outs, alphas, times = run(engine, frames)
    assert all(a.shape == (size[1], size[0]) for a in alphas) and "light" in times
    assert person_mean(outs[-1], alphas[-1]) > person_mean(frames[-1], alphas[-1]) or "relight" in light
