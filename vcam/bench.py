"""``vcam bench``: the real pipeline, measured. Nothing here processes a frame itself.

Each run has two phases on the same settings:

1. throughput: the source unpaced (every frame goes through, none dropped) and output pacing
   off, so the stages run as fast as they can: end-to-end fps, per-stage median and 95th
   percentile, and ``processing_ms`` (the median of each frame's segment + matte + composite +
   convert + output time; decode and pacing excluded);
2. live: the source paced at the target rate and the output paced, as on a call: CPU per frame,
   CPU use in % of one core, the latency added from capture to send, and
   ``live_processing_ms`` (the same sum per frame when frames come at the target rate: often
   higher than unpaced, as caches and the CPU clock cool between frames).
"""
from __future__ import annotations

import dataclasses
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from vcam.config import OutputSettings, Settings
from vcam.errors import VcamError
from vcam.fileio import user_paths
from vcam.live.pipeline import Pipeline
from vcam.live.sources import PreloadedSource, open_source
from vcam.live.stats import OPTIONAL, PROCESSING, STAGES

Progress = Callable[[int, int, str], None]


class DiscardBackend:
    """A pyvirtualcam backend that drops frames but, like v4l2loopback, asks for I420: so the
    benchmark pays for pyvirtualcam's checks and our one colour conversion, as live does."""

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: Optional[str], **kw) -> None:
        self._device = device or "discard"

    def send(self, frame: np.ndarray) -> None:
        pass

    def close(self) -> None:
        pass

    def device(self) -> str:
        return self._device

    def native_fourcc(self) -> int:
        from pyvirtualcam.util import encode_fourcc

        return encode_fourcc("I420")


def _register_discard() -> None:
    import pyvirtualcam

    pyvirtualcam.register_backend("discard", DiscardBackend)


@dataclass(frozen=True)
class Run:
    source: str               # demo, or a video/picture file (scaled to ``size``)
    size: tuple[int, int]
    settings: Settings
    frames: int = 150
    fps: float = 30.0         # the live phase's target rate
    sink: str = "virtual"     # virtual (pyvirtualcam, discarding backend) or null
    preload: int = 0          # read this many frames first and replay them (decoding left out)


def _phase(run: Run, *, live: bool, progress: Optional[Progress], label: str) -> tuple[dict, float, float]:
    capture = run.settings.capture.replace(source=run.source, width=run.size[0], height=run.size[1], fps=run.fps)
    output = OutputSettings(target="virtual" if run.sink == "virtual" else "null",
                            backend="discard" if run.sink == "virtual" else None, fps=run.fps, pacing=live)
    settings = run.settings.replace(capture=capture, output=output)
    source = open_source(capture, live=live)
    if run.preload:
        source = PreloadedSource(source, run.size, run.preload, live=live)
    pipeline = Pipeline(settings, max_frames=run.frames, source=source, size=run.size, stats_window=run.frames)
    try:
        pipeline.start()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        while not pipeline.wait(0.2):
            if progress is not None:
                progress(pipeline.frames_processed, run.frames, label)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    finally:
        pipeline.close()
    snap = pipeline.stats()
    if snap["error"]:
        raise VcamError(f"benchmark run failed: {snap['error']}", "run `vcam run` with the same options to see why")
    if progress is not None:
        progress(snap["frames"], run.frames, label)
    return snap, wall, cpu


