"""The fixed cost around the model pass of the crop that follows the person, step by step.

    python benchmarks/crop_sampling.py [--resolution 1280x720] [--rounds 5]

On frames of the demo scene (the public-domain portrait, swaying) at ``--resolution``, with the
live box the real ``FollowCrop`` settles on, each step is timed as vcam does it and as it did before,
interleaved round by round (one OpenCV thread, as on 2 cores): the way into the model (a plain
resize of the aligned box against ``cv2.warpAffine`` of it), the input scaled to [0, 1] (NumPy),
the way back (``vcam.segment.follow_sampling.sample_matte`` against ``cv2.warpAffine``), the model
alone, and the whole ``FollowCrop.segment``. Medians in ms, with their range over the rounds. The
figures are in docs/performance.md ("The model pass's fixed cost").
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional

import cv2
import numpy as np
import timing

from vcam import CaptureSettings, Settings, bench
from vcam.live.sources import PreloadedSource, open_source
from vcam.segment.build import build
from vcam.segment.follow_sampling import sample_matte, taps

FRAMES = 60


def steps(size: tuple[int, int]) -> tuple[dict, object]:
    src = PreloadedSource(open_source(CaptureSettings(source="demo", width=size[0], height=size[1]), live=False),
                          size, FRAMES, live=False)
    frames = []
    for _ in range(FRAMES):
        f = np.empty((size[1], size[0], 3), np.uint8)
        src.read(f)
        frames.append(f)
    src.close()
    framer = build(Settings().segment)
    for f in frames[:3]:
        framer.segment(f)
    box = framer.box
    if box is None or framer._roi(box) is None:   # noqa: SLF001 - the benchmark looks inside
        raise SystemExit("the demo gave no aligned box to time")
    x, y, w, h = framer._roi(box)                 # noqa: SLF001
    x0, y0, x1, y1 = box
    mw, mh = framer.segmenter.input_size
    sx, sy = mw / (x1 - x0), mh / (y1 - y0)
    forward = np.array([[sx, 0.0, -x0 * sx], [0.0, sy, -y0 * sy]], np.float32)
    ws = framer.work_scale
    back = np.array([[ws / sx, 0.0, x0 * ws], [0.0, ws / sy, y0 * ws]], np.float32)
    into = np.empty((mh, mw, 3), np.uint8)
    tensor = np.empty((mh, mw, 3), np.float32)
    matte = cv2.GaussianBlur(np.random.default_rng(0).random((mh, mw), dtype=np.float32), (9, 9), 0)
    work = np.empty((framer.work_size[1], framer.work_size[0]), np.float32)
    rows = taps(framer.work_size[1], ws / sy, y0 * ws, mh)
    cols = taps(framer.work_size[0], ws / sx, x0 * ws, mw)
    inner = framer.segmenter

    def frame(i):
        return frames[i % FRAMES]

    return {
        "in: resize of the aligned box (vcam)":
            lambda i: cv2.resize(frame(i)[y:y + h, x:x + w], (mw, mh), dst=into, interpolation=cv2.INTER_LINEAR),
        "in: warpAffine (before)":
            lambda i: cv2.warpAffine(frame(i), forward, (mw, mh), dst=into, flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE),
        "input scaled to [0, 1] (NumPy)":
            lambda i: np.multiply(into, 1.0 / 255.0, out=tensor, casting="unsafe"),
        "back: sample_matte (vcam)": lambda i: sample_matte(matte, *rows, *cols, work),
        "back: warpAffine (before)":
            lambda i: cv2.warpAffine(matte, back, framer.work_size, dst=work, flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=0),
        "the model alone (OnnxSegmenter.segment)": lambda i: inner.segment(into),
        "FollowCrop.segment, all of it": lambda i: framer.segment(frame(i)),
    }, framer


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--resolution", default="1280x720", metavar="WxH")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of 40 runs per step (default: 5)")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    fns, framer = steps(bench.parse_resolution(args.resolution))
    try:
        figures = timing.interleaved(fns, args.rounds)
    finally:
        framer.close()
    timing.report(f"{args.resolution}: median ms (range over {args.rounds} rounds)", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
