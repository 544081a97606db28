"""The control panel and tray on Qt's offscreen platform, over the real pipeline (demo source,
null output or the recording virtual camera from conftest.py), and the screenshot command."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")   # before Qt is imported

import dataclasses
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import V4L2_CTL
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from vcam import VcamError
from vcam.config import CaptureSettings, EffectSettings, OutputSettings, Settings
from vcam.fileio.settings_file import load_settings, save_settings
from vcam.live import devices
from vcam.live.pipeline import Pipeline
from vcam.live.sources import Source
from vcam.system import resources
from vcam.ui.app import ExceptionHook, _wait, dispose
from vcam.ui.controller import Controller
from vcam.ui.panel import Panel
from vcam.ui.tray import Tray

GREEN = (0, 177, 64)
TIMEOUT = 60.0   # only a hung pipeline gets near it


@pytest.fixture(scope="module")
def qapp() -> QApplication:
    return QApplication.instance() or QApplication(["vcam-tests"])


def wait_until(qapp, done, timeout: float = TIMEOUT) -> bool:
    """Run Qt's event loop (timers, repaints) until ``done()``."""
    return _wait(qapp, done, timeout)


def demo_settings(effect: EffectSettings = EffectSettings("blur"), **output) -> Settings:
    return Settings(capture=CaptureSettings(source="demo", width=320, height=240, fps=30.0),
                    output=OutputSettings(**(output or {"target": "null"})), effect=effect)


def green_share(rgb: np.ndarray) -> float:
    return float(np.mean(np.all(rgb == np.array(GREEN, np.uint8), axis=-1)))


def write_picture(path: Path, colour=(200, 90, 30)) -> Path:
    img = np.zeros((90, 160, 3), np.uint8)
    img[:] = colour
    img[:, ::7] = 255   # not flat, so it is plainly a picture
    assert cv2.imwrite(str(path), img)
    return path


@pytest.fixture
def make_panel(qapp, tmp_path):
    """``make_panel(settings, config_dir=..., start=True)`` -> (controller, panel), shown; all
    closed at the end."""
    made = []

    def make(settings=None, *, config_dir=None, start=True):
        controller = Controller(config_dir or tmp_path / "config", initial=settings)
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


def frames_after(qapp, controller, n: int) -> None:
    start = (controller.stats() or {}).get("frames", 0)
    assert wait_until(qapp, lambda: (controller.stats() or {}).get("frames", 0) >= start + n), controller.problems


# -- the preview API of the pipeline ---------------------------------------------------------------
def test_pipeline_preview_is_made_only_when_asked():
    with Pipeline(demo_settings(EffectSettings("color", color=GREEN))) as pipeline:
        assert pipeline.wait(0) is False
        while pipeline.stats()["frames"] < 5:
            pipeline.wait(0.05)
        assert pipeline.preview(160) is None          # frames went by, but nobody had asked
        preview = None
        for _ in range(400):
            preview = pipeline.preview(160)
            if preview is not None:
                break
            pipeline.wait(0.05)
        assert preview is not None
        out, original = preview
        assert out.shape == original.shape == (120, 160, 3) and out.dtype == np.uint8
        assert green_share(out) > 0.1                 # the background, coloured
        assert green_share(original) < 0.01           # the camera picture, untouched
        out[:] = 0                                    # a copy: the next preview is unharmed
        for _ in range(400):
            again = pipeline.preview(1000)            # never scaled up past the frame
            if again is not None and again[0].shape[1] == 320:
                break
            pipeline.wait(0.05)
        assert again[0].shape == (240, 320, 3)
        assert green_share(again[0]) > 0.1
        with pytest.raises(VcamError, match="preview width"):
            pipeline.preview(0)


