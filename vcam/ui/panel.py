"""The control panel's window: the live preview (the largest part, at the picture's own shape),
the status under it, and the tabs of controls on the right (Effect, Camera, Person, Light: one
module each, ``vcam/ui/*_tab.py``), of one width whatever the tab, so the preview never moves.

Every control calls one :class:`~vcam.ui.controller.Controller` method, which hands new settings
to the running pipeline; the widgets are then set from the controller's settings (so a refused
change snaps back). Two timers read the pipeline: previews at up to 30 Hz while the panel is
visible, stats twice a second. Nothing here touches a full-size frame.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vcam.errors import VcamError
from vcam.live.stats import STAGES
from vcam.ui.camera_tab import CameraTab
from vcam.ui.controller import Controller
from vcam.ui.effect_tab import EffectTab
from vcam.ui.icons import STATE_COLORS, camera_icon, state_words
from vcam.ui.light_tab import LightTab
from vcam.ui.person_tab import PersonTab
from vcam.ui.preview import PreviewArea

log = logging.getLogger(__name__)

PREVIEW_HZ = 30
STATS_HZ = 2
CONTROLS_WIDTH = 372   # the tabs': two columns of backgrounds; the preview has the rest
PREPARING = "Preparing effects for the first start — your camera shows meanwhile"
FACTS_STYLE = "color: #666;"


def without_asides(text: str) -> str:
    """``text`` without its asides: each `` (...)`` that ends a word (brackets inside it
    included), where vcam puts a library's own words into a problem. Brackets inside a name (a
    path such as ``pics (old)/a.jpg``) stay."""
    kept, i = [], 0
    while (start := text.find(" (", i)) >= 0:
        depth, j = 0, start + 1
        while j < len(text):
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            if depth == 0:
                break
            j += 1
        if depth:   # never closed: left as it is
            break
        end = j + 1
        kept.append(text[i:end] if end < len(text) and text[end] not in " ,.:;" else text[i:start])
        i = end
    kept.append(text[i:])
    return "".join(kept)


def problem_line(text: str, error: Optional[VcamError] = None) -> tuple[str, str]:
    """A problem as the status shows it: (its line, in plain words with the fix; its details, the
    whole text as reported, or "" where the line says it all). ``error``: the VcamError the
    problem ``text`` came from, if it did; the library's words in brackets in its problem go to the
    details only."""
    if error is None or not text.startswith(str(error)):
        return text, ""
    added = text[len(str(error)):]   # what the controller added after it, such as " (using blur)"
    problem = without_asides(error.problem)
    line = (f"{problem} — {error.fix}" if error.fix else problem) + added
    return line, ("" if problem == error.problem else text)


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
        root = QHBoxLayout(central)
        left = QVBoxLayout()
        self.previews = PreviewArea()
        self.output_view = self.previews.output_view
        self.input_view = self.previews.input_view
        left.addWidget(self.previews, 1)
        left.addWidget(self._build_status())
        left.addStretch(0)   # what the preview cannot use (its height is its width's) stays below
        root.addLayout(left, 1)
        root.addWidget(self._build_tabs())
        self.setCentralWidget(central)
        self.previews.set_compare(self.c.ui.compare)
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
    def _build_status(self) -> QWidget:
        """Under the preview: the state, compare and pause; the source and speed; a line for each
        problem with its fix; the details (time per stage, problems as reported) when asked."""
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        row = QHBoxLayout()
        self.output_label = QLabel()
        self.compare = QCheckBox("Compare with the original")
        self.compare.setChecked(self.c.ui.compare)
        self.compare.toggled.connect(self._compare_toggled)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self._pause_clicked)
        row.addWidget(self.output_label, 1)
        row.addWidget(self.compare)
        row.addWidget(self.pause_button)
        layout.addLayout(row)

        facts = QHBoxLayout()
        facts.setSpacing(16)
        self.source_label = QLabel()
        self.rate_label = QLabel("—")
        self.details_button = QToolButton()
        self.details_button.setText("Details")
        self.details_button.setCheckable(True)
        self.details_button.setToolTip("Time per stage, and each problem as it was reported")
        self.details_button.toggled.connect(self._details_toggled)
        for label in (self.source_label, self.rate_label):
            label.setStyleSheet(FACTS_STYLE)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            facts.addWidget(label)
        facts.addStretch(1)
        facts.addWidget(self.details_button)
        layout.addLayout(facts)

        self.notice_label = QLabel(PREPARING)   # while the pipeline prepares its kernels
        self.notice_label.setStyleSheet("color: #1f6fb2;")
        self.notice_label.setWordWrap(True)
        self.notice_label.hide()
        layout.addWidget(self.notice_label)
        self.problems_box = QWidget()
        self.problems_layout = QVBoxLayout(self.problems_box)
        self.problems_layout.setContentsMargins(0, 0, 0, 0)
        self.problems_layout.setSpacing(2)
        layout.addWidget(self.problems_box)

        self.details_box = QWidget()
        details = QVBoxLayout(self.details_box)
        details.setContentsMargins(0, 0, 0, 0)
        self.stages_label = QLabel("—")
        self.problem_details_label = QLabel()
        for label in (self.stages_label, self.problem_details_label):
            label.setWordWrap(True)
            label.setStyleSheet(FACTS_STYLE)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            details.addWidget(label)
        self.details_box.hide()
        layout.addWidget(self.details_box)
        return box

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
        tabs.setFixedWidth(CONTROLS_WIDTH)
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
        """One line per problem, in plain words with its fix; the text as reported (a library's own
        words) in its tool tip and in the details."""
        while self.problems_layout.count():
            item = self.problems_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.problem_labels: dict[str, QLabel] = {}
        reported = []
        for topic, text in self.c.problems.items():
            error = self.c.errors.get(topic)
            shown, details = problem_line(text, error)
            row = QWidget()
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            label = QLabel(f"⚠ {shown}")
            label.setWordWrap(True)
            label.setStyleSheet("color: #b35900;")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            if details:
                label.setToolTip(details)
                reported.append(details)
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
        self.problem_details_label.setText("\n".join(f"As reported: {text}" for text in reported))
        self.problem_details_label.setVisible(bool(reported))

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
        where = state_words(state, self.c.settings.output.target)
        if stats is not None and state in ("live", "running"):
            where = f"{where}: {stats.get('output')}"
        self.output_label.setText(f"<span style='color:{colour}'>●</span> {where}")
        if stats is None:
            self.notice_label.hide()
            self.source_label.setText("—")
            self.rate_label.setText("—")
            self.stages_label.setText("—")
            return
        self.notice_label.setVisible(bool(stats.get("preparing")))
        size = stats.get("size")
        self.source_label.setText(f"{stats.get('source')}" + (f", {size[0]} × {size[1]}" if size else "")
                                  + (" · camera released: no app is using vcam" if stats.get("camera_released") else ""))
        self.rate_label.setText(f"{stats.get('fps', 0.0):.1f} fps · latency {stats.get('latency_ms', 0.0):.0f} ms · "
                                f"CPU {stats.get('cpu_percent', 0.0):.0f}% · dropped {stats.get('dropped', 0)}")
        stages = stats.get("stages") or {}
        order = [s for s in STAGES if s in stages] + [s for s in stages if s not in STAGES]
        self.stages_label.setText("Per stage: " + " · ".join(f"{s} {stages[s]['median_ms']:.1f}" for s in order)
                                  + " ms" if order else "—")
        self.camera_tab.show_running_size(size if state in ("live", "running", "preview") else None)

    def status_text(self) -> str:
        """What the status area says (the details too, while they are open), as plain text."""
        labels = [self.output_label, self.source_label, self.rate_label]
        labels += [self.notice_label] if not self.notice_label.isHidden() else []
        labels += list(self.problem_labels.values())
        if not self.details_box.isHidden():
            labels += [self.stages_label] + ([self.problem_details_label] if not self.problem_details_label.isHidden() else [])
        return "\n".join(label.text() for label in labels)

    # -- from the widgets to the controller -------------------------------------------------------
    def _compare_toggled(self, on: bool) -> None:
        self.c.set_compare(on)
        self.previews.set_compare(on)

    def _details_toggled(self, on: bool) -> None:
        self.details_box.setVisible(on)

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

