"""The looks measured: portrait blur, shadows, gradients and styles, what each does and costs.

    python benchmarks/looks.py            # figures for docs/light-and-looks.md (JSON)

- costs: the compositor alone (``vcam.effects.composite.Compositor.apply``) at 1280x720 on one thread
  (OpenCV and Numba single-threaded), median milliseconds of 200 calls after warm-up, each look
  against the effect it adds to, measured in turns in one run (the machine's noise shared):
  portrait against blur, a shadow on a colour and on a new background against none, a gradient
  against a plain colour; the person is vcam's demo portrait's matte laid into the frame; one
  copy of a 720p frame beside them as the machine's yardstick;
- portrait on a generated scene of known depth (tests/test_portrait.py's: a checkerboard room
  whose planes lie farther back the farther they are from the person): the detail left in each
  plane (standard deviation of its grey, 0 is fully blurred), nearest first, against the plain
  blur's, and whether it falls monotonically with depth;
- shadows on a cut-out: the largest change of the alpha where the person is opaque (0 expected),
  and the shadow's opacity along a row out from the person's side (it fades);
- styles: how long painting a 1280x720 background takes, once, when it is chosen;
- the room painted (a blur with a style): the live frame that starts the painting against a plain
  blur's first frame (the painting itself runs on its own thread: no frame waits for it), the
  plate (the person's place filled) and each style's painting at 720p, once; the panel's style
  previews, painted once per picture.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from studio_light import copy_ms  # noqa: E402

from vcam import EffectSettings, Engine, Settings, scaling  # noqa: E402
from vcam.effects.composite import Compositor  # noqa: E402
from vcam.effects.shadow import Shadow  # noqa: E402
from vcam.effects.style import available, previews, stylize  # noqa: E402
from vcam.fileio import pictures  # noqa: E402
from vcam.system.resources import assets_dir, demo_image  # noqa: E402

SIZE = (1280, 720)


def person() -> tuple[np.ndarray, np.ndarray]:
    """A 720p frame: the demo portrait (and its matte from vcam's engine) over the office picture."""
    portrait = pictures.load_image(demo_image())
    engine = Engine(Settings(effect=EffectSettings("cutout")))
    matte = engine.process(portrait, np.empty_like(portrait), {}, photo=True).astype(np.float32) / 255
    engine.close()
    room = scaling.cover_fit(pictures.load_image(assets_dir() / "backgrounds" / "office.jpg"), *SIZE).astype(np.float32)
    scale = 600 / portrait.shape[0]
    p = cv2.resize(portrait, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA).astype(np.float32)
    a = cv2.resize(matte, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    y0, x0 = 720 - p.shape[0], (1280 - p.shape[1]) // 2
    spot = room[y0:, x0:x0 + p.shape[1]]
    spot[...] = p * a[..., None] + spot * (1 - a[..., None])
    alpha = np.zeros((720, 1280), np.uint8)
    alpha[y0:, x0:x0 + p.shape[1]] = np.rint(a * 255).astype(np.uint8)
    return np.clip(room + 0.5, 0, 255).astype(np.uint8), alpha


def costs(frame: np.ndarray, alpha: np.ndarray, rounds: int = 5, calls: int = 40) -> dict:
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        bg = Path(tmp) / "bg.png"
        cv2.imwrite(str(bg), cv2.cvtColor(scaling.cover_fit(pictures.load_image(assets_dir() / "backgrounds" / "seaside.jpg"),
                                                          *SIZE), cv2.COLOR_RGB2BGR))
        looks = {
            "blur": EffectSettings("blur"),
            "portrait": EffectSettings("portrait"),
            "color": EffectSettings("color"),
            "color+shadow": EffectSettings("color", shadow=0.8),
            "gradient": EffectSettings("color", color=(30, 60, 114), color_to=(42, 82, 152)),
            "replace": EffectSettings("replace", background=str(bg)),
            "replace+shadow": EffectSettings("replace", background=str(bg), shadow=0.8),
        }
        comps = {name: Compositor(s, SIZE) for name, s in looks.items()}
        out = np.empty_like(frame)
        times: dict = {name: [] for name in looks}
        for comp in comps.values():
            for _ in range(10):
                comp.apply(frame, alpha, out)
        for _ in range(rounds):   # in turns: each look's calls share the machine's moments
            for name, comp in comps.items():
                for _ in range(calls):
                    t0 = time.perf_counter()
                    comp.apply(frame, alpha, out)
                    times[name].append(time.perf_counter() - t0)
        for comp in comps.values():
            comp.close()
    ms = {name: round(1000 * statistics.median(t), 3) for name, t in times.items()}
    ms["portrait_extra_ms"] = round(ms["portrait"] - ms["blur"], 3)
    ms["shadow_on_color_extra_ms"] = round(ms["color+shadow"] - ms["color"], 3)
    ms["shadow_on_replace_extra_ms"] = round(ms["replace+shadow"] - ms["replace"], 3)
    ms["gradient_extra_ms"] = round(ms["gradient"] - ms["color"], 3)
    ms["frame_copy_ms"] = copy_ms(frame)
    return ms


def depth_scene() -> dict:
    from test_portrait import EDGES, detail, run, scene

    frame, alpha = scene()
    portrait, blur = run("portrait", frame, alpha), run("blur", frame, alpha)
    left = [round(detail(portrait, a, b), 2) for a, b in zip(EDGES, EDGES[1:])]
    return {"planes_x": list(EDGES), "detail_portrait": left,
            "detail_blur": [round(detail(blur, a, b), 2) for a, b in zip(EDGES, EDGES[1:])],
            "falls_with_depth": all(a > b for a, b in zip(left, left[1:])),
            "person_unchanged": bool(np.array_equal(portrait[alpha == 255], frame[alpha == 255]))}


def shadows(frame: np.ndarray, alpha: np.ndarray) -> dict:
    comp = Compositor(EffectSettings("cutout", shadow=0.8), SIZE)
    out = np.empty_like(frame)
    comp.apply(frame, alpha, out)
    rgba = comp.cutout(out, alpha, np.empty((720, 1280, 4), np.uint8))
    comp.close()
    opaque = alpha == 255
    shade = Shadow(SIZE, 0.8).update(alpha)
    ys, xs = np.nonzero(opaque)
    y = int(np.median(ys))
    right = int(xs[ys == y].max())
    row = shade[y, right + 1:right + 200:20]
    return {"opaque_alpha_max_change": int(np.abs(rgba[..., 3][opaque].astype(np.int16) - 255).max()),
            "opaque_colour_max_change": int(np.abs(rgba[..., :3][opaque].astype(np.int16) - out[opaque]).max()),
            "shadow_every_20px_out_from_the_right_side": [int(v) for v in row]}


def styles() -> dict:
    picture = scaling.cover_fit(pictures.load_image(assets_dir() / "backgrounds" / "forest.jpg"), *SIZE)
    result = {}
    for name in available()[:4]:
        t0 = time.perf_counter()
        stylize(picture, name)
        result[f"{name}_s_720p"] = round(time.perf_counter() - t0, 3)
    return result


def painted_room(frame: np.ndarray, alpha: np.ndarray) -> dict:
    """A blur with a style: the frame that starts the painting live (against a plain blur's, in
    turns), how long the painting takes on its thread, and the style previews of the panel."""
    from vcam.effects.painted_room import plate

    out = np.empty_like(frame)
    first, plain = [], []
    for _ in range(5):
        for times, settings in ((first, EffectSettings("blur", style="cartoon")), (plain, EffectSettings("blur"))):
            comp = Compositor(settings, SIZE, live=True)
            t0 = time.perf_counter()
            comp.apply(frame, alpha, out)
            times.append(time.perf_counter() - t0)
            while comp.painted_room is not None and not comp.painted_room.ready:   # its painting done before the next
                time.sleep(0.01)
            comp.close()
    t0 = time.perf_counter()
    room = plate(frame, alpha)
    result = {"first_live_frame_ms": round(1000 * statistics.median(first), 2),
              "plain_blur_first_frame_ms": round(1000 * statistics.median(plain), 2),
              "plate_ms": round(1000 * (time.perf_counter() - t0), 1)}
    for name in available()[:4]:
        t0 = time.perf_counter()
        stylize(room, name)
        result[f"paint_{name}_s_720p"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    previews(frame, ("none",) + available())
    result["panel_previews_ms"] = round(1000 * (time.perf_counter() - t0), 1)
    result["panel_preview_styles"] = 1 + len(available())
    return result


def main() -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    frame, alpha = person()
    report = {"costs_ms_720p": costs(frame, alpha), "portrait_depth_scene": depth_scene(),
              "shadow_cutout": shadows(frame, alpha), "styles_once": styles(),
              "painted_room": painted_room(frame, alpha)}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
