"""The ONNX Runtime backend: the converted MediaPipe models against MediaPipe itself on real
portraits, the converter, user models (tiny ONNX graphs with MODNet's and RVM's exact inputs and
outputs, built here with onnx.helper), providers, and bad model files."""
from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import HAS_MEDIAPIPE, cuda_listed_but_broken, needs_mediapipe

from vcam.config import EffectSettings, MatteSettings, SegmentSettings, Settings
from vcam.engine import Engine
from vcam.errors import VcamError
from vcam.segment import create
from vcam.segment.onnx import BUNDLED, PROVIDERS, OnnxSegmenter, default_threads
from vcam.system.resources import models_dir

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

PORTRAITS = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "portraits" / "images"
INPUT = {"general": (256, 256), "landscape": (256, 144)}


def onnx_settings(**kw) -> SegmentSettings:
    return SegmentSettings(backend="onnx", **kw)


@pytest.fixture(scope="module")
def pairs():
    """(MediaPipe, ONNX) segmenters for both bundled models, opened once."""
    from vcam.segment.mediapipe import MediaPipeSegmenter

    made = {m: (MediaPipeSegmenter(m), OnnxSegmenter(onnx_settings(model=m))) for m in INPUT}
    yield made
    for a, b in made.values():
        a.close()
        b.close()


def portraits(astronaut: np.ndarray) -> list[tuple[str, np.ndarray]]:
    pictures = [("astronaut", astronaut)]
    if PORTRAITS.is_dir():
        for p in sorted(PORTRAITS.glob("*.jpg")):
            pictures.append((p.name, cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)))
    return pictures


# --- the converted models ------------------------------------------------------------------------

@needs_mediapipe
@pytest.mark.parametrize("model", list(INPUT))
def test_converted_model_gives_mediapipes_masks(pairs, astronaut_rgb, model):
    """At the model's own input size (MediaPipe resizes nothing) the ONNX model's output is the
    TFLite model's, run through MediaPipe, within 1e-3 on every portrait."""
    mp, ox = pairs[model]
    worst = 0.0
    pictures = portraits(astronaut_rgb)
    for name, rgb in pictures:
        small = np.ascontiguousarray(cv2.resize(rgb, INPUT[model], interpolation=cv2.INTER_AREA))
        a, b = mp.segment(small), ox.segment(small)
        assert b.shape == a.shape == INPUT[model][::-1] and b.dtype == np.float32
        diff = float(np.abs(a - b).max())
        assert diff < 1e-3, f"{name}: max difference {diff}"
        worst = max(worst, diff)
    assert ox.name == f"onnx/{model} cpu" and ox.output_size == INPUT[model]
    print(f"\n{model}: {len(pictures)} pictures, max abs difference to MediaPipe {worst:.2e}")


@needs_mediapipe
def test_frames_of_any_size_are_scaled_as_mediapipe_does(pairs, astronaut_rgb):
    mp, ox = pairs["general"]
    frame = np.ascontiguousarray(cv2.resize(astronaut_rgb, (1280, 720)))
    a, b = mp.segment(frame), ox.segment(frame)
    assert np.abs(a - b).max() < 1e-3
    with pytest.raises(ValueError, match="RGB uint8"):
        ox.segment(frame[..., 0])


