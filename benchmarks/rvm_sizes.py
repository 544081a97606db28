"""Robust Video Matting's cost and quality at several input sizes, in one run.

    python benchmarks/rvm_sizes.py PATH/rvm_mobilenetv3_fp32.onnx [--limit 2] [--frames 30]

vcam feeds RVM the frame scaled to at most ``RVM_MAX_SIDE`` pixels on its long side, with
``downsample_ratio`` set so that RVM's coarse pass is ``RVM_DOWNSAMPLED_SIDE`` pixels long (RVM's
guidance: 256 to 512). For each pair tried here: the median ms of the model per 1280x720 frame
(vcam's adapter, 1 CPU thread, the demo source) and the motion set's IoU, tight boundary F and
dtSSD (``benchmarks/quality.py``, exact alpha), made at 1280x720 here so that the sizes matter.
The pairs are set on the adapter's module for this process only; the shipped values are the
first row.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import quality  # noqa: E402
from backends import model_ms  # noqa: E402

from vcam import SegmentSettings, Settings  # noqa: E402
from vcam.segment import onnx as onnx_backend  # noqa: E402

SIZES = ((onnx_backend.RVM_MAX_SIDE, onnx_backend.RVM_DOWNSAMPLED_SIDE), (1280, 480), (960, 480), (640, 320))


def measure(model: str, label: str, eval_dir: Path, limit: int, frames: int) -> tuple[float, dict]:
    """The model's median ms per 1280x720 frame (1 CPU thread) and the motion set's means, with
    the sizes the adapter's module holds now."""
    _, ms = model_ms(SegmentSettings(model=model, threads=1), (1280, 720), 20)
    runner = quality.Runner(label, Settings(segment=SegmentSettings(model=model)))
    try:
        return ms, quality.run_motion([runner], eval_dir, limit, frames)[runner.label]["mean"]
    finally:
        runner.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("--limit", type=int, default=2)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--eval", type=Path, default=quality.EVAL)
    args = ap.parse_args()
    quality.MOTION_SIZE = (1280, 720)
    print(f"{'max side':>8} {'coarse':>6} {'ms/720p':>8} {'IoU':>6} {'BF 0.25%':>8} {'dtSSD':>6}")
    for max_side, coarse in SIZES:
        onnx_backend.RVM_MAX_SIDE, onnx_backend.RVM_DOWNSAMPLED_SIDE = max_side, coarse
        ms, mean = measure(str(args.model), f"{max_side}/{coarse}", args.eval, args.limit, args.frames)
        print(f"{max_side:>8} {coarse:>6} {ms:>8.1f} {mean['iou']:>6.3f} {mean['bf_tight']:>8.3f} {mean['dtssd']:>6.2f}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
