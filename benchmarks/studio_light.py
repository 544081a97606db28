"""Studio light measured: low light, key light and denoise on real clips, and what each costs.

    python benchmarks/studio_light.py            # figures for docs/light-and-looks.md
    python benchmarks/studio_light.py --json

The clips are ``../shared/eval/clips`` (never copied into the repository; without them, vcam's
demo portrait): a real talking head at its own light ("well lit"), the same darkened here as a
dim room would (two fifths of the light, gamma 1.3, then sensor noise of 3 grey levels: "dark"),
and one of its frames held still with fresh noise of 5 grey levels on every frame ("still,
noisy", so the true picture is known). Every figure comes from the real engine
(``vcam.Engine``, the selfie model, ``--effect none`` so the output is the lit picture):

- low light on the dark clip: the person's exposure as vcam meters it (the upper quartile of the
  luma over the matte, 0 to 1: ``vcam.light.lowlight.LOW_METER``), when it first enters 0.45-0.55 and
  whether it stays; the person's mean luma beside it; on the still clip, the largest frame-to-frame
  change of that brightness once settled; on the well-lit clip, the mean difference from the
  input in grey levels;
- denoise on the still clip: the noise left (standard deviation of output minus the true
  frame) against the input's, on the room (matte 0) and on the person;
- key light: on the room (matte 0) the largest change, on the face the mean gain;
- costs: each stage alone (relight towards a warm, bright background) at 1280x720 on one thread
  (OpenCV and Numba single-threaded), median milliseconds of 100 calls after warm-up, with the
  time of one plain copy of a 720p frame beside them as the machine's yardstick;
- the default pipeline with every light stage off against the code from before studio light
  (``--before``, a commit: its tree is taken with ``git archive`` into a temporary folder): the
  same 720p frames through each tree's own ``vcam.Engine`` (``--effect blur``, the selfie model,
  one thread), each in its own process, taking turns for 3 rounds; the median milliseconds per
  frame of each and their ratio per round (1.00 is unchanged).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vcam import EffectSettings, Engine, LightSettings, SegmentSettings, Settings  # noqa: E402
from vcam.light.denoise import Denoise  # noqa: E402
from vcam.light.keylight import KeyLight  # noqa: E402
from vcam.light.lowlight import LowLight  # noqa: E402
from vcam.light.relight import Relight  # noqa: E402

CLIPS = ROOT.parent / "shared" / "eval" / "clips"
KITCHEN = CLIPS / "talking-head-kitchen.mp4"
SIZE = (512, 512)
BEFORE = "b372341"   # the last commit before studio light (eba0e65)
# One tree's default engine timed on the saved frames, in a process of its own.
OFF_TIMER = """
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import cv2, numpy as np
cv2.setNumThreads(1)
from vcam import EffectSettings, Engine, SegmentSettings, Settings
frames = np.load(sys.argv[2])
engine = Engine(Settings(segment=SegmentSettings(threads=1), effect=EffectSettings("blur")))
engine.prepare((frames.shape[2], frames.shape[1]), 30.0)
out = np.empty_like(frames[0])
for frame in frames[:10]:
    engine.process(frame, out, {})
times = []
for _ in range(int(sys.argv[3])):
    for frame in frames:
        t0 = time.perf_counter()
        engine.process(frame, out, {})
        times.append(time.perf_counter() - t0)
engine.close()
print(json.dumps(1000 * statistics.median(times)))
"""


def clip_frames(limit: int) -> tuple[list[np.ndarray], float, str]:
    """The kitchen clip's frames (RGB), its rate and what it is; the demo without the eval folder."""
    if KITCHEN.is_file():
        from vcam.fileio.video_reader import VideoReader

        reader = VideoReader(KITCHEN, "clip")
        frames = []
        while len(frames) < limit and (rgb := reader.read()) is not None:
            frames.append(cv2.resize(rgb, SIZE, interpolation=cv2.INTER_AREA) if reader.size != SIZE else rgb.copy())
        fps = reader.fps
        reader.close()
        return frames, fps, f"{KITCHEN.name} (real webcam-like clip)"
    from vcam.live.sources import DemoSource

    demo = DemoSource(*SIZE, live=False)
    frames = []
    for _ in range(limit):
        buf = np.empty((SIZE[1], SIZE[0], 3), np.uint8)
        demo.read(buf)
        frames.append(buf)
    return frames, 30.0, "vcam's demo portrait (no ../shared/eval)"


