"""Per-pixel kernels (Numba, compiled once and cached on disk), each writing into an ``out`` buffer.

Only arithmetic lives here: the callers check shapes and dtypes and own the buffers. Blends are
16-bit integer: with ``v = f*a + b*(255-a) + 128``, ``(v + (v >> 8)) >> 8`` equals
round((f*a + b*(255-a)) / 255) for all 8-bit inputs, so an alpha of 255 returns the foreground
exactly and 0 the background exactly.
"""
from __future__ import annotations

import logging
from typing import Callable

import numpy as np
from numba import njit

from vcam import jit
from vcam.jit import JIT

log = logging.getLogger(__name__)


@njit(**JIT)
def image_change(small, previous, gain, inv_tau, noise_share, noise_min, noise_max, counts):
    """How much the picture (RGB) moved at each pixel since the last frame, 0 (still) to 1, into
    ``gain``; ``previous`` becomes ``small``. A pixel's change is its largest channel's (a red
    shirt over a green wall of the same brightness moves in colour, not in grey). The camera's
    noise and compression change every pixel a little, still or not: the frame's median change
    times ``noise_share``, held within [``noise_min``, ``noise_max``] levels, is taken off first,
    and what is left counts in full at 1/``inv_tau`` levels. ``counts`` (256 integers) is scratch
    for the median. Returns the noise floor taken off."""
    h, w = gain.shape
    counts[:] = 0
    for y in range(h):
        for x in range(w):
            d = 0
            for c in range(3):
                d = max(d, abs(np.int32(small[y, x, c]) - np.int32(previous[y, x, c])))
                previous[y, x, c] = small[y, x, c]
            counts[d] += 1
            gain[y, x] = np.float32(d)
    half, seen, median = (h * w) // 2, 0, 0
    for level in range(256):
        seen += counts[level]
        if seen > half:
            median = level
            break
    floor = min(max(np.float32(median) * noise_share, noise_min), noise_max)
    for y in range(h):
        for x in range(w):
            gain[y, x] = min(max(gain[y, x] - floor, np.float32(0.0)) * inv_tau, np.float32(1.0))
    return floor


@njit(**JIT)
def smooth_matte(raw, state, change, out, keep, motion, threshold, softness, by_picture, hold=0.0):
    """Temporal smoothing of a low-resolution matte, in place in ``state``.

    A still pixel moves only part of the way to the new value (``keep`` is the share of the old
    value kept); a moving one takes the new value at once, so a moving person is never trailed.
    What counts as moving: with ``by_picture``, the picture itself (``change``, from
    :func:`image_change`, at the matte's resolution): where the picture is still, any change of the matte is the model's
    flicker; without, a change of the matte of ``motion`` or more. ``out`` receives the result as
    uint8, remapped so that ``threshold`` becomes 0.5 with an edge ``softness`` wide (0.5 and 1
    change nothing): a higher threshold pulls the edge in, a lower one pushes it out. The remap is
    linear on each side of ``threshold``, so a sure background (0) stays 0 and a sure person (1)
    stays 1 whatever the threshold; a ``softness`` below 1 steepens the ramp, above 1 flattens it
    around the edge (a power curve, the ends still fixed).

    ``hold`` (alpha units): where the picture is still, a change of the matte smaller than this
    is not followed at all, and a larger one only by what exceeds it (less as the picture moves:
    nothing is held where it moves in full), except where the new value is within ``hold`` of
    sure (0 or 1): there it is followed, so a faint rim of the held matte never stays round the
    person. Smoothing alone spreads a step of the model's matte
    over frames but follows all of it, so a model that settles a little differently each time it
    runs moves a still outline as much as without smoothing.
    """
    h, w = raw.shape
    inv_motion = 1.0 / motion
    below, above = 0.5 / threshold, 0.5 / (1.0 - threshold)
    for y in range(h):
        for x in range(w):
            r = min(max(raw[y, x], 0.0), 1.0)
            s = state[y, x]
            if by_picture:
                g = change[y, x]
            else:
                d = abs(r - s) * inv_motion
                g = min(d * d, 1.0)
            step = r - s
            held = hold * (1.0 - g) if hold < r < 1.0 - hold else 0.0   # sure ends: followed, to 0 and 1
            if step > held:
                step -= held
            elif step < -held:
                step += held
            else:
                step = 0.0
            s = s + step * (1.0 - keep * (1.0 - g))
            state[y, x] = s
            e = (s - threshold) * (below if s < threshold else above)   # the edge at 0, in [-0.5, 0.5]
            if softness > 1.0:
                a = 0.5 + 0.5 * (abs(2.0 * e) ** softness) * (1.0 if e >= 0.0 else -1.0)
            else:
                a = min(max(e / softness + 0.5, 0.0), 1.0)
            out[y, x] = np.uint8(a * 255.0 + 0.5)


