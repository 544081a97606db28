"""The control panel: live preview, effect and background, camera, person (segmentation and
matte) controls, and the status area.

Every control calls one :class:`~vcam.ui.controller.Controller` method, which hands new settings
to the running pipeline; the widgets are then set from the controller's settings (so a refused
change snaps back). Two timers read the pipeline: previews at up to 30 Hz while the panel is
visible, stats twice a second. Nothing here touches a full-size frame.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QColorDialog,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QSlider,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vcam import segment
from vcam.config import (
    AUTO,
    BLUR_EFFECTS,
    LANDSCAPE_MODEL,
    LIVE_EFFECTS,
    MATTING_MODEL,
    MODEL_NOTES,
    NEW_BACKGROUNDS,
    ONNX_MODELS,
    PROVIDERS,
    SELFIE_MODEL,
)
from vcam.effects import style
from vcam.effects.autoframe import max_zoom
from vcam.effects.gradient import gradient
from vcam.errors import VcamError
from vcam.fileio import pictures
from vcam.live import devices
from vcam.live.stats import STAGES
from vcam.segment import choice
from vcam.system.resources import VIDEO_SUFFIXES
from vcam.ui.controller import BACKGROUND_SUFFIXES, Controller
from vcam.ui.gallery import Gallery, rgb_to_qimage
from vcam.ui.icons import STATE_COLORS, STATE_WORDS, camera_icon
from vcam.ui.looks import StyleStrip

log = logging.getLogger(__name__)

PREVIEW_HZ = 30
PREVIEW_MAX_WIDTH = 960   # the processing thread scales previews down to this at most
STATS_HZ = 2
GRADIENT_NAMES = {None: "Plain", "linear": "Linear gradient", "radial": "Radial gradient"}
EFFECT_NAMES = {"none": "Off", "blur": "Blur", "bokeh": "Bokeh", "portrait": "Portrait", "replace": "Background",
                "color": "Colour"}
SPECIAL_SOURCES = (("auto", "Automatic: first camera, else the demo"), ("demo", "Demo portrait"))


def effect_label(name: str) -> str:
    return EFFECT_NAMES.get(name, name.title())


class PreviewView(QLabel):
    """Shows one small frame; never asks for more pixels than it has room for."""

    def __init__(self, title: str) -> None:
        super().__init__(title)
        self.title = title
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setMinimumSize(240, 135)
        self.setStyleSheet("background: #111; color: #bbb; border-radius: 4px;")
        self.aspect = 16 / 9
        self.frames = 0

    def wanted_width(self) -> int:
        return max(16, min(PREVIEW_MAX_WIDTH, int(min(self.width(), self.height() * self.aspect))))

    def show_frame(self, rgb) -> None:
        h, w = rgb.shape[:2]
        self.aspect = w / h
        pix = QPixmap.fromImage(rgb_to_qimage(rgb))
        if pix.width() > self.width() or pix.height() > self.height():   # resized since it was asked
            pix = pix.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        self.setPixmap(pix)
        self.frames += 1

    def show_text(self, text: str) -> None:
        showing_picture = self.pixmap() is not None and not self.pixmap().isNull()
        if showing_picture or self.text() != text:
            self.clear()
            self.setText(text)


def _slider(lo: int, hi: int) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setTracking(True)
    return s


class Panel(QMainWindow):
    """``Panel(controller)``; ``dialogs=False`` never opens a modal dialog (screenshots, tests)."""

    def __init__(self, controller: Controller, *, dialogs: bool = True) -> None:
        super().__init__()
        self.c = controller
        self.dialogs = dialogs
        self.hide_on_close = False   # set by the app when the tray keeps it running
        self.setWindowTitle("vcam")
        self.setWindowIcon(camera_icon("live"))
        self.setAcceptDrops(True)
        self._cameras: list[devices.Camera] = devices.list_cameras()
        self._modes: dict[str, dict] = {}

        central = QWidget()
        root = QVBoxLayout(central)
        root.addLayout(self._build_previews(), 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self._build_status(), 1)
        bottom.addWidget(self._build_tabs(), 1)
        root.addLayout(bottom)
        self.setCentralWidget(central)
        self.resize(self.sizeHint())

        self.preview_timer = QTimer(self, interval=1000 // PREVIEW_HZ)
        self.preview_timer.timeout.connect(self.refresh_preview)
        self.stats_timer = QTimer(self, interval=1000 // STATS_HZ)
        self.stats_timer.timeout.connect(self.refresh_stats)
        self.preview_timer.start()
        self.stats_timer.start()
        controller.changed.connect(self.sync)
        self.sync()

    # -- building ---------------------------------------------------------------------------------
    def _build_previews(self) -> QHBoxLayout:
        views = QHBoxLayout()
        self.input_view = PreviewView("Original")
        self.output_view = PreviewView("Output")
        self._input_box = QWidget()
        for box, view in ((self._input_box, self.input_view), (QWidget(), self.output_view)):
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            caption = QLabel(view.title)
            caption.setStyleSheet("color: #666;")
            column.addWidget(caption)
            column.addWidget(view, 1)
            views.addWidget(box)
        self._input_visible(self.c.ui.compare)
        return views

    def _build_status(self) -> QWidget:
        left = QWidget()
        layout = QVBoxLayout(left)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.compare = QCheckBox("Compare with the original")
        self.compare.setChecked(self.c.ui.compare)
        self.compare.toggled.connect(self._compare_toggled)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self._pause_clicked)
        row.addWidget(self.compare)
        row.addStretch(1)
        row.addWidget(self.pause_button)
        layout.addLayout(row)

        box = QGroupBox("Status")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.output_label = QLabel()
        self.source_label = QLabel()
        self.rate_label = QLabel("—")
        self.stages_label = QLabel("—")
        for label in (self.output_label, self.source_label, self.rate_label, self.stages_label):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Virtual camera", self.output_label)
        form.addRow("Source", self.source_label)
        form.addRow("Speed", self.rate_label)
        form.addRow("Per stage", self.stages_label)
        self.problems_box = QWidget()
        self.problems_layout = QVBoxLayout(self.problems_box)
        self.problems_layout.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.problems_box)
        layout.addWidget(box, 1)
        return left

    def _build_tabs(self) -> QTabWidget:
        tabs = QTabWidget()
        tabs.addTab(self._build_effect_tab(), "Effect")
        tabs.addTab(self._build_camera_tab(), "Camera")
        tabs.addTab(self._build_person_tab(), "Person")
        tabs.addTab(self._build_light_tab(), "Light")
        self.tabs = tabs
        return tabs

    def _build_effect_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        row = QHBoxLayout()
        self.effect_group = QButtonGroup(self)
        self.effect_buttons: dict[str, QPushButton] = {}
        for name in LIVE_EFFECTS:
            button = QPushButton(effect_label(name))
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, n=name: self.c.set_effect(n))
            self.effect_group.addButton(button)
            self.effect_buttons[name] = button
            row.addWidget(button)
        layout.addLayout(row)

        form = QFormLayout()
        self.blur_slider = _slider(1, 100)
        self.blur_slider.valueChanged.connect(lambda v: self.c.set_blur(float(v)))
        self.blur_value = QLabel()
        form.addRow("Strength", _with_value(self.blur_slider, self.blur_value))
        self.halo_box = QCheckBox("No glow around you (blur the background without you in it)")
        self.halo_box.toggled.connect(self.c.set_halo_free)
        form.addRow("", self.halo_box)
        self.wrap_slider = _slider(0, 100)
        self.wrap_slider.setToolTip("How much the new background's light spills onto your edge (0: none)")
        self.wrap_slider.valueChanged.connect(lambda v: self.c.set_light_wrap(v / 100))
        self.wrap_value = QLabel()
        form.addRow("Light wrap", _with_value(self.wrap_slider, self.wrap_value))
        self.harmony_slider = _slider(0, 100)
        self.harmony_slider.setToolTip("How far your colours move towards the new background's light (0: off)")
        self.harmony_slider.valueChanged.connect(lambda v: self.c.set_harmonize(v / 100))
        self.harmony_value = QLabel()
        form.addRow("Match colours", _with_value(self.harmony_slider, self.harmony_value))
        self.style_names = ("none",) + style.available()
        self.style_strip = StyleStrip(self.style_names)
        self.style_strip.setToolTip("Paint the background picture, or with a blur your room, in a style (once, when "
                                    f"chosen). The 26 paintings appear once the {style.NEURAL_PACKAGE} package is installed")
        self.style_strip.chosen.connect(lambda name: self.c.set_effect_option(style=name))
        self._room_wanted = None   # the room's key, while its style previews wait for a camera frame
        form.addRow("Style", self.style_strip)
        self.shadow_slider = _slider(0, 100)
        self.shadow_slider.setToolTip("Your shadow on the new background or colour, as a soft light from the front "
                                      "left would throw it (0: none)")
        self.shadow_slider.valueChanged.connect(lambda v: self.c.set_effect_option(shadow=v / 100))
        self.shadow_value = QLabel()
        form.addRow("Shadow", _with_value(self.shadow_slider, self.shadow_value))
        self.clean_box = QCheckBox("Clean edges (no fringe of your room in your hair)")
        self.clean_box.setToolTip("Takes the old background out of your soft edge on a new background or colour")
        self.clean_box.toggled.connect(self.c.set_clean_edges)
        form.addRow("", self.clean_box)
        self.color_button = QPushButton("Choose…")
        self.color_button.clicked.connect(self._choose_color)
        self.gradient_combo = QComboBox()
        self.gradient_combo.addItems(list(GRADIENT_NAMES.values()))
        self.gradient_combo.setToolTip("A plain colour, or a gradient from it to a second colour")
        self.gradient_combo.activated.connect(self._gradient_chosen)
        self.color_to_button = QPushButton("To…")
        self.color_to_button.setToolTip("The gradient's second colour")
        self.color_to_button.clicked.connect(self._choose_color_to)
        row = QHBoxLayout()
        for w in (self.color_button, self.gradient_combo, self.color_to_button):
            row.addWidget(w)
        row.addStretch(1)
        form.addRow("Colour", row)
        self.gradient_angle_slider = _slider(0, 360)
        self.gradient_angle_slider.setToolTip("Where a linear gradient runs to: 0 up, 90 right, 180 down")
        self.gradient_angle_slider.valueChanged.connect(lambda v: self.c.set_gradient(gradient_angle=float(v)))
        self.gradient_angle_value = QLabel()
        form.addRow("Gradient angle", _with_value(self.gradient_angle_slider, self.gradient_angle_value))
        layout.addLayout(form)

        layout.addWidget(QLabel("Backgrounds (drop pictures or videos here to add them)"))
        self.gallery = Gallery()
        self.gallery.chosen.connect(self.c.set_background)
        self.gallery.files_dropped.connect(self.c.add_backgrounds)
        self.gallery.itemSelectionChanged.connect(self._gallery_selection)
        layout.addWidget(self.gallery, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add…")
        self.add_button.clicked.connect(self._add_clicked)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove one of your own backgrounds from the gallery")
        self.remove_button.clicked.connect(self._remove_clicked)
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        layout.addLayout(row)
        return tab

    def _build_camera_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        row = QHBoxLayout()
        self.camera_combo = QComboBox()
        self.camera_combo.activated.connect(self._camera_chosen)
        refresh = QToolButton()
        refresh.setText("Refresh")
        refresh.setToolTip("Look for cameras again")
        refresh.clicked.connect(self._refresh_cameras)
        row.addWidget(self.camera_combo, 1)
        row.addWidget(refresh)
        form.addRow("Camera", row)
        self.size_combo = QComboBox()
        self.size_combo.activated.connect(self._size_chosen)
        form.addRow("Size", self.size_combo)
        self.fps_combo = QComboBox()
        self.fps_combo.activated.connect(self._fps_chosen)
        form.addRow("Frame rate", self.fps_combo)
        self.mirror_box = QCheckBox("Mirror (flip left to right)")
        self.mirror_box.toggled.connect(lambda on: self.c.set_capture(mirror=on))
        form.addRow("", self.mirror_box)
        self.autoframe_box = QCheckBox("Auto-frame (keep you centred as you move)")
        self.autoframe_box.setToolTip("Crops and zooms the picture so your head and shoulders stay centred, "
                                      "followed smoothly; eases back to the whole picture when you leave")
        self.autoframe_box.toggled.connect(lambda on: self.c.set_framing(autoframe=on))
        form.addRow("", self.autoframe_box)
        self.zoom_slider = _slider(100, 400)
        self.zoom_slider.setToolTip("How close auto-frame frames you: 1.0x is the whole picture")
        self.zoom_slider.valueChanged.connect(lambda v: self.c.set_framing(zoom=v / 100))
        self.zoom_value = QLabel()
        form.addRow("Zoom", _with_value(self.zoom_slider, self.zoom_value))
        self.on_demand_box = QCheckBox("Release the camera when no app uses vcam (its light goes off)")
        self.on_demand_box.toggled.connect(lambda on: self.c.set_output(on_demand=on))
        self.on_demand_box.setVisible(sys.platform.startswith("linux"))
        form.addRow("", self.on_demand_box)
        self.size_note = QLabel()
        self.size_note.setWordWrap(True)
        form.addRow(self.size_note)
        return tab

    def _build_person_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.backend_combo = QComboBox()
        self.backend_combo.addItems(segment.backends())
        self.backend_combo.activated.connect(lambda _: self.c.set_segment(backend=self.backend_combo.currentText()))
        form.addRow("Segmentation", self.backend_combo)
        self.model_combo = QComboBox()
        self.model_combo.addItems(list(ONNX_MODELS))
        self.model_combo.setToolTip("; ".join([f"{AUTO}: {choice.RULE['live']}"]
                                              + [f"{name}: {note}" for name, note in MODEL_NOTES.items()]))
        self.model_combo.activated.connect(lambda _: self.c.set_segment(model=self.model_combo.currentText()))
        form.addRow("Model", self.model_combo)
        self.provider_combo = QComboBox()   # where the onnx backend runs: CPU, CUDA, ...
        self.provider_combo.addItems(list(PROVIDERS))
        self.provider_combo.setToolTip("Where the onnx backend runs the model; auto takes the best that works")
        self.provider_combo.activated.connect(lambda _: self.c.set_segment(provider=self.provider_combo.currentText()))
        form.addRow("Device", self.provider_combo)
        self.follow_box = QCheckBox("Follow the person (a closer crop: more detail at the edges)")
        self.follow_box.toggled.connect(lambda on: self.c.set_segment(follow=on))
        form.addRow("", self.follow_box)
        self.smoothing_slider = _slider(0, 100)
        self.smoothing_slider.setToolTip("Temporal smoothing of the outline: 0 off, 100 strongest")
        self.smoothing_slider.valueChanged.connect(lambda v: self.c.set_matte(smoothing=v / 100))
        self.smoothing_value = QLabel()
        form.addRow("Smoothing", _with_value(self.smoothing_slider, self.smoothing_value))
        self.motion_slider = _slider(1, 100)
        self.motion_slider.setToolTip("Changes larger than this pass at once, so movement is never trailed")
        self.motion_slider.valueChanged.connect(lambda v: self.c.set_matte(motion=v / 100))
        self.motion_value = QLabel()
        form.addRow("Motion threshold", _with_value(self.motion_slider, self.motion_value))
        self.threshold_slider = _slider(5, 95)
        self.threshold_slider.setToolTip("Where the edge sits: 0.5 as the model says; higher pulls it in, lower pushes it out")
        self.threshold_slider.valueChanged.connect(lambda v: self.c.set_matte(threshold=v / 100))
        self.threshold_value = QLabel()
        form.addRow("Edge position", _with_value(self.threshold_slider, self.threshold_value))
        self.softness_slider = _slider(2, 200)
        self.softness_slider.setToolTip("How soft the edge is: 1 as the model gives it, less is harder")
        self.softness_slider.valueChanged.connect(lambda v: self.c.set_matte(softness=v / 100))
        self.softness_value = QLabel()
        form.addRow("Edge softness", _with_value(self.softness_slider, self.softness_value))
        note = QLabel(f"'{AUTO}' runs '{MATTING_MODEL}' on a GPU fast enough for it, else '{SELFIE_MODEL}'; "
                      f"'{SELFIE_MODEL}' suits a person near the camera; '{LANDSCAPE_MODEL}' is faster, for wide shots.")
        note.setWordWrap(True)
        form.addRow(note)
        return tab

    def _build_light_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        self.light_sliders: dict[str, tuple[QSlider, QLabel]] = {}
        for name, label, tip in (
                ("low_light", "Low light", "Brings a dark or backlit face to a good exposure; a well-lit picture is "
                                           "left as it is. 0 is off"),
                ("key_light", "Key light", "A soft studio light on your face, stopped at your outline: the room is "
                                           "not lit. 0 is off"),
                ("denoise", "Denoise", "Averages a grainy camera's noise away where the picture is still; what moves "
                                       "stays sharp. 0 is off"),
                ("relight", "Relight", "With a new background: your face and colours lit as that background is "
                                       "lit (a sunny beach warms and brightens you). 0 is off")):
            slider = _slider(0, 100)
            slider.setToolTip(tip)
            slider.valueChanged.connect(lambda v, name=name: self.c.set_light(**{name: v / 100}))
            value = QLabel()
            form.addRow(label, _with_value(slider, value))
            self.light_sliders[name] = (slider, value)
        self.key_angle_slider = _slider(-90, 90)
        self.key_angle_slider.setToolTip("Where the key light comes from: 0 the front, left or right of the picture")
        self.key_angle_slider.valueChanged.connect(lambda v: self.c.set_light(key_angle=float(v)))
        self.key_angle_value = QLabel()
        form.addRow("Key light from", _with_value(self.key_angle_slider, self.key_angle_value))
        note = QLabel("Each runs live on the CPU in a millisecond or two; turned off, it costs nothing.")
        note.setWordWrap(True)
        form.addRow(note)
        return tab

    # -- from the controller to the widgets -------------------------------------------------------
    def sync(self) -> None:
        """Set every control from the controller's settings and state (without feeding back)."""
        s = self.c.settings
        widgets = (self.effect_group, self.blur_slider, self.halo_box, self.wrap_slider, self.harmony_slider, self.clean_box,
                   self.gradient_combo, self.gradient_angle_slider, self.shadow_slider, self.style_strip,
                   self.camera_combo, self.size_combo,
                   self.fps_combo, self.mirror_box, self.autoframe_box, self.zoom_slider, self.on_demand_box,
                   self.backend_combo, self.model_combo, self.provider_combo,
                   self.follow_box, self.smoothing_slider, self.motion_slider, self.threshold_slider,
                   self.softness_slider, self.key_angle_slider) + tuple(sl for sl, _ in self.light_sliders.values())
        for w in widgets:
            w.blockSignals(True)
        try:
            button = self.effect_buttons.get(s.effect.effect)
            if button is not None:
                button.setChecked(True)
            self.blur_slider.setValue(round(s.effect.blur))
            self.blur_slider.setEnabled(s.effect.effect in BLUR_EFFECTS)
            self.halo_box.setChecked(s.effect.halo_free)
            self.halo_box.setEnabled(s.effect.effect in BLUR_EFFECTS)
            self.wrap_slider.setValue(round(s.effect.light_wrap * 100))
            self.wrap_slider.setEnabled(s.effect.effect == "replace")
            self.wrap_value.setText(f"{s.effect.light_wrap:.2f}")
            self.harmony_slider.setValue(round(s.effect.harmonize * 100))
            self.harmony_slider.setEnabled(s.effect.effect == "replace")
            self.harmony_value.setText(f"{s.effect.harmonize:.2f}")
            self._sync_styles(s.effect, s.capture.source)
            self.shadow_slider.setValue(round(s.effect.shadow * 100))
            self.shadow_slider.setEnabled(s.effect.effect in NEW_BACKGROUNDS)
            self.shadow_value.setText(f"{s.effect.shadow:.2f}" if s.effect.shadow > 0 else "off")
            self.clean_box.setChecked(s.effect.clean_edges)
            self.clean_box.setEnabled(s.effect.effect in NEW_BACKGROUNDS)
            self.blur_value.setText(f"{s.effect.blur:g}")
            self.color_button.setIcon(QIcon(_swatch(s.effect)))
            shape = s.effect.gradient if s.effect.color_to is not None else None
            self.gradient_combo.setCurrentIndex(list(GRADIENT_NAMES).index(shape))
            self.color_to_button.setEnabled(shape is not None)
            self.gradient_angle_slider.setValue(round(s.effect.gradient_angle) % 361)
            self.gradient_angle_slider.setEnabled(shape == "linear")
            self.gradient_angle_value.setText(f"{s.effect.gradient_angle:g}°")
            self.gallery.set_backgrounds(self.c.shipped_backgrounds(), self.c.user_backgrounds())
            self.gallery.select(Path(s.effect.background) if s.effect.effect == "replace" and s.effect.background else None)
            self._gallery_selection()
            self._fill_cameras()
            self.mirror_box.setChecked(s.capture.mirror)
            self.on_demand_box.setChecked(s.output.on_demand)
            self.autoframe_box.setChecked(s.framing.autoframe)
            self.zoom_slider.setValue(round(s.framing.zoom * 100))
            self.zoom_slider.setEnabled(s.framing.autoframe)
            self.zoom_value.setText(self._zoom_text())
            _select_text(self.backend_combo, s.segment.backend)
            _select_text(self.model_combo, s.segment.model)
            _select_text(self.provider_combo, s.segment.provider)
            self.provider_combo.setEnabled(s.segment.backend != "mediapipe")
            self.follow_box.setChecked(s.segment.follow)
            self.smoothing_slider.setValue(round(s.matte.smoothing * 100))
            self.motion_slider.setValue(round(s.matte.motion * 100))
            self.threshold_slider.setValue(round(s.matte.threshold * 100))
            self.softness_slider.setValue(round(s.matte.softness * 100))
            for label, value in ((self.smoothing_value, s.matte.smoothing), (self.motion_value, s.matte.motion),
                                 (self.threshold_value, s.matte.threshold), (self.softness_value, s.matte.softness)):
                label.setText(f"{value:.2f}")
            for name, (slider, label) in self.light_sliders.items():
                value = getattr(s.light, name)
                slider.setValue(round(value * 100))
                label.setText(f"{value:.2f}" if value > 0 else "off")
            self.light_sliders["relight"][0].setEnabled(s.effect.effect == "replace")
            self.key_angle_slider.setValue(round(s.light.key_angle))
            self.key_angle_slider.setEnabled(s.light.key_light > 0)
            self.key_angle_value.setText(_angle_text(s.light.key_angle))
        finally:
            for w in widgets:
                w.blockSignals(False)
        state = self.c.state
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.setWindowIcon(camera_icon(state))
        self._show_problems()
        self.refresh_stats()

    def _zoom_text(self) -> str:
        """The zoom asked, and where the camera's size holds it lower (see vcam.effects.autoframe)."""
        s = self.c.settings
        zoom = s.framing.zoom
        most = max_zoom((s.capture.width, s.capture.height))
        if zoom > most + 1e-6:
            return f"{zoom:.1f}x, held at {most:.1f}x at {s.capture.height}p: a larger camera size allows more"
        return f"{zoom:.1f}x"

    def _fill_cameras(self) -> None:
        cap = self.c.settings.capture
        entries = list(SPECIAL_SOURCES) + [(cam.source, cam.label) for cam in self._cameras]
        if cap.source not in [source for source, _ in entries]:
            entries.append((cap.source, f"File: {Path(cap.source).name}" if not cap.source.isdigit() else f"Camera {cap.source}"))
        self.camera_combo.clear()
        for source, label in entries:
            self.camera_combo.addItem(label, source)
        self.camera_combo.setCurrentIndex(self.camera_combo.findData(cap.source))

        modes = self._camera_modes(cap.source)
        sizes = list(modes)
        if (cap.width, cap.height) not in sizes:
            sizes.append((cap.width, cap.height))
        self.size_combo.clear()
        for w, h in sizes:
            self.size_combo.addItem(f"{w} × {h}", f"{w}x{h}")   # text data: Qt finds it again
        self.size_combo.setCurrentIndex(self.size_combo.findData(f"{cap.width}x{cap.height}"))
        rates = list(modes.get((cap.width, cap.height)) or devices.COMMON_RATES)
        if cap.fps not in rates:
            rates.append(cap.fps)
        self.fps_combo.clear()
        for fps in sorted(rates, reverse=True):
            self.fps_combo.addItem(f"{fps:g} fps", float(fps))
        self.fps_combo.setCurrentIndex(self.fps_combo.findData(float(cap.fps)))

    def _camera_modes(self, source: str) -> dict:
        if source not in self._modes:
            is_camera = source.startswith("/dev/") or source.isdigit()
            self._modes[source] = devices.offered_modes(source) if is_camera else \
                {size: list(devices.COMMON_RATES) for size in devices.COMMON_SIZES}
        return self._modes[source]

    def _show_problems(self) -> None:
        while self.problems_layout.count():
            item = self.problems_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.problem_labels: dict[str, QLabel] = {}
        for topic, text in self.c.problems.items():
            row = QWidget()
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            label = QLabel(f"⚠ {text}")
            label.setWordWrap(True)
            label.setStyleSheet("color: #b35900;")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            line.addWidget(label, 1)
            if topic in ("output", "pipeline"):
                button = QPushButton("Retry" if topic == "output" else "Restart")
                button.clicked.connect(self.c.restart)
            else:
                button = QToolButton()
                button.setText("✕")
                button.setToolTip("Dismiss")
                button.clicked.connect(lambda _=False, t=topic: self.c.dismiss(t))
            line.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
            self.problems_layout.addWidget(row)
            self.problem_labels[topic] = label

    # -- timers: read, never compute --------------------------------------------------------------
    def refresh_preview(self) -> None:
        if not self.isVisible() or self.isMinimized():   # nobody looks: nothing is asked of the pipeline
            return
        state = self.c.state
        if state in ("paused", "stopped"):
            text = "Paused" if state == "paused" else "Not running (see the status below)"
            self.output_view.show_text(text)
            self.input_view.show_text(text)
            return
        frames = self.c.preview(self.output_view.wanted_width())
        if frames is None:
            return
        if self._room_wanted is not None:   # the room's style previews, from the camera's picture
            room = frames[1]
            self.style_strip.show_picture(self._room_wanted, lambda: room)
            self._room_wanted = None
        self.output_view.show_frame(frames[0])
        if self.compare.isChecked():
            self.input_view.show_frame(frames[1])

    def refresh_stats(self) -> None:
        state = self.c.state
        stats = self.c.stats()
        colour = STATE_COLORS[state].name()
        where = STATE_WORDS[state]
        if stats is not None and state in ("live", "running"):
            where = f"{where}: {stats.get('output')}"
        self.output_label.setText(f"<span style='color:{colour}'>●</span> {where}")
        if stats is None:
            self.source_label.setText("—")
            self.rate_label.setText("—")
            self.stages_label.setText("—")
            return
        size = stats.get("size")
        self.source_label.setText(f"{stats.get('source')}" + (f", {size[0]} × {size[1]}" if size else "")
                                  + (" · camera released: no app is using vcam" if stats.get("camera_released") else ""))
        self.rate_label.setText(f"{stats.get('fps', 0.0):.1f} fps · latency {stats.get('latency_ms', 0.0):.0f} ms · "
                                f"CPU {stats.get('cpu_percent', 0.0):.0f}% · dropped {stats.get('dropped', 0)}")
        stages = stats.get("stages") or {}
        order = [s for s in STAGES if s in stages] + [s for s in stages if s not in STAGES]
        self.stages_label.setText(" · ".join(f"{s} {stages[s]['median_ms']:.1f}" for s in order) + " ms"
                                  if order else "—")
        cap = self.c.settings.capture
        if size and (cap.width, cap.height) != tuple(size) and state in ("live", "running", "preview"):
            self.size_note.setText(f"The camera is asked for {cap.width} × {cap.height}; the virtual camera keeps "
                                   f"{size[0]} × {size[1]} until vcam restarts.")
        else:
            self.size_note.setText("")

    def status_text(self) -> str:
        """Everything the status area says, as plain text."""
        parts = [self.output_label.text(), self.source_label.text(), self.rate_label.text(), self.stages_label.text()]
        parts += [label.text() for label in getattr(self, "problem_labels", {}).values()]
        return "\n".join(parts)

    # -- from the widgets to the controller -------------------------------------------------------
    def _compare_toggled(self, on: bool) -> None:
        self.c.set_compare(on)
        self._input_visible(on)

    def _input_visible(self, on: bool) -> None:
        self._input_box.setVisible(on)

    def _pause_clicked(self) -> None:
        if self.c.paused:
            self.c.resume()
        else:
            self.c.pause()

    def _choose_color(self) -> None:
        if not self.dialogs:
            return
        colour = QColorDialog.getColor(QColor(*self.c.settings.effect.color), self, "Background colour")
        if colour.isValid():
            self.c.set_color((colour.red(), colour.green(), colour.blue()))

    def _choose_color_to(self) -> None:
        e = self.c.settings.effect
        if not self.dialogs:
            return
        colour = QColorDialog.getColor(QColor(*(e.color_to or e.color)), self, "Gradient's second colour")
        if colour.isValid():
            self.c.set_gradient(color_to=(colour.red(), colour.green(), colour.blue()))

    def _gradient_chosen(self, index: int) -> None:
        shape = list(GRADIENT_NAMES)[index]
        e = self.c.settings.effect
        if shape is None:
            self.c.set_gradient(color_to=None)
        else:   # a first gradient goes to a darker shade of the colour, until one is chosen
            self.c.set_gradient(gradient=shape, color_to=e.color_to or tuple(c // 3 for c in e.color))

    def _add_clicked(self) -> None:
        if not self.dialogs:
            return
        patterns = " ".join(f"*{s}" for s in BACKGROUND_SUFFIXES)
        files, _ = QFileDialog.getOpenFileNames(self, "Add backgrounds", str(Path.home()),
                                                f"Pictures and videos ({patterns})")
        if files:
            self.c.add_backgrounds([Path(f) for f in files])

    def _remove_clicked(self) -> None:
        items = self.gallery.selectedItems()
        if items and self.gallery.selected_is_user():
            self.c.remove_background(self.gallery.path_of(items[0]))

    def _sync_styles(self, effect, source: str) -> None:
        """The style strip: which style, whether it applies, and its previews painted from the
        background picture (or, for a blur, the room the camera sees)."""
        self.style_strip.select(effect.style)
        picture = effect.effect == "replace" and effect.background is not None
        video = picture and Path(effect.background).suffix.lower() in VIDEO_SUFFIXES
        self.style_strip.setEnabled((picture and not video) or effect.effect in BLUR_EFFECTS)
        if picture and not video:
            path = Path(effect.background)
            self.style_strip.show_picture(("picture", str(path)), lambda: _picture_or_none(path))
        elif effect.effect in BLUR_EFFECTS and self.style_strip.shown != ("room", source):
            self._room_wanted = ("room", source)

    def _gallery_selection(self) -> None:
        self.remove_button.setEnabled(self.gallery.selected_is_user())

    def _camera_chosen(self, index: int) -> None:
        source = self.camera_combo.itemData(index)
        if source != self.c.settings.capture.source and not self.c.set_capture(source=source):
            self.sync()   # refused: show the camera still in use

    def _size_chosen(self, index: int) -> None:
        w, h = (int(v) for v in self.size_combo.itemData(index).split("x"))
        if not self.c.set_capture(width=w, height=h):
            self.sync()

    def _fps_chosen(self, index: int) -> None:
        if not self.c.set_capture(fps=float(self.fps_combo.itemData(index))):
            self.sync()

    def _refresh_cameras(self) -> None:
        self._cameras = devices.list_cameras()
        self._modes.clear()
        self.sync()

    # -- window -----------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        files = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.c.add_backgrounds(files)

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.hide_on_close:
            event.ignore()
            self.hide()
        else:
            event.accept()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(1100, 760)


def _angle_text(degrees: float) -> str:
    """Where the key light comes from, in words and degrees."""
    side = "front" if abs(degrees) < 5 else "left" if degrees < 0 else "right"
    return f"{side} ({degrees:+.0f}°)" if side != "front" else "front"


def _picture_or_none(path: Path):
    try:
        return pictures.load_image(path, "background")
    except VcamError:
        return None


def _swatch(effect) -> QPixmap:
    """The colour button's icon: the plain colour, or the gradient as it will look."""
    w, h = 32, 16
    if effect.color_to is None:
        pixmap = QPixmap(w, h)
        pixmap.fill(QColor(*effect.color))
        return pixmap
    return QPixmap.fromImage(rgb_to_qimage(gradient((w, h), effect.color, effect.color_to, effect.gradient,
                                                    effect.gradient_angle)))


def _with_value(slider: QSlider, value: QLabel) -> QHBoxLayout:
    row = QHBoxLayout()
    value.setMinimumWidth(34)
    row.addWidget(slider, 1)
    row.addWidget(value)
    return row


def _select_text(combo: QComboBox, text: str) -> None:
    index = combo.findText(text)
    if index < 0:
        combo.addItem(text)
        index = combo.count() - 1
    combo.setCurrentIndex(index)
