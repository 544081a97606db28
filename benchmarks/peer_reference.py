"""vcam against Linux-Fake-Background-Webcam's per-frame loop, in one run, as a ratio.

    python benchmarks/peer_reference.py [--frames 200] [--resolution 1280x720 1920x1080]
                                        [--source CLIP] [--peer-model auto|mediapipe|onnx] [--json]

The peer is github.com/fangfufu/Linux-Fake-Background-Webcam, ``lfbw/lfbw.py`` as of commit
132edcf (``FakeCam.compose_frame`` and ``ImageSegmenter.segment``), at its defaults with the blur
background (``--background no``; the background's ``mask-update-speed`` default of 50 stays on).
Per frame, on the BGR camera frame, it does:

1. segment: an INTER_AREA copy at 256 wide (256x144 for 16:9), BGR -> RGB, MediaPipe Tasks'
   ``ImageSegmenter`` with the selfie landscape model and a category mask, ``(category == 0)`` as
   float32, scaled back to the frame (bilinear), then a 7x7 Gaussian of the mask;
2. mask: a copy of it (``copy.copy``), ``cv2.threshold`` at 0.75, a 5x5 dilate and a 10x10 box
   blur (its "postprocess", on by default), then ``cv2.accumulateWeighted`` into the previous
   frame's mask at 0.5 (``mask-update-speed`` 50);
3. blur: a 21x21 Gaussian with sigma 7 of the whole frame;
4. blend: ``cv2.blendLinear(frame, blurred, mask, 1 - mask)`` into the frame;

and hands the BGR frame to pyvirtualcam, which converts it to the device's format (here
``cv2.cvtColor`` to I420 stands in for pyvirtualcam's own converter, which cannot run without a
v4l2loopback device).

The model (``--peer-model``): ``mediapipe`` runs it as the peer does, through MediaPipe Tasks (the
``mediapipe`` extra; the peer downloads ``selfie_segmenter_landscape.tflite``, float16, at its
first start, which cannot be fetched here: the same network as the float32
``selfie_segmentation_landscape.tflite`` the mediapipe wheel ships, which is used instead);
``onnx`` runs vcam's bundled ONNX copy of the same model through ONNX Runtime on the same input,
its category being confidence above 0.5: no mediapipe needed, but that model pass costs what
vcam's does, well under MediaPipe Tasks' (``--peer-model both`` times the two on the same frames,
the figure docs/performance.md states as the reference's uncertainty). ``auto`` (the default):
``mediapipe`` where it can be imported, else ``onnx``. Each step is timed apart.

Both sides see the same pictures: ``--preload`` frames of the demo scene or of ``--source`` (a
clip), read and scaled to each resolution once and replayed, so decoding is excluded from both.
vcam is measured with ``vcam bench``'s own code (``--preload``; throughput phase:
``processing_ms``, the median of segment + matte + composite + convert + output per frame). The
peer's figure adds the same conversion it would pay (BGR -> I420, as pyvirtualcam does for
v4l2loopback) so both include the device's format. Both medians come from one process, one after
the other, so the ratio holds on a noisy machine when the absolute figures move.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from functools import partial
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from vcam import CaptureSettings, Settings, VcamError, bench
from vcam.live.sources import PreloadedSource, open_source

PEER_STEPS = ("segment", "mask", "blur", "blend", "convert")
PEER_MODELS = ("auto", "mediapipe", "onnx")
PRELOAD = 60   # frames held in memory and replayed by both sides
OPENCV_THREADS = cv2.getNumThreads()   # OpenCV's own default, which the peer runs with
MASK_UPDATE = 0.5   # the background's mask-update-speed default, 50 %


def peer_model(wanted: str = "auto") -> str:
    """The peer's model pass that ``wanted`` gives here: ``mediapipe`` (as the peer runs it) where
    mediapipe imports, else ``onnx``; ``mediapipe`` asked for and missing raises VcamError."""
    if wanted == "onnx":
        return wanted
    from vcam.segment.mediapipe import load_mediapipe

    try:
        load_mediapipe()
    except VcamError:
        if wanted == "mediapipe":
            raise
        return "onnx"
    return "mediapipe"


class _TasksModel:
    """The peer's ``ImageSegmenter``: MediaPipe Tasks, category mask, person where it is 0."""

    def __init__(self) -> None:
        import mediapipe as mp
        from mediapipe.tasks import python as tasks
        from mediapipe.tasks.python import vision

        path = Path(mp.__file__).parent / "modules" / "selfie_segmentation" / "selfie_segmentation_landscape.tflite"
        options = vision.ImageSegmenterOptions(base_options=tasks.BaseOptions(model_asset_path=str(path)),
                                               output_category_mask=True)
        self._image = partial(mp.Image, image_format=mp.ImageFormat.SRGB)
        self._segmenter = vision.ImageSegmenter.create_from_options(options)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        category = self._segmenter.segment(self._image(data=rgb)).category_mask.numpy_view()
        return (category == 0).astype(np.float32)

    def close(self) -> None:
        self._segmenter.close()


