"""An int8 MODNet, made from the bundled fp32 file, and its speed against fp32: measured, not shipped.

    pip install '.[test]'                                   # onnx and scikit-image
    python benchmarks/modnet_int8.py /tmp/modnet_int8.onnx   # make it (2-3 minutes), then time both
    python benchmarks/quality.py --set stillness,motion,composite --limit 2 --frames 30 \
        --compare segment.model=modnet,segment.model=/tmp/modnet_int8.onnx
    python benchmarks/quality.py --set images --photo --compare segment.model=modnet,segment.model=/tmp/modnet_int8.onnx

ONNX Runtime's static quantization (QDQ): weights int8 per channel, activations uint8, ranges
from percentile (99.999) calibration on 20 frames made from scikit-image's public-domain
``astronaut`` (crops, flips, reflect-padding, brightness and contrast, sensor noise) at 576x448,
the size vcam feeds MODNet a 640x480 frame. The bundled file is opset 11, where per-channel
DequantizeLinear does not exist, so it is moved to opset 13 first. The same input gives the
same file (SHA-256 printed). Activations in int8, or min/max ranges, were slower or worse;
dynamic quantization broke the matte; fp16 was no faster on a CPU. Results: docs/models.md ("MODNet
in int8"): about 1.8 times as fast, as good on the photos and the motion set, but it flickers
more where the picture is still, so vcam ships the fp32 file.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

SOURCE = Path(__file__).resolve().parents[1] / "models" / "modnet_photographic_portrait_matting.onnx"
SIZE = (576, 448)        # width, height of the calibration frames
FRAMES = 20
PERCENTILE = 99.999


def calibration_frames(count: int = FRAMES, seed: int = 0, size: tuple[int, int] = SIZE) -> list[np.ndarray]:
    """RGB uint8 frames of ``size`` from the astronaut: the same every run."""
    from skimage.data import astronaut

    picture = astronaut()
    rng = np.random.default_rng(seed)
    w, h = size
    frames = []
    for _ in range(count):
        img = picture[:, ::-1] if rng.random() < 0.5 else picture
        if rng.random() < 0.5:   # widened to the frame's shape by reflection, as a room around her
            need = int(img.shape[0] * w / h) - img.shape[1]
            left = int(rng.integers(0, need + 1))
            img = cv2.copyMakeBorder(np.ascontiguousarray(img), 0, 0, left, need - left, cv2.BORDER_REFLECT_101)
        scale = rng.uniform(0.7, 1.0)
        H, W = img.shape[:2]
        cw, ch = (H * w / h, H) if W / H > w / h else (W, W * h / w)
        cw, ch = int(cw * scale), int(ch * scale)
        x0 = int(np.clip(rng.uniform(0.3, 0.7) * W - cw / 2, 0, W - cw))
        y0 = int(np.clip(rng.uniform(0.3, 0.7) * H - ch / 2, 0, H - ch))
        crop = np.ascontiguousarray(img[y0:y0 + ch, x0:x0 + cw])
        grow = crop.shape[1] < w or crop.shape[0] < h
        f = cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC if grow else cv2.INTER_AREA).astype(np.float32)
        f = f * rng.uniform(0.6, 1.3) + rng.uniform(-25, 25) + rng.normal(0, 2, f.shape)
        frames.append(np.clip(f, 0, 255).astype(np.uint8))
    return frames


def modnet_feeds() -> list[dict[str, np.ndarray]]:
    """The calibration frames as vcam's MODNet adapter feeds them: RGB / 127.5 - 1, NCHW."""
    return [{"input": (f.transpose(2, 0, 1)[None].astype(np.float32) * np.float32(2 / 255) - np.float32(1))}
            for f in calibration_frames()]


def quantize(source: Path, target: Path, feeds: list[dict[str, np.ndarray]] | None = None,
             opset: int | None = 13, about: str = f"percentile {PERCENTILE} on {FRAMES} astronaut frames") -> str:
    """Write ``target``, ``source`` statically quantized (QDQ, per-channel int8 weights, uint8
    activations, percentile ranges from ``feeds``: MODNet's by default), moved to ``opset``
    first where given; return its SHA-256."""
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Frames(CalibrationDataReader):
        def __init__(self) -> None:
            self._feeds = iter(modnet_feeds() if feeds is None else feeds)

        def get_next(self):
            return next(self._feeds, None)

    with tempfile.TemporaryDirectory() as tmp:
        moved, pre = Path(tmp) / "moved.onnx", Path(tmp) / "pre.onnx"
        model = onnx.load(str(source))
        onnx.save(version_converter.convert_version(model, opset) if opset else model, str(moved))
        quant_pre_process(str(moved), str(pre), skip_symbolic_shape=True)
        partial = target.with_name(target.name + ".partial")
        try:   # written whole under a partial name, then renamed
            quantize_static(str(pre), str(partial), Frames(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.Percentile,
                            extra_options={"CalibPercentile": PERCENTILE})
            model = onnx.load(str(partial))
            digest = hashlib.sha256(source.read_bytes()).hexdigest()
            for key, value in (("vcam.source", source.name), ("vcam.source_sha256", digest),
                               ("vcam.quantization", f"QDQ int8 weights per channel, uint8 activations, {about}")):
                model.metadata_props.add(key=key, value=value)
            onnx.save(model, str(partial))
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    return hashlib.sha256(target.read_bytes()).hexdigest()


def speed(files: list[Path], rounds: int = 20) -> dict[str, float]:
    """Median ms of each file on a 1x3x448x800 input (a 720p frame as vcam feeds it), one thread,
    the files interleaved round by round so that a noisy machine treats them alike."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sessions = {f.name: ort.InferenceSession(str(f), so, providers=["CPUExecutionProvider"]) for f in files}
    x = np.random.default_rng(1).uniform(-1, 1, (1, 3, 448, 800)).astype(np.float32)
    times: dict[str, list[float]] = {name: [] for name in sessions}
    for i in range(rounds + 2):
        for name, session in sessions.items():
            t0 = time.perf_counter()
            session.run(None, {"input": x})
            if i >= 2:   # two warm-up rounds
                times[name].append(1000 * (time.perf_counter() - t0))
    return {name: float(np.median(t)) for name, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target", type=Path, help="where to write the int8 model (.onnx)")
    ap.add_argument("--source", type=Path, default=SOURCE, help="the fp32 MODNet (default: the bundled file)")
    ap.add_argument("--keep", action="store_true", help="time an existing TARGET instead of making it again")
    args = ap.parse_args(argv)
    if args.target.resolve() == args.source.resolve():
        ap.error("TARGET must not be the source model")
    if not (args.keep and args.target.is_file()):
        print(f"{args.target}: sha256 {quantize(args.source, args.target)}", flush=True)
    ms = speed([args.source, args.target])
    fp32, int8 = ms[args.source.name], ms[args.target.name]
    print(f"1 thread, 1x3x448x800: fp32 {fp32:.0f} ms, int8 {int8:.0f} ms ({fp32 / int8:.2f}x); "
          f"{args.source.stat().st_size / 1e6:.1f} MB -> {args.target.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
