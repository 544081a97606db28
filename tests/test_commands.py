"""The command line, the panel and the documents speak one language (issue 38): the backgrounds
that come with vcam by name everywhere, the panel taking `vcam run`'s camera options, every hint
and every command line of the README naming a command that parses (a few of them run), and what
`vcam process` does without --effect."""
from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import count_frames

from vcam import cli
from vcam.batch import plan
from vcam.cli import build_parser, main, session_from_args, settings_from_args, with_command
from vcam.config import CaptureSettings, EffectSettings, OutputSettings, Settings
from vcam.effects.background import Background
from vcam.effects.composite import Compositor
from vcam.errors import VcamError
from vcam.live.sinks import recording_file
from vcam.system import resources

ROOT = Path(__file__).parents[1]
NAMES = ["dusk", "forest", "office", "seaside", "studio"]


@pytest.fixture(scope="module")
def seaside() -> Path:
    return next(p for p in resources.backgrounds() if p.stem == "seaside")


def parse(tokens: list[str]):
    """``vcam TOKENS`` through the real parser, `vcam` alone and `vcam --source demo` included;
    a refusal fails the test with argparse's own words."""
    try:
        return build_parser().parse_args(with_command(tokens))
    except SystemExit as exc:
        if exc.code == 0:   # --version, --help
            return None
        raise AssertionError(f"`vcam {shlex.join(tokens)}` does not parse") from None


def vcam_commands(line: str) -> list[list[str]]:
    """The vcam command lines of a shell line, each without ``vcam``: split at pipes, ``&&`` and
    ``;``, redirections and comments left out (``vcam bench --json > runs.json``)."""
    found = []
    tokens = shlex.split(line, comments=True)
    while tokens:
        cut = next((i for i, t in enumerate(tokens) if t in ("|", "&&", ";")), len(tokens))
        part, tokens = tokens[:cut], tokens[cut + 1:]
        words = []
        for i, t in enumerate(part):
            if re.fullmatch(r"\d*(>>?|<)", t) or (i and re.fullmatch(r"\d*(>>?|<)", part[i - 1])):
                continue   # a redirection and its file
            if not re.match(r"\d*(>>?|<)&?", t):
                words.append(t)
        if words and Path(words[0]).name == "vcam":
            found.append(words[1:])
    return found


def tiny_video(path: Path, frames: int = 4) -> Path:
    assert main(["run", "--source", "demo", "--width", "160", "--height", "120", "--effect", "none",
                 "--output", str(path), "--frames", str(frames)]) == 0
    return path


# -- the backgrounds that come with vcam, by name --------------------------------------------------

def test_a_bundled_background_is_named_by_its_stem_in_any_case(seaside):
    assert resources.background_names() == NAMES
    for given in ("seaside", "Seaside", "SEASIDE", "seaside.jpg", "SeaSide.JPG"):
        assert resources.background(given) == str(seaside), given
    assert resources.background(str(seaside)) == str(seaside)
    assert resources.background("photos/beach.jpg") == "photos/beach.jpg"   # a path: the path checks tell
    assert resources.background(None) is None


@pytest.mark.parametrize("given", ["seasid", "beach.jpg"])
def test_a_misspelt_name_is_one_line_that_lists_the_bundled_names(tmp_path, monkeypatch, capsys, given):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(VcamError) as info:
        resources.background(given)
    assert all(name in info.value.fix for name in NAMES)
    code = main(["run", "--source", "demo", "--effect", "replace", "--background", given, "--output", "null",
                 "--frames", "1"])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("vcam: error:")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err, err
    assert repr(given) in errors[0] and ", ".join(NAMES) in errors[0]


def test_a_file_or_folder_of_that_name_in_the_working_folder_wins(tmp_path, monkeypatch, seaside):
    monkeypatch.chdir(tmp_path)
    blue = np.zeros((36, 64, 3), np.uint8)
    blue[..., 0] = 255   # BGR: blue
    assert cv2.imwrite("seaside.jpg", blue)
    assert resources.background("seaside.jpg") == "seaside.jpg"
    assert resources.background("seaside") == str(seaside)   # no file named exactly that here
    mine = Background("seaside.jpg", (64, 36)).image
    assert mine[..., 2].mean() > 240 and mine[..., 0].mean() < 15
    (tmp_path / "studio").mkdir()   # the path checks say what is wrong with what is there
    assert resources.background("studio") == "studio"
    with pytest.raises(VcamError, match="studio is a folder, not a file"):
        Background("studio", (64, 36))