# -- the panel over a running pipeline -------------------------------------------------------------
def test_effect_controls_change_the_running_pipeline(qapp, make_panel):
    controller, panel = make_panel(demo_settings(EffectSettings("blur")))
    assert controller.running, controller.problems
    pipeline = controller.pipeline
    assert panel.effect_tab.effect_buttons["blur"].isChecked()

    QTest.mouseClick(panel.effect_tab.effect_buttons["color"], Qt.MouseButton.LeftButton)
    assert pipeline.settings.effect.effect == "color"
    assert controller.pipeline is pipeline                  # applied live, not restarted
    assert wait_until(qapp, lambda: panel.output_view.frames > 0)
    assert wait_until(qapp, lambda: green_share(controller.preview(160)[0]) > 0.1 if controller.preview(160) else False)

    QTest.mouseClick(panel.effect_tab.effect_buttons["none"], Qt.MouseButton.LeftButton)
    assert pipeline.settings.effect.effect == "none"
    QTest.mouseClick(panel.effect_tab.effect_buttons["blur"], Qt.MouseButton.LeftButton)
    panel.effect_tab.blur_slider.setValue(40)
    assert pipeline.settings.effect.blur == 40.0
    assert panel.effect_tab.blur_value.text() == "40"
    QTest.mouseClick(panel.effect_tab.effect_buttons["bokeh"], Qt.MouseButton.LeftButton)
    assert pipeline.settings.effect.effect == "bokeh" and pipeline.settings.effect.blur == 40.0
    panel.effect_tab.halo_box.setChecked(not pipeline.settings.effect.halo_free)
    assert pipeline.settings.effect.halo_free is panel.effect_tab.halo_box.isChecked()
    assert not panel.effect_tab.clean_box.isVisibleTo(panel)      # clean edges: for a new background or colour
    QTest.mouseClick(panel.effect_tab.effect_buttons["color"], Qt.MouseButton.LeftButton)
    clean_box = panel.effect_tab.clean_box
    assert clean_box.isVisibleTo(panel) and clean_box.isChecked() and pipeline.settings.effect.clean_edges
    panel.effect_tab.clean_box.setChecked(False)
    assert pipeline.settings.effect.clean_edges is False
    panel.effect_tab.clean_box.setChecked(True)
    QTest.mouseClick(panel.effect_tab.effect_buttons["bokeh"], Qt.MouseButton.LeftButton)
    panel.person_tab.smoothing_slider.setValue(30)
    assert pipeline.settings.matte.smoothing == pytest.approx(0.3)
    panel.person_tab.threshold_slider.setValue(60)
    panel.person_tab.softness_slider.setValue(50)
    assert (pipeline.settings.matte.threshold, pipeline.settings.matte.softness) == (pytest.approx(0.6), pytest.approx(0.5))
    assert panel.person_tab.threshold_value.text() == "0.60"
    panel.person_tab.follow_box.setChecked(not pipeline.settings.segment.follow)
    assert pipeline.settings.segment.follow is panel.person_tab.follow_box.isChecked()
    assert controller.pipeline is pipeline                  # all of it live
    panel.camera_tab.mirror_box.setChecked(True)
    assert pipeline.settings.capture.mirror is True
    assert pipeline._capture.mirror is True
    frames_after(qapp, controller, 3)
    assert controller.stats()["error"] is None


def test_gallery_lists_the_shipped_backgrounds_and_switches_to_one(qapp, make_panel):
    shipped = resources.backgrounds()
    assert len(shipped) >= 3
    controller, panel = make_panel(demo_settings(EffectSettings("blur")))
    assert panel.effect_tab.gallery.paths() == shipped
    for path in shipped:
        item = panel.effect_tab.gallery.item_for(path)
        assert item.text() == path.stem
        assert not item.icon().isNull()
        assert "comes with vcam" in item.toolTip()
    chosen = shipped[1]
    item = panel.effect_tab.gallery.item_for(chosen)
    panel.effect_tab.gallery.scrollToItem(item)
    QTest.mouseClick(panel.effect_tab.gallery.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     panel.effect_tab.gallery.visualItemRect(item).center())
    effect = controller.pipeline.settings.effect
    assert (effect.effect, effect.background) == ("replace", str(chosen))
    assert panel.effect_tab.wrap_slider.isVisibleTo(panel)
    panel.effect_tab.wrap_slider.setValue(70)
    assert controller.pipeline.settings.effect.light_wrap == pytest.approx(0.7)
    assert panel.effect_tab.harmony_slider.isVisibleTo(panel)
    panel.effect_tab.harmony_slider.setValue(40)
    assert controller.pipeline.settings.effect.harmonize == pytest.approx(0.4)
    assert panel.effect_tab.harmony_value.text() == "0.40"
    assert controller.pipeline.settings.effect.background == str(chosen)
    assert panel.effect_tab.gallery.selectedItems() == [item]
    assert panel.effect_tab.effect_buttons["replace"].isChecked()
    frames_after(qapp, controller, 3)
    assert controller.stats()["error"] is None


def drop_files(widget, paths) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)


