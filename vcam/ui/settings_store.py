"""Where the panel keeps what it remembers, in one folder (by default the user's config folder):

- ``settings.json``: the :class:`~vcam.config.Settings`, through
  :mod:`vcam.fileio.settings_file`; a background that comes with vcam is saved by its name
  (``seaside``), not by a path into this installation, and read back as this installation's file
  (an older file's path into another installation included);
- ``ui.json``: the user's own backgrounds (kept in the gallery) and the panel's view options.

A file that cannot be read gives defaults and a warning, never an exception; it is kept aside as
``<name>.bad`` so the next save does not destroy what the user may want to repair. Both are read
as :func:`vcam.fileio.settings_file.read_json` reads (a regular file of at most 1 MiB: a named
pipe or a link to a device is said, never waited on or read without end) and written through a
symbolic link (a dotfiles folder's link stays, its file gets the new settings).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from vcam.config import Settings
from vcam.errors import VcamError
from vcam.fileio.atomic import write_json
from vcam.fileio.settings_file import load_settings, read_json, save_settings
from vcam.fileio.user_paths import destination
from vcam.system import resources

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
UI_FILE = "ui.json"


def default_config_dir() -> Path:
    """``vcam`` in the user's config folder (``$XDG_CONFIG_HOME`` or ``~/.config`` on Linux,
    ``~/Library/Preferences`` on macOS, ``%LOCALAPPDATA%`` on Windows), as Qt reports it."""
    from PySide6.QtCore import QStandardPaths

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    return (Path(base) if base else Path.home() / ".config") / "vcam"


@dataclass
class UiState:
    """What the panel remembers besides the pipeline settings."""
    backgrounds: list[str] = field(default_factory=list)   # user-added, in the order added
    compare: bool = False                                   # original shown beside the output

    @classmethod
    def from_dict(cls, data: object) -> "UiState":
        if not isinstance(data, dict):
            raise VcamError(f"expected a JSON object, got {type(data).__name__}", "delete the file to reset")
        backgrounds = data.get("backgrounds", [])
        if not isinstance(backgrounds, list) or not all(isinstance(p, str) and p for p in backgrounds):
            raise VcamError("'backgrounds' must be a list of file paths", "delete the file to reset")
        compare = data.get("compare", False)
        if not isinstance(compare, bool):
            raise VcamError(f"'compare' must be true or false, got {compare!r}", "delete the file to reset")
        return cls(backgrounds=list(dict.fromkeys(backgrounds)), compare=compare)


class Store:
    """Loads and saves the panel's files in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.settings_path = self.folder / SETTINGS_FILE
        self.ui_path = self.folder / UI_FILE

    def _set_aside(self, path: Path) -> str:
        """Rename the file that could not be read to ``<name>.bad``. Where ``path`` is a symbolic
        link to a regular file (into a dotfiles folder), that file is set aside and the link kept,
        so the next save goes through it again; a link to anything else (a device, a named pipe)
        is itself set aside, never what it names."""
        try:
            real = destination(path)
            if real != path and not stat.S_ISREG(os.stat(real).st_mode):
                real = path
        except OSError:
            real = path
        bad = real.with_name(real.name + ".bad")
        try:
            os.replace(real, bad)
        except OSError:
            return ""
        return f"; the file was kept as {bad}"

    def load_settings(self) -> tuple[Settings, Optional[str]]:
        """The saved settings, or defaults and a warning saying why they could not be used."""
        if not _present(self.settings_path):
            return Settings(), None
        try:
            return _bundled_as_path(load_settings(self.settings_path)), None
        except VcamError as exc:
            warning = f"settings not restored, using defaults: {exc.problem}{self._set_aside(self.settings_path)}"
            log.warning("%s", warning)
            return Settings(), warning

    def save_settings(self, settings: Settings) -> None:
        background = settings.effect.background
        name = resources.background_name(background) if background else None
        if name is not None:
            settings = settings.replace(effect=dataclasses.replace(settings.effect, background=name))
        save_settings(settings, self.settings_path)

    def load_ui(self) -> tuple[UiState, Optional[str]]:
        if not _present(self.ui_path):
            return UiState(), None
        try:
            return UiState.from_dict(read_json(self.ui_path, "gallery file")), None
        except VcamError as exc:
            reason = exc.problem
            warning = (f"gallery and view options in {self.ui_path} not restored ({reason})"
                       f"{self._set_aside(self.ui_path)}")
            log.warning("%s", warning)
            return UiState(), warning

    def save_ui(self, state: UiState) -> None:
        """Write atomically, like ``save_settings``."""
        write_json(self.ui_path, {"backgrounds": state.backgrounds, "compare": state.compare}, "the gallery")


def _bundled_as_path(settings: Settings) -> Settings:
    """A background that comes with vcam, saved by its name (or by an older installation's path),
    as this installation's file: the panel's gallery and tray know backgrounds by their files.
    A name that is not one is left for the panel to refuse with its reason."""
    given = settings.effect.background
    try:
        path = resources.background(given)
    except VcamError:
        return settings
    return settings if path == given else settings.replace(effect=dataclasses.replace(settings.effect, background=path))


def _present(path: Path) -> bool:
    """Whether there is a file to load; one that cannot even be looked at (a folder name too
    long, no permission) counts as there, so that loading it gives the defaults and says why."""
    try:
        return path.exists()
    except OSError:
        return True
