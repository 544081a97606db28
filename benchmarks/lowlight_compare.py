"""Low light, ours against a learned network: vcam's ``--low-light`` (``vcam.light.lowlight``: one
tone curve metered on the person, eased over time) against the semantic-guided zero-shot low-light
enhancement network (MIT, 180x324, ``../shared/models/semantic_guided_llie_180x324.onnx``; not
bundled), on real clips made dim as a dim webcam makes them.

    python benchmarks/lowlight_compare.py                 # figures for docs/light-and-looks.md
    python benchmarks/lowlight_compare.py --frames 20 --json

The dim material: each real clip of ``../shared/eval/clips`` (never copied into the repository)
in linear light (sRGB-ish gamma 2.2) times ``--light`` (the share of the light left), then shot
noise (Poisson, a full-scale pixel collecting ``--electrons`` electrons) and read noise
(``--read`` electrons), back to gamma and 8 bits. The "still" version holds one frame with fresh
noise on every frame (the true picture is known and nothing moves).

Each method sees the dim frames in order, as live (ours with its temporal easing; the network has
no state). The learned network runs on the frame scaled to 324x180; its output is applied at full
size as a per-pixel gain (its brightened picture over its input, both at 324x180, scaled up), so the
frame's own detail is kept rather than the network's low-resolution picture. Figures:

- colour: the mean CIE76 difference (Lab, D65) from the undarkened frame, on the whole frame and
  on the person (vcam's matte of the undarkened frame), once settled (from frame 10 on);
- noise: on the still version, the per-pixel standard deviation over time (grey levels, luma);
- flicker: on the still version, the standard deviation over time of the frame's mean luma;
- cost: each at 1280x720 on one thread (OpenCV, Numba and ONNX Runtime single-threaded), median
  milliseconds of 50 calls after warm-up.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vcam import EffectSettings, Engine, Settings  # noqa: E402
from vcam.light.lowlight import LowLight  # noqa: E402

CLIPS = ROOT.parent / "shared" / "eval" / "clips"
LLIE = ROOT.parent / "shared" / "models" / "semantic_guided_llie_180x324.onnx"
CLIP_NAMES = ("talking-head-kitchen", "room-woman-short-hair", "plain-wall-man", "outdoor-man-palms")
LLIE_SIZE = (324, 180)
SETTLED = 10


def dim(rgb: np.ndarray, rng: np.random.Generator, light: float, electrons: float, read: float) -> np.ndarray:
    linear = (rgb.astype(np.float32) / 255.0) ** 2.2 * light
    got = rng.poisson(linear * electrons).astype(np.float32) + rng.normal(0.0, read, rgb.shape).astype(np.float32)
    out = np.clip(got / electrons, 0.0, 1.0) ** (1 / 2.2)
    return np.round(out * 255.0).astype(np.uint8)


class Learned:
    """The network, its output applied at full size as a per-pixel gain (buffers made once)."""

    def __init__(self, size: tuple[int, int]) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 4
        self.session = ort.InferenceSession(str(LLIE), options, providers=["CPUExecutionProvider"])
        self.name = self.session.get_inputs()[0].name
        w, h = LLIE_SIZE
        self.small = np.empty((h, w, 3), np.uint8)
        self.input = np.empty((1, 3, h, w), np.float32)
        self.gain_small = np.empty((h, w, 3), np.float32)
        self.gain = np.empty((size[1], size[0], 3), np.float32)
        self.size = size

    def apply(self, frame: np.ndarray, out: np.ndarray) -> np.ndarray:
        cv2.resize(frame, LLIE_SIZE, dst=self.small, interpolation=cv2.INTER_AREA)
        for c in range(3):
            np.multiply(self.small[:, :, c], np.float32(1 / 255), out=self.input[0, c])
        y = self.session.run(None, {self.name: self.input})[0][0]
        src = self.input[0]
        for c in range(3):   # the gain, where the input is dark measured against a floor (no 0/0)
            np.divide(y[c] + np.float32(0.01), src[c] + np.float32(0.01), out=self.gain_small[:, :, c])
        cv2.resize(self.gain_small, self.size, dst=self.gain, interpolation=cv2.INTER_LINEAR)
        np.multiply(frame, self.gain, out=self.gain, casting="unsafe")
        np.clip(self.gain, 0, 255, out=self.gain)
        out[...] = self.gain
        return out

    def plain(self, frame: np.ndarray) -> np.ndarray:
        """The network's own picture, scaled up (for a look only)."""
        cv2.resize(frame, LLIE_SIZE, dst=self.small, interpolation=cv2.INTER_AREA)
        x = self.small.astype(np.float32).transpose(2, 0, 1)[None] / 255.0
        y = self.session.run(None, {self.name: np.ascontiguousarray(x)})[0][0].transpose(1, 2, 0)
        return cv2.resize(np.clip(y * 255 + 0.5, 0, 255).astype(np.uint8), (frame.shape[1], frame.shape[0]))


def lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def luma(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


def read_clip(path: Path, frames: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    out = []
    while len(out) < frames:
        ok, bgr = cap.read()
        if not ok:
            break
        out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return out


def mattes(frames: list[np.ndarray]) -> list[np.ndarray]:
    engine = Engine(Settings(effect=EffectSettings("none")))
    out = np.empty_like(frames[0])
    got = [engine.process(f, out, {}).copy() for f in frames]
    engine.close()
    return got


def run_methods(dark: list[np.ndarray], alphas: list[np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Each method over the dim frames in order; ours gets the matte of each dim frame as live does."""
    size = (dark[0].shape[1], dark[0].shape[0])
    ours, learned = LowLight(size, 1.0, 30.0), Learned(size)
    results: dict[str, list[np.ndarray]] = {"dim input": [f.copy() for f in dark], "ours": [], "learned": []}
    for f, a in zip(dark, alphas):
        results["ours"].append(ours.apply(f, a, np.empty_like(f)).copy())
        results["learned"].append(learned.apply(f, np.empty_like(f)).copy())
    return results


def colour_error(results, clean, person) -> dict[str, tuple[float, float]]:
    out = {}
    for name, frames in results.items():
        whole, on_person = [], []
        for f, c, p in list(zip(frames, clean, person))[SETTLED:]:
            d = np.linalg.norm(lab(f) - lab(c), axis=2)
            whole.append(float(d.mean()))
            on_person.append(float(d[p > 128].mean()) if (p > 128).any() else float("nan"))
        out[name] = (statistics.fmean(whole), statistics.fmean(on_person))
    return out


def noise_and_flicker(results) -> dict[str, tuple[float, float]]:
    out = {}
    for name, frames in results.items():
        stack = np.stack([luma(f) for f in frames[SETTLED:]])
        out[name] = (float(stack.std(axis=0).mean()), float(stack.mean(axis=(1, 2)).std()))
    return out


def cost(frame720: np.ndarray, alpha720: np.ndarray) -> dict[str, float]:
    cv2.setNumThreads(1)
    try:
        import numba
        numba.set_num_threads(1)
    except (ImportError, ValueError):
        pass
    size = (1280, 720)
    ours, learned = LowLight(size, 1.0, 30.0), Learned(size)
    out = np.empty_like(frame720)
    times = {}
    for name, call in (("ours", lambda: ours.apply(frame720, alpha720, out)), ("learned", lambda: learned.apply(frame720, out)),
                       ("720p frame copy", lambda: np.copyto(out, frame720))):
        for _ in range(5):
            call()
        t = []
        for _ in range(50):
            t0 = time.perf_counter()
            call()
            t.append(time.perf_counter() - t0)
        times[name] = statistics.median(t) * 1000
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=40, help="frames per clip (default: 40)")
    p.add_argument("--light", type=float, default=0.12, help="share of the light left (default: 0.12)")
    p.add_argument("--electrons", type=float, default=400.0, help="electrons a full-scale pixel collects (default: 400)")
    p.add_argument("--read", type=float, default=3.0, help="read noise, electrons (default: 3)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--look", metavar="PATH.jpg", help="save one frame of each clip: clean, dim, ours, learned")
    args = p.parse_args()
    if not CLIPS.is_dir() or not LLIE.is_file():
        sys.exit(f"needs {CLIPS} and {LLIE}")
    rng = np.random.default_rng(42)
    report, looks = {}, []
    for name in CLIP_NAMES:
        clean = read_clip(CLIPS / f"{name}.mp4", args.frames)
        person = mattes(clean)
        dark = [dim(f, rng, args.light, args.electrons, args.read) for f in clean]
        results = run_methods(dark, mattes(dark))
        still_dark = [dim(clean[0], rng, args.light, args.electrons, args.read) for _ in clean]
        still = run_methods(still_dark, mattes(still_dark))
        report[name] = {"colour": colour_error(results, clean, person), "noise, flicker": noise_and_flicker(still)}
        if args.look:
            k = len(clean) - 1
            looks.append(np.hstack([cv2.resize(x, (256, 256)) for x in
                                    (clean[k], dark[k], results["ours"][k], results["learned"][k])]))
    frame = cv2.resize(read_clip(CLIPS / f"{CLIP_NAMES[0]}.mp4", 1)[0], (1280, 720))
    dark720 = dim(frame, rng, args.light, args.electrons, args.read)
    report["cost at 720p, ms"] = cost(dark720, cv2.resize(mattes([dark720])[0], (1280, 720)))
    if args.look:
        cv2.imwrite(args.look, cv2.cvtColor(np.vstack(looks), cv2.COLOR_RGB2BGR))
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"dim: {args.light:g} of the light, {args.electrons:g} e- full scale, read noise {args.read:g} e-; "
          f"{args.frames} frames a clip")
    print(f"{'clip':24s} {'method':10s} {'dE whole':>8s} {'dE person':>9s} {'noise':>6s} {'flicker':>7s}")
    for name in CLIP_NAMES:
        r = report[name]
        for method in ("dim input", "ours", "learned"):
            (whole, on), (noise, flicker) = r["colour"][method], r["noise, flicker"][method]
            print(f"{name:24s} {method:10s} {whole:8.2f} {on:9.2f} {noise:6.2f} {flicker:7.3f}")
    print("cost at 720p, one thread:", ", ".join(f"{k} {v:.2f} ms" for k, v in report["cost at 720p, ms"].items()))


if __name__ == "__main__":
    main()
