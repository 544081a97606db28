"""Settings: checked when built, colours parsed, saved and loaded as JSON."""
from __future__ import annotations

import dataclasses
import json

import pytest

from vcam import Settings, VcamError
from vcam.config import CaptureSettings, EffectSettings, MatteSettings, OutputSettings, SegmentSettings, parse_color
from vcam.fileio.settings_file import load_settings, save_settings

# --- defaults ------------------------------------------------------------------------------------

def test_defaults_are_valid_and_sensible():
    s = Settings()
    assert s.capture.source == "auto" and (s.capture.width, s.capture.height) == (1280, 720)
    assert s.capture.mirror is False
    assert s.effect.effect == "blur"
    assert 0 <= s.matte.smoothing <= 1
    assert s.output.target == "virtual"


def test_settings_are_frozen():
    s = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.capture.width = 10      # type: ignore[misc]


def test_replace_makes_a_changed_copy():
    s = Settings()
    t = s.replace(effect=EffectSettings("color", color=(1, 2, 3)))
    assert t.effect.color == (1, 2, 3) and s.effect.effect == "blur"
    assert t.capture is s.capture
    c = s.capture.replace(mirror=True)
    assert c.mirror and not s.capture.mirror and c.width == s.capture.width


def test_replace_is_checked_too():
    with pytest.raises(VcamError, match="width"):
        CaptureSettings().replace(width=3)


# --- validation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("make, word", [
    (lambda: CaptureSettings(width=15), "width"),
    (lambda: CaptureSettings(width=7681), "width"),
    (lambda: CaptureSettings(height=0), "height"),
    (lambda: CaptureSettings(height=5000), "height"),
    (lambda: CaptureSettings(fps=0.5), "fps"),
    (lambda: CaptureSettings(fps=241), "fps"),
    (lambda: MatteSettings(smoothing=-0.1), "smoothing"),
    (lambda: MatteSettings(smoothing=1.01), "smoothing"),
    (lambda: MatteSettings(motion=0.0), "motion"),
    (lambda: MatteSettings(motion=2.0), "motion"),
    (lambda: EffectSettings(blur=0.5), "blur"),
    (lambda: EffectSettings(blur=101), "blur"),
    (lambda: OutputSettings(fps=0), "fps"),
    (lambda: OutputSettings(fps=1000), "fps"),
])
def test_out_of_range_numbers_are_refused(make, word):
    with pytest.raises(VcamError) as info:
        make()
    text = str(info.value)
    assert word in text and "expected" in text     # "got X, expected Y"
    assert info.value.fix


@pytest.mark.parametrize("make, word", [
    (lambda: CaptureSettings(width="640"), "width"),
    (lambda: CaptureSettings(width=None), "width"),
    (lambda: CaptureSettings(width=True), "width"),
    (lambda: CaptureSettings(fps=float("nan")), "fps"),
    (lambda: CaptureSettings(fps=float("inf")), "fps"),
    (lambda: MatteSettings(smoothing="0.5"), "smoothing"),
    (lambda: EffectSettings(blur=[16]), "blur"),
    (lambda: OutputSettings(fps="30"), "fps"),
])
def test_numbers_of_the_wrong_type_are_refused(make, word):
    with pytest.raises(VcamError, match=f"{word} must be a (whole )?number"):
        make()


@pytest.mark.parametrize("make, word", [
    (lambda: CaptureSettings(source=""), "source"),
    (lambda: CaptureSettings(source=0), "source"),
    (lambda: SegmentSettings(backend=""), "backend"),
    (lambda: SegmentSettings(model=None), "model"),
    (lambda: OutputSettings(target=""), "output"),
    (lambda: OutputSettings(target=None), "output"),
])
def test_text_fields_must_be_text(make, word):
    with pytest.raises(VcamError, match=word):
        make()


def test_unknown_effect_lists_the_choices():
    with pytest.raises(VcamError) as info:
        EffectSettings("sparkle")
    assert "sparkle" in str(info.value)
    for effect in ("none", "blur", "replace", "color", "matte", "cutout"):
        assert effect in info.value.fix


def test_replace_needs_a_background():
    with pytest.raises(VcamError, match="needs a background"):
        EffectSettings("replace")
    with pytest.raises(VcamError, match="needs a background"):
        EffectSettings("replace", background="")
    assert EffectSettings("replace", background="beach.jpg").background == "beach.jpg"


@pytest.mark.parametrize("colour", [(0, 0, 256), (-1, 0, 0), (0, 0), (0, 0, 0, 0), [0, 177, 64],
                                    (0.0, 177, 64), "green", None])
def test_bad_colours_are_refused(colour):
    with pytest.raises(VcamError, match="color must be three integers"):
        EffectSettings("color", color=colour)