@pytest.mark.parametrize("model", list(INPUT))
def test_the_segmenter_gives_what_onnxruntime_computes_frame_after_frame(astronaut_rgb, model):
    """Through I/O binding, each frame's matte is the model's own output for that frame: the
    same as a plain InferenceSession.run, however many frames came before. (vcam once cleared
    the binding before copying its outputs out: onnxruntime before 1.24 then handed back freed
    memory, garbage mattes or a crash.)"""
    import onnxruntime as ort

    seg = OnnxSegmenter(onnx_settings(model=model, threads=1))
    plain = ort.InferenceSession(str(models_dir() / BUNDLED[model]), providers=["CPUExecutionProvider"])
    w, h = INPUT[model]
    frames = [astronaut_rgb, astronaut_rgb[:, ::-1].copy(), np.roll(astronaut_rgb, 97, axis=1),
              np.zeros_like(astronaut_rgb), astronaut_rgb[::2, ::2].copy()]
    try:
        for k in range(3):
            for i, frame in enumerate(frames):
                small = cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR)
                want = plain.run(None, {"input": small[None].astype(np.float32) / 255})[0][0, :, :, 0]
                got = seg.segment(small).copy()
                assert got.shape == want.shape
                assert np.abs(got - want).max() < 1e-5, (model, k, i)
        assert seg.segment(cv2.resize(astronaut_rgb, (w, h)))[h // 4:, w // 3:2 * w // 3].mean() > 0.8
    finally:
        seg.close()


@needs_mediapipe
def test_the_converter_reproduces_the_committed_models(tmp_path, astronaut_rgb):
    pytest.importorskip("tflite")
    import onnxruntime as ort

    from vcam.models import convert_tflite_to_onnx as conv

    assert conv._same_pads(256, 3, 2) == (0, 1)     # TFLite SAME: the odd pixel goes after
    assert conv._same_pads(255, 3, 2) == (1, 1)
    written = conv.convert_bundled(tmp_path)
    assert sorted(p.name for p in written) == sorted(BUNDLED[m] for m in INPUT)   # the selfie models (MODNet is not converted)
    for model, (w, h) in INPUT.items():
        x = cv2.resize(astronaut_rgb, (w, h), interpolation=cv2.INTER_AREA)[None].astype(np.float32) / 255
        outs = [ort.InferenceSession(str(folder / BUNDLED[model]), providers=["CPUExecutionProvider"])
                .run(None, {"input": x})[0] for folder in (models_dir(), tmp_path)]
        assert outs[0].shape == (1, h, w, 1)
        assert np.array_equal(outs[0], outs[1]), model
        assert outs[0].max() > 0.99 and outs[0].min() < 0.01    # a person and a background


@pytest.mark.skipif(HAS_MEDIAPIPE, reason="mediapipe is installed here")
def test_without_mediapipe_the_converter_says_where_the_tflite_files_come_from(tmp_path, capsys):
    pytest.importorskip("tflite")
    from vcam.models import convert_tflite_to_onnx as conv

    assert conv.main(["--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "come from mediapipe 0.10.21" in err and "pip install '.[convert]'" in err
    assert list(tmp_path.iterdir()) == []


def test_the_converter_refuses_a_file_that_is_not_tflite(tmp_path):
    pytest.importorskip("tflite")
    from vcam.models import convert_tflite_to_onnx as conv

    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 64)
    assert conv.main([str(bad), str(tmp_path / "bad.onnx")]) == 2
    assert not (tmp_path / "bad.onnx").exists()


@needs_mediapipe
def test_cli_mattes_of_both_backends_agree(tmp_path, astronaut_png):
    mattes = {}
    for backend in ("mediapipe", "onnx"):
        out = tmp_path / f"{backend}.png"
        result = subprocess.run([sys.executable, "-m", "vcam", "process", str(astronaut_png), "--backend", backend,
                                 "--effect", "matte", "-o", str(out)], cwd=tmp_path, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr
        mattes[backend] = cv2.imread(str(out), cv2.IMREAD_GRAYSCALE)
    a, b = (m >= 128 for m in mattes.values())
    assert a.shape == b.shape == (512, 512)
    iou = np.logical_and(a, b).sum() / np.logical_or(a, b).sum()
    assert iou > 0.99, iou
    assert 0.2 < b.mean() < 0.8     # a person, not all or nothing


# --- user models: tiny graphs with the real signatures --------------------------------------------

def save(model, path: Path, **metadata) -> Path:
    for k, v in metadata.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=k, value=v))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def make_model(nodes, inputs, outputs, inits=()):
    graph = helper.make_graph(nodes, "tiny", inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def const(name: str, value) -> onnx.TensorProto:
    return onnx.numpy_helper.from_array(np.asarray(value, np.float32), name)


def modnet(path: Path) -> Path:
    """MODNet's export: input (batch, 3, height, width), output (batch, 1, height, width). Here the
    output is (R + 1) / 2 of the input, so it shows the [-1, 1] scaling and the size fed."""
    conv = helper.make_node("Conv", ["input", "w", "b"], ["output"], kernel_shape=[1, 1])
    return save(make_model(
        [conv],
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch_size", 3, "height", "width"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch_size", 1, "height", "width"])],
        [const("w", np.array([0.5, 0, 0]).reshape(1, 3, 1, 1)), const("b", [0.5])]), path)


