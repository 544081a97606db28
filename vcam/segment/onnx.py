"""ONNX Runtime segmenters: the bundled selfie models (MediaPipe's, converted to ONNX by
``models/convert_tflite_to_onnx.py``) and a user's own ``.onnx`` model.

Model types (``model_type``; ``auto`` reads the model's metadata, inputs and outputs):

* ``selfie``: one image in, (1, H, W, 3) or (1, 3, H, W), RGB in [0, 1] (or [-1, 1] where the
  model's metadata says ``vcam.input_range=-1,1``); out a person probability map, or two-class
  logits (softmaxed here). The frame is scaled to the input with the same plain bilinear scale as
  MediaPipe, so the bundled models give MediaPipe's masks.
* ``modnet``: (1, 3, H, W) in [-1, 1], sides multiples of 32 (short side 448; MODNet's own
  demo uses 512), out a (1, 1, H, W) matte.
* ``rvm``: Robust Video Matting: ``src``, ``r1i..r4i``, ``downsample_ratio`` in; ``fgr``, ``pha``,
  ``r1o..r4o`` out. The recurrent state is carried from frame to frame and dropped by
  :meth:`OnnxSegmenter.reset` (the engine calls it when the source changes).

Execution providers are tried best first (TensorRT, CUDA, DirectML, CoreML, CPU) among those the
installed onnxruntime has; one that fails to start or to run a test frame gives way to the next
with one warning. Inputs and outputs go through I/O binding, so on a GPU the recurrent state stays
in GPU memory between frames.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import threading
from pathlib import Path
from typing import Any, Optional

import cv2
import numpy as np

from vcam.config import AUTO, MODNET_TYPE, ONNX_MODELS, PRODUCT_MODEL, RVM_TYPE, SELFIE_TYPE, U2NET_TYPE, SegmentSettings
from vcam.config import PROVIDER_NAMES as PROVIDERS
from vcam.errors import VcamError
from vcam.fileio import user_paths
from vcam.segment import Segmenter, choice
from vcam.system import memory, packages, telemetry
from vcam.system.resources import BUNDLED_MODELS as BUNDLED
from vcam.system.resources import cache_dir

log = logging.getLogger(__name__)
_REDIRECTING = threading.Lock()   # one redirect of sys.stdout at a time

# Short name -> onnxruntime's name, best first.
# Where I/O binding keeps tensors that stay on the device (recurrent state, unused outputs).
DEVICES = {"tensorrt": "cuda", "cuda": "cuda", "directml": "dml"}
MIN_MAP_SIDE = 16          # a person map smaller than this is no map (a classifier's 1x2 scores)
MODNET_REF_SIDE = 448      # see _MODNet.input_size
# Frames are scaled down to RVM_MAX_SIDE on their long side, and RVM's coarse pass is
# RVM_DOWNSAMPLED_SIDE long (its guidance: 256 to 512): a little over half the cost of 1280/480
# for nearly the same edges, where 640/320 is cheaper again but its edges are clearly worse
# (benchmarks/rvm_sizes.py; the figures are in docs/models.md, "Models you bring").
RVM_MAX_SIDE = 960
RVM_DOWNSAMPLED_SIDE = 384


def default_threads() -> int:
    """Half the cores, 1 to 4: room is left for capture, compositing and output."""
    return max(1, min(4, (os.cpu_count() or 1) // 2))


def import_ort():
    """The ``onnxruntime`` module, or one :class:`VcamError` with the fix for why it cannot be
    imported: not enough memory, not installed, or a broken install."""
    try:
        import onnxruntime
    except (ImportError, OSError, MemoryError) as exc:
        raise packages.import_failure(exc, "onnxruntime", "pip install onnxruntime (or onnxruntime-gpu for NVIDIA GPUs)",
                                      reinstall="pip install --force-reinstall onnxruntime (`vcam doctor` names "
                                                "the problem)") from None
    # A GPU provider whose CUDA libraries are missing logs errors from its own logger before the
    # session's options apply; vcam reports the fallback in one line (--debug shows them).
    onnxruntime.set_default_logger_severity(0 if log.isEnabledFor(logging.DEBUG) else 4)
    telemetry.onnxruntime_opened(onnxruntime)
    return onnxruntime


def available_providers() -> list[str]:
    """The short names (``PROVIDERS``) of the execution providers this ONNX Runtime has."""
    have = import_ort().get_available_providers()
    return [short for short, full in PROVIDERS.items() if full in have]


def model_path(model: str) -> tuple[Path, str]:
    """``general``/``landscape``/``modnet`` -> the bundled file; otherwise a path to a .onnx file.
    ``auto`` is the selfie model here (the engine chooses it by use: ``vcam.segment.choice``)."""
    model = choice.named(model)
    if model in BUNDLED:
        from vcam.system.resources import models_dir

        path = models_dir() / BUNDLED[model]
        if not path.is_file():
            raise VcamError(f"the bundled model {path} is missing", "reinstall vcam: pip install --force-reinstall .")
        return path, model
    path = Path(model).expanduser()
    if user_paths.look(path, "model file") is None:
        raise VcamError(f"model file {model} does not exist",
                        f"give {', '.join(ONNX_MODELS + (PRODUCT_MODEL,))} or the path of an .onnx model file")
    return user_paths.input_file(path, "model"), path.name


def _reason(exc: BaseException) -> str:
    """onnxruntime's message, one line, without its '[ONNXRuntimeError] : 7 : ...' prefix."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.split(" : ")[-1].strip() if text.startswith("[ONNXRuntimeError]") else text