def test_added_background_persists_in_a_new_panel(qapp, make_panel, tmp_path):
    config = tmp_path / "config"
    mine = write_picture(tmp_path / "my room.png")
    controller, panel = make_panel(demo_settings(EffectSettings("blur")), config_dir=config)
    drop_files(panel.effect_tab.gallery, [mine])
    assert controller.pipeline.settings.effect.background == str(mine)
    assert panel.effect_tab.gallery.paths()[-1] == mine
    assert panel.effect_tab.gallery.selected_is_user() and panel.effect_tab.remove_button.isEnabled()
    panel.close()
    controller.close()
    assert json.loads((config / "ui.json").read_text())["backgrounds"] == [str(mine)]

    again, panel2 = make_panel(config_dir=config, start=False)   # settings from the file this time
    assert again.settings.effect == EffectSettings("replace", background=str(mine))
    assert panel2.effect_tab.gallery.paths() == resources.backgrounds() + [mine]
    assert panel2.effect_tab.gallery.selectedItems()[0].data(Qt.ItemDataRole.UserRole) == str(mine)
    again.start()
    assert again.pipeline.settings.effect.background == str(mine)

    # removing it from the gallery is remembered too (the file itself stays)
    panel2.effect_tab.remove_button.click()
    assert mine not in panel2.effect_tab.gallery.paths()
    assert json.loads((config / "ui.json").read_text())["backgrounds"] == []
    assert mine.exists()


def test_a_saved_background_whose_name_is_not_utf8_can_be_picked_and_removed(qapp, make_panel, tmp_path):
    """Qt's copy of a name that is not UTF-8 loses the undecodable bytes: the gallery still finds,
    uses and forgets the very file that ui.json names."""
    config = tmp_path / "config"
    config.mkdir()
    mine = tmp_path / os.fsdecode(b"caf\xe9 room.png")           # Latin-1, as an old file system has it
    mine.write_bytes(cv2.imencode(".png", np.full((90, 160, 3), (30, 90, 200), np.uint8))[1].tobytes())
    (config / "ui.json").write_text(json.dumps({"backgrounds": [str(mine)]}))
    controller, panel = make_panel(demo_settings(EffectSettings("blur")), config_dir=config)
    item = panel.effect_tab.gallery.item_for(mine)
    assert item is not None and panel.effect_tab.gallery.paths()[-1] == mine
    assert "(yours)" in item.toolTip()                            # its thumbnail was made: no problem shown
    panel.effect_tab.gallery.scrollToItem(item)
    QTest.mouseClick(panel.effect_tab.gallery.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     panel.effect_tab.gallery.visualItemRect(item).center())
    assert controller.pipeline.settings.effect.background == str(mine), controller.problems
    assert panel.effect_tab.gallery.selectedItems() == [item] and panel.effect_tab.remove_button.isEnabled()
    frames_after(qapp, controller, 3)
    panel.effect_tab.remove_button.click()
    assert mine not in panel.effect_tab.gallery.paths()
    assert json.loads((config / "ui.json").read_text())["backgrounds"] == []


def test_stats_labels_update(qapp, make_panel):
    controller, panel = make_panel(demo_settings(), start=False)
    assert panel.rate_label.text() == "—" and panel.stages_label.text() == "—"
    controller.start()
    assert wait_until(qapp, lambda: "segment" in panel.stages_label.text()
                      and (controller.stats() or {}).get("fps", 0) > 0)
    assert wait_until(qapp, lambda: not panel.rate_label.text().startswith("0.0 fps"))
    fps = float(panel.rate_label.text().split(" fps")[0])
    assert fps > 0
    assert "CPU" in panel.rate_label.text()
    assert panel.source_label.text() == "demo, 320 × 240"
    assert "running" in panel.output_label.text() and "null" in panel.output_label.text()
    assert "Per stage" not in panel.status_text()                 # the time per stage: in the details
    panel.details_button.click()
    assert panel.details_box.isVisibleTo(panel) and panel.stages_label.text() in panel.status_text()
    assert "segment" in panel.stages_label.text()


def test_virtual_camera_shown_live(qapp, make_panel, recording_backend):
    controller, panel = make_panel(demo_settings(target="virtual", backend="recording"))
    assert controller.state == "live"
    cam = recording_backend.instances[-1]
    assert cam.wait_for(3, TIMEOUT)
    panel.refresh_stats()
    assert "live on the virtual camera" in panel.output_label.text()
    assert "/dev/recording0" in panel.output_label.text()
    panel.pause_button.click()
    assert controller.state == "paused" and controller.pipeline is None
    assert cam.closed == 1                                       # the device is let go while paused
    assert panel.pause_button.text() == "Resume"
    panel.pause_button.click()
    assert controller.state == "live"
    assert recording_backend.instances[-1].wait_for(3, TIMEOUT)


