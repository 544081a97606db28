"""How long `vcam process` takes for a video, against the video's own length, at the defaults.

    python benchmarks/video_files.py                       # a 60 s 1280x720 talk, the defaults
    python benchmarks/video_files.py --seconds 20 --model modnet --effect blur
    python benchmarks/video_files.py --json

The clip is made here: a real talking-head clip from ``../shared/eval/clips`` (never copied into
the repository) scaled to cover the size and looped to the length, H.264 (CRF 23) with the clip's
own AAC sound looped unchanged; without the evaluation folder, vcam's demo portrait and a tone.
Then ``vcam process CLIP --effect EFFECT -o OUT.mp4`` runs as a user runs it (a fresh process,
the model loaded, every frame decoded, processed, encoded and the sound copied) and is timed
from start to exit. The output is checked: H.264 yuv420p, every audio packet identical, the same
duration within one frame. "x real time" is the processing time over the clip's duration: at
most 1 means it keeps up with playback.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval" / "clips" / "talking-head-kitchen.mp4"


def _frames_of(source: Path, size: tuple[int, int]):
    """The source's frames scaled to cover ``size``, looping forever, as RGB."""
    sys.path.insert(0, str(ROOT))
    from vcam.scaling import cover_fit

    while True:
        with av.open(str(source)) as c:
            for frame in c.decode(video=0):
                yield cover_fit(frame.to_ndarray(format="rgb24"), *size)


def _demo_frames(size: tuple[int, int], fps: float):
    sys.path.insert(0, str(ROOT))
    from vcam.live.sources import DemoSource

    demo = DemoSource(*size, fps, live=False)
    out = np.empty((size[1], size[0], 3), np.uint8)
    while True:
        demo.read(out)
        yield out


def make_clip(path: Path, size: tuple[int, int], seconds: float, source: Path | None) -> dict:
    """Write the test clip; returns its frame count, fps and audio packet count."""
    fps = 25
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as out:
        video = out.add_stream("libx264", rate=fps, options={"crf": "23", "preset": "veryfast"})
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        audio_in = av.open(str(source)) if source is not None else None
        if audio_in is not None and audio_in.streams.audio:
            audio = out.add_stream_from_template(audio_in.streams.audio[0])
        else:
            audio = out.add_stream("aac", rate=48000)
        frames = _frames_of(source, size) if source is not None else _demo_frames(size, fps)
        n = round(seconds * fps)
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(next(frames), format="rgb24").reformat(format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        packets = _audio(out, audio, audio_in, seconds)
        if audio_in is not None:
            audio_in.close()
    return {"frames": n, "fps": fps, "audio_packets": packets}


def _audio(out, stream, source, seconds: float) -> int:
    """The source's audio packets looped to ``seconds`` unchanged (or a 440 Hz tone)."""
    count = 0
    if source is not None and source.streams.audio:
        tb = source.streams.audio[0].time_base
        offset, end = 0, round(seconds / tb)
        while True:
            source.seek(0)
            first, last = None, 0
            for packet in source.demux(audio=0):
                if packet.size == 0 or packet.pts is None:
                    continue
                first = packet.pts if first is None else first
                if packet.pts + offset >= end:
                    return count
                last = packet.pts + (packet.duration or 0)
                packet.pts += offset
                packet.dts += offset
                packet.stream = stream
                out.mux(packet)
                count += 1
            offset += last - (first or 0)
    t = 0
    while t < seconds * 48000:
        samples = (0.2 * np.sin(2 * np.pi * 440 * np.arange(t, t + 1024) / 48000)).astype(np.float32)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, t
        t += 1024
        for packet in stream.encode(frame):
            out.mux(packet)
            count += 1
    for packet in stream.encode(None):
        out.mux(packet)
        count += 1
    return count


def audio_bytes(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(audio=0) if p.size]


def run(args: argparse.Namespace) -> dict:
    size = tuple(int(v) for v in args.resolution.split("x"))
    source = EVAL if EVAL.exists() and not args.demo else None
    with tempfile.TemporaryDirectory() as tmp:
        clip, out = Path(tmp) / "talk.mp4", Path(tmp) / "talk-out.mp4"
        made = make_clip(clip, size, args.seconds, source)
        cmd = [sys.executable, "-m", "vcam", "process", str(clip), "--effect", args.effect, "-o", str(out)]
        if args.model:
            cmd += ["--model", args.model]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
        wall = time.perf_counter() - t0
        if done.returncode != 0:
            raise SystemExit(f"vcam process failed ({done.returncode}):\n{done.stderr}")
        with av.open(str(clip)) as a, av.open(str(out)) as b:
            v = b.streams.video[0]
            checked = {"codec": v.codec_context.name, "pix_fmt": v.codec_context.pix_fmt,
                       "duration_in": a.duration / 1e6, "duration_out": b.duration / 1e6,
                       "streams_out": [s.type for s in b.streams]}
        checked["audio_identical"] = audio_bytes(clip) == audio_bytes(out)
    return {"source": "eval/clips/talking-head-kitchen.mp4" if source else "demo", "size": f"{size[0]}x{size[1]}",
            "seconds": args.seconds, "effect": args.effect, "model": args.model or "auto (default)",
            "frames": made["frames"], "wall_s": round(wall, 1),
            "x_real_time": round(wall / args.seconds, 2), "ms_per_frame": round(1000 * wall / made["frames"], 1),
            **checked}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="clip length (default 60)")
    ap.add_argument("--resolution", default="1280x720")
    ap.add_argument("--effect", default="blur")
    ap.add_argument("--model", default=None, help="--model for vcam process (default: its own default, auto)")
    ap.add_argument("--demo", action="store_true", help="use the demo portrait even where the eval clips exist")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=1))
        return
    for key, value in result.items():
        print(f"{key:>16}: {value}")


if __name__ == "__main__":
    cv2.setNumThreads(1)
    main()
