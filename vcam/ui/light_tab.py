"""The panel's Light tab: low light, key light (and where it comes from), denoise and relight (shown
with a new background only), each from off to full strength."""
from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QSlider, QWidget

from vcam.ui.controller import Controller
from vcam.ui.widgets import show_row, signals_blocked, slider_row

LIGHTS = (   # (the LightSettings field, its row's title, its tool tip)
    ("low_light", "Low light", "Brings a dark or backlit face to a good exposure; a well-lit picture is left as it is. "
                               "0 is off"),
    ("key_light", "Key light", "A soft studio light on your face, stopped at your outline: the room is not lit. 0 is off"),
    ("denoise", "Denoise", "Averages a grainy camera's noise away where the picture is still; what moves stays sharp. "
                           "0 is off"),
    ("relight", "Relight", "With a new background: your face and colours lit as that background is lit (a sunny beach "
                           "warms and brightens you). 0 is off"),
)


class LightTab(QWidget):
    """``LightTab(controller)``; ``light_sliders[name]`` is the (slider, value label) of each light."""

    def __init__(self, controller: Controller) -> None:
        super().__init__()
        c = self.c = controller
        form = self.form = QFormLayout(self)
        self.light_sliders: dict[str, tuple[QSlider, QLabel]] = {}
        for name, title, tip in LIGHTS:
            self.light_sliders[name] = slider_row(form, title, 0, 100, lambda v, name=name: c.set_light(**{name: v / 100}),
                                                  tip=tip)
        self.key_angle_slider, self.key_angle_value = slider_row(
            form, "Key light from", -90, 90, lambda v: c.set_light(key_angle=float(v)),
            tip="Where the key light comes from: 0 the front, left or right of the picture")
        note = QLabel("Each runs live on the CPU in a millisecond or two; turned off, it costs nothing.")
        note.setWordWrap(True)
        form.addRow(note)

    def sync(self) -> None:
        """Set this tab's controls from the controller's settings (without feeding back)."""
        s = self.c.settings
        with signals_blocked([self.key_angle_slider] + [slider for slider, _ in self.light_sliders.values()]):
            for name, (slider, label) in self.light_sliders.items():
                value = getattr(s.light, name)
                slider.setValue(round(value * 100))
                label.setText(f"{value:.2f}" if value > 0 else "off")
            # relight lights you as the new background is lit: shown with one only
            show_row(self.form, self.light_sliders["relight"][0], s.effect.effect == "replace")
            self.key_angle_slider.setValue(round(s.light.key_angle))
            self.key_angle_slider.setEnabled(s.light.key_light > 0)
            self.key_angle_value.setText(_angle_text(s.light.key_angle))


def _angle_text(degrees: float) -> str:
    """Where the key light comes from, in words and degrees."""
    side = "front" if abs(degrees) < 5 else "left" if degrees < 0 else "right"
    return f"{side} ({degrees:+.0f}°)" if side != "front" else "front"