def test_no_virtual_camera_runs_anyway_and_shows_the_fix(qapp, make_panel):
    controller, panel = make_panel(demo_settings(target="virtual", device="/dev/video57"))
    assert controller.state == "preview"
    assert controller.pipeline.settings.output.target == "null"
    assert controller.settings.output.target == "virtual"        # still what is asked for (and saved)
    assert wait_until(qapp, lambda: panel.output_view.frames > 0)
    text = panel.status_text()
    assert "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=vcam" in text
    assert "/dev/video57" in text
    assert "no virtual camera" in panel.output_label.text()
    # a change still applies live, with the stand-in output
    assert controller.set_effect("none")
    assert controller.pipeline.settings.effect.effect == "none"
    assert controller.pipeline.settings.output.target == "null"


def test_a_virtual_camera_that_refuses_the_size_runs_anyway_and_shows_the_fix(qapp, make_panel):
    """A device another program streams to in another format refuses ours: the panel keeps
    running with the preview only and says what happened and what to do."""
    import pyvirtualcam
    from test_modes import RefusingBackend

    pyvirtualcam.register_backend("refusing", RefusingBackend)
    try:
        controller, panel = make_panel(demo_settings(target="virtual", backend="refusing"))
    finally:
        pyvirtualcam.camera.BACKENDS.pop("refusing", None)
    assert controller.state == "preview"
    assert controller.settings.output.target == "virtual"        # still what is asked for
    assert wait_until(qapp, lambda: panel.output_view.frames > 0)
    text = panel.status_text()
    assert "refused 320x240 at" in text and "fuser -v" in text


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="on demand reads /proc (Linux)")
def test_on_demand_box_applies_at_once_and_is_saved(qapp, make_panel, recording_backend, tmp_path):
    device = tmp_path / "video10"   # stands in for the virtual camera's device
    device.write_bytes(b"")
    controller, panel = make_panel(demo_settings(target="virtual", backend="recording", device=str(device)))
    assert controller.state == "live" and controller.pipeline.watch is None
    assert not panel.camera_tab.on_demand_box.isHidden() and not panel.camera_tab.on_demand_box.isChecked()
    panel.camera_tab.on_demand_box.click()
    assert controller.settings.output.on_demand
    assert controller.pipeline.settings.output.on_demand
    assert controller.pipeline.watch is not None and controller.pipeline.watch.device == device
    assert recording_backend.instances[-1].closed == 0   # no restart: the same virtual camera
    controller.save()
    assert json.loads((tmp_path / "config" / "settings.json").read_text())["output"]["on_demand"] is True
    panel.camera_tab.on_demand_box.click()
    assert not controller.settings.output.on_demand and controller.pipeline.watch is None
    assert len(recording_backend.instances) == 1


def test_a_pipeline_that_cannot_start_is_shown_and_a_fix_starts_it(qapp, make_panel):
    settings = demo_settings(target="virtual", device="/dev/video57")
    settings = settings.replace(segment=dataclasses.replace(settings.segment, backend="no-such-backend"))
    controller, panel = make_panel(settings)
    assert controller.state == "stopped" and controller.pipeline is None
    assert "no-such-backend" in panel.problem_labels["pipeline"].text()
    assert "output" not in controller.problems          # not blamed on the virtual camera
    assert wait_until(qapp, lambda: "Not running" in panel.output_view.text())
    index = panel.person_tab.backend_combo.findText("onnx")
    panel.person_tab.backend_combo.setCurrentIndex(index)
    panel.person_tab.backend_combo.activated.emit(index)
    assert controller.running and controller.pipeline.settings.segment.backend == "onnx"
    assert "pipeline" not in controller.problems
    assert controller.state == "preview"                # and still no virtual camera here
    frames_after(qapp, controller, 3)


def _bad_file(kind: str, tmp_path: Path) -> Path:
    if kind == "missing":
        return tmp_path / "gone.jpg"
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8 this is not a JPEG at all " * 50)
    return path


