"""The control panel's window: live previews, the status area, and the tabs of controls (Effect,
Camera, Person, Light: one module each, ``vcam/ui/*_tab.py``).

Every control calls one :class:`~vcam.ui.controller.Controller` method, which hands new settings
to the running pipeline; the widgets are then set from the controller's settings (so a refused
change snaps back). Two timers read the pipeline: previews at up to 30 Hz while the panel is
visible, stats twice a second. Nothing here touches a full-size frame.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vcam.live.stats import STAGES
from vcam.ui.camera_tab import CameraTab
from vcam.ui.controller import Controller
from vcam.ui.effect_tab import EffectTab
from vcam.ui.gallery import rgb_to_qimage
from vcam.ui.icons import STATE_COLORS, STATE_WORDS, camera_icon
from vcam.ui.light_tab import LightTab
from vcam.ui.person_tab import PersonTab

log = logging.getLogger(__name__)

PREVIEW_HZ = 30
PREVIEW_MAX_WIDTH = 960   # the processing thread scales previews down to this at most
STATS_HZ = 2


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
        self.effect_tab = EffectTab(self.c, dialogs=self.dialogs)
        self.camera_tab = CameraTab(self.c)
        self.person_tab = PersonTab(self.c)
        self.light_tab = LightTab(self.c)
        tabs = QTabWidget()
        tabs.addTab(self.effect_tab, "Effect")
        tabs.addTab(self.camera_tab, "Camera")
        tabs.addTab(self.person_tab, "Person")
        tabs.addTab(self.light_tab, "Light")
        self.tabs = tabs
        return tabs

    # -- from the controller to the widgets -------------------------------------------------------
    def sync(self) -> None:
        """Set every control from the controller's settings and state (without feeding back)."""
        for tab in (self.effect_tab, self.camera_tab, self.person_tab, self.light_tab):
            tab.sync()
        state = self.c.state
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.setWindowIcon(camera_icon(state))
        self._show_problems()
        self.refresh_stats()

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
        self.effect_tab.show_room(frames[1])   # the room's style previews, when they wait for a picture
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
        self.camera_tab.show_running_size(size if state in ("live", "running", "preview") else None)

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

