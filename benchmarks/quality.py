"""Matte quality on real people, through vcam's own Engine, for several settings in one run.

    python benchmarks/quality.py                          # raw and default, every set, table
    python benchmarks/quality.py --set images --limit 10  # a quick look
    python benchmarks/quality.py --compare raw,default,matte.smoothing=0.3 --json

Every configuration is a :class:`vcam.config.Settings` with the ``cutout`` effect (the alpha is
the matte; the RGB is the colour vcam gives the person, for the composite set); each frame goes
through ``Engine.process``, the code of ``vcam run`` and ``vcam process``, and ``Engine.reset()``
separates independent photos and sequences. ``--compare`` takes names (``raw``: the general selfie
model's own matte of the whole frame, no crop following, no temporal smoothing, no edge shift;
``default``: ``Settings()`` as shipped, live; ``files``: the same as ``vcam process`` runs it, the
model picked per file), settings JSON files (as saved by ``vcam.fileio.settings_file.save_settings``), or
overrides of the defaults such as ``matte.smoothing=0.3+matte.motion=0.1``.

The evaluation material is read from ``../shared/eval`` beside the repository (``--eval``) and
never copied (see its README). Six sets:

images     portraits/images/*.jpg against portraits/masks/*.png (resized to the picture, nearest;
           > 127 is person). Mean and median IoU of alpha >= 0.5; boundary F at tolerances of 0.8%
           and 0.25% of the picture's diagonal (definition in quality_metrics.py); mean absolute
           error of alpha in [0, 1] against the binary mask. Each picture is the first frame
           after ``Engine.reset()`` (what a camera's first frame gets), or with ``--photo`` goes
           through the engine's photo path (``process(photo=True)``, as ``vcam process`` does).
stillness  clips/*.mp4 with temporal state carried through each clip: mean |alpha_t - alpha_t-1|
           over the pixels whose colour changed by less than 2/255 in every channel, over all such
           pixels ("all") and over those within 2% of the diagonal of the previous matte's 0.5
           contour ("edge"). Lower is stiller. The band follows the outline, not the soft pixels,
           so hardening the matte cannot hide flicker. The clip's figure pools its frames; the
           mean row weighs the clips equally.
noisy      the stillness set on the clips made noisier, as a dim webcam's picture is: each frame gets
           Gaussian noise (NOISY_SIGMA: 5 levels in brightness, 3 in each channel, new every frame,
           seeded), then the clip is coded again with H.264 at CRF NOISY_CRF (23), into a
           temporary folder that is removed after. The same measures.
motion     synthetic sequences with exact truth at 640x480, 90 frames (30 fps): a portrait is cut
           out with its true mask and composited (premultiplied, bilinear) over a background made
           from another portrait's surroundings (person inpainted, blurred, mirrored), with sensor
           noise (sigma 2 levels). Motions: ``sweep`` left-right, sinusoidal, peaking at 12 px/frame;
           ``lean`` rotating +-10 degrees about a point below the frame; ``zoom`` scaling +-20%;
           ``still`` no motion (noise only). Per sequence: mean IoU and tight boundary F (0.25%)
           per frame, dtSSD (x100, as in RobustVideoMatting's evaluation), and lag in frames: the
           time shift that best aligns the predicted masks with the true ones by IoU, refined to a
           fraction of a frame (not given for ``still``).

composite  the motion set's portraits with their true edge blurred COMPOSITE_SOFT (2 px), so
           frames hold mixed pixels with exact alpha, foreground and background, ``sweep`` and
           ``still``: the cut-out (RGB and alpha) laid over a new background against the truth
           laid over it, mean absolute error in 8-bit levels within COMPOSITE_BAND (1%) of the
           diagonal of the true outline, and over the pixels the truth mixes. The person's colour
           beyond their mask is carried out from inside it (as a hair's is), not the eval photo's
           room. Two reference rows lay the exact alpha through vcam's compositor with and without
           clean edges: what the colour estimate does where the matte is right.
rooms      the composite set with the people in rooms as photographed: the widest strip of an eval
           photo beside its person (ROOMS: a shop front, a street cafe, a shop's shelves), at the
           photo's own scale, mirrored to fill the frame, nothing inpainted or blurred, so the
           room behind the edge keeps its texture; every frame through JPEG at ROOM_JPEG (80), a
           webcam's MJPG, on top of the sensor noise. The same measures and reference rows.

A full run of two configurations takes about 3 minutes on the 2-core development machine (each
more configuration about half a minute); progress goes to standard error, and ``--json`` prints
one JSON document on standard output.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import av
import cv2
import numpy as np
import quality_metrics as qm

from vcam import EffectSettings, Engine, MatteSettings, SegmentSettings, Settings, VcamError, scaling
from vcam.effects.composite import Compositor
from vcam.fileio import pictures
from vcam.fileio.settings_file import load_settings
from vcam.live.sources import VideoSource
from vcam.segment import choice

EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "eval"
SETS = ("images", "stillness", "noisy", "motion", "composite", "rooms", "bright")

BF_LOOSE = 0.008        # boundary F tolerances, share of the diagonal
BF_TIGHT = 0.0025
STILL_LEVELS = 2        # a pixel is still when every channel moved less than this (of 255)
EDGE_BAND = 0.02        # stillness band: this share of the diagonal around the previous outline

MOTION_SIZE = (640, 480)
MOTION_FRAMES = 90
SWEEP_PEAK = 12.0       # px/frame
LEAN_DEGREES = 10.0
ZOOM = 0.2
NOISE_SIGMA = 2.0
MOTIONS = ("sweep", "lean", "zoom", "still")
MAX_SHIFT = 5           # lag search range, frames
COMPOSITE_SOFT = 2.0    # px: the composite set's true alpha has its edge blurred by this, so its
                        # frames hold mixed pixels (as hair and motion blur do) with exact truth
COMPOSITE_BAND = 0.01   # its error is taken within this share of the diagonal of the true outline
COMPOSITE_MOTIONS = ("sweep", "still")
ROOM_JPEG = 80          # the rooms set's frames go through JPEG at this quality (a webcam's MJPG)
NOISY_SIGMA = (5.0, 3.0)   # the noisy set's camera noise: levels of brightness, and of each channel
NOISY_CRF = 23          # ... then H.264 at this quality
EXACT_LABEL = "exact alpha"   # the composite set's reference rows: the true alpha, no model
# Portraits moved in the motion set, in order of use (webcam-like framing; long and loose hair,
# glasses, a raised arm, two people), and portraits whose surroundings, with the person
# inpainted, make the backgrounds (checked by eye: no other people in them).
SUBJECTS = ("66", "166", "126", "76", "86", "61")
BACKGROUNDS = ("161", "121", "271")
BACKGROUND_BLUR = 2.0   # px (Gaussian sigma): the made rooms are blurred by this
ROOMS = ("171", "236", "226")   # the rooms set's: photos whose person leaves a wide, busy strip
ROOM_MARGIN = 12        # px kept clear of the photo's person when its room is cut out
# The bright set's walls (the commonest room on a call, where a halo shows most): a plain
# off-white wall with soft shading, and a window blind's bright slats in daylight, in turn.
BRIGHT_WALL = (236.0, 234.0, 228.0)
BLIND_PERIOD = 14       # px from slat to slat
HALO_ALPHA = 0.02       # a band pixel whose true alpha is under this is pure room: any error there is halo
HALO_VISIBLE = 24       # levels (the largest of the three channels) past which a halo pixel is visibly wrong

NAMED = {
    "raw": ("The general selfie model's own matte of the whole frame (the reference of issue 4): no crop "
            "following, no temporal smoothing, the model run on every frame, the edge where the model puts it",
            lambda: Settings(segment=SegmentSettings(backend="onnx", model="general", follow=False, skip_still=False),
                             matte=MatteSettings(smoothing=0.0, threshold=0.5, softness=1.0))),
    "bare": ("The raw model's matte with no refinement at all: as raw, and the camera's own colour at the edge "
             "(no clean edges)",
             lambda: Settings(segment=SegmentSettings(backend="onnx", model="general", follow=False, skip_still=False),
                              matte=MatteSettings(smoothing=0.0, threshold=0.5, softness=1.0),
                              effect=EffectSettings(clean_edges=False))),
    "default": ("Settings() as shipped, live (model auto on a CPU: the selfie model)", Settings),
    "files": ("Settings() as shipped, as vcam process runs them: model auto picked per picture or "
              "video by its size (vcam.segment.choice.for_file)", Settings),
}


# -- configurations ---------------------------------------------------------------------------

def _override(settings: Settings, assignment: str) -> Settings:
    key, _, text = assignment.partition("=")
    stage, _, name = key.strip().partition(".")
    current = getattr(settings, stage, None) if stage in Settings.__dataclass_fields__ else None
    if current is None or not name or name not in type(current).__dataclass_fields__:
        raise VcamError(f"cannot set {key.strip()!r}", "write stage.field=value, e.g. matte.smoothing=0.3")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text
    if isinstance(value, list):
        value = tuple(value)
    return settings.replace(**{stage: dataclasses.replace(current, **{name: value})})


def parse_config(spec: str) -> tuple[str, Settings]:
    """A name, a settings JSON file, or ``stage.field=value[+stage.field=value...]`` -> (label,
    settings with the ``matte`` effect)."""
    spec = spec.strip()
    if spec in NAMED:
        settings = NAMED[spec][1]()
    elif spec.endswith(".json"):
        settings = load_settings(Path(spec))
    elif "=" in spec:
        settings = Settings()
        for assignment in spec.split("+"):
            settings = _override(settings, assignment)
    else:
        raise VcamError(f"unknown configuration {spec!r}",
                        f"give one of {', '.join(NAMED)}, a settings .json file, or stage.field=value")
    label = Path(spec).stem if spec.endswith(".json") else spec
    # A cut-out: the alpha is the matte's, and the RGB the colour vcam gives the person
    return label, settings.replace(effect=EffectSettings("cutout", clean_edges=settings.effect.clean_edges))


class Runner:
    """One configuration's Engine; ``alpha(frame)`` returns a copy of the uint8 alpha. ``files``:
    the model is picked per picture and per video as ``vcam process`` does (an Engine for each)."""

    def __init__(self, label: str, settings: Settings, files: bool = False) -> None:
        self.label = label
        self.settings = settings
        self.files = files
        self._engines: dict[SegmentSettings, Engine] = {}
        self.engine = self._engine_for((0, 0), False)   # built now: a bad configuration fails at once
        self._out: Optional[np.ndarray] = None

    def _engine_for(self, size: tuple[int, int], video: bool) -> Engine:
        segment = choice.for_file(self.settings.segment, size, video) if self.files else self.settings.segment
        if segment not in self._engines:
            self._engines[segment] = Engine(self.settings.replace(segment=segment))
        return self._engines[segment]

    def reset(self) -> None:
        for engine in self._engines.values():
            engine.reset()

    def model_counts(self) -> np.ndarray:
        """(model passes, live frames) so far, over this configuration's engines."""
        return np.array([(e.model_runs, e.frames) for e in self._engines.values()]).sum(axis=0)

    def alpha(self, frame: np.ndarray, photo: bool = False) -> np.ndarray:
        """The alpha of ``frame``, the next of a video; ``photo``: a still picture through the
        engine's photo path (as ``vcam process`` treats pictures)."""
        if self._out is None or self._out.shape != frame.shape:
            self._out = np.empty_like(frame)
        if self.files:
            self.engine = self._engine_for((frame.shape[1], frame.shape[0]), video=not photo)
        return self.engine.process(frame, self._out, {}, photo=photo).copy()

    def cutout(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(alpha, RGB) of the cut-out of ``frame``, the next of a video: copies."""
        alpha = self.alpha(frame)
        return alpha, self._out.copy()

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close()


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _to_unit(alpha: np.ndarray) -> np.ndarray:
    return alpha.astype(np.float32) * np.float32(1 / 255)


# -- images -----------------------------------------------------------------------------------

def _portraits(eval_dir: Path) -> list[tuple[Path, Path]]:
    images, masks = eval_dir / "portraits" / "images", eval_dir / "portraits" / "masks"
    pairs = [(p, masks / f"{p.stem}.png") for p in images.glob("*.jpg") if (masks / f"{p.stem}.png").exists()]
    return sorted(pairs, key=lambda pair: (len(pair[0].stem), pair[0].stem))   # 1, 6, 11, ... 286


def _load_pair(image: Path, mask: Path) -> tuple[np.ndarray, np.ndarray]:
    rgb = pictures.load_image(image)
    truth = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE)
    if truth is None:
        raise VcamError(f"cannot read mask {mask}", "check the evaluation folder")
    h, w = rgb.shape[:2]
    if truth.shape != (h, w):
        truth = cv2.resize(truth, (w, h), interpolation=cv2.INTER_NEAREST)
    return rgb, truth > 127


def _image_means(scores: dict[str, list[float]], keep: list[bool]) -> dict:
    """The means (and median IoU) of the pictures ``keep`` marks."""
    picked = {k: [v for v, use in zip(values, keep) if use] for k, values in scores.items()}
    if not picked["iou"]:
        return {"count": 0}
    return {"count": len(picked["iou"]), "iou_mean": float(np.mean(picked["iou"])),
            "iou_median": float(np.median(picked["iou"])), "bf": float(np.mean(picked["bf"])),
            "bf_tight": float(np.mean(picked["bf_tight"])), "mae": float(np.mean(picked["mae"]))}


def run_images(runners: list[Runner], eval_dir: Path, limit: Optional[int], photo: bool = False) -> dict:
    pairs = _portraits(eval_dir)[:limit]
    if not pairs:
        raise VcamError(f"no portraits with masks under {eval_dir / 'portraits'}", "check --eval")
    scores: dict[str, dict[str, list[float]]] = {r.label: {"iou": [], "bf": [], "bf_tight": [], "mae": []} for r in runners}
    large: list[bool] = []   # at least choice.MATTING_MIN_PIXELS: where model auto takes MODNet for a file
    for i, (image, mask) in enumerate(pairs):
        rgb, truth = _load_pair(image, mask)
        large.append(rgb.shape[0] * rgb.shape[1] >= choice.MATTING_MIN_PIXELS)
        diag = qm.diagonal(rgb.shape)
        for r in runners:
            r.reset()   # photos are independent
            alpha = r.alpha(rgb, photo)
            person = alpha >= 128
            s = scores[r.label]
            s["iou"].append(qm.iou(person, truth))
            s["bf"].append(qm.boundary_f(person, truth, BF_LOOSE * diag))
            s["bf_tight"].append(qm.boundary_f(person, truth, BF_TIGHT * diag))
            s["mae"].append(qm.mean_abs_error(_to_unit(alpha), truth))
        if (i + 1) % 10 == 0 or i + 1 == len(pairs):
            _progress(f"images: {i + 1}/{len(pairs)}")
    result = {}
    for label, s in scores.items():
        worst = int(np.argmin(s["iou"]))
        result[label] = {
            **_image_means(s, [True] * len(large)),
            "worst": {"image": pairs[worst][0].name, "iou": s["iou"][worst]},
            "by_size": {"small": _image_means(s, [not x for x in large]), "large": _image_means(s, large)},
            "per_image_iou": {image.name: iou for (image, _), iou in zip(pairs, s["iou"])},
        }
    return result


# -- stillness --------------------------------------------------------------------------------

def _clips(eval_dir: Path, limit: Optional[int]) -> list[Path]:
    clips = sorted((eval_dir / "clips").glob("*.mp4"))[:limit]
    if not clips:
        raise VcamError(f"no clips under {eval_dir / 'clips'}", "check --eval")
    return clips


def noisy_copy(clip: Path, out: Path, seed: int, max_frames: Optional[int] = None) -> Path:
    """``clip`` (its first ``max_frames``) with a dim webcam's noise on every frame (NOISY_SIGMA),
    coded again with H.264 at NOISY_CRF into ``out`` (a folder), under the same name."""
    rng = np.random.default_rng(seed)
    target = out / clip.name
    with av.open(str(clip)) as src, av.open(str(target), "w") as dst:
        video = src.streams.video[0]
        stream = dst.add_stream("libx264", rate=video.average_rate)
        stream.width, stream.height, stream.pix_fmt = video.width, video.height, "yuv420p"
        stream.options = {"crf": str(NOISY_CRF)}
        for n, frame in enumerate(src.decode(video)):
            if max_frames is not None and n >= max_frames:
                break
            rgb = frame.to_ndarray(format="rgb24").astype(np.float32)
            rgb += rng.normal(0.0, NOISY_SIGMA[0], rgb.shape[:2]).astype(np.float32)[..., None]
            rgb += rng.normal(0.0, NOISY_SIGMA[1], rgb.shape).astype(np.float32)
            noisy = av.VideoFrame.from_ndarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), format="rgb24")
            for packet in stream.encode(noisy):
                dst.mux(packet)
        for packet in stream.encode():
            dst.mux(packet)
    return target


def run_noisy(runners: list[Runner], eval_dir: Path, limit: Optional[int], max_frames: Optional[int]) -> dict:
    with tempfile.TemporaryDirectory(prefix="vcam-noisy-") as folder:
        clips = [noisy_copy(clip, Path(folder), seed, max_frames) for seed, clip in enumerate(_clips(eval_dir, limit))]
        return run_stillness(runners, clips, max_frames)


def run_stillness(runners: list[Runner], clips: list[Path], max_frames: Optional[int]) -> dict:
    result: dict[str, dict] = {r.label: {"clips": {}} for r in runners}
    for clip in clips:
        source = VideoSource(clip, live=False)
        w, h = source.size
        frame, previous = np.empty((h, w, 3), np.uint8), np.empty((h, w, 3), np.uint8)
        radius = EDGE_BAND * qm.diagonal((h, w))
        for r in runners:
            r.reset()   # a new clip; state then carries from frame to frame
        counts = {r.label: r.model_counts() for r in runners}
        prev_alpha: dict[str, np.ndarray] = {}
        sums = {r.label: np.zeros(4) for r in runners}
        n = still_share = 0
        try:
            while (max_frames is None or n < max_frames) and source.read(frame):
                still = qm.still_pixels(previous, frame, STILL_LEVELS) if n else None
                if still is not None:
                    still_share += np.count_nonzero(still) / still.size
                for r in runners:
                    alpha = _to_unit(r.alpha(frame))
                    if still is not None:
                        band = qm.outline_band(prev_alpha[r.label] >= 0.5, radius)
                        sums[r.label] += qm.still_change(prev_alpha[r.label], alpha, still, band)
                    prev_alpha[r.label] = alpha
                previous, frame = frame, previous
                n += 1
        finally:
            source.close()
        _progress(f"stillness: {clip.name}, {n} frames")
        for r in runners:
            total, count, edge_total, edge_count = sums[r.label]
            runs, seen = r.model_counts() - counts[r.label]
            result[r.label]["clips"][clip.stem] = {
                "frames": n,
                "model_share": runs / seen if seen else None,
                "still_share": still_share / max(1, n - 1),
                "all": total / count if count else None,
                "edge": edge_total / edge_count if edge_count else None,
            }
    for res in result.values():
        per_clip = list(res["clips"].values())
        res["mean"] = {key: _mean([c[key] for c in per_clip]) for key in ("all", "edge", "model_share")}
    return result


def _share(counts: np.ndarray) -> Optional[float]:
    """The share of frames the model ran on, from (model passes, frames)."""
    runs, frames = counts
    return float(runs / frames) if frames else None


def _mean(values: list) -> Optional[float]:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


# -- motion -----------------------------------------------------------------------------------

@dataclass
class Subject:
    name: str
    rgb: np.ndarray       # scaled so that the person is about 85% of the frame height
    alpha: np.ndarray     # float32, the true mask at the same scale (soft only where resampled)
    pivot: tuple[float, float]   # bottom centre of the person, in the scaled picture


def _subject(image: Path, mask: Path) -> Subject:
    rgb, truth = _load_pair(image, mask)
    ys, xs = np.nonzero(truth)
    fw, fh = MOTION_SIZE
    scale = min(0.85 * fh / (ys.max() - ys.min() + 1), 0.6 * fw / (xs.max() - xs.min() + 1))
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    rgb_s = cv2.resize(rgb, size, interpolation=interp)
    alpha_s = cv2.resize(truth.astype(np.float32), size, interpolation=interp)
    pivot = ((xs.min() + xs.max() + 1) / 2 * scale, (ys.max() + 1) * scale)
    return Subject(image.stem, rgb_s, alpha_s, pivot)


def extend_person(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The person's colour (float32) carried out beyond their mask, as a strand of hair or a
    blurred rim has it: where the portrait is not surely the person (alpha < 0.99), the colour
    of the nearest sure pixels (normalised Gaussian averages, finest scale that reaches). Without
    this, the true colour of a softened edge would be the eval photo's own room behind it."""
    sure = (alpha >= 0.99).astype(np.float32)
    colour = rgb.astype(np.float32)
    out = colour.copy()
    todo = sure < 1.0
    for sigma in (1.5, 3.0, 6.0, 12.0, 24.0, 48.0):
        weight = cv2.GaussianBlur(sure, (0, 0), sigma)
        reached = todo & (weight > 1e-3)
        if reached.any():
            mean = cv2.GaussianBlur(colour * sure[..., None], (0, 0), sigma) / np.maximum(weight, 1e-6)[..., None]
            out[reached] = mean[reached]
            todo &= ~reached
    return out


def _is_subject(truth: np.ndarray) -> bool:
    """A person who reaches the bottom of the picture with the head inside it, not filling the
    width, tall enough in pixels not to be upscaled much."""
    h, w = truth.shape
    ys, xs = np.nonzero(truth)
    return (len(ys) > 0 and truth[-1].any() and ys.min() >= 0.02 * h
            and xs.max() - xs.min() < 0.9 * w and ys.max() - ys.min() >= 300)


def _background(image: Path, mask: Path) -> np.ndarray:
    """Another portrait's surroundings: person inpainted at low resolution, blurred by
    ``BACKGROUND_BLUR``, mirrored."""
    rgb, truth = _load_pair(image, mask)
    fw, fh = MOTION_SIZE
    rgb = scaling.cover_fit(rgb, fw, fh)
    hole = (scaling.cover_fit(truth.astype(np.uint8) * 255, fw, fh) > 0).astype(np.uint8)
    hole = cv2.dilate(hole, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (31, 31)))
    small = (fw // 4, fh // 4)
    filled = cv2.inpaint(cv2.resize(rgb, small, interpolation=cv2.INTER_AREA),
                         cv2.resize(hole, small, interpolation=cv2.INTER_NEAREST), 5, cv2.INPAINT_TELEA)
    filled = cv2.resize(filled, (fw, fh), interpolation=cv2.INTER_LINEAR)
    out = np.where(hole[..., None] > 0, filled, rgb)
    out = cv2.GaussianBlur(out, (0, 0), BACKGROUND_BLUR)
    return np.ascontiguousarray(out[:, ::-1])


def _room(image: Path, mask: Path) -> np.ndarray:
    """A room as photographed, at the photo's own scale (upscaled only to reach the frame
    height): the widest strip beside the photo's person (``ROOM_MARGIN`` clear of their mask),
    bottom rows, mirrored edge to edge until it fills the frame. Nothing is inpainted or
    blurred, so whatever stands behind a person's edge has the room's texture."""
    rgb, truth = _load_pair(image, mask)
    fw, fh = MOTION_SIZE
    xs = np.nonzero(truth.any(axis=0))[0]
    left, right = xs.min() - ROOM_MARGIN, rgb.shape[1] - 1 - xs.max() - ROOM_MARGIN
    strip = rgb[:, :max(1, left)] if left >= right else rgb[:, xs.max() + 1 + ROOM_MARGIN:]
    if strip.shape[0] < fh:
        scale = fh / strip.shape[0]
        strip = cv2.resize(strip, (max(1, round(strip.shape[1] * scale)), fh), interpolation=cv2.INTER_LINEAR)
    strip = strip[strip.shape[0] - fh:]
    while strip.shape[1] < fw:
        strip = np.hstack([strip, strip[:, ::-1]])
    return np.ascontiguousarray(strip[:, :fw])


def _gradient(seed: int) -> np.ndarray:
    """A generated background: a vertical colour gradient with soft blotches."""
    fw, fh = MOTION_SIZE
    rng = np.random.default_rng(seed)
    top, bottom = rng.uniform(40, 220, 3), rng.uniform(40, 220, 3)
    t = np.linspace(0.0, 1.0, fh, dtype=np.float32)[:, None, None]
    out = top * (1 - t) + bottom * t + np.zeros((fh, fw, 3), np.float32)
    blotches = cv2.resize(rng.uniform(-30, 30, (6, 8, 3)).astype(np.float32), (fw, fh), interpolation=cv2.INTER_CUBIC)
    return np.clip(out + blotches, 0, 255).astype(np.uint8)


def _bright_wall(i: int) -> np.ndarray:
    """A bright wall behind the person: ``i`` even, a plain off-white wall with soft shading;
    odd, a window blind, bright slats with thin grey gaps, lit unevenly."""
    fw, fh = MOTION_SIZE
    rng = np.random.default_rng(500 + i)
    shade = cv2.resize(rng.uniform(-10, 6, (3, 4)).astype(np.float32), (fw, fh), interpolation=cv2.INTER_CUBIC)
    wall = np.float32(BRIGHT_WALL) + shade[..., None] + np.zeros((fh, fw, 3), np.float32)
    if i % 2:
        y = np.arange(fh, dtype=np.float32)[:, None]
        slat = 0.5 + 0.5 * np.cos(2 * math.pi * y / BLIND_PERIOD)     # 1 mid-slat, 0 in the gap
        gap = np.clip((0.25 - slat) / 0.25, 0.0, 1.0)                   # a thin dark line between slats
        wall = wall + 14.0 * slat[..., None] - 70.0 * gap[..., None]
    return np.clip(wall, 0, 255).astype(np.uint8)


def motion_pose(motion: str, t: int, frames: int) -> tuple[float, float, float]:
    """(horizontal offset px, rotation degrees, scale) of frame ``t`` of a ``motion``."""
    phase = 2 * math.pi * t / frames
    if motion == "sweep":   # x = A sin(phase): peak speed A * 2 pi / frames = SWEEP_PEAK
        return SWEEP_PEAK * frames / (2 * math.pi) * math.sin(phase), 0.0, 1.0
    if motion == "lean":
        return 0.0, LEAN_DEGREES * math.sin(phase), 1.0
    if motion == "zoom":
        return 0.0, 0.0, 1.0 + ZOOM * math.sin(phase)
    if motion == "still":
        return 0.0, 0.0, 1.0
    raise ValueError(f"unknown motion {motion!r}")


def sequence(subject: Subject, background: np.ndarray, motion: str, frames: int,
             seed: int, soft: float = 0.0, colour: bool = False, jpeg: Optional[int] = None) -> Iterator[tuple]:
    """Frames (RGB uint8) and their exact alpha (float32) of ``subject`` moving over
    ``background``. The person's bottom centre is pinned 40 px below the frame's bottom centre, so
    the cut at the bottom of the portrait stays out of sight. ``soft``: the true alpha's edge
    blurred by this many pixels. ``colour``: also yield the person's true colour (float32 RGB).
    ``jpeg``: each frame through a JPEG encoder at this quality, as a camera's compression."""
    fw, fh = MOTION_SIZE
    rng = np.random.default_rng(seed)
    true_alpha = cv2.GaussianBlur(subject.alpha, (0, 0), soft) if soft > 0 else subject.alpha
    person = extend_person(subject.rgb, subject.alpha) if soft > 0 else subject.rgb.astype(np.float32)
    premultiplied = person * true_alpha[..., None]
    bg = background.astype(np.float32)
    for t in range(frames):
        dx, degrees, scale = motion_pose(motion, t, frames)
        m = cv2.getRotationMatrix2D(subject.pivot, degrees, scale)
        m[0, 2] += fw / 2 + dx - subject.pivot[0]
        m[1, 2] += fh + 40 - subject.pivot[1]
        fg = cv2.warpAffine(premultiplied, m, (fw, fh), flags=cv2.INTER_LINEAR, borderValue=0)
        alpha = cv2.warpAffine(true_alpha, m, (fw, fh), flags=cv2.INTER_LINEAR, borderValue=0)
        np.clip(alpha, 0.0, 1.0, out=alpha)
        picture = fg + bg * (1.0 - alpha[..., None])
        picture += rng.standard_normal(picture.shape, dtype=np.float32) * np.float32(NOISE_SIGMA)
        frame = np.clip(picture + 0.5, 0, 255).astype(np.uint8)
        if jpeg is not None:
            ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, jpeg])
            frame = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        if colour:
            yield frame, alpha, cv2.warpAffine(person, m, (fw, fh), flags=cv2.INTER_LINEAR, borderValue=0)
        else:
            yield frame, alpha