@pytest.mark.parametrize("kind", ["missing", "corrupt"])
def test_bad_background_shows_an_error_and_keeps_the_previous_one(qapp, make_panel, tmp_path, kind):
    config = tmp_path / "config"
    controller, panel = make_panel(demo_settings(EffectSettings("color", color=GREEN)), config_dir=config)
    before = controller.pipeline.settings
    bad = _bad_file(kind, tmp_path)
    drop_files(panel.effect_tab.gallery, [bad])
    assert bad.name in panel.status_text()
    assert "background" in controller.problems
    assert controller.pipeline.settings == before and controller.settings.effect == before.effect
    assert bad not in panel.effect_tab.gallery.paths()
    assert panel.effect_tab.effect_buttons["color"].isChecked()
    assert wait_until(qapp, lambda: green_share(controller.preview(160)[0]) > 0.1 if controller.preview(160) else False)
    controller.save()
    assert load_settings(config / "settings.json").effect == before.effect

    # a gallery entry whose file went bad since it was added: picking it is refused the same way
    mine = write_picture(tmp_path / "mine.png")
    assert controller.add_backgrounds([mine]) == [mine]
    QTest.mouseClick(panel.effect_tab.effect_buttons["blur"], Qt.MouseButton.LeftButton)
    _bad_file("corrupt", tmp_path).replace(mine) if kind == "corrupt" else mine.unlink()
    item = panel.effect_tab.gallery.item_for(mine)
    QTest.mouseClick(panel.effect_tab.gallery.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     panel.effect_tab.gallery.visualItemRect(item).center())
    assert controller.pipeline.settings.effect.effect == "blur"
    assert panel.effect_tab.effect_buttons["blur"].isChecked() and panel.effect_tab.gallery.selectedItems() == []
    assert "mine.png" in panel.problem_labels["background"].text()
    frames_after(qapp, controller, 3)
    assert controller.stats()["error"] is None


def test_camera_that_cannot_be_opened_keeps_the_previous_source(qapp, make_panel):
    controller, panel = make_panel(demo_settings())
    assert not controller.set_capture(source="/dev/video57")
    assert "/dev/video57" in panel.problem_labels["camera"].text()
    assert controller.pipeline.settings.capture.source == "demo"
    assert panel.camera_tab.camera_combo.currentData() == "demo"
    # a size the camera is asked for: the source reopens, the virtual camera keeps its size
    index = panel.camera_tab.size_combo.findData("640x480")
    assert index >= 0 and panel.camera_tab.size_combo.currentData() == "320x240"
    panel.camera_tab.size_combo.setCurrentIndex(index)
    panel.camera_tab.size_combo.activated.emit(index)
    assert controller.pipeline.settings.capture.width == 640
    assert "camera" not in controller.problems
    frames_after(qapp, controller, 3)
    panel.refresh_stats()
    assert "keeps 320 × 240" in panel.camera_tab.size_note.text()


def test_corrupt_settings_give_defaults_and_a_warning(qapp, make_panel, tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.json").write_text('{"effect": {"effect": "blur", "blur": ')
    (config / "ui.json").write_text('["not", "an", "object"]')
    controller, panel = make_panel(config_dir=config, start=False)
    assert controller.settings == Settings()
    assert controller.ui.backgrounds == []
    text = panel.status_text()
    assert "using defaults" in text and "settings.json" in text
    assert "ui.json" in text
    assert (config / "settings.json.bad").exists()                # kept for the user, not overwritten
    assert panel.effect_tab.effect_buttons[Settings().effect.effect].isChecked()
    # a valid but wrong file (a setting out of range) is refused the same way
    (config / "settings.json").write_text(json.dumps({"matte": {"smoothing": 7}}))
    assert Controller(config).problems["settings"].count("smoothing") == 1


def test_tray_presets_and_pause(qapp, make_panel):
    controller, panel = make_panel(demo_settings(EffectSettings("blur")))
    shown = []
    tray = Tray(controller, lambda: shown.append(True), lambda: None)
    labels = [label for label, _, _ in tray.presets()]
    assert labels[:2] == ["Off", "Blur"] and "Colour" in labels
    assert [f"Background: {p.stem}" for p in resources.backgrounds()] == [x for x in labels if x.startswith("Background")]
    assert tray.actions["Blur"].isChecked()

    tray.actions["Colour"].trigger()
    assert controller.pipeline.settings.effect.effect == "color"
    dusk = resources.backgrounds()[0]
    qapp.processEvents()                                       # the menu is rebuilt after the change
    assert tray.actions["Colour"].isChecked()
    tray.actions[f"Background: {dusk.stem}"].trigger()
    assert controller.pipeline.settings.effect.background == str(dusk)
    assert panel.effect_tab.gallery.selectedItems()[0].text() == dusk.stem  # the panel follows

    qapp.processEvents()
    tray.actions["pause"].trigger()
    assert controller.paused and not controller.running
    qapp.processEvents()
    assert tray.actions["pause"].text() == "Resume" and "paused" in tray.toolTip()
    tray.actions["pause"].trigger()
    assert controller.running
    tray.actions["show"].trigger()
    assert shown == [True]
    tray.hide()
    dispose(tray)


def test_unexpected_error_is_logged_and_shown_without_a_dialog(qapp, make_panel, caplog):
    controller, panel = make_panel(demo_settings(), start=False)
    with ExceptionHook(controller, panel, dialogs=False) as hook:
        assert sys.excepthook is hook
        try:
            raise RuntimeError("something nobody expected")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())
    assert sys.excepthook is not hook
    assert "something nobody expected" in panel.problem_labels["unexpected"].text()
    assert "something nobody expected" in caplog.text and "Traceback" in caplog.text
    assert hook.shown is False                                 # no dialog in this mode


