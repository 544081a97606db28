"""Property tests: every stage fed pictures of random sizes, dtypes and contents gives either a
correct result (shape, dtype, range, and the values the definition says) or its documented error."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from vcam import kernels
from vcam.config import EffectSettings, MatteSettings
from vcam.effects.composite import Compositor
from vcam.fileio import pictures
from vcam.matte import Matte

FEW = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
sides = st.integers(1, 48)
u8 = st.integers(0, 255)


def image(h, w, channels=3):
    shape = (h, w) if channels is None else (h, w, channels)
    return hnp.arrays(np.uint8, shape, elements=u8)


@st.composite
def blend_inputs(draw):
    h, w = draw(sides), draw(sides)
    return draw(image(h, w)), draw(image(h, w)), draw(image(h, w, None))


def exact_blend(f, b, a):
    a = a[..., None].astype(np.float64)
    return (f * a + b * (255.0 - a)) / 255.0


@FEW
@given(blend_inputs())
def test_blend_is_the_rounded_mix_and_stays_between_its_inputs(inputs):
    fg, bg, alpha = inputs
    out = np.empty_like(fg)
    kernels.blend(fg, bg, alpha, out)
    assert np.all(np.abs(out - exact_blend(fg, bg, alpha)) <= 0.5 + 1e-9)
    assert np.all(out >= np.minimum(fg, bg)) and np.all(out <= np.maximum(fg, bg))
    assert np.array_equal(out[alpha == 255], fg[alpha == 255]) and np.array_equal(out[alpha == 0], bg[alpha == 0])


@FEW
@given(blend_inputs(), st.tuples(u8, u8, u8))
def test_blend_color_is_a_blend_with_a_flat_background(inputs, colour):
    fg, _, alpha = inputs
    colour = np.array(colour, np.uint8)
    out = np.empty_like(fg)
    kernels.blend_color(fg, colour, alpha, out)
    flat = np.broadcast_to(colour, fg.shape)
    assert np.all(np.abs(out - exact_blend(fg, flat, alpha)) <= 0.5 + 1e-9)
    assert np.array_equal(out[alpha == 0], flat[alpha == 0]) and np.array_equal(out[alpha == 255], fg[alpha == 255])


@st.composite
def matte_runs(draw):
    h, w = draw(sides), draw(sides)
    raws = draw(st.lists(hnp.arrays(np.float32, (h, w), elements=st.floats(-2, 3, width=32)), min_size=1, max_size=3))
    size = (draw(st.integers(1, 64)), draw(st.integers(1, 64)))
    fh, fw = draw(st.integers(2, 64)), draw(st.integers(2, 64))
    frames = draw(st.one_of(st.none(), st.lists(image(fh, fw), min_size=len(raws), max_size=len(raws))))
    m = MatteSettings(smoothing=draw(st.floats(0, 1)), threshold=draw(st.floats(0.05, 0.95)),
                      softness=draw(st.floats(0.02, 2.0)), picture_motion=draw(st.booleans()))
    return m, raws, size, frames


@FEW
@given(matte_runs())
def test_matte_update_gives_a_uint8_alpha_of_the_asked_size(run):
    m, raws, size, frames = run
    matte = Matte(m)
    for i, raw in enumerate(raws):
        alpha = matte.update(raw, size, None if frames is None else frames[i])
        assert alpha.dtype == np.uint8 and alpha.shape == (size[1], size[0])
    # A flat matte as the first frame: every pixel is the value clipped to [0, 1], its edge moved
    # to ``threshold`` (linearly on each side) with ``softness``.
    value = float(np.clip(raws[0].flat[0], 0, 1))
    edge = (value - m.threshold) * 0.5 / (m.threshold if value < m.threshold else 1 - m.threshold)
    if m.softness > 1:
        expected = round(255 * (0.5 + 0.5 * np.sign(edge) * abs(2 * edge) ** m.softness))
    else:
        expected = round(255 * min(max(edge / m.softness + 0.5, 0.0), 1.0))
    alpha = Matte(m).update(np.full(raws[0].shape, raws[0].flat[0], np.float32), size)
    assert np.all(np.abs(alpha.astype(int) - expected) <= 1)
    # A sure background stays 0 and a sure person 255, whatever the threshold and softness.
    for flat, certain in ((0.0, 0), (1.0, 255)):
        assert np.all(Matte(m).update(np.full(raws[0].shape, flat, np.float32), size) == certain)


@FEW
@given(st.sampled_from([np.float64, np.float16, np.uint8, np.int32]) | st.just("3d"))
def test_matte_update_refuses_what_is_not_a_float32_2d_matte(kind):
    raw = np.zeros((4, 5, 1), np.float32) if kind == "3d" else np.zeros((4, 5), kind)
    with pytest.raises(ValueError, match="float32 2-D"):
        Matte().update(raw, (5, 4))


EFFECTS = ["none", "color", "blur", "bokeh", "matte"]


@st.composite
def composites(draw):
    h, w = draw(st.integers(2, 48)), draw(st.integers(2, 48))
    effect = draw(st.sampled_from(EFFECTS))
    s = EffectSettings(effect, blur=draw(st.floats(1, 100)), color=draw(st.tuples(u8, u8, u8)),
                       halo_free=draw(st.booleans()))
    return s, draw(image(h, w)), draw(image(h, w, None))


@FEW
@given(composites())
def test_compositor_apply_gives_an_rgb_frame_that_keeps_the_person(case):
    s, frame, alpha = case
    h, w = alpha.shape
    comp = Compositor(s, (w, h))
    out = np.full_like(frame, 7)
    try:
        comp.apply(frame, alpha, out)
    finally:
        comp.close()
    assert out.shape == frame.shape and out.dtype == np.uint8
    person = alpha == 255
    if s.effect == "matte":
        assert np.array_equal(out, np.repeat(alpha[..., None], 3, axis=2))
    else:   # where the matte is certain of the person, the person is shown as they are
        assert np.array_equal(out[person], frame[person])
    if s.effect == "none":
        assert np.array_equal(out, frame)
    if s.effect == "color":
        gone = alpha == 0
        assert np.all(out[gone] == np.array(s.color, np.uint8))


DTYPES = [np.uint8, np.uint16, np.int16, np.float32, np.float64]


@st.composite
def decoded(draw):
    dtype = draw(st.sampled_from(DTYPES))
    channels = draw(st.sampled_from([None, 1, 2, 3, 4, 5]))
    h, w = draw(st.integers(0, 24)), draw(st.integers(1, 24))
    elements = st.floats(-1, 2, width=32) if np.dtype(dtype).kind == "f" else None
    shape = (h, w) if channels is None else (h, w, channels)
    return draw(hnp.arrays(dtype, shape, elements=elements))


def expected_rgb(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint16:
        v = (img >> 8).astype(np.uint8)
    elif img.dtype.kind == "f":
        v = np.clip(img.astype(np.float64) * 255, 0, 255)
    else:
        v = np.clip(img.astype(np.int64), 0, 255)
    if v.ndim == 2 or v.shape[2] == 1:
        v = v.reshape(v.shape[0], v.shape[1], 1)
        return np.repeat(v, 3, axis=2)
    return v[:, :, 2::-1]   # BGR(A) -> RGB


@FEW
@given(decoded())
def test_to_rgb8_gives_rgb_uint8_of_the_same_size_or_a_value_error(img):
    if img.size == 0 or (img.ndim == 3 and img.shape[2] not in (1, 3, 4)):
        with pytest.raises(ValueError, match="grey, BGR or BGRA"):
            pictures.to_rgb8(img)
        return
    out = pictures.to_rgb8(img)
    assert out.dtype == np.uint8 and out.shape == (img.shape[0], img.shape[1], 3)
    assert np.all(np.abs(out.astype(np.float64) - expected_rgb(img)) <= 1.0)