def motion_material(eval_dir: Path, limit: Optional[int], rooms: str = "") -> list[tuple[Subject, np.ndarray]]:
    """``limit`` (default 3) subjects, those of :data:`SUBJECTS` first, then any portrait that
    suits (see :func:`_is_subject`); each over a background from :data:`BACKGROUNDS` in turn (a
    generated gradient where none is found), with ``rooms="rooms"`` over a room of :data:`ROOMS`
    as photographed (:func:`_room`), with ``rooms="bright"`` in front of a bright wall or a
    window blind (:func:`_bright_wall`)."""
    pairs = {image.stem: (image, mask) for image, mask in _portraits(eval_dir)}
    count = limit or 3
    chosen = []
    for name in list(SUBJECTS) + [n for n in pairs if n not in SUBJECTS]:
        if len(chosen) == count:
            break
        if name in pairs and _is_subject(_load_pair(*pairs[name])[1]):
            chosen.append(pairs[name])
    if rooms == "bright":
        return [(_subject(*pair), _bright_wall(i)) for i, pair in enumerate(chosen)]
    backgrounds = [pairs[name] for name in (ROOMS if rooms else BACKGROUNDS) if name in pairs]
    make = _room if rooms else _background
    return [(_subject(*pair), make(*backgrounds[i % len(backgrounds)]) if backgrounds else _gradient(i))
            for i, pair in enumerate(chosen)]


