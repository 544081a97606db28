"""ONNX Runtime's session options, measured on the bundled selfie models as vcam runs them.

    python benchmarks/session_options.py [--rounds 30] [--model general landscape]

Each variant is a session of the same model file on the same input (a frame of the demo scene
scaled to the model's input, as vcam feeds it), timed one run at a time with the variants
interleaved round by round, so that a noisy machine treats them alike; each figure is a median in
ms per run, with the wall-clock and the CPU time the process spent (a second pool thread can cut
the wall-clock and cost CPU: what a laptop's fan hears). ``vcam`` is what vcam ships
(``vcam.segment.onnx.OnnxSegmenter._session_options``: its default threads, idle threads that
sleep, every graph optimisation); the others change one thing from it. The figures are in the
docs/performance.md ("ONNX Runtime's session options").
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional

import cv2
import numpy as np
import timing

from vcam.segment.onnx import default_threads
from vcam.system.resources import BUNDLED_MODELS, demo_image, models_dir

VARIANTS = {
    "vcam": {},
    "2 threads": {"threads": 2},
    "threads spin": {"spin": True},
    "extended graph optimisation": {"level": "extended"},
    "denormals as zero": {"denormal": True},
    "no memory pattern": {"pattern": False},
}


def session(ort, path: str, threads: int, spin: bool = False, level: str = "all", denormal: bool = False,
            pattern: bool = True):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    if denormal:
        so.add_session_config_entry("session.set_denormal_as_zero", "1")
    so.enable_mem_pattern = pattern
    so.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if level == "all"
                                   else ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED)
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def measure(model: str, rounds: int) -> dict[str, dict[str, list[float]]]:
    import onnxruntime as ort

    from vcam.system import telemetry

    telemetry.onnxruntime_opened(ort)
    path = str(models_dir() / BUNDLED_MODELS[model])
    sessions = {}
    for name, change in VARIANTS.items():
        options = {"threads": default_threads(), **change}
        sessions[name] = session(ort, path, **options)
    first = next(iter(sessions.values())).get_inputs()[0]
    _, h, w, _ = first.shape
    picture = cv2.cvtColor(cv2.imread(str(demo_image())), cv2.COLOR_BGR2RGB)
    x = cv2.resize(picture, (w, h), interpolation=cv2.INTER_AREA)[None].astype(np.float32) / np.float32(255)
    steps = {name: (lambda i, s=s: s.run(None, {first.name: x})) for name, s in sessions.items()}
    return timing.interleaved(steps, rounds, runs=10, warm=1)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=30, help="rounds of 10 runs per variant (default: 30)")
    ap.add_argument("--model", nargs="+", default=["general", "landscape"], choices=["general", "landscape"])
    args = ap.parse_args(argv)
    for model in args.model:
        timing.report(f"{model}: median ms per run (range over {args.rounds} rounds), and CPU ms",
                      measure(model, args.rounds), width=28)
    return 0


if __name__ == "__main__":
    sys.exit(main())
