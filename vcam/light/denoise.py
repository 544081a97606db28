"""Temporal noise reduction for live webcam video, gated by motion.

Each pixel keeps a running average of the frames in fixed point (``value * 256``, uint16), and
each new frame moves it by a weight that depends on how far the frame is from it: a pixel within
the camera's noise (still) moves only ``w_min`` of the way, so its noise is averaged over frames;
one well beyond the noise (something moved there) takes the new value at once, so nothing moving
leaves a trail; between two thresholds the weight ramps from one to the other. The thresholds
follow the noise measured in the video itself, so a clean camera and a very noisy one are both
handled: the same pass over the frame counts how much a sparse grid of pixels changed since the
last frame, and the lower quartile of those changes, eased over frames, gives the noise.

The noise is measured from frame to frame, not from the average: the distance from the average
of a picture that moves little (a slow pan) grows as the average lags, which would read as more
noise, more averaging and more lag. The quartile, not the median, leaves out the moving pixels as
long as a quarter of the picture is still.

The pass is 16-bit integer arithmetic, 16 values per vector instruction: about 2 ms for a 720p
frame on one core.
"""
from __future__ import annotations

from statistics import NormalDist

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from vcam import jit
from vcam.jit import JIT

pass

# d: how far a pixel is from its average, the most of its three channels, against sigma: the
# camera's noise per channel.
THRESHOLD_LOW = 3.2     # d below this many sigma: still, averaged with w_min
THRESHOLD_HIGH = 5.1    # d above this many sigma: moving, replaced at once; a ramp between
LOW_LIMITS = (2.0, 24.0)   # the least and most the low threshold can be, in grey levels
RAMP_LEAST = 2.0        # the high threshold is at least this many grey levels above the low one
AVERAGE_LEAST = 1 / 8   # w_min at strength 1: a still pixel's noise is averaged over about 15 frames
SAMPLE_STEP = 4         # the noise is measured on every 4th pixel of every 4th row
NOISE_SHARE = 0.25      # ... from the change that this share of them is below
NOISE_PRIOR = 1.5       # sigma (grey levels) assumed before one is measured
NOISE_MOST = 12.0       # the most sigma taken from one frame: beyond, the picture changed
EASE_DOWN = 0.3         # share of a lower measure taken per frame
EASE_UP = 0.05          # ... of a higher one: slowly, as a cut is no reason to average more
# a still pixel's change between two frames is Gaussian with sqrt(2) sigma: a share q of the
# changes is below sqrt(2) sigma times the normal quantile (1 + q) / 2
_SHARE_SIGMAS = NormalDist().inv_cdf((1.0 + NOISE_SHARE) / 2.0) * np.sqrt(2.0)

_I16, _I32 = ir.IntType(16), ir.IntType(32)


def _mulhi(builder, a, b):
    """(a * b) >> 16 for 16-bit a, b: one vector instruction (numba alone would widen to 64 bits)."""
    p = builder.mul(builder.zext(a, _I32), builder.zext(b, _I32))
    return builder.trunc(builder.lshr(p, ir.Constant(_I32, 16)), _I16)


@intrinsic
def _weight(typingctx, d, t0, span, slope, w_min):
    """The weight (256ths) of a frame whose pixel is ``d`` from its average:
    ``w_min + ((min(max(d - t0, 0), span) * slope) >> 16)``, all 16-bit."""
    sig = types.uint16(types.uint16, types.uint16, types.uint16, types.uint16, types.uint16)

    def codegen(context, builder, signature, args):
        d, t0, span, slope, w_min = args
        e = builder.select(builder.icmp_unsigned(">", d, t0), builder.sub(d, t0), ir.Constant(_I16, 0))
        e = builder.select(builder.icmp_unsigned("<", e, span), e, span)
        return builder.add(w_min, _mulhi(builder, e, slope))
    return sig, codegen


