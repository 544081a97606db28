"""What the user has stays theirs (issue 39): the panel's recording checked by the one function
`vcam run` uses (an input is never written to, an existing recording is never replaced without
saying), a frame folder that appears whole or not at all (a frame's name taken by a folder found
before the work), settings read only from regular files of bounded size, outputs written through
symbolic links, and write-protected files refused as `cp` refuses them. Real files, real
processes, real Qt (offscreen); nothing of vcam's own is mocked."""
from __future__ import annotations

import json
import os
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import count_frames
from test_integrity import fresh_env, leftovers, make_video, vcam
from test_paths import said_once

from vcam.config import CaptureSettings, EffectSettings, OutputSettings, Settings
from vcam.errors import VcamError
from vcam.fileio import atomic, user_paths
from vcam.fileio.frame_folder import FrameFolder

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file kinds, links and modes")
TIMEOUT = 60.0


def snapshot(folder: Path) -> dict[str, object]:
    """Every entry of ``folder`` (not hidden ones' insides): a file's bytes, a link's target, else its kind."""
    out = {}
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink():
            out[entry.name] = ("link", os.readlink(entry))
        elif entry.is_file():
            out[entry.name] = entry.read_bytes()
        else:
            out[entry.name] = stat.filemode(os.lstat(entry).st_mode)[0]
    return out


# -- 3: the panel's recording is checked as `vcam run`'s output ---------------------------------------

@pytest.fixture
def panel_for(qapp, tmp_path):
    """``panel_for(settings)`` -> (controller, panel): a real panel over the settings saved in a
    config folder, started; all closed at the end (a recording is finished there)."""
    from vcam.ui.app import dispose
    from vcam.ui.controller import Controller
    from vcam.ui.panel import Panel

    made = []

    def make(settings: Settings, *, start: bool = True):
        config = tmp_path / "config"
        config.mkdir(exist_ok=True)
        (config / "settings.json").write_text(json.dumps(settings.to_dict()))
        controller = Controller(config)
        panel = Panel(controller, dialogs=False)
        made.append((controller, panel))
        panel.show()
        if start:
            controller.start()
        return controller, panel

    yield make
    for controller, panel in made:
        panel.close()
        controller.close()
        dispose(panel, controller)


def recording(source: str, target: Path, effect: EffectSettings = EffectSettings("blur")) -> Settings:
    return Settings(capture=CaptureSettings(source=source, width=160, height=120, fps=30.0),
                    output=OutputSettings(target=str(target)), effect=effect)


def wait_for(qapp, done, timeout: float = TIMEOUT) -> bool:
    from vcam.ui.app import _wait

    return _wait(qapp, done, timeout)


@POSIX
@pytest.mark.parametrize("target", ["the source", "a symbolic link to the source", "a hard link to the source",
                                    "the background", "a folder", "a write-protected file"])
def test_the_panel_never_records_over_an_input_or_a_file_it_may_not_replace(qapp, panel_for, tmp_path, target):
    """Row 3: settings.json whose capture.source and output.target are the same video once had
    the panel replace the video with its recording, without a word; `vcam run` refused it."""
    video = make_video(tmp_path / "talk.mp4", 60)
    background = tmp_path / "beach.png"
    assert cv2.imwrite(str(background), np.full((90, 160, 3), (40, 120, 200), np.uint8))
    out = {"the source": video, "the background": background}.get(target, tmp_path / "out.mp4")
    if target == "a symbolic link to the source":
        out.symlink_to(video)
    elif target == "a hard link to the source":
        os.link(video, out)
    elif target == "a folder":
        out.mkdir()
    elif target == "a write-protected file":
        out.write_bytes(b"the user's own")
        out.chmod(0o444)
    before = snapshot(tmp_path)
    effect = EffectSettings("replace", background=str(background)) if target == "the background" else EffectSettings("blur")
    controller, panel = panel_for(recording(str(video), out, effect))
    assert wait_for(qapp, lambda: (controller.stats() or {}).get("frames", 0) >= 10), controller.problems
    assert controller.running and controller.state == "preview"                 # the preview runs
    assert controller.pipeline.settings.output.target == "null"                 # ... recording nothing
    words = {"a folder": "is a folder", "a write-protected file": "write-protected (mode 444)"}.get(target,
                                                                                                 "is also an input")
    assert words in controller.problems["output"] and "not recording" in controller.problems["output"]
    panel.refresh_stats()
    assert words in panel.status_text() and "not recording" in panel.output_label.text()
    controller.close()
    assert snapshot(tmp_path) == {**before, "config": "d"} and leftovers(tmp_path) == []


