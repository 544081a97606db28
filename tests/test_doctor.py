"""`vcam doctor`: the real run on this machine, and the Linux checks on fake /sys, /dev, /proc trees
laid out as the kernel lays them out."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest
from helpers import HAS_MEDIAPIPE, V4L2_CTL

from vcam import doctor
from vcam.doctor import MODPROBE, Check, Roots
from vcam.system import packages

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="v4l2loopback is Linux only")


def fake_roots(tmp_path: Path, devices: dict[int, tuple[str, bool]], *, module: bool = True,
               exclusive_caps: Optional[str] = None) -> Roots:
    """/dev/videoN files and their sysfs entries: {N: (card name, is v4l2loopback)}."""
    roots = Roots(sys=tmp_path / "sys", dev=tmp_path / "dev", proc=tmp_path / "proc")
    for d in (roots.sys / "class" / "video4linux", roots.dev, roots.proc):
        d.mkdir(parents=True)
    for n, (name, loopback) in devices.items():
        parent = "virtual" if loopback else "pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0"
        node = roots.sys / "devices" / parent / "video4linux" / f"video{n}"
        node.mkdir(parents=True)
        (node / "name").write_text(name + "\n")
        (roots.sys / "class" / "video4linux" / f"video{n}").symlink_to(node)
        (roots.dev / f"video{n}").write_bytes(b"")
    if module:
        params = roots.sys / "module" / "v4l2loopback" / "parameters"
        params.mkdir(parents=True)
        if exclusive_caps is not None:
            (params / "exclusive_caps").write_text(exclusive_caps + "\n")
    return roots


def failures(checks: list[Check]) -> list[Check]:
    return [c for c in checks if not c.ok]


@linux_only
def test_real_run_on_this_machine_without_v4l2loopback_exits_1_with_the_modprobe_line():
    if Path("/sys/module/v4l2loopback").exists():
        pytest.skip("v4l2loopback is loaded here")
    done = subprocess.run([sys.executable, "-m", "vcam", "doctor"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert MODPROBE in done.stdout
    assert "v4l2loopback is not loaded" in done.stdout
    # The other sections ran too: the report is whole, not cut short by the first problem.
    for title in ("system:", "cameras:", "segmentation:", "numba:"):
        assert title in done.stdout
    assert "numba" in done.stdout and "compiles" in done.stdout


def test_loopback_with_exclusive_caps_and_a_writable_free_device_passes(tmp_path):
    roots = fake_roots(tmp_path, {0: ("HD Webcam", False), 10: ("vcam", True)}, exclusive_caps="Y,N,N,N")
    checks = doctor.check_virtual_camera_linux(roots)
    assert failures(checks) == []
    text = " ".join(c.what for c in checks)
    assert "exclusive_caps=1" in text and "writable" in text and "not in use" in text
    assert str(roots.dev / "video10") in text and str(roots.dev / "video0") not in text   # the webcam is not one


def test_exclusive_caps_written_as_1_counts_too(tmp_path):
    roots = fake_roots(tmp_path, {3: ("vcam", True)}, exclusive_caps="1")
    assert doctor.exclusive_caps(roots, 0) is True
    assert failures(doctor.check_virtual_camera_linux(roots)) == []


@pytest.mark.parametrize("value", ["N,N,N,N", "0"])
def test_exclusive_caps_off_is_a_problem_with_the_reload_fix(tmp_path, value):
    roots = fake_roots(tmp_path, {10: ("vcam", True)}, exclusive_caps=value)
    bad = failures(doctor.check_virtual_camera_linux(roots))
    assert len(bad) == 1 and bad[0].required
    assert "exclusive_caps" in bad[0].what
    assert "modprobe -r v4l2loopback" in bad[0].fix and MODPROBE in bad[0].fix
    assert not doctor.ready([("virtual camera", bad)])


def test_module_not_loaded_gives_the_modprobe_line(tmp_path):
    roots = fake_roots(tmp_path, {0: ("HD Webcam", False)}, module=False)
    checks = doctor.check_virtual_camera_linux(roots)
    assert len(checks) == 1 and not checks[0].ok
    assert MODPROBE in checks[0].fix


def test_module_loaded_without_a_device_is_a_problem(tmp_path):
    roots = fake_roots(tmp_path, {0: ("HD Webcam", False)}, exclusive_caps="Y")
    bad = failures(doctor.check_virtual_camera_linux(roots))
    assert len(bad) == 1 and "no device" in bad[0].what


def test_a_device_held_by_another_program_is_in_use(tmp_path):
    roots = fake_roots(tmp_path, {10: ("vcam", True)}, exclusive_caps="Y")
    fd = roots.proc / "4242" / "fd"
    fd.mkdir(parents=True)
    (roots.proc / "4242" / "comm").write_text("obs\n")
    (fd / "7").symlink_to(roots.dev / "video10")
    bad = failures(doctor.check_virtual_camera_linux(roots))
    assert len(bad) == 1
    assert "in use by obs (pid 4242)" in bad[0].what and "--output-device" in bad[0].fix


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anything")
def test_a_device_you_may_not_write_is_a_problem(tmp_path):
    roots = fake_roots(tmp_path, {10: ("vcam", True)}, exclusive_caps="Y")
    (roots.dev / "video10").chmod(0o444)
    bad = failures(doctor.check_virtual_camera_linux(roots))
    assert len(bad) == 1 and "not writable" in bad[0].what and "usermod" in bad[0].fix


def test_the_first_usable_loopback_device_is_reported(tmp_path):
    # video10 without exclusive_caps, video11 with: vcam can use video11, so no problem.
    roots = fake_roots(tmp_path, {10: ("old", True), 11: ("vcam", True)}, exclusive_caps="N,Y")
    checks = doctor.check_virtual_camera_linux(roots)
    assert failures(checks) == []
    assert any(str(roots.dev / "video11") in c.what and "exclusive_caps=1" in c.what for c in checks)


def test_cameras_are_told_apart_from_loopback_devices_and_list_their_modes(tmp_path):
    roots = fake_roots(tmp_path, {0: ("HD Webcam", False), 10: ("vcam", True)}, exclusive_caps="Y")
    asked = []
    checks = doctor.check_cameras(roots, modes=lambda path: asked.append(path) or "MJPG 1280x720@30")
    assert asked == [roots.dev / "video0"]
    assert failures(checks) == []
    assert "HD Webcam" in checks[0].what and "MJPG 1280x720@30" in checks[0].what


def test_a_webcams_metadata_node_is_not_a_camera(tmp_path):
    roots = fake_roots(tmp_path, {0: ("HD Webcam", False), 1: ("HD Webcam", False)})
    (roots.sys / "class" / "video4linux" / "video0" / "index").write_text("0\n")
    (roots.sys / "class" / "video4linux" / "video1" / "index").write_text("1\n")
    asked = []
    checks = doctor.check_cameras(roots, modes=lambda path: asked.append(path) or "YUYV 640x480@30")
    assert asked == [roots.dev / "video0"] and len(checks) == 1


def test_without_v4l2_ctl_the_modes_are_a_note_not_a_problem(tmp_path):
    roots = fake_roots(tmp_path, {0: ("HD Webcam", False)})
    checks = doctor.check_cameras(roots, modes=lambda path: None)
    note = [c for c in checks if "v4l2-ctl" in c.what]
    assert len(note) == 1 and not note[0].required and "v4l-utils" in note[0].fix
    assert doctor.ready([("cameras", checks)])


def test_no_camera_is_a_problem(tmp_path):
    roots = fake_roots(tmp_path, {10: ("vcam", True)})
    bad = failures(doctor.check_cameras(roots, modes=lambda path: None))
    assert len(bad) == 1 and "no camera" in bad[0].what and bad[0].fix


def test_v4l2_ctl_modes_are_summarized():
    assert doctor.summarize_modes(V4L2_CTL) == "MJPG 1280x720@30 640x480@30; YUYV 640x480@60"


def test_ready_only_when_every_required_check_passes():
    assert doctor.ready([("a", [Check(True, "x"), Check(False, "optional", "fix", required=False)])])
    assert not doctor.ready([("a", [Check(True, "x")]), ("b", [Check(False, "needed", "fix")])])
    text = doctor.report([("b", [Check(False, "needed", "do this")])])
    assert "[FAIL] needed" in text and "fix: do this" in text and "not ready" in text


def test_segmentation_and_numba_checks_pass_here():
    # Both are dependencies of vcam: installed with it, so they must work in its test environment.
    assert failures(doctor.check_numba()) == []
    seg = doctor.check_segmentation()
    assert [c for c in seg if c.required and not c.ok] == []
    assert any("model general" in c.what for c in seg)


def fake_distribution(site: Path, name: str, version: str) -> None:
    """An installed distribution as pip leaves it (a .dist-info folder), for importlib.metadata."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def test_libraries_report_the_versions_in_use():
    import cv2
    import numpy
    import onnxruntime

    found = " | ".join(c.what for c in doctor.check_libraries() + doctor.check_segmentation())
    assert f"OpenCV {cv2.__version__} ({packages.OPENCV_WANTED} " in found
    assert f"numpy {numpy.__version__}" in found
    assert f"onnxruntime {onnxruntime.__version__}" in found
    assert failures(doctor.check_libraries()) == []


