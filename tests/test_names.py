"""Files whose names are not UTF-8 (bytes that Python holds as surrogate escapes): OpenCV's Python
binding crashes the whole process on such a name, so vcam never gives it one. Each check that
would crash runs in a child process, so a regression fails one test instead of the whole run."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import count_frames

from vcam.fileio import atomic, file_names
from vcam.fileio.video_reader import VideoReader

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="names of any bytes, and /proc/self/fd, are Linux's")

ODD = os.fsdecode(b"bad\xff\xfe")   # not UTF-8: 'bad\udcff\udcfe' in Python


def odd_name(folder: Path, rest: str) -> Path:
    path = folder / f"{ODD}{rest}"
    try:
        path.touch()
        path.unlink()
    except OSError:
        pytest.skip("this file system takes UTF-8 names only")
    return path


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python ARGS`` in a child; a crash in OpenCV is its return code -11, not ours."""
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          errors="backslashreplace", timeout=300)


def vcam(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run("-m", "vcam", *args, cwd=cwd)


def write_video(path: Path, frames: int = 6) -> None:
    """A small MJPG AVI, written under a plain name and renamed to ``path``."""
    plain = path.with_name("plain-source.avi")
    writer = cv2.VideoWriter(str(plain), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (96, 64))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((64, 96, 3), 30 * i, np.uint8))
    writer.release()
    os.replace(plain, path)


def frames_in(video: Path, tmp_path: Path) -> int:
    """Frames of ``video``, counted through a plain-named link to it."""
    link = tmp_path / f"link{video.suffix}"
    os.link(video, link)
    try:
        return count_frames(link)
    finally:
        link.unlink()


@pytest.fixture
def odd_picture(tmp_path, astronaut_rgb) -> Path:
    path = odd_name(tmp_path, ".jpg")
    path.write_bytes(cv2.imencode(".jpg", cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2BGR))[1].tobytes())
    return path


@pytest.fixture
def odd_video(tmp_path) -> Path:
    path = odd_name(tmp_path, ".avi")
    write_video(path)
    return path


def test_process_reads_and_writes_pictures_whose_names_are_not_utf8(tmp_path, odd_picture):
    out = odd_name(tmp_path, "-out.png")
    done = vcam("process", str(odd_picture), "--effect", "blur", "-o", str(out), "--model", "general", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    picture = cv2.imdecode(np.frombuffer(out.read_bytes(), np.uint8), cv2.IMREAD_UNCHANGED)
    assert picture.shape == (512, 512, 3)
    assert sorted(os.listdir(tmp_path)) == sorted([odd_picture.name, out.name])   # nothing partial left


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_process_reads_and_writes_videos_whose_names_are_not_utf8(tmp_path, odd_video, suffix):
    out = odd_name(tmp_path, f"-out{suffix}")
    done = vcam("process", str(odd_video), "-o", str(out), "--model", "general", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert frames_in(out, tmp_path) == 6
    assert sorted(os.listdir(tmp_path)) == sorted([odd_video.name, out.name])   # the partial file renamed


@pytest.mark.parametrize("kind", ["picture", "video"])
def test_a_background_whose_name_is_not_utf8_replaces_the_background(tmp_path, astronaut_png, odd_picture,
                                                                    odd_video, kind):
    background = odd_picture if kind == "picture" else odd_video
    out = tmp_path / "replaced.png"
    done = vcam("process", str(astronaut_png), "--effect", "replace", "--background", str(background),
                "-o", str(out), "--model", "general", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert cv2.imread(str(out)).shape == (512, 512, 3)


def test_a_video_is_written_into_a_folder_whose_name_is_not_utf8(tmp_path, odd_video):
    # FFmpeg is given the folder as /proc/self/fd/N and an ASCII partial name inside it
    folder = odd_name(tmp_path, "-folder")
    folder.mkdir()
    done = vcam("process", str(odd_video), "-o", str(folder / "out.mp4"), "--model", "general", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert os.listdir(folder) == ["out.mp4"]
    written = VideoReader(folder / "out.mp4")
    assert written.size == (96, 64) and written.frame_count == 6
    written.close()
    assert sorted(os.listdir("/proc/self/fd")) == sorted(os.listdir("/proc/self/fd"))


def test_a_video_reader_reads_such_a_file_through_a_descriptor_it_closes(tmp_path, odd_video):
    name, fd = file_names.video_file(odd_video)
    assert name == f"/proc/self/fd/{fd}" and os.path.samefile(name, odd_video)
    os.close(fd)
    plain = tmp_path / "plain.avi"
    os.link(odd_video, plain)
    before = sorted(os.listdir("/proc/self/fd"))
    reader, same = VideoReader(odd_video), VideoReader(plain)
    assert reader.size == same.size == (96, 64) and reader.frame_count == 6
    for _ in range(6):
        np.testing.assert_array_equal(reader.read(loop=False), same.read(loop=False))
    assert reader.read(loop=False) is None
    reader.close()
    reader.close()   # safe twice
    same.close()
    assert sorted(os.listdir("/proc/self/fd")) == before


def test_a_plain_name_is_given_to_opencv_as_it_is(tmp_path):
    assert file_names.video_file(tmp_path / "café.mp4") == (str(tmp_path / "café.mp4"), None)   # UTF-8 is fine
    assert file_names.opencv_name(tmp_path / f"{ODD}.mp4") is None


def test_the_ascii_partial_name_is_hidden_beside_the_target(tmp_path):
    target = tmp_path / f"{ODD}.mp4"
    a, b = atomic.ascii_partial_name(target), atomic.ascii_partial_name(target)
    assert a.parent == tmp_path and a.name.startswith(".") and a.name.isascii() and a.suffix == ".mp4"
    assert a != b
    assert atomic.ascii_partial_name(tmp_path / f"x.{ODD}").suffix == ""   # a suffix that is not ASCII is left out


CHECK_VIDEO = """
import sys
from pathlib import Path
from vcam.fileio import video_check
video_check.check_video(Path(sys.argv[1]), Path(sys.argv[1]), 6, (96, 64))
print("checked")
"""

CAMERA = """
import sys
from vcam.live.sources import CameraSource
from vcam.fileio.video_reader import VideoReader
from vcam.errors import VcamError
try:
    CameraSource(sys.argv[1], 64, 48, 30.0)
except VcamError as exc:
    print("refused:", exc.fix)
"""

ENCODE = """
import sys
import numpy as np
from vcam.fileio import pictures
from vcam.errors import VcamError
try:
    pictures.encode_image(sys.argv[1], np.zeros((4, 4, 3), np.uint8))
except VcamError as exc:
    print("refused:", exc.fix)
"""


def test_a_written_video_whose_name_is_not_utf8_is_checked(tmp_path, odd_video):
    done = run("-c", CHECK_VIDEO, str(odd_video), cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == "checked", done.stderr


def test_a_camera_path_that_is_not_utf8_is_refused(tmp_path):
    device = odd_name(tmp_path, "-camera")
    device.touch()
    done = run("-c", CAMERA, str(device), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused: give the camera's number"), done.stdout


def test_a_picture_suffix_that_is_not_utf8_is_refused_by_the_encoder(tmp_path):
    done = run("-c", ENCODE, str(tmp_path / f"out.{ODD}"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused: name it .png"), done.stdout