def darken(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = (frame.astype(np.float32) / 255 * 0.4) ** 1.3 * 255
    return np.clip(x + rng.normal(0, 3.0, frame.shape), 0, 255).astype(np.uint8)


def engine(fps: float, **light) -> Engine:
    e = Engine(Settings(segment=SegmentSettings(threads=1), effect=EffectSettings("none"), light=LightSettings(**light)))
    e.prepare(SIZE, fps)
    return e


def run(e: Engine, frames: list[np.ndarray]):
    out = np.empty((SIZE[1], SIZE[0], 3), np.uint8)
    for frame in frames:
        alpha = e.process(frame, out, {})
        yield out, alpha


def luma(picture: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY).astype(np.float32)


def person_mean(picture: np.ndarray, alpha: np.ndarray) -> float:
    """The person's exposure: the upper quartile of their luma (what vcam meters), 0 to 1."""
    mask = alpha > 128
    return float(np.percentile(luma(picture)[mask], 75) / 255) if mask.any() else float("nan")


def person_plain_mean(picture: np.ndarray, alpha: np.ndarray) -> float:
    mask = alpha > 128
    return float(luma(picture)[mask].mean() / 255) if mask.any() else float("nan")


def low_light(frames, fps, rng) -> dict:
    dark = [darken(f, rng) for f in frames]
    pairs = [(person_mean(o, a), person_plain_mean(o, a)) for o, a in run(engine(fps, low_light=1.0), dark)]
    means = [m for m, _ in pairs]
    inside = [0.45 <= m <= 0.55 for m in means]
    first = next((i for i, ok in enumerate(inside) if ok), None)
    held = first is not None and all(inside[first:])
    still_clean = frames[0]
    still = [np.clip(still_clean + rng.normal(0, 3.0, still_clean.shape), 0, 255).astype(np.uint8) for _ in range(90)]
    still = [darken(f, rng) for f in still]
    settled = [person_mean(o, a) for o, a in run(engine(fps, low_light=1.0), still)][int(fps):]
    steps = [abs(b - a) / a for a, b in zip(settled, settled[1:])]
    diffs = []
    for (o, _), f in zip(run(engine(fps, low_light=1.0), frames), frames):
        diffs.append(float(np.abs(o.astype(np.int16) - f).mean()))
    return {
        "dark_person_before": round(statistics.median(person_mean(d, a) for d, (_, a) in
                                                      zip(dark[:10], run(engine(fps), dark[:10]))), 3),
        "dark_person_after_1s": round(means[min(len(means) - 1, int(fps))], 3),
        "dark_person_last": round(means[-1], 3),
        "dark_person_plain_mean_last": round(pairs[-1][1], 3),
        "well_lit_person": round(statistics.median(person_mean(o, a) for o, a in run(engine(fps), frames[:20])), 3),
        "enters_target_at_s": None if first is None else round(first / fps, 2),
        "holds_in_target": held,
        "still_max_step_percent": round(100 * max(steps), 2),
        "still_median_step_percent": round(100 * statistics.median(steps), 3),
        "well_lit_mean_difference_levels": round(statistics.mean(diffs), 2),
    }


def denoise(frames, fps, rng) -> dict:
    clean = frames[0]
    noisy = [np.clip(clean + rng.normal(0, 5.0, clean.shape), 0, 255).astype(np.uint8) for _ in range(60)]
    result = {}
    for name, e in (("off", engine(fps)), ("on", engine(fps, denoise=1.0))):
        *_, (out, alpha) = run(e, noisy)   # the last frame, once the average has settled
        err = out.astype(np.float32) - clean
        result[name] = {"room": float(err[alpha == 0].std()), "person": float(err[alpha > 200].std())}
    return {
        "input_noise_room": round(result["off"]["room"], 2),
        "output_noise_room": round(result["on"]["room"], 2),
        "room_reduction_percent": round(100 * (1 - result["on"]["room"] / result["off"]["room"]), 1),
        "person_reduction_percent": round(100 * (1 - result["on"]["person"] / result["off"]["person"]), 1),
    }


def key_light(frames, fps) -> dict:
    room_change, face_gain = [], []
    for (out, alpha), frame in zip(run(engine(fps, key_light=1.0), frames[:60]), frames[:60]):
        room = alpha == 0
        room_change.append(int(np.abs(out[room].astype(np.int16) - frame[room]).max()) if room.any() else 0)
        ys, xs = np.nonzero(alpha > 200)
        if len(ys):
            top = ys.min()
            face = (alpha > 200) & (np.arange(alpha.shape[0])[:, None] < top + (ys.max() - top) * 0.3)
            face_gain.append(float(luma(out)[face].mean() / max(1.0, luma(frame)[face].mean())))
    return {"room_max_change_levels": max(room_change), "face_gain": round(statistics.median(face_gain[10:]), 3)}


def costs(frames) -> dict:
    cv2.setNumThreads(1)
    size = (1280, 720)
    frame = darken(cv2.resize(frames[0], size, interpolation=cv2.INTER_LINEAR), np.random.default_rng(1))   # lifted, not copied
    alpha = np.zeros((720, 1280), np.uint8)
    cv2.ellipse(alpha, (640, 420), (260, 380), 0, 0, 360, 255, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 3)
    out = np.empty_like(frame)
    backdrop = np.full_like(frame, (230, 180, 120))   # a warm, bright new background
    stages = {"low_light": (LowLight(size, 1.0), lambda s: s.apply(frame, alpha, out)),
              "key_light": (KeyLight(size, 1.0), lambda s: s.apply(frame, alpha, out)),
              "denoise": (Denoise(size, 1.0), lambda s: s.apply(frame, out)),
              "relight": (Relight(size, 1.0), lambda s: s.apply(frame, alpha, backdrop, out))}
    result = {}
    for name, (stage, call) in stages.items():
        for _ in range(10):
            call(stage)
        times = []
        for _ in range(100):
            t0 = time.perf_counter()
            call(stage)
            times.append(time.perf_counter() - t0)
        result[f"{name}_ms_720p"] = round(1000 * statistics.median(times), 3)
    result["frame_copy_ms_720p"] = copy_ms(frame)
    return result


def copy_ms(frame: np.ndarray) -> float:
    """A yardstick of this machine's speed now: copying one 720p frame (median of 100), so the
    costs can be read as multiples of it when the machine is faster or slower than usual."""
    out = np.empty_like(frame)
    times = []
    for _ in range(100):
        t0 = time.perf_counter()
        np.copyto(out, frame)
        times.append(time.perf_counter() - t0)
    return round(1000 * statistics.median(times), 3)


def off_cost(frames, before: str, rounds: int = 3, repeats: int = 5) -> dict:
    """The default engine (light off) in this tree and in ``before``'s, taking turns."""
    with tempfile.TemporaryDirectory(prefix="vcam-before-") as tmp:
        old = Path(tmp) / "before"
        old.mkdir()
        archive = Path(tmp) / "before.tar"
        try:
            subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), before], check=True,
                           capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            return {"skipped": f"no git tree to take {before} from ({exc})"}
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "data_filter"):   # Python 3.10.12+: no path outside the folder
                tar.extractall(old, filter="data")
            else:
                tar.extractall(old)
        picked = [cv2.resize(f, (1280, 720), interpolation=cv2.INTER_LINEAR) for f in frames[:20]]
        saved = Path(tmp) / "frames.npy"
        np.save(saved, np.stack(picked))
        ms = {"before": [], "now": []}
        for _ in range(rounds):
            for name, tree in (("before", old), ("now", ROOT)):
                done = subprocess.run([sys.executable, "-c", OFF_TIMER, str(tree), str(saved), str(repeats)],
                                      capture_output=True, text=True, timeout=600, check=True)
                ms[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    ratios = [n / b for n, b in zip(ms["now"], ms["before"])]
    return {"before": before, "before_ms": [round(v, 2) for v in ms["before"]], "now_ms": [round(v, 2) for v in ms["now"]],
            "ratio_median": round(statistics.median(ratios), 3),
            "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=150, help="frames of the clip to use (default: 150)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--before", default=BEFORE,
                    help=f"the commit to compare the light-off pipeline with (default: {BEFORE}, before studio light)")
    args = ap.parse_args()
    frames, fps, what = clip_frames(args.frames)
    rng = np.random.default_rng(2026)
    report = {"clip": what, "frames": len(frames), "fps": fps,
              "low_light": low_light(frames, fps, rng), "denoise": denoise(frames, fps, rng),
              "key_light": key_light(frames, fps), "costs": costs(frames),
              "light_off_against_before": off_cost(frames, args.before)}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for section, values in report.items():
            print(f"{section}: {values}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
