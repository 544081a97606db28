"""vcam against the naive per-frame loop peers use, in one run, as a ratio.

    python benchmarks/naive_reference.py [--frames 60] [--resolution 1280x720 1920x1080]

The reference, per frame (the loop of the issue that set the target): MediaPipe's selfie
landscape model on the full frame, threshold 0.75, 5x5 dilate, 10x10 box blur,
``accumulateWeighted`` at 0.5, full-resolution Gaussian blur with sigma 15, float blend.
vcam is measured with ``vcam bench``'s own code (throughput phase, ``processing_ms``) on the same
demo frames. Both medians come from the same process, one after the other, so the ratio
holds on a noisy machine even when the absolute figures move.
"""
from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np

from vcam import bench
from vcam.capture import DemoSource
from vcam.config import Settings


def naive_ms(width: int, height: int, frames: int) -> float:
    import mediapipe as mp

    seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1)
    source = DemoSource(width, height, live=False)
    frame = np.empty((height, width, 3), np.uint8)
    kernel = np.ones((5, 5), np.uint8)
    avg = None
    times = []
    for _ in range(frames):
        source.read(frame)
        t0 = time.perf_counter()
        mask = seg.process(frame).segmentation_mask
        mask = (mask > 0.75).astype(np.float32)
        mask = cv2.dilate(mask, kernel)
        mask = cv2.blur(mask, (10, 10))
        if avg is None:
            avg = mask.copy()
        cv2.accumulateWeighted(mask, avg, 0.5)
        background = cv2.GaussianBlur(frame, (0, 0), 15)
        alpha = avg[..., None]
        out = (frame * alpha + background * (1.0 - alpha)).astype(np.uint8)
        times.append(time.perf_counter() - t0)
    seg.close()
    assert out.shape == frame.shape
    return float(np.median(times[5:]) * 1000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--resolution", nargs="+", default=["1280x720", "1920x1080"])
    args = ap.parse_args()
    rows = []
    for text in args.resolution:
        w, h = bench.parse_resolution(text)
        naive = naive_ms(w, h, args.frames)
        run = bench.measure(bench.Run("demo", (w, h), Settings(), args.frames))
        rows.append({"resolution": text, "naive_ms": naive, "vcam_processing_ms": run["processing_ms"],
                     "speedup": naive / run["processing_ms"]})
        print(f"{text}: naive {naive:.1f} ms/frame, vcam {run['processing_ms']:.2f} ms/frame, "
              f"{naive / run['processing_ms']:.1f}x faster", flush=True)
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