def test_limits_themselves_are_accepted():
    CaptureSettings(width=16, height=16, fps=1)
    CaptureSettings(width=7680, height=4320, fps=240)
    MatteSettings(smoothing=0.0, motion=0.01)
    MatteSettings(smoothing=1.0, motion=1.0)
    EffectSettings(blur=1.0)
    EffectSettings(blur=100.0, color=(0, 0, 0))
    EffectSettings(color=(255, 255, 255))
    OutputSettings(fps=1)
    OutputSettings(fps=240)


# --- parse_color --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, rgb", [
    ("#00b140", (0, 177, 64)),
    ("#FFFFFF", (255, 255, 255)),
    ("#000000", (0, 0, 0)),
    ("  #0a0B0c ", (10, 11, 12)),
    ("0,177,64", (0, 177, 64)),
    ("255, 0, 128", (255, 0, 128)),
    (" 1 ,2, 3 ", (1, 2, 3)),
    ("green", (0, 177, 64)),
    ("Blue", (0, 71, 187)),
    (" WHITE ", (255, 255, 255)),
    ("black", (0, 0, 0)),
    ("grey", (128, 128, 128)),
    ("gray", (128, 128, 128)),
])
def test_parse_colour_forms(text, rgb):
    assert parse_color(text) == rgb
    EffectSettings("color", color=parse_color(text))     # and the result is a valid setting


@pytest.mark.parametrize("text", ["", "purple", "#12345", "#1234567", "#gggggg", "1,2", "1,2,3,4",
                                  "256,0,0", "-1,0,0", "1.5,2,3", "a,b,c", "#", ",,"])
def test_parse_colour_refuses_the_rest_with_a_hint(text):
    with pytest.raises(VcamError) as info:
        parse_color(text)
    assert "cannot read colour" in str(info.value)
    assert "#RRGGBB" in info.value.fix and "green" in info.value.fix


# --- save and load -------------------------------------------------------------------------------

def custom_settings() -> Settings:
    return Settings(
        capture=CaptureSettings(source="/dev/video2", width=640, height=480, fps=15.0, mirror=True),
        segment=SegmentSettings(backend="mediapipe", model="landscape"),
        matte=MatteSettings(smoothing=0.25, motion=0.5),
        effect=EffectSettings("replace", blur=33.5, background="/tmp/beach.png", color=(1, 2, 3)),
        output=OutputSettings(target="out.mp4", device="/dev/video9", backend="v4l2loopback", fps=24.0,
                              pacing=False),
    )


def test_save_and_load_round_trip(tmp_path):
    s = custom_settings()
    path = tmp_path / "nested" / "dir" / "settings.json"      # folders are made
    save_settings(s, path)
    loaded = load_settings(path)
    assert loaded == s
    assert isinstance(loaded.effect.color, tuple)
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]   # no temp file left


def test_defaults_round_trip(tmp_path):
    save_settings(Settings(), tmp_path / "s.json")
    assert load_settings(tmp_path / "s.json") == Settings()


def test_save_overwrites_the_previous_file(tmp_path):
    path = tmp_path / "s.json"
    save_settings(Settings(), path)
    save_settings(custom_settings(), path)
    assert load_settings(path) == custom_settings()
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


def test_saved_file_is_plain_json_by_stage(tmp_path):
    path = tmp_path / "s.json"
    save_settings(custom_settings(), path)
    data = json.loads(path.read_text())
    assert set(data) == {"capture", "segment", "matte", "effect", "framing", "light", "output"}
    assert data["capture"]["width"] == 640 and data["effect"]["color"] == [1, 2, 3]


def test_a_partial_file_keeps_the_defaults_for_the_rest(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"matte": {"smoothing": 0.1}, "effect": {"effect": "color", "color": [9, 8, 7]}}))
    s = load_settings(path)
    assert s.matte == MatteSettings(smoothing=0.1)
    assert s.effect.color == (9, 8, 7)
    assert s.capture == CaptureSettings()


def test_failed_save_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "s.json"
    save_settings(custom_settings(), path)
    before = path.read_text()
    blocked = tmp_path / "blocked.json"
    blocked.mkdir()                                 # a folder where the file should go
    (blocked / "x").write_text("")
    with pytest.raises(VcamError, match="cannot save settings"):
        save_settings(Settings(), blocked)
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked.json", "s.json"]


