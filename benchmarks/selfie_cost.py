"""The live selfie model's own cost: where it goes, and what was tried to cut it.

    pip install '.[test]'                                  # onnx and scikit-image
    python benchmarks/selfie_cost.py --out /tmp/selfie [--sides 224 192 160] [--int8] [--profile]
    python benchmarks/quality.py --set images,stillness,motion,composite,rooms --limit 3 --frames 45 \\
        --compare default,segment.model=/tmp/selfie/selfie_224.onnx,segment.model=/tmp/selfie/selfie_int8.onnx

The model is the bundled general selfie model (``models/selfie_segmentation.onnx``, 256x256 NHWC,
RGB in [0, 1]), run by ONNX Runtime on one thread as vcam runs it live (``session_options.py``
measures the session options themselves). Every variant is written to ``--out`` (whole, under a
partial name first) and timed against the bundled file on the same inputs, interleaved round by
round so that a noisy machine treats them alike; each figure is a median in ms per run, with its
range over the rounds and the CPU time:

- always: the bundled landscape model (256x144, the peer's), a network of the same family made
  for 16:9 frames;
- ``--sides``: the same network made for a smaller square input: the input and output shapes
  and the output sizes of its three ``Resize`` ops scaled by side / 256 (the rest is
  convolutions and global pooling, which take any size). Saved as ``selfie_SIDE.onnx``; the
  cost falls with the area; ``quality.py`` (above) says what it costs the matte.
- ``--int8``: ONNX Runtime's static quantization, QDQ, as ``modnet_int8.py`` makes MODNet's
  (per-channel int8 weights, uint8 activations, percentile ranges) calibrated on 40 astronaut
  frames at 256x256 (scikit-image, public domain). Saved as ``selfie_int8.onnx``; its matte is
  compared with the fp32 model's on 10 further frames (largest and mean difference).
- ``--profile``: ONNX Runtime's own profiler on the bundled file: ms per run by operator type
  in the optimised graph (a profiled run is slower than a plain one; the shares are the point).

The figures are in docs/performance.md ("The model itself made cheaper").
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np
import timing
from modnet_int8 import PERCENTILE, calibration_frames, quantize

from vcam.system import telemetry
from vcam.system.resources import BUNDLED_MODELS, models_dir

SIDE = 256               # the bundled model's input side
CALIBRATION = 40         # frames for the int8 ranges
COMPARE = 10             # further frames to compare the int8 matte on


def _session(ort, path: Path, profile: Optional[Path] = None):
    telemetry.onnxruntime_opened(ort)
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if profile is not None:
        so.enable_profiling = True
        so.profile_file_prefix = str(profile)
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _save(model, target: Path) -> None:
    import onnx

    partial = target.with_name(target.name + ".partial")
    try:
        onnx.save(model, str(partial))
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def resized(source: Path, side: int, target: Path) -> None:
    """Write ``target``: the general selfie model made for a ``side`` x ``side`` input."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    for value in list(graph.input) + list(graph.output):
        dims = value.type.tensor_type.shape.dim
        if [d.dim_value for d in dims[1:3]] != [SIDE, SIDE]:
            raise ValueError(f"{source.name} is not a {SIDE}x{SIDE} NHWC model")
        dims[1].dim_value = dims[2].dim_value = side
    sizes = {node.input[3] for node in graph.node if node.op_type == "Resize" and len(node.input) > 3}
    for init in graph.initializer:
        if init.name in sizes:
            a = numpy_helper.to_array(init).copy()
            a[2:] = a[2:] * side // SIDE
            init.CopyFrom(numpy_helper.from_array(a.astype(np.int64), init.name))
    del graph.value_info[:]   # the shapes inside are the old ones: ONNX Runtime infers them again
    _save(model, target)


def _inputs(count: int, seed: int) -> list[np.ndarray]:
    return [f[None].astype(np.float32) / np.float32(255)
            for f in calibration_frames(count, seed=seed, size=(SIDE, SIDE))]


