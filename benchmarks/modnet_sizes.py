"""MODNet's cost and quality at several input sizes, in one run.

    python benchmarks/modnet_sizes.py [--limit 2] [--frames 30]

vcam feeds MODNet the frame with its short side scaled to ``MODNET_REF_SIDE`` unless the frame
straddles it (MODNet's own rule, whose code uses 512). For each side tried here: the median ms of
the model per 1280x720 frame (vcam's adapter, 1 CPU thread, the demo source) and the motion
set's IoU, tight boundary F and dtSSD (``benchmarks/quality.py``: 640x480 with sensor noise,
exact alpha; guided by the selfie model, as vcam runs it). At 512 a 640x480 frame goes in as it
is; at the smaller sides it is area-scaled first. The side is set on the adapter's module for
this process only; the shipped value is the first row.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import quality  # noqa: E402
from rvm_sizes import measure  # noqa: E402

from vcam.segment import onnx as onnx_backend  # noqa: E402

SIDES = (onnx_backend.MODNET_REF_SIDE, 512, 384, 320, 256)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=2)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--sides", type=int, nargs="+", default=list(SIDES))
    ap.add_argument("--eval", type=Path, default=quality.EVAL)
    args = ap.parse_args()
    print(f"{'side':>5} {'ms/720p':>8} {'IoU':>6} {'BF 0.25%':>8} {'dtSSD':>6}")
    for side in args.sides:
        onnx_backend.MODNET_REF_SIDE = side
        ms, mean = measure("modnet", f"modnet {side}", args.eval, args.limit, args.frames)
        print(f"{side:>5} {ms:>8.1f} {mean['iou']:>6.3f} {mean['bf_tight']:>8.3f} {mean['dtssd']:>6.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
