"""The panel's Person tab: how the person is found (segmentation backend, model, device, follow
crop) and how their outline is refined (smoothing, motion threshold, edge position and softness)."""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QWidget

from vcam import segment
from vcam.config import AUTO, LANDSCAPE_MODEL, MATTING_MODEL, MODEL_NOTES, ONNX_MODELS, PROVIDERS, SELFIE_MODEL
from vcam.segment import choice
from vcam.ui.controller import Controller
from vcam.ui.widgets import select_text, signals_blocked, slider_row


class PersonTab(QWidget):
    """``PersonTab(controller)``."""

    def __init__(self, controller: Controller) -> None:
        super().__init__()
        c = self.c = controller
        form = QFormLayout(self)
        self.backend_combo = QComboBox()
        self.backend_combo.addItems(segment.backends())
        self.backend_combo.activated.connect(lambda _: c.set_segment(backend=self.backend_combo.currentText()))
        form.addRow("Segmentation", self.backend_combo)
        self.model_combo = QComboBox()
        self.model_combo.addItems(list(ONNX_MODELS))
        self.model_combo.setToolTip("; ".join([f"{AUTO}: {choice.RULE['live']}"]
                                              + [f"{name}: {note}" for name, note in MODEL_NOTES.items()]))
        self.model_combo.activated.connect(lambda _: c.set_segment(model=self.model_combo.currentText()))
        form.addRow("Model", self.model_combo)
        self.provider_combo = QComboBox()   # where the onnx backend runs: CPU, CUDA, ...
        self.provider_combo.addItems(list(PROVIDERS))
        self.provider_combo.setToolTip("Where the onnx backend runs the model; auto takes the best that works")
        self.provider_combo.activated.connect(lambda _: c.set_segment(provider=self.provider_combo.currentText()))
        form.addRow("Device", self.provider_combo)
        self.follow_box = QCheckBox("Follow the person")
        self.follow_box.setToolTip("The model sees a closer crop around you: more detail at the edges")
        self.follow_box.toggled.connect(lambda on: c.set_segment(follow=on))
        form.addRow("", self.follow_box)
        self.smoothing_slider, self.smoothing_value = slider_row(
            form, "Smoothing", 0, 100, lambda v: c.set_matte(smoothing=v / 100),
            tip="Temporal smoothing of the outline: 0 off, 100 strongest")
        self.motion_slider, self.motion_value = slider_row(
            form, "Motion threshold", 1, 100, lambda v: c.set_matte(motion=v / 100),
            tip="Changes larger than this pass at once, so movement is never trailed")
        self.threshold_slider, self.threshold_value = slider_row(
            form, "Edge position", 5, 95, lambda v: c.set_matte(threshold=v / 100),
            tip="Where the edge sits: 0.5 as the model says; higher pulls it in, lower pushes it out")
        self.softness_slider, self.softness_value = slider_row(
            form, "Edge softness", 2, 200, lambda v: c.set_matte(softness=v / 100),
            tip="How soft the edge is: 1 as the model gives it, less is harder")
        note = QLabel(f"'{AUTO}' runs '{MATTING_MODEL}' on a GPU fast enough for it, else '{SELFIE_MODEL}'; "
                      f"'{SELFIE_MODEL}' suits a person near the camera; '{LANDSCAPE_MODEL}' is faster, for wide shots.")
        note.setWordWrap(True)
        form.addRow(note)

    def sync(self) -> None:
        """Set this tab's controls from the controller's settings (without feeding back)."""
        s = self.c.settings
        with signals_blocked((self.backend_combo, self.model_combo, self.provider_combo, self.follow_box,
                              self.smoothing_slider, self.motion_slider, self.threshold_slider, self.softness_slider)):
            select_text(self.backend_combo, s.segment.backend)
            select_text(self.model_combo, s.segment.model)
            select_text(self.provider_combo, s.segment.provider)
            self.provider_combo.setEnabled(s.segment.backend != "mediapipe")
            self.follow_box.setChecked(s.segment.follow)
            for slider, label, value in ((self.smoothing_slider, self.smoothing_value, s.matte.smoothing),
                                         (self.motion_slider, self.motion_value, s.matte.motion),
                                         (self.threshold_slider, self.threshold_value, s.matte.threshold),
                                         (self.softness_slider, self.softness_value, s.matte.softness)):
                slider.setValue(round(value * 100))
                label.setText(f"{value:.2f}")