def rvm(path: Path) -> Path:
    """RVM's export: src, r1i..r4i, downsample_ratio in; fgr, pha, r1o..r4o out. Here
    pha = R/2 + r1i/10 + r2i/4, r1o = r1i + 1 (counts frames), r2o = downsample_ratio."""
    f = TensorProto.FLOAT
    dyn = ["batch_size", "channels", "height", "width"]
    nodes = [
        helper.make_node("Identity", ["src"], ["fgr"]),
        helper.make_node("Conv", ["src", "w"], ["half_r"], kernel_shape=[1, 1]),
        helper.make_node("Mul", ["r1i", "tenth"], ["r1_part"]),
        helper.make_node("Mul", ["r2i", "quarter"], ["r2_part"]),
        helper.make_node("Add", ["half_r", "r1_part"], ["p1"]),
        helper.make_node("Add", ["p1", "r2_part"], ["pha"]),
        helper.make_node("Add", ["r1i", "one"], ["r1o"]),
        helper.make_node("Reshape", ["downsample_ratio", "shape4"], ["r2o"]),
        helper.make_node("Identity", ["r3i"], ["r3o"]),
        helper.make_node("Identity", ["r4i"], ["r4o"]),
    ]
    inputs = [helper.make_tensor_value_info("src", f, ["batch_size", 3, "height", "width"])]
    inputs += [helper.make_tensor_value_info(f"r{i}i", f, dyn) for i in range(1, 5)]
    inputs += [helper.make_tensor_value_info("downsample_ratio", f, [1])]
    outputs = [helper.make_tensor_value_info("fgr", f, ["batch_size", 3, "height", "width"]),
               helper.make_tensor_value_info("pha", f, ["batch_size", 1, "height", "width"])]
    outputs += [helper.make_tensor_value_info(f"r{i}o", f, dyn) for i in range(1, 5)]
    inits = [const("w", np.array([0.5, 0, 0]).reshape(1, 3, 1, 1)), const("tenth", 0.1), const("quarter", 0.25),
             const("one", 1.0), onnx.numpy_helper.from_array(np.array([1, 1, 1, 1], np.int64), "shape4")]
    return save(make_model(nodes, inputs, outputs, inits), path)


def red_ramp(width: int, height: int) -> np.ndarray:
    frame = np.zeros((height, width, 3), np.uint8)
    frame[..., 0] = np.linspace(0, 255, width).round().astype(np.uint8)[None]
    frame[..., 1] = 200    # green and blue must not leak into the result
    frame[..., 2] = 77
    return frame


def test_modnet_adapter_scales_to_minus_one_one_at_multiples_of_32(tmp_path):
    seg = create(onnx_settings(model=str(modnet(tmp_path / "modnet.onnx"))))
    try:
        assert seg.model_type == "modnet" and seg.name == "onnx/modnet.onnx modnet cpu"
        frame = red_ramp(1280, 720)
        matte = seg.segment(frame)
        # MODNet's rule at vcam's reference 448: short side 448, long side 796 -> 768 (a multiple of 32)
        assert matte.shape == (448, 768) and seg.output_size == (768, 448) and matte.dtype == np.float32
        expected = cv2.resize(frame, (768, 448), interpolation=cv2.INTER_AREA)[..., 0] / 255.0
        assert np.abs(matte - expected).max() < 1e-5
        assert matte[:, 0].max() < 1e-6 and matte[:, -1].min() > 0.999
        assert seg.segment(red_ramp(640, 480)).shape == (448, 576)   # larger: short side to 448
        assert seg.segment(red_ramp(600, 400)).shape == (384, 576)   # straddles 448: kept
        assert seg.segment(red_ramp(400, 300)).shape == (448, 576)   # smaller: short side to 448
    finally:
        seg.close()
        seg.close()