class _OnnxModel:
    """vcam's bundled ONNX copy of the same landscape model on the same input (MediaPipe scales
    to the model's 256x144 inside its graph); its category: confidence above 0.5."""

    def __init__(self) -> None:
        import onnxruntime as ort

        from vcam.segment.onnx import BUNDLED
        from vcam.system.resources import models_dir

        # Pool threads that sleep when idle: spinning ones would take a core from the peer's
        # OpenCV steps, which MediaPipe's model pass does not.
        options = ort.SessionOptions()
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(models_dir() / BUNDLED["landscape"]), options,
                                            providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        tensor = cv2.resize(rgb, (256, 144), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
        confidence = self.session.run(None, {self.input: tensor[None]})[0][0, :, :, 0]
        return (confidence > 0.5).astype(np.float32)

    def close(self) -> None:
        self.session = None


class PeerLoop:
    """The peer's per-frame steps for BGR frames of ``size`` (width, height); ``model``:
    ``mediapipe`` or ``onnx`` (see :func:`peer_model`)."""

    def __init__(self, size: tuple[int, int], model: str = "onnx") -> None:
        self.model = _TasksModel() if model == "mediapipe" else _OnnxModel()
        self.size = w, h = size
        self.small = (256, int(256 * h / w))
        self.dilate = np.ones((5, 5), np.uint8)
        self.old_mask: Optional[np.ndarray] = None

    def _segment(self, frame: np.ndarray) -> np.ndarray:
        small = cv2.resize(frame, self.small, interpolation=cv2.INTER_AREA)
        mask = self.model(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
        mask = cv2.resize(mask, self.size, interpolation=cv2.INTER_LINEAR)
        return cv2.GaussianBlur(mask, (7, 7), 0)

    def step(self, frame: np.ndarray, times: dict[str, list[float]]) -> np.ndarray:
        """One frame, in place as the peer does it; each step's seconds appended to ``times``."""
        t0 = time.perf_counter()
        mask = self._segment(frame)
        t1 = time.perf_counter()
        mask = copy.copy(mask)
        cv2.threshold(mask, 0.75, 1, cv2.THRESH_BINARY, dst=mask)
        cv2.dilate(mask, self.dilate, iterations=1, dst=mask)
        cv2.blur(mask, (10, 10), dst=mask)
        if self.old_mask is None:
            self.old_mask = mask
        mask = cv2.accumulateWeighted(mask, self.old_mask, MASK_UPDATE)
        t2 = time.perf_counter()
        background = cv2.GaussianBlur(frame, (21, 21), 7, borderType=cv2.BORDER_DEFAULT)
        t3 = time.perf_counter()
        cv2.blendLinear(frame, background, mask, 1 - mask, dst=frame)
        t4 = time.perf_counter()
        device = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)   # what pyvirtualcam does with BGR
        t5 = time.perf_counter()
        for name, a, b in zip(PEER_STEPS, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5)):
            times[name].append(b - a)
        return device

    def close(self) -> None:
        self.model.close()