@intrinsic
def _toward(typingctx, s, f, w):
    """The average ``s`` (256ths) moved ``w``/256 of the way to the frame's value ``f`` (0..255):
    ``(s * (256 - w)) >> 8 + f * w``, all 16-bit (w from 1 to 256, so nothing overflows)."""
    sig = types.uint16(types.uint16, types.uint16, types.uint16)

    def codegen(context, builder, signature, args):
        s, f, w = args
        keep = builder.shl(builder.sub(ir.Constant(_I16, 256), w), ir.Constant(_I16, 8))
        return builder.add(_mulhi(builder, s, keep), builder.mul(f, w))
    return sig, codegen


@njit(**JIT)
def denoise_pass(frame, state, out, diff, masks, grid, hist, t0, span, slope, w_min, share):
    """One frame (RGB uint8) through the running average ``state`` (uint16, 256ths of a grey
    level), the result rounded into ``out``. A pixel whose largest channel difference d from the
    average (256ths) is at most ``t0`` moves ``w_min``/256 of the way to the frame, one beyond
    ``t0 + span`` all the way, on a straight ramp between (``slope`` = (256 - w_min) * 65536 // span).

    Row by row, in two flat passes the compiler vectorises: ``diff`` (uint16, 3 * width + 4)
    gets |frame - state| of each value, from offset 2; then each value takes the most of its
    pixel's three by its neighbours up to 2 away, each kept or zeroed by ``masks`` (uint16, 4 rows
    of 3 * width: 0xFFFF where the neighbour 1 after, 2 after, 1 before, 2 before is of the same
    pixel).

    The noise is measured on every SAMPLE_STEP-th pixel of every SAMPLE_STEP-th row, one channel
    in turn: ``grid`` (uint8, one value per sample) holds the last frame's values there, and
    ``hist`` (int32, 256) gets how many samples changed by each number of grey levels since.
    Returns the change (grey levels, interpolated) that the share ``share`` of them is below."""
    h, w = frame.shape[0], frame.shape[1]
    m = 3 * w
    t0, span, slope, w_min = np.uint16(t0), np.uint16(span), np.uint16(slope), np.uint16(w_min)
    eight, half = np.uint16(8), np.uint16(128)
    next1, next2, prev1, prev2 = masks[0], masks[1], masks[2], masks[3]
    d0, d1, d2, d3, d4 = diff[0:m], diff[1:m + 1], diff[2:m + 2], diff[3:m + 3], diff[4:m + 4]
    hist[:] = 0
    for y in range(h):
        f = frame[y].reshape(-1)
        s = state[y].reshape(-1)
        o = out[y].reshape(-1)
        if y % SAMPLE_STEP == 0:
            g = grid[y // SAMPLE_STEP]
            for i in range(g.size):
                v = f[3 * SAMPLE_STEP * i + (i + y // SAMPLE_STEP) % 3]
                hist[abs(np.int64(v) - np.int64(g[i]))] += 1
                g[i] = v
        for k in range(m):
            a, b = np.uint16(np.uint16(f[k]) << eight), s[k]
            d2[k] = np.uint16(max(a, b) - min(a, b))
        for k in range(m):
            d = max(max(d2[k], np.uint16(d3[k] & next1[k])),
                    max(max(np.uint16(d4[k] & next2[k]), np.uint16(d1[k] & prev1[k])), np.uint16(d0[k] & prev2[k])))
            v = _toward(s[k], np.uint16(f[k]), _weight(d, t0, span, slope, w_min))
            s[k] = v
            o[k] = np.uint8(np.uint16(v + half) >> eight)
    total = 0
    for i in range(256):
        total += hist[i]
    wanted = total * share
    seen = 0.0
    for i in range(256):     # a change of i grey levels stands for |x| from i - 1/2 to i + 1/2 (0 to 1/2 for 0)
        if hist[i] > 0 and seen + hist[i] >= wanted:
            low = max(i - 0.5, 0.0)
            return low + (i + 0.5 - low) * (wanted - seen) / hist[i]
        seen += hist[i]
    return 0.0


def channel_masks(width: int) -> np.ndarray:
    """The neighbour masks of :func:`denoise_pass` for rows ``width`` pixels wide."""
    c = np.arange(3 * width) % 3
    same = np.stack([c < 2, c == 0, c > 0, c == 2])
    return np.where(same, np.uint16(0xFFFF), np.uint16(0)).astype(np.uint16)


class Denoise:
    """``apply(frame, out)`` writes ``frame`` (RGB uint8 of ``size`` = (width, height)) with its
    noise averaged away over the frames where the picture is still; ``strength`` (above 0, at
    most 1) sets how strongly: a still pixel moves 1/(1 + 7 * strength) of the way to each new
    frame (1/8 at strength 1). ``reset()`` before an unrelated frame (a new source)."""

    def __init__(self, size: tuple[int, int], strength: float) -> None:
        if (len(size) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in size)
                or min(size) < 1):
            raise ValueError(f"got size {size!r}, expected (width, height): two positive integers")
        if isinstance(strength, bool) or not isinstance(strength, (int, float, np.floating)) or not 0.0 < strength <= 1.0:
            raise ValueError(f"got strength {strength!r}, expected a number above 0 and at most 1")
        w, h = int(size[0]), int(size[1])
        self.size = (w, h)
        self.strength = float(strength)
        self._shape = (h, w, 3)
        self._state = np.zeros(self._shape, np.uint16)
        self._diff = np.zeros(3 * w + 4, np.uint16)
        self._masks = channel_masks(w)
        self._grid = np.zeros((-(-h // SAMPLE_STEP), -(-w // SAMPLE_STEP)), np.uint8)
        self._hist = np.zeros(256, np.int32)
        self._w_min = round(256.0 / (1.0 + (1.0 / AVERAGE_LEAST - 1.0) * self.strength))
        self.reset()

    @property
    def noise(self) -> float:
        """The camera's noise as measured and eased: sigma per channel, in grey levels."""
        return self._sigma

    def reset(self) -> None:
        """Forget the past: the next frame passes through as it is and starts the average."""
        self._frames = 0            # frames in the average
        self._measured = False      # whether the noise is measured yet
        self._sigma = NOISE_PRIOR

    def apply(self, frame: np.ndarray, out: np.ndarray) -> np.ndarray:
        for name, a in (("frame", frame), ("out", out)):
            if not isinstance(a, np.ndarray) or a.dtype != np.uint8 or a.shape != self._shape or not a.flags.c_contiguous:
                got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
                raise ValueError(f"{name}: got {got}, expected C-contiguous uint8 shaped {self._shape}")
        if np.may_share_memory(frame, out):
            raise ValueError("out: got the frame's own memory, expected another buffer (the frame is never written)")
        self._frames += 1
        if self._frames == 1:       # the average starts from this frame, passed through as it is
            denoise_pass(frame, self._state, out, self._diff, self._masks, self._grid, self._hist, 0, 1, 0, 256,
                         NOISE_SHARE)
            return out
        # the first frames after a reset are averaged evenly (1/2, 1/3, ...) until w_min
        w_min = max(self._w_min, 256 // self._frames)
        t0, span, slope = self._thresholds(w_min)
        change = denoise_pass(frame, self._state, out, self._diff, self._masks, self._grid, self._hist,
                              t0, span, slope, w_min, NOISE_SHARE)
        sigma = min(change / _SHARE_SIGMAS, NOISE_MOST)
        if not self._measured:
            self._sigma, self._measured = sigma, True
        else:
            self._sigma += (EASE_DOWN if sigma < self._sigma else EASE_UP) * (sigma - self._sigma)
        return out

    def _thresholds(self, w_min: int) -> tuple[int, int, int]:
        """The low threshold and the ramp's width (256ths of a grey level), and its slope."""
        low = min(max(THRESHOLD_LOW * self._sigma, LOW_LIMITS[0]), LOW_LIMITS[1])
        high = max(THRESHOLD_HIGH * self._sigma, low + RAMP_LEAST)
        t0, span = round(low * 256), round((high - low) * 256)
        return t0, span, (256 - w_min) * 65536 // span     # under 2**15: span is at least 512


def _sample() -> float:
    rgb = np.zeros((2, 2, 3), np.uint8)
    return denoise_pass(rgb, np.zeros((2, 2, 3), np.uint16), rgb.copy(), np.zeros(10, np.uint16), channel_masks(2),
                        np.zeros((1, 1), np.uint8), np.zeros(256, np.int32), 512, 512, 28672, 32, NOISE_SHARE)


jit.register(denoise_pass, _sample)