def test_the_panel_keeps_an_existing_file_and_records_beside_it(qapp, panel_for, tmp_path):
    """Row 3: output.target an unrelated existing file: once replaced by the recording. The target
    is a setting remembered from an earlier session, so the file there is the user's (that
    session's recording, or anything): kept, and the recording goes to the next free name, said."""
    mine = tmp_path / "call.mp4"
    mine.write_bytes(b"last week's call")
    (tmp_path / "call-2.mp4").write_bytes(b"and the one before")
    controller, panel = panel_for(recording("demo", mine))
    assert wait_for(qapp, lambda: controller.pipeline.frames_sent >= 8), controller.problems
    assert controller.state == "running"
    said = controller.problems["recording"]
    assert said == f"{mine} exists and is kept: recording to {tmp_path / 'call-3.mp4'}"
    panel.refresh_stats()
    assert said in panel.status_text() and "call-3.mp4" in panel.output_label.text()
    controller.close()
    assert mine.read_bytes() == b"last week's call"
    assert (tmp_path / "call-2.mp4").read_bytes() == b"and the one before"
    assert count_frames(tmp_path / "call-3.mp4") >= 8
    assert controller.settings.output.target == str(mine)   # the setting itself is the user's and stays
    assert leftovers(tmp_path) == []


def test_a_new_recording_target_is_recorded_under_its_own_name(qapp, panel_for, tmp_path):
    target = tmp_path / "new.mp4"
    controller, _ = panel_for(recording("demo", target))
    assert wait_for(qapp, lambda: controller.pipeline.frames_sent >= 5), controller.problems
    assert "recording" not in controller.problems and "output" not in controller.problems
    controller.close()
    assert count_frames(target) >= 5


def test_one_function_checks_the_recording_of_vcam_run_and_the_panel(tmp_path):
    from vcam.live.sinks import recording_file

    video = make_video(tmp_path / "talk.mp4", 5)
    same = recording(str(video), video)
    with pytest.raises(VcamError, match="is also an input"):
        recording_file(same)
    with pytest.raises(VcamError, match="is also an input"):
        recording_file(same, "recording", replace=False)   # refused, not renamed: it names an input
    assert recording_file(recording("demo", video)) == video                     # `vcam run`: named for this run
    assert recording_file(recording("demo", video), replace=False) == tmp_path / "talk-2.mp4"
    assert recording_file(recording("demo", Path("virtual"))) is None


# -- 4: a frame folder appears whole or not at all ----------------------------------------------------

def earlier_run(folder: Path, count: int = 12, skip: int = -1) -> None:
    folder.mkdir()
    for i in range(count):
        if i != skip:
            (folder / f"{i:06d}.png").write_bytes(f"earlier {i}".encode())
    (folder / "notes.txt").write_text("mine")


@POSIX
@pytest.mark.parametrize("taken", ["a folder", "a symbolic link", "a named pipe (FIFO)", "write-protected"])
def test_a_frame_name_that_cannot_be_replaced_is_refused_before_the_work(tmp_path, taken):
    """Row 4: `-o fr/` where fr/000005.png is a folder (another user's, in a shared folder) once
    gave exit 2 after all the work, with frames 0-4 already put over the earlier run's."""
    frames = tmp_path / "fr"
    earlier_run(frames, skip=5)
    blocker = frames / "000005.png"
    if taken == "a folder":
        blocker.mkdir()
        (blocker / "theirs.txt").write_text("another user's")
    elif taken == "a symbolic link":
        blocker.symlink_to(tmp_path / "elsewhere.png")
    elif taken == "a named pipe (FIFO)":
        os.mkfifo(blocker)
    else:
        blocker.write_bytes(b"earlier 5")
        blocker.chmod(0o444)
    before = snapshot(frames)
    clip = make_video(tmp_path / "clip.mp4", 12)
    done = vcam("process", str(clip), "--model", "general", "--effect", "matte", "-o", str(frames), cwd=tmp_path)
    said_once(done, "000005.png", "write-protected" if taken == "write-protected" else f"is {taken}")
    assert "12/12" not in done.stderr             # said before a frame was processed
    assert snapshot(frames) == before and leftovers(tmp_path) == []


