"""`vcam run` stopped by SIGTERM (a service manager), SIGINT (Ctrl-C), SIGHUP (the terminal closed) or
SIGQUIT (Ctrl-\\) while it runs: it closes
the pipeline, finishes the output file and exits 0. A real process, real signals."""
from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from helpers import count_frames, ctrl_c_default


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT],
                         ids=["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"])
def test_run_stopped_by_a_signal_finishes_the_file_and_exits_0(tmp_path, sig):
    proc = subprocess.Popen(
        [sys.executable, "-m", "vcam", "run", "--source", "demo", "--width", "320", "--height", "240",
         "--effect", "color", "--output", "out.mp4", "--stats"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_default)
    try:
        # Running: the start line on stderr, then stats lines on stdout (one a second).
        started = proc.stderr.readline()
        assert "demo -> " in started and "Ctrl-C stops" in started, started + proc.stderr.read()
        stats = [proc.stdout.readline() for _ in range(2)]
        assert all("fps" in line for line in stats), stats
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "error" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]   # renamed into place, no partial file
    assert count_frames(tmp_path / "out.mp4", (240, 320, 3)) >= 10               # complete and readable to its end
