"""Nothing lost, nothing silent: real processes, real files, a real full (and read-only) disk and
real signals. Every output is checked before it takes its final name, every failure is one
`vcam:` line naming its cause with a non-zero exit, and no input is ever written to."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import helpers
import numpy as np
import pytest
from helpers import count_frames, ctrl_c_default

from vcam.config import MatteSettings, SegmentSettings
from vcam.errors import VcamError
from vcam.fileio import user_paths, video_check, write_errors
from vcam.live.sinks import VideoFileSink, VirtualCameraSink

DATA = Path(__file__).resolve().parent / "data"


def fresh_env() -> dict:
    """The environment as a user's shell has it: without the FFmpeg level this test process's
    own import of vcam set."""
    return {k: v for k, v in os.environ.items() if k != "OPENCV_FFMPEG_LOGLEVEL"}


def vcam(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vcam", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=fresh_env())


def make_video(path: Path, frames: int, size=(160, 120), fourcc: str = "mp4v", fps: float = 30.0) -> Path:
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened(), path
    ramp = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
    for i in range(frames):
        picture = np.clip(ramp + (i * 7 % 256), 0, 255).astype(np.uint8).repeat(h, 0).repeat(3, 2)
        cv2.circle(picture, (w // 2 + (i % 20) - 10, h // 2), h // 4, (40, 200, 90), -1)
        writer.write(picture)
    writer.release()
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*partial*"))


def vcam_lines(stderr: str) -> list[str]:
    """What vcam said, without the progress bar."""
    return [line for line in stderr.splitlines() if line and not line.startswith("[")]


@pytest.fixture
def small_disk(tmp_path):
    with helpers.small_disk(tmp_path, "400k") as disk:
        yield disk


# -- a full or read-only disk ------------------------------------------------------------------

def test_a_full_disk_is_told_and_the_earlier_video_stays(tmp_path, small_disk):
    clip = make_video(tmp_path / "clip.mp4", 120)
    earlier = make_video(small_disk / "out.mp4", 5)
    before = earlier.read_bytes()
    helpers.fill(small_disk, 8 << 10)
    for args in (("process", str(clip), "--effect", "none", "-o", str(earlier)),
                 ("run", "--source", str(clip), "--effect", "none", "--output", str(earlier), "--frames", "100")):
        done = vcam(*args, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert "the disk is full" in done.stderr and "nothing was replaced" in done.stderr
        assert "wrote" not in done.stderr
        assert earlier.read_bytes() == before          # the earlier output untouched
        assert leftovers(small_disk) == []


def test_a_full_disk_while_writing_frames_leaves_no_frame(tmp_path, small_disk):
    clip = make_video(tmp_path / "clip.mp4", 60, size=(320, 240))
    helpers.fill(small_disk, 120 << 10)
    done = vcam("process", str(clip), "--effect", "matte", "-o", str(small_disk / "frames"), cwd=tmp_path)
    assert done.returncode == 2
    said = vcam_lines(done.stderr)
    assert len(said) == 1 and re.fullmatch(r"vcam: error: cannot write .*/frames/\d{6}\.png: the disk is full: .*", said[0]), said
    assert not (small_disk / "frames").exists()         # made for this run, empty, removed
    assert leftovers(small_disk) == []


def test_a_full_disk_for_a_picture_is_told_by_its_cause(tmp_path, small_disk, astronaut_png):
    helpers.fill(small_disk, 4 << 10)
    done = vcam("process", str(astronaut_png), "--effect", "cutout", "-o", str(small_disk / "cut.png"), cwd=tmp_path)
    assert done.returncode == 2
    assert vcam_lines(done.stderr) == [f"vcam: error: cannot write {small_disk / 'cut.png'}: the disk is full: "
                                       "free some space, or write to another disk"]
    assert not (small_disk / "cut.png").exists() and leftovers(small_disk) == []


def test_a_read_only_disk_is_told_by_its_cause(tmp_path, small_disk, astronaut_png):
    earlier = small_disk / "matte.png"
    earlier.write_bytes(b"earlier")
    assert subprocess.run(["mount", "-o", "remount,ro", str(small_disk)]).returncode == 0
    done = vcam("process", str(astronaut_png), "-o", str(earlier), cwd=tmp_path)
    assert done.returncode == 2
    assert "read-only" in done.stderr and "Traceback" not in done.stderr
    assert earlier.read_bytes() == b"earlier"


def test_write_errors_name_their_cause():
    import errno

    for code, words in ((errno.ENOSPC, "the disk is full"), (errno.EACCES, "permission denied"),
                        (errno.EROFS, "read-only"), (errno.EIO, "Input/output error")):
        err = write_errors.write_error("x.png", OSError(code, os.strerror(code)))
        assert str(err).startswith("cannot write x.png: ") and words in str(err) and err.fix


# -- inputs are never written to ---------------------------------------------------------------

@pytest.mark.parametrize("link", ["same", "hard", "symbolic", "dotted"])
def test_no_input_is_ever_written(tmp_path, link):
    source = make_video(tmp_path / "a.mp4", 20)
    before = source.read_bytes()
    target = {"same": source, "dotted": tmp_path / "." / "a.mp4"}.get(link, tmp_path / "b.mp4")
    if link == "hard":
        os.link(source, target)
    elif link == "symbolic":
        target.symlink_to(source)
    for args in (("run", "--source", str(source), "--output", str(target), "--frames", "5"),
                 ("process", str(source), "--effect", "none", "-o", str(target)),
                 ("process", str(make_video(tmp_path / "other.mp4", 5)), "--effect", "replace",
                  "--background", str(source), "-o", str(target))):
        done = vcam(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert "input" in done.stderr and "Traceback" not in done.stderr
        assert source.read_bytes() == before


def test_frames_never_overwrite_an_input_of_the_same_name(tmp_path, astronaut_png):
    frames = tmp_path / "frames"
    frames.mkdir()
    kept = frames / "000000.png"
    kept.write_bytes(astronaut_png.read_bytes())
    clip = make_video(tmp_path / "clip.mp4", 5)
    done = vcam("process", str(clip), "--effect", "matte", "--background", str(kept), "-o", str(frames), cwd=tmp_path)
    assert done.returncode == 2 and "would overwrite the input" in done.stderr
    assert kept.read_bytes() == astronaut_png.read_bytes()


def test_same_file_sees_links(tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("x")
    (tmp_path / "h.txt").hardlink_to(a) if hasattr(Path, "hardlink_to") else os.link(a, tmp_path / "h.txt")
    (tmp_path / "s.txt").symlink_to(a)
    assert user_paths.same_file(a, tmp_path / "h.txt") and user_paths.same_file(a, tmp_path / "s.txt")
    assert user_paths.same_file(tmp_path / "new.mp4", tmp_path / "sub" / ".." / "new.mp4")   # neither exists
    assert not user_paths.same_file(a, tmp_path / "b.txt")
    with pytest.raises(VcamError, match="is also an input"):
        user_paths.refuse_inputs(tmp_path / "s.txt", [None, "demo", str(a)])


# -- damaged and short inputs ------------------------------------------------------------------

def damaged(tmp_path: Path) -> Path:
    """A 300-frame video with a stretch of zeros in the middle of its data."""
    whole = make_video(tmp_path / "whole.mp4", 300)
    data = bytearray(whole.read_bytes())
    n = len(data)
    data[n // 3: n // 3 + n // 10] = bytes(n // 10)
    path = tmp_path / "damaged.mp4"
    path.write_bytes(bytes(data))
    return path


def test_a_damaged_video_is_refused_unless_allowed(tmp_path):
    clip = damaged(tmp_path)
    out = tmp_path / "out.mp4"
    done = vcam("process", str(clip), "--effect", "none", "-o", str(out), cwd=tmp_path)
    assert done.returncode == 2
    said = vcam_lines(done.stderr)
    assert len(said) == 1, said                       # one line, no FFmpeg noise before it
    m = re.search(r"read (\d+) of 300 frames: the file is damaged or incomplete", said[0])
    assert m and 0 < int(m.group(1)) < 300 and "--allow-short" in said[0]
    assert not out.exists() and leftovers(tmp_path) == []

    frames = tmp_path / "frames"
    done = vcam("process", str(clip), "--effect", "matte", "-o", str(frames), cwd=tmp_path)
    assert done.returncode == 2 and not frames.exists()

    kept = vcam("process", str(clip), "--effect", "none", "-o", str(out), "--allow-short", cwd=tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert f"read {m.group(1)} of 300 frames" in kept.stderr and "kept" in kept.stderr
    assert count_frames(out) == int(m.group(1))


def test_a_file_without_a_video_stream_or_frames_says_so(tmp_path):
    fake = tmp_path / "talk.mp4"
    fake.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(4000))
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 20)
    for path, words in ((fake, "(MP4/MOV) has no video stream that can be decoded"),
                        (text, "is not a video file FFmpeg can read")):
        done = vcam("process", str(path), "--effect", "none", "-o", str(tmp_path / "out.mp4"), cwd=tmp_path)
        assert done.returncode == 2 and words in done.stderr, done.stderr
        assert "give an .mp4" not in done.stderr or "is not a video" in done.stderr


# -- signals -----------------------------------------------------------------------------------

def _stop_midway(args: list[str], cwd: Path, sig: int) -> tuple[int, list[str]]:
    """Start `vcam process`, send ``sig`` once it has done 50 frames of its video."""
    proc = subprocess.Popen([sys.executable, "-m", "vcam", "process", *args], cwd=cwd,
                            stderr=subprocess.PIPE, text=True, env=fresh_env(), preexec_fn=ctrl_c_default)
    lines = []
    for line in proc.stderr:
        lines.append(line.rstrip("\n"))
        if re.search(r"\] (5\d|[6-9]\d|\d{3})/600 ", line):
            proc.send_signal(sig)
            break
    _, rest = proc.communicate(timeout=120)
    return proc.returncode, vcam_lines("\n".join(lines) + "\n" + rest)


@pytest.mark.parametrize("sig, code, name", [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT"),
                                             (signal.SIGHUP, 129, "SIGHUP"), (signal.SIGQUIT, 131, "SIGQUIT")])
def test_a_signal_removes_the_output_in_progress_and_keeps_the_finished(tmp_path, astronaut_png, sig, code, name):
    clip = make_video(tmp_path / "long.mp4", 600, size=(640, 360))
    out = tmp_path / "out"
    returncode, said = _stop_midway([str(astronaut_png), str(clip), "--effect", "blur", "-o", str(out)], tmp_path, sig)
    assert returncode == code, said
    assert len(said) == 1 and said[0].startswith(f"vcam: stopped by {name} at {clip}, frame ")
    assert "the output in progress was removed, 1 finished output(s) kept" in said[0]
    assert sorted(p.name for p in out.iterdir()) == ["astronaut.png"]      # the picture kept, no video
    assert leftovers(tmp_path) == []


def test_a_signal_while_writing_frames_leaves_no_frame(tmp_path):
    clip = make_video(tmp_path / "long.mp4", 600, size=(640, 360))
    frames = tmp_path / "frames"
    returncode, said = _stop_midway([str(clip), "--effect", "matte", "-o", str(frames)], tmp_path, signal.SIGTERM)
    assert returncode == 143 and "stopped by SIGTERM" in said[0]
    assert not frames.exists() or list(frames.iterdir()) == []


# -- odd sizes, rotation -----------------------------------------------------------------------

def test_odd_sizes_go_out_even_and_are_said_once(tmp_path, recording_backend, caplog):
    sink = VirtualCameraSink(161, 121, 30, backend="recording")
    frame = np.random.default_rng(1).integers(0, 256, (121, 161, 3), np.uint8)
    data = sink.convert(frame)
    sink.send(data)
    sink.close()
    device = recording_backend.instances[-1]
    assert (device.width, device.height) == (160, 120)
    assert np.array_equal(data, frame[:120, :160])
    assert sum("needs even sides" in r.message for r in caplog.records) == 1

    bench = vcam("bench", "--resolution", "161x121", "--frames", "10", "--effects", "blur", "color", cwd=tmp_path)
    assert bench.returncode == 0, bench.stderr
    assert bench.stderr.count("the virtual camera needs even sides: 161x121 frames go out as 160x120") == 1

    odd = odd_gif(tmp_path / "odd.gif", 12, (161, 121))     # OpenCV's own writer cannot make odd sizes
    assert count_frames(odd, (121, 161, 3)) == 12
    done = vcam("process", str(odd), "--effect", "none", "-o", str(tmp_path / "even.mp4"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("needs even sides") == 1
    assert count_frames(tmp_path / "even.mp4", (120, 160, 3)) == 12


def odd_gif(path: Path, frames: int, size: tuple[int, int]) -> Path:
    from PIL import Image

    w, h = size
    pictures = [Image.fromarray(np.full((h, w, 3), (i * 20 % 256, 100, 200 - i * 10), np.uint8)) for i in range(frames)]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=100, loop=0)
    return path


def test_a_video_sink_checks_what_it_wrote(tmp_path):
    sink = VideoFileSink(tmp_path / "v.mp4", 64, 48, 10)
    frame = np.zeros((48, 64, 3), np.uint8)
    for _ in range(7):
        sink.send(sink.convert(frame))
    sink.close()
    assert count_frames(tmp_path / "v.mp4", (48, 64, 3)) == 7
    with pytest.raises(VcamError, match="holds 7 of the 9 frames written"):
        video_check.check_video(tmp_path / "v.mp4", tmp_path / "v.mp4", 9, (64, 48))
    with pytest.raises(VcamError, match="came out 64x48, not 62x48"):
        video_check.check_video(tmp_path / "v.mp4", tmp_path / "v.mp4", 7, (62, 48))


def test_rotation_metadata_is_honoured_in_every_reader(tmp_path):
    from vcam.fileio.video_reader import VideoReader

    rotated = DATA / "rotated-90.mp4"
    reader = VideoReader(rotated)
    frame = reader.read(loop=False)
    reader.close()
    assert frame.shape == (64, 48, 3)                      # stored 64x48, shown 48x64
    assert frame[-8:, :, 0].mean() > 200 and frame[:8, :, 0].mean() < 120   # the red stripe along the bottom
    done = vcam("process", str(rotated), "--effect", "none", "-o", str(tmp_path / "p.mp4"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert count_frames(tmp_path / "p.mp4", (64, 48, 3)) == 10
    done = vcam("run", "--source", str(rotated), "--effect", "none", "--output", str(tmp_path / "r.mp4"),
                "--frames", "4", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert count_frames(tmp_path / "r.mp4", (64, 48, 3)) == 4


# -- models, options, messages -----------------------------------------------------------------

def test_a_model_that_is_not_a_segmenter_is_refused(tmp_path, astronaut_png):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from vcam.segment.onnx import OnnxSegmenter

    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
         helper.make_node("Flatten", ["pooled"], ["flat"]),
         helper.make_node("Gemm", ["flat", "w", "b"], ["scores"])],
        "classifier",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor("w", TensorProto.FLOAT, [3, 2], [0.1] * 6), helper.make_tensor("b", TensorProto.FLOAT, [2], [0, 0])])
    path = tmp_path / "classifier.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8   # what onnxruntime 1.17, the oldest vcam supports, reads
    onnx.save(model, str(path))
    with pytest.raises(VcamError, match=r"gives a 1x2 output: not a map of the person"):
        OnnxSegmenter(SegmentSettings(backend="onnx", model=str(path), model_type="selfie"))
    done = vcam("process", str(astronaut_png), "--model", str(path), "-o", str(tmp_path / "m.png"), cwd=tmp_path)
    assert done.returncode == 2 and "not a map of the person" in done.stderr
    assert not (tmp_path / "m.png").exists()


def test_debug_shows_the_traceback_and_keeps_exit_code_2(tmp_path):
    done = vcam("process", str(tmp_path / "missing.png"), "-o", str(tmp_path / "x.png"), "--debug", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" in done.stderr and "vcam: error: input" in done.stderr


def test_help_states_the_real_defaults():
    from vcam.cli import build_parser

    parser = build_parser()
    checked = 0
    for name, sub in parser._subparsers._group_actions[0].choices.items():
        for action in sub._actions:
            m = re.search(r"\(default: ([^)]*)\)", action.help or "")
            if not m or action.default is None or action.default == "auto":   # "auto" is described in words
                continue
            said = m.group(1)
            real = action.default
            shown = f"{real:g}" if isinstance(real, float) else " ".join(real) if isinstance(real, list) else str(real)
            assert said == shown, f"vcam {name} {action.option_strings}: help says {said}, default is {shown}"
            checked += 1
    assert checked > 30
    assert parser.parse_args(["process", "x", "-o", "y"]).effect is None   # each file its kind's: FILE_DEFAULT_EFFECTS
    assert parser.parse_args(["process", "x", "-o", "y"]).threshold == MatteSettings.threshold


def test_one_video_is_reported_in_frames(tmp_path):
    clip = make_video(tmp_path / "clip.mp4", 12)
    done = vcam("process", str(clip), "--effect", "none", "-o", str(tmp_path / "o.mp4"), cwd=tmp_path)
    assert done.returncode == 0
    assert vcam_lines(done.stderr)[-1] == f"vcam: wrote 12 frames to {tmp_path / 'o.mp4'}"


def test_an_animated_gif_is_a_video_everywhere(tmp_path):
    gif = odd_gif(tmp_path / "wave.gif", 8, (120, 90))
    done = vcam("process", str(gif), "--effect", "none", "-o", str(tmp_path / "wave.mp4"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert count_frames(tmp_path / "wave.mp4", (90, 120, 3)) == 8
    clip = make_video(tmp_path / "clip.mp4", 10)
    done = vcam("process", str(clip), "--effect", "replace", "--background", str(gif), "-o", str(tmp_path / "r.mp4"),
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert count_frames(tmp_path / "r.mp4") == 10


def test_library_noise_stays_out_unless_verbose(tmp_path):
    clip = damaged(tmp_path)
    whole = tmp_path / "whole.png"
    assert cv2.imwrite(str(whole), np.random.default_rng(0).integers(0, 256, (200, 200, 3), np.uint8))
    cut = tmp_path / "cut.png"
    cut.write_bytes(whole.read_bytes()[:20000])
    quiet = []
    for args in ((str(clip), "--effect", "none", "-o", str(tmp_path / "o.mp4")), (str(cut), "-o", str(tmp_path / "o.png"))):
        done = vcam("process", *args, cwd=tmp_path)
        assert done.returncode == 2
        assert all(line.startswith("vcam:") for line in vcam_lines(done.stderr)), done.stderr
        quiet.append(done.stderr)
    loud = vcam("process", str(clip), "--effect", "none", "-o", str(tmp_path / "o.mp4"), "-v", cwd=tmp_path)
    said = [line for line in loud.stderr.splitlines() if line not in quiet[0].splitlines() and "damaged" in line]
    assert said, loud.stderr   # -v lets FFmpeg speak (its decoder names the damage)
