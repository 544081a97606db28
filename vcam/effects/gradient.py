"""A colour gradient as a background: made once for a frame size, when the effect is chosen.

``linear`` runs from the first colour to the second along ``angle`` as CSS's
``linear-gradient(<angle>, a, b)`` does (0 degrees up, 90 right, 180 down; the line long enough
that the corners get the pure colours); ``radial`` from the first colour at the centre to the
second at the corners. Colours are mixed in linear light (no dark band between two bright
colours) and dithered by less than one grey level, so a gentle gradient shows no steps, before
or after a video codec.
"""
from __future__ import annotations

import math

import numpy as np

from vcam.config import GRADIENTS

DITHER_SEED = 2026   # the same dither every time: a picture made twice is the same picture


def gradient(size: tuple[int, int], first: tuple[int, int, int], second: tuple[int, int, int],
             shape: str = "linear", angle: float = 180.0) -> np.ndarray:
    """The gradient as an RGB uint8 picture of ``size`` (width, height)."""
    w, h = size
    if shape not in GRADIENTS:
        raise ValueError(f"gradient: got a shape of {shape!r}, expected one of {', '.join(GRADIENTS)}")
    xs = np.arange(w, dtype=np.float32) + np.float32(0.5 - w / 2)
    ys = np.arange(h, dtype=np.float32) + np.float32(0.5 - h / 2)
    if shape == "linear":
        dx, dy = math.sin(math.radians(angle)), -math.cos(math.radians(angle))   # y runs down
        half = (abs(w * dx) + abs(h * dy)) / 2 or 1.0
        t = (xs[None, :] * np.float32(dx / half) + ys[:, None] * np.float32(dy / half)) * np.float32(0.5)
        t += np.float32(0.5)
    else:
        t = np.sqrt(xs[None, :] ** 2 + ys[:, None] ** 2) / np.float32(math.hypot(w, h) / 2 or 1.0)
    np.clip(t, 0.0, 1.0, out=t)
    a, b = (_linear(np.array(c, np.float32)) for c in (first, second))
    mixed = a + t[..., None] * (b - a)
    out = _srgb(mixed)
    out += np.random.default_rng(DITHER_SEED).random((h, w, 1), dtype=np.float32) - np.float32(0.5)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _linear(rgb: np.ndarray) -> np.ndarray:
    """sRGB 0-255 -> linear light 0-1."""
    c = rgb / np.float32(255.0)
    return np.where(c <= 0.04045, c / np.float32(12.92), ((c + np.float32(0.055)) / np.float32(1.055)) ** np.float32(2.4))


def _srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light 0-1 -> sRGB 0-255 (float32)."""
    c = np.clip(linear, 0.0, 1.0)
    return np.float32(255.0) * np.where(c <= 0.0031308, c * np.float32(12.92),
                                        np.float32(1.055) * c ** np.float32(1 / 2.4) - np.float32(0.055))
