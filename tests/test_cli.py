"""The command line as a user runs it: ``python -m vcam ...`` in a fresh process."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import count_frames


def vcam(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vcam", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)



def assert_one_clear_error(result: subprocess.CompletedProcess, *words: str) -> str:
    """Exit 2, exactly one 'vcam: error:' line naming ``words``, and no traceback."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    errors = [line for line in result.stderr.splitlines() if line.startswith("vcam: error:")]
    assert len(errors) == 1, output
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def test_help_lists_the_commands(tmp_path):
    """(``vcam`` alone opens the control panel: see test_ui.py.)"""
    result = vcam(tmp_path, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: vcam")
    assert "run" in result.stdout and "process" in result.stdout and "ui" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_run_demo_blur_to_video_file(tmp_path):
    result = vcam(tmp_path, "run", "--source", "demo", "--effect", "blur", "--output", "out.mp4", "--frames", "20")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "wrote 20 frames" in result.stderr
    assert count_frames(tmp_path / "out.mp4") == 20
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


@pytest.fixture
def corrupt_jpg(tmp_path: Path) -> Path:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG " * 40)
    return path


@pytest.fixture
def blocker(tmp_path: Path) -> Path:
    """A regular file where a folder would have to be."""
    path = tmp_path / "blocker"
    path.write_text("I am a file, not a folder\n")
    return path


RUN = ("run", "--width", "320", "--height", "240", "--frames", "5")


@pytest.mark.parametrize("args, words", [
    pytest.param(RUN + ("--source", "missing.mp4", "--output", "null"), ["missing.mp4"], id="missing-source"),
    pytest.param(RUN + ("--source", "/dev/video57", "--output", "null"), ["/dev/video57"], id="no-such-camera"),
    pytest.param(RUN + ("--source", "demo", "--output", "virtual"), ["virtual camera", "modprobe v4l2loopback"],
                 id="no-virtual-camera"),
    pytest.param(RUN + ("--source", "demo", "--effect", "replace", "--output", "null"), ["background"],
                 id="replace-without-background"),
    pytest.param(RUN + ("--source", "demo", "--effect", "replace", "--background", "broken.jpg", "--output", "null"),
                 ["broken.jpg"], id="corrupt-background"),
    pytest.param(RUN + ("--source", "demo", "--output", "blocker/out.mp4"), ["blocker"], id="run-output-under-a-file"),
    pytest.param(RUN + ("--source", "demo", "--effect", "color", "--color", "not-a-colour", "--output", "null"),
                 ["not-a-colour"], id="bad-colour"),
    pytest.param(RUN + ("--source", "demo", "--effect", "color", "--color", "300,0,0", "--output", "null"),
                 ["300,0,0"], id="colour-out-of-range"),
    pytest.param(("process", "nothing-here.png", "-o", "out"), ["nothing-here.png"], id="process-missing-input"),
    pytest.param(("process", "notes.txt", "-o", "out"), ["notes.txt"], id="process-unsupported-input"),
    pytest.param(("process", "broken.jpg", "-o", "blocker/out"), ["blocker"], id="process-output-under-a-file"),
])
def test_bad_input_exits_2_with_one_clear_line(tmp_path, corrupt_jpg, blocker, args, words):
    (tmp_path / "notes.txt").write_text("just some notes, not a picture\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = vcam(tmp_path, *args)
    assert_one_clear_error(result, *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == before   # nothing written, nothing partial
    assert blocker.read_text() == "I am a file, not a folder\n"


def test_process_unreadable_picture_exits_2_naming_it(tmp_path, corrupt_jpg):
    """A picture that cannot be decoded is a per-file failure: reported by name, exit 2."""
    result = vcam(tmp_path, "process", "broken.jpg", "-o", "out")
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    lines = [line for line in result.stderr.splitlines() if "broken.jpg" in line and "cannot be read" in line]
    assert len(lines) == 1, output
    assert not (tmp_path / "out").exists()     # made for the outputs, none came: not left behind


def test_debug_shows_the_traceback(tmp_path):
    result = vcam(tmp_path, *RUN, "--source", "missing.mp4", "--output", "null", "--debug")
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert "VcamError" in result.stderr and "missing.mp4" in result.stderr


def test_the_progress_bar_tells_the_time_left_from_the_pace_so_far(monkeypatch, capsys):
    from vcam import cli

    clock = iter([100.0, 101.0, 102.0, 104.0, 104.5])
    monkeypatch.setattr(cli.time, "monotonic", lambda: next(clock))
    progress = cli._Progress()
    lines = []
    for done in (1, 2, 3, 5, 100):   # 4 steps in 4 s after the first: 1 s a step
        progress(done, 100, "talk.mp4")
        lines.append(progress._last)
    assert "left" not in lines[0] and "left" not in lines[1]   # too soon to tell
    assert lines[3].endswith(" 5/100 1:35 left talk.mp4"), lines[3]   # 95 steps at 1 s each
    assert "left" not in lines[4]   # done
    assert capsys.readouterr().err   # it was written to standard error