def test_rvm_adapter_recycles_and_resets_the_recurrent_state(tmp_path):
    path = rvm(tmp_path / "rvm_mobilenetv3_fp32.onnx")
    engine = Engine(Settings(segment=onnx_settings(model=str(path), guide=False),
                             matte=MatteSettings(smoothing=0.0, threshold=0.5),
                             effect=EffectSettings("none")))
    try:
        seg = engine.segmenter
        assert seg.model_type == "rvm" and seg.name.endswith("rvm cpu")
        frame = np.full((540, 960, 3), (102, 30, 200), np.uint8)     # R = 0.4, at RVM's largest size
        ratio = 384 / 960                                             # the low-resolution pass at 384
        first = seg.segment(frame).copy()
        assert first.shape == (540, 960)
        assert np.allclose(first, 0.2, atol=1e-6)                         # no state yet
        assert np.allclose(seg.segment(frame), 0.2 + 0.1 + 0.25 * ratio, atol=1e-6)    # one frame carried
        assert np.allclose(seg.segment(frame), 0.2 + 0.2 + 0.25 * ratio, atol=1e-6)    # two frames
        seg.reset()
        assert np.allclose(seg.segment(frame), 0.2, atol=1e-6)

        # through the engine: a new source (generation) resets the model as well as the matte
        out = np.empty_like(frame)
        for generation, expected in ((1, 0.2), (1, 0.3 + 0.25 * ratio), (2, 0.2)):
            alpha = engine.process(frame, out, {}, generation)
            assert abs(int(alpha[270, 480]) - round(255 * expected)) <= 1, (generation, alpha[270, 480])
        engine.reset()
        assert abs(int(engine.process(frame, out, {}, 2)[0, 0]) - 51) <= 1

        # a 1080p frame is fed at 960x540 (the state, of that size, carries on), and a change of
        # size starts the state afresh
        big = np.full((1080, 1920, 3), (102, 30, 200), np.uint8)
        assert np.allclose(seg.segment(big), 0.3 + 0.25 * ratio, atol=1e-6) and seg.output_size == (960, 540)
        small = np.full((300, 400, 3), (102, 30, 200), np.uint8)
        assert np.allclose(seg.segment(small), 0.2, atol=1e-6)
        assert np.allclose(seg.segment(small), 0.2 + 0.1 + 0.25 * 384 / 400, atol=1e-6)   # 400 px: ratio 0.96
    finally:
        engine.close()


def test_selfie_adapter_nchw_two_class_logits_in_minus_one_one(tmp_path):
    """NCHW input declared [-1, 1] in the metadata, two-class logits out: person = softmax."""
    conv = helper.make_node("Conv", ["image", "w"], ["logits"], kernel_shape=[1, 1])
    model = make_model([conv],
                       [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 64, 48])],
                       [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2, 64, 48])],
                       [const("w", np.array([[0, 0, 0], [4, 0, 0]]).reshape(2, 3, 1, 1))])
    seg = OnnxSegmenter(onnx_settings(model=str(save(model, tmp_path / "seg.onnx", **{"vcam.input_range": "-1,1"}))))
    frame = red_ramp(320, 240)
    matte = seg.segment(frame)
    assert seg.model_type == "selfie" and matte.shape == (64, 48) and seg.output_size == (48, 64)
    warp = np.float32([[48 / 320, 0, 0], [0, 64 / 240, 0]])
    red = cv2.warpAffine(frame, warp, (48, 64), flags=cv2.INTER_LINEAR)[..., 0] / 127.5 - 1
    assert np.abs(matte - 1 / (1 + np.exp(-4 * red))).max() < 1e-5


def test_selfie_adapter_nhwc_probability_in_zero_one(tmp_path):
    matmul = helper.make_node("MatMul", ["in", "w"], ["prob"])
    model = make_model([matmul],
                       [helper.make_tensor_value_info("in", TensorProto.FLOAT, [1, 40, 30, 3])],
                       [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 40, 30, 1])],
                       [const("w", [[1.0], [0.0], [0.0]])])
    seg = OnnxSegmenter(onnx_settings(model=str(save(model, tmp_path / "nhwc.onnx")), model_type="selfie"))
    frame = red_ramp(30, 40)   # the model's size: no scaling
    assert np.abs(seg.segment(frame) - frame[..., 0] / 255.0).max() < 1e-6


# --- providers and threads -------------------------------------------------------------------------

def test_a_provider_that_is_missing_falls_back_to_cpu_with_one_warning(caplog):
    import onnxruntime as ort

    missing = [p for p in PROVIDERS if PROVIDERS[p] not in ort.get_available_providers()]
    if not missing:
        pytest.skip("every provider is available here")
    with caplog.at_level(logging.WARNING, logger="vcam"):
        seg = OnnxSegmenter(onnx_settings(provider=missing[0]))
    assert seg.provider == "cpu" and seg.name == "onnx/general cpu"
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and missing[0] in warnings[0] and "using cpu" in warnings[0]


@pytest.mark.filterwarnings("ignore:Specified provider")   # onnxruntime's own, on purpose here
def test_a_provider_that_does_not_start_falls_back(monkeypatch, caplog):
    """onnxruntime-gpu without working CUDA libraries lists CUDA but starts on the CPU."""
    cuda_listed_but_broken(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="vcam"):
        seg = OnnxSegmenter(onnx_settings())
    assert seg.provider == "cpu"
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "cuda did not start" in warnings[0]


