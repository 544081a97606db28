"""Running per-stage timings, output rate, latency and CPU use of the pipeline."""
from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

STAGES = ("capture", "segment", "matte", "denoise", "light", "composite", "convert", "output")
# What a frame costs the pipeline once it has been captured: decode and pacing are not in it.
PROCESSING = ("segment", "matte", "denoise", "light", "composite", "convert", "output")
OPTIONAL = ("denoise", "light")   # timed only where turned on


class Stats:
    """Filled by the output thread, one call per frame sent; read by anyone via :meth:`snapshot`."""

    def __init__(self, window: int = 120) -> None:
        self._lock = threading.Lock()
        self._times = {s: deque(maxlen=window) for s in STAGES}
        self._latency = deque(maxlen=window)
        self._processing = deque(maxlen=window)
        self._sent = deque(maxlen=window)
        self.frames = 0
        self.repeats = 0
        self._cpu_mark = (time.perf_counter(), time.process_time())
        self._cpu = 0.0

    def record(self, times: dict, t_capture: float, t_sent: float) -> None:
        with self._lock:
            for stage, seconds in times.items():
                if stage in self._times:
                    self._times[stage].append(seconds)
            self._latency.append(t_sent - t_capture)
            self._processing.append(sum(times.get(s, 0.0) for s in PROCESSING))
            self._sent.append(t_sent)
            self.frames += 1

    def record_repeat(self) -> None:
        with self._lock:
            self.repeats += 1

    def snapshot(self) -> dict:
        """fps, frames, repeats, latency_ms (median, and latency_p95_ms), processing_ms (median
        of each frame's sum of PROCESSING stages; processing_mean_ms, their mean: what frames
        cost on average where some skip the model), cpu_percent (of one core, since the last
        snapshot), and for each stage its median and 95th-percentile milliseconds."""
        with self._lock:
            times = {s: list(d) for s, d in self._times.items()}
            latency = list(self._latency)
            processing = list(self._processing)
            sent = list(self._sent)
            frames, repeats = self.frames, self.repeats
        wall, cpu = time.perf_counter(), time.process_time()
        if wall - self._cpu_mark[0] > 0.2:
            self._cpu = 100.0 * (cpu - self._cpu_mark[1]) / (wall - self._cpu_mark[0])
            self._cpu_mark = (wall, cpu)
        fps = (len(sent) - 1) / (sent[-1] - sent[0]) if len(sent) > 1 and sent[-1] > sent[0] else 0.0
        stages = {}
        for stage, values in times.items():
            if values:
                ms = np.asarray(values, np.float32) * 1000
                stages[stage] = {"median_ms": float(np.median(ms)), "p95_ms": float(np.percentile(ms, 95))}
        return {
            "frames": frames,
            "repeats": repeats,
            "fps": fps,
            "latency_ms": float(np.median(latency) * 1000) if latency else 0.0,
            "latency_p95_ms": float(np.percentile(latency, 95) * 1000) if latency else 0.0,
            "processing_ms": float(np.median(processing) * 1000) if processing else 0.0,
            "processing_mean_ms": float(np.mean(processing) * 1000) if processing else 0.0,
            "cpu_percent": self._cpu,
            "stages": stages,
        }


def format_line(snap: dict) -> str:
    """One human line: fps, latency, CPU, per-stage median ms."""
    head = (f"{snap['fps']:5.1f} fps | processing {snap['processing_ms']:5.1f} ms | latency {snap['latency_ms']:5.1f} ms"
            f" | cpu {snap['cpu_percent']:4.0f}%")
    line = head + " | ms: " + " ".join(f"{s} {v['median_ms']:.1f}" for s, v in snap["stages"].items())
    line += f" | {snap['segmenter']}" if snap.get("segmenter") else ""
    line += f" | model on {100 * snap['model_share']:.0f}% of frames" if snap.get("model_share") is not None else ""
    line += " | camera released: no app is using vcam" if snap.get("camera_released") else ""
    return line + (f" | {snap['error']}" if snap.get("error") else "")
