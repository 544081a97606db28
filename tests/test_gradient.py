"""Gradient backgrounds: the picture (direction, ends, shape, no banding), the settings and the
CLI's ``--color "#a,#b"``, the compositor, and the panel's controls."""
from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from vcam.config import EffectSettings, Settings, parse_colors
from vcam.effects.composite import Compositor
from vcam.effects.gradient import gradient
from vcam.errors import VcamError
from vcam.fileio.settings_file import load_settings, save_settings

RED, BLUE = (220, 30, 30), (20, 40, 200)


def test_a_linear_gradient_runs_where_its_angle_points_with_the_pure_colours_at_its_ends():
    down = gradient((64, 480), RED, BLUE).astype(np.float32)            # 180 degrees: top to bottom
    assert np.abs(down[0].mean(0) - RED).max() < 4 and np.abs(down[-1].mean(0) - BLUE).max() < 4
    rows = down.mean(1)
    assert (np.diff(rows[:, 0]) <= 0.5).all() and (np.diff(rows[:, 2]) >= -0.5).all()
    right = gradient((640, 48), RED, BLUE, angle=90.0).astype(np.float32)
    assert np.abs(right[:, 0].mean(0) - RED).max() < 4 and np.abs(right[:, -1].mean(0) - BLUE).max() < 4
    up = gradient((64, 480), RED, BLUE, angle=0.0).astype(np.float32)
    assert np.abs(up[-1].mean(0) - RED).max() < 4
    corner = gradient((640, 480), RED, BLUE, angle=135.0).astype(np.float32)   # to the bottom right
    assert np.abs(corner[0, 0] - RED).max() < 4 and np.abs(corner[-1, -1] - BLUE).max() < 4


def test_a_radial_gradient_goes_from_the_centre_to_the_corners():
    g = gradient((801, 601), RED, BLUE, "radial").astype(np.float32)
    assert np.abs(g[300, 400] - RED).max() < 6
    for y, x in ((0, 0), (0, 800), (600, 0), (600, 800)):
        assert np.abs(g[y, x] - BLUE).max() < 6
    assert np.abs(g[300, 0] - g[300, 800]).max() <= 2   # symmetric


def test_colours_mix_in_linear_light_and_a_gentle_gradient_shows_no_steps():
    middle = gradient((8, 101), (255, 0, 0), (0, 255, 0))[50].astype(np.float32).mean(0)
    assert middle[0] > 170 and middle[1] > 170   # sRGB mixing would give about 128: a dark band
    gentle = gradient((1280, 720), (60, 60, 60), (68, 68, 68)).astype(np.float32)[..., 0]
    ideal = np.linspace(60, 68, 720, dtype=np.float32)
    assert np.abs(gentle.mean(1) - ideal).max() < 0.3   # dithered: each row's mean follows the ramp
    assert len(np.unique(gentle[:, 0])) <= 10            # ... though each pixel is a whole level
    assert np.array_equal(gentle, gradient((1280, 720), (60, 60, 60), (68, 68, 68)).astype(np.float32)[..., 0])
    with pytest.raises(ValueError, match="shape"):
        gradient((8, 8), RED, BLUE, "conic")


def test_two_colours_make_a_gradient_in_the_settings_and_are_saved(tmp_path):
    assert parse_colors("#ff0000,#0000ff") == ((255, 0, 0), (0, 0, 255))
    assert parse_colors("blue, white")[1] == (255, 255, 255)
    assert parse_colors("12,200,30") == ((12, 200, 30), None)
    for bad in ("1,2", "#ff0000,#zz", "#ff0000,"):
        with pytest.raises(VcamError):
            parse_colors(bad)
    s = Settings(effect=EffectSettings("color", color=RED, color_to=BLUE, gradient="radial", gradient_angle=45.0))
    path = tmp_path / "settings.json"
    save_settings(s, path)
    assert json.loads(path.read_text())["effect"]["color_to"] == list(BLUE)
    assert load_settings(path) == s
    for bad in (dict(color_to=(1, 2)), dict(gradient="conic"), dict(gradient_angle=1e9)):
        with pytest.raises(VcamError):
            EffectSettings("color", **bad)


