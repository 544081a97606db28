"""Peak memory of `vcam process` on an animation against one picture of the same size (issue 39).

    python benchmarks/animation_memory.py                      # 4 frames of 7990x7990, the default cut-out
    python benchmarks/animation_memory.py --side 3000 --frames 4 16 --effect matte
    PYTHONPATH=/path/to/an/older/vcam python benchmarks/animation_memory.py    # the same, by that vcam

The pictures are made here with OpenCV and PyAV (not by vcam): a figure on a flat wall, an APNG
of each frame count asked and a PNG of one frame, all inside vcam's limits (64 megapixels a
frame, 256 in all). Each runs as a user runs it, `python -m vcam process IN -o OUT`, in a fresh
process whose peak resident memory is read by a process of its own (``ru_maxrss`` of its
children), so nothing else is counted. A vcam that holds one frame at a time takes about what
the picture takes whatever the number of frames; one that decodes every frame first and keeps
every output until the end takes that much more per frame.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

PEAK = """
import json, resource, subprocess, sys
started = __import__("time").monotonic()
done = subprocess.run(json.loads(sys.argv[1]), capture_output=True, text=True)
print(json.dumps({"code": done.returncode, "stderr": done.stderr[-2000:], "seconds": __import__("time").monotonic() - started,
                  "peak": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))
"""


def frame(side: int, i: int) -> np.ndarray:
    rgb = np.full((side, side, 3), (40 + 13 * i) % 256, np.uint8)
    cv2.ellipse(rgb, (side // 2, side // 3), (side // 8, side // 6), 0, 0, 360, (200, 150, 120), -1)
    cv2.rectangle(rgb, (side // 3, side // 2), (2 * side // 3, side), (90, 60, 160), -1)
    return rgb


def make_apng(path: Path, side: int, frames: int) -> None:
    with av.open(str(path), "w", format="apng", options={"plays": "0"}) as box:
        stream = box.add_stream("apng")
        stream.width = stream.height = side
        stream.pix_fmt = "rgb24"
        stream.codec_context.time_base = Fraction(1, 1000)
        for i in range(frames):
            f = av.VideoFrame.from_ndarray(frame(side, i), format="rgb24")
            f.pts, f.time_base = 100 * i, Fraction(1, 1000)
            box.mux(stream.encode(f))
        box.mux(stream.encode())


def peak(path: Path, effect: str | None, out: Path) -> dict:
    args = [sys.executable, "-m", "vcam", "process", str(path), "-o", str(out)] + (["--effect", effect] if effect else [])
    done = subprocess.run([sys.executable, "-c", PEAK, json.dumps(args)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--side", type=int, default=7990, help="width and height of every frame (default: 7990)")
    p.add_argument("--frames", type=int, nargs="+", default=[4], help="frame counts to measure (default: 4)")
    p.add_argument("--effect", help="as `vcam process --effect` (default: a picture's default, the cut-out)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        still = folder / "still.png"
        assert cv2.imwrite(str(still), cv2.cvtColor(frame(args.side, 0), cv2.COLOR_RGB2BGR))
        inputs = [("picture", 1, still)]
        for n in args.frames:
            started = time.monotonic()
            make_apng(folder / f"anim{n}.png", args.side, n)
            print(f"made {n} frames of {args.side}x{args.side} in {time.monotonic() - started:.0f} s", file=sys.stderr)
            inputs.append(("APNG", n, folder / f"anim{n}.png"))
        for kind, n, path in inputs:
            run = peak(path, args.effect, folder / f"out-{path.name}")
            if run["code"] != 0:
                sys.exit(f"{path.name}: exit {run['code']}\n{run['stderr']}")
            results.append({"input": kind, "frames": n, "side": args.side, "bytes": path.stat().st_size,
                            "peak_mb": round(run["peak"] / 1e6), "seconds": round(run["seconds"], 1)})
            (folder / f"out-{path.name}").unlink()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'input':<8} {'frames':>6} {'file':>9} {'peak':>9} {'time':>7}")
    for r in results:
        print(f"{r['input']:<8} {r['frames']:>6} {r['bytes'] / 1e3:>6.0f} kB {r['peak_mb']:>6} MB {r['seconds']:>5.0f} s")


if __name__ == "__main__":
    main()