def test_the_effect_setting_takes_the_name(seaside):
    size = (96, 54)
    by_name = Compositor(EffectSettings("replace", background="Seaside"), size)
    by_path = Compositor(EffectSettings("replace", background=str(seaside)), size)
    assert np.array_equal(by_name.backdrop, by_path.backdrop)
    assert by_name.backdrop.std() > 5   # a picture, not a blank buffer


def test_an_old_site_packages_path_is_this_installations_file(seaside):
    old = "/home/me/old-venv/lib/python3.11/site-packages/vcam/assets/backgrounds/seaside.jpg"
    assert resources.background_name(old) == "seaside"
    assert resources.background(old) == str(seaside)
    assert resources.background_name(str(seaside)) == "seaside"
    assert resources.background_name("/home/me/pictures/seaside.jpg") is None


def test_the_cli_resolves_the_name_once_so_the_path_checks_protect_the_file(seaside, tmp_path):
    settings = settings_from_args(parse(["run", "--effect", "replace", "--background", "seaside"]))
    assert settings.effect.background == str(seaside)
    with pytest.raises(VcamError, match="is also an input"):   # `--output` over the bundled file is refused
        recording_file(settings.replace(output=OutputSettings(target=str(seaside))), "--output")
    elsewhere = tmp_path / "seaside"   # a file of that name elsewhere is not it
    assert recording_file(settings.replace(output=OutputSettings(target=str(elsewhere))), "--output") == elsewhere
    process = settings_from_args(parse(["process", "x.png", "-o", "y", "--background", "forest", "--effect", "replace"]))
    assert process.effect.background.endswith("forest.jpg") and Path(process.effect.background).is_file()


def test_run_and_process_take_a_bundled_name(tmp_path, monkeypatch, astronaut_png, seaside):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--source", "demo", "--width", "160", "--height", "120", "--effect", "replace",
                 "--background", "seaside", "--output", "null", "--frames", "2"]) == 0
    for given, out in (("Seaside", "by-name.png"), (str(seaside), "by-path.png")):
        assert main(["process", str(astronaut_png), "--effect", "replace", "--background", given, "--model", "general",
                     "-o", out]) == 0
    assert np.array_equal(cv2.imread("by-name.png"), cv2.imread("by-path.png"))


def test_the_panel_saves_a_bundled_background_by_name_and_reads_an_older_path(qapp, tmp_path, seaside):
    from vcam.ui.controller import Controller
    from vcam.ui.settings_store import Store

    store = Store(tmp_path / "config")
    store.save_settings(Settings(effect=EffectSettings("replace", background=str(seaside))))
    saved = json.loads(store.settings_path.read_text())
    assert saved["effect"]["background"] == "seaside"
    assert store.load_settings() == (Settings(effect=EffectSettings("replace", background=str(seaside))), None)
    # an older settings.json: the path into another virtual environment, gone since
    saved["effect"]["background"] = "/gone/venv/lib/python3.12/site-packages/vcam/assets/backgrounds/seaside.jpg"
    store.settings_path.write_text(json.dumps(saved))
    controller = Controller(tmp_path / "config")
    try:
        assert controller.settings.effect.background == str(seaside) and not controller.problems
        controller._check_effect(controller.settings.effect)   # the file opens
        controller.pause()   # no pipeline: only the settings change
        assert controller.set_background("forest")   # a name, as the command line takes it
        assert controller.settings.effect.background.endswith("forest.jpg")
        controller.save()
        assert json.loads(store.settings_path.read_text())["effect"]["background"] == "forest"
        mine = tmp_path / "mine.png"
        assert cv2.imwrite(str(mine), np.full((20, 30, 3), 90, np.uint8))
        assert controller.set_background(mine)
        controller.save()
        assert json.loads(store.settings_path.read_text())["effect"]["background"] == str(mine)   # yours: a path
        assert not controller.set_background("forrest") and "dusk, forest" in controller.problems["background"]
    finally:
        controller.close()


# -- `vcam` and `vcam ui` take the camera options their hints name ---------------------------------