def test_threads_and_provider_are_checked_settings():
    assert 1 <= default_threads() <= 4
    assert OnnxSegmenter(onnx_settings(model="landscape", threads=1, provider="cpu")).threads == 1
    for bad in (dict(threads=-1), dict(threads=1.5), dict(threads=True), dict(provider="gpu"),
                dict(model_type="birefnet")):
        with pytest.raises(VcamError):
            onnx_settings(**bad)


# --- bad model files -----------------------------------------------------------------------------

def test_bad_model_files_are_one_clear_error(tmp_path):
    text = tmp_path / "notes.onnx"
    text.write_text("this is not a model\n")
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes((models_dir() / BUNDLED["general"]).read_bytes()[:5000])
    cases = {
        tmp_path / "missing.onnx": "does not exist",
        tmp_path: "is a folder, not a file",
        text: "cannot load model",
        truncated: "cannot load model",
    }
    for path, words in cases.items():
        with pytest.raises(VcamError, match=words) as info:
            OnnxSegmenter(onnx_settings(model=str(path)))
        assert str(path) in str(info.value)


def test_a_model_that_fits_no_adapter_says_what_was_expected(tmp_path):
    flat = make_model([helper.make_node("Relu", ["x"], ["y"])],
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])])
    path = save(flat, tmp_path / "flat.onnx")
    with pytest.raises(VcamError, match="fits no known adapter.*x float \\[1, 10\\].*--model-type") as info:
        OnnxSegmenter(onnx_settings(model=str(path)))
    assert str(path) in str(info.value)
    with pytest.raises(VcamError, match="fits no rvm adapter.*expected RVM's inputs src, r1i"):
        OnnxSegmenter(onnx_settings(model=str(modnet(tmp_path / "modnet.onnx")), model_type="rvm"))


def test_cli_bad_model_exits_2_with_one_line(tmp_path, astronaut_png):
    result = subprocess.run([sys.executable, "-m", "vcam", "process", str(astronaut_png), "--backend", "onnx",
                             "--model", "nowhere.onnx", "-o", str(tmp_path / "m.png")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("vcam: error:")]
    assert len(errors) == 1 and "nowhere.onnx does not exist" in errors[0], result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "m.png").exists()


def nan_model(path: Path, bias: float) -> Path:
    """MODNet's shape with output sqrt(R + bias), R in [-1, 1]: NaN wherever R + bias < 0."""
    conv = helper.make_node("Conv", ["input", "w", "b"], ["r"], kernel_shape=[1, 1])
    root = helper.make_node("Sqrt", ["r"], ["output"])
    return save(make_model(
        [conv, root],
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch_size", 3, "height", "width"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch_size", 1, "height", "width"])],
        [const("w", np.array([1.0, 0, 0]).reshape(1, 3, 1, 1)), const("b", [bias])]), path)


def test_a_model_that_gives_nan_is_refused_never_a_blank_cutout(tmp_path):
    always = nan_model(tmp_path / "always.onnx", -2.0)
    with pytest.raises(VcamError, match="NaN"):
        create(onnx_settings(model=str(always)))        # at load: its test frame
    dark_only = nan_model(tmp_path / "dark.onnx", 0.0)   # grey 128 passes, a dark red channel does not
    dark = tmp_path / "dark.png"
    cv2.imwrite(str(dark), np.full((64, 64, 3), 20, np.uint8))
    done = subprocess.run([sys.executable, "-m", "vcam", "process", str(dark), "--model", str(dark_only),
                           "--effect", "cutout", "-o", str(tmp_path / "cut.png")], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2 and "NaN" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "cut.png").exists()


def test_models_built_at_once_in_threads_leave_standard_output_alone():
    """onnxruntime's own print is caught by redirecting sys.stdout, which is the process's: two
    redirects overlapping in two threads once left it a StringIO, and every later line went
    nowhere (the panel builds a model for the first start's kernels beside the live one)."""
    import sys
    import threading

    from vcam.config import SegmentSettings
    from vcam.segment.onnx import OnnxSegmenter

    before = sys.stdout
    start = threading.Barrier(4)

    def build() -> None:
        start.wait()
        for _ in range(3):
            OnnxSegmenter(SegmentSettings(threads=1)).close()

    threads = [threading.Thread(target=build) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sys.stdout is before