# -- cameras ---------------------------------------------------------------------------------------
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux device nodes")
def test_cameras_listed_without_virtual_and_metadata_nodes(tmp_path):
    dev, sysfs, virtual = tmp_path / "dev", tmp_path / "sys", tmp_path / "devices" / "virtual" / "video4linux"
    for d in (dev, sysfs, virtual):
        d.mkdir(parents=True)
    for n, name, index in ((0, "HD Webcam", "0"), (1, "HD Webcam", "1"), (10, "USB Cam", "0")):
        (dev / f"video{n}").touch()
        (sysfs / f"video{n}").mkdir()
        (sysfs / f"video{n}" / "name").write_text(name + "\n")
        (sysfs / f"video{n}" / "index").write_text(index + "\n")
    (dev / "video2").touch()                                   # a v4l2loopback device (vcam's output)
    (virtual / "video2").mkdir()
    (virtual / "video2" / "name").write_text("vcam\n")
    (sysfs / "video2").symlink_to(virtual / "video2")
    (dev / "videoX").touch()
    cams = devices.list_cameras(sysfs, dev)
    assert cams == [devices.Camera(str(dev / "video0"), f"HD Webcam ({dev / 'video0'})"),
                    devices.Camera(str(dev / "video10"), f"USB Cam ({dev / 'video10'})")]


def test_v4l2_modes_parsed():
    text = V4L2_CTL
    assert devices.parse_v4l2_modes(text) == {(640, 480): [60.0, 30.0], (1280, 720): [30.0, 15.0]}
    assert devices.parse_v4l2_modes("") == {}


# -- the command -----------------------------------------------------------------------------------
def test_screenshot_command(tmp_path):
    shot = tmp_path / "panel.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    result = subprocess.run([sys.executable, "-m", "vcam", "ui", "--screenshot", str(shot)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    img = cv2.imread(str(shot))
    assert img is not None
    assert img.shape[:2] == (760, 1100)                          # the panel's default size
    assert img.mean() > 60 and img.std() > 30                    # a drawn panel, not a blank picture
    assert not (tmp_path / "xdg" / "vcam").exists()              # the user's settings are left alone


def test_app_starts_with_the_saved_settings_and_quits_on_sigterm(tmp_path):
    """``vcam ui`` reads its settings from the user's config folder ($XDG_CONFIG_HOME/vcam here)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("XDG_CONFIG_HOME is where Qt looks on Linux")
    saved = demo_settings(EffectSettings("color", color=(10, 20, 30)))
    save_settings(saved, tmp_path / "xdg" / "vcam" / "settings.json")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    proc = subprocess.Popen([sys.executable, "-m", "vcam", "ui", "-v"], cwd=tmp_path, env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in proc.stderr:                               # until the pipeline runs (or it exits)
            lines.append(line)
            if "running: demo -> null" in line:
                break
        assert any("running: demo -> null at 320x240" in line for line in lines), "".join(lines)
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, rest
    assert "Traceback" not in "".join(lines) + rest
    assert load_settings(tmp_path / "xdg" / "vcam" / "settings.json") == saved


def test_no_display_says_what_to_use_instead(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("the display check is for Linux desktops")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "vcam"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "no desktop" in result.stderr and "vcam run" in result.stderr


def test_opencv_qt_plugin_paths_are_undone_but_a_users_own_kept(monkeypatch):
    """OpenCV's GUI build points Qt at its own plugins on import; PySide6 cannot load them."""
    import cv2

    from vcam.system.qtenv import undo_opencv_qt_paths

    opencv_plugins = os.path.join(os.path.dirname(os.path.abspath(cv2.__file__)), "qt", "plugins")
    monkeypatch.setenv("QT_QPA_PLATFORM_PLUGIN_PATH", opencv_plugins)
    monkeypatch.setenv("QT_QPA_FONTDIR", "/usr/share/fonts/mine")
    undo_opencv_qt_paths()
    assert "QT_QPA_PLATFORM_PLUGIN_PATH" not in os.environ
    assert os.environ["QT_QPA_FONTDIR"] == "/usr/share/fonts/mine"


