"""The model ``auto`` (the default): MODNet for videos and pictures of 640x480 or more and live on
a GPU fast enough for it, the selfie model otherwise; and the selfie model's hold on MODNet where
MODNet misses a person."""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import cuda_listed_but_broken

from vcam.batch import Processor, plan
from vcam.config import EffectSettings, SegmentSettings, Settings
from vcam.engine import Engine
from vcam.segment import choice
from vcam.segment.build import build as build_segmenter
from vcam.segment.guided import Hold

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"


def test_the_default_is_auto_and_files_choose_by_size():
    auto = SegmentSettings()
    assert auto.model == "auto"
    assert choice.for_file(auto, (640, 480), video=False).model == "modnet"
    assert choice.for_file(auto, (639, 480), video=False).model == "general"
    # a video takes MODNet only where a GPU runs it: on a CPU it costs about a second a frame
    assert choice.for_file(auto, (480, 640), video=True, available=("cuda", "cpu")).model == "modnet"
    assert choice.for_file(auto, (1920, 1080), video=True, available=("cpu",)).model == "general"
    assert choice.for_file(auto, (1920, 1080), video=True).model == "general"
    assert choice.for_file(SegmentSettings(provider="cpu"), (1920, 1080), video=True,
                           available=("cuda", "cpu")).model == "general"
    assert choice.for_file(auto, (512, 512), video=True, available=("cuda",)).model == "general"
    # a model the user names is kept; MediaPipe has no MODNet
    assert choice.for_file(SegmentSettings(model="landscape"), (1920, 1080), video=True).model == "landscape"
    assert choice.for_file(SegmentSettings(backend="mediapipe"), (1920, 1080), video=True).model == "general"


def test_live_takes_modnet_only_where_a_gpu_runs_it_fast_enough():
    auto = SegmentSettings()
    assert choice.live_candidate(auto, ["cpu"]).model == "general"
    assert choice.live_candidate(auto, ["cuda", "cpu"]).model == "modnet"
    assert choice.live_candidate(auto, ["directml", "cpu"]).model == "modnet"
    assert choice.live_candidate(SegmentSettings(provider="cpu"), ["cuda", "cpu"]).model == "general"
    assert choice.live_candidate(SegmentSettings(provider="coreml"), ["cuda", "cpu"]).model == "general"
    assert choice.live_candidate(SegmentSettings(backend="mediapipe"), ["cuda", "cpu"]).model == "general"
    assert choice.live_candidate(SegmentSettings(model="modnet"), ["cpu"]).model == "modnet"
    assert choice.fast_enough("cuda", 0.008) is None
    assert "40 ms per 720p frame on cuda" in choice.fast_enough("cuda", 0.040)
    assert "cpu" in choice.fast_enough("cpu", 0.0)


def test_live_auto_on_this_cpu_is_the_selfie_model():
    seg = build_segmenter(SegmentSettings())
    try:
        assert seg.name.startswith("onnx/general"), seg.name
    finally:
        seg.close()