def load_frames(source: str, size: tuple[int, int], count: int) -> list[np.ndarray]:
    """``count`` BGR frames of ``size`` from ``source`` (``demo`` or a clip), read and scaled as
    ``vcam bench --preload`` does it, so both sides see the same pictures."""
    settings = CaptureSettings(source=source, width=size[0], height=size[1])
    preloaded = PreloadedSource(open_source(settings, live=False), size, count, live=False)
    rgb = np.empty((size[1], size[0], 3), np.uint8)
    frames = []
    for _ in range(count):
        preloaded.read(rgb)
        frames.append(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    preloaded.close()
    return frames


def peer_ms(frames: list[np.ndarray], size: tuple[int, int], model: str = "onnx", warm: int = 10) -> dict:
    """The peer's median ms per frame and per step (``model``: its model pass, see
    :func:`peer_model`), with OpenCV's default threads (as it runs; vcam's engine may have changed
    them, see ``vcam.engine.share_cores``)."""
    ours = cv2.getNumThreads()
    cv2.setNumThreads(OPENCV_THREADS)
    loop = PeerLoop(size, model)
    try:
        return _peer_ms(loop, frames, warm)
    finally:
        loop.close()
        cv2.setNumThreads(ours)


def _peer_ms(loop: PeerLoop, frames: list[np.ndarray], warm: int) -> dict:
    times: dict[str, list[float]] = {name: [] for name in PEER_STEPS}
    totals = []
    for original in frames:
        frame = original.copy()   # the peer writes into the camera's frame; keep the source whole
        t0 = time.perf_counter()
        loop.step(frame, times)
        totals.append(time.perf_counter() - t0)
    skip = min(warm, len(totals) // 2)
    return {"processing_ms": float(np.median(totals[skip:]) * 1000),
            "mean_ms": float(np.mean(totals[skip:]) * 1000),
            "stages": {name: float(np.median(v[skip:]) * 1000) for name, v in times.items()}}


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=200, help="frames per side and resolution (default: 200)")
    ap.add_argument("--resolution", nargs="+", default=["1280x720", "1920x1080"], metavar="WxH")
    ap.add_argument("--source", default="demo", help="demo, or a clip, for both sides (default: demo)")
    ap.add_argument("--preload", type=int, default=PRELOAD,
                    help=f"frames read first and replayed, on both sides (default: {PRELOAD})")
    ap.add_argument("--peer-model", choices=PEER_MODELS + ("both",), default="auto",
                    help="the peer's model pass (default: auto, mediapipe where installed); both: "
                         "time the two, the ratio from mediapipe's")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of lines")
    args = ap.parse_args(argv)
    try:
        models = [peer_model("mediapipe"), "onnx"] if args.peer_model == "both" else [peer_model(args.peer_model)]
    except VcamError as exc:
        print(f"peer_reference: {exc}", file=sys.stderr)
        return 2
    rows = []
    for text in args.resolution:
        size = bench.parse_resolution(text)
        frames = load_frames(args.source, size, args.preload)
        replay = [frames[i % len(frames)] for i in range(args.frames)]
        peers = {model: peer_ms(replay, size, model) for model in models}
        peer = peers[models[0]]
        run = bench.measure(bench.Run(args.source, size, Settings(), args.frames, preload=args.preload))
        vcam = {"processing_ms": run["processing_ms"], "stages": run["stages"],
                "cpu_percent_at_30fps": run["cpu_percent"], "latency_ms": run["latency_ms"]}
        row = {"resolution": text, "peer_model": models[0], "peer": peer, "vcam": vcam,
               "speedup": peer["processing_ms"] / vcam["processing_ms"]}
        if len(models) > 1:
            row["peer_onnx"] = peers["onnx"]
        rows.append(row)
        if not args.json:
            for model, figures in peers.items():
                split = ", ".join(f"{k} {v:.1f}" for k, v in figures["stages"].items())
                print(f"{text}: peer ({model}) {figures['processing_ms']:.1f} ms/frame ({split})", flush=True)
            print(f"{text}: vcam {vcam['processing_ms']:.2f} ms/frame; {row['speedup']:.2f}x", flush=True)
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
