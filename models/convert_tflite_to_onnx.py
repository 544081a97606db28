"""Convert MediaPipe's selfie segmentation models (TFLite) to ONNX, for vcam's ``onnx`` backend.

    pip install '.[convert]'
    python models/convert_tflite_to_onnx.py            # both bundled models -> models/*.onnx
    python models/convert_tflite_to_onnx.py IN.tflite OUT.onnx

The flatbuffer is read with the ``tflite`` package and the graph written with ``onnx.helper``,
operator by operator, in NCHW: the model's NHWC input and output are kept (one Transpose at
each end), weights are transposed here. Float16 weights (DEQUANTIZE of a constant) stay float16 in
the file with a Cast, exactly as TFLite widens them. TFLite SAME padding becomes explicit
(possibly asymmetric) pads; RESIZE_BILINEAR keeps its align_corners/half_pixel_centers sampling;
fused activations become their own nodes. MediaPipe's custom ``Convolution2DTransposeBias`` is
a ConvTranspose with bias.

The input is RGB float32 in [0, 1], (1, H, W, 3); the output the person probability (1, H, W, 1).
Neither ``onnx`` nor ``tflite`` is needed at run time: only onnxruntime reads the result.
"""
from __future__ import annotations

import argparse
import hashlib
import struct
import sys
from pathlib import Path
from typing import Optional

import numpy as np

OPSET = 17
HERE = Path(__file__).resolve().parent
# name -> (file inside the mediapipe package, output file here)
BUNDLED = {
    "general": ("modules/selfie_segmentation/selfie_segmentation.tflite", "selfie_segmentation.onnx"),
    "landscape": ("modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
                  "selfie_segmentation_landscape.onnx"),
}

# TFLite enums (schema.fbs), spelled out so this file reads on its own.
_PADDING_SAME, _PADDING_VALID = 0, 1
_ACT_NONE, _ACT_RELU, _ACT_RELU_N1_TO_1, _ACT_RELU6, _ACT_TANH = 0, 1, 2, 3, 4
_FLOAT32, _FLOAT16, _INT32 = 0, 1, 2
_NUMPY = {_FLOAT32: np.float32, _FLOAT16: np.float16, _INT32: np.int32}


class ConversionError(Exception):
    pass


