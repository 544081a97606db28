"""The panel's Camera tab: which camera, its size and frame rate, mirror, auto-frame and its zoom,
and releasing the camera while no app uses vcam."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QToolButton, QWidget

from vcam.effects.autoframe import max_zoom
from vcam.live import devices
from vcam.ui.controller import Controller
from vcam.ui.widgets import signals_blocked, slider_row

SPECIAL_SOURCES = (("auto", "Automatic: first camera, else the demo"), ("demo", "Demo portrait"))


class CameraTab(QWidget):
    """``CameraTab(controller)``: lists the cameras once, and again when asked (Refresh)."""

    def __init__(self, controller: Controller) -> None:
        super().__init__()
        self.c = controller
        self._cameras: list[devices.Camera] = devices.list_cameras()
        self._modes: dict[str, dict] = {}
        form = QFormLayout(self)
        row = QHBoxLayout()
        self.camera_combo = QComboBox()
        self.camera_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.camera_combo.setMinimumContentsLength(12)   # a long name is cut, the tab keeps its width
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
        self.autoframe_box = QCheckBox("Auto-frame (keep you centred)")
        self.autoframe_box.setToolTip("Crops and zooms the picture so your head and shoulders stay centred as you move, "
                                      "followed smoothly; eases back to the whole picture when you leave")
        self.autoframe_box.toggled.connect(lambda on: self.c.set_framing(autoframe=on))
        form.addRow("", self.autoframe_box)
        self.zoom_slider, self.zoom_value = slider_row(
            form, "Zoom", 100, 400, lambda v: self.c.set_framing(zoom=v / 100),
            tip="How close auto-frame frames you: 1.0x is the whole picture")
        self.on_demand_box = QCheckBox("Release the camera when unused")
        self.on_demand_box.setToolTip("While no app uses vcam, the camera is let go (its light goes off)")
        self.on_demand_box.toggled.connect(lambda on: self.c.set_output(on_demand=on))
        self.on_demand_box.setVisible(sys.platform.startswith("linux"))
        form.addRow("", self.on_demand_box)
        self.size_note = QLabel()
        self.size_note.setWordWrap(True)
        form.addRow(self.size_note)

    # -- from the controller to the widgets -------------------------------------------------------
    def sync(self) -> None:
        """Set this tab's controls from the controller's settings (without feeding back)."""
        s = self.c.settings
        with signals_blocked((self.camera_combo, self.size_combo, self.fps_combo, self.mirror_box, self.autoframe_box,
                              self.zoom_slider, self.on_demand_box)):
            self._fill_cameras()
            self.mirror_box.setChecked(s.capture.mirror)
            self.on_demand_box.setChecked(s.output.on_demand)
            self.autoframe_box.setChecked(s.framing.autoframe)
            self.zoom_slider.setValue(round(s.framing.zoom * 100))
            self.zoom_slider.setEnabled(s.framing.autoframe)
            self.zoom_value.setText(self._zoom_text())

    def show_running_size(self, size: Optional[tuple[int, int]]) -> None:
        """``size``: what the running camera gives (None while nothing runs); a note says when the
        camera is asked for another size, which the virtual camera takes only at a restart."""
        cap = self.c.settings.capture
        if size and (cap.width, cap.height) != tuple(size):
            self.size_note.setText(f"The camera is asked for {cap.width} × {cap.height}; the virtual camera keeps "
                                   f"{size[0]} × {size[1]} until vcam restarts.")
        else:
            self.size_note.setText("")

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

    # -- from the widgets to the controller -------------------------------------------------------
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
