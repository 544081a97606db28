"""The panel's Effect tab: which effect, and that effect's own controls only: a blur's strength
(and the portrait's focus falloff);
the colour or gradient; a new background's light wrap, colour matching, shadow and clean edges;
the painting style (of a background picture, or of the room behind a blur); the background gallery."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QColorDialog,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from vcam.config import BLUR_EFFECTS, CLEAN_EDGE_EFFECTS, LIVE_EFFECTS, SHADOW_EFFECTS, EffectSettings
from vcam.effects import style
from vcam.effects.gradient import gradient
from vcam.errors import VcamError
from vcam.fileio import pictures
from vcam.system.resources import VIDEO_SUFFIXES
from vcam.ui.controller import BACKGROUND_SUFFIXES, Controller
from vcam.ui.gallery import Gallery, rgb_to_qimage
from vcam.ui.looks import StyleStrip
from vcam.ui.widgets import show_row, signals_blocked, slider_row

GRADIENT_NAMES = {None: "Plain", "linear": "Linear gradient", "radial": "Radial gradient"}
EFFECT_NAMES = {"none": "Off", "blur": "Blur", "bokeh": "Bokeh", "portrait": "Portrait", "replace": "Background",
                "color": "Colour"}
EFFECTS_PER_ROW = 3


def effect_label(name: str) -> str:
    """An effect's name on its button here and in the tray's menu."""
    return EFFECT_NAMES.get(name, name.title())


class EffectTab(QWidget):
    """``EffectTab(controller, dialogs=...)``; ``dialogs=False`` never opens a modal dialog. Only
    the chosen effect's own controls are shown (:meth:`sync`); the rest are hidden."""

    def __init__(self, controller: Controller, *, dialogs: bool = True) -> None:
        super().__init__()
        self.c = controller
        self.dialogs = dialogs
        self._room_wanted = None   # the room's key, while its style previews wait for a camera frame
        layout = self._layout = QVBoxLayout(self)
        layout.addLayout(self._build_effects())
        self.options = self._build_options()
        layout.addLayout(self.options)
        layout.addWidget(self._build_styles())
        layout.addWidget(self._build_backgrounds(), 1)
        layout.addStretch(0)   # takes the height the gallery leaves, while it is hidden

    # -- building ---------------------------------------------------------------------------------
    def _build_effects(self) -> QGridLayout:
        grid = QGridLayout()
        self.effect_group = QButtonGroup(self)
        self.effect_buttons: dict[str, QPushButton] = {}
        for i, name in enumerate(LIVE_EFFECTS):
            button = QPushButton(effect_label(name))
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, n=name: self.c.set_effect(n))
            self.effect_group.addButton(button)
            self.effect_buttons[name] = button
            grid.addWidget(button, i // EFFECTS_PER_ROW, i % EFFECTS_PER_ROW)
        return grid

    def _build_options(self) -> QFormLayout:
        c = self.c
        form = QFormLayout()
        self.blur_slider, self.blur_value = slider_row(form, "Strength", 1, 100, lambda v: c.set_blur(float(v)))
        self.halo_box = QCheckBox("No glow around you")
        self.halo_box.setToolTip("Blur the background without you in it, so your colours do not glow around you")
        self.halo_box.toggled.connect(c.set_halo_free)
        form.addRow("", self.halo_box)
        self.falloff_slider, self.falloff_value = slider_row(
            form, "Focus falloff", 0, 100, lambda v: c.set_effect_option(focus_falloff=v / 100),
            tip="Portrait: how fast the blur grows with depth behind you (0: only the far end of the room is fully "
                "blurred; 100: fully blurred right behind you)")
        form.addRow("Colour", self._build_colour_row())
        self.gradient_angle_slider, self.gradient_angle_value = slider_row(
            form, "Gradient angle", 0, 360, lambda v: c.set_gradient(gradient_angle=float(v)),
            tip="Where a linear gradient runs to: 0 up, 90 right, 180 down")
        self.wrap_slider, self.wrap_value = slider_row(
            form, "Light wrap", 0, 100, lambda v: c.set_light_wrap(v / 100),
            tip="How much the new background's light spills onto your edge (0: none)")
        self.harmony_slider, self.harmony_value = slider_row(
            form, "Match colours", 0, 100, lambda v: c.set_harmonize(v / 100),
            tip="How far your colours move towards the new background's light (0: off)")
        self.shadow_slider, self.shadow_value = slider_row(
            form, "Shadow", 0, 100, lambda v: c.set_effect_option(shadow=v / 100),
            tip="Your shadow on the new background or colour, as a soft light from the front left would throw it (0: none)")
        self.clean_box = QCheckBox("Clean edges")
        self.clean_box.setToolTip("No fringe of your room in your hair: takes the old background out of your soft edge "
                                  "on a new background or colour")
        self.clean_box.toggled.connect(c.set_clean_edges)
        form.addRow("", self.clean_box)
        return form

    def _build_styles(self) -> QWidget:
        self.style_box = QWidget()
        column = QVBoxLayout(self.style_box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(QLabel("Style"))
        self.style_names = ("none",) + style.available()
        self.style_strip = StyleStrip(self.style_names)
        self.style_strip.setToolTip("Paint the background picture, or with a blur your room, in a style (once, when "
                                    f"chosen). The 26 paintings appear once the {style.NEURAL_PACKAGE} package is installed")
        self.style_strip.chosen.connect(lambda name: self.c.set_effect_option(style=name))
        column.addWidget(self.style_strip)
        return self.style_box

    def _build_backgrounds(self) -> QWidget:
        self.backgrounds_box = QWidget()
        column = QVBoxLayout(self.backgrounds_box)
        column.setContentsMargins(0, 0, 0, 0)
        title = QLabel("Backgrounds: drop pictures or videos here to add them")
        title.setWordWrap(True)
        column.addWidget(title)
        self.gallery = Gallery()
        self.gallery.chosen.connect(self.c.set_background)
        self.gallery.files_dropped.connect(self.c.add_backgrounds)
        self.gallery.itemSelectionChanged.connect(self._gallery_selection)
        column.addWidget(self.gallery, 1)
        column.addLayout(self._build_gallery_buttons())
        return self.backgrounds_box

    def _build_colour_row(self) -> QHBoxLayout:
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
        return row

    def _build_gallery_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.add_button = QPushButton("Add…")
        self.add_button.clicked.connect(self._add_clicked)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove one of your own backgrounds from the gallery")
        self.remove_button.clicked.connect(self._remove_clicked)
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        return row

    # -- from the controller to the widgets -------------------------------------------------------
    def sync(self) -> None:
        """Set this tab's controls from the controller's settings (without feeding back), and show
        the chosen effect's own controls only."""
        s = self.c.settings
        e = s.effect
        with signals_blocked((self.effect_group, self.blur_slider, self.halo_box, self.falloff_slider, self.wrap_slider,
                              self.harmony_slider,
                              self.clean_box, self.gradient_combo, self.gradient_angle_slider, self.shadow_slider,
                              self.style_strip)):
            button = self.effect_buttons.get(e.effect)
            if button is not None:
                button.setChecked(True)
            self.blur_slider.setValue(round(e.blur))
            self.blur_value.setText(f"{e.blur:g}")
            self.halo_box.setChecked(e.halo_free)
            self.falloff_slider.setValue(round(e.focus_falloff * 100))
            self.falloff_value.setText(f"{e.focus_falloff:.2f}")
            self.wrap_slider.setValue(round(e.light_wrap * 100))
            self.wrap_value.setText(f"{e.light_wrap:.2f}")
            self.harmony_slider.setValue(round(e.harmonize * 100))
            self.harmony_value.setText(f"{e.harmonize:.2f}")
            self._sync_styles(e, s.capture.source)
            self.shadow_slider.setValue(round(e.shadow * 100))
            self.shadow_value.setText(f"{e.shadow:.2f}" if e.shadow > 0 else "off")
            self.clean_box.setChecked(e.clean_edges)
            self._sync_colour(e)
            self.gallery.set_backgrounds(self.c.shipped_backgrounds(), self.c.user_backgrounds())
            self.gallery.select(Path(e.background) if e.effect == "replace" and e.background else None)
            self._gallery_selection()
        self._show_what_applies(e)

    def _show_what_applies(self, e: EffectSettings) -> None:
        """The effect's own controls shown, every other one hidden (not greyed)."""
        form, effect = self.options, e.effect
        show_row(form, self.blur_slider, effect in BLUR_EFFECTS)
        show_row(form, self.halo_box, effect in BLUR_EFFECTS)
        show_row(form, self.falloff_slider, effect == "portrait" and e.depth)
        show_row(form, self.color_button, effect == "color")
        self.color_to_button.setVisible(effect == "color" and e.color_to is not None)
        show_row(form, self.gradient_angle_slider, effect == "color" and e.color_to is not None and e.gradient == "linear")
        show_row(form, self.wrap_slider, effect == "replace")
        show_row(form, self.harmony_slider, effect == "replace")
        show_row(form, self.shadow_slider, effect in SHADOW_EFFECTS)
        show_row(form, self.clean_box, effect in CLEAN_EDGE_EFFECTS)
        self.style_box.setVisible(effect in BLUR_EFFECTS or _still_background(e))
        self.backgrounds_box.setVisible(effect == "replace")
        # the gallery takes the tab's height; without it, the controls stay at the top
        self._layout.setStretch(self._layout.indexOf(self.backgrounds_box) + 1, 0 if effect == "replace" else 1)

    def _sync_colour(self, e: EffectSettings) -> None:
        self.color_button.setIcon(QIcon(_swatch(e)))
        shape = e.gradient if e.color_to is not None else None
        self.gradient_combo.setCurrentIndex(list(GRADIENT_NAMES).index(shape))
        self.gradient_angle_slider.setValue(round(e.gradient_angle) % 361)
        self.gradient_angle_value.setText(f"{e.gradient_angle:g}°")

    def _sync_styles(self, effect: EffectSettings, source: str) -> None:
        """The style strip: which style, and its previews painted from the background picture
        (or, for a blur, the room the camera sees)."""
        self.style_strip.select(effect.style)
        if _still_background(effect):
            path = Path(effect.background)
            self.style_strip.show_picture(("picture", str(path)), lambda: _picture_or_none(path))
        elif effect.effect in BLUR_EFFECTS and self.style_strip.shown != ("room", source):
            self._room_wanted = ("room", source)

    def show_room(self, room: np.ndarray) -> None:
        """The camera's picture ``room`` (a preview frame): the room's style previews are painted
        from it when they wait for one."""
        if self._room_wanted is not None:
            self.style_strip.show_picture(self._room_wanted, lambda: room)
            self._room_wanted = None

    # -- from the widgets to the controller -------------------------------------------------------
    def _choose_color(self) -> None:
        if not self.dialogs:
            return
        colour = QColorDialog.getColor(QColor(*self.c.settings.effect.color), self.window(), "Background colour")
        if colour.isValid():
            self.c.set_color((colour.red(), colour.green(), colour.blue()))

    def _choose_color_to(self) -> None:
        e = self.c.settings.effect
        if not self.dialogs:
            return
        colour = QColorDialog.getColor(QColor(*(e.color_to or e.color)), self.window(), "Gradient's second colour")
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
        files, _ = QFileDialog.getOpenFileNames(self.window(), "Add backgrounds", str(Path.home()),
                                                f"Pictures and videos ({patterns})")
        if files:
            self.c.add_backgrounds([Path(f) for f in files])

    def _remove_clicked(self) -> None:
        items = self.gallery.selectedItems()
        if items and self.gallery.selected_is_user():
            self.c.remove_background(self.gallery.path_of(items[0]))

    def _gallery_selection(self) -> None:
        self.remove_button.setEnabled(self.gallery.selected_is_user())


def _still_background(effect: EffectSettings) -> bool:
    """A new background that is a picture (a style can paint it; a video it cannot)."""
    return (effect.effect == "replace" and effect.background is not None
            and Path(effect.background).suffix.lower() not in VIDEO_SUFFIXES)


def _picture_or_none(path: Path):
    try:
        return pictures.load_image(path, "background")
    except VcamError:
        return None


def _swatch(effect: EffectSettings) -> QPixmap:
    """The colour button's icon: the plain colour, or the gradient as it will look."""
    w, h = 32, 16
    if effect.color_to is None:
        pixmap = QPixmap(w, h)
        pixmap.fill(QColor(*effect.color))
        return pixmap
    return QPixmap.fromImage(rgb_to_qimage(gradient((w, h), effect.color, effect.color_to, effect.gradient,
                                                    effect.gradient_angle)))