# --- running a session ---------------------------------------------------------------------------

class _Runner:
    """One session run through I/O binding: host inputs are bound as they are, outputs named in
    ``host`` come back as NumPy arrays, the rest stay where the provider keeps them (OrtValues)."""

    def __init__(self, session, device: str) -> None:
        self.session = session
        self.device = device
        self.outputs = [o.name for o in session.get_outputs()]
        self._binding = session.io_binding()

    def run(self, feeds: dict[str, Any], host: tuple[str, ...]) -> dict[str, Any]:
        b = self._binding
        for name, value in feeds.items():
            if isinstance(value, np.ndarray):
                b.bind_cpu_input(name, value)
            else:
                b.bind_ortvalue_input(name, value)
        for name in self.outputs:
            b.bind_output(name, "cpu" if name in host else self.device)
        self.session.run_with_iobinding(b)
        # Read the outputs while the binding still holds them, and never clear it: before
        # onnxruntime 1.24 the values get_outputs() returns live inside the binding, so clearing
        # it first made .numpy() read freed memory (garbage mattes, crashes). Each name is bound
        # again by the next run, after the state it feeds back has been bound as an input.
        values = b.get_outputs()
        return {n: (v.numpy() if n in host else v) for n, v in zip(self.outputs, values)}


_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def _dim(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and value > 0 else None


def _describe(args) -> str:
    return ", ".join(f"{a.name} {a.type[7:-1]} {list(a.shape)}" for a in args)


class _Scaler:
    """Scale RGB frames to a fixed (width, height) into a kept buffer, as MediaPipe's
    ImageToTensor does (a plain scale, bilinear taps): the bundled models were trained on it."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size
        self._out = np.zeros((size[1], size[0], 3), np.uint8)
        self._for: Optional[tuple[int, int]] = None
        self._warp = np.zeros((2, 3), np.float32)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        size = frame.shape[1::-1]
        if size == self.size:
            return frame
        if self._for != size:
            self._warp[0, 0], self._warp[1, 1] = self.size[0] / size[0], self.size[1] / size[1]
            self._for = size
        return cv2.warpAffine(frame, self._warp, self.size, dst=self._out, flags=cv2.INTER_LINEAR)


# --- adapters: frame in, matte out -----------------------------------------------------------------

class _Selfie:
    kind = SELFIE_TYPE

    def __init__(self, runner: _Runner, path: Path, signed: bool) -> None:
        inp, out = runner.session.get_inputs()[0], runner.session.get_outputs()[0]
        shape = list(inp.shape)
        self.nchw = _dim(shape[1]) == 3 and _dim(shape[3]) != 3
        h, w = (shape[2], shape[3]) if self.nchw else (shape[1], shape[2])
        self.size = (_dim(w) or 256, _dim(h) or 256)
        self.runner, self.path, self.input, self.output = runner, path, inp.name, out.name
        self.scale, self.offset = (2.0 / 255.0, -1.0) if signed else (1.0 / 255.0, 0.0)
        self._scaler = _Scaler(self.size)
        w, h = self.size
        self._tensor = np.zeros((1, 3, h, w) if self.nchw else (1, h, w, 3), _DTYPES[inp.type])
        self._matte = np.zeros((h, w), np.float32)

    def run(self, frame: np.ndarray) -> np.ndarray:
        small = self._scaler(frame)
        dst = self._tensor[0]
        np.multiply(small.transpose(2, 0, 1) if self.nchw else small, self.scale, out=dst, casting="unsafe")
        if self.offset:
            dst += self.offset
        y = self.runner.run({self.input: self._tensor}, (self.output,))[self.output]
        return self._to_matte(y)

    def _to_matte(self, y: np.ndarray) -> np.ndarray:
        s = y.shape
        if y.ndim == 4 and s[0] == 1 and s[3] in (1, 2) and s[1] > 2:
            maps = y[0].transpose(2, 0, 1)                      # NHWC
        elif y.ndim == 4 and s[0] == 1 and s[1] in (1, 2):
            maps = y[0]                                         # NCHW
        elif y.ndim == 3 and s[0] in (1, 2):
            maps = y
        elif y.ndim == 2:
            maps = y[None]
        else:
            raise VcamError(f"model {self.path} gives an output of shape {list(s)}",
                            "expected a person map, 1xHxWxC, 1xCxHxW, 1xHxW or HxW with 1 or 2 channels C")
        if self._matte.shape != maps.shape[1:]:
            self._matte = np.zeros(maps.shape[1:], np.float32)
        if maps.shape[0] == 1:
            np.clip(maps[0], 0.0, 1.0, out=self._matte)
        elif maps.min() >= 0.0 and maps.max() <= 1.0 and np.allclose(maps.sum(axis=0), 1.0, atol=1e-3):
            np.copyto(self._matte, maps[1])                    # already softmaxed
        else:                                                 # two-class logits: softmax, person
            np.subtract(maps[0], maps[1], out=self._matte, dtype=np.float32)
            np.exp(self._matte, out=self._matte)
            self._matte += 1.0
            np.reciprocal(self._matte, out=self._matte)
        return self._matte

    def reset(self) -> None:
        pass


class _MODNet:
    kind = MODNET_TYPE

    def __init__(self, runner: _Runner, path: Path) -> None:
        inp, out = runner.session.get_inputs()[0], runner.session.get_outputs()[0]
        self.runner, self.path, self.input, self.output = runner, path, inp.name, out.name
        self.fixed = (_dim(inp.shape[3]), _dim(inp.shape[2]))
        self.dtype = _DTYPES[inp.type]
        self._tensor: Optional[np.ndarray] = None

    @staticmethod
    def input_size(width: int, height: int) -> tuple[int, int]:
        """MODNet's own rule with a reference of ``MODNET_REF_SIDE``: the short side to it unless
        the frame already straddles it, then both sides down to a multiple of 32. MODNet's code
        uses 512, which feeds a 640x480 webcam frame as it is; at 448 it is scaled down (an area
        average), which takes out the sensor noise MODNet reads as texture, and its mattes of
        webcam video and photos are better for it (a slightly blurred native frame does as well:
        it is the noise, not the size); smaller references gain nothing more. The figures are in
        docs/models.md, "Matting models" (``benchmarks/modnet_sizes.py`` and ``quality.py``). A 720p
        frame goes in at 768x448 instead of 896x512."""
        ref = MODNET_REF_SIDE
        if max(width, height) < ref or min(width, height) > ref:
            if width >= height:
                width, height = int(width / height * ref), ref
            else:
                width, height = ref, int(height / width * ref)
        return max(32, width - width % 32), max(32, height - height % 32)

    def run(self, frame: np.ndarray) -> np.ndarray:
        w, h = self.fixed if all(self.fixed) else self.input_size(frame.shape[1], frame.shape[0])
        if self._tensor is None or self._tensor.shape[2:] != (h, w):
            self._tensor = np.zeros((1, 3, h, w), self.dtype)
        small = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA) if frame.shape[1::-1] != (w, h) else frame
        np.multiply(small.transpose(2, 0, 1), 2.0 / 255.0, out=self._tensor[0], casting="unsafe")
        self._tensor -= 1.0
        y = self.runner.run({self.input: self._tensor}, (self.output,))[self.output]
        if y.ndim != 4 or y.shape[:2] != (1, 1):
            raise VcamError(f"model {self.path} gives an output of shape {list(y.shape)}",
                            "expected MODNet's matte, 1x1xHxW")
        return np.clip(y[0, 0], 0.0, 1.0).astype(np.float32, copy=False)

    def reset(self) -> None:
        pass


class _RVM:
    kind = RVM_TYPE
    STATE = ("r1i", "r2i", "r3i", "r4i")

    def __init__(self, runner: _Runner, path: Path) -> None:
        types = {i.name: i.type for i in runner.session.get_inputs()}
        self.runner, self.path = runner, path
        self.dtype = _DTYPES[types["src"]]
        self.ratio = np.zeros(1, _DTYPES.get(types["downsample_ratio"], np.float32))
        self._tensor: Optional[np.ndarray] = None
        self._state: dict[str, Any] = {}
        self.reset()

    @staticmethod
    def sizes(width: int, height: int) -> tuple[tuple[int, int], float]:
        """The size fed to RVM and the downsample ratio that brings its long side to RVM_DOWNSAMPLED_SIDE."""
        scale = min(1.0, RVM_MAX_SIDE / max(width, height))
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        return (w, h), min(1.0, RVM_DOWNSAMPLED_SIDE / max(w, h))

    def run(self, frame: np.ndarray) -> np.ndarray:
        (w, h), ratio = self.sizes(frame.shape[1], frame.shape[0])
        if self._tensor is None or self._tensor.shape[2:] != (h, w):
            self._tensor = np.zeros((1, 3, h, w), self.dtype)
            self.reset()   # the state is tied to the size
        small = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA) if frame.shape[1::-1] != (w, h) else frame
        np.multiply(small.transpose(2, 0, 1), 1.0 / 255.0, out=self._tensor[0], casting="unsafe")
        self.ratio[0] = ratio
        out = self.runner.run({"src": self._tensor, "downsample_ratio": self.ratio, **self._state}, ("pha",))
        self._state = {name: out[f"r{i}o"] for i, name in enumerate(self.STATE, 1)}
        pha = out["pha"]
        if pha.ndim != 4 or pha.shape[:2] != (1, 1):
            raise VcamError(f"model {self.path} gives pha of shape {list(pha.shape)}", "expected RVM's 1x1xHxW")
        return np.clip(pha[0, 0], 0.0, 1.0).astype(np.float32, copy=False)

    def reset(self) -> None:
        """Drop the recurrent state: the next frame starts a new video."""
        zeros = np.zeros((1, 1, 1, 1), self.dtype)
        self._state = {name: zeros for name in self.STATE}


class _U2Net:
    """U^2-Net (the bundled ``u2netp``): the salient object, for products. 1x3xHxW in (the fixed
    320x320), the picture divided by its brightest value and normalised by ImageNet's mean and
    deviation as U^2-Net's own code does; the first output, d0, is the map, stretched to 0..1
    (its ``normPRED``)."""
    kind = U2NET_TYPE
    MEAN = np.float32([0.485, 0.456, 0.406]).reshape(3, 1, 1)
    STD = np.float32([0.229, 0.224, 0.225]).reshape(3, 1, 1)

    def __init__(self, runner: _Runner, path: Path) -> None:
        inp, out = runner.session.get_inputs()[0], runner.session.get_outputs()[0]
        self.runner, self.path, self.input, self.output = runner, path, inp.name, out.name
        self.size = (_dim(inp.shape[3]) or 320, _dim(inp.shape[2]) or 320)
        self._tensor = np.zeros((1, 3, self.size[1], self.size[0]), _DTYPES[inp.type])

    def run(self, frame: np.ndarray) -> np.ndarray:
        small = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA) if frame.shape[1::-1] != self.size else frame
        t = self._tensor[0]
        np.multiply(small.transpose(2, 0, 1), np.float32(1.0 / max(1, int(small.max()))), out=t, casting="unsafe")
        t -= self.MEAN
        t /= self.STD
        y = self.runner.run({self.input: self._tensor}, (self.output,))[self.output]
        if y.ndim != 4 or y.shape[:2] != (1, 1):
            raise VcamError(f"model {self.path} gives an output of shape {list(y.shape)}", "expected U^2-Net's 1x1xHxW")
        m = y[0, 0].astype(np.float32)
        lo, hi = float(m.min()), float(m.max())
        m -= lo
        m *= 1.0 / (hi - lo) if hi > lo else 0.0
        return m

    def reset(self) -> None:
        pass


def detect_type(session, path: Path, requested: str) -> str:
    """The model type: ``requested`` unless ``auto``, then the model's ``vcam.model_type``
    metadata, then a guess from its inputs and outputs. Raises if the model fits none."""
    ins, outs = session.get_inputs(), session.get_outputs()
    names = {i.name for i in ins}
    out_names = {o.name for o in outs}
    kind = requested
    if kind == AUTO:
        kind = session.get_modelmeta().custom_metadata_map.get("vcam.model_type", AUTO)
    rvm_in = {"src", "downsample_ratio", *_RVM.STATE}
    if kind == AUTO:
        if rvm_in <= names:
            kind = RVM_TYPE
        elif len(ins) == 1 and len(ins[0].shape) == 4:
            s = ins[0].shape
            nchw = _dim(s[1]) == 3 and _dim(s[3]) != 3
            dynamic = not (_dim(s[2]) and _dim(s[3]))
            kind = MODNET_TYPE if nchw and dynamic and len(outs) == 1 else SELFIE_TYPE
    expected = {
        SELFIE_TYPE: "one RGB image input, 1xHxWx3 or 1x3xHxW, float",
        MODNET_TYPE: "MODNet's input 1x3xHxW float and output 1x1xHxW",
        RVM_TYPE: "RVM's inputs src, r1i..r4i, downsample_ratio and outputs fgr, pha, r1o..r4o",
        U2NET_TYPE: "U^2-Net's input 1x3xHxW float and first output 1x1xHxW",
    }
    fits = False
    if kind == U2NET_TYPE:
        s = ins[0].shape if len(ins) == 1 else []
        fits = len(s) == 4 and ins[0].type in _DTYPES and _dim(s[1]) == 3 and len(outs[0].shape) == 4
    elif kind in (SELFIE_TYPE, MODNET_TYPE):
        s = ins[0].shape if len(ins) == 1 else []
        fits = (len(s) == 4 and ins[0].type in _DTYPES
                and (_dim(s[1]) == 3 or (kind == SELFIE_TYPE and _dim(s[3]) == 3)))
        if kind == MODNET_TYPE:
            fits = fits and _dim(s[1]) == 3 and len(outs[0].shape) == 4
    elif kind == RVM_TYPE:
        fits = (rvm_in <= names and {"pha", "r1o", "r2o", "r3o", "r4o"} <= out_names
                and next(i for i in ins if i.name == "src").type in _DTYPES)
    if not fits:
        what = expected.get(kind, " or ".join(expected.values()))
        raise VcamError(f"model {path} fits no {kind if kind != AUTO else 'known'} adapter "
                        f"(inputs: {_describe(ins)}; outputs: {_describe(outs)})",
                        f"expected {what}" + ("" if requested != AUTO else "; or pass --model-type"))
    return kind


def _finite(matte: np.ndarray, path: Path) -> np.ndarray:
    """``matte``, unless the model gave NaN somewhere (a sum is NaN then: no buffer is made)."""
    if not np.isfinite(matte.sum()):
        raise VcamError(f"model {path} gives NaN (not-a-number) values instead of a matte",
                        "the model file is damaged or was exported wrongly: export it again, or use another model")
    return matte


# --- the segmenter ---------------------------------------------------------------------------------

class OnnxSegmenter(Segmenter):
    """``segment(frame)``: RGB uint8 of any size -> float32 matte; ``name`` says model and provider."""

    def __init__(self, settings: SegmentSettings = SegmentSettings(backend="onnx")) -> None:
        ort = import_ort()
        path, label = model_path(settings.model)
        found = packages.installed(packages.ONNXRUNTIME)
        if len(found) > 1:
            log.warning("onnx: %s are installed together; they share one module, so only one works: "
                        "uninstall all but one", packages.describe(found))
        self.runtime = packages.describe(found[:1]) or f"onnxruntime {ort.__version__}"
        self.threads = settings.threads or default_threads()
        self.path, self.label = path, label
        self._session = None
        self._adapter: Any = None
        self.provider = self._open(ort, path, settings)
        # A crop that follows the person suits a single-frame segmenter (crop_ok); MODNet and RVM
        # see the whole frame at high resolution, and RVM's recurrent state assumes a still view.
        self.model_type = self._adapter.kind
        self.input_size = self._adapter.size if self.model_type == SELFIE_TYPE else None
        kind = "" if label in BUNDLED else f" {self.model_type}"
        self.name = f"onnx/{label}{kind} {self.provider}"
        log.info("segmenter %s (%s, %d CPU threads)", self.name, self.runtime, self.threads)

    def _candidates(self, wanted: str, available: list[str]) -> list[str]:
        order = list(PROVIDERS)
        if wanted == AUTO:
            return [p for p in order if PROVIDERS[p] in available]
        return [wanted] + [p for p in order[order.index(wanted) + 1:] if PROVIDERS[p] in available]

    def _session_options(self, ort):
        so = ort.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle pool threads sleep instead of spinning: spinning burns CPU that the other stages
        # need and slows them, for no gain in the model's speed.
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.log_severity_level = 1 if log.isEnabledFor(logging.DEBUG) else 4   # we report failures
        return so

    @staticmethod
    def _provider_options(short: str) -> dict:
        if short == "tensorrt":   # building an engine takes minutes: keep it for the next start
            cache = cache_dir() / "tensorrt"
            cache.mkdir(parents=True, exist_ok=True)
            return {"trt_engine_cache_enable": "True", "trt_engine_cache_path": str(cache)}
        return {}

    def _open(self, ort, path: Path, settings: SegmentSettings) -> str:
        available = ort.get_available_providers()
        failures: list[str] = []
        for short in self._candidates(settings.provider, available):
            full = PROVIDERS[short]
            if full not in available:
                has = ", ".join(s for s, f in PROVIDERS.items() if f in available)
                hint = ("; for NVIDIA GPUs: pip uninstall onnxruntime && pip install onnxruntime-gpu"
                        if short in ("cuda", "tensorrt") and "onnxruntime-gpu" not in self.runtime else "")
                failures.append(f"{short} is not in {self.runtime} (it has {has}){hint}")
                continue
            # What the provider cannot run goes to the CPU (TensorRT's leftovers to CUDA first).
            providers = [full] + [PROVIDERS[p] for p in ("cuda", "cpu")
                                  if p != short and (p == "cpu" or short == "tensorrt") and PROVIDERS[p] in available]
            try:
                options = self._provider_options(short)
                said = io.StringIO()   # onnxruntime prints "EP Error ... Falling back" itself
                # sys.stdout is the process's: two redirects overlapping in two threads (a model
                # built for the first start's kernels beside the live one) left it a StringIO
                with _REDIRECTING, contextlib.redirect_stdout(said):
                    session = ort.InferenceSession(str(path), self._session_options(ort),
                                                   providers=[(p, options if p == full else {}) for p in providers])
                if said.getvalue().strip():
                    log.debug("onnxruntime: %s", said.getvalue().strip())
            except Exception as exc:   # onnxruntime's own error types (Fail, InvalidProtobuf, ...)
                if memory.caused(exc):
                    raise memory.shortage(f"load model {path}", exc) from None
                if short == "cpu":
                    raise VcamError(f"cannot load model {path} ({_reason(exc)})",
                                    "expected an ONNX model file (.onnx), for example MODNet or RVM") from None
                failures.append(f"{short} failed ({_reason(exc)})")
                continue
            if session.get_providers()[0] != full:
                failures.append(f"{short} did not start (--debug shows onnxruntime's reason)")
                continue
            # the bundled product model is U^2-Net (its file is unchanged, so it carries no vcam.model_type)
            requested = U2NET_TYPE if settings.model_type == AUTO and self.label == PRODUCT_MODEL else settings.model_type
            kind = detect_type(session, path, requested)
            runner = _Runner(session, DEVICES.get(short, "cpu"))
            signed = session.get_modelmeta().custom_metadata_map.get("vcam.input_range", "0,1").replace(" ", "") == "-1,1"
            adapter = _RVM(runner, path) if kind == RVM_TYPE else _MODNet(runner, path) if kind == MODNET_TYPE \
                else _U2Net(runner, path) if kind == U2NET_TYPE else _Selfie(runner, path, signed)
            try:   # a provider can start and still fail on the first frame (memory, unsupported op)
                test = _finite(adapter.run(np.full((256, 256, 3), 128, np.uint8)), path)
                adapter.reset()
            except VcamError:
                raise
            except Exception as exc:
                if memory.caused(exc):
                    raise memory.shortage(f"run model {path}", exc) from None
                if short == "cpu":
                    raise VcamError(f"model {path} fails on a test frame ({_reason(exc)})",
                                    "expected a model of the type given by --model-type") from None
                failures.append(f"{short} failed on a test frame ({_reason(exc)})")
                continue
            if min(test.shape) < MIN_MAP_SIDE:   # a classifier's scores, not a picture of the person
                raise VcamError(f"model {path} gives a {'x'.join(map(str, test.shape))} output: not a map of the "
                                f"person (a segmenter's or matting model's output is at least "
                                f"{MIN_MAP_SIDE}x{MIN_MAP_SIDE})",
                                "give a person segmentation or matting model (selfie, MODNet, RVM)")
            if failures:
                log.warning("onnx: %s; using %s", "; ".join(failures), short)
            self._session, self._adapter = session, adapter
            self.output_size = (test.shape[1], test.shape[0])
            return short
        raise VcamError("no ONNX Runtime execution provider works: " + "; ".join(failures),
                        "pass --provider cpu, or reinstall onnxruntime")

    def segment(self, frame: np.ndarray) -> np.ndarray:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 frame (H, W, 3), got {frame.dtype} {frame.shape}")
        matte = _finite(self._adapter.run(frame), self.path)
        self.output_size = (matte.shape[1], matte.shape[0])
        return matte

    def reset(self) -> None:
        """Forget temporal state (RVM's recurrent state): the next frame starts a new video."""
        if self._adapter is not None:
            self._adapter.reset()

    def close(self) -> None:
        self._adapter = None
        self._session = None