class _UnpluggedCamera(Source):
    """Fake hardware: a camera that gives ``frames`` frames (None: forever), then none (unplugged)."""

    live = True
    reconnect = True
    name = "unplugged camera"
    size = (320, 240)
    fps = 30.0

    def __init__(self, frames) -> None:
        self.left = frames

    def wait(self) -> None:
        time.sleep(1 / self.fps)   # the hardware's own frame interval

    def read(self, out: np.ndarray) -> bool:
        if self.left is not None:
            if self.left <= 0:
                return False
            self.left -= 1
        out[:] = 100
        return True

    def close(self) -> None:
        pass


def test_an_unplugged_camera_is_shown_in_the_status_while_it_reconnects(qapp, make_panel):
    controller, panel = make_panel(demo_settings(), start=False)
    plugged = threading.Event()

    def reopen():
        if not plugged.is_set():
            raise VcamError("no camera at /dev/video0", "connect a camera")
        return _UnpluggedCamera(None)

    controller.pipeline = Pipeline(demo_settings(), source=_UnpluggedCamera(5), reopen=reopen).start()
    assert wait_until(qapp, lambda: controller.pipeline._capture.unavailable)
    controller.poll()
    assert "camera unavailable" in controller.problems.get("capture", "")
    assert wait_until(qapp, lambda: "camera unavailable" in panel.status_text()), panel.status_text()
    assert controller.running   # still running: reconnecting, not stopped

    plugged.set()
    assert wait_until(qapp, lambda: controller.pipeline.camera_error is None)
    controller.poll()
    assert "capture" not in controller.problems
    assert wait_until(qapp, lambda: "camera unavailable" not in panel.status_text()), panel.status_text()


