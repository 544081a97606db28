"""Every numeric option of `vcam process` and `vcam run` at the edges of its range (issue 39).

Each option runs where it does something (a shadow with an effect that has one, a zoom with
--autoframe on a video...) at its smallest accepted value, the next number above it (a denormal
where the range starts at 0: 5e-324, 1e-320), -0.0, its largest, and just outside both ends, and
NaN and infinities. Inside the range: exit 0 and a complete output of the input's size; outside:
exit 2 with one `vcam: error:` line that names the value and the range, and nothing written.
Never a traceback: a setting that becomes a size (a blur's sigma, a shadow's box, a zoomed crop)
must be a valid size at every accepted value.

All the command lines run in one process (``tests/cli_cases.py``: the real ``vcam.cli.main``, fd 1
and 2 captured), so a hundred of them take the time of a few.
"""
from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import count_frames
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vcam.config import CaptureSettings, EffectSettings, FramingSettings, LightSettings, MatteSettings

RUNNER = Path(__file__).with_name("cli_cases.py")
PICTURE_SIDE = 96      # the astronaut scaled down: a person the model still finds
LIVE = ("run", "--source", "demo", "--output", "null", "--frames", "2")
LIVE_SMALL = ("--width", "160", "--height", "120")


@dataclass(frozen=True)
class Option:
    flag: str
    lo: float
    hi: float
    on: str                                   # "picture", "video" or "live": what it runs on
    contexts: tuple = ((),)                   # the other options that make it do something
    whole: bool = False
    also: tuple = ()                          # other accepted values worth a run (one that failed once)


REPLACE = ("--effect", "replace", "--background", "seaside")
OPTIONS = [
    Option("--blur", 1.0, 100.0, "picture",
           (("--effect", "blur"), ("--effect", "bokeh"), ("--effect", "portrait"), ("--effect", "blur", "--style", "pencil"))),
    Option("--light-wrap", 0.0, 1.0, "picture", (REPLACE,)),
    Option("--harmonize", 0.0, 1.0, "picture", (REPLACE,)),
    Option("--shadow", 0.0, 1.0, "picture", (("--effect", "color"), ("--effect", "cutout"), REPLACE),
           also=(0.003,)),   # issue 39, row 7: a traceback, `!ssize.empty()` in resize
    Option("--shadow-angle", -90.0, 90.0, "picture", (("--effect", "color", "--shadow", "1"),)),
    Option("--shadow-softness", 0.0, 1.0, "picture", (("--effect", "color", "--shadow", "1"),
                                                      ("--effect", "cutout", "--shadow", "0.002"))),
    Option("--gradient-angle", -360.0, 360.0, "picture", (("--effect", "color", "--color", "blue,white"),)),
    Option("--low-light", 0.0, 1.0, "picture", (("--effect", "blur"),)),
    Option("--key-light", 0.0, 1.0, "picture", (("--effect", "blur"),)),
    Option("--key-angle", -90.0, 90.0, "picture", (("--effect", "blur", "--key-light", "1"),)),
    Option("--relight", 0.0, 1.0, "picture", (REPLACE,)),
    Option("--threshold", 0.05, 0.95, "picture", (("--effect", "matte"),)),
    Option("--softness", 0.02, 2.0, "picture", (("--effect", "matte"),)),
    Option("--threads", 0, 64, "picture", (("--effect", "matte"),), whole=True),
    Option("--smoothing", 0.0, 1.0, "video", (("--effect", "blur"),)),
    Option("--denoise", 0.0, 1.0, "video", (("--effect", "blur"),)),
    Option("--zoom", 1.0, 4.0, "video", (("--effect", "blur", "--autoframe"),)),
    Option("--crf", 0, 63, "video", (("--effect", "blur", "--codec", "vp9"),), whole=True),
    # the live path builds its parts as a call does (a painted room on its own thread...)
    Option("--width", 16, 7680, "live", (("--height", "120"),), whole=True),
    Option("--height", 16, 4320, "live", (("--width", "160"),), whole=True),
    Option("--fps", 1.0, 240.0, "live", (LIVE_SMALL,)),
    Option("--zoom", 1.0, 4.0, "live", (LIVE_SMALL + ("--autoframe",),)),
    Option("--shadow", 0.0, 1.0, "live", (LIVE_SMALL + ("--effect", "color"),)),
    Option("--blur", 1.0, 100.0, "live", (LIVE_SMALL + ("--effect", "bokeh"),)),
    Option("--key-light", 0.0, 1.0, "live", (LIVE_SMALL,)),
    Option("--low-light", 0.0, 1.0, "live", (LIVE_SMALL,)),
    Option("--denoise", 0.0, 1.0, "live", (LIVE_SMALL,)),
]

# the ranges above are the settings' own: checked here so that a change there is seen
RANGES = {"--blur": (EffectSettings, "blur"), "--zoom": (FramingSettings, "zoom"), "--shadow": (EffectSettings, "shadow"),
          "--low-light": (LightSettings, "low_light"), "--threshold": (MatteSettings, "threshold"),
          "--softness": (MatteSettings, "softness"), "--fps": (CaptureSettings, "fps")}


