"""The tray icon: its lamp shows whether the virtual camera is live; its menu switches effect
presets, auto-frame and studio light, pauses and resumes, shows the panel and quits."""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from vcam.config import LIVE_EFFECTS
from vcam.ui.controller import Controller
from vcam.ui.effect_tab import effect_label
from vcam.ui.icons import camera_icon, state_words

# Studio light from the tray: on at these strengths, off at 0 (the panel sets any strength).
LIGHT_ON = (("low_light", "Low light", 1.0), ("key_light", "Key light", 0.5), ("denoise", "Denoise", 0.7),
            ("relight", "Relight to the background", 1.0))


class Tray(QSystemTrayIcon):
    """``Tray(controller, show_panel, quit)``: the menu is rebuilt whenever the controller
    changes, so it always matches the gallery and the current effect."""

    def __init__(self, controller: Controller, show_panel: Callable[[], None], quit: Callable[[], None]) -> None:
        super().__init__(camera_icon(controller.state))
        self.c = controller
        self._show_panel = show_panel
        self._quit = quit
        self.menu = QMenu()
        self.setContextMenu(self.menu)
        self._group = None
        self.activated.connect(self._activated)
        # Rebuilt after the event that changed things, never while one of its actions still fires.
        self._sync_timer = QTimer(self, singleShot=True, interval=0)
        self._sync_timer.timeout.connect(self.sync)
        controller.changed.connect(self._sync_timer.start)
        self.sync()

    def presets(self) -> list[tuple[str, Callable[[], bool], bool]]:
        """(label, action, checked) for each preset: the effects, with one entry per background."""
        s = self.c.settings.effect
        out = []
        for name in LIVE_EFFECTS:
            if name == "replace":
                for path in self.c.gallery():
                    out.append((f"Background: {path.stem}", lambda p=path: self.c.set_background(p),
                                s.effect == "replace" and Path(s.background or "") == path))
            else:
                out.append((effect_label(name), lambda n=name: self.c.set_effect(n), s.effect == name))
        return out

    def sync(self) -> None:
        state = self.c.state
        self.setIcon(camera_icon(state))
        self.setToolTip(f"vcam: {state_words(state, self.c.settings.output.target)}")
        self.menu.clear()
        if self._group is not None:
            self._group.deleteLater()
        group = self._group = QActionGroup(self)
        self.actions: dict[str, QAction] = {}
        for label, do, checked in self.presets():
            action = QAction(label, self.menu, checkable=True, checked=checked)
            action.triggered.connect(lambda _=False, do=do: do())
            group.addAction(action)
            self.menu.addAction(action)
            self.actions[label] = action
        self.menu.addSeparator()
        framing = QAction("Auto-frame", self.menu, checkable=True, checked=self.c.settings.framing.autoframe)
        framing.triggered.connect(lambda on: self.c.set_framing(autoframe=bool(on)))
        self.menu.addAction(framing)
        self.actions["autoframe"] = framing
        for name, label, strength in LIGHT_ON:
            on = getattr(self.c.settings.light, name) > 0
            light = QAction(label, self.menu, checkable=True, checked=on)
            light.setEnabled(name != "relight" or self.c.settings.effect.effect == "replace")
            # The action's own state is read: PySide6 6.5 calls a slot that has defaults without `checked`.
            light.triggered.connect(partial(self._switch_light, light, name, strength))
            self.menu.addAction(light)
            self.actions[name] = light
        pause = QAction("Resume" if self.c.paused else "Pause", self.menu)
        pause.triggered.connect(self._toggle_pause)
        self.menu.addAction(pause)
        self.actions["pause"] = pause
        show = QAction("Show panel", self.menu)
        show.triggered.connect(self._show_panel)
        self.menu.addAction(show)
        self.actions["show"] = show
        quit_action = QAction("Quit", self.menu)
        quit_action.triggered.connect(self._quit)
        self.menu.addAction(quit_action)
        self.actions["quit"] = quit_action

    def _switch_light(self, action: QAction, name: str, strength: float, *_) -> None:
        self.c.set_light(**{name: strength if action.isChecked() else 0.0})

    def _toggle_pause(self) -> None:
        if self.c.paused:
            self.c.resume()
        else:
            self.c.pause()

    def _activated(self, reason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self._show_panel()