def test_vcam_alone_is_vcam_ui_with_its_options():
    assert parse([]).command == "ui"
    args = parse(["--source", "demo", "--width", "320", "--height", "240", "--fps", "15", "--output-device",
                  "/dev/video9", "-v"])
    assert (args.command, args.source, args.width, args.height, args.fps, args.verbose) == \
           ("ui", "demo", 320, 240, 15.0, True)
    assert session_from_args(args) == {"capture": {"source": "demo", "width": 320, "height": 240, "fps": 15.0},
                                       "output": {"device": "/dev/video9"}}
    assert session_from_args(parse(["ui"])) == {}
    assert parse(["--version"]) is None and parse(["run", "--source", "0"]).source == "0"
    with pytest.raises(VcamError, match="width is 5"):
        session_from_args(parse(["--width", "5"]))


def test_vcam_with_a_source_opens_the_panel_with_it(monkeypatch, tmp_path):
    from vcam.ui import app

    opened = []
    monkeypatch.setattr(app, "run", lambda **kw: opened.append(kw) or 0)
    monkeypatch.setattr(app, "screenshot", lambda path, **kw: opened.append(kw) or (10, 10, 1))
    assert main(["--source", "demo"]) == 0
    assert main(["ui", "--source", "talk.mp4", "--screenshot", str(tmp_path / "p.png")]) == 0
    assert opened == [{"session": {"capture": {"source": "demo"}}}, {"session": {"capture": {"source": "talk.mp4"}}}]


def test_the_panels_session_options_are_not_saved_until_picked_in_the_panel(qapp, tmp_path):
    from vcam.ui.controller import Controller
    from vcam.ui.settings_store import Store

    store = Store(tmp_path / "config")
    store.save_settings(Settings(capture=CaptureSettings(source="2", width=640, height=480),
                                 effect=EffectSettings("color")))
    session = session_from_args(parse(["--source", "demo", "--width", "320", "--output-device", "/dev/video9"]))
    controller = Controller(tmp_path / "config", session=session)
    try:
        s = controller.settings
        assert (s.capture.source, s.capture.width, s.capture.height, s.output.device, s.effect.effect) == \
               ("demo", 320, 480, "/dev/video9", "color")
        controller.pause()   # no pipeline: only the settings change
        assert controller.set_effect_option(shadow=0.5)
        controller.save()
        saved = json.loads(store.settings_path.read_text())
        assert (saved["capture"]["source"], saved["capture"]["width"], saved["output"]["device"]) == ("2", 640, None)
        assert saved["effect"]["shadow"] == 0.5   # what changed in the panel is saved
        assert controller.set_capture(width=800)   # picked in the panel: saved from now on
        controller.save()
        saved = json.loads(store.settings_path.read_text())
        assert (saved["capture"]["source"], saved["capture"]["width"]) == ("2", 800)
    finally:
        controller.close()


# -- every hint names an option, and a command, that exist -------------------------------------------

OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# Another program's options, where its name comes before them in the same text.
OTHER_PROGRAM = re.compile(r"\b(pip|v4l2-ctl|python|ffmpeg|fuser)\b[^`;:]*$")
# Where a message can be seen: the commands that must all have each option it names (the first
# prefix that matches; elsewhere, at least one command must have it).
SHOWN_BY = [
    ("vcam/live/", ("run", "ui")),               # the camera, the virtual camera: vcam run and the panel
    ("vcam/effects/autoframe.py", ("run", "ui")),
    ("vcam/doctor.py", ("run", "ui")),            # its fixes say "vcam": the panel or vcam run
    ("vcam/segment/", ("run", "process", "bench")),
    ("vcam/config.py", ("run", "process", "bench")),
    ("vcam/batch.py", ("process",)),
    ("vcam/bench.py", ("bench",)),
    ("vcam/fileio/video_", ("run", "process")),  # a recording or a processed video
]
ONLY = {("vcam/live/sources.py", "--preload"): ("bench",),   # bench's preloaded source
        ("vcam/fileio/video_writer.py", "--no-audio"): ("process",)}   # a recording has no sound to leave out
KNOWN_HINTS = {   # the hints the tester met, with the commands that must take them
    "pick one with --source": ["--source", "demo"],
    "`vcam --source demo`": ["--source", "demo"],
    "`vcam run --source demo`": ["run", "--source", "demo"],
}


def _docstrings(tree: ast.AST) -> set[int]:
    return {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}