def test_the_compositor_puts_the_gradient_behind_the_person():
    size = (96, 64)
    frame = np.full((64, 96, 3), 128, np.uint8)
    alpha = np.zeros((64, 96), np.uint8)
    alpha[20:40, 30:60] = 255
    out = np.empty_like(frame)
    Compositor(EffectSettings("color", color=RED, color_to=BLUE, clean_edges=False), size).apply(frame, alpha, out)
    expected = gradient(size, RED, BLUE)
    assert np.array_equal(out[alpha == 0], expected[alpha == 0])
    assert np.array_equal(out[alpha == 255], frame[alpha == 255])
    plain = np.empty_like(frame)
    Compositor(EffectSettings("color", color=RED, clean_edges=False), size).apply(frame, alpha, plain)
    assert (plain[alpha == 0] == RED).all()


def test_vcam_process_makes_a_gradient_background_and_refuses_a_bad_colour(tmp_path):
    from vcam.system.resources import demo_image

    cv2.imwrite(str(tmp_path / "me.png"), cv2.resize(cv2.imread(str(demo_image())), (160, 160)))
    def vcam(*args):
        return subprocess.run([sys.executable, "-m", "vcam", "process", "me.png", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
    done = vcam("--effect", "color", "--color", "#ff0000,#0000ff", "--gradient-angle", "90", "-o", "g.png")
    assert done.returncode == 0, done.stderr
    g = cv2.cvtColor(cv2.imread(str(tmp_path / "g.png")), cv2.COLOR_BGR2RGB).astype(int)
    assert g[2, 1, 0] > 200 and g[2, 1, 2] < 60 and g[2, -2, 2] > 200 and g[2, -2, 0] < 60   # red left, blue right
    refused = vcam("--effect", "color", "--color", "#ff0000,#nothex", "-o", "x.png")
    assert refused.returncode == 2 and "#nothex" in refused.stderr and not (tmp_path / "x.png").exists()


def test_the_panel_switches_a_colour_to_a_gradient_and_back(qapp, tmp_path):
    from vcam.ui.app import dispose
    from vcam.ui.controller import Controller
    from vcam.ui.effect_tab import GRADIENT_NAMES
    from vcam.ui.panel import Panel

    controller = Controller(tmp_path / "config")
    panel = Panel(controller, dialogs=False)
    try:
        shown = lambda w: w.isVisibleTo(panel)   # noqa: E731
        assert not shown(panel.effect_tab.color_to_button) and not shown(panel.effect_tab.gradient_angle_slider)
        plain_icon = panel.effect_tab.color_button.icon().pixmap(32, 16).toImage()
        panel.effect_tab.gradient_combo.activated.emit(list(GRADIENT_NAMES).index("linear"))
        e = controller.settings.effect
        assert e.effect == "color" and e.gradient == "linear" and e.color_to == tuple(c // 3 for c in e.color)
        assert shown(panel.effect_tab.color_to_button) and shown(panel.effect_tab.gradient_angle_slider)
        icon = panel.effect_tab.color_button.icon().pixmap(32, 16).toImage()
        assert icon.pixelColor(1, 1) != icon.pixelColor(1, 14) and icon != plain_icon   # the icon shows it
        panel.effect_tab.gradient_angle_slider.setValue(90)
        assert controller.settings.effect.gradient_angle == 90.0 and panel.effect_tab.gradient_angle_value.text() == "90°"
        panel.effect_tab.gradient_combo.activated.emit(list(GRADIENT_NAMES).index("radial"))
        assert controller.settings.effect.gradient == "radial" and not shown(panel.effect_tab.gradient_angle_slider)
        assert shown(panel.effect_tab.color_to_button)
        panel.effect_tab.gradient_combo.activated.emit(list(GRADIENT_NAMES).index(None))
        assert controller.settings.effect.color_to is None and not shown(panel.effect_tab.color_to_button)
        assert shown(panel.effect_tab.color_button)
    finally:
        panel.close()
        controller.close()
        dispose(panel, controller)