@njit(inline="always", **JIT)
def _mix(f, b, a):
    """round((f*a + b*(255-a)) / 255) for 8-bit f, b, a, in 16-bit integers."""
    v = np.uint16(f) * a + np.uint16(b) * (np.uint16(255) - a) + np.uint16(128)
    return np.uint8((v + (v >> np.uint16(8))) >> np.uint16(8))


@njit(inline="always", **JIT)
def _scale(v, s):
    """round(v * (255 - s) / 255) for 8-bit v and s, in 16-bit integers (a background value
    under a shadow of opacity s)."""
    x = np.uint16(v) * (np.uint16(255) - np.uint16(s)) + np.uint16(128)
    return np.uint8((x + (x >> np.uint16(8))) >> np.uint16(8))


@njit(**JIT)
def blend(fg, bg, alpha, out, shade=None):
    """out = fg * alpha + bg * (1 - alpha). All C-contiguous; one flat loop the compiler vectorises.

    ``shade`` (uint8 opacity, or None): the person's shadow, darkening ``bg`` by ``1 - shade``
    in the same pass (the blends below take it too). Numba compiles the None case apart, with
    no trace of the shadow in it."""
    f = fg.reshape(-1)
    g = bg.reshape(-1)
    a_ = alpha.reshape(-1)
    o = out.reshape(-1)
    if shade is None:
        for i in range(a_.size):
            a = np.uint16(a_[i])
            for c in range(3):
                o[3 * i + c] = _mix(f[3 * i + c], g[3 * i + c], a)
    else:
        s_ = shade.reshape(-1)
        for i in range(a_.size):
            a, s = np.uint16(a_[i]), s_[i]
            for c in range(3):
                o[3 * i + c] = _mix(f[3 * i + c], _scale(g[3 * i + c], s), a)


@njit(**JIT)
def blend_tinted(fg, gain, bg, alpha, out, shade=None):
    """:func:`blend` with the person's values first scaled per channel by ``gain`` (uint32, 3, in
    256ths: 256 leaves a channel as it is), saturating at 255."""
    f = fg.reshape(-1)
    g = bg.reshape(-1)
    a_ = alpha.reshape(-1)
    o = out.reshape(-1)
    s_ = a_ if shade is None else shade.reshape(-1)
    for i in range(a_.size):
        a = np.uint16(a_[i])
        for c in range(3):
            t = min((np.uint32(f[3 * i + c]) * gain[c] + np.uint32(128)) >> np.uint32(8), np.uint32(255))
            b = g[3 * i + c] if shade is None else _scale(g[3 * i + c], s_[i])
            o[3 * i + c] = _mix(np.uint8(t), b, a)


