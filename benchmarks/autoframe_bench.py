"""Auto-frame measured: what it costs per frame, and how well it centres a person who moves.

    python benchmarks/autoframe_bench.py            # 1280x720 and 1920x1080, zoom 2
    python benchmarks/autoframe_bench.py --zoom 1.5 --frames 300

Cost: ``AutoFrame.apply`` alone (finding the person on the working matte, the spring, the two
warps), median ms per frame at zoom 1.5 and ``--zoom``, on one OpenCV thread as the engine runs
it on 2 cores; the warps cost more the less they magnify (they read more of the picture). Centring:
the astronaut (scikit-image's public-domain portrait, cut out by vcam's own photo matte) swept
left and right over a generated room (sinusoidal, 0.2 of the width either side, one period per
``--frames``), through the real engine with ``--autoframe`` and no effect: the mean distance of
the true head and shoulders from the middle of the picture, in shares of its width, before and
after framing, counted from half a second in; and for a still person with sensor noise, how far
the crop moves once settled.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Optional

import cv2
import numpy as np

from vcam import EffectSettings, Engine, FramingSettings, Settings
from vcam.effects.autoframe import AutoFrame

FPS = 30.0


class SweptPortrait:
    """Synthetic frames with known motion: the astronaut (scikit-image's public-domain portrait),
    cut out by vcam's own photo matte once, laid over a generated gradient at a given horizontal
    position, head and shoulders up from the bottom of the frame. ``frame(cx)`` returns the
    picture (RGB uint8) and the true mask (float32) with the portrait centred at ``cx`` pixels;
    ``frame(None)`` the empty room."""

    def __init__(self, size: tuple[int, int] = (1280, 720), height: float = 0.75) -> None:
        from skimage import data

        self.size = w, h = size
        astro = data.astronaut()
        engine = Engine(Settings(effect=EffectSettings("cutout")))
        try:
            mask = engine.process(astro, np.empty_like(astro), {}, photo=True) >= 128
        finally:
            engine.close()
        ys, _ = np.nonzero(mask)
        scale = height * h / (ys.max() - ys.min() + 1)
        self.person = cv2.resize(astro, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA).astype(np.float32)
        self.mask = cv2.resize(mask.astype(np.float32), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
        self.room = (np.float32((60, 90, 140)) * (1 - t) + np.float32((200, 180, 150)) * t
                     + np.zeros((h, w, 3), np.float32))
        self.top = h - self.person.shape[0] + round(0.15 * self.person.shape[0])   # cut at the bottom

    def frame(self, cx, cx2=None):
        """The picture and true mask with the portrait centred at ``cx`` (a second at ``cx2``)."""
        w, h = self.size
        picture, alpha = self.room.copy(), np.zeros((h, w), np.float32)
        for x in (cx, cx2):
            if x is None:
                continue
            m = np.float32([[1, 0, x - self.person.shape[1] / 2], [0, 1, self.top]])
            a = cv2.warpAffine(self.mask, m, (w, h))
            p = cv2.warpAffine(self.person, m, (w, h))
            picture = p * a[..., None] + picture * (1 - a[..., None])
            alpha = np.maximum(alpha, a)
        return np.clip(picture + 0.5, 0, 255).astype(np.uint8), alpha


def head_middle(alpha, band: float = 0.3) -> float:
    """The middle of a mask's head and shoulders (the rows ``band`` of its height below its top),
    between 3% and 97% of their pixels, in pixels: what auto-frame centres."""
    rows = np.flatnonzero((alpha >= 0.5).any(axis=1))
    part = alpha[rows[0]:rows[0] + round(band * alpha.shape[0])] >= 0.5
    cols = np.cumsum(part.sum(axis=0))
    return (np.searchsorted(cols, 0.03 * cols[-1]) + np.searchsorted(cols, 0.97 * cols[-1]) + 1) / 2


def cost_ms(size: tuple[int, int], zoom: float, frames: int = 200) -> float:
    """Median ms of ``AutoFrame.apply`` on the swept portrait (its true mask as the working
    matte, 512 wide), one OpenCV thread."""
    w, h = size
    portrait = SweptPortrait(size)
    pictures = []
    for i in range(30):
        picture, truth = portrait.frame(w * (0.5 + 0.2 * math.sin(2 * math.pi * i / 30)))
        alpha = np.clip(truth * 255 + 0.5, 0, 255).astype(np.uint8)
        pictures.append((picture, cv2.resize(alpha, (512, round(512 * h / w)), interpolation=cv2.INTER_AREA)))
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        framing = AutoFrame(zoom, FPS)
        times = []
        for i in range(frames):
            picture, matte = pictures[i % len(pictures)]
            t0 = time.perf_counter()
            framing.apply(picture, matte)
            times.append(time.perf_counter() - t0)
        return float(np.median(times[30:]) * 1000)
    finally:
        cv2.setNumThreads(threads)


def centring(size: tuple[int, int], zoom: float, frames: int) -> dict:
    """Mean |offset| of the head and shoulders from the middle, before and after framing."""
    w, h = size
    portrait = SweptPortrait(size)
    settled = round(0.5 * FPS)
    result = {}
    for motion in ("sweep", "still"):
        engine = Engine(Settings(effect=EffectSettings("none"), framing=FramingSettings(autoframe=True, zoom=zoom)))
        engine.prepare(size, FPS)
        out = np.empty((h, w, 3), np.uint8)
        rng = np.random.default_rng(1)
        before, after, crops = [], [], []
        try:
            for t in range(frames):
                x = w * (0.5 + 0.2 * math.sin(2 * math.pi * t / frames)) if motion == "sweep" else 0.3 * w
                picture, truth = portrait.frame(x)
                if motion == "still":
                    picture = np.clip(picture + rng.normal(0, 2.0, picture.shape), 0, 255).astype(np.uint8)
                engine.process(picture, out, {})
                cx, _, cw = crop = engine.autoframe.crop.copy()
                middle = head_middle(truth)
                before.append(abs(middle / w - 0.5))
                after.append(abs(((middle - (cx - cw / 2)) * w / cw - w / 2) / w))
                crops.append(crop)
        finally:
            engine.close()
        result[motion] = {"before": float(np.mean(before[settled:])), "after": float(np.mean(after[settled:])),
                          "crop_motion_px": float(np.ptp(np.array(crops[settled:]), axis=0).max())}
    return result


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoom", type=float, default=2.0)
    ap.add_argument("--frames", type=int, default=150, help="frames per sequence (default: 150)")
    args = ap.parse_args(argv)
    for size in ((1280, 720), (1920, 1080)):
        costs = ", ".join(f"{cost_ms(size, z):.2f} ms at zoom {z:g}" for z in sorted({1.5, args.zoom}))
        print(f"{size[0]}x{size[1]}: auto-frame {costs} per frame", flush=True)
    c = centring((1280, 720), args.zoom, args.frames)
    print(f"1280x720, zoom {args.zoom:g}: person swept 0.2 of the width either side: off centre by "
          f"{c['sweep']['before']:.3f} of the width in the camera's picture, {c['sweep']['after']:.3f} framed; "
          f"still person (sensor noise): crop moved {c['still']['crop_motion_px']:.2f} px once settled, "
          f"off centre by {c['still']['after']:.3f} framed (from {c['still']['before']:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
