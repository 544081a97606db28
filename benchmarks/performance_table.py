"""The performance table of docs/performance.md, measured here and now.

    python benchmarks/performance_table.py                    # print the Markdown block
    python benchmarks/performance_table.py --write docs/performance.md  # and put it in the docs
    python benchmarks/performance_table.py --runs 1 --frames 100   # a quick look

For each resolution, ``--runs`` rounds of (the peer's loop, then ``vcam bench``'s measure) on the
same preloaded demo frames, default settings; each figure is the median over the rounds, with
the range of vcam's processing time. The peer is Linux-Fake-Background-Webcam's per-frame loop at
its defaults (``peer_reference.py``), so "vs peer" is a ratio measured within each round. The
block goes between the document's ``<!-- performance -->`` and ``<!-- /performance -->`` lines,
written atomically; the rest of the file is left as it was.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from pathlib import Path
from typing import Optional

import peer_reference as peer

from vcam import Settings, VcamError, bench
from vcam.fileio import atomic
from vcam.live.stats import STAGES

BEGIN, END = "<!-- performance -->", "<!-- /performance -->"
RESOLUTIONS = ("640x480", "1280x720", "1920x1080")


def measure(resolutions: list[str], runs: int, frames: int, progress=None, model: str = "onnx") -> list[dict]:
    """``model``: the peer's model pass (``peer_reference.peer_model``)."""
    rows = []
    for text in resolutions:
        size = bench.parse_resolution(text)
        pictures = peer.load_frames("demo", size, peer.PRELOAD)
        rounds = []
        for r in range(runs):
            if progress:
                progress(f"{text}: round {r + 1} of {runs}")
            theirs = peer.peer_ms([pictures[i % len(pictures)] for i in range(frames)], size, model)
            ours = bench.measure(bench.Run("demo", size, Settings(), frames, preload=peer.PRELOAD))
            rounds.append((theirs, ours))
        def med(values):
            return statistics.median(values)
        proc = [o["processing_ms"] for _, o in rounds]
        rows.append({
            "resolution": text,
            "processing_ms": med(proc), "processing_range": (min(proc), max(proc)),
            "fps": med([o["fps"] for _, o in rounds]),
            "latency_ms": med([o["latency_ms"] for _, o in rounds]),
            "cpu_percent": med([o["cpu_percent"] for _, o in rounds]),
            "cpu_range": (min(o["cpu_percent"] for _, o in rounds), max(o["cpu_percent"] for _, o in rounds)),
            "model_share": med([o["live_model_share"] or 1.0 for _, o in rounds]),
            "stages": {s: med([o["stages"][s]["median_ms"] for _, o in rounds]) for s in STAGES
                       if all(s in o["stages"] for _, o in rounds)},
            "peer_ms": med([t["processing_ms"] for t, _ in rounds]),
            "peer_stages": {s: med([t["stages"][s] for t, _ in rounds]) for s in peer.PEER_STEPS},
            "speedup": med([t["processing_ms"] / o["processing_ms"] for t, o in rounds]),
            "speedup_range": (min(t["processing_ms"] / o["processing_ms"] for t, o in rounds),
                              max(t["processing_ms"] / o["processing_ms"] for t, o in rounds)),
        })
    return rows


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores{', ' + model if model else ''}, {platform.system()}, Python {platform.python_version()}"


def render(rows: list[dict], runs: int, frames: int, model: str = "onnx") -> str:
    lines = [BEGIN,
             "| resolution | processing ms/frame | fps (unpaced) | latency ms | CPU at 30 fps, % of one core "
             "| model on, % of frames | peer ms/frame | vs peer |",
             "|---|---|---|---|---|---|---|---|"]
    def span(r, key, fmt):
        lo, hi = r[key]
        return f" ({lo:{fmt}}-{hi:{fmt}})" if runs > 1 else ""
    for r in rows:
        lines.append(f"| {r['resolution']} | {r['processing_ms']:.1f}{span(r, 'processing_range', '.1f')} "
                     f"| {r['fps']:.0f} | {r['latency_ms']:.1f} | {r['cpu_percent']:.0f}{span(r, 'cpu_range', '.0f')} "
                     f"| {100 * r['model_share']:.0f} | {r['peer_ms']:.1f} "
                     f"| {r['speedup']:.1f}x{span(r, 'speedup_range', '.1f')} |")
    shown = [s for s in STAGES if s != "capture" and all(s in r["stages"] for r in rows)]
    lines += ["", "Where the time goes, median ms per frame:", "",
              "| resolution | vcam: " + ", ".join(shown)
              + " | peer: " + ", ".join(peer.PEER_STEPS) + " |",
              "|---|---|---|"]
    for r in rows:
        ours = ", ".join(f"{r['stages'][s]:.2f}" for s in shown)
        theirs = ", ".join(f"{r['peer_stages'][s]:.1f}" for s in peer.PEER_STEPS)
        lines.append(f"| {r['resolution']} | {ours} | {theirs} |")
    how = ("MediaPipe Tasks, as the peer runs it" if model == "mediapipe"
           else "vcam's ONNX copy of the same model through ONNX Runtime: mediapipe is not installed")
    lines += ["", f"Measured by `python benchmarks/performance_table.py --write docs/performance.md` ({runs} rounds of "
              f"{frames} frames per resolution; default settings; the demo scene preloaded, so decoding is "
              f"left out on both sides, as `vcam bench --preload {peer.PRELOAD}` does; the peer's model pass "
              f"through {how}) on {machine()}.", END]
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise VcamError(f"the file has no {BEGIN} ... {END} block", "add the two lines where the table goes")
    return text[:start] + block + text[end + len(END):]


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--resolution", nargs="+", default=list(RESOLUTIONS), metavar="WxH")
    ap.add_argument("--runs", type=int, default=3, help="rounds per resolution (default: 3)")
    ap.add_argument("--frames", type=int, default=200, help="frames per phase (default: 200)")
    ap.add_argument("--peer-model", choices=peer.PEER_MODELS, default="auto",
                    help="the peer's model pass (default: auto, MediaPipe Tasks where mediapipe is installed)")
    ap.add_argument("--write", type=Path, metavar="docs/performance.md", help="replace the block in this file")
    args = ap.parse_args(argv)
    try:
        if args.write is not None:   # refuse a file without the block before measuring for minutes
            replace_block(args.write.read_text(encoding="utf-8"), "")
        model = peer.peer_model(args.peer_model)
        rows = measure(args.resolution, args.runs, args.frames, lambda t: print(t, file=sys.stderr, flush=True), model)
        block = render(rows, args.runs, args.frames, model)
        print(block)
        if args.write is not None:
            text = args.write.read_text(encoding="utf-8")
            atomic.write_file(args.write, replace_block(text, block).encode("utf-8"))
    except (VcamError, OSError) as exc:
        print(f"performance_table: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