def message_strings() -> list[tuple[str, int, str]]:
    """(file, line, text) of every string in vcam/ but docstrings: an f-string with ``{}`` where
    its values go."""
    found = []
    for path in sorted((ROOT / "vcam").rglob("*.py")):
        tree = ast.parse(path.read_text())
        skip = _docstrings(tree)
        name = path.relative_to(ROOT).as_posix()
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                skip |= {id(v) for v in node.values}
                text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
                found.append((name, node.lineno, text))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                found.append((name, node.lineno, node.value))
    return found


def _commands_with(option: str) -> set[str]:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    return {name for name, sub in commands.items() if option in sub._option_string_actions}


def test_every_option_a_message_names_exists_where_it_is_shown():
    wrong, checked = [], 0
    for name, line, text in message_strings():
        if OPTION.fullmatch(text.strip()):   # an option's definition, or an argument list's item
            continue
        for m in OPTION.finditer(text):
            if OTHER_PROGRAM.search(text[:m.start()].rsplit("`", 1)[-1]):
                continue
            option = m.group()
            shown_by = ONLY.get((name, option)) or next((c for prefix, c in SHOWN_BY if name.startswith(prefix)), None)
            has = _commands_with(option)
            checked += 1
            missing = sorted(set(shown_by or ()) - has) if has else ["any command"]
            if missing:
                wrong.append(f"{name}:{line}: {option} is not an option of {', '.join(missing)}: {text[:90]!r}")
    assert checked > 60
    assert not wrong, "hints that name an option the command lacks:\n" + "\n".join(wrong)


def test_every_command_a_message_names_parses():
    commands = [(name, line, m.group(1)) for name, line, text in message_strings()
                for m in re.finditer(r"`(vcam(?: [^`]*)?)`", text)]
    commands += [(f"vcam {command} --help", 0, re.split(r"\s{2,}", line.strip())[0])
                 for command, text in cli.EXAMPLES.items() for line in text.splitlines() if line.startswith("  vcam")]
    assert len(commands) > 20
    for name, line, command in commands:
        for tokens in vcam_commands(command):
            try:
                parse(tokens)
            except AssertionError as exc:
                raise AssertionError(f"{name}:{line}: {exc}") from None
    texts = [text for _name, _line, text in message_strings()]
    for hint, tokens in KNOWN_HINTS.items():
        assert any(hint in text for text in texts), hint
        parse(tokens)


def test_the_check_sees_a_hint_with_an_option_that_does_not_exist():
    with pytest.raises(AssertionError, match="does not parse"):
        parse(["ui", "--effect", "blur"])
    assert _commands_with("--source") >= {"run", "ui", "bench"} and not _commands_with("--no-such-option")


# -- every command line of the README parses; a few run ------------------------------------------------