def measure(run: Run, progress: Optional[Progress] = None) -> dict:
    """One run object: settings, throughput figures, live figures."""
    if run.sink == "virtual":
        _register_discard()
    name = f"{run.size[0]}x{run.size[1]} {run.settings.effect.effect}"
    fast, _, _ = _phase(run, live=False, progress=progress, label=f"{name} throughput")
    live, live_wall, live_cpu = _phase(run, live=True, progress=progress, label=f"{name} live")
    frames = max(live["frames"], 1)
    return {
        "source": run.source,
        "resolution": f"{run.size[0]}x{run.size[1]}",
        "effect": run.settings.effect.effect,
        "backend": run.settings.segment.backend,
        "model": run.settings.segment.model,
        "light": dataclasses.asdict(run.settings.light),
        "segmenter": fast.get("segmenter"),
        "sink": run.sink,
        "preload": run.preload,
        "frames": fast["frames"],
        "processing_ms": fast["processing_ms"],
        "processing_mean_ms": fast["processing_mean_ms"],
        "model_share": fast.get("model_share"),
        "fps": fast["fps"],
        "stages": {s: fast["stages"][s] for s in STAGES if s in fast["stages"]},
        "live_processing_ms": live["processing_ms"],
        "live_model_share": live.get("model_share"),
        "target_fps": run.fps,
        "live_fps": frames / live_wall if live_wall > 0 else 0.0,
        "latency_ms": live["latency_ms"],
        "latency_p95_ms": live["latency_p95_ms"],
        "cpu_ms_per_frame": 1000.0 * live_cpu / frames,
        "cpu_percent": 100.0 * live_cpu / live_wall if live_wall > 0 else 0.0,
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def _stages(results: list[dict]) -> list[str]:
    """The stages to show: every one that always runs, and those turned on (denoise, light) in
    any of ``results``."""
    return [s for s in STAGES if s not in OPTIONAL or any(s in r["stages"] for r in results)]


def _percent(share: Optional[float]) -> str:
    return "-" if share is None else f"{100 * share:.0f}"


def table(results: list[dict]) -> str:
    """A plain-text table, one line per run."""
    shown = _stages(results)
    head = (f"{'run':<22} {'fps':>6} {'proc ms':>8} " + " ".join(f"{s[:9]:>9}" for s in shown)
            + f" {'lat ms':>7} {'cpu%':>5} {'cpu ms/f':>8} {'model%':>6} {'MB':>5}")
    lines = [head, "-" * len(head)]
    for r in results:
        stages = " ".join(f"{r['stages'].get(s, {}).get('median_ms', 0.0):9.2f}" for s in shown)
        lines.append(f"{r['resolution'] + ' ' + r['effect']:<22} {r['fps']:6.1f} {r['processing_ms']:8.2f} {stages}"
                     f" {r['latency_ms']:7.1f} {r['cpu_percent']:5.0f} {r['cpu_ms_per_frame']:8.2f}"
                     f" {_percent(r.get('live_model_share')):>6} {r['peak_memory_mb']:5.0f}")
    lines.append(f"stage columns: median ms (throughput phase); processing = {' + '.join(s for s in PROCESSING if s in shown)}; "
                 f"latency, CPU and the share of frames the model ran on at the target fps (live phase)")
    segmenters = sorted({r["segmenter"] for r in results if r.get("segmenter")})
    if segmenters:
        lines.append(f"segmenter: {', '.join(segmenters)}")
    return "\n".join(lines)


def chart_series(results: list[dict]) -> dict[str, list[float]]:
    """The plot's stacks: per run, the processing stages (capture is not processing), each its
    share of the run's ``processing_ms`` by its median, so that every bar is as tall as the
    table's and the JSON's processing figure (the median of per-frame sums is not the sum of the
    stages' medians)."""
    stages = [s for s in _stages(results) if s in PROCESSING]
    series: dict[str, list[float]] = {s: [] for s in stages}
    for r in results:
        medians = [r["stages"].get(s, {}).get("median_ms", 0.0) for s in stages]
        scale = r["processing_ms"] / sum(medians) if sum(medians) > 0 else 0.0
        for s, m in zip(stages, medians):
            series[s].append(m * scale)
    return series


def plot(results: list[dict], path: str) -> None:
    """A stacked bar per run, as tall as its processing figure and split by stage (see
    :func:`chart_series`), as a PNG (drawn with Qt, which every install has), written whole or
    not at all."""
    from vcam.bench_chart import stacked_bars
    from vcam.fileio.pictures import write_image

    check_plot_path(path)
    labels = [f"{r['resolution']}\n{r['effect']}" for r in results]
    picture = stacked_bars(labels, chart_series(results), title="vcam processing per frame, by stage",
                           ylabel="processing ms per frame (median)")
    write_image(Path(path), picture)


def check_plot_path(path: str) -> None:
    """Refuse a chart name that cannot be written before the benchmark runs, not after."""
    if Path(path).suffix.lower() != ".png":
        raise VcamError(f"--plot {path}: the chart is a PNG picture", "give a name ending in .png")
    user_paths.output_file(path, "--plot")


def check_preload(count: int, sizes: list[tuple[int, int]]) -> None:
    """Refuse, before anything runs, a preload that would not fit in memory at the largest size."""
    if count > 0:
        PreloadedSource.check(count, max(sizes, key=lambda s: s[0] * s[1]))


def parse_resolution(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise VcamError(f"cannot read resolution {text!r}", "write it as WIDTHxHEIGHT, e.g. 1280x720") from None
    if not (16 <= w <= 7680 and 16 <= h <= 4320):
        raise VcamError(f"resolution {text} is out of range", "use 16x16 to 7680x4320")
    return w, h