def small_frames(n: int) -> list[np.ndarray]:
    return [np.full((8, 8), 30 * i % 256, np.uint8) for i in range(n)]


def test_a_frame_folder_commits_whole_or_leaves_the_earlier_run(tmp_path):
    """A frame's name taken by a folder between the check and the commit: refused at the commit,
    and nothing moved. The frames are written where the folder's listing does not show them."""
    frames = tmp_path / "fr"
    earlier_run(frames)
    before = snapshot(frames)
    folder = FrameFolder(frames)
    for i, picture in enumerate(small_frames(8)):
        folder.write(i, picture)
    assert {k: v for k, v in snapshot(frames).items() if not k.startswith(".")} == before
    (frames / "000003.png").unlink()
    (frames / "000003.png").mkdir()
    changed = {k: v for k, v in snapshot(frames).items() if not k.startswith(".")}
    with pytest.raises(VcamError, match="000003.png is a folder"):
        folder.commit()
    folder.abort()
    assert snapshot(frames) == changed and leftovers(tmp_path) == []


@POSIX
def test_a_frame_folder_that_fails_while_committing_is_put_back(tmp_path):
    """An earlier frame that cannot be moved (append-only: not even root may rename it) stops the
    commit mid-way: what was moved is moved back, so the folder never mixes two runs."""
    frames = tmp_path / "fr"
    earlier_run(frames)
    stuck = frames / "000007.png"
    if subprocess.run(["chattr", "+a", str(stuck)], capture_output=True).returncode != 0:
        pytest.skip("chattr +a is not available on this file system")
    try:
        before = snapshot(frames)
        folder = FrameFolder(frames)
        for i, picture in enumerate(small_frames(10)):
            folder.write(i, picture)
        with pytest.raises(VcamError, match="cannot write .*fr: permission denied"):
            folder.commit()
        assert snapshot(frames) == before and leftovers(tmp_path) == []
    finally:
        subprocess.run(["chattr", "-a", str(stuck)], check=False)


def test_a_committed_frame_folder_holds_this_run_only(tmp_path):
    frames = tmp_path / "fr"
    earlier_run(frames, count=12)
    (frames / "000002.png").chmod(0o600)
    folder = FrameFolder(frames)
    pictures = small_frames(5)
    for i, picture in enumerate(pictures):
        folder.write(i, picture)
    folder.commit()
    assert sorted(p.name for p in frames.iterdir()) == [f"{i:06d}.png" for i in range(5)] + ["notes.txt"]
    for i, picture in enumerate(pictures):
        assert np.array_equal(cv2.imread(str(frames / f"{i:06d}.png"), cv2.IMREAD_GRAYSCALE), picture)
    assert stat.S_IMODE(os.stat(frames / "000002.png").st_mode) == 0o600   # a replaced frame keeps its mode


# -- 5: settings files are read only from regular files of bounded size -------------------------------

PANEL = """
import json, sys
from PySide6.QtWidgets import QApplication
app = QApplication(["vcam-test"])
from vcam.config import Settings
from vcam.ui.controller import Controller
from vcam.ui.panel import Panel
controller = Controller(sys.argv[1])
panel = Panel(controller, dialogs=False)
panel.show()
app.processEvents()
print(json.dumps({"defaults": controller.settings == Settings(), "backgrounds": controller.ui.backgrounds,
                  "problems": controller.problems, "status": panel.status_text()}))
panel.close()
controller.close()
"""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))   # a runaway read ends in MemoryError, not the machine's memory