def documented_commands(path: Path) -> list[list[str]]:
    """The `vcam ...` command lines of a Markdown file: in code blocks (fenced or indented) and in
    inline code, split at pipes and ``&&``, comments left out; a bare ``vcam process`` (which
    needs its inputs) is a mention, not a command line."""
    text = path.read_text().replace("\\\n", " ")   # a shell line continued
    blocks, prose, fenced = [], [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif fenced or line.startswith("    "):
            blocks.append(line.strip())
        else:
            prose.append(line)
    spans = re.findall(r"`([^`\n]+)`", "\n".join(prose))
    return [tokens for line in blocks + spans if re.search(r"(^|[\s/])vcam(\s|$)", line)
            for tokens in vcam_commands(line) if tokens != ["process"]]


@pytest.mark.parametrize("path", [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md")),
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_documented_command_line_parses(path):
    commands = documented_commands(path)
    for tokens in commands:
        parse(tokens)
    if path.name == "README.md":
        assert len(commands) > 30
        assert ["--effect", "replace", "--background", "beach.jpg"] not in [t[1:] for t in commands]


def test_the_readme_check_finds_a_command_that_does_not_parse(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("Try it:\n\n    vcam run --no-such-option   # said\n\nor `vcam doctor | head -1`, "
                    "`vcam bench --json > runs.json`, `.venv/bin/vcam`; `vcam process` is a mention.\n")
    found = documented_commands(page)
    assert found == [["run", "--no-such-option"], ["doctor"], ["bench", "--json"], []]
    with pytest.raises(AssertionError, match="does not parse"):
        parse(found[0])


def test_readme_commands_run_as_written_with_the_demo(tmp_path, monkeypatch, astronaut_png):
    """The README's own lines, run: every `vcam run` line with the demo, tiny and nowhere (a
    background it names must be one that comes with vcam, or the loop.mp4 made here); the `vcam
    process` lines on a picture, a folder and a video named as the README names them."""
    monkeypatch.chdir(tmp_path)
    readme = documented_commands(ROOT / "README.md")
    tiny_video(tmp_path / "loop.mp4")
    runs = [t for t in readme if t[:1] == ["run"]]
    assert len(runs) > 15 and sum("seaside" in t for t in runs) >= 4, runs
    for tokens in runs:
        assert main([*tokens, "--source", "demo", "--width", "160", "--height", "120", "--output", "null",
                     "--frames", "2"]) == 0, tokens
    cv2.imwrite("photo.jpg", cv2.imread(str(astronaut_png)))
    Path("photos").mkdir()
    cv2.imwrite("photos/a.jpg", cv2.imread(str(astronaut_png)))
    tiny_video(tmp_path / "talk.mp4")
    for wanted in (["photo.jpg", "-o", "photo-cutout.png"], ["photos/", "-o", "cutouts/"],
                   ["talk.mp4", "-o", "talk-blurred.mp4"]):
        assert ["process", *wanted] in readme
        assert main(["process", *wanted]) == 0, wanted
    assert cv2.imread("photo-cutout.png", cv2.IMREAD_UNCHANGED).shape == (512, 512, 4)
    assert cv2.imread("cutouts/a.png", cv2.IMREAD_UNCHANGED).shape == (512, 512, 4)
    assert count_frames(tmp_path / "talk-blurred.mp4", (120, 160, 3)) == 4


# -- `vcam process` without --effect ------------------------------------------------------------------

def test_without_an_effect_a_picture_is_cut_out_and_a_video_blurred(tmp_path, astronaut_png):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "me.png").write_bytes(astronaut_png.read_bytes())
    tiny_video(folder / "talk.mp4", 3)
    jobs = plan([folder], tmp_path / "out", None)
    assert [(j.input.name, j.output.name, j.effect) for j in jobs] == \
           [("me.png", "me.png", "cutout"), ("talk.mp4", "talk.mp4", "blur")]
    assert main(["process", str(folder), "--model", "general", "-o", str(tmp_path / "out")]) == 0
    cut = cv2.imread(str(tmp_path / "out" / "me.png"), cv2.IMREAD_UNCHANGED)
    assert cut.shape == (512, 512, 4) and cut[..., 3].min() == 0 and cut[..., 3].max() == 255
    assert main(["process", str(folder / "talk.mp4"), "--effect", "blur", "--model", "general",
                 "-o", str(tmp_path / "blurred.mp4")]) == 0
    assert main(["process", str(folder / "talk.mp4"), "--effect", "matte", "--model", "general",
                 "-o", str(tmp_path / "matte.mp4")]) == 0
    default, blurred, matte = (_frames(tmp_path / p) for p in ("out/talk.mp4", "blurred.mp4", "matte.mp4"))
    assert np.array_equal(default, blurred) and not np.array_equal(default, matte)


def _frames(path: Path) -> np.ndarray:
    reader = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = reader.read()
        if not ok:
            break
        frames.append(frame)
    reader.release()
    return np.array(frames)


def test_a_pictures_cut_out_into_a_type_without_transparency_is_refused_before_the_work(tmp_path, astronaut_png):
    with pytest.raises(VcamError, match=r"cannot hold.*--effect blur") as info:
        plan([astronaut_png], tmp_path / "out.jpg", None)
    assert "out.png" in info.value.fix
    with pytest.raises(VcamError, match="cannot hold") as info:
        plan([astronaut_png], tmp_path / "out.jpg", "cutout")
    assert "--effect" not in info.value.fix   # named: only the name to change
    assert [j.effect for j in plan([astronaut_png], tmp_path / "out.jpg", "blur")] == ["blur"]


def test_process_help_says_what_the_default_is():
    effect = next(a for a in build_parser()._subparsers._group_actions[0].choices["process"]._actions
                  if "--effect" in a.option_strings)
    assert effect.default is None and "cutout" in effect.help and "blur" in effect.help
    assert "a video is blurred as `vcam run` blurs" in cli.EXAMPLES["process"]
