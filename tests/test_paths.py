"""Paths as a hostile user gives them: names too long, devices, named pipes, folders where files
go, folders without permission, hidden files, a reused frame folder, a replaced private file.
Each gives one clear line and exit code 2, or the right output; never a traceback."""
from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from test_integrity import leftovers, make_video, vcam, vcam_lines

from vcam.errors import VcamError
from vcam.fileio import atomic, user_paths

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file kinds and modes")


def said_once(done: subprocess.CompletedProcess, *words: str) -> str:
    """The one line vcam said, checked for exit code 2, no traceback, and ``words``."""
    lines = [line for line in vcam_lines(done.stderr) if line.startswith("vcam: error:")]
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(lines) == 1 and all(w in lines[0] for w in words), done.stderr
    return lines[0]


# -- outputs that are not files ----------------------------------------------------------------

@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe.png"
    os.mkfifo(path)
    return path


@POSIX
def test_no_output_replaces_a_named_pipe(tmp_path, fifo, astronaut_png):
    for args in (["process", str(astronaut_png), "-o", str(fifo)],
                 ["run", "--source", "demo", "--output", str(fifo.with_name("pipe.mp4")), "--frames", "5"],
                 ["bench", "--frames", "10", "--resolution", "64x64", "--plot", str(fifo)],
                 ["ui", "--screenshot", str(fifo)]):
        if args[0] == "run":
            os.mkfifo(fifo.with_name("pipe.mp4"))
        said_once(vcam(*args, cwd=tmp_path), "named pipe (FIFO)", "never replaces")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and stat.S_ISFIFO(os.stat(fifo.with_name("pipe.mp4")).st_mode)
    assert leftovers(tmp_path) == []


@POSIX
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="making a device node needs root")
def test_no_output_replaces_a_device(tmp_path):
    """`vcam ui --screenshot /dev/null` as root once replaced the device with a PNG; here a
    null device made in the test folder stands for it."""
    device = tmp_path / "null"
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    said_once(vcam("ui", "--screenshot", str(device), cwd=tmp_path), "is a device")
    assert stat.S_ISCHR(os.stat(device).st_mode)
    with pytest.raises(VcamError, match="never replaces"):
        atomic.install(tmp_path / "nothing-yet", device)   # the last line of defence, at the rename


@POSIX
def test_a_socket_is_not_an_output(tmp_path):
    path = tmp_path / "s.png"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        with pytest.raises(VcamError, match="socket"):
            user_paths.output_file(path)


def test_a_folder_as_the_recording_is_refused_before_the_first_frame(tmp_path):
    (tmp_path / "o" / "dir.mp4").mkdir(parents=True)
    done = vcam("run", "--source", "demo", "--output", "o/dir.mp4", "--frames", "300", cwd=tmp_path)
    said_once(done, "o/dir.mp4 is a folder")
    assert "demo ->" not in done.stderr   # refused before the camera and the model were opened


# -- inputs that are not files -----------------------------------------------------------------

@POSIX
def test_a_named_pipe_or_a_device_is_not_a_background(tmp_path, fifo, astronaut_png):
    for background, kind in ((fifo, "a named pipe (FIFO), not a file"), (Path("/dev/zero"), "a device, not a file")):
        done = vcam("process", str(astronaut_png), "--effect", "replace", "--background", str(background),
                    "-o", str(tmp_path / "out.png"), cwd=tmp_path)
        said_once(done, kind)
    assert not (tmp_path / "out.png").exists()


def long_name(folder: Path, suffix: str) -> Path:
    return folder / ("n" * 300 + suffix)


@pytest.mark.parametrize("where", ["input", "background", "model", "output", "run source", "run output"])
def test_a_name_over_255_bytes_is_one_line(tmp_path, astronaut_png, where):
    out = tmp_path / "out.png"
    too_long = {"input": long_name(tmp_path, ".jpg"), "background": long_name(tmp_path, ".jpg"),
                "model": long_name(tmp_path, ".onnx"), "output": long_name(tmp_path, ".png"),
                "run source": long_name(tmp_path, ".mp4"), "run output": long_name(tmp_path, ".mp4")}[where]
    args = {"input": ["process", str(too_long), "-o", str(out)],
            "background": ["process", str(astronaut_png), "--effect", "replace", "--background", str(too_long),
                           "-o", str(out)],
            "model": ["process", str(astronaut_png), "--model", str(too_long), "-o", str(out)],
            "output": ["process", str(astronaut_png), "-o", str(too_long)],
            "run source": ["run", "--source", str(too_long), "--output", "null", "--frames", "2"],
            "run output": ["run", "--source", "demo", "--output", str(too_long), "--frames", "2"]}[where]
    said_once(vcam(*args, cwd=tmp_path), "name is too long")


def test_partial_names_fit_beside_a_long_name(tmp_path):
    final = tmp_path / ("n" * 250 + ".png")
    partial = atomic.partial_name(final)
    assert len(os.fsencode(partial.name)) <= 255 and partial.suffix == ".png"
    atomic.write_file(final, b"whole")
    assert final.read_bytes() == b"whole"