def run_motion(runners: list[Runner], eval_dir: Path, limit: Optional[int], frames: int) -> dict:
    material = motion_material(eval_dir, limit)
    if not material:
        raise VcamError(f"no portrait under {eval_dir / 'portraits'} suits the motion set", "check --eval")
    fw, fh = MOTION_SIZE
    tight = BF_TIGHT * qm.diagonal((fh, fw))
    rows: dict[str, list[dict]] = {r.label: [] for r in runners}
    for si, (subject, background) in enumerate(material):
        for mi, motion in enumerate(MOTIONS):
            truth_alpha, truth_mask = [], []
            pred: dict[str, list[np.ndarray]] = {r.label: [] for r in runners}
            for r in runners:
                r.reset()
            counts = {r.label: r.model_counts() for r in runners}
            for picture, alpha in sequence(subject, background, motion, frames, seed=100 * si + mi):
                truth_alpha.append(alpha)
                truth_mask.append(alpha >= 0.5)
                for r in runners:
                    pred[r.label].append(r.alpha(picture))
            for r in runners:
                alphas = pred[r.label]
                masks = [a >= 128 for a in alphas]
                lag = (qm.lag_frames(masks, truth_mask, MAX_SHIFT)
                       if motion != "still" and frames > 2 * MAX_SHIFT + 2 else None)
                rows[r.label].append({
                    "subject": subject.name, "motion": motion, "frames": frames,
                    "iou": float(np.mean([qm.iou(p, t) for p, t in zip(masks, truth_mask)])),
                    "bf_tight": float(np.mean([qm.boundary_f(p, t, tight) for p, t in zip(masks, truth_mask)])),
                    "dtssd": qm.dtssd([_to_unit(a) for a in alphas], truth_alpha),
                    "lag": lag,
                    "model_share": _share(r.model_counts() - counts[r.label]),
                })
            _progress(f"motion: portrait {subject.name}, {motion}, {frames} frames")
    keys = ("iou", "bf_tight", "dtssd", "lag", "model_share")
    result = {}
    for label, seqs in rows.items():
        by_motion = {m: {k: _mean([s[k] for s in seqs if s["motion"] == m]) for k in keys} for m in MOTIONS}
        result[label] = {"sequences": seqs, "by_motion": by_motion,
                         "mean": {k: _mean([s[k] for s in seqs]) for k in keys}}
    return result


