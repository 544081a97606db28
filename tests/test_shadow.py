"""Shadows on generated figures: a standing figure (feet inside the picture) and a webcam's head
and shoulders (cut by the frame's bottom), on a colour, a new background and in cut-outs."""
from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from vcam.config import EffectSettings
from vcam.effects.composite import Compositor
from vcam.effects.shadow import Shadow
from vcam.errors import VcamError

W, H = 320, 240


def standing() -> np.ndarray:
    """A figure from y 40 to 200 (its feet 40 pixels above the bottom), centred at x 160."""
    a = np.zeros((H, W), np.uint8)
    cv2.ellipse(a, (160, 62), (18, 22), 0, 0, 360, 255, -1)
    cv2.rectangle(a, (130, 84), (190, 200), 255, -1)
    return cv2.GaussianBlur(a, (0, 0), 1.0)


def head_and_shoulders() -> np.ndarray:
    a = np.zeros((H, W), np.uint8)
    cv2.ellipse(a, (160, 90), (40, 50), 0, 0, 360, 255, -1)
    cv2.ellipse(a, (160, 250), (120, 90), 0, 0, 360, 255, -1)
    return cv2.GaussianBlur(a, (0, 0), 1.0)


def shade_of(alpha, **kw) -> np.ndarray:
    return Shadow((W, H), kw.pop("strength", 1.0), **kw).update(alpha).astype(np.float32)


def test_the_shadow_falls_away_from_the_light_and_fades_with_distance():
    alpha = head_and_shoulders()
    for angle, side in ((-45.0, 1), (45.0, -1)):
        shade = shade_of(alpha, angle=angle)
        seen = shade * (alpha < 8)          # the part the person does not hide
        xs = np.arange(W, dtype=np.float32)
        centre = float((seen.sum(0) * xs).sum() / seen.sum())
        assert side * (centre - 160) > 20, (angle, centre)
    shade = shade_of(alpha, angle=-45.0)
    row = shade[90, 200:]                   # out from the head's right edge (x 200)
    peak = int(np.argmax(row))
    assert row[peak] > 60 and (np.diff(row[peak:]) <= 0.5).all() and row[-1] < 2
    assert shade[5, 5] == 0 and shade[5, -5] < 2   # far from the person: no shadow


def test_a_standing_figure_gets_a_contact_shadow_and_a_webcam_shot_none_below_the_frame():
    feet = standing()
    shade = shade_of(feet, softness=0.0)
    assert shade[203, 160] > 100 and shade[203, 135] > 60    # right under the feet
    assert shade[230, 160] < 0.25 * shade[203, 160]          # flat: gone a little further down
    no_contact = shade_of(feet, softness=0.0, strength=0.5)
    assert no_contact[203, 160] == pytest.approx(0.5 * shade[203, 160], abs=3)   # strength scales it
    assert shade_of(np.zeros((H, W), np.uint8)).max() == 0   # nobody: no shadow


def test_the_background_is_darkened_only_by_the_shadow_and_the_person_is_untouched():
    alpha = head_and_shoulders()
    frame = np.full((H, W, 3), 90, np.uint8)
    plain, shaded = np.empty_like(frame), np.empty_like(frame)
    Compositor(EffectSettings("color", color=(200, 200, 200), clean_edges=False), (W, H)).apply(frame, alpha, plain)
    comp = Compositor(EffectSettings("color", color=(200, 200, 200), clean_edges=False, shadow=1.0), (W, H))
    comp.apply(frame, alpha, shaded)
    person = alpha == 255
    assert np.array_equal(shaded[person], plain[person])
    shade = Shadow((W, H), 1.0).update(alpha)
    room = alpha == 0
    expected = np.rint(200 * (255 - shade[room].astype(np.float32)) / 255)
    assert np.abs(shaded[room][:, 0] - expected).max() <= 1
    assert (shaded[room] <= plain[room]).all() and (shaded[room] < plain[room]).any()


