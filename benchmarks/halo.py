"""The halo on real clips, without ground truth: how much of the wall behind a person a cut-out keeps.

    python benchmarks/halo.py                                  # raw and default, every clip
    python benchmarks/halo.py --clips plain-wall-man,plain-wall-woman-hair-up --frames 120
    python benchmarks/halo.py --compare raw,default,matte.threshold=0.5 --json

A halo is the old room kept around the person: pixels of the wall that the matte counts as
partly person, which a cut-out or a new background then shows in the wall's colour (clean edges
cannot help there: a pixel that is all wall unmixes to the wall's own colour). On a plain wall
such a pixel can be told without truth: its colour is the wall's. For each frame, the wall
is estimated next to each pixel from the pixels every configuration calls pure room (alpha 0):
their normalised Gaussian average (sigma ``WALL_SIGMA``), with their spread. A pixel within
``BAND`` of the diagonal of any configuration's outline whose colour is within ``WALL_LEVELS``
of that estimate (the largest of its three channels; and the estimate itself steady there, not
a textured room) is wall, whatever the matte says. Per configuration:

- ``wall alpha``: the mean alpha (8-bit levels) the configuration gives those wall pixels;
- ``visible %``: the share of them a cut-out over a dark grey (``NEW_GREY``) shows more than
  ``VISIBLE`` levels off the grey in some channel (alpha times the wall's contrast with it);
- ``person kept``: the mean alpha over the band's pixels far from the wall's colour (more than
  ``PERSON_LEVELS`` off it): the person's edge, which a fix must not eat (hair included).

Clips whose walls are textured give few wall pixels; the table says how many were counted. The
evaluation material is read from ``../shared/eval`` (``--eval``) and never copied.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import quality

from vcam import VcamError
from vcam.live.sources import VideoSource

WALL_SIGMA = 6.0     # px: the wall is estimated from the sure room within about this
WALL_LEVELS = 10     # a pixel this close to the wall's estimate (largest channel) is wall
WALL_STEADY = 6.0    # ... where the sure room around it strays by at most this (levels, RMS): a plain wall
PERSON_LEVELS = 40   # a band pixel this far from the wall is the person's
BAND = 0.015         # share of the diagonal around the outlines
NEW_GREY = 40        # the new background a halo is judged over
VISIBLE = 24         # levels


def _frames(clip: Path, limit: Optional[int]):
    source = VideoSource(clip, live=False)
    w, h = source.size
    frame = np.empty((h, w, 3), np.uint8)
    try:
        n = 0
        while (limit is None or n < limit) and source.read(frame):
            yield frame
            n += 1
    finally:
        source.close()


def measure(runners: list[quality.Runner], clip: Path, frames: Optional[int]) -> dict:
    totals = {r.label: np.zeros(5) for r in runners}   # wall alpha sum, visible count, wall count, person sum, person count
    for r in runners:
        r.reset()
    diag = None
    for frame in _frames(clip, frames):
        alphas = {r.label: r.alpha(frame) for r in runners}
        if diag is None:
            diag = float(np.hypot(*frame.shape[:2]))
            reach = max(1, round(BAND * diag))
            disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
        stack = np.stack(list(alphas.values()))
        room = (stack.max(axis=0) == 0).astype(np.float32)
        person = (stack.min(axis=0) >= 128).astype(np.uint8)
        anyone = (stack.max(axis=0) >= 128).astype(np.uint8)
        band = (cv2.dilate(anyone, disc) > 0) & (cv2.erode(person, disc) == 0)
        f = frame.astype(np.float32)
        weight = cv2.GaussianBlur(room, (0, 0), WALL_SIGMA)
        known = weight > 0.05
        w = np.maximum(weight, 1e-6)[..., None]
        mean = cv2.GaussianBlur(f * room[..., None], (0, 0), WALL_SIGMA) / w
        square = cv2.GaussianBlur(f * f * room[..., None], (0, 0), WALL_SIGMA) / w
        spread = np.sqrt(np.maximum(square - mean * mean, 0).sum(axis=2) / 3)
        off = np.abs(f - mean).max(axis=2)
        wall = band & known & (spread <= WALL_STEADY) & (off <= WALL_LEVELS)
        theirs = band & known & (spread <= WALL_STEADY) & (off > PERSON_LEVELS)
        contrast = np.abs(f - NEW_GREY).max(axis=2)
        for label, a in alphas.items():
            af = a.astype(np.float32)
            t = totals[label]
            t[0] += af[wall].sum()
            t[1] += np.count_nonzero(af[wall] / 255.0 * contrast[wall] > VISIBLE)
            t[2] += np.count_nonzero(wall)
            t[3] += af[theirs].sum()
            t[4] += np.count_nonzero(theirs)
    return {label: {"wall_pixels": int(t[2]), "wall_alpha": t[0] / max(t[2], 1), "visible": t[1] / max(t[2], 1),
                    "person_kept": t[3] / max(t[4], 1) / 255.0} for label, t in totals.items()}


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compare", default="raw,default", help="configurations, comma-separated, as quality.py takes them")
    ap.add_argument("--clips", default="", help="clip names (stems), comma-separated (default: every clip)")
    ap.add_argument("--frames", type=int, default=90, help="frames per clip (default 90)")
    ap.add_argument("--eval", type=Path, default=quality.EVAL)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    clips = sorted((args.eval / "clips").glob("*.mp4"))
    if args.clips:
        wanted = [c.strip() for c in args.clips.split(",") if c.strip()]
        clips = [c for c in clips if c.stem in wanted]
    if not clips:
        print(f"error: no clips under {args.eval / 'clips'}: pass --eval PATH", file=sys.stderr)
        return 2
    runners = []
    try:
        runners = [quality.Runner(label, settings) for label, settings in
                   (quality.parse_config(s) for s in args.compare.split(",") if s.strip())]
        report = {}
        for clip in clips:
            report[clip.stem] = measure(runners, clip, args.frames)
            print(f"halo: {clip.stem}", file=sys.stderr, flush=True)
    except VcamError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        for r in runners:
            r.close()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{'clip':28} {'config':34} {'wall px':>9} {'wall alpha':>10} {'visible %':>9} {'person kept':>11}")
    for clip, rows in report.items():
        for label, v in rows.items():
            print(f"{clip:28} {label:34} {v['wall_pixels']:9d} {v['wall_alpha']:10.2f} {100 * v['visible']:9.1f} "
                  f"{v['person_kept']:11.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