def composite_frames(subject: Subject, background: np.ndarray, si: int, mi: int, motion: str, frames: int,
                     rooms: str) -> Iterator[tuple]:
    """The composite (``rooms``: or the rooms or bright) set's sequence of subject ``si`` and motion ``mi``: each
    frame (RGB uint8) with its true alpha, the person's true colour, the new background (float32
    RGB), the band where the error is taken (within ``COMPOSITE_BAND`` of the true outline) and
    the true composite over the new background."""
    fw, fh = MOTION_SIZE
    reach = max(1, round(COMPOSITE_BAND * qm.diagonal((fh, fw))))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    new = _gradient(1000 + si).astype(np.float32)
    for picture, alpha, person in sequence(subject, background, motion, frames, seed=200 * si + mi,
                                           soft=COMPOSITE_SOFT, colour=True, jpeg=ROOM_JPEG if rooms else None):
        mask = (alpha >= 0.5).astype(np.uint8)
        band = (cv2.dilate(mask, disc) - cv2.erode(mask, disc)) > 0
        a = alpha[..., None]
        yield picture, alpha, person, new, band, person * a + new * (1.0 - a)


def run_composite(runners: list[Runner], eval_dir: Path, limit: Optional[int], frames: int,
                  rooms: str = "") -> dict:
    """The cut-out laid over a new background, against the truth laid over it: mean absolute
    error (8-bit levels, all three channels) within ``COMPOSITE_BAND`` of the true outline, and
    over the pixels the truth mixes (alpha 0.02 to 0.98), where the person's colour matters.
    ``rooms="rooms"``: the people stand in the rooms as photographed (textured, not blurred), and
    each frame is JPEG-compressed at ``ROOM_JPEG`` (the "rooms" set); ``rooms="bright"``: in
    front of a bright wall or a window blind, JPEG-compressed likewise (the "bright" set). Also
    the halo: the error where the truth is pure room (alpha under ``HALO_ALPHA``) within the band,
    and the share of those pixels more than ``HALO_VISIBLE`` levels off in some channel."""
    material = motion_material(eval_dir, limit, rooms)
    if not material:
        raise VcamError(f"no portrait under {eval_dir / 'portraits'} suits the composite set", "check --eval")
    fw, fh = MOTION_SIZE
    # The exact alpha through the compositor itself, with and without clean edges: what the
    # colour estimate does where the matte is right, apart from the matte's own error
    exact = {EXACT_LABEL: Compositor(EffectSettings("cutout", clean_edges=False), MOTION_SIZE),
             EXACT_LABEL + ", clean edges": Compositor(EffectSettings("cutout", clean_edges=True), MOTION_SIZE)}
    rgb = np.empty((fh, fw, 3), np.uint8)
    rows: dict[str, list[dict]] = {label: [] for label in [r.label for r in runners] + list(exact)}
    for si, (subject, background) in enumerate(material):
        for mi, motion in enumerate(COMPOSITE_MOTIONS):
            errors: dict[str, list[float]] = {label: [] for label in rows}
            for r in runners:
                r.reset()
            for picture, alpha, person, new, band, truth in composite_frames(subject, background, si, mi,
                                                                             motion, frames, rooms):
                mixed = (alpha > 0.02) & (alpha < 0.98)   # the truly mixed pixels, as in hair
                room = band & (alpha < HALO_ALPHA)          # pure room: whatever shows there is halo
                cutouts = [(r.label, *r.cutout(picture)) for r in runners]
                a8 = np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)
                for label, compositor in exact.items():
                    compositor.apply(picture, a8, rgb)
                    cutouts.append((label, a8, rgb.copy()))
                for label, pa, colour in cutouts:
                    p = pa.astype(np.float32)[..., None] / 255.0
                    err = np.abs(colour.astype(np.float32) * p + new * (1.0 - p) - truth)
                    true_color = np.abs(person * p + new * (1.0 - p) - truth)   # this alpha, the true colour
                    halo = err[room]
                    errors[label].append((float(err[band].mean()), float(err[mixed].mean()),
                                          float(true_color[band].mean()), float(halo.mean()),
                                          float((halo.max(axis=1) > HALO_VISIBLE).mean())))
            for label in rows:
                e = np.array(errors[label])
                rows[label].append({"subject": subject.name, "motion": motion, "frames": frames,
                                      "band_error": float(e[:, 0].mean()), "mixed_error": float(e[:, 1].mean()),
                                      "band_true_color": float(e[:, 2].mean()), "halo_error": float(e[:, 3].mean()),
                                      "halo_visible": float(e[:, 4].mean())})
            _progress(f"{rooms or 'composite'}: portrait {subject.name}, {motion}, {frames} frames")
    keys = ("band_error", "mixed_error", "band_true_color", "halo_error", "halo_visible")
    return {label: {"sequences": seqs, "mean": {k: _mean([s[k] for s in seqs]) for k in keys}}
            for label, seqs in rows.items()}


