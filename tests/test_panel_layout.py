"""The panel's layout (issue 38) on Qt's offscreen platform, over the real pipeline and the demo
source: the preview is the largest part of the window at its default size and on a 1366x768
screen, at the picture's own shape, and stays put whatever the tab or effect; each effect shows
its own controls only (the rest hidden, not greyed); the gallery and the style strip show whole
thumbnails; the status says each problem in plain words with its fix, and says when the effects
are being prepared."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")   # before Qt is imported

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from vcam import VcamError
from vcam.config import LIVE_EFFECTS, CaptureSettings, EffectSettings, OutputSettings, Settings
from vcam.ui.app import _wait, dispose
from vcam.ui.controller import Controller
from vcam.ui.panel import PREPARING, Panel, problem_line, without_asides

TIMEOUT = 60.0   # only a hung pipeline gets near it
SIZES = [(1100, 760), (1366, 768)]   # the panel's default size; a laptop's screen

# Each effect's own controls on the Effect tab (the colour as a plain colour): all others hidden.
BLURRED = {"blur_slider", "halo_box", "style_strip"}
EXPECTED = {
    "none": set(),
    "blur": BLURRED,
    "bokeh": BLURRED,
    "portrait": BLURRED | {"falloff_slider"},
    "replace": {"wrap_slider", "harmony_slider", "shadow_slider", "clean_box", "style_strip", "gallery", "add_button",
                "remove_button"},
    "color": {"color_button", "gradient_combo", "shadow_slider", "clean_box"},
}
CONTROLS = sorted(set().union(*EXPECTED.values()) | {"color_to_button", "gradient_angle_slider"})


@pytest.fixture(scope="module")
def qapp() -> QApplication:
    return QApplication.instance() or QApplication(["vcam-tests"])


def settle(qapp, seconds: float = 0.1) -> None:
    _wait(qapp, lambda: False, seconds)


@pytest.fixture(scope="module")
def running(qapp, tmp_path_factory):
    """One panel over the demo source (16:9), shown and running, for the whole module."""
    settings = Settings(capture=CaptureSettings(source="demo", width=640, height=360, fps=30.0),
                        output=OutputSettings(target="null"))
    controller = Controller(tmp_path_factory.mktemp("config"), initial=settings, persist=False)
    panel = Panel(controller, dialogs=False)
    panel.show()
    assert controller.start(), controller.problems
    assert _wait(qapp, lambda: panel.output_view.frames >= 2, TIMEOUT)
    yield controller, panel
    panel.close()
    controller.close()
    dispose(panel, controller)


def choose(qapp, panel, effect: str) -> None:
    QTest.mouseClick(panel.effect_tab.effect_buttons[effect], Qt.MouseButton.LeftButton)
    assert panel.c.settings.effect.effect == effect, panel.c.problems
    settle(qapp)


def in_panel(panel, widget) -> QRect:
    return QRect(widget.mapTo(panel, widget.rect().topLeft()), widget.size())


def fresh_frame(qapp, panel) -> None:
    """Until the output view has shown frames asked for at its present size."""
    start = panel.output_view.frames
    assert _wait(qapp, lambda: panel.output_view.frames >= start + 2, TIMEOUT), panel.c.problems


# -- only what applies -----------------------------------------------------------------------------
@pytest.mark.parametrize("effect", LIVE_EFFECTS)
def test_each_effect_shows_its_own_controls_only(qapp, running, effect):
    controller, panel = running
    choose(qapp, panel, effect)
    tab = panel.effect_tab
    shown = {name for name in CONTROLS if getattr(tab, name).isVisibleTo(panel)}
    assert shown == EXPECTED[effect]
    # a hidden control takes its title with it; nothing shown is greyed
    form = tab.options
    for row in range(form.rowCount()):
        label = form.itemAt(row, form.ItemRole.LabelRole)
        field = form.itemAt(row, form.ItemRole.FieldRole)
        if label is not None and field is not None:
            widgets = [field.widget()] if field.widget() else [field.layout().itemAt(i).widget()
                                                                for i in range(field.layout().count())]
            widgets = [w for w in widgets if w is not None]
            assert label.widget().isVisibleTo(panel) == any(w.isVisibleTo(panel) for w in widgets)
    assert all(getattr(tab, name).isEnabled() for name in shown - {"remove_button"})


def test_a_video_background_has_no_style_to_choose(qapp, running, tmp_path):
    controller, panel = running
    before = controller.settings
    try:   # set as the settings would be: the style strip's showing only is looked at
        controller.settings = before.replace(effect=EffectSettings("replace", background=str(tmp_path / "clip.mp4")))
        panel.sync()
        assert panel.effect_tab.gallery.isVisibleTo(panel) and panel.effect_tab.wrap_slider.isVisibleTo(panel)
        assert not panel.effect_tab.style_strip.isVisibleTo(panel)
        controller.settings = before.replace(effect=EffectSettings("replace", background=str(tmp_path / "still.jpg")))
        panel.sync()
        assert panel.effect_tab.style_strip.isVisibleTo(panel)
    finally:
        controller.settings = before
        panel.sync()


# -- the preview -----------------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
def test_the_preview_is_the_largest_part_of_the_window(qapp, running, size):
    controller, panel = running
    choose(qapp, panel, "replace")   # the tallest tab
    panel.resize(*size)
    settle(qapp)
    assert (panel.width(), panel.height()) == size   # nothing in the window asks for more
    fresh_frame(qapp, panel)
    view = panel.output_view
    picture = view.picture_rect()
    assert picture.width() * picture.height() >= 0.30 * size[0] * size[1]
    assert picture.width() >= 0.6 * size[0]                            # most of the width
    assert abs(picture.width() / picture.height() - 16 / 9) < 0.01    # the picture's own shape ...
    assert abs(view.width() - picture.width()) <= 1 and abs(view.height() - picture.height()) <= 1   # ... no bars
    image = view.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    rgb = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    assert rgb[:, :image.width() * 3].std() > 20                       # a picture is drawn, not a blank frame


def test_the_preview_stays_put_whatever_the_tab_or_effect(qapp, running):
    controller, panel = running
    panel.resize(*SIZES[0])
    seen = set()
    for effect in LIVE_EFFECTS:
        choose(qapp, panel, effect)
        for index in range(panel.tabs.count()):
            panel.tabs.setCurrentIndex(index)
            settle(qapp, 0.05)
            seen.add((in_panel(panel, panel.output_view).getRect(), in_panel(panel, panel.tabs).getRect()))
    panel.tabs.setCurrentIndex(0)
    assert len(seen) == 1, seen


def test_the_original_shares_the_space_while_comparing(qapp, running):
    controller, panel = running
    panel.resize(*SIZES[0])
    settle(qapp)
    alone = in_panel(panel, panel.output_view)
    panel.compare.setChecked(True)
    try:
        settle(qapp)
        output, original = in_panel(panel, panel.output_view), in_panel(panel, panel.input_view)
        assert panel.input_view.isVisibleTo(panel) and output.size() == original.size()
        assert not output.intersects(original) and not original.intersects(in_panel(panel, panel.tabs))
        assert output.width() * output.height() >= 0.15 * SIZES[0][0] * SIZES[0][1]
        assert _wait(qapp, lambda: panel.input_view.showing_picture(), TIMEOUT)
    finally:
        panel.compare.setChecked(False)
    settle(qapp)
    assert in_panel(panel, panel.output_view) == alone and not panel.input_view.isVisibleTo(panel)


# -- whole thumbnails, tabs not cut ----------------------------------------------------------------
def whole_items(view) -> int:
    """How many items ``view`` shows; fails where one is cut by its edge."""
    area = view.viewport().rect()
    whole = 0
    for i in range(view.count()):
        rect = view.visualItemRect(view.item(i))
        if rect.intersects(area):
            assert area.contains(rect), (i, rect, area)
            whole += 1
    return whole


@pytest.mark.parametrize("size", SIZES)
def test_the_gallery_and_the_style_strip_show_whole_thumbnails(qapp, running, size, tmp_path):
    controller, panel = running
    choose(qapp, panel, "replace")
    panel.resize(*size)
    settle(qapp)
    gallery, strip = panel.effect_tab.gallery, panel.effect_tab.style_strip
    assert whole_items(gallery) == gallery.count() >= 5      # the shipped backgrounds, all of them
    assert whole_items(strip) >= 2
    # with more backgrounds than fit, it scrolls a row at a time and shows whole rows
    mine = []
    for i in range(12):
        mine.append(tmp_path / f"mine{i}.png")
        cv2.imwrite(str(mine[-1]), np.full((36, 64, 3), 20 * i, np.uint8))
    assert controller.add_backgrounds(mine) == mine
    try:
        settle(qapp)
        assert 2 <= whole_items(gallery) < gallery.count()
        bar = gallery.verticalScrollBar()
        bar.setValue(0)
        bar.setValue(5)                                      # part of a row down: on to the next
        assert bar.value() == bar.singleStep() > 5
        settle(qapp)
        assert whole_items(gallery) >= 2
        bar.setValue(bar.singleStep() - 5)                   # part of a row up: back to the first
        assert bar.value() == 0
        strip.horizontalScrollBar().setValue(strip.horizontalScrollBar().singleStep())
        settle(qapp)
        assert whole_items(strip) >= 2
    finally:
        for path in mine:
            controller.remove_background(path)
        controller.set_background(gallery.paths()[0])
        strip.horizontalScrollBar().setValue(0)


def test_no_tab_is_cut_and_the_window_fits_a_laptop_screen(qapp, running):
    controller, panel = running
    choose(qapp, panel, "replace")
    panel.resize(*SIZES[0])
    for index in range(panel.tabs.count()):
        panel.tabs.setCurrentIndex(index)
        settle(qapp, 0.05)
        page = panel.tabs.widget(index)
        assert page.minimumSizeHint().width() <= page.width(), panel.tabs.tabText(index)
    panel.tabs.setCurrentIndex(0)
    assert panel.minimumSizeHint().height() <= 700   # 768 less a task bar and a title bar


# -- the status ------------------------------------------------------------------------------------
def test_a_problem_is_one_plain_line_with_its_fix():
    raw = ("'v4l2loopback' backend: No v4l2 loopback device found at /dev/video[0-99]. Did you run "
           "'modprobe v4l2loopback'? (See also pyvirtualcam's documentation.)")
    error = VcamError(f"no virtual camera available ({raw})", "load v4l2loopback: sudo modprobe v4l2loopback")
    line, details = problem_line(str(error), error)
    assert line == "no virtual camera available — load v4l2loopback: sudo modprobe v4l2loopback"
    assert raw in details and details == str(error)
    # what the controller added after it stays; a plain text is shown as it is, with no details
    assert problem_line(f"{error} (using blur)", error)[0].endswith("sudo modprobe v4l2loopback (using blur)")
    assert problem_line("no camera found (a note)", None) == ("no camera found (a note)", "")
    assert problem_line("another text", error) == ("another text", "")
    # brackets inside a name stay, as do unclosed ones
    assert without_asides("background /p/pics (old)/a.jpg cannot be read (Errno 2)") == \
        "background /p/pics (old)/a.jpg cannot be read"
    assert without_asides("a (b (c) d), e (f") == "a, e (f"


def test_the_status_shows_the_fix_and_keeps_the_library_text_for_the_details(qapp, tmp_path):
    settings = Settings(capture=CaptureSettings(source="demo", width=320, height=180, fps=30.0),
                        output=OutputSettings(target="virtual", device="/dev/video57"))
    controller = Controller(tmp_path / "config", initial=settings)
    panel = Panel(controller, dialogs=False)
    try:
        panel.show()
        controller.start()
        error = controller.errors["output"]
        reason = error.problem[error.problem.index(" (") + 2:-1]   # pyvirtualcam's own words
        label = panel.problem_labels["output"]
        assert error.fix in label.text() and "/dev/video57" in label.text()
        assert reason not in label.text() and reason not in panel.status_text()
        assert reason in label.toolTip()
        panel.details_button.click()
        assert reason in panel.status_text()
    finally:
        panel.close()
        controller.close()
        dispose(panel, controller)


def test_the_status_says_when_the_effects_are_being_prepared(qapp, tmp_path, monkeypatch):
    controller = Controller(tmp_path / "config", initial=Settings(capture=CaptureSettings(source="demo")))
    panel = Panel(controller, dialogs=False)
    try:
        stats = {"source": "demo", "size": [640, 360], "fps": 0.0, "preparing": True}
        monkeypatch.setattr(controller, "stats", lambda: stats)
        panel.refresh_stats()
        assert PREPARING in panel.status_text() and panel.notice_label.isVisibleTo(panel)
        stats["preparing"] = False
        panel.refresh_stats()
        assert PREPARING not in panel.status_text() and not panel.notice_label.isVisibleTo(panel)
        del stats["preparing"]   # before the pipeline said it at all
        panel.refresh_stats()
        assert PREPARING not in panel.status_text()
    finally:
        panel.close()
        controller.close()
        dispose(panel, controller)
