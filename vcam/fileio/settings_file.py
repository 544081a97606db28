"""Settings as a JSON file (the panel's ``settings.json``, ``benchmarks/quality.py``'s
configurations): written atomically, so the previous file stays whole until the new one is
complete; read with every way it can be wrong told as one :class:`VcamError`."""
from __future__ import annotations

import json
from pathlib import Path

from vcam.config import Settings
from vcam.errors import VcamError
from vcam.fileio.atomic import write_json


def save_settings(settings: Settings, path: Path) -> None:
    """Write ``settings`` to ``path`` atomically, its folder made where missing."""
    write_json(Path(path), settings.to_dict(), "settings")


def load_settings(path: Path) -> Settings:
    """The settings in ``path``; one :class:`VcamError` with its fix when the file is missing,
    unreadable or not settings."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise VcamError(f"settings file {path} does not exist", "run once to create it") from None
    except (OSError, ValueError, RecursionError) as exc:   # not UTF-8, not JSON, nested too deep, a huge number
        raise VcamError(f"settings file {path} is unreadable ({_short(exc)})", "delete it to reset") from None
    return Settings.from_dict(data)


def _short(exc: BaseException) -> str:
    """An exception's message on one line of at most 200 characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
