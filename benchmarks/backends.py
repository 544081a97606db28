"""MediaPipe against ONNX Runtime: speed at 720p and quality on the evaluation portraits.

    python benchmarks/backends.py [--frames 300] [--resolution 1280x720] [--rounds 2] [--json]

Speed comes from ``vcam bench``'s own code (``vcam.bench.measure``, throughput phase, the demo
source, null sink): the median ``segment`` stage and ``processing_ms`` per frame. The backends
alternate for ``--rounds`` rounds in one process, so a noisy machine moves both alike; the
median over rounds is reported. ``model ms`` is the segmenter alone on a 720p frame (no framing).
Quality: ``vcam process IMAGES --effect matte`` with each backend, then IoU at alpha 0.5 against
``../shared/eval/portraits/masks`` (skipped when absent), scored as ``score_mattes.py`` does.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from vcam import EffectSettings, SegmentSettings, Settings, bench, segment
from vcam.live.sources import DemoSource

HERE = Path(__file__).resolve().parent
EVAL = HERE.parent.parent / "shared" / "eval" / "portraits"
BACKENDS = ("mediapipe", "onnx")

sys.path.insert(0, str(HERE))
from score_mattes import iou  # noqa: E402


def model_ms(backend, size: tuple[int, int], frames: int) -> tuple[str, float]:
    """The segmenter's name and its median ms per frame of ``size`` on the demo source;
    ``backend``: a backend's name or whole :class:`SegmentSettings`."""
    seg = segment.create(backend if isinstance(backend, SegmentSettings) else SegmentSettings(backend=backend))
    source = DemoSource(*size, live=False)
    frame = np.empty((size[1], size[0], 3), np.uint8)
    times = []
    try:
        for _ in range(frames):
            source.read(frame)
            t0 = time.perf_counter()
            seg.segment(frame)
            times.append(time.perf_counter() - t0)
    finally:
        seg.close()
    return seg.name, float(np.median(times[10:]) * 1000)


def pipeline_ms(backend: str, size: tuple[int, int], frames: int) -> dict:
    settings = Settings(segment=SegmentSettings(backend=backend), effect=EffectSettings("blur"))
    r = bench.measure(bench.Run("demo", size, settings, frames, 30.0, "null"))
    return {"segmenter": r["segmenter"], "segment_ms": r["stages"]["segment"]["median_ms"],
            "processing_ms": r["processing_ms"], "fps": r["fps"], "cpu_ms_per_frame": r["cpu_ms_per_frame"]}


def quality(backend: str) -> dict:
    images, masks = EVAL / "images", EVAL / "masks"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "mattes"
        subprocess.run([sys.executable, "-m", "vcam", "process", str(images), "--effect", "matte", "--backend", backend,
                        "-o", str(out)], check=True, capture_output=True, timeout=1200)
        scores = []
        for mask_path in sorted(masks.glob("*.png")):
            matte = cv2.imread(str(out / mask_path.name), cv2.IMREAD_GRAYSCALE)
            if matte is None:
                raise SystemExit(f"missing matte for {mask_path.name}")
            scores.append(iou(matte, cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)))
    values = np.array(scores)
    return {"portraits": len(values), "mean_iou": float(values.mean()), "median_iou": float(np.median(values))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=300, help="frames per pipeline run (default: 300)")
    ap.add_argument("--resolution", default="1280x720")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds per backend (default: 2)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if importlib.util.find_spec("mediapipe") is None:
        print("backends.py compares the onnx and mediapipe backends; mediapipe is an optional extra: "
              "pip install '.[mediapipe]' (Python 3.10 to 3.12)", file=sys.stderr)
        return 2
    size = bench.parse_resolution(args.resolution)
    runs: dict[str, list[dict]] = {b: [] for b in BACKENDS}
    for _ in range(args.rounds):
        for backend in BACKENDS:
            name, ms = model_ms(backend, size, args.frames)
            runs[backend].append({**pipeline_ms(backend, size, args.frames), "model_ms": ms, "model": name})
    rows = []
    for backend in BACKENDS:
        r = runs[backend]
        row = {"backend": backend, "segmenter": r[0]["segmenter"], "resolution": args.resolution}
        for key in ("model_ms", "segment_ms", "processing_ms", "fps", "cpu_ms_per_frame"):
            row[key] = float(np.median([x[key] for x in r]))
        if (EVAL / "images").is_dir() and (EVAL / "masks").is_dir():
            row.update(quality(backend))
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'backend':<10} {'segmenter':<22} {'model ms':>8} {'segment ms':>10} {'proc ms':>8} {'fps':>6} "
          f"{'cpu ms/f':>8} {'mean IoU':>8} {'median':>7}")
    for r in rows:
        print(f"{r['backend']:<10} {r['segmenter']:<22} {r['model_ms']:8.2f} {r['segment_ms']:10.2f} "
              f"{r['processing_ms']:8.2f} {r['fps']:6.1f} {r['cpu_ms_per_frame']:8.2f} "
              f"{r.get('mean_iou', float('nan')):8.4f} {r.get('median_iou', float('nan')):7.4f}")
    print(f"{args.resolution}, demo source, blur, null sink; medians of {args.rounds} alternating rounds of "
          f"{args.frames} frames; model ms: the segmenter alone; IoU on {rows[0].get('portraits', 0)} portraits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
