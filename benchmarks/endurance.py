"""Endurance: a long soak, many starts and stops, many live switches, through the real pipeline.

    python benchmarks/endurance.py [--frames 20000] [--cycles 100] [--switches 1000] [--json]
    python benchmarks/endurance.py --only soak --frames 2000

1. soak: ``--frames`` frames of the demo source, unpaced, through the whole pipeline (segment,
   matte, default blur, the RGB->I420 conversion a v4l2loopback device needs, pyvirtualcam) into a
   backend that counts them. Resident memory after a warm-up of 500 frames, at the end and after
   ``close()``; its growth from the warm-up to the end; frames per second; vcam threads left.
2. start/stop: ``--cycles`` times start, a few frames, close. Resident memory and open files
   after the first cycle and after the last; vcam threads left; devices opened and closed.
3. switching: the demo paced at 30 fps, output paced, into a backend that notes when each frame
   arrives; ``--switches`` calls of ``Pipeline.update()`` cycling the effect (none, blur, bokeh,
   colour, replace with each shipped background in turn), the smoothing, and every fifth switch
   the segmentation backend (onnx, mediapipe). After each switch it waits for two new frames, so
   every switch is used. Reports failed updates, pipeline errors, frames received and the gaps
   between frames at the virtual camera in frame intervals (the output stage repeats its last
   frame when no new one comes within 1.5 intervals, so the longest gap should stay near 2 even
   while a new segmenter loads). Both backends' libraries are imported at start, as the panel
   does (``Pipeline(preload=...)``); ``--first-switch`` measures one switch to mediapipe in a
   fresh process with and without that.

Nothing here processes a frame itself; the figures come from ``Pipeline`` and pyvirtualcam's own
backend registry. ``tests/test_endurance.py`` runs short versions of the three.
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import sys
import threading
import time
from typing import Callable, Optional

import numpy as np

from vcam import CaptureSettings, EffectSettings, MatteSettings, OutputSettings, Pipeline, SegmentSettings, Settings, open_source
from vcam.system.resources import backgrounds

WARM_UP = 500                     # soak frames before the first memory reading
GAP_BOUNDS = (1.5, 2.0, 3.0, 5.0)  # gaps counted when longer than these many frame intervals
LONG_GAP, LONG_GAPS = 3.0, 200     # gaps longer than this are kept (the first 200) to be explained
BACKEND = "endurance"             # the arrival-timing pyvirtualcam backend, asking RGB
BACKEND_I420 = "endurance-i420"   # the same, asking I420 as v4l2loopback does

Progress = Callable[[str], None]


# -- what the virtual camera sees ---------------------------------------------------------------

class ArrivalBackend:
    """A pyvirtualcam backend that keeps no frame, only counts: frames, new frames (a repeat
    comes in the same buffer as the frame before it; that holds only for RGB, where the sink
    sends the pipeline's own buffers), and the gaps between arrivals, in frame intervals
    (``1/fps`` as the camera was opened with). Constant memory however long the run.
    ``instances`` lists every camera opened, so a caller can reach the one a pipeline opened."""

    NATIVE: Optional[str] = None
    instances: list["ArrivalBackend"] = []

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: Optional[str], **kw) -> None:
        self._device = device or "endurance"
        self.interval = 1.0 / fps
        self._cond = threading.Condition()
        self.count = 0
        self.fresh = 0
        self.closed = 0
        self.longest_gap = 0.0            # seconds
        self.gaps_over = {b: 0 for b in GAP_BOUNDS}
        self.long_gaps: list[tuple[float, float]] = []   # (end time, intervals), the first LONG_GAPS
        self._last_t: Optional[float] = None
        self._last_address = None
        type(self).instances.append(self)

    def send(self, frame: np.ndarray) -> None:
        now = time.perf_counter()
        address = frame.__array_interface__["data"][0]
        with self._cond:
            if self._last_t is not None:
                gap = (now - self._last_t) / self.interval
                self.longest_gap = max(self.longest_gap, gap)
                for bound in GAP_BOUNDS:
                    self.gaps_over[bound] += gap > bound
                if gap > LONG_GAP and len(self.long_gaps) < LONG_GAPS:
                    self.long_gaps.append((now, gap))
            self._last_t = now
            self.count += 1
            self.fresh += address != self._last_address
            self._last_address = address
            self._cond.notify_all()

    def close(self) -> None:
        self.closed += 1

    def device(self) -> str:
        return self._device

    def native_fourcc(self):
        if self.NATIVE is None:
            return None
        from pyvirtualcam.util import encode_fourcc

        return encode_fourcc(self.NATIVE)

    def restart_gaps(self) -> int:
        """Forget the longest gap so far; returns the frames arrived until now."""
        with self._cond:
            self.longest_gap = 0.0
            return self.count

    def wait_count(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` frames in all have arrived."""
        with self._cond:
            return self._cond.wait_for(lambda: self.count >= count, timeout)

    def wait_fresh(self, fresh: int, timeout: float) -> bool:
        """Wait until ``fresh`` new (not repeated) frames in all have arrived."""
        with self._cond:
            return self._cond.wait_for(lambda: self.fresh >= fresh, timeout)

    def gaps(self) -> dict:
        with self._cond:
            return {"longest_gap_intervals": round(self.longest_gap, 2),
                    "gaps_over": {f"{b:g}": n for b, n in self.gaps_over.items()}}


class ArrivalBackendI420(ArrivalBackend):
    NATIVE = "I420"


def register_backends() -> None:
    """Register the two arrival backends with pyvirtualcam (idempotent)."""
    import pyvirtualcam

    pyvirtualcam.register_backend(BACKEND, ArrivalBackend)
    pyvirtualcam.register_backend(BACKEND_I420, ArrivalBackendI420)


# -- the process --------------------------------------------------------------------------------

def rss_mb() -> float:
    """Resident memory now, in MB (Linux); elsewhere the peak so far."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def open_files() -> Optional[int]:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


def vcam_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("vcam-") and t.is_alive())


def settings_for(width: int, height: int, fps: float, backend: str, *, pacing: bool,
                 effect: Optional[EffectSettings] = None) -> Settings:
    return Settings(capture=CaptureSettings(source="demo", width=width, height=height, fps=fps),
                    effect=effect or EffectSettings(),
                    output=OutputSettings(target="virtual", backend=backend, fps=fps, pacing=pacing))


def _note(progress: Optional[Progress], text: str) -> None:
    if progress is not None:
        progress(text)


def _started(settings: Settings, *, live: bool, max_frames: Optional[int] = None,
             preload: tuple[str, ...] = ()) -> tuple[Pipeline, ArrivalBackend]:
    backend = {BACKEND: ArrivalBackend, BACKEND_I420: ArrivalBackendI420}[settings.output.backend]
    opened = len(backend.instances)
    pipeline = Pipeline(settings, source=open_source(settings.capture, live=live), max_frames=max_frames,
                        preload=preload)
    pipeline.start()
    # An I420 camera is opened twice: asked for RGB first, closed when it says it wants I420.
    if len(backend.instances) == opened or any(c.closed != 1 for c in backend.instances[opened:-1]):
        pipeline.close()
        raise RuntimeError(f"the pipeline opened {len(backend.instances) - opened} cameras and left "
                           f"more than the last one open")
    return pipeline, backend.instances[-1]


# -- 1. soak ------------------------------------------------------------------------------------

def soak(frames: int = 20_000, *, size: tuple[int, int] = (640, 480), effect: str = "blur",
         warm_up: int = WARM_UP, progress: Optional[Progress] = None, timeout: float = 3600.0) -> dict:
    """``frames`` frames unpaced through the pipeline; memory after ``warm_up`` frames and at the end."""
    register_backends()
    warm_up = min(warm_up, max(frames // 2, 1))
    settings = settings_for(*size, 30.0, BACKEND_I420, pacing=False, effect=EffectSettings(effect))
    pipeline, cam = _started(settings, live=False, max_frames=frames)
    try:
        if not cam.wait_count(warm_up, timeout):
            raise RuntimeError(f"soak: fewer than {warm_up} frames within {timeout:g} s: {pipeline.stats()['error']}")
        gc.collect()
        rss_warm = rss_mb()
        t0, n0 = time.perf_counter(), pipeline.frames_sent
        peak = rss_warm
        step, reported = max(frames // 20, 1), 0
        while not pipeline.wait(1.0):
            peak = max(peak, rss_mb())
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError(f"soak: not finished within {timeout:g} s ({cam.count} frames)")
            if cam.count // step > reported:
                reported = cam.count // step
                _note(progress, f"soak {cam.count}/{frames} frames, {rss_mb():.1f} MB")
        wall = time.perf_counter() - t0
        n1 = pipeline.frames_sent
        gc.collect()
        rss_end = rss_mb()
        error = pipeline.stats()["error"]
    finally:
        pipeline.close()
    gc.collect()
    return {
        "frames": pipeline.frames_sent,   # new frames; the device may also get repeats
        "received": cam.count,
        "size": f"{size[0]}x{size[1]}",
        "effect": effect,
        "segmenter": pipeline.stats()["segmenter"],
        "warm_up_frames": warm_up,
        "rss_warm_mb": round(rss_warm, 1),
        "rss_end_mb": round(rss_end, 1),
        "rss_peak_mb": round(max(peak, rss_end), 1),
        "rss_growth_mb": round(rss_end - rss_warm, 1),
        "rss_after_close_mb": round(rss_mb(), 1),
        "fps": round((n1 - n0) / wall, 1) if wall > 0 else 0.0,
        "device_closed": cam.closed,
        "threads_left": vcam_threads(),
        "error": error,
    }


# -- 2. start/stop ------------------------------------------------------------------------------

def start_stop(cycles: int = 100, *, frames: int = 3, size: tuple[int, int] = (640, 480),
               progress: Optional[Progress] = None, timeout: float = 60.0) -> dict:
    """``cycles`` times: start, ``frames`` frames, close."""
    register_backends()
    settings = settings_for(*size, 30.0, BACKEND_I420, pacing=False)
    opened = len(ArrivalBackendI420.instances)
    rss_first = files_first = None
    errors: list[str] = []
    short = 0
    trail: list[float] = []   # RSS after every tenth of the cycles (no collection forced)
    t0 = time.perf_counter()
    for i in range(cycles):
        pipeline, cam = _started(settings, live=False, max_frames=frames)
        try:
            if not pipeline.wait(timeout) or cam.count < frames:
                short += 1
            error = pipeline.stats()["error"]
            if error:
                errors.append(error)
        finally:
            pipeline.close()
        if i == 0:
            gc.collect()
            rss_first, files_first = rss_mb(), open_files()
        if (i + 1) % max(cycles // 10, 1) == 0:
            trail.append(round(rss_mb(), 1))
            _note(progress, f"start/stop {i + 1}/{cycles}, {trail[-1]} MB")
    wall = time.perf_counter() - t0
    gc.collect()
    rss_last, files_last = rss_mb(), open_files()
    cams = ArrivalBackendI420.instances[opened:]
    return {
        "cycles": cycles,
        "frames_per_cycle": frames,
        "seconds_per_cycle": round(wall / max(cycles, 1), 3),
        "rss_after_first_mb": round(rss_first, 1),
        "rss_after_last_mb": round(rss_last, 1),
        "rss_growth_mb": round(rss_last - rss_first, 1),
        "rss_every_tenth_mb": trail,
        "open_files_after_first": files_first,
        "open_files_after_last": files_last,
        "devices_opened": len(cams),
        "devices_closed": sum(c.closed == 1 for c in cams),
        "short_cycles": short,   # cycles that ended before their frames came
        "errors": errors,
        "threads_left": vcam_threads(),
    }


# -- 3. switching while running ---------------------------------------------------------------

EFFECTS = ("none", "blur", "bokeh", "color", "replace")
SMOOTHING = (0.0, 0.5, 0.9)


def segmenters() -> tuple[SegmentSettings, SegmentSettings]:
    """What every fifth switch alternates between: the two backends, or, where the optional
    mediapipe backend is not installed, the two bundled models (also a new segmenter each time)."""
    if importlib.util.find_spec("mediapipe") is not None:
        return SegmentSettings(backend="onnx"), SegmentSettings(backend="mediapipe")
    return SegmentSettings(backend="onnx", model="general"), SegmentSettings(backend="onnx", model="landscape")


def switch_schedule(switches: int, base: Settings) -> list[Settings]:
    """The settings of each switch: effect every time, smoothing every time, backend every fifth
    switch; each ``replace`` takes the next shipped background."""
    shipped = [str(p) for p in backgrounds()]
    segs = segmenters()
    out = []
    replaced = 0
    for i in range(switches):
        effect = EFFECTS[i % len(EFFECTS)]
        if effect == "replace":
            e = EffectSettings("replace", background=shipped[replaced % len(shipped)])
            replaced += 1
        elif effect == "color":
            e = EffectSettings("color", color=(i * 37 % 256, 177, 64))
        else:
            e = EffectSettings(effect, blur=8.0 + 4 * (i % 4))
        out.append(base.replace(effect=e, matte=MatteSettings(smoothing=SMOOTHING[i % len(SMOOTHING)]),
                                segment=segs[(i // 5) % len(segs)]))
    return out


def _describe(previous: Settings, settings: Settings, seen: set) -> str:
    """What a switch changes, with "(first)" on what this run had not used before."""
    parts = []
    label = lambda s: f"{s.segment.backend}/{s.segment.model}"  # noqa: E731
    for kind, old, new in (("backend", label(previous), label(settings)),
                           ("effect", previous.effect.effect, settings.effect.effect)):
        if new != old:
            parts.append(f"{kind} {new}" + (" (first)" if (kind, new) not in seen else ""))
            seen.add((kind, new))
    return ", ".join(parts) or "smoothing only"


def switching(switches: int = 1000, *, size: tuple[int, int] = (640, 480), fps: float = 30.0,
              fresh_per_switch: int = 2, progress: Optional[Progress] = None, timeout: float = 30.0) -> dict:
    """``switches`` live updates while the demo runs paced at ``fps``. Every gap longer than
    ``LONG_GAP`` intervals is put down to the switch made last before it ended."""
    register_backends()
    base = settings_for(*size, fps, BACKEND, pacing=True)
    schedule = switch_schedule(switches, base)
    failed: list[str] = []
    stalls = 0   # switches after which no new frame came within ``timeout``
    seen = {("backend", base.segment.backend), ("effect", base.effect.effect)}
    what = [_describe(a, b, seen) for a, b in zip([base] + schedule, schedule)]
    started_at: list[float] = []
    # Every backend imported before publishing starts, as the panel does (a first import while
    # publishing competes with the output thread for the interpreter lock).
    pipeline, cam = _started(base, live=True, preload=tuple({s.backend for s in segmenters()}))
    try:
        if not cam.wait_fresh(fresh_per_switch, timeout):
            raise RuntimeError(f"switching: no frame within {timeout:g} s: {pipeline.stats()['error']}")
        t0 = time.perf_counter()
        for i, settings in enumerate(schedule):
            started_at.append(time.perf_counter())
            try:
                pipeline.update(settings)
            except Exception as exc:   # counted and reported: none is expected
                failed.append(f"switch {i}: {type(exc).__name__}: {exc}")
            if not cam.wait_fresh(cam.fresh + fresh_per_switch, timeout):
                stalls += 1
            if (i + 1) % max(switches // 10, 1) == 0:
                _note(progress, f"switching {i + 1}/{switches}, longest gap "
                                f"{cam.longest_gap:.2f} intervals")
        wall = time.perf_counter() - t0
        stats = pipeline.stats()
        alive = pipeline.alive
    finally:
        pipeline.close()
    long_gaps = []
    for end, gap in cam.long_gaps:
        i = int(np.searchsorted(started_at, end)) - 1
        long_gaps.append({"intervals": round(gap, 2), "after_switch": i, "switch": what[i] if i >= 0 else "start"})
    later = [g["intervals"] for g in long_gaps if "(first)" not in g["switch"]]
    return {
        "switches": switches,
        "backend_loads": sum(1 for w in what if "backend" in w),
        "seconds": round(wall, 1),
        "fps": fps,
        "failed_updates": failed,
        "stalls": stalls,
        "error": stats["error"],
        "running_at_end": alive,
        "frames": cam.count,
        "new_frames": cam.fresh,
        "repeated_frames": cam.count - cam.fresh,
        "frames_per_interval": round(cam.count / (wall * fps), 3) if wall > 0 else 0.0,
        **cam.gaps(),
        "long_gaps": long_gaps,
        # the longest gap over LONG_GAP not put down to the first use of a backend or effect
        "longest_gap_after_first_uses": max(later, default=None),
        "segmenter_at_end": stats["segmenter"],
        "threads_left": vcam_threads(),
    }


# -- 4. the first switch to mediapipe in a process -------------------------------------------

def first_switch(preload: bool, *, size: tuple[int, int] = (640, 480), fps: float = 30.0,
                 fresh: int = 30, timeout: float = 60.0) -> dict:
    """One live switch from onnx to mediapipe, the first use of mediapipe in this process (run it
    in a fresh one): the longest gap at the virtual camera from the switch until ``fresh`` new
    frames have come, in frame intervals, and the modules the switch imported. ``preload``: the
    pipeline imported mediapipe at start, as the panel's does."""
    register_backends()
    if "mediapipe" in sys.modules:
        raise RuntimeError("first_switch: mediapipe is already imported in this process")
    base = settings_for(*size, fps, BACKEND, pacing=True)
    pipeline, cam = _started(base, live=True, preload=("mediapipe",) if preload else ())
    try:
        if not cam.wait_fresh(fresh, timeout):
            raise RuntimeError(f"first_switch: no frame within {timeout:g} s: {pipeline.stats()['error']}")
        before = set(sys.modules)
        sent = cam.restart_gaps()
        t0 = time.perf_counter()
        pipeline.update(base.replace(segment=SegmentSettings(backend="mediapipe")))
        update_s = time.perf_counter() - t0
        imported = sorted(set(sys.modules) - before)
        arrived = cam.wait_fresh(cam.fresh + fresh, timeout)
        gaps = cam.gaps()
        stats = pipeline.stats()
    finally:
        pipeline.close()
    return {
        "preload": preload,
        "update_s": round(update_s, 3),
        "frames_after_switch": cam.count - sent,
        "fresh_frames_arrived": arrived,
        "longest_gap_intervals": gaps["longest_gap_intervals"],
        "modules_imported_by_switch": len(imported),
        "packages_imported_by_switch": sorted({m.split(".")[0] for m in imported}),
        "segmenter": stats["segmenter"],
        "error": stats["error"],
    }


# -- the command --------------------------------------------------------------------------------

def summary(results: dict) -> str:
    lines = []
    s = results.get("soak")
    if s:
        lines.append(f"soak: {s['frames']} frames {s['size']} {s['effect']} ({s['segmenter']}) at {s['fps']} fps; "
                     f"RSS {s['rss_warm_mb']} MB after {s['warm_up_frames']} frames, {s['rss_end_mb']} MB at the end "
                     f"(growth {s['rss_growth_mb']:+} MB, peak {s['rss_peak_mb']} MB, {s['rss_after_close_mb']} MB "
                     f"after close); vcam threads left: {s['threads_left'] or 'none'}; error: {s['error'] or 'none'}")
    c = results.get("start_stop")
    if c:
        lines.append(f"start/stop: {c['cycles']} cycles of {c['frames_per_cycle']} frames, {c['seconds_per_cycle']} s each; "
                     f"RSS {c['rss_after_first_mb']} -> {c['rss_after_last_mb']} MB ({c['rss_growth_mb']:+} MB; "
                     f"every tenth: {', '.join(map(str, c['rss_every_tenth_mb']))}); "
                     f"open files {c['open_files_after_first']} -> {c['open_files_after_last']}; devices opened "
                     f"{c['devices_opened']}, closed {c['devices_closed']}; short cycles {c['short_cycles']}; "
                     f"errors {len(c['errors'])}; vcam threads left: {c['threads_left'] or 'none'}")
    w = results.get("switching")
    if w:
        over = ", ".join(f"> {b}: {n}" for b, n in w["gaps_over"].items())
        lines.append(f"switching: {w['switches']} switches ({w['backend_loads']} backend loads) in {w['seconds']} s at "
                     f"{w['fps']:g} fps; failed updates {len(w['failed_updates'])}, stalls {w['stalls']}, error: "
                     f"{w['error'] or 'none'}, running at the end: {w['running_at_end']}; frames {w['frames']} "
                     f"({w['new_frames']} new, {w['repeated_frames']} repeats, {w['frames_per_interval']} per "
                     f"interval); longest gap {w['longest_gap_intervals']} intervals; gaps in intervals {over}; "
                     f"vcam threads left: {w['threads_left'] or 'none'}")
        for g in w["long_gaps"][:20]:
            lines.append(f"  gap of {g['intervals']} intervals after switch {g['after_switch']} ({g['switch']})")
        if len(w["long_gaps"]) > 20:
            lines.append(f"  ... {len(w['long_gaps']) - 20} more")
        later = w["longest_gap_after_first_uses"]
        lines.append(f"  longest gap over {LONG_GAP:g} intervals other than at a backend's or effect's first use: "
                     f"{later if later is not None else 'none'}")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=20_000, help="soak frames (default 20000)")
    ap.add_argument("--cycles", type=int, default=100, help="start/stop cycles (default 100)")
    ap.add_argument("--switches", type=int, default=1000, help="live switches (default 1000)")
    ap.add_argument("--resolution", default="640x480", help="WIDTHxHEIGHT (default 640x480)")
    ap.add_argument("--effect", default="blur", help="the soak's effect (default blur)")
    ap.add_argument("--only", nargs="+", choices=("soak", "start_stop", "switching"), help="run only these parts")
    ap.add_argument("--json", action="store_true", help="print one JSON object; progress goes to standard error")
    ap.add_argument("--first-switch", choices=("preload", "plain"),
                    help="instead: one switch to mediapipe, its first use in this process, with mediapipe "
                         "imported at start (preload, as the panel does) or not (plain); prints JSON")
    args = ap.parse_args(argv)
    if args.first_switch:
        print(json.dumps(first_switch(args.first_switch == "preload"), indent=2))
        return 0
    if min(args.frames, args.cycles, args.switches) < 1:
        ap.error("--frames, --cycles and --switches must be at least 1")
    try:
        size = tuple(int(v) for v in args.resolution.lower().split("x"))
        assert len(size) == 2
    except (ValueError, AssertionError):
        ap.error(f"--resolution must be WIDTHxHEIGHT, got {args.resolution!r}")

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    parts = args.only or ["soak", "start_stop", "switching"]
    results: dict = {"cpus": os.cpu_count()}
    if "soak" in parts:
        results["soak"] = soak(args.frames, size=size, effect=args.effect, progress=progress)
    if "start_stop" in parts:
        results["start_stop"] = start_stop(args.cycles, size=size, progress=progress)
    if "switching" in parts:
        results["switching"] = switching(args.switches, size=size, progress=progress)
    print(json.dumps(results, indent=2) if args.json else summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