def panel_over(config: Path) -> dict:
    """The panel opened (offscreen) over ``config`` in its own process: what it restored and said."""
    env = {**fresh_env(), "QT_QPA_PLATFORM": "offscreen"}
    try:
        done = subprocess.run([sys.executable, "-c", PANEL, str(config)], capture_output=True, text=True,
                              timeout=TIMEOUT, env=env, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the panel hung over {sorted(p.name for p in config.iterdir())}")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@POSIX
@pytest.mark.parametrize("settings, ui", [("a named pipe", "a link to /dev/zero"),
                                          ("a link to /dev/zero", "a named pipe"),
                                          ("2 MiB", "3 MiB")])
def test_settings_that_are_not_small_regular_files_give_defaults_and_say_why(tmp_path, settings, ui):
    """Row 5: a settings.json or ui.json that is a FIFO hung the panel; one that links to
    /dev/zero read 5.5 GB, then a MemoryError traceback."""
    config = tmp_path / "config"
    config.mkdir()
    for name, kind in (("settings.json", settings), ("ui.json", ui)):
        path = config / name
        if kind == "a named pipe":
            os.mkfifo(path)
        elif kind == "a link to /dev/zero":
            path.symlink_to("/dev/zero")
        else:   # valid JSON, but no settings file is megabytes long
            path.write_text(" " * (int(kind[0]) << 20) + ("{}" if name == "settings.json" else '{"backgrounds": []}'))
    got = panel_over(config)
    assert got["defaults"] and got["backgrounds"] == []
    words = {"a named pipe": "is a named pipe (FIFO), not a file", "a link to /dev/zero": "is a device, not a file",
             "2 MiB": "2.0 MiB, more than a settings file's 1 MiB", "3 MiB": "3.0 MiB, more than"}
    assert words[settings] in got["problems"]["settings"] and "using defaults" in got["problems"]["settings"]
    assert words[ui] in got["problems"]["gallery"]
    assert "settings.json" in got["status"] and "ui.json" in got["status"]
    assert os.path.lexists(config / "settings.json.bad")   # set aside, as any file that cannot be read


def test_read_json_reads_only_a_small_regular_file(tmp_path):
    from vcam.fileio.settings_file import MAX_BYTES, read_json

    path = tmp_path / "s.json"
    path.write_text('{"a": 1}')
    assert read_json(path, "settings file") == {"a": 1}
    path.write_bytes(b"{}" + b" " * MAX_BYTES)
    with pytest.raises(VcamError, match="more than a settings file's 1 MiB"):
        read_json(path, "settings file")
    with pytest.raises(VcamError, match="is a folder, not a file"):
        read_json(tmp_path, "settings file")
    if sys.platform != "win32":
        os.mkfifo(tmp_path / "pipe")
        with pytest.raises(VcamError, match="named pipe"):
            read_json(tmp_path / "pipe", "gallery file")
        with pytest.raises(VcamError, match="a device"):
            read_json(Path("/dev/zero"), "settings file")


# -- 15: outputs are written through symbolic links ---------------------------------------------------

@POSIX
def test_settings_saved_through_a_link_into_a_dotfiles_folder(qapp, tmp_path):
    """Row 15: settings.json a link into a dotfiles folder: the save once replaced the link with a
    file, and the dotfiles copy kept the old settings, without a word."""
    from vcam.ui.app import dispose
    from vcam.ui.controller import Controller

    dotfiles = tmp_path / "dotfiles" / "vcam"
    dotfiles.mkdir(parents=True)
    (dotfiles / "settings.json").write_text(json.dumps(Settings().to_dict()))
    (dotfiles / "ui.json").write_text('{"backgrounds": []}')
    config = tmp_path / "config"
    config.mkdir()
    for name in ("settings.json", "ui.json"):   # relative links, as GNU Stow makes them
        (config / name).symlink_to(Path("..") / "dotfiles" / "vcam" / name)
    controller = Controller(config)
    try:
        controller.pause()
        assert controller.set_blur(31.0)
        controller.set_compare(True)
        controller.save()
        assert "save" not in controller.problems
    finally:
        controller.close()
        dispose(controller)
    assert (config / "settings.json").is_symlink() and (config / "ui.json").is_symlink()
    assert json.loads((dotfiles / "settings.json").read_text())["effect"]["blur"] == 31.0
    assert json.loads((dotfiles / "ui.json").read_text())["compare"] is True
    assert sorted(p.name for p in dotfiles.iterdir()) == ["settings.json", "ui.json"]   # no partial left


@POSIX
def test_a_linked_settings_file_that_cannot_be_read_is_set_aside_beside_its_file(qapp, tmp_path):
    """A dotfiles copy that went bad: that file is kept as .bad beside itself, the link stays,
    and the next save goes through it again."""
    from vcam.ui.app import dispose
    from vcam.ui.controller import Controller

    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    (dotfiles / "settings.json").write_text('{"effect": {"blur": ')
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.json").symlink_to(dotfiles / "settings.json")
    controller = Controller(config)
    try:
        assert controller.settings == Settings()
        assert f"kept as {dotfiles / 'settings.json.bad'}" in controller.problems["settings"]
        controller.save()
    finally:
        controller.close()
        dispose(controller)
    assert (dotfiles / "settings.json.bad").read_text() == '{"effect": {"blur": '
    assert (config / "settings.json").is_symlink() and json.loads((dotfiles / "settings.json").read_text())


@POSIX
def test_a_picture_and_a_recording_are_written_through_their_links(tmp_path, astronaut_png):
    """Row 15: `-o out.png` a symbolic link: once replaced by a file. The link stays; the file it
    names gets the new picture (made beside it, then renamed: atomic)."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "cut.png").write_bytes(b"earlier")
    (tmp_path / "out.png").symlink_to(Path("real") / "cut.png")
    done = vcam("process", str(astronaut_png), "--model", "general", "-o", "out.png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert os.readlink(tmp_path / "out.png") == str(Path("real") / "cut.png")
    assert cv2.imread(str(real / "cut.png"), cv2.IMREAD_UNCHANGED).shape == (512, 512, 4)
    # a link to a file not made yet, through a second link
    (tmp_path / "rec.mp4").symlink_to(tmp_path / "hop.mp4")
    (tmp_path / "hop.mp4").symlink_to(real / "rec.mp4")
    done = vcam("run", "--source", "demo", "--width", "160", "--height", "120", "--output", "rec.mp4",
                "--frames", "5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "rec.mp4").is_symlink() and count_frames(real / "rec.mp4") == 5
    assert leftovers(tmp_path) == []


@POSIX
def test_links_that_cannot_be_written_through_are_refused_before_the_work(tmp_path, astronaut_png):
    (tmp_path / "nowhere.png").symlink_to(tmp_path / "missing" / "cut.png")
    said_once(vcam("process", str(astronaut_png), "-o", "nowhere.png", cwd=tmp_path), "nowhere.png",
              f"the folder {tmp_path / 'missing'} does not exist")
    (tmp_path / "loop.png").symlink_to("loop.png")
    said_once(vcam("process", str(astronaut_png), "-o", "loop.png", cwd=tmp_path), "go round in a loop")
    assert (tmp_path / "nowhere.png").is_symlink() and (tmp_path / "loop.png").is_symlink()


@POSIX
def test_atomic_writes_go_through_links(tmp_path):
    (tmp_path / "d").mkdir()
    link = tmp_path / "link.json"
    link.symlink_to(Path("d") / "file.json")              # dangling: the file is made there
    atomic.write_file(link, b"one")
    atomic.write_json(link, {"two": 2}, "settings")
    assert link.is_symlink() and json.loads((tmp_path / "d" / "file.json").read_text()) == {"two": 2}
    assert atomic.partial_name(link).parent == tmp_path / "d"
    assert user_paths.destination(link) == tmp_path / "d" / "file.json"
    assert user_paths.destination(tmp_path / "plain") == tmp_path / "plain"
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["file.json"]


# -- 16: write-protected outputs are refused, as cp refuses them --------------------------------------

@POSIX
def test_a_write_protected_output_is_refused_with_its_fix(tmp_path, astronaut_png):
    """Row 16: `-o ro.jpg` where ro.jpg is mode 444: once replaced, exit 0 (cp refuses). Refused
    here as root too: the mode bits say the user protected it."""
    ro = tmp_path / "ro.jpg"
    ro.write_bytes(b"the user's own")
    ro.chmod(0o444)
    line = said_once(vcam("process", str(astronaut_png), "--effect", "blur", "-o", str(ro), cwd=tmp_path),
                     "write-protected (mode 444)")
    assert f"chmod u+w {ro}" in line and "another name" in line
    rec = tmp_path / "ro.mp4"
    rec.write_bytes(b"a protected recording")
    rec.chmod(0o444)
    done = vcam("run", "--source", "demo", "--output", str(rec), "--frames", "5", cwd=tmp_path)
    said_once(done, "write-protected (mode 444)")
    assert "demo ->" not in done.stderr   # before the camera and the model
    assert ro.read_bytes() == b"the user's own" and rec.read_bytes() == b"a protected recording"
    assert stat.S_IMODE(ro.stat().st_mode) == 0o444 and leftovers(tmp_path) == []


@POSIX
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="becoming another user needs root and setpriv")
def test_a_write_protected_output_is_refused_for_a_normal_user_as_cp_refuses_it(astronaut_png):
    """Row 16 as a user runs it: in their own folder, their own file, mode 444."""
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    home = Path(tempfile.mkdtemp(prefix="vcam-user-"))
    try:
        os.chown(home, 65534, 65534)
        picture = home / "in.png"
        shutil.copy(astronaut_png, picture)
        ro = home / "ro.jpg"
        ro.write_bytes(b"the user's own")
        os.chown(ro, 65534, 65534)
        ro.chmod(0o444)
        env = {**fresh_env(), "HOME": str(home)}
        probe = subprocess.run([*nobody, sys.executable, "-c", "import vcam"], capture_output=True, text=True,
                               env=env, cwd=home, timeout=120)
        if probe.returncode != 0:   # a Python under /root, or built with a library the user may not read
            pytest.skip(f"a normal user cannot run this Python: {probe.stderr.strip()[-200:]}")
        cp = subprocess.run([*nobody, "cp", str(picture), str(ro)], capture_output=True, text=True, env=env)
        assert cp.returncode != 0 and "Permission denied" in cp.stderr
        done = subprocess.run([*nobody, sys.executable, "-m", "vcam", "process", str(picture), "--effect", "blur",
                               "-o", str(ro)], capture_output=True, text=True, timeout=300, cwd=home, env=env)
        said_once(done, "write-protected (mode 444)", "chmod u+w")
        assert ro.read_bytes() == b"the user's own"
    finally:
        shutil.rmtree(home, ignore_errors=True)


@POSIX
def test_the_mode_bits_decide_even_for_root(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x")
    for mode, refused in ((0o444, True), (0o400, True), (0o000, True), (0o644, False), (0o200, False)):
        path.chmod(mode)
        if refused:
            with pytest.raises(VcamError, match=f"write-protected \\(mode {mode:o}\\)"):
                user_paths.check_replaceable(path, os.stat(path))
            with pytest.raises(VcamError, match="write-protected"):   # the last line of defence, at the rename
                atomic.write_file(path, b"new")
            assert path.read_bytes() == b"x"
        else:
            user_paths.check_replaceable(path, os.stat(path))
    assert leftovers(tmp_path) == []


@POSIX
def test_a_write_protected_settings_file_is_not_saved_over_and_the_panel_says_so(qapp, tmp_path):
    from vcam.ui.app import dispose
    from vcam.ui.controller import Controller

    config = tmp_path / "config"
    config.mkdir()
    saved = config / "settings.json"
    saved.write_text(json.dumps(Settings().to_dict()))
    saved.chmod(0o444)
    before = saved.read_bytes()
    controller = Controller(config)
    try:
        controller.pause()
        assert controller.set_blur(12.0)
        controller.save()
        assert "write-protected (mode 444)" in controller.problems["save"]
    finally:
        controller.close()
        dispose(controller)
    assert saved.read_bytes() == before and leftovers(config) == []