def _same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TFLite SAME padding for one axis: (before, after); the odd pixel goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class _Converter:
    def __init__(self, buf: bytes) -> None:
        import tflite

        self.tfl = tflite
        self.model = tflite.Model.GetRootAsModel(buf, 0)
        if self.model.SubgraphsLength() != 1:
            raise ConversionError(f"expected one subgraph, got {self.model.SubgraphsLength()}")
        self.graph = self.model.Subgraphs(0)
        self.op_names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
        self.nodes: list = []
        self.initializers: dict[str, np.ndarray] = {}
        self.consts: dict[int, np.ndarray] = {}      # tensor index -> value, as TFLite lays it out
        self.names: dict[int, str] = {}             # tensor index -> ONNX name of its NCHW value
        self._counter = 0

    # -- tensors ------------------------------------------------------------------------------
    def shape(self, t: int) -> list[int]:
        T = self.graph.Tensors(t)
        return [int(d) for d in T.ShapeAsNumpy()] if T.ShapeLength() else []

    def const(self, t: int) -> Optional[np.ndarray]:
        if t in self.consts:
            return self.consts[t]
        T = self.graph.Tensors(t)
        data = self.model.Buffers(T.Buffer()).DataAsNumpy() if T.Buffer() > 0 else 0
        if isinstance(data, int) or data.size == 0:
            return None
        if T.Type() not in _NUMPY:
            raise ConversionError(f"tensor {T.Name().decode()} has unsupported type {T.Type()}")
        value = np.frombuffer(data.tobytes(), _NUMPY[T.Type()]).reshape(self.shape(t))
        self.consts[t] = value
        return value

    def _fresh(self, hint: str) -> str:
        self._counter += 1
        return f"{hint}_{self._counter}"

    def initializer(self, hint: str, value: np.ndarray) -> str:
        name = self._fresh(hint)
        self.initializers[name] = value
        return name

    def value(self, t: int) -> str:
        """The ONNX name of tensor ``t`` (activations NCHW); constants become initializers."""
        if t in self.names:
            return self.names[t]
        c = self.const(t)
        if c is None:
            raise ConversionError(f"tensor {self.graph.Tensors(t).Name().decode()} is used before it is computed")
        c = c.astype(np.float32) if c.dtype == np.float16 else c
        if c.ndim == 4:
            c = c.transpose(0, 3, 1, 2)
        elif c.ndim == 1 and c.dtype == np.float32 and c.size > 1:
            c = c.reshape(-1, 1, 1)   # a per-channel constant broadcast against NCHW
        name = self.initializer("const", np.ascontiguousarray(c))
        self.names[t] = name
        return name

    def node(self, op_type: str, inputs: list[str], out_t: Optional[int] = None, **attrs) -> str:
        from onnx import helper

        out = self._fresh(op_type.lower())
        if out_t is not None:
            out = self.graph.Tensors(out_t).Name().decode().replace("/", "_").replace(";", "_") or out
            if out in self.initializers or any(out in n.output for n in self.nodes):
                out = self._fresh(out)
            self.names[out_t] = out
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def activation(self, x: str, fused: int, out_t: int) -> None:
        """Emit the fused activation as its own node, and name its output after tensor ``out_t``."""
        if fused == _ACT_NONE:
            self.names[out_t] = x
            return
        if fused == _ACT_RELU:
            self.node("Relu", [x], out_t)
        elif fused in (_ACT_RELU6, _ACT_RELU_N1_TO_1):
            lo, hi = (0.0, 6.0) if fused == _ACT_RELU6 else (-1.0, 1.0)
            self.node("Clip", [x, self.initializer("lo", np.array(lo, np.float32)),
                               self.initializer("hi", np.array(hi, np.float32))], out_t)
        elif fused == _ACT_TANH:
            self.node("Tanh", [x], out_t)
        else:
            raise ConversionError(f"unsupported fused activation {fused}")

    def options(self, op, cls):
        opts = getattr(self.tfl, cls)()
        table = op.BuiltinOptions()
        opts.Init(table.Bytes, table.Pos)
        return opts

    # -- operators ----------------------------------------------------------------------------
    def convert(self) -> None:
        g = self.graph
        for i in range(g.OperatorsLength()):
            op = g.Operators(i)
            code = self.model.OperatorCodes(op.OpcodeIndex())
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            name = self.op_names.get(builtin, str(builtin))
            if name == "CUSTOM":
                name = code.CustomCode().decode()
            handler = getattr(self, f"_op_{name}", None)
            if handler is None:
                raise ConversionError(f"operator {name} is not supported")
            ins = [op.Inputs(j) for j in range(op.InputsLength())]
            outs = [op.Outputs(j) for j in range(op.OutputsLength())]
            handler(op, ins, outs)

    def _op_DEQUANTIZE(self, op, ins, outs):
        c = self.const(ins[0])
        if c is None or c.dtype != np.float16:
            raise ConversionError("only DEQUANTIZE of float16 constants is supported")
        self.consts[outs[0]] = c.astype(np.float32)   # exact; stored back as float16 by _compact()

    def _conv(self, op, ins, outs, depthwise: bool):
        opts = self.options(op, "DepthwiseConv2DOptions" if depthwise else "Conv2DOptions")
        w = self.const(ins[1])
        if w is None:
            raise ConversionError("convolution weights must be constant")
        _, h, wd, c_in = self.shape(ins[0])
        stride = (opts.StrideH(), opts.StrideW())
        dil = (opts.DilationHFactor(), opts.DilationWFactor())
        if depthwise:   # (1, KH, KW, C*M) -> (C*M, 1, KH, KW), one group per input channel
            weight, group = w.transpose(3, 0, 1, 2), c_in
        else:           # (O, KH, KW, I) -> (O, I, KH, KW)
            weight, group = w.transpose(0, 3, 1, 2), 1
        kh, kw = weight.shape[2:]
        if opts.Padding() == _PADDING_SAME:
            (t, b), (left, r) = _same_pads(h, kh, stride[0], dil[0]), _same_pads(wd, kw, stride[1], dil[1])
        else:
            t = b = left = r = 0
        inputs = [self.value(ins[0]), self.initializer("weight", np.ascontiguousarray(weight))]
        if len(ins) > 2 and ins[2] >= 0:
            inputs.append(self.initializer("bias", np.ascontiguousarray(self.const(ins[2]).astype(np.float32))))
        y = self.node("Conv", inputs, None if opts.FusedActivationFunction() else outs[0],
                      kernel_shape=[kh, kw], strides=list(stride), dilations=list(dil), pads=[t, left, b, r], group=group)
        self.activation(y, opts.FusedActivationFunction(), outs[0])

    def _op_CONV_2D(self, op, ins, outs):
        self._conv(op, ins, outs, depthwise=False)

    def _op_DEPTHWISE_CONV_2D(self, op, ins, outs):
        self._conv(op, ins, outs, depthwise=True)

    def _op_Convolution2DTransposeBias(self, op, ins, outs):
        # Custom options: a TfLiteTransposeConvParams struct, (padding, stride_width, stride_height).
        padding, stride_w, stride_h = struct.unpack("<3i", bytes(op.CustomOptionsAsNumpy())[:12])
        w, bias = self.const(ins[1]), self.const(ins[2])
        if w is None or bias is None:
            raise ConversionError("Convolution2DTransposeBias weights and bias must be constant")
        weight = w.transpose(3, 0, 1, 2)   # (O, KH, KW, I) -> (I, O, KH, KW)
        kh, kw = weight.shape[2:]
        (_, h, wd, _), (_, oh, ow, _) = self.shape(ins[0]), self.shape(outs[0])
        pads = []
        for size, out, k, s in ((h, oh, kh, stride_h), (wd, ow, kw, stride_w)):
            total = (size - 1) * s + k - out   # what must be cropped to land on TFLite's output size
            if total < 0:
                raise ConversionError("transposed convolution output larger than its kernel allows")
            pads.append((total // 2, total - total // 2) if padding == _PADDING_SAME else (0, total))
        self.node("ConvTranspose", [self.value(ins[0]), self.initializer("weight", np.ascontiguousarray(weight)),
                                    self.initializer("bias", bias.astype(np.float32).reshape(-1))], outs[0],
                  kernel_shape=[kh, kw], strides=[stride_h, stride_w],
                  pads=[pads[0][0], pads[1][0], pads[0][1], pads[1][1]])

    def _binary(self, op, ins, outs, onnx_op: str, cls: str):
        act = self.options(op, cls).FusedActivationFunction() if op.BuiltinOptionsType() else _ACT_NONE
        y = self.node(onnx_op, [self.value(ins[0]), self.value(ins[1])], None if act else outs[0])
        self.activation(y, act, outs[0])

    def _op_ADD(self, op, ins, outs):
        self._binary(op, ins, outs, "Add", "AddOptions")

    def _op_MUL(self, op, ins, outs):
        self._binary(op, ins, outs, "Mul", "MulOptions")

    def _op_RELU(self, op, ins, outs):
        self.node("Relu", [self.value(ins[0])], outs[0])

    def _op_HARD_SWISH(self, op, ins, outs):
        self.node("HardSwish", [self.value(ins[0])], outs[0])

    def _op_LOGISTIC(self, op, ins, outs):
        self.node("Sigmoid", [self.value(ins[0])], outs[0])

    def _op_AVERAGE_POOL_2D(self, op, ins, outs):
        opts = self.options(op, "Pool2DOptions")
        _, h, w, _ = self.shape(ins[0])
        kh, kw, sh, sw = opts.FilterHeight(), opts.FilterWidth(), opts.StrideH(), opts.StrideW()
        if opts.Padding() == _PADDING_SAME:
            (t, b), (left, r) = _same_pads(h, kh, sh), _same_pads(w, kw, sw)
        else:
            t = b = left = r = 0
        act = opts.FusedActivationFunction()
        x = self.value(ins[0])
        if (kh, kw) == (h, w) and not (t or b or left or r):
            y = self.node("GlobalAveragePool", [x], None if act else outs[0])
        else:   # TFLite averages over the valid pixels only: count_include_pad=0
            y = self.node("AveragePool", [x], None if act else outs[0], kernel_shape=[kh, kw], strides=[sh, sw],
                          pads=[t, left, b, r], count_include_pad=0)
        self.activation(y, act, outs[0])

    def _op_MEAN(self, op, ins, outs):
        axes = self.const(ins[1])
        keep = self.options(op, "ReducerOptions").KeepDims()
        rank = len(self.shape(ins[0]))
        nchw = {0: 0, 1: 2, 2: 3, 3: 1}
        axes = sorted(nchw[int(a) % rank] for a in np.atleast_1d(axes))
        if rank != 4 or not keep:
            raise ConversionError("MEAN is supported on 4-D tensors with keep_dims only")
        if axes == [2, 3]:
            self.node("GlobalAveragePool", [self.value(ins[0])], outs[0])
        else:
            self.node("ReduceMean", [self.value(ins[0])], outs[0], axes=axes, keepdims=1)

    def _op_RESIZE_BILINEAR(self, op, ins, outs):
        opts = self.options(op, "ResizeBilinearOptions")
        size = self.const(ins[1])
        if size is None:
            raise ConversionError("RESIZE_BILINEAR needs a constant size")
        n, _, _, c = self.shape(ins[0])
        if opts.AlignCorners():
            mode = "align_corners"
        elif opts.HalfPixelCenters():
            mode = "half_pixel"
        else:
            mode = "asymmetric"   # TFLite's legacy sampling: x_in = x_out * in / out
        sizes = self.initializer("sizes", np.array([n, c, int(size[0]), int(size[1])], np.int64))
        self.node("Resize", [self.value(ins[0]), "", "", sizes], outs[0], mode="linear",
                  coordinate_transformation_mode=mode)

    # -- model --------------------------------------------------------------------------------
    def build(self, source: str, digest: str):
        import onnx
        from onnx import TensorProto, helper, numpy_helper

        g = self.graph
        if g.InputsLength() != 1 or g.OutputsLength() != 1:
            raise ConversionError("expected one input and one output")
        t_in, t_out = g.Inputs(0), g.Outputs(0)
        in_shape, out_shape = self.shape(t_in), self.shape(t_out)
        self.names[t_in] = self.node("Transpose", ["input"], perm=[0, 3, 1, 2])
        self.convert()
        self.nodes.append(helper.make_node("Transpose", [self.names[t_out]], ["mask"], name="mask", perm=[0, 2, 3, 1]))
        nodes = self._compact()
        inits = [numpy_helper.from_array(v, k) for k, v in self.initializers.items()]
        graph = helper.make_graph(
            nodes, "selfie_segmentation",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, in_shape)],
            [helper.make_tensor_value_info("mask", TensorProto.FLOAT, out_shape)],
            inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="vcam convert_tflite_to_onnx", producer_version="1")
        model.ir_version = 8   # readable by onnxruntime 1.14 and later
        model.doc_string = (f"MediaPipe selfie segmentation, converted from {source} (sha256 {digest}). "
                            "Apache-2.0, Copyright Google LLC. Input: RGB float32 in [0, 1], NHWC. "
                            "Output: person probability, NHWC.")
        for key, value in (("vcam.model_type", "selfie"), ("vcam.input_range", "0,1"),
                           ("source", source), ("source_sha256", digest), ("license", "Apache-2.0")):
            model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
        onnx.checker.check_model(model, full_check=True)
        return model

    def _compact(self) -> list:
        """Store float initializers that are exact in float16 as float16, widened by one Cast
        each (TFLite's DEQUANTIZE): half the file, the same numbers."""
        from onnx import TensorProto, helper

        casts = []
        for name in list(self.initializers):
            v = self.initializers[name]
            if v.dtype == np.float32 and v.size > 1 and np.array_equal(v.astype(np.float16).astype(np.float32), v):
                self.initializers[f"{name}_f16"] = v.astype(np.float16)
                del self.initializers[name]
                casts.append(helper.make_node("Cast", [f"{name}_f16"], [name], name=f"{name}_cast", to=TensorProto.FLOAT))
        return casts + self.nodes