def inside(o: Option) -> list:
    """The smallest and largest accepted values, the numbers next to them inside, -0.0 where 0 is
    accepted."""
    if o.whole:
        return [o.lo, o.hi, *o.also]
    values = [o.lo, math.nextafter(o.lo, math.inf), o.hi, math.nextafter(o.hi, -math.inf), *o.also]
    if o.lo == 0:
        values += [1e-320, -0.0]
    elif o.lo < 0 < o.hi:
        values += [-0.0]
    return values


def outside(o: Option) -> list:
    if o.whole:
        return [o.lo - 1, o.hi + 1]
    return [math.nextafter(o.lo, -math.inf), math.nextafter(o.hi, math.inf), math.nan, math.inf, -math.inf, 1e308]


@dataclass
class Case:
    option: Option
    value: object
    context: tuple
    accepted: bool
    argv: list = field(default_factory=list)
    output: Path = None

    @property
    def id(self) -> str:
        return f"{self.option.on}{self.option.flag}={self.value!r}[{' '.join(self.context)}]"


def _cases() -> list[Case]:
    cases = []
    for o in OPTIONS:
        for context in o.contexts:
            cases += [Case(o, v, context, True) for v in inside(o)]
        cases += [Case(o, v, o.contexts[0], False) for v in outside(o)]
    return cases


CASES = _cases()