def test_two_opencv_distributions_are_a_problem_with_the_commands_that_fix_it(tmp_path, monkeypatch):
    from importlib import metadata

    wanted = packages.OPENCV_WANTED
    ours = metadata.version(wanted)
    fake_distribution(tmp_path, "opencv-python", "4.10.0.84")
    monkeypatch.syspath_prepend(str(tmp_path))
    bad = failures(doctor.check_libraries())
    assert len(bad) == 1
    first, second = sorted([(wanted, ours), ("opencv-python", "4.10.0.84")], key=lambda d: packages.OPENCV.index(d[0]))
    assert bad[0].what.startswith(f"{first[0]} {first[1]} and {second[0]} {second[1]} are installed together"), bad[0].what
    assert bad[0].fix == (f"pip uninstall -y {first[0]} {second[0]} && pip install '{wanted}=={ours}'")
    text = doctor.report([("libraries", doctor.check_libraries())])
    assert "[FAIL]" in text and "not ready" in text


def test_a_second_onnxruntime_and_an_old_one_are_flagged(tmp_path, monkeypatch):
    fake_distribution(tmp_path, "onnxruntime-gpu", "1.20.1")
    monkeypatch.syspath_prepend(str(tmp_path))
    bad = [c for c in failures(doctor.check_segmentation()) if c.required]
    assert len(bad) == 1 and "onnxruntime" in bad[0].what and "onnxruntime-gpu 1.20.1 are installed together" in bad[0].what
    assert bad[0].fix == "pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu"  # the GPU one kept
    old = doctor.check_distributions("onnxruntime", [("onnxruntime", "1.16.3")], "pip install -U onnxruntime")
    assert len(old) == 1 and not old[0].ok and "older than 1.17" in old[0].what
    assert doctor.check_distributions("onnxruntime", [("onnxruntime", "1.17.0")], "x") == []