def test_auto_frame_from_the_panel_and_the_tray_live_and_saved(qapp, make_panel, tmp_path):
    from helpers import SweptPortrait

    clip = tmp_path / "left.mp4"   # a person well left of centre, as a camera would see them
    picture, _ = SweptPortrait((1280, 720)).frame(0.3 * 1280)
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (1280, 720))
    for _ in range(10):
        writer.write(cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    writer.release()
    settings = dataclasses.replace(demo_settings(EffectSettings("none")),
                                   capture=CaptureSettings(source=str(clip), width=1280, height=720, fps=30.0))
    config = tmp_path / "config"
    controller, panel = make_panel(settings, config_dir=config)
    pipeline = controller.pipeline
    assert wait_until(qapp, lambda: pipeline.stats()["frames"] > 3)
    assert not panel.camera_tab.autoframe_box.isChecked() and not panel.camera_tab.zoom_slider.isEnabled()
    assert pipeline._engine.autoframe is None
    panel.camera_tab.autoframe_box.setChecked(True)
    assert pipeline.settings.framing.autoframe and panel.camera_tab.zoom_slider.isEnabled()
    panel.camera_tab.zoom_slider.setValue(200)
    assert pipeline.settings.framing.zoom == pytest.approx(2.0) and panel.camera_tab.zoom_value.text() == "2.0x"
    assert controller.pipeline is pipeline                      # applied live, not restarted
    # the person is framed: the crop closes in on them, left of centre (2x at 720p is allowed)
    assert wait_until(qapp, lambda: pipeline._engine.autoframe is not None and pipeline._engine.autoframe.crop is not None
                      and pipeline._engine.autoframe.crop[2] < 800 and pipeline._engine.autoframe.crop[0] < 560)
    panel.camera_tab.zoom_slider.setValue(300)                             # 3x would magnify a 720p camera too far
    assert "held at 2.0x" in panel.camera_tab.zoom_value.text()
    assert wait_until(qapp, lambda: (config / "settings.json").exists())   # saved once the slider rests
    saved = json.loads((config / "settings.json").read_text())
    assert saved["framing"] == {"autoframe": True, "zoom": 3.0}

    tray = Tray(controller, lambda: None, lambda: None)
    assert tray.actions["autoframe"].isChecked()
    tray.actions["autoframe"].trigger()
    assert pipeline.settings.framing.autoframe is False
    assert wait_until(qapp, lambda: pipeline._engine.autoframe is None)   # eased back to the whole picture
    qapp.processEvents()
    assert not panel.camera_tab.autoframe_box.isChecked() and not tray.actions["autoframe"].isChecked()
    tray.hide()
    dispose(tray)


@pytest.mark.parametrize("kind", ["long", "fifo", "not-utf8", "nul"])
def test_a_saved_background_that_cannot_be_opened_keeps_the_preview(qapp, make_panel, tmp_path, kind):
    """A background remembered in ui.json and settings.json whose name is over 255 bytes, that
    became a named pipe, or whose name is not UTF-8 (and is missing): the panel starts with blur
    and says why, the gallery shows it as unusable, and the preview runs."""
    config = tmp_path / "config"
    config.mkdir()
    bad = {"long": tmp_path / ("b" * 300 + ".jpg"), "fifo": tmp_path / "pipe.jpg",
           "not-utf8": tmp_path / os.fsdecode(b"gone\xff.jpg"), "nul": tmp_path / "a\x00.jpg"}[kind]
    if kind == "fifo":
        os.mkfifo(bad)
    (config / "ui.json").write_text(json.dumps({"backgrounds": [str(bad)]}, ensure_ascii=True))
    saved = demo_settings(EffectSettings("replace", background=str(bad)))
    (config / "settings.json").write_text(json.dumps(saved.to_dict()))
    controller, panel = make_panel(config_dir=config)
    frames_after(qapp, controller, 5)
    assert controller.pipeline.settings.effect.effect == "blur"
    assert "using blur" in controller.problems["background"]
    assert wait_until(qapp, lambda: panel.output_view.frames >= 2)
    yours = [panel.effect_tab.gallery.item(i) for i in range(panel.effect_tab.gallery.count())
             if panel.effect_tab.gallery.item(i).data(Qt.ItemDataRole.UserRole + 1)]
    assert len(yours) == 1 and "(yours)" not in yours[0].toolTip()   # its problem, not its name, is shown


# -- the style previews ----------------------------------------------------------------------------
def _icon_rgb(item) -> np.ndarray:
    from vcam.ui.gallery import THUMB

    image = item.icon().pixmap(THUMB).toImage().convertToFormat(QImage.Format.Format_RGB888)
    assert not image.isNull()
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())[:, :image.width() * 3].copy()


def test_the_styles_are_shown_as_previews_of_the_room_and_of_the_picture(make_panel, qapp, tmp_path):
    controller, panel = make_panel(demo_settings(EffectSettings("blur")))
    strip = panel.effect_tab.style_strip
    assert strip.isVisibleTo(panel) and strip.selected() == "none"
    assert wait_until(qapp, lambda: strip.painted is not None and strip.painted[0] == "room"), controller.problems
    room = [_icon_rgb(strip.item(i)) for i in range(strip.count())]
    assert all(p.std() > 5 for p in room)                      # each a picture: the camera's room ...
    assert all(np.abs(p.astype(np.int16) - room[0]).mean() > 3 for p in room[1:])   # ... each in its style
    cartoon = strip.item(strip.names.index("cartoon"))
    strip.itemClicked.emit(cartoon)
    assert controller.settings.effect.style == "cartoon" and strip.selected() == "cartoon"
    assert wait_until(qapp, lambda: controller.pipeline._engine.compositor.painted_room is not None
                      and controller.pipeline._engine.compositor.painted_room.ready), controller.problems
    picture = write_picture(tmp_path / "pic.png", colour=(30, 160, 200))
    assert controller.set_background(picture)
    assert strip.shown == ("picture", str(picture)) and strip.isVisibleTo(panel)
    assert wait_until(qapp, lambda: strip.painted == strip.shown)   # painted on its own thread
    none = _icon_rgb(strip.item(0)).reshape(-1, 3).astype(np.float32).mean(axis=0)
    assert np.abs(none - (200, 160, 30)).max() < 40              # the picture itself (RGB), not the room
    assert controller.set_color((10, 10, 10)) and not strip.isVisibleTo(panel)   # a colour has nothing to paint
