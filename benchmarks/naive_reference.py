"""vcam against the naive per-frame loop peers use, in one run, as a ratio.

    python benchmarks/naive_reference.py [--frames 60] [--resolution 1280x720 1920x1080]

The reference, per frame (the loop of the issue that set the target): MediaPipe's selfie
landscape model on the full frame (through mediapipe when installed, else the same model through
ONNX Runtime with the same scaling), threshold 0.75, 5x5 dilate, 10x10 box blur,
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


class _OnnxLandscape:
    """The same landscape model through ONNX Runtime, for installs without the optional mediapipe:
    the frame scaled to the model's 256x144 as MediaPipe's graph does, the mask back at full size."""

    def __init__(self) -> None:
        import onnxruntime as ort

        from vcam.resources import models_dir
        from vcam.segment.onnx import BUNDLED

        self.session = ort.InferenceSession(str(models_dir() / BUNDLED["landscape"]), providers=["CPUExecutionProvider"])

    def process(self, frame: np.ndarray):
        small = cv2.resize(frame, (256, 144), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255
        mask = self.session.run(None, {"input": small[None]})[0][0, :, :, 0]
        return type("Result", (), {"segmentation_mask": cv2.resize(mask, frame.shape[1::-1])})

    def close(self) -> None:
        pass


def naive_ms(width: int, height: int, frames: int) -> float:
    try:
        import mediapipe as mp

        seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1)
    except (ImportError, AttributeError):
        seg = _OnnxLandscape()
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
