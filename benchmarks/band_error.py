"""Where the cut-out's error at the outline comes from: the alpha, or the colour.

    python benchmarks/band_error.py [--set rooms] [--compare default,effect.clean_edges=false]
                                    [--limit 3] [--frames 45] [--json]

The material and the error are ``quality.py``'s composite and rooms sets (``run_composite``):
people with exact alpha and colour moving over a room, the cut-out laid over a new background,
mean absolute error in 8-bit levels within 1% of the diagonal of the true outline (the "band").
Here the band's error is split by what is wrong at each pixel, and each class is scored three
ways at the configuration's own alpha:

- classes: ``mixed`` (the truth is mixed, alpha 0.02 to 0.98: hair, the blurred true edge),
  ``spill out`` (the truth is pure and the alpha is over it by more than 0.05: room taken for
  person), ``spill in`` (under it: person taken for room), ``right`` (pure, and the alpha within
  0.05 of it);
- colours: ``vcam`` (the colour the configuration gives the person: clean edges or not),
  ``camera`` (the camera's own pixel), ``true`` (the person's true colour).

Each class's figure is its share of the band's mean (the classes add up to the band error), so
the ``true`` column is the most any colour estimate could take off at that alpha; what is left
there is the alpha's.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import quality

CLASSES = ("mixed", "spill out", "spill in", "right")
COLOURS = ("vcam", "camera", "true")
MARGIN = 0.05   # alpha off by more than this on a pure pixel is a spill


def classes(alpha: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, ...]:
    """Masks of :data:`CLASSES` from the true and the predicted alpha (float, 0..1)."""
    mixed = (alpha > 0.02) & (alpha < 0.98)
    out = ~mixed & (predicted > alpha + MARGIN)
    into = ~mixed & (predicted < alpha - MARGIN)
    return mixed, out, into, ~(mixed | out | into)


def run(runner: quality.Runner, eval_dir: Path, limit: Optional[int], frames: int, rooms: str) -> dict:
    material = quality.motion_material(eval_dir, limit, rooms)
    if not material:
        raise SystemExit(f"error: no portrait under {eval_dir / 'portraits'} suits the set: "
                         "pass --eval PATH, the folder of ../shared/eval")
    total = np.zeros((len(CLASSES), len(COLOURS)))
    count = 0
    for si, (subject, background) in enumerate(material):
        for mi, motion in enumerate(quality.COMPOSITE_MOTIONS):
            runner.reset()
            for picture, alpha, person, new, band, truth in quality.composite_frames(
                    subject, background, si, mi, motion, frames, rooms):
                predicted, colour = runner.cutout(picture)
                p = predicted.astype(np.float32)[..., None] / 255.0
                masks = classes(alpha, p[..., 0])
                n = np.count_nonzero(band)
                for j, f in enumerate((colour.astype(np.float32), picture.astype(np.float32), person)):
                    err = np.abs(f * p + new * (1.0 - p) - truth).mean(axis=2)
                    for i, m in enumerate(masks):
                        total[i, j] += err[band & m].sum() / n
                count += 1
            print(f"{rooms or 'composite'}: portrait {subject.name}, {motion}", file=sys.stderr, flush=True)
    share = total / max(count, 1)
    return {c: {k: float(share[i, j]) for j, k in enumerate(COLOURS)} for i, c in enumerate(CLASSES)} | {
        "band": {k: float(share[:, j].sum()) for j, k in enumerate(COLOURS)}}


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=("composite", "rooms", "bright"), default="rooms")
    ap.add_argument("--compare", default="default,effect.clean_edges=false",
                    help="configurations, comma-separated, as quality.py takes them")
    ap.add_argument("--limit", type=int, default=3, help="portraits (default 3)")
    ap.add_argument("--frames", type=int, default=quality.MOTION_FRAMES)
    ap.add_argument("--eval", type=Path, default=quality.EVAL)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    report = {}
    for spec in args.compare.split(","):
        label, settings = quality.parse_config(spec)
        runner = quality.Runner(label, settings)
        try:
            report[label] = run(runner, args.eval, args.limit, args.frames, "" if args.set == "composite" else args.set)
        finally:
            runner.close()
    if args.json:
        json.dump(report, sys.stdout, indent=1)
        print()
        return 0
    print(f"{args.set}: band error by class, 8-bit levels (shares of the band's mean), {args.frames} frames")
    print(f"{'config':32s} {'class':10s} " + " ".join(f"{c:>7s}" for c in COLOURS))
    for label, rows in report.items():
        for name, row in rows.items():
            print(f"{label:32s} {name:10s} " + " ".join(f"{row[c]:7.2f}" for c in COLOURS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
