"""The app and tray icon, drawn in code: a camera whose lamp shows the state."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPainterPath, QPixmap

STATE_COLORS = {
    "live": QColor(46, 204, 64),      # publishing to the virtual camera
    "running": QColor(52, 152, 219),  # running to another output
    "preview": QColor(243, 156, 18),  # running, but there is no virtual camera, or the recording was refused
    "paused": QColor(150, 150, 150),
    "stopped": QColor(231, 76, 60),
}

STATE_WORDS = {
    "live": "live on the virtual camera",
    "running": "running",
    "preview": "no virtual camera: preview only",
    "paused": "paused",
    "stopped": "stopped",
}


def state_words(state: str, target: str) -> str:
    """The state in words, for the output ``target`` the settings ask for: a preview in place of
    a recording is said as such, not as a missing virtual camera."""
    if state == "preview" and target not in ("virtual", "null"):
        return "preview only: not recording (see the status)"
    return STATE_WORDS[state]


def camera_icon(state: str, size: int = 64) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 64.0
    body = QPainterPath()
    body.addRoundedRect(QRectF(4 * s, 18 * s, 40 * s, 30 * s), 6 * s, 6 * s)
    lens = QPainterPath()
    lens.moveTo(44 * s, 28 * s)
    lens.lineTo(60 * s, 20 * s)
    lens.lineTo(60 * s, 46 * s)
    lens.lineTo(44 * s, 38 * s)
    lens.closeSubpath()
    p.fillPath(body, QBrush(QColor(60, 63, 70)))
    p.fillPath(lens, QBrush(QColor(60, 63, 70)))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(STATE_COLORS.get(state, STATE_COLORS["stopped"]))
    p.drawEllipse(QRectF(14 * s, 23 * s, 20 * s, 20 * s))
    p.end()
    return QIcon(pix)