@njit(**JIT)
def person_mean(small, alpha, out):
    """The mean colour of the person (``alpha``-weighted) in ``small`` into ``out`` (float32, 3);
    returns the person's share of the picture. Integer sums: exact, whatever the size."""
    h, w = alpha.shape
    s0 = s1 = s2 = n = 0
    for y in range(h):
        for x in range(w):
            a = np.int64(alpha[y, x])
            s0 += a * small[y, x, 0]
            s1 += a * small[y, x, 1]
            s2 += a * small[y, x, 2]
            n += a
    if n > 0:
        out[0] = np.float32(s0 / n)
        out[1] = np.float32(s1 / n)
        out[2] = np.float32(s2 / n)
    return np.float32(n / (255 * h * w))


@njit(**JIT)
def blend_wrap(fg, bg, glow, alpha, soft, out, strength, gain, shade=None):
    """A blend with light wrap: along the person's edge (alpha high, its blurred copy ``soft``
    lower), the blurred new background ``glow`` shines onto the person by up to ``strength``, as
    light from a real background would, so the cut-out does not look pasted on. The person's
    values are first scaled by ``gain`` (as in :func:`blend_tinted`)."""
    f = fg.reshape(-1)
    g = bg.reshape(-1)
    gl = glow.reshape(-1)
    a_ = alpha.reshape(-1)
    s_ = soft.reshape(-1)
    o = out.reshape(-1)
    k = np.float32(strength / (255.0 * 255.0))
    scale = (np.float32(gain[0]) / np.float32(256.0), np.float32(gain[1]) / np.float32(256.0),
             np.float32(gain[2]) / np.float32(256.0))
    d_ = s_ if shade is None else shade.reshape(-1)
    for i in range(a_.size):
        a = np.float32(a_[i])
        w = a * np.float32(255 - s_[i]) * k
        af = a * np.float32(1.0 / 255.0)
        bf = np.float32(1.0) - af
        if shade is not None:
            bf = bf * (np.float32(1.0) - np.float32(d_[i]) * np.float32(1.0 / 255.0))
        for c in range(3):
            j = 3 * i + c
            fc = min(np.float32(f[j]) * scale[c], np.float32(255.0))
            fc = fc + w * (np.float32(gl[j]) - fc)
            o[j] = np.uint8(fc * af + np.float32(g[j]) * bf + np.float32(0.5))


@njit(**JIT)
def blend_color(fg, color, alpha, out, shade=None):
    """out = fg * alpha + color * (1 - alpha); ``color`` is an RGB uint8 array of 3; ``shade`` as
    in :func:`blend`."""
    f = fg.reshape(-1)
    a_ = alpha.reshape(-1)
    o = out.reshape(-1)
    if shade is None:
        for i in range(a_.size):
            a = np.uint16(a_[i])
            for c in range(3):
                o[3 * i + c] = _mix(f[3 * i + c], color[c], a)
    else:
        s_ = shade.reshape(-1)
        for i in range(a_.size):
            a, s = np.uint16(a_[i]), s_[i]
            for c in range(3):
                o[3 * i + c] = _mix(f[3 * i + c], _scale(color[c], s), a)


@njit(**JIT)
def premultiply(small, alpha, lut, bloom, plain, held, weight):
    """Prepare a small frame for a background blur that leaves the person out.

    ``lut`` maps 8-bit values to the working scale (linear light for bokeh); near-white pixels
    (highlights: lamps, windows, reflections) are brightened by up to ``1 + bloom`` times, so they
    bloom into bright discs. ``plain``
    gets the values, ``held`` the values weighted by how purely background the pixel is, ``weight``
    that weight."""
    h, w = alpha.shape
    for y in range(h):
        for x in range(w):
            # A reduced pixel that is even partly person carries their colour: weigh it out
            # steeply (an eighth of person already gives it no weight).
            b = max(np.float32(0.0), np.float32(1.0) - np.float32(alpha[y, x]) * np.float32(8.0 / 255.0))
            weight[y, x] = b
            peak = max(small[y, x, 0], small[y, x, 1], small[y, x, 2])
            gain = np.float32(1.0)
            if bloom > 0 and peak > 200:
                t = np.float32(peak - 200) * np.float32(1.0 / 55.0)
                gain = np.float32(1.0) + bloom * t * t
            for c in range(3):
                v = lut[small[y, x, c]] * gain
                plain[y, x, c] = v
                held[y, x, c] = v * b


