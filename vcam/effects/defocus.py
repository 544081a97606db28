"""The background out of focus, with the person left out (no halo): a Gaussian blur, or bokeh's
disc in linear light with highlights that bloom, at a reduced size and scaled up once.

Used by the blur effects (``blur``, ``bokeh``, and ``portrait`` through :mod:`vcam.effects.portrait`) and
by clean edges (the old background behind a soft edge, estimated as a blur of the room).
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from vcam import kernels, scaling

# The background is blurred at reduced size: a Gaussian of sigma s on a frame scaled down by f
# looks the same as sigma s*f at full size once scaled back up, for a fraction of the cost.
BLUR_SIGMA_SMALL = 2.0   # the least sigma kept at reduced size: 2 to 4 pixels there
BOKEH_RADIUS_SMALL = 3.0  # the least disc radius kept at reduced size
BOKEH_BLOOM = 3.0        # how much brighter a white highlight shines through the disc
FILL = np.float32(0.001)  # weight of the pixel's own value, for where no background is near


def _disc(radius: float) -> np.ndarray:
    """A flat disc kernel with an anti-aliased rim, summing to 1."""
    r = int(np.ceil(radius))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float32)
    k = np.clip(radius + 0.5 - np.sqrt(xx * xx + yy * yy), 0.0, 1.0)
    return (k / k.sum()).astype(np.float32)


class Defocus:
    """The background out of focus, with the person left out before blurring (normalised by the
    background weight), so their colours do not glow into it as a halo.

    ``bokeh`` uses a disc (a lens's out-of-focus shape) in linear light with highlights boosted,
    so lights bloom into bright discs; otherwise a Gaussian. All of it runs at a size reduced by a
    power of two (OpenCV's fast halving), then one bilinear scale-up."""

    def __init__(self, size: tuple[int, int], strength: float, *, bokeh: bool, halo_free: bool,
                 least: Optional[float] = None, second: bool = False, person: bool = False) -> None:
        w, h = self.size = size
        reach = strength * h / 720.0 * (1.5 if bokeh else 1.0)   # sigma, or the disc's radius
        least = least or (BOKEH_RADIUS_SMALL if bokeh else BLUR_SIGMA_SMALL)
        factor = 1 << max(0, int(np.log2(max(1.0, reach / least))))
        small = (max(1, w // factor), max(1, h // factor))
        k = factor.bit_length() - 1
        self._k = k if small == (w >> k, h >> k) else None    # a shared halving of the frame fits
        self._shrink = scaling.Downscaler(size, small)
        self._shrink_alpha = scaling.Downscaler(size, small, channels=1) if halo_free else None
        sh = (small[1], small[0])
        self._small = np.empty(sh + (3,), np.uint8)
        self._alpha = np.zeros(sh, np.uint8)      # stays 0 (all background) when not halo-free
        self._plain, self._held = np.empty(sh + (3,), np.float32), np.empty(sh + (3,), np.float32)
        self._weight = np.empty(sh, np.float32)
        self._blurred = (np.empty_like(self._held), np.empty_like(self._weight))
        self._out = np.empty_like(self._small)
        self._reduced = self._small
        self.factor = factor
        # second: buffers for :meth:`again` (a second, Gaussian defocus of the same background)
        self._second = (np.empty_like(self._held), np.empty_like(self._weight), np.empty_like(self._small)) if second else None
        # person: buffers for :meth:`person` (the person's colour carried out, for clean edges)
        self._person = (np.empty_like(self._held), np.empty_like(self._weight), np.empty_like(self._small)) if person else None
        gamma = 2.2 if bokeh else 1.0
        self._lut = ((np.arange(256, dtype=np.float32) / 255.0) ** gamma).astype(np.float32)
        self._back = np.round(255.0 * (np.arange(1024, dtype=np.float32) / 1023.0) ** (1.0 / gamma)).astype(np.uint8)
        self._bloom = np.float32(BOKEH_BLOOM if bokeh else 0.0)
        self._disc = _disc(reach / factor) if bokeh else None
        self._sigma = reach / factor

    def _blur(self, src: np.ndarray, dst: np.ndarray) -> None:
        if self._disc is not None:
            cv2.filter2D(src, -1, self._disc, dst=dst, borderType=cv2.BORDER_REFLECT)
        else:
            cv2.GaussianBlur(src, (0, 0), self._sigma, dst=dst, borderType=cv2.BORDER_REFLECT)

    @property
    def room_weight(self) -> np.ndarray:
        """How much of the room :meth:`small` found near each reduced pixel (0 to 1; float32,
        reduced size): where it is 0 no room is near and the estimate is the pixel's own value.
        Valid until :meth:`person` (which reuses the buffer)."""
        return self._blurred[1]

    @property
    def reduced(self) -> np.ndarray:
        """The frame at the reduced size, as :meth:`small` last reduced it (not to be written)."""
        return self._reduced

    @property
    def small_alpha(self) -> np.ndarray:
        """The alpha at the reduced size, as :meth:`small` last reduced it (halo-free only)."""
        return self._alpha

    def small(self, frame: np.ndarray, alpha: np.ndarray, halvings: Optional[scaling.Halvings] = None) -> np.ndarray:
        """The defocused background at reduced size (a buffer kept here); ``halvings``: the
        frame's, shared with the other stages."""
        if halvings is not None and self._k is not None:
            reduced = halvings.level(frame, self._k)
        else:
            reduced = self._shrink(frame, self._small)
        if self._shrink_alpha is not None:
            self._shrink_alpha(alpha, self._alpha)
        self._reduced = reduced
        kernels.premultiply(reduced, self._alpha, self._lut, self._bloom, self._plain, self._held, self._weight)
        held, weight = self._blurred
        self._blur(self._held, held)
        self._blur(self._weight, weight)
        # Where no background is near (inside the person, where it is never seen) the pixel's
        # own unblurred value fills in.
        kernels.normalise(held, weight, self._plain, self._back, self._out, FILL)
        return self._out

    def again(self, reach: float) -> np.ndarray:
        """The background of the last :meth:`small`, defocused instead by a Gaussian of sigma
        ``reach`` (pixels of the full-size frame), at the same reduced size; needs ``second``."""
        held, weight, out = self._second
        sigma = reach / self.factor
        cv2.GaussianBlur(self._held, (0, 0), sigma, dst=held, borderType=cv2.BORDER_REFLECT)
        cv2.GaussianBlur(self._weight, (0, 0), sigma, dst=weight, borderType=cv2.BORDER_REFLECT)
        kernels.normalise(held, weight, self._plain, self._back, out, FILL)
        return out

    def person(self) -> np.ndarray:
        """The mirror of the last :meth:`small`: the person's colour carried out beyond them
        (only the sure person weighs in, blurred alike and normalised), at the same reduced
        size, for where person and room mix (clean edges); needs ``person`` (and ``halo_free``)."""
        held, weight, out = self._person
        kernels.premultiply_person(self._plain, self._alpha, held, weight)
        blurred_held, blurred_weight = self._blurred   # free again: small() has normalised its own
        self._blur(held, blurred_held)
        self._blur(weight, blurred_weight)
        kernels.normalise(blurred_held, blurred_weight, self._plain, self._back, out, FILL)
        return out

    def __call__(self, frame: np.ndarray, alpha: np.ndarray, out: np.ndarray,
                 halvings: Optional[scaling.Halvings] = None) -> None:
        cv2.resize(self.small(frame, alpha, halvings), self.size, dst=out, interpolation=cv2.INTER_LINEAR)