def test_a_cut_out_keeps_the_person_and_over_any_background_looks_as_the_live_composite():
    alpha = head_and_shoulders()
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    settings = EffectSettings("cutout", clean_edges=False, shadow=0.8)
    comp = Compositor(settings, (W, H))
    out = np.empty_like(frame)
    comp.apply(frame, alpha, out)
    rgba = comp.cutout(out, alpha, np.empty((H, W, 4), np.uint8))
    person = alpha == 255
    assert np.array_equal(rgba[person][:, :3], frame[person]) and (rgba[person][:, 3] == 255).all()
    assert (rgba[..., 3] >= alpha).all() and (rgba[..., 3][alpha == 0] > 0).any()
    plain = Compositor(EffectSettings("cutout", clean_edges=False), (W, H)).cutout(out, alpha, np.empty_like(rgba))
    assert np.array_equal(plain[..., 3], alpha)
    # the cut-out laid over a colour is what the live colour effect with the same shadow shows
    colour = np.float32((40, 180, 90))
    a = rgba[..., 3:].astype(np.float32) / 255
    over = rgba[..., :3].astype(np.float32) * a + colour * (1 - a)
    live = np.empty_like(frame)
    Compositor(EffectSettings("color", color=(40, 180, 90), clean_edges=False, shadow=0.8), (W, H)).apply(
        frame, alpha, live)
    assert np.abs(over - live).max() <= 2.5