def test_a_mediapipe_without_the_selfie_models_is_not_reported_as_working(tmp_path, monkeypatch):
    fake_distribution(tmp_path, "mediapipe", "1.2.3")
    monkeypatch.syspath_prepend(str(tmp_path))
    check = doctor.check_mediapipe(required=False)
    assert not check.ok and not check.required
    assert "mediapipe 1.2.3 is installed, but only mediapipe 0.10.21 has" in check.what
    assert ("no wheel for Python" in check.fix) if sys.version_info >= (3, 13) else ("'mediapipe==0.10.21'" in check.fix)


def test_mediapipe_is_reported_as_it_is():
    check = doctor.check_mediapipe(required=False)
    if HAS_MEDIAPIPE:
        assert check.ok and check.what == "mediapipe 0.10.21 (optional backend)"
    else:
        assert not check.ok and not check.required and "not installed" in check.what and check.fix


def test_a_module_built_for_numpy_1_beside_numpy_2_is_named_with_its_fix():
    import numpy

    from vcam.system import packages

    old_opencv = [("opencv-contrib-python", "4.8.0.74")]
    if numpy.__version__.startswith("1."):
        assert not packages.built_for_numpy1("opencv", old_opencv, ImportError("numpy.core.multiarray failed to import"))
    else:
        assert packages.built_for_numpy1("opencv", old_opencv, ImportError(""))          # by its version
        assert packages.built_for_numpy1("onnxruntime", [], ImportError("_ARRAY_API not found"))  # by the words
        assert not packages.built_for_numpy1("opencv", [("opencv-contrib-python", "4.10.0.84")], ImportError("x"))
    assert packages.numpy2_fix("onnxruntime", "onnxruntime-gpu") == (
        "pip install -U 'onnxruntime-gpu>=1.19' (built for NumPy 2), or pip install 'numpy<2'")


def test_a_library_that_cannot_load_is_one_line_and_doctor_names_it(tmp_path):
    """A real process whose cv2 cannot be imported (as when OpenCV was built for another NumPy):
    `vcam run` says so in one line and points at doctor; doctor reports it and still runs."""
    broken = tmp_path / "site" / "cv2"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('numpy.core.multiarray failed to import')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"))
    run = subprocess.run([sys.executable, "-m", "vcam", "run", "--source", "demo", "--output", "null", "--frames", "3"],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "vcam: error: a library vcam needs cannot be imported (numpy.core.multiarray failed to import): "
        "`vcam doctor` names it and the fix"]
    doc = subprocess.run([sys.executable, "-m", "vcam", "doctor"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert doc.returncode == 1 and "Traceback" not in doc.stdout + doc.stderr
    assert any(line.startswith("  [FAIL]") and "opencv" in line.lower() for line in doc.stdout.splitlines()), doc.stdout
    assert "not ready for a call" in doc.stdout


def test_the_video_library_and_its_encoders_are_reported():
    import av

    from vcam.fileio import video_writer

    checks = doctor.check_video()
    text = " | ".join(c.what for c in checks)
    assert f"PyAV {av.__version__} with FFmpeg" in text
    for codec in video_writer.CODECS.values():
        assert codec.encoder in text
    assert "an H.264 frame encodes and decodes" in text
    assert failures(checks) == [] and all(c.ok for c in checks)
    assert any(title == "video files" for title, _ in doctor.run_checks())
