"""The terminal's edges: standard error closed (``2>&-``), standard output cut (``| head -1``),
``--version`` and the commands' help. Real processes, real pipes."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from helpers import count_frames
from test_integrity import fresh_env

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX descriptors")


def vcam_with(args: list[str], cwd, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vcam", *args], cwd=cwd, env=fresh_env(), timeout=300, **kwargs)


@POSIX
def test_closed_standard_error_changes_nothing(tmp_path, astronaut_png):
    """Python gives sys.stderr = None then; vcam once died on it, and a file it opened could have
    taken descriptor 2 and received libraries' messages."""
    done = vcam_with(["process", str(astronaut_png), "--model", "general", "-o", "out.png"], tmp_path,
                     stdout=subprocess.PIPE, preexec_fn=lambda: os.close(2))
    assert done.returncode == 0 and done.stdout == b""
    assert (tmp_path / "out.png").stat().st_size > 1000
    bad = vcam_with(["process", "missing.png", "-o", "out2.png"], tmp_path, preexec_fn=lambda: os.close(2))
    assert bad.returncode == 2


def cut_pipe():
    """A pipe whose reader has already gone: every write to it fails with EPIPE."""
    read, write = os.pipe()
    os.close(read)
    return write


@POSIX
@pytest.mark.parametrize("args", [["doctor"],
                                  ["bench", "--resolution", "64x64", "--frames", "10", "--sink", "null", "--json"]],
                         ids=["doctor", "bench"])
def test_a_cut_standard_output_is_a_quiet_exit(tmp_path, args):
    write = cut_pipe()
    try:
        done = vcam_with(args, tmp_path, stdout=write, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(write)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode == 141


@POSIX
def test_run_stats_into_a_cut_pipe_finishes_the_recording(tmp_path):
    write = cut_pipe()
    try:
        done = vcam_with(["run", "--source", "demo", "--width", "160", "--height", "120", "--output", "rec.mp4",
                          "--stats", "--frames", "600"], tmp_path, stdout=write, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(write)
    assert "Traceback" not in done.stderr and done.returncode == 141, done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["rec.mp4"]
    assert count_frames(tmp_path / "rec.mp4", (120, 160, 3)) >= 10


def test_version(tmp_path):
    from vcam import __version__

    done = vcam_with(["--version"], tmp_path, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"vcam {__version__}"


@pytest.mark.parametrize("command", ["ui", "run", "process", "bench", "doctor"])
def test_each_command_has_a_description_and_examples(command):
    from vcam.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    text = " ".join(sub.format_help().split())
    assert sub.description and " ".join(sub.description.split()) in text
    assert "examples:" in text and f"vcam {command} " in text


def test_the_model_help_says_each_commands_own_auto_rule():
    from vcam.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    model = {name: " ".join(next(a for a in commands[name]._actions if a.dest == "model").help.split())
             for name in ("run", "process")}
    assert "GPU" in model["run"] and "640x480" not in model["run"]
    assert "640x480" in model["process"]