# -- output -----------------------------------------------------------------------------------

def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _pct(share: Optional[float]) -> str:
    return "-" if share is None else f"{100 * share:.0f}"


def _table(title: str, header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]

    def line(cells: list[str]) -> str:   # the first column to the left, figures to the right
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([title, line(header), line(["-" * w for w in widths])] + [line(r) for r in rows]) + "\n"


def render(report: dict) -> str:
    parts = []
    if "images" in report:
        res = report["images"]
        n = next(iter(res.values()))["count"]
        each = "a photo" if report.get("images_path") == "photo" else "the first frame of a video"
        parts.append(_table(f"images: {n} portraits, each as {each} (boundary F at 0.8% and 0.25% of the diagonal)",
                            ["config", "IoU mean", "IoU median", "BF 0.8%", "BF 0.25%", "MAE"],
                            [[c, _fmt(r["iou_mean"]), _fmt(r["iou_median"]), _fmt(r["bf"]), _fmt(r["bf_tight"]),
                              _fmt(r["mae"], 4)] for c, r in res.items()]))
        side = f"{choice.MATTING_MIN_PIXELS / 1e6:.2f} MP"
        rows = [[c, f"{'under' if part == 'small' else 'from'} {side}", str(v["count"]), _fmt(v.get("iou_mean")),
                 _fmt(v.get("bf_tight")), _fmt(v.get("mae"), 4)]
                for c, r in res.items() for part, v in r["by_size"].items()]
        parts.append(_table(f"images by size (model auto takes MODNet for files from {side}, 640x480)",
                            ["config", "pictures", "count", "IoU mean", "BF 0.25%", "MAE"], rows))
    for name, what in (("stillness", "stillness"), ("noisy", "noisy: the stillness set with a dim webcam's noise, H.264")):
        if name not in report:
            continue
        res = report[name]
        rows = []
        for c, r in res.items():
            for clip, v in r["clips"].items():
                rows.append([c, clip, str(v["frames"]), _fmt(v["still_share"], 2),
                             _fmt(None if v["all"] is None else 1000 * v["all"], 2),
                             _fmt(None if v["edge"] is None else 1000 * v["edge"], 2), _pct(v["model_share"])])
            rows.append([c, "mean", "", "", _fmt(None if r["mean"]["all"] is None else 1000 * r["mean"]["all"], 2),
                         _fmt(None if r["mean"]["edge"] is None else 1000 * r["mean"]["edge"], 2),
                         _pct(r["mean"]["model_share"])])
        parts.append(_table(f"{what}: mean |alpha change| x 1000 where the picture is still (lower is stiller); "
                            "model %: frames the model ran on",
                            ["config", "clip", "frames", "still px", "all", "edge band", "model %"], rows))
    if "motion" in report:
        res = report["motion"]
        rows = []
        for c, r in res.items():
            for m, v in list(r["by_motion"].items()) + [("mean", r["mean"])]:
                rows.append([c, m, _fmt(v["iou"]), _fmt(v["bf_tight"]), _fmt(v["dtssd"], 2), _fmt(v["lag"], 2),
                             _pct(v["model_share"])])
        seqs = next(iter(res.values()))["sequences"]
        subjects = sorted({s["subject"] for s in seqs}, key=lambda s: (len(s), s))
        parts.append(_table(f"motion: {MOTION_SIZE[0]}x{MOTION_SIZE[1]}, {seqs[0]['frames']} frames, portraits "
                            f"{', '.join(subjects)} (sweep peaks at {SWEEP_PEAK:g} px/frame)",
                            ["config", "motion", "IoU", "BF 0.25%", "dtSSD", "lag frames", "model %"], rows))
    for name in ("composite", "rooms", "bright"):
        if name not in report:
            continue
        res = report[name]
        rows = [[c, s["subject"], s["motion"], _fmt(s["band_error"], 2), _fmt(s["mixed_error"], 2),
                 _fmt(s["band_true_color"], 2), _fmt(s.get("halo_error"), 2), _pct(s.get("halo_visible"))]
                for c, r in res.items() for s in r["sequences"]]
        rows += [[c, "mean", "", _fmt(r["mean"]["band_error"], 2), _fmt(r["mean"]["mixed_error"], 2),
                  _fmt(r["mean"]["band_true_color"], 2), _fmt(r["mean"].get("halo_error"), 2),
                  _pct(r["mean"].get("halo_visible"))] for c, r in res.items()]
        where = {"rooms": f"the rooms as photographed (textured), frames JPEG-compressed at quality {ROOM_JPEG}",
                 "bright": f"a bright plain wall and a window blind, frames JPEG-compressed at quality {ROOM_JPEG}",
                 }.get(name, "made rooms (blurred)")
        parts.append(_table(f"{name}: the cut-out over a new background ({where}), mean error in 8-bit levels "
                            f"within {COMPOSITE_BAND:.0%} of the diagonal of the true outline, and where the truth "
                            f"is mixed (true edge blurred {COMPOSITE_SOFT:g} px); true colour: the band error of the "
                            f"same alpha with the person's true colour instead of vcam's (where the alpha is wrong, "
                            f"the camera's colour can do better); halo: the error where the truth is pure room "
                            f"(alpha under {HALO_ALPHA:g}) in the band, and the share of those pixels more than "
                            f"{HALO_VISIBLE} levels off",
                            ["config", "portrait", "motion", "band error", "mixed error", "true colour",
                             "halo error", "halo visible %"], rows))
    parts.append(f"{report['seconds']['total']:.0f} s")
    return "\n".join(parts)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default=",".join(SETS), help=f"comma-separated, of {', '.join(SETS)} (default: all)")
    named = "; ".join(f"{name}: {text}" for name, (text, _) in NAMED.items())
    ap.add_argument("--compare", default="raw,default",
                    help=f"comma-separated configurations: names ({named}), settings .json files, "
                         "or stage.field=value[+stage.field=value...] on the defaults (default: raw,default)")
    ap.add_argument("--limit", type=int, default=None,
                    help="at most N portraits (images), clips (stillness) and portraits moved (motion; default 3)")
    ap.add_argument("--frames", type=int, default=None,
                    help=f"at most N frames per clip; N frames per motion sequence (default {MOTION_FRAMES})")
    ap.add_argument("--photo", action="store_true",
                    help="images through the engine's photo path (as vcam process), not as a first video frame")
    ap.add_argument("--eval", type=Path, default=EVAL, help=f"evaluation folder (default {EVAL})")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    args = ap.parse_args(argv)
    sets = [s.strip() for s in args.set.split(",") if s.strip()]
    unknown = [s for s in sets if s not in SETS]
    if unknown or not sets:
        ap.error(f"unknown set {unknown[0] if unknown else '(none)'}: expected {', '.join(SETS)}")
    if args.limit is not None and args.limit < 1 or args.frames is not None and args.frames < 2:
        ap.error("--limit must be at least 1 and --frames at least 2")
    if not args.eval.is_dir():
        print(f"error: no evaluation folder at {args.eval}: pass --eval PATH", file=sys.stderr)
        return 2
    runners: list[Runner] = []
    try:
        configs = [parse_config(spec) for spec in args.compare.split(",") if spec.strip()]
        labels = [label for label, _ in configs]
        if not configs or len(set(labels)) != len(labels):
            raise VcamError(f"configurations must be given once each, got {args.compare!r}", "for example raw,default")
        runners = [Runner(label, settings, files=label == "files") for label, settings in configs]
        report: dict = {
            "eval": str(args.eval),
            "configs": {r.label: r.settings.to_dict() for r in runners},
            "definitions": {
                "bf_tolerance": {"loose": BF_LOOSE, "tight": BF_TIGHT, "unit": "share of the diagonal"},
                "still_levels": STILL_LEVELS, "edge_band": EDGE_BAND,
                "motion": {"size": MOTION_SIZE, "sweep_peak_px_per_frame": SWEEP_PEAK, "lean_degrees": LEAN_DEGREES,
                           "zoom": ZOOM, "noise_sigma": NOISE_SIGMA, "max_shift": MAX_SHIFT},
            },
            "seconds": {},
        }
        if "images" in sets:
            report["images_path"] = "photo" if args.photo else "video frame"
        start = time.perf_counter()
        steps: dict[str, Callable[[], dict]] = {
            "images": lambda: run_images(runners, args.eval, args.limit, args.photo),
            "stillness": lambda: run_stillness(runners, _clips(args.eval, args.limit), args.frames),
            "noisy": lambda: run_noisy(runners, args.eval, args.limit, args.frames),
            "motion": lambda: run_motion(runners, args.eval, args.limit, args.frames or MOTION_FRAMES),
            "composite": lambda: run_composite(runners, args.eval, args.limit, args.frames or MOTION_FRAMES),
            "rooms": lambda: run_composite(runners, args.eval, args.limit, args.frames or MOTION_FRAMES, rooms="rooms"),
            "bright": lambda: run_composite(runners, args.eval, args.limit, args.frames or MOTION_FRAMES, rooms="bright"),
        }
        for name in SETS:
            if name in sets:
                t0 = time.perf_counter()
                report[name] = steps[name]()
                report["seconds"][name] = time.perf_counter() - t0
        report["seconds"]["total"] = time.perf_counter() - start
    except VcamError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        for r in runners:
            r.close()
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