def test_shadow_settings_are_checked_and_the_cli_says_where_a_shadow_can_fall(tmp_path):
    for bad in (dict(shadow=1.5), dict(shadow_angle=100.0), dict(shadow_softness=-1.0)):
        with pytest.raises(VcamError):
            EffectSettings("color", **bad)
    with pytest.raises(ValueError, match="softness"):
        Shadow((W, H), 1.0, softness=2.0)
    from vcam.system.resources import demo_image

    cv2.imwrite(str(tmp_path / "me.png"), cv2.resize(cv2.imread(str(demo_image())), (160, 160)))
    cuts = {}
    for name, extra in (("plain", []), ("shadow", ["--shadow", "1"])):
        done = subprocess.run([sys.executable, "-m", "vcam", "process", "me.png", "--effect", "cutout", *extra,
                               "-o", f"{name}.png"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and "--shadow" not in done.stderr, done.stderr
        cuts[name] = cv2.imread(str(tmp_path / f"{name}.png"), cv2.IMREAD_UNCHANGED)
    plain, shadow = cuts["plain"][..., 3], cuts["shadow"][..., 3]
    assert cuts["shadow"].shape == (160, 160, 4) and (shadow >= plain).all()
    assert (shadow > 0).sum() > (plain > 0).sum() + 100   # the shadow is in the alpha
    blur = subprocess.run([sys.executable, "-m", "vcam", "process", "me.png", "--effect", "blur", "--shadow", "1",
                           "-o", "b.png"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert blur.returncode == 0 and "--shadow" in blur.stderr and "cutout" in blur.stderr


def test_the_panel_sets_the_shadow_where_it_can_fall(qapp, tmp_path):
    from vcam.ui.app import dispose
    from vcam.ui.controller import Controller
    from vcam.ui.panel import Panel

    controller = Controller(tmp_path / "config")
    panel = Panel(controller, dialogs=False)
    try:
        assert controller.settings.effect.effect == "blur" and not panel.effect_tab.shadow_slider.isVisibleTo(panel)
        assert controller.set_color((250, 250, 250))
        assert panel.effect_tab.shadow_slider.isVisibleTo(panel) and panel.effect_tab.shadow_value.text() == "off"
        panel.effect_tab.shadow_slider.setValue(70)
        assert controller.settings.effect.shadow == pytest.approx(0.7) and panel.effect_tab.shadow_value.text() == "0.70"
        assert controller.settings.effect.effect == "color"
    finally:
        panel.close()
        controller.close()
        dispose(panel, controller)


def test_the_shadow_drawn_in_its_box_is_the_whole_shadow_and_follows_the_person():
    stage = Shadow((W, H), 1.0)
    for x in (100, 160, 220, 160):   # the person moves: the last box's shadow is taken away
        alpha = np.roll(standing(), x - 160, axis=1)
        shade = stage.update(alpha)
        whole = cv2.resize(stage._small_shade, (W, H), interpolation=cv2.INTER_LINEAR)
        assert np.array_equal(shade, whole) and shade.any()
        rows, cols = stage.box
        assert cols.stop - cols.start < W   # drawn in a box, not the whole frame
    comp = Compositor(EffectSettings("color", color=(200, 200, 200), clean_edges=False, shadow=1.0), (W, H))
    frame, out = np.full((H, W, 3), 90, np.uint8), np.empty((H, W, 3), np.uint8)
    for x, y in ((100, 0), (220, -30)):   # the person moves: the last frame's shadow is gone
        alpha = np.roll(np.roll(standing(), x - 160, axis=1), y, axis=0)
        comp.apply(frame, alpha, out)
        stage.update(alpha)
        room = alpha == 0
        expected = np.rint(200 * (255 - stage.shade[room].astype(np.float32)) / 255)
        assert np.abs(out[room][:, 0] - expected).max() <= 1


@pytest.mark.parametrize("strength", [5e-324, 1e-320, 1e-6, 0.001, 0.003])
def test_a_shadow_too_faint_to_show_is_drawn_as_it_rounds_and_never_an_empty_box(strength):
    """Issue 39, row 7: `--shadow 0.003` (anything from 1e-320 to 0.003) rounds to a shadow of
    nothing where the person's feet are out of the picture, and its empty box reached OpenCV's
    resize: `!ssize.empty()`, a traceback. Now nothing is drawn, and a later frame draws again."""
    stage = Shadow((W, H), strength)
    for alpha in (head_and_shoulders(), standing(), head_and_shoulders()):
        shade = stage.update(alpha)
        assert shade.shape == (H, W) and shade.max() <= 1
    assert not stage.update(head_and_shoulders()).any()
    comp = Compositor(EffectSettings("color", color=(200, 200, 200), clean_edges=False, shadow=strength), (W, H))
    frame, out = np.full((H, W, 3), 90, np.uint8), np.empty((H, W, 3), np.uint8)
    alpha = head_and_shoulders()
    comp.apply(frame, alpha, out)
    assert (out[alpha == 0] == 200).all()   # nothing darkened
    rgba = comp.cutout(frame, alpha, np.empty((H, W, 4), np.uint8))
    assert np.array_equal(rgba[..., 3], alpha)
    visible = Shadow((W, H), 0.05)
    assert visible.update(head_and_shoulders()).any()


def test_the_shaded_blends_are_the_blends_over_the_darkened_background():
    from vcam import kernels

    rng = np.random.default_rng(3)
    fg, bg, glow = (rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(3))
    alpha, soft, shade = (rng.integers(0, 256, (H, W), dtype=np.uint8) for _ in range(3))
    dark = np.rint(bg * ((255 - shade.astype(np.float32)) / 255)[..., None]).astype(np.uint8)
    gain = np.uint32([300, 256, 200])
    for blend, extra in ((kernels.blend, ()), (kernels.blend_tinted, (gain,))):
        one, two = np.empty_like(fg), np.empty_like(fg)
        args = (fg, *extra) if extra else (fg,)
        blend(*args, bg, alpha, one, shade)
        blend(*args, dark, alpha, two)
        assert np.array_equal(one, two), blend
        blend(*args, bg, alpha, one, np.zeros_like(shade))
        blend(*args, bg, alpha, two)
        assert np.array_equal(one, two), blend
    one, two = np.empty_like(fg), np.empty_like(fg)
    kernels.blend_wrap(fg, bg, glow, alpha, soft, one, 0.4, gain, shade)
    kernels.blend_wrap(fg, dark, glow, alpha, soft, two, 0.4, gain)
    assert np.abs(one.astype(np.int16) - two).max() <= 1   # the float blend: the darkened value's rounding
    kernels.blend_wrap(fg, bg, glow, alpha, soft, one, 0.4, gain, np.zeros_like(shade))
    kernels.blend_wrap(fg, bg, glow, alpha, soft, two, 0.4, gain)
    assert np.array_equal(one, two)