def _processed(tmp_path: Path, name: str, rgb: np.ndarray, model: str) -> np.ndarray:
    src = tmp_path / f"{name}.png"
    cv2.imwrite(str(src), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    out = tmp_path / f"{name}-{model}-matte.png"
    jobs = plan([src], out, "matte")
    with Processor(Settings(segment=SegmentSettings(model=model), effect=EffectSettings("matte"))) as p:
        p.run(jobs)
        assert not p.failures and p.outputs == 1
    return cv2.imread(str(out), cv2.IMREAD_GRAYSCALE)


def test_process_auto_gives_a_large_picture_modnet_and_a_small_one_the_selfie_model(tmp_path, astronaut_rgb):
    large = cv2.resize(astronaut_rgb, (640, 640), interpolation=cv2.INTER_AREA)
    small = cv2.resize(astronaut_rgb, (400, 400), interpolation=cv2.INTER_AREA)
    auto_large, auto_small = _processed(tmp_path, "large", large, "auto"), _processed(tmp_path, "small", small, "auto")
    assert np.array_equal(auto_large, _processed(tmp_path, "large", large, "modnet"))
    assert np.array_equal(auto_small, _processed(tmp_path, "small", small, "general"))
    assert not np.array_equal(auto_large, _processed(tmp_path, "large", large, "general"))


def test_one_processor_keeps_one_engine_per_model(tmp_path, astronaut_rgb):
    for name, side in (("a", 400), ("b", 640), ("c", 420), ("d", 700)):
        cv2.imwrite(str(tmp_path / f"{name}.png"), cv2.cvtColor(cv2.resize(astronaut_rgb, (side, side)), cv2.COLOR_RGB2BGR))
    jobs = plan([tmp_path / f"{n}.png" for n in "abcd"], tmp_path / "out", "matte")
    with Processor(Settings(effect=EffectSettings("matte"))) as p:
        p.run(jobs)
        assert p.outputs == 4 and not p.failures
        models = sorted(s.model for s, _effect in p._engines)   # (model, effect): one effect here
    assert models == ["general", "modnet"]
    assert sorted(f.name for f in (tmp_path / "out").iterdir()) == ["a.png", "b.png", "c.png", "d.png"]


def _two_people(h: int = 160, w: int = 160) -> tuple[np.ndarray, np.ndarray]:
    guide = np.zeros((h, w), np.float32)
    cv2.ellipse(guide, (40, 70), (18, 45), 0, 0, 360, 1.0, -1)
    cv2.ellipse(guide, (120, 70), (18, 45), 0, 0, 360, 1.0, -1)
    return guide, cv2.GaussianBlur(guide, (0, 0), 1.5)


def test_the_selfie_model_gives_back_a_person_the_matting_model_missed():
    """The hold on mattes drawn here: two people; the matting model found the right one
    (with a softer edge of its own) and missed the left one."""
    truth, guide = _two_people()
    matte = truth.copy()
    matte[:, :80] = 0.0
    matte = cv2.GaussianBlur(matte, (0, 0), 0.7)
    fused = Hold()(matte, guide).copy()
    left, right = (slice(None), slice(0, 80)), (slice(None), slice(80, None))
    assert np.abs(fused[left] - guide[left]).max() < 0.02          # the missed person: the selfie matte
    assert np.abs(fused[right] - matte[right]).max() < 1e-6        # the found one: the matting model's own
    # both found: nothing is changed beyond the usual bounds
    both = cv2.GaussianBlur(truth, (0, 0), 0.7)
    assert np.abs(Hold()(both, guide) - both).max() < 1e-6


def test_a_half_found_person_is_blended_smoothly():
    truth, guide = _two_people()
    fused = [float(Hold()(truth * cover, guide)[70, 40]) for cover in np.linspace(0.3, 1.0, 15)]
    assert fused[0] == pytest.approx(guide[70, 40], abs=0.02) and fused[-1] == pytest.approx(1.0, abs=1e-6)
    assert all(b >= a - 1e-6 for a, b in zip(fused, fused[1:]))   # more cover never gives less


@pytest.mark.skipif(not (EVAL / "portraits" / "images" / "246.jpg").is_file(), reason="no ../shared/eval")
def test_a_group_in_a_street_is_not_lost_to_modnet():
    """Eval photo 246 (five people, small, in a street): MODNet alone finds almost none of them."""
    from vcam.fileio import pictures

    rgb = pictures.load_image(EVAL / "portraits" / "images" / "246.jpg")
    truth = cv2.imread(str(EVAL / "portraits" / "masks" / "246.png"), cv2.IMREAD_GRAYSCALE)
    truth = cv2.resize(truth, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_NEAREST) > 127
    scores = {}
    for model in ("general", "modnet"):
        engine = Engine(Settings(segment=SegmentSettings(model=model), effect=EffectSettings("cutout")))
        try:
            person = engine.process(rgb, np.empty_like(rgb), {}, photo=True) >= 128
        finally:
            engine.close()
        scores[model] = np.logical_and(person, truth).sum() / np.logical_or(person, truth).sum()
    assert scores["general"] > 0.8 and scores["modnet"] > scores["general"] - 0.05, scores


@pytest.mark.filterwarnings("ignore:Specified provider")   # onnxruntime's own, from the simulation
def test_live_auto_where_the_gpu_does_not_start_is_the_selfie_model_with_one_warning(monkeypatch, caplog):
    """onnxruntime-gpu without working CUDA libraries lists CUDA: MODNet is tried there, starts on
    the CPU instead, and gives way to the selfie model, which goes straight to the CPU."""
    cuda_listed_but_broken(monkeypatch)
    with caplog.at_level(logging.INFO, logger="vcam"):
        seg = build_segmenter(SegmentSettings())
    try:
        assert seg.name == "onnx/general cpu", seg.name
    finally:
        seg.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "cuda did not start" in warnings[0], warnings
    assert any("not MODNet: it would run on the cpu" in r.getMessage() for r in caplog.records)
