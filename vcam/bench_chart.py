"""A stacked bar chart drawn with Qt (``vcam bench --plot``): PySide6 is part of every install,
so the chart needs no plotting library. Drawn on a QImage; no window, no display."""
from __future__ import annotations

import math
import sys
from typing import Sequence

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QGuiApplication, QImage, QPainter, QPen

from vcam.system.qtenv import undo_opencv_qt_paths

# Colour-blind-friendly categorical colours (Okabe and Ito), one per series.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#999999")


def _gui() -> None:
    """Text needs a QGuiApplication; a command-line process gets an offscreen one."""
    if QGuiApplication.instance() is None:
        undo_opencv_qt_paths()
        QGuiApplication([sys.argv[0] if sys.argv else "vcam", "-platform", "offscreen"])


def _step(top: float) -> float:
    """A round tick step giving about five ticks up to ``top``."""
    raw = max(top, 1e-9) / 5
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def stacked_bars(labels: Sequence[str], series: dict[str, Sequence[float]], *, title: str,
                 ylabel: str) -> np.ndarray:
    """One bar per label, the series stacked bottom to top in order, a legend on the right.
    Returns the picture as RGB uint8 (height, width, 3)."""
    if not labels:
        raise ValueError("stacked_bars needs at least one bar")
    if any(len(v) != len(labels) for v in series.values()):
        raise ValueError("every series needs one value per label")
    _gui()
    bar_w, gap = 70.0, 34.0
    left, right, top, bottom = 70.0, 150.0, 44.0, 64.0
    plot_w = len(labels) * (bar_w + gap) + gap
    width, height = int(left + plot_w + right), 460
    plot_h = height - top - bottom
    totals = [sum(float(v[i]) for v in series.values()) for i in range(len(labels))]
    step = _step(max(totals))
    y_max = step * max(1, math.ceil(max(totals) / step - 1e-9))

    image = QImage(width, height, QImage.Format.Format_RGB888)
    image.fill(QColor("white"))
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont()
    font.setPixelSize(12)
    p.setFont(font)
    fm = QFontMetricsF(font)

    def y_at(value: float) -> float:
        return top + plot_h * (1.0 - value / y_max)

    # grid and y ticks
    ticks = int(round(y_max / step))
    for k in range(ticks + 1):
        y = y_at(k * step)
        p.setPen(QPen(QColor(225, 225, 225), 1))
        p.drawLine(int(left), int(y), int(left + plot_w), int(y))
        p.setPen(QColor(60, 60, 60))
        text = f"{k * step:g}"
        p.drawText(QRectF(0, y - 8, left - 8, 16), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
    # bars
    for i, label in enumerate(labels):
        x = left + gap + i * (bar_w + gap)
        base = 0.0
        for j, values in enumerate(series.values()):
            v = float(values[i])
            if v > 0:
                p.fillRect(QRectF(x, y_at(base + v), bar_w, y_at(base) - y_at(base + v)), QColor(PALETTE[j % len(PALETTE)]))
            base += v
        p.setPen(QColor(30, 30, 30))
        p.drawText(QRectF(x - gap / 2, y_at(base) - 18, bar_w + gap, 16), Qt.AlignmentFlag.AlignCenter, f"{base:.1f}")
        p.drawText(QRectF(x - gap / 2, top + plot_h + 6, bar_w + gap, bottom - 8),
                   Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, label)
    # axes, titles
    p.setPen(QPen(QColor(60, 60, 60), 1))
    p.drawLine(int(left), int(top), int(left), int(top + plot_h))
    p.drawLine(int(left), int(top + plot_h), int(left + plot_w), int(top + plot_h))
    title_font = QFont(font)
    title_font.setPixelSize(15)
    title_font.setBold(True)
    p.setFont(title_font)
    p.drawText(QRectF(0, 8, width, 24), Qt.AlignmentFlag.AlignCenter, title)
    p.setFont(font)
    p.save()
    p.translate(16, top + plot_h / 2)
    p.rotate(-90)
    p.drawText(QRectF(-plot_h / 2, -10, plot_h, 20), Qt.AlignmentFlag.AlignCenter, ylabel)
    p.restore()
    # legend, top series first, as stacked
    lx, ly = left + plot_w + 16, top
    for j, name in reversed(list(enumerate(series))):
        p.fillRect(QRectF(lx, ly + 2, 12, 12), QColor(PALETTE[j % len(PALETTE)]))
        p.setPen(QColor(30, 30, 30))
        p.drawText(QRectF(lx + 18, ly, right - 34, fm.height() + 2), Qt.AlignmentFlag.AlignVCenter, name)
        ly += fm.height() + 8
    p.end()

    stride = image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), np.uint8, count=stride * height).reshape(height, stride)
    return raw[:, : width * 3].reshape(height, width, 3).copy()