def without_root_powers() -> list[str]:
    """A prefix that runs a command without the power to ignore permissions: nothing for a
    user, setpriv (util-linux) dropping root's DAC capabilities for root."""
    if os.geteuid() != 0:
        return []
    import shutil

    if shutil.which("setpriv") is None:
        pytest.skip("root, and no setpriv to drop the capability that ignores permissions")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


@POSIX
def test_an_input_folder_without_permission_is_one_line(tmp_path, astronaut_png):
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "a.png").write_bytes(astronaut_png.read_bytes())
    folder.chmod(0)
    try:
        done = subprocess.run([*without_root_powers(), sys.executable, "-m", "vcam", "process", str(folder),
                               "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
        unreadable = subprocess.run([*without_root_powers(), sys.executable, "-m", "vcam", "process",
                                     str(folder / "a.png"), "-o", str(tmp_path / "out")],
                                    capture_output=True, text=True, timeout=300)
    finally:
        folder.chmod(0o755)
    said_once(done, "locked", "permission denied")
    said_once(unreadable, "a.png", "permission denied")
    assert not (tmp_path / "out").exists()


# -- what the user had ---------------------------------------------------------------------------

@POSIX
def test_a_replaced_file_keeps_its_permissions(tmp_path, astronaut_png):
    private = tmp_path / "private.png"
    private.write_bytes(b"earlier")
    private.chmod(0o600)
    done = vcam("process", str(astronaut_png), "--model", "general", "-o", str(private), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600 and private.read_bytes() != b"earlier"
    fresh = tmp_path / "fresh.png"   # a new file gets the umask
    old = os.umask(0o027)
    try:
        atomic.write_file(fresh, b"new")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o640


@POSIX
def test_a_replaced_recording_keeps_its_permissions(tmp_path):
    rec = tmp_path / "rec.mp4"
    rec.write_bytes(b"earlier")
    rec.chmod(0o640)
    done = vcam("run", "--source", "demo", "--width", "160", "--height", "120", "--output", str(rec),
                "--frames", "5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(os.stat(rec).st_mode) == 0o640 and rec.stat().st_size > 100


def test_a_reused_frame_folder_is_replaced_whole(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "notes.txt").write_text("mine")
    for count in (12, 6):
        clip = make_video(tmp_path / f"clip{count}.mp4", count)
        done = vcam("process", str(clip), "--model", "general", "--effect", "matte", "-o", str(frames), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in frames.iterdir()) == [f"{i:06d}.png" for i in range(6)] + ["notes.txt"]
    assert "held frames from an earlier run: replaced by these 6 frames (6 earlier ones removed)" in done.stderr
    assert "wrote 6 frames" in done.stderr


def test_hidden_files_and_subfolders_are_left_out_and_said(tmp_path, astronaut_png):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.png").write_bytes(astronaut_png.read_bytes())
    (folder / "._a.png").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")   # AppleDouble
    (folder / ".a.partial-1234abcd.png").write_bytes(b"\x89PNG cut")
    done = vcam("process", str(folder), "--model", "general", "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png"]
    assert "left out 2 hidden files and 1 subfolder" in done.stderr


def test_two_inputs_need_a_folder(tmp_path, astronaut_png):
    second = tmp_path / "b.png"
    second.write_bytes(astronaut_png.read_bytes())
    done = vcam("process", str(astronaut_png), str(second), "-o", str(tmp_path / "two.png"), cwd=tmp_path)
    said_once(done, "2 inputs go into a folder", "two.png")
    assert not (tmp_path / "two.png").exists()


def test_a_failed_input_leaves_no_folder_behind(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not a jpeg at all")
    done = vcam("process", str(bad), "-o", str(tmp_path / "a" / "b" / "c" / "out.png"), cwd=tmp_path)
    assert done.returncode == 2
    assert not (tmp_path / "a").exists()


def test_make_folders_says_what_it_made(tmp_path):
    made = user_paths.make_folders(tmp_path / "x" / "y")
    assert made == [tmp_path / "x", tmp_path / "x" / "y"] and (tmp_path / "x" / "y").is_dir()
    assert user_paths.make_folders(tmp_path / "x" / "y") == []


def test_a_name_with_a_nul_character_is_one_error(tmp_path):
    """Only a settings file can give one (JSON has \\u0000); os.stat raises ValueError on it."""
    for check in (user_paths.input_file, user_paths.output_file):
        with pytest.raises(VcamError, match="NUL character"):
            check(tmp_path / "a\x00.jpg", "background")


def test_a_name_with_a_lone_surrogate_is_one_error(tmp_path):
    """A settings file's "\\ud800": no file system encoding takes it, and it is said as such."""
    with pytest.raises(VcamError, match="no file name can hold"):
        user_paths.input_file(tmp_path / "\ud800.jpg", "background")