@pytest.mark.parametrize("content, message", [
    ("{not json", "unreadable"),
    ("", "unreadable"),
    (b"\xff\xfe\x00garbage", "unreadable"),
    ("[1, 2, 3]", "must be a JSON object"),
    ("null", "must be a JSON object"),
    ('{"capture": 5}', "settings section"),
    ('{"camera": {}}', "unknown settings section 'camera'"),
    ('{"capture": {"zoom": 2}}', "unknown setting capture.zoom"),
    ('{"capture": {"width": -5}}', "width"),
    ('{"capture": {"width": "wide"}}', "width must be a whole number"),
    ('{"matte": {"smoothing": 3}}', "smoothing"),
    ('{"effect": {"effect": "sparkle"}}', "sparkle"),
    ('{"effect": {"effect": "replace"}}', "needs a background"),
    ('{"effect": {"color": [1, 2]}}', "color"),
    ('{"effect": {"color": "green"}}', "color"),
    ("[" * 200_000, "unreadable"),                                   # nested past Python's recursion limit
    ('{"capture": {"width": 1' + "0" * 5000 + "}}", "unreadable"),   # past Python's digit limit
    ('{"capture": {"fps": Infinity}}', "fps"),
    ('{"capture": {"fps": NaN}}', "fps"),
    ('{"matte": {"smoothing": 1e999}}', "smoothing"),
    ('{"segment": {"threads": 1' + "0" * 4000 + "}}", "threads"),
    # wrong types that used to pass and fail later, deep in a library, at every start
    ('{"effect": {"effect": "replace", "background": 5}}', "background must be text"),
    ('{"effect": {"background": ["a.png"]}}', "background must be text"),
    ('{"effect": {"effect": "replace", "background": "\\ud800.png"}}', "background .* no file name can hold"),
    ('{"capture": {"source": "/tmp/\\udfff.mp4"}}', "source .* no file name can hold"),
    ('{"segment": {"model": "\\ud800.onnx"}}', "model .* no file name can hold"),
    ('{"output": {"device": 10}}', "output device must be text"),
    ('{"output": {"backend": ["x"]}}', "output backend must be text"),
    ('{"capture": {"mirror": "yes"}}', "mirror must be true or false"),
    ('{"segment": {"follow": 0}}', "follow must be true or false"),
    ('{"matte": {"picture_motion": null}}', "picture_motion must be true or false"),
    ('{"matte": {"guided": null}}', "picture_motion must be true or false"),
    ('{"output": {"pacing": []}}', "pacing must be true or false"),
    ('{"effect": {"color": [true, 0, 0]}}', "color"),
    ('{"effect": {"effect": "' + "x" * 100_000 + '"}}', r"unknown effect 'x{30,}\.\.\.: "),   # shown short
    ('{"capture": {"source": ' + "[" * 900 + "]" * 900 + "}}", r"source must be text, got \[{30,}\.\.\.: "),
])
def test_corrupt_settings_files_raise_vcam_error(tmp_path, content, message):
    path = tmp_path / "settings.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(VcamError, match=message):
        load_settings(path)


def test_missing_settings_file(tmp_path):
    with pytest.raises(VcamError, match="does not exist"):
        load_settings(tmp_path / "none.json")


def test_settings_path_that_is_a_folder(tmp_path):
    with pytest.raises(VcamError, match="unreadable"):
        load_settings(tmp_path)


@pytest.mark.parametrize("content", ["[" * 200_000, '{"capture": {"width": 1' + "0" * 5000 + "}}"],
                         ids=["deep", "huge-int"])
def test_a_hostile_settings_file_gives_defaults_and_is_set_aside(tmp_path, content):
    from vcam.ui.settings_store import Store

    (tmp_path / "settings.json").write_text(content)
    (tmp_path / "ui.json").write_text(content.replace("capture", "backgrounds"))
    store = Store(tmp_path)
    settings, warning = store.load_settings()
    state, ui_warning = store.load_ui()
    assert settings == Settings() and "using defaults" in warning and len(warning) < 600
    assert state.backgrounds == [] and ui_warning
    assert (tmp_path / "settings.json.bad").read_text() == content       # kept for the user as it was
    assert (tmp_path / "ui.json.bad").exists() and not (tmp_path / "settings.json").exists()


def test_a_config_folder_that_cannot_be_looked_into_gives_defaults_and_says_why(tmp_path):
    from vcam.ui.settings_store import Store, UiState

    store = Store(tmp_path / ("c" * 300))     # a name over 255 bytes: looking at it raises, it is not "absent"
    settings, warning = store.load_settings()
    state, ui_warning = store.load_ui()
    assert settings == Settings() and "unreadable" in warning and "too long" in warning
    assert state == UiState() and "not restored" in ui_warning


def test_a_settings_file_with_an_older_name_loads_under_the_new_one(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"matte": {"guided": false, "smoothing": 0.5}}')
    loaded = load_settings(path)
    assert loaded.matte.picture_motion is False and loaded.matte.smoothing == 0.5
    assert "guided" not in loaded.to_dict()["matte"]
