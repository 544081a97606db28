"""Portrait by depth: what it costs at 720p live against plain blur and the outline's portrait.

    python benchmarks/portrait_depth.py              # figures for docs/light-and-looks.md
    python benchmarks/portrait_depth.py --seconds 60

The compositor alone (``vcam.effects.composite.Compositor``, ``live=True``) on real frames of
``../shared/eval/clips/room-woman-short-hair.mp4`` scaled to 1280x720 (the demo portrait without
it), with a person-shaped matte, as fast as it goes for ``--seconds`` per effect, in turns
(blur, portrait by the outline, portrait by depth, blur again). Per frame: wall milliseconds on
the frame's path, and CPU milliseconds of the whole process (every thread: the depth network's
runs on its own thread included), with how many times the network ran; then the network's own
cost per run (median of 20, one thread) and what that is per frame at 30 fps. OpenCV on one thread.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vcam.config import EffectSettings  # noqa: E402
from vcam.effects.composite import Compositor  # noqa: E402
from vcam.effects.depth import DEPTH_EVERY_S, DEPTH_SIZE, DepthNet  # noqa: E402
from vcam.system.resources import demo_image  # noqa: E402

CLIP = ROOT.parent / "shared" / "eval" / "clips" / "room-woman-short-hair.mp4"


def frames(n: int) -> list[np.ndarray]:
    out = []
    if CLIP.is_file():
        cap = cv2.VideoCapture(str(CLIP))
        while len(out) < n:
            ok, bgr = cap.read()
            if not ok:
                break
            out.append(cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (1280, 720)))
        cap.release()
    if not out:
        out = [cv2.resize(cv2.cvtColor(cv2.imread(str(demo_image())), cv2.COLOR_BGR2RGB), (1280, 720))]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=20.0, help="seconds per effect (default: 20)")
    args = p.parse_args()
    cv2.setNumThreads(1)
    clip = frames(60)
    alpha = np.zeros((720, 1280), np.uint8)
    cv2.ellipse(alpha, (640, 420), (260, 400), 0, 0, 360, 255, -1)
    for name, options in (("blur", dict(effect="blur")), ("portrait, outline", dict(effect="portrait", depth=False)),
                          ("portrait, depth", dict(effect="portrait")), ("blur", dict(effect="blur"))):
        comp = Compositor(EffectSettings(**options), (1280, 720), live=True)
        out = np.empty_like(clip[0])
        for f in clip[:10]:
            comp.apply(f, alpha, out)
        t0, c0, n = time.perf_counter(), time.process_time(), 0
        while time.perf_counter() - t0 < args.seconds:
            for f in clip:
                comp.apply(f, alpha, out)
                n += 1
        wall = (time.perf_counter() - t0) / n * 1000
        cpu = (time.process_time() - c0) / n * 1000
        room = comp.portrait.room_depth if comp.portrait is not None else None
        runs = f", the depth network ran {room.runs} times" if room is not None else ""
        print(f"{name:18s} {wall:5.2f} ms a frame on its path, {cpu:5.2f} ms CPU (all threads), {n} frames{runs}")
        comp.close()
    net, small = DepthNet(threads=1), cv2.resize(clip[0], DEPTH_SIZE, interpolation=cv2.INTER_AREA)
    net(small)
    took = []
    for _ in range(20):
        t0 = time.perf_counter()
        net(small)
        took.append(time.perf_counter() - t0)
    run = float(np.median(took)) * 1000
    print(f"the depth network: {run:.1f} ms a run on one thread; every {DEPTH_EVERY_S:g} s at 30 fps that is "
          f"{run / (DEPTH_EVERY_S * 30):.2f} ms a frame")


if __name__ == "__main__":
    main()