def convert(tflite_path: Path, onnx_path: Path, source: Optional[str] = None) -> Path:
    """Convert one TFLite file to ONNX; returns ``onnx_path``."""
    import onnx

    buf = Path(tflite_path).read_bytes()
    try:
        converter = _Converter(buf)
    except ConversionError:
        raise
    except Exception as exc:   # the flatbuffer reader fails in many ways on a file that is not one
        raise ConversionError(f"cannot read {tflite_path} as a TFLite model ({exc!r})") from None
    model = converter.build(source or Path(tflite_path).name, hashlib.sha256(buf).hexdigest())
    onnx_path = Path(onnx_path)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(onnx_path))
    return onnx_path


def _mediapipe():
    try:
        import mediapipe
    except ImportError as exc:
        raise ConversionError(f"the bundled models' TFLite files come from mediapipe 0.10.21, which cannot be "
                              f"imported ({exc}): pip install '.[convert]' on Python 3.10 to 3.12, or give "
                              "INPUT.tflite OUTPUT.onnx") from None
    return mediapipe


def bundled_tflite(name: str) -> Path:
    """The TFLite file of bundled model ``name`` inside the installed mediapipe package."""
    return Path(_mediapipe().__file__).resolve().parent / BUNDLED[name][0]


def convert_bundled(out_dir: Path = HERE) -> list[Path]:
    mediapipe = _mediapipe()

    done = []
    for name, (inside, out_name) in BUNDLED.items():
        done.append(convert(bundled_tflite(name), Path(out_dir) / out_name,
                            source=f"mediapipe {mediapipe.__version__} {inside}"))
    return done


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", nargs="?", type=Path, help="a .tflite file (default: both bundled MediaPipe models)")
    ap.add_argument("output", nargs="?", type=Path, help="the .onnx file to write")
    ap.add_argument("--out-dir", type=Path, default=HERE, help="where the bundled models go (default: models/)")
    args = ap.parse_args(argv)
    try:
        if args.input is None:
            paths = convert_bundled(args.out_dir)
        elif args.output is None:
            ap.error("give both INPUT.tflite and OUTPUT.onnx")
        else:
            paths = [convert(args.input, args.output)]
    except (ConversionError, OSError) as exc:
        print(f"convert: error: {exc}", file=sys.stderr)
        return 2
    for p in paths:
        print(f"wrote {p} ({p.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
