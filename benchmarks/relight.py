"""Relight measured: does a person laid over a new background look lit by it, as real photos are?

    python benchmarks/relight.py            # figures for docs/light-and-looks.md (JSON)

Real photos say how a person's light follows their scene's: ``../shared/eval/portraits`` (58
people with masks, never copied into the repository) is fitted here, each person's light against
their own scene's, as vcam measures a light (:func:`vcam.light.relight.light_of` of a mean colour: log
brightness, log red/green, log blue/green; the scene is the photo outside the mask). The fit is
printed on all photos and on each half (odd and even in name order), to show how far the slopes
in ``vcam.light.relight.RELIGHT_SLOPES`` can be trusted.

Then every person is laid over every other photo's scene (the other person filled with that
scene's mean colour: a background without anyone in it), as ``--effect replace`` does, and the
person's light is compared with what a real photo in that scene would show (the fit's line):

- ``naive``: the person as the camera saw them (today's replace);
- ``relit``: through ``vcam.light.relight.Relight`` at strength 1;
- ``own photos``: the real photos' own scatter about the line (the best a composite can expect).

The figure is the root mean square of that miss, per part of the light, in log units (0.1 is
about 10%). Also: over their own scene, how much relight changes a person (grey levels, mean;
ideally 0). The stage's cost is in ``benchmarks/studio_light.py``. Without the eval folder it
says so.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vcam.light.relight import RELIGHT_SLOPES, Relight, light_of  # noqa: E402

PORTRAITS = ROOT.parent / "shared" / "eval" / "portraits"
WIDTH = 384          # photos are measured at this width (their light does not depend on size)
PARTS = ("brightness", "red/green", "blue/green")


def photos() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, RGB picture, mask) for each portrait with at least a tenth of scene, at WIDTH."""
    out = []
    for path in sorted((PORTRAITS / "images").glob("*.jpg")):
        bgr = cv2.imread(str(path))
        mask = cv2.imread(str(PORTRAITS / "masks" / f"{path.stem}.png"), cv2.IMREAD_GRAYSCALE)
        if bgr is None or mask is None:
            continue
        h, w = bgr.shape[:2]
        size = (WIDTH, max(1, round(h * WIDTH / w)))
        rgb = cv2.cvtColor(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
        if (mask < 64).mean() >= 0.1 and (mask > 127).mean() >= 0.05:
            out.append((path.stem, rgb, mask))
    return out


def light(picture: np.ndarray, where: np.ndarray) -> np.ndarray:
    return np.array(light_of(picture[where].astype(np.float64).mean(0)))


def fit(person: np.ndarray, scene: np.ndarray) -> list[dict]:
    """Per part: the line person = slope * scene + intercept, its correlation and scatter."""
    rows = []
    for k in range(3):
        slope, intercept = np.polyfit(scene[:, k], person[:, k], 1)
        scatter = person[:, k] - (slope * scene[:, k] + intercept)
        rows.append({"slope": float(slope), "intercept": float(intercept),
                     "r": float(np.corrcoef(scene[:, k], person[:, k])[0, 1]),
                     "scatter": float(np.sqrt(np.mean(scatter ** 2)))})
    return rows


def rms(values) -> float:
    return float(np.sqrt(np.mean(np.square(values))))


def composites(items, line) -> dict:
    people = [light(p, m > 127) for _, p, m in items]
    scenes = [light(p, m < 64) for _, p, m in items]
    backdrops = []
    for _, picture, mask in items:
        empty = picture.copy()
        empty[mask >= 64] = picture[mask < 64].mean(0).round().astype(np.uint8)
        backdrops.append(empty)
    miss = {"naive": [], "relit": []}
    own_change = []
    for i, (_, picture, mask) in enumerate(items):
        h, w = mask.shape
        stage = Relight((w, h), 1.0)
        out = np.empty_like(picture)
        person = mask > 127
        for j, backdrop in enumerate(backdrops):
            stage.reset()   # each composite is a fresh picture, not a clip
            stage.apply(picture, mask, backdrop, out)
            if j == i:
                own_change.append(float(np.abs(out[person].astype(np.int16) - picture[person]).mean()))
                continue
            expected = np.array([line[k]["slope"] * scenes[j][k] + line[k]["intercept"] for k in range(3)])
            miss["naive"].append(people[i] - expected)
            miss["relit"].append(light(out, person) - expected)
    result = {name: {part: round(rms(np.array(v)[:, k]), 3) for k, part in enumerate(PARTS)} for name, v in miss.items()}
    result["own photos"] = {part: round(line[k]["scatter"], 3) for k, part in enumerate(PARTS)}
    result["pairs"] = len(miss["relit"])
    result["own_scene_change_levels_mean"] = round(statistics.mean(own_change), 3)
    result["own_scene_change_levels_max"] = round(max(own_change), 3)
    return result


def main() -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    report: dict = {"shipped_slopes": dict(zip(PARTS, RELIGHT_SLOPES))}
    items = photos() if PORTRAITS.is_dir() else []
    if items:
        people = np.array([light(p, m > 127) for _, p, m in items])
        scenes = np.array([light(p, m < 64) for _, p, m in items])
        line = fit(people, scenes)
        report["photos"] = len(items)
        report["fit_all"] = {part: {k: round(v, 3) for k, v in row.items()} for part, row in zip(PARTS, line)}
        for half, name in ((0, "fit_even"), (1, "fit_odd")):
            report[name] = {part: round(row["slope"], 3) for part, row in zip(PARTS, fit(people[half::2], scenes[half::2]))}
        report["miss_rms_log"] = composites(items, line)
    else:
        report["photos"] = f"none: {PORTRAITS} is absent (cost only)"
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