def _text(value) -> str:
    return str(value) if isinstance(value, int) else repr(value)


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> dict:
    """Every case run once, in one process: {case id: (case, result)}."""
    from skimage import data

    folder = tmp_path_factory.mktemp("ranges")
    picture = folder / "person.png"
    small = cv2.resize(data.astronaut(), (PICTURE_SIDE, PICTURE_SIDE), interpolation=cv2.INTER_AREA)
    assert cv2.imwrite(str(picture), cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
    clip = folder / "clip.mp4"
    _clip(clip, small, frames=3)
    runs = []
    for i, case in enumerate(CASES):
        value = ["--" + case.option.flag.lstrip("-") + "=" + _text(case.value)]   # "=": a value may start with "-"
        if case.option.on == "live":
            case.argv = [*LIVE, *case.context, *value]
        else:
            suffix = ".webm" if "--codec" in case.context else ".mp4" if case.option.on == "video" else ".png"
            case.output = folder / f"out{i}{suffix}"
            source = clip if case.option.on == "video" else picture
            case.argv = ["process", str(source), *case.context, *value, "-o", str(case.output)]
        runs.append({"argv": case.argv, "cwd": str(folder)})
    (folder / "cases.json").write_text(json.dumps(runs))
    done = subprocess.run([sys.executable, str(RUNNER), str(folder / "cases.json"), str(folder / "results.json")],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((folder / "results.json").read_text())
    return {case.id: (case, result) for case, result in zip(CASES, results)}


def _clip(path: Path, rgb: np.ndarray, frames: int) -> None:
    import av

    with av.open(str(path), "w") as box:
        stream = box.add_stream("h264", rate=10)
        stream.width, stream.height, stream.pix_fmt = rgb.shape[1], rgb.shape[0], "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.roll(rgb, 2 * i, axis=1)), format="rgb24")
            box.mux(stream.encode(frame))
        box.mux(stream.encode())


def test_the_ranges_here_are_the_settings_own():
    for o in OPTIONS:
        if o.flag in RANGES:
            section, name = RANGES[o.flag]
            with pytest.raises(Exception, match="expected"):
                section(**{name: math.nextafter(o.lo, -math.inf)})
            with pytest.raises(Exception, match="expected"):
                section(**{name: math.nextafter(o.hi, math.inf)})


ERROR_LINE = re.compile(r"^vcam( \w+)?: error: ")


@pytest.mark.parametrize("case_id", [c.id for c in CASES])
def test_an_option_at_the_edge_of_its_range(ran, case_id):
    case, result = ran[case_id]
    said = result["stderr"] + result["stdout"]
    assert not result["crash"], f"{case.argv}\n{result['crash']}"
    assert "Traceback" not in said, said
    if case.accepted:
        assert result["code"] == 0, said
        if case.option.on == "live":
            assert "wrote 2 frames" in result["stderr"], said
        elif case.option.on == "video":
            assert count_frames(case.output, (PICTURE_SIDE, PICTURE_SIDE, 3)) == 3
        else:
            written = cv2.imread(str(case.output), cv2.IMREAD_UNCHANGED)
            assert written is not None and written.shape[:2] == (PICTURE_SIDE, PICTURE_SIDE), said
    else:
        assert result["code"] == 2, said
        errors = [line for line in result["stderr"].splitlines() if ERROR_LINE.match(line)]
        assert len(errors) == 1, said
        assert "expected" in errors[0] or "must be a number" in errors[0], errors[0]
        assert case.output is None or not case.output.exists()
    if case.output is not None:   # nothing partial left beside it
        assert not [p for p in case.output.parent.iterdir() if ".partial" in p.name]


@pytest.mark.parametrize("text", ["0x10", "", "1,5", "one"])
def test_a_number_that_does_not_parse_is_one_line(text, tmp_path):
    done = subprocess.run([sys.executable, "-m", "vcam", "process", "in.png", f"--shadow={text}", "-o", "out.png"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if ERROR_LINE.match(line)]
    assert len(errors) == 1 and "--shadow" in errors[0], done.stderr


# --- every accepted setting, at any frame size, through the stages it becomes sizes in ----------

def _accepted(lo: float, hi: float):
    """Any number of lo..hi: hypothesis's own picks (the ends, denormals) and the ones next to the ends."""
    near = [lo, hi, math.nextafter(lo, math.inf), math.nextafter(hi, -math.inf)] + ([1e-320, -0.0] if lo == 0 else [])
    return st.floats(lo, hi) | st.sampled_from(near)


def _figure(w: int, h: int, where: float) -> np.ndarray:
    """A person-like alpha: a head and shoulders, their feet in the picture or not."""
    a = np.zeros((h, w), np.uint8)
    cx = int(w * where)
    cv2.ellipse(a, (cx, h // 3), (max(1, w // 8), max(1, h // 6)), 0, 0, 360, 255, -1)
    cv2.rectangle(a, (cx - w // 5, h // 2), (cx + w // 5, int(h * 0.9)), 255, -1)
    return a


@st.composite
def stage_settings(draw):
    w, h = draw(st.integers(1, 80)), draw(st.integers(1, 80))
    effect = draw(st.sampled_from(["color", "cutout", "blur", "bokeh", "portrait"]))
    two = draw(st.booleans())
    s = EffectSettings(effect, blur=draw(_accepted(1.0, 100.0)), color=(10, 200, 30), color_to=(0, 0, 90) if two else None,
                       gradient=draw(st.sampled_from(["linear", "radial"])), gradient_angle=draw(_accepted(-360.0, 360.0)),
                       light_wrap=draw(_accepted(0.0, 1.0)), harmonize=draw(_accepted(0.0, 1.0)),
                       shadow=draw(_accepted(0.0, 1.0)), shadow_angle=draw(_accepted(-90.0, 90.0)),
                       shadow_softness=draw(_accepted(0.0, 1.0)), halo_free=draw(st.booleans()))
    light = LightSettings(low_light=draw(_accepted(0.0, 1.0)), key_light=draw(_accepted(0.0, 1.0)),
                          key_angle=draw(_accepted(-90.0, 90.0)), denoise=draw(_accepted(0.0, 1.0)),
                          relight=draw(_accepted(0.0, 1.0)))
    zoom = draw(_accepted(1.0, 4.0))
    matte = MatteSettings(smoothing=draw(_accepted(0.0, 1.0)), motion=draw(_accepted(0.01, 1.0)),
                          threshold=draw(_accepted(0.05, 0.95)), softness=draw(_accepted(0.02, 2.0)),
                          picture_motion=draw(st.booleans()))
    return (w, h), s, light, zoom, matte, draw(st.floats(0.0, 1.0))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stage_settings())
def test_every_accepted_setting_gives_a_frame_at_any_size(case):
    """The matte, the compositor (shadow, blur, gradient, light wrap, harmony), the light stages
    and auto-frame, built at any size from 1x1 with any accepted value, make frames of that size."""
    from vcam.effects.autoframe import AutoFrame
    from vcam.effects.composite import Compositor
    from vcam.light.denoise import Denoise
    from vcam.light.keylight import KeyLight
    from vcam.light.lowlight import LowLight
    from vcam.light.relight import Relight
    from vcam.matte import Matte

    (w, h), effect, light, zoom, matte, where = case
    rng = np.random.default_rng(w * 100 + h)
    frame = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    figure = _figure(w, h, where)
    out = np.empty_like(frame)
    smoothed = Matte(matte)
    for i in range(2):
        raw = cv2.resize(figure, (max(1, w // 3), max(1, h // 3)), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        alpha = smoothed.update(np.roll(raw, i, axis=1), (w, h), frame).copy()
        assert alpha.shape == (h, w) and alpha.dtype == np.uint8
        lit = frame.copy()
        if light.denoise > 0:
            Denoise((w, h), light.denoise).apply(frame, lit)
        if light.low_light > 0:
            LowLight((w, h), light.low_light).apply(lit, alpha, lit)
        if light.relight > 0:
            Relight((w, h), light.relight).apply(lit, alpha, frame[::-1].copy(), lit)
        if light.key_light > 0:
            KeyLight((w, h), light.key_light, light.key_angle).apply(lit, alpha, lit)
        framed, framed_alpha = AutoFrame(zoom).apply(lit, alpha)
        assert framed.shape == frame.shape and framed_alpha.shape == alpha.shape
        comp = Compositor(effect, (w, h))
        try:
            comp.apply(framed, framed_alpha, out)
            if effect.effect == "cutout":
                rgba = comp.cutout(out, framed_alpha, np.empty((h, w, 4), np.uint8))
                assert rgba.shape == (h, w, 4)
        finally:
            comp.close()
    assert out.shape == frame.shape and out.dtype == np.uint8