def _fed(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``frame`` (1 x SIDE x SIDE x 3) scaled to a model input of ``size`` (width, height)."""
    import cv2

    if size == (SIDE, SIDE):
        return frame
    return cv2.resize(frame[0], size, interpolation=cv2.INTER_AREA)[None]


def measure(files: dict[str, Path], rounds: int) -> dict[str, dict[str, list[float]]]:
    """Each file timed on the same astronaut frames (scaled to its input), interleaved."""
    import onnxruntime as ort

    frames = _inputs(8, seed=3)
    steps = {}
    for name, path in files.items():
        session = _session(ort, path)
        _, h, w, _ = session.get_inputs()[0].shape
        feeds = [{"input": _fed(f, (w, h))} for f in frames]
        steps[name] = lambda i, s=session, f=feeds: s.run(None, f[i % len(f)])
    return timing.interleaved(steps, rounds)


def int8_difference(fp32: Path, int8: Path) -> tuple[float, float]:
    """(largest, mean) absolute difference of the two mattes on ``COMPARE`` frames the
    calibration did not see."""
    import onnxruntime as ort

    a, b = _session(ort, fp32), _session(ort, int8)
    diffs = [np.abs(a.run(None, {"input": x})[0] - b.run(None, {"input": x})[0])
             for x in _inputs(COMPARE, seed=7)]
    return float(max(d.max() for d in diffs)), float(np.mean([d.mean() for d in diffs]))


def profile(path: Path, runs: int = 200) -> dict[str, float]:
    """ms per run by operator type, from ONNX Runtime's profiler."""
    import onnxruntime as ort

    frames = _inputs(4, seed=5)
    with tempfile.TemporaryDirectory() as tmp:
        session = _session(ort, path, profile=Path(tmp) / "selfie")
        for i in range(runs + 10):
            session.run(None, {"input": frames[i % len(frames)]})
        events = json.loads(Path(session.end_profiling()).read_text())
    per_op: dict[str, float] = collections.defaultdict(float)
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            per_op[e["args"]["op_name"]] += e["dur"] / 1000.0
    total_runs = runs + 10
    return {op: ms / total_runs for op, ms in sorted(per_op.items(), key=lambda kv: -kv[1])}


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="folder for the variants (made if missing)")
    ap.add_argument("--sides", type=int, nargs="*", default=[224, 192, 160],
                    help="smaller square inputs to make and time (multiples of 32)")
    ap.add_argument("--int8", action="store_true", help="make and time a statically quantized copy")
    ap.add_argument("--profile", action="store_true", help="ms per run by operator type")
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args(argv)
    if any(s % 32 or not 32 <= s < SIDE for s in args.sides):
        ap.error(f"each side must be a multiple of 32 under {SIDE}")
    source = models_dir() / BUNDLED_MODELS["general"]
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        args.out.joinpath(".written").touch()
        args.out.joinpath(".written").unlink()
    except OSError as exc:
        ap.error(f"cannot write the variants into {args.out}: {exc.strerror}; give --out a folder you can write")
    files = {f"bundled, {SIDE}x{SIDE}": source,
             "bundled landscape, 256x144": models_dir() / BUNDLED_MODELS["landscape"]}
    for side in args.sides:
        target = args.out / f"selfie_{side}.onnx"
        resized(source, side, target)
        files[f"{side}x{side} ({target})"] = target
    if args.int8:
        target = args.out / "selfie_int8.onnx"
        feeds = [{"input": x} for x in _inputs(CALIBRATION, seed=0)]
        quantize(source, target, feeds, opset=None, about=f"percentile {PERCENTILE} on {CALIBRATION} astronaut frames")
        files[f"int8 ({target})"] = target
    timing.report(f"ms per run, 1 thread, median of {args.rounds} rounds (range), CPU ms",
                  measure(files, args.rounds), width=max(len(n) for n in files) + 2)
    if args.int8:
        largest, mean = int8_difference(source, args.out / "selfie_int8.onnx")
        print(f"int8 matte against fp32's on {COMPARE} unseen frames: largest difference {largest:.3f}, mean {mean:.4f}")
    if args.profile:
        ops = profile(source)
        print(f"profiled, ms per run by operator type (total {sum(ops.values()):.2f}):")
        for op, ms in ops.items():
            print(f"  {op:24s} {ms:6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
