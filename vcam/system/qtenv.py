"""What Qt needs from the process before it starts, for the panel and for charts alike."""
from __future__ import annotations

import os


def undo_opencv_qt_paths() -> None:
    """OpenCV's GUI build (the one mediapipe depends on) points Qt at its own plugins and fonts
    when imported; PySide6's Qt cannot load those plugins and would refuse to start."""
    import cv2

    opencv = os.path.dirname(os.path.abspath(cv2.__file__))
    for name in ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR"):
        if os.environ.get(name, "").startswith(opencv):
            del os.environ[name]