@njit(**JIT)
def premultiply_person(plain, alpha, held, weight):
    """The mirror of :func:`premultiply` for the person (clean edges): ``held`` the values
    :func:`premultiply` left in ``plain`` weighted by how surely the pixel is the person (an
    eighth of room already gives it no weight), ``weight`` that weight."""
    h, w = alpha.shape
    for y in range(h):
        for x in range(w):
            p = max(np.float32(0.0), np.float32(1.0) - np.float32(255 - np.int32(alpha[y, x])) * np.float32(8.0 / 255.0))
            weight[y, x] = p
            for c in range(3):
                held[y, x, c] = plain[y, x, c] * p


@njit(**JIT)
def normalise(held, weight, plain, lut_back, out, fill):
    """out = blurred background with the person left out: held / weight, falling back on
    ``plain`` where no background is near (deep inside the person, where it is not seen).
    ``lut_back`` maps the working scale back to 8 bits (index = value * 1023, clipped)."""
    h, w = weight.shape
    for y in range(h):
        for x in range(w):
            wt = weight[y, x] + fill
            for c in range(3):
                v = (held[y, x, c] + fill * plain[y, x, c]) / wt
                i = min(max(np.int32(v * np.float32(1023.0) + np.float32(0.5)), 0), 1023)
                out[y, x, c] = lut_back[i]


def _samples() -> list[tuple[Callable, Callable[[], object]]]:
    """Each kernel here with one call of it on tiny arrays, for :func:`vcam.jit.warm_up`."""
    f = np.zeros((2, 2), np.float32)
    u = np.zeros((2, 2), np.uint8)
    rgb = np.zeros((2, 2, 3), np.uint8)
    gain = np.full(3, 256, np.uint32)
    lut, back = np.zeros(256, np.float32), np.zeros(1024, np.uint8)
    frgb = np.zeros((2, 2, 3), np.float32)
    return [
        (smooth_matte, lambda: smooth_matte(f, f.copy(), f.copy(), u, 0.5, 0.25, 0.5, 1.0, True)),
        (image_change, lambda: image_change(rgb, rgb.copy(), f.copy(), np.float32(0.1), np.float32(0.5), np.float32(1.0),
                                            np.float32(3.0), np.zeros(256, np.int32))),
        (blend, lambda: (blend(rgb, rgb, u, rgb.copy()), blend(rgb, rgb, u, rgb.copy(), u))),
        (blend_color, lambda: (blend_color(rgb, np.zeros(3, np.uint8), u, rgb.copy()),
                               blend_color(rgb, np.zeros(3, np.uint8), u, rgb.copy(), u))),
        (blend_wrap, lambda: (blend_wrap(rgb, rgb, rgb, u, u, rgb.copy(), 0.3, gain),
                              blend_wrap(rgb, rgb, rgb, u, u, rgb.copy(), 0.3, gain, u))),
        (blend_tinted, lambda: (blend_tinted(rgb, gain, rgb, u, rgb.copy()), blend_tinted(rgb, gain, rgb, u, rgb.copy(), u))),
        (person_mean, lambda: person_mean(rgb, u, np.zeros(3, np.float32))),
        (premultiply, lambda: premultiply(rgb, u, lut, np.float32(0.0), frgb, frgb.copy(), f.copy())),
        (normalise, lambda: normalise(frgb, f, frgb, back, rgb.copy(), np.float32(0.01))),
        (premultiply_person, lambda: premultiply_person(frgb, u, frgb.copy(), f.copy())),
    ]


for _kernel, _sample in _samples():
    jit.register(_kernel, _sample)
