"""Clean edges: the person's own colour at their soft edge, for a cut-out or a new background.

A camera pixel at a soft edge (hair, a blurred rim) mixes the person and the room behind them,
``I = a*F + (1-a)*B``; laid over a new background as it is, the old room shows through as a
fringe. Two local estimates are made as the blur makes the room, at reduced size by normalised
Gaussian averages (:class:`vcam.effects.defocus.Defocus`): the room with the person left out, ``B0``,
and the person with the room left out, ``F0``. Around each block of the edge, how far the sure
room pixels stray from ``B0`` (``sB``: the room's texture, the camera's noise and compression,
all that the estimate misses) and the sure person pixels from ``F0`` (``sF``) are measured. The
pixel's residual ``r = I - a*F0 - (1-a)*B0`` is then shared between person and room by those
spreads, the likeliest ``F`` and ``B`` given ``I`` for Gaussian priors about ``F0`` and ``B0``
(the person's spread is taken as at least ``PERSON_SPREAD_FLOOR``: their colour at the edge is
never known as surely as a plain wall's)::

    F = F0 + a*sF*r / (a*a*sF + (1-a)*(1-a)*sB)

On a plain wall (``sB`` small) that takes the wall out whole, ``F = (I - (1-a)*B0) / a``. Over
a busy room (shelves, a shop front: ``sB`` large) ``F`` stays near ``F0``: taking ``B0`` out
there would lay the room's texture, magnified by ``1/a``, over the new background, which is
what a real room showed (issue 25) when only ``B0`` was known.

No halo: the model's matte (and more so its edge as vcam places it, and the crop that follows the
person) often reaches a few pixels past the person onto the room. Such a pixel is all room, and
unmixing makes it the room's colour: a light rim on a bright wall. Where the picture says where
the edge is, it is used: the pixel's colour is projected on the line from ``B0`` to ``F0``, which
gives the share of the person it holds, ``ac = (I - B0).(F0 - B0) / |F0 - B0|^2``, and the
matte is pulled in to ``ac`` (plus ``PULL_SLACK``), never pushed out, where ``ac`` is far below
what the matte says (``PULL_RATIO``), that line explains the pixel (its distance from the line
within the room's spread, ``PULL_FIT``), the person stands out from the room by far more than the
room's own texture (``PULL_CONTRAST``) and room is near (``PULL_ROOM_WEIGHT``). So on a plain or
bright wall the rim goes, and a strand of hair keeps the share of it the picture shows; on a busy
room, a white shirt on a white wall, or skin beside dark hair (a colour off that line), the
matte stays as the model made it.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from numba import njit

from vcam import jit, scaling
from vcam.effects.defocus import Defocus
from vcam.jit import JIT

CLEAN_EDGE_REACH = 8.0  # how far (Gaussian sigma, pixels at 720p) the old room and the person are looked for
CLEAN_EDGE_SIGMA_SMALL = 1.0   # ... at a size reduced until that sigma is 1 to 2 pixels
POOL = 2                 # blocks (8 px at 720p) around a soft one whose sure pixels give its spreads
SAMPLE_ROWS = 4          # ... sampled on every 4th row of a block
SPREAD_LEAST = 4         # sure pixels a block needs for its own spread (else the frame's mean)
SPREAD_FLOOR = 3.0       # the least spread of the room (squared 8-bit levels, summed over three channels)
PERSON_SPREAD_FLOOR = 3 * 24.0 ** 2   # ... and of the person: a colour at the edge (a strand of hair,
                         # a collar) may be 24 levels from their inside's even where that is flat
SURE_LOW, SURE_HIGH = 8, 247   # alpha within 1/32 of sure: not unmixed, and counted as sure
# The pull-in (the docstring's "No halo"): the person's colour must stand out from the room's by
# PULL_CONTRAST levels (Euclidean over the channels, from nothing at the first to all at the
# second) beyond PULL_TEXTURE times the room's own spread; the pixel must lie within the room's
# spread (times PULL_FIT, plus PULL_NOISE levels) of the line from room to person, trusted fully
# there and not at all at twice that. The matte is pulled in to the colour's share plus PULL_SLACK.
PULL_CONTRAST = (40.0, 80.0)
PULL_TEXTURE = 6.0
PULL_FIT = 4.0
PULL_NOISE = 6.0
PULL_SLACK = 0.04
# ... and only where the colour shows far less of the person than the matte says: under the first
# share of it fully, not from the second on. A strand of hair whose colour is not the person's
# inside (lighter, redder) shows a good part of its alpha along the line and is left as it is;
# the room beside the person shows next to none.
PULL_RATIO = (0.35, 0.65)
PULL_ROOM_WEIGHT = 0.05   # the least share of room near a block for its pull-in: where none is near
                          # (a pen in a hand at the frame's edge), the room's estimate is the pixel itself


@njit(inline="always", **JIT)
def _rows(back, person, y, sy, c_lo, c_hi, row_b, row_f):
    """Columns ``c_lo`` to ``c_hi`` of ``back`` and ``person`` (reduced size) interpolated to
    full-size row ``y`` (pixel centres aligned, as OpenCV's bilinear scale), into ``row_b`` and
    ``row_f`` (float32, reduced width x 3): a row's horizontal lerps then need no more loads."""
    bh = back.shape[0]
    fy = max(np.float32(0.0), (np.float32(y) + np.float32(0.5)) * sy - np.float32(0.5))
    y0 = min(int(fy), bh - 1)
    y1 = min(y0 + 1, bh - 1)
    wy = fy - np.float32(y0)
    for cc in range(c_lo, c_hi + 1):
        for c in range(3):
            t = np.float32(back[y0, cc, c])
            row_b[cc, c] = t + wy * (np.float32(back[y1, cc, c]) - t)
            t = np.float32(person[y0, cc, c])
            row_f[cc, c] = t + wy * (np.float32(person[y1, cc, c]) - t)


@njit(**JIT)
def spreads(fg, alpha, small_alpha, back, person, x0s, x1s, wxs, sums, near, row_b, row_f):
    """Pass 1 of the rule of the module's docstring: into ``sums`` (float32, reduced height x
    width x 4), per block the summed squared distances (over the channels) of its sure room pixels
    from ``B0`` and of its sure person pixels from ``F0``, and their counts, for the blocks within
    ``POOL`` of a soft one (``near``: uint8, reduced height x width, marks them); returns the
    frame's mean of each (the spreads where a block has too few sure pixels near it). ``back``,
    ``person``: ``B0`` and ``F0`` at reduced size, sampled bilinearly (``x0s``, ``x1s``, ``wxs``:
    each column's two columns there and the weight of the second,
    :func:`vcam.scaling.bilinear_columns`; ``row_b``, ``row_f``: float32, reduced width x 3, for
    a row's samples). A block is sampled on every ``SAMPLE_ROWS``-th row (the rows of neighbouring
    blocks offset by half that), every other pixel of it, chequered from row to row: a spread is
    a mean over many blocks' samples, and sampling half as densely left the cut-outs' error as it
    was (docs/quality.md, "Clean colour at the edge")."""
    h, w = alpha.shape
    bh, bw = back.shape[0], back.shape[1]
    sy = np.float32(bh / h)
    total_b = np.float32(0.0)   # the frame's sums and counts, for the fallback
    count_b = np.float32(0.0)
    total_f = np.float32(0.0)
    count_f = np.float32(0.0)
    for by in range(bh):              # near: the blocks within POOL of a soft one
        for bx in range(bw):
            near[by, bx] = 0
    for by in range(bh):
        for bx in range(bw):
            s = small_alpha[by, bx]
            if s != 0 and s != 255:
                for ny in range(max(0, by - POOL), min(bh, by + POOL + 1)):
                    for nx in range(max(0, bx - POOL), min(bw, bx + POOL + 1)):
                        near[ny, nx] = 1
    for by in range(bh):
        ys, ye = (by * h) // bh, ((by + 1) * h) // bh
        for bx in range(bw):
            for i in range(4):
                sums[by, bx, i] = np.float32(0.0)
            if near[by, bx] == 0:
                continue
            xs, xe = (bx * w) // bw, ((bx + 1) * w) // bw
            for y in range(ys + (bx % 2) * (SAMPLE_ROWS // 2), ye, SAMPLE_ROWS):
                _rows(back, person, y, sy, x0s[xs], x1s[xe - 1], row_b, row_f)
                for x in range(xs + (y // 2) % 2, xe, 2):
                    a = alpha[y, x]
                    if SURE_LOW <= a <= SURE_HIGH:
                        continue
                    row = row_b if a < SURE_LOW else row_f
                    c0, c1, wx = x0s[x], x1s[x], wxs[x]
                    d = np.float32(0.0)
                    for c in range(3):
                        e = np.float32(fg[y, x, c]) - (row[c0, c] + wx * (row[c1, c] - row[c0, c]))
                        d += e * e
                    i = 0 if a < SURE_LOW else 2
                    sums[by, bx, i] += d
                    sums[by, bx, i + 1] += np.float32(1.0)
            total_b += sums[by, bx, 0]
            count_b += sums[by, bx, 1]
            total_f += sums[by, bx, 2]
            count_f += sums[by, bx, 3]
    fallback_b = total_b / count_b if count_b > 0 else np.float32(SPREAD_FLOOR)
    fallback_f = total_f / count_f if count_f > 0 else np.float32(PERSON_SPREAD_FLOOR)
    return fallback_b, fallback_f


@njit(inline="always", **JIT)
def _pull_in(fg, y, x, a8, row_b, row_f, c0, c1, wx, c_lo, c_span, fit):
    """The alpha of pixel (y, x), ``a8``, pulled in to the share of the person its colour holds
    where the picture tells it (the module's "No halo"); never raised."""
    dd = np.float32(0.0)
    qd = np.float32(0.0)
    qq = np.float32(0.0)
    for c in range(3):
        f0 = row_f[c0, c] + wx * (row_f[c1, c] - row_f[c0, c])
        b0 = row_b[c0, c] + wx * (row_b[c1, c] - row_b[c0, c])
        d = f0 - b0
        q = np.float32(fg[y, x, c]) - b0
        dd += d * d
        qd += q * d
        qq += q * q
    if dd <= c_lo:
        return a8
    share = qd / dd
    off = qq - share * qd   # squared distance from the line room -> person
    if off >= np.float32(2.0) * fit:
        return a8
    target = (max(share, np.float32(0.0)) + np.float32(PULL_SLACK)) * np.float32(255.0)
    a = np.float32(a8)
    ratio = target / a   # what the colour shows of what the matte says
    if ratio >= np.float32(PULL_RATIO[1]):
        return a8
    trust = (min((dd - c_lo) / c_span, np.float32(1.0)) * min(np.float32(2.0) - off / fit, np.float32(1.0))
             * min((np.float32(PULL_RATIO[1]) - ratio) / np.float32(PULL_RATIO[1] - PULL_RATIO[0]), np.float32(1.0)))
    return np.uint8(a - trust * (a - target) + np.float32(0.5))


@njit(**JIT)
def unmix(fg, alpha, small_alpha, back, person, room_weight, x0s, x1s, wxs, sums, fallback_b, fallback_f, row_b, row_f,
          out):
    """Pass 2: the person's own colour into ``out`` (which holds a copy of ``fg``), by the rule of
    the module's docstring, with the sums of :func:`spreads` (and its fallbacks where a block has
    fewer than ``SPREAD_LEAST`` sure pixels within ``POOL`` of it).

    Only the blocks whose reduced alpha ``small_alpha`` (an area average) is neither 0 nor 255
    are visited, and only their partly transparent pixels written: those more than 1/32 from
    sure (nearer, unmixing would change the composite by under 1/32 of the contrast between
    person and room), which a block holding one never averages to: a few per cent of the frame.
    ``alpha`` is pulled in first where the picture shows a halo (:func:`_pull_in`), in place,
    in the blocks with room near them (``room_weight``, reduced size: the estimate's weights)."""
    h, w = alpha.shape
    bh, bw = back.shape[0], back.shape[1]
    sy = np.float32(bh / h)
    least = np.float32(SPREAD_LEAST)
    for by in range(bh):
        ys, ye = (by * h) // bh, ((by + 1) * h) // bh
        for bx in range(bw):
            s = small_alpha[by, bx]
            if s == 0 or s == 255:
                continue
            acc_b = np.float32(0.0)
            n_b = np.float32(0.0)
            acc_f = np.float32(0.0)
            n_f = np.float32(0.0)
            for ny in range(max(0, by - POOL), min(bh, by + POOL + 1)):
                for nx in range(max(0, bx - POOL), min(bw, bx + POOL + 1)):
                    acc_b += sums[ny, nx, 0]
                    n_b += sums[ny, nx, 1]
                    acc_f += sums[ny, nx, 2]
                    n_f += sums[ny, nx, 3]
            sb = max(acc_b / n_b if n_b >= least else fallback_b, np.float32(SPREAD_FLOOR))
            sf = max(acc_f / n_f if n_f >= least else fallback_f, np.float32(PERSON_SPREAD_FLOOR))
            xs, xe = (bx * w) // bw, ((bx + 1) * w) // bw
            c_lo = np.float32(PULL_CONTRAST[0] ** 2) + np.float32(PULL_TEXTURE) * sb
            block_dd = np.float32(0.0)   # the block's own contrast: none near the threshold, no pull-in
            for c in range(3):
                d = np.float32(person[by, bx, c]) - np.float32(back[by, bx, c])
                block_dd += d * d
            pull = room_weight[by, bx] >= np.float32(PULL_ROOM_WEIGHT) and block_dd > np.float32(0.5) * c_lo
            c_span = np.float32(PULL_CONTRAST[1] ** 2 - PULL_CONTRAST[0] ** 2)
            fit = np.float32(PULL_FIT) * sb + np.float32(3.0 * PULL_NOISE ** 2)
            for y in range(ys, ye):
                _rows(back, person, y, sy, x0s[xs], x1s[xe - 1], row_b, row_f)
                for x in range(xs, xe):
                    a8 = alpha[y, x]
                    if a8 < SURE_LOW or a8 > SURE_HIGH:
                        continue
                    c0, c1, wx = x0s[x], x1s[x], wxs[x]
                    if pull:
                        a8 = _pull_in(fg, y, x, a8, row_b, row_f, c0, c1, wx, c_lo, c_span, fit)
                        alpha[y, x] = a8
                        if a8 < SURE_LOW:
                            continue
                    a = np.float32(a8) * np.float32(1.0 / 255.0)
                    b = np.float32(1.0) - a
                    k = a * sf / (a * a * sf + b * b * sb)
                    for c in range(3):
                        f0 = row_f[c0, c] + wx * (row_f[c1, c] - row_f[c0, c])
                        b0 = row_b[c0, c] + wx * (row_b[c1, c] - row_b[c0, c])
                        v = f0 + k * (np.float32(fg[y, x, c]) - a * f0 - b * b0)
                        out[y, x, c] = np.uint8(min(max(v, np.float32(0.0)), np.float32(255.0)) + np.float32(0.5))


def _sample() -> None:
    rgb = np.zeros((2, 2, 3), np.uint8)
    u = np.zeros((2, 2), np.uint8)
    row = np.zeros((2, 3), np.float32)
    sums = np.zeros((2, 2, 4), np.float32)
    columns = scaling.bilinear_columns(2, 2)
    fallbacks = spreads(rgb, u, u, rgb, rgb, *columns, sums, u.copy(), row, row.copy())
    unmix(rgb, u, u, rgb, rgb, np.zeros((2, 2), np.float32), *columns, sums, *fallbacks, row, row.copy(), rgb.copy())


jit.register(spreads, _sample)
jit.register(unmix, _sample)


class CleanEdge:
    """Called with a frame of ``size``, its alpha and ``dst``: the frame with its soft edge
    cleaned, into ``dst`` (which it returns), and the alpha pulled in where it reached onto the
    room (in place: the blend, the shadow and a cut-out's alpha all take it from there); the
    buffers are made here once. ``still``: nothing
    moved outside the person since the last frame (``vcam.segment.still_gate``, which also bounds how many
    frames in a row may say so): the room, the person's colour beside it and the spreads
    estimated then still hold, and only the unmixing runs."""

    def __init__(self, size: tuple[int, int]) -> None:
        self._estimate = Defocus(size, CLEAN_EDGE_REACH, bokeh=False, halo_free=True,
                                 least=CLEAN_EDGE_SIGMA_SMALL, person=True)
        small = self._estimate.small_alpha.shape
        self._columns = scaling.bilinear_columns(size[0], small[1])
        self._sums = np.empty(small + (4,), np.float32)
        self._near = np.empty(small, np.uint8)
        self._room_weight = np.empty(small, np.float32)
        self._rows = (np.empty((small[1], 3), np.float32), np.empty((small[1], 3), np.float32))
        self._held: Optional[tuple] = None   # (B0, F0, fallbacks) of the last frame estimated
        self.fg = np.empty((size[1], size[0], 3), np.uint8)   # for the blends that still follow

    def __call__(self, frame: np.ndarray, alpha: np.ndarray, dst: np.ndarray,
                 halvings: Optional[scaling.Halvings] = None, *, still: bool = False) -> np.ndarray:
        np.copyto(dst, frame)
        estimate = self._estimate
        if self._held is None or not still:
            back = estimate.small(frame, alpha, halvings)
            np.copyto(self._room_weight, estimate.room_weight)   # before person() reuses it
            person = estimate.person()
            fallbacks = spreads(frame, alpha, estimate.small_alpha, back, person, *self._columns, self._sums,
                                self._near, *self._rows)
            self._held = (back, person, fallbacks)
        back, person, (fallback_b, fallback_f) = self._held
        unmix(frame, alpha, estimate.small_alpha, back, person, self._room_weight, *self._columns, self._sums,
              fallback_b, fallback_f, *self._rows, dst)
        return dst
